package testkit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// WebGoldenDir is where the golden files of the messages the web UI reads are kept, from the
// repository's root: the UI's unit tests read them with its own parsers, so a message changed on
// either side fails a test on that side.
const WebGoldenDir = "web/src/golden"

// WebGolden compares the JSON message got, indented, with the golden file name in
// [WebGoldenDir], after writing it there when update is set (the test package's -update flag).
func WebGolden(t testing.TB, name string, got []byte, update bool) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("golden %s: not JSON: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join(repoRoot(t), WebGoldenDir, name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("the message differs from %s, which the web UI's tests read (go test -update rewrites it):\n%s", path, buf.Bytes())
	}
}

// repoRoot is the directory of go.mod above the test's package.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
