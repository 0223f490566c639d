package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

// lockedBuffer is a bytes.Buffer that serve may write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveOnce starts `huddle serve` on dataDir, waits until it serves, stops it and returns what
// it printed.
func serveOnce(t *testing.T, env map[string]string, dataDir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir},
			func(k string) string { return env[k] }, &out, &errOut)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "connection string:") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, errOut.String())
	}
	return out.String()
}

// The access key is printed whole on the start that creates it and never again; the
// connection-string command prints it on demand.
func TestServePrintsNewKeyOnce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HUDDLE_ADMIN_PASSWORD": "serve-test-admin-password"}
	first := serveOnce(t, env, dir)
	key, err := os.ReadFile(filepath.Join(dir, "access-key"))
	if err != nil {
		t.Fatal(err)
	}
	secret := "AccessKey=" + strings.TrimSpace(string(key)) + ";"
	if !strings.Contains(first, secret) {
		t.Fatalf("the first start does not print the new key:\n%s", first)
	}
	if again := serveOnce(t, env, dir); strings.Contains(again, strings.TrimSpace(string(key))) ||
		!strings.Contains(again, "connection string: printed by `huddle connection-string`") {
		t.Fatalf("a later start prints:\n%s", again)
	}
	if fromEnv := serveOnce(t, map[string]string{"HUDDLE_ACCESS_KEY": "env-key-0123456789"}, t.TempDir()); strings.Contains(fromEnv, "env-key-0123456789") {
		t.Fatalf("a start with the key from the environment prints it:\n%s", fromEnv)
	}
	if out, err := runCLI(t, nil, "connection-string", "--data-dir", dir); err != nil || !strings.Contains(out, secret) {
		t.Fatalf("connection-string: %q %v", out, err)
	}
}
