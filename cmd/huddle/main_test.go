package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "huddle ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestConnectionString(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, map[string]string{"HUDDLE_ACCESS_KEY": "k-0123456789"}, "connection-string", "--data-dir", dir, "--addr", "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Endpoint=http://127.0.0.1:9999;AccessKey=k-0123456789;Version=1.0;\n"; out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	// Without a key in the environment one is generated once and then kept.
	first, err := runCLI(t, nil, "connection-string", "--data-dir", dir+"/generated")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := runCLI(t, nil, "connection-string", "--data-dir", dir+"/generated")
	if first != second || !strings.Contains(first, "AccessKey=") {
		t.Fatalf("generated key not kept: %q then %q", first, second)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huddle.yaml")
	if err := os.WriteFile(path, []byte("addr: nowhere\nhubs:\n  chat:\n    eventHandlers:\n      - urlTemplate: ftp://x/{event}\n        systemEvents: [connect, explode]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, nil, "serve", "--config", path)
	if err == nil {
		t.Fatal("serve accepted a bad configuration")
	}
	for _, want := range []string{"addr:", "urlTemplate", `unknown event "explode"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
