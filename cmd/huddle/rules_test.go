package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	write := func(file, text string) {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(good, "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n  - alert: A\n    expr: up == 0\n")
	write(bad, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'up =='\n")
	out, err := runCLI(t, nil, "rules", "check", good)
	if err != nil || !strings.Contains(out, "Checking "+good+"\n  SUCCESS: 2 rules found") {
		t.Fatalf("good file: %q %v", out, err)
	}
	out, err = runCLI(t, nil, "rules", "check", good, bad)
	if err == nil || !strings.Contains(out, "Checking "+bad+"\n  FAILED:\n"+bad+": 5:11:") {
		t.Fatalf("bad file: %q %v", out, err)
	}
}
