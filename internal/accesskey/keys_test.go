package accesskey

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	t.Run("environment wins", func(t *testing.T) {
		dir := t.TempDir()
		keys, created, err := LoadOrCreate(dir, " from-env\n")
		if err != nil || keys != (Keys{Primary: "from-env"}) || created {
			t.Fatalf("LoadOrCreate() = %+v, %v, %v", keys, created, err)
		}
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
			t.Errorf("a key file was written although the environment set the key: %v", err)
		}
	})

	t.Run("generated once and kept", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		keys, created, err := LoadOrCreate(dir, "")
		if err != nil || !created {
			t.Fatalf("LoadOrCreate() = %+v, %v, %v; want a created key", keys, created, err)
		}
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(keys.Primary) || keys.Secondary != "" {
			t.Errorf("generated keys = %+v, want a 43-char base64url primary", keys)
		}
		for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, KeyFile): 0o600} {
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
				t.Errorf("mode of %s = %v, %v; want %v", path, fi.Mode().Perm(), err, want)
			}
		}
		again, created, err := LoadOrCreate(dir, "")
		if err != nil || again != keys || created {
			t.Errorf("second LoadOrCreate() = %+v, %v, %v; want %+v, not created", again, created, err, keys)
		}
		other, _, err := LoadOrCreate(t.TempDir(), "")
		if err != nil || other == keys {
			t.Errorf("another data directory got %+v, %v; want a different key", other, err)
		}
	})

	t.Run("existing file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("abc==\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, created, err := LoadOrCreate(dir, "")
		if err != nil || keys.Primary != "abc==" || created {
			t.Fatalf("LoadOrCreate() = %+v, %v, %v", keys, created, err)
		}
	})

	for name, content := range map[string]string{"empty file": "\n", "separator in file": "a;b", "space in file": "a b"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if keys, _, err := LoadOrCreate(dir, ""); err == nil {
				t.Fatalf("LoadOrCreate() = %+v, want an error", keys)
			}
		})
	}

	t.Run("bad key in environment", func(t *testing.T) {
		if keys, _, err := LoadOrCreate(t.TempDir(), "a;b"); err == nil {
			t.Fatalf("LoadOrCreate() = %+v, want an error", keys)
		}
	})

	t.Run("data dir is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if keys, _, err := LoadOrCreate(file, ""); err == nil {
			t.Fatalf("LoadOrCreate() = %+v, want an error", keys)
		}
	})
}
