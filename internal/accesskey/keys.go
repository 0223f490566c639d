package accesskey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// KeyFile is the name of the file under the data directory that keeps the generated key, so
// connection strings handed out stay valid across restarts.
const KeyFile = "access-key"

// Keys are the access keys of the service.
type Keys struct {
	// Primary signs every token the service issues and verifies incoming ones. Required.
	Primary string
	// Secondary, when set, also verifies incoming tokens and event signatures, so apps can
	// move to a new key while the old one still works.
	Secondary string
}

// LoadOrCreate returns the service's keys. fromEnv (the HUDDLE_ACCESS_KEY value) wins when
// set; otherwise the key stored in dataDir/access-key is used; otherwise a random key is
// generated and stored there (file 0600, directory created 0700) so that it survives restarts,
// and created is true: the one time the caller may show the new key whole.
// Only Primary is filled in; a secondary key comes from configuration.
func LoadOrCreate(dataDir, fromEnv string) (keys Keys, created bool, err error) {
	if key := strings.TrimSpace(fromEnv); key != "" {
		if err := checkKey(key); err != nil {
			return Keys{}, false, fmt.Errorf("access key from environment: %w", err)
		}
		return Keys{Primary: key}, false, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, created, err = createKey(dataDir, path)
	}
	if err != nil {
		return Keys{}, false, err
	}
	return Keys{Primary: key}, created, nil
}

func readKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read access key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if err := checkKey(key); err != nil {
		// Regenerating here would silently invalidate every connection string in use.
		return "", fmt.Errorf("access key in %s: %w (fix or delete the file)", path, err)
	}
	return key, nil
}

// createKey writes a new key with O_EXCL so that two processes sharing a data directory
// cannot end up with different keys: the loser reads the winner's file, and only the winner
// reports the key created.
func createKey(dataDir, path string) (key string, created bool, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data directory for access key: %w", err)
	}
	key = newKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		key, err = readKey(path)
		return key, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("create access key file: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A truncated file would be read back as a different key on the next start.
		_ = os.Remove(path)
		return "", false, fmt.Errorf("write access key file %s: %w", path, err)
	}
	return key, true, nil
}

// newKey returns a random key: 256 bits as 43 characters of unpadded base64url, safe in
// connection strings, URLs and environment variables.
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error since Go 1.24: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkKey rejects keys that cannot survive a round trip through a connection string.
func checkKey(key string) error {
	if key == "" {
		return errors.New("key is empty")
	}
	if strings.ContainsRune(key, ';') {
		return errors.New("key contains ';', which ends a connection string field")
	}
	if strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("key contains white space or control characters")
	}
	return nil
}

// list returns the keys that verify, primary first because nearly every token uses it.
func (k Keys) list() [][]byte {
	var out [][]byte
	for _, s := range []string{k.Primary, k.Secondary} {
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}

// Signature returns the ce-signature header value for an event handler request about
// connectionID: "sha256=<hex>" per configured key, comma-separated, so the app can check it
// with whichever key it knows.
func (k Keys) Signature(connectionID string) string {
	var parts []string
	for _, key := range k.list() {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(connectionID))
		parts = append(parts, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, ",")
}
