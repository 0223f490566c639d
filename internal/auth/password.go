package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/crypto/argon2"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// PasswordParams are argon2id's costs. They are written into every hash (PHC string format), so
// changing them keeps old hashes verifiable; a password is rehashed with the new costs at its
// next successful login.
type PasswordParams struct {
	// Memory in KiB (default 19456, i.e. 19 MiB, OWASP's recommendation for argon2id).
	Memory uint32
	// Time is the number of passes over the memory (default 2).
	Time uint32
	// Threads is the degree of parallelism (default 1).
	Threads uint8
}

func (p PasswordParams) withDefaults() PasswordParams {
	if p.Memory == 0 {
		p.Memory = 19 * 1024
	}
	if p.Time == 0 {
		p.Time = 2
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	return p
}

const (
	saltBytes = 16
	keyBytes  = 32
	// maxPasswordBytes bounds what one login makes us hash; passphrases fit comfortably.
	maxPasswordBytes = 1024
)

var b64 = base64.RawStdEncoding

// phcHash is a parsed "$argon2id$v=19$m=…,t=…,p=…$salt$key" string.
type phcHash struct {
	params PasswordParams
	salt   []byte
	key    []byte
}

func (h phcHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// parsePHC reads a stored hash. The costs are bounded so that a corrupted row cannot make one
// login allocate gigabytes or spin for minutes.
func parsePHC(s string) (phcHash, error) {
	var h phcHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, errBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, errBadHash
		}
		switch k {
		case "m":
			h.params.Memory = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return h, errBadHash
			}
			h.params.Threads = uint8(n)
		default:
			return h, errBadHash
		}
	}
	p := h.params
	if p.Threads == 0 || p.Time == 0 || p.Time > 64 || p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 {
		return h, fmt.Errorf("%w: costs m=%d,t=%d,p=%d out of range", errBadHash, p.Memory, p.Time, p.Threads)
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errBadHash
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return h, errBadHash
	}
	return h, nil
}

// hasher hashes and verifies passwords with argon2id. At most a few hashes run at once: each
// costs Memory KiB, so a burst of logins queues here instead of exhausting memory.
type hasher struct {
	params PasswordParams
	slots  chan struct{}
	// dummy is the hash of a random password. Logins for unknown users (or users without a
	// password) verify against it, so they take as long as real ones and do not reveal which
	// logins exist.
	dummy string
}

func newHasher(p PasswordParams, concurrency int) (*hasher, error) {
	h := &hasher{params: p.withDefaults(), slots: make(chan struct{}, max(concurrency, 1))}
	dummy, err := h.hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

func (h *hasher) release() { <-h.slots }

func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	ph := phcHash{params: h.params, salt: make([]byte, saltBytes)}
	_, _ = rand.Read(ph.salt) // crypto/rand.Read never fails
	ph.key = argon2.IDKey([]byte(password), ph.salt, ph.params.Time, ph.params.Memory, ph.params.Threads, keyBytes)
	return ph.String(), nil
}

// verify reports whether password matches encoded and, when it does, whether encoded was made
// with other costs or sizes than the current ones and should be replaced. An empty encoded (a
// user without a password) is verified against the dummy and never matches.
func (h *hasher) verify(ctx context.Context, encoded, password string) (match, rehash bool, err error) {
	noPassword := encoded == ""
	if noPassword {
		encoded = h.dummy
	}
	ph, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(password), ph.salt, ph.params.Time, ph.params.Memory, ph.params.Threads, uint32(len(ph.key)))
	h.release()
	if noPassword || subtle.ConstantTimeCompare(key, ph.key) != 1 {
		return false, false, nil
	}
	rehash = ph.params != h.params || len(ph.key) != keyBytes || len(ph.salt) != saltBytes
	return true, rehash, nil
}

// commonPasswordCount is how many of the most common passwords are refused.
const commonPasswordCount = 5000

// commonPasswords are the commonPasswordCount most common passwords, as a set, built at the first
// password set. The list is zxcvbn's (github.com/trustelem/zxcvbn, the Go port of Dropbox's
// password strength estimator), which ranks the passwords of Mark Burnett's 10-million-password
// corpus by frequency; it ships with the library, so the binary carries it without a copy here.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	ranked := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, commonPasswordCount)
	for _, p := range ranked[:min(commonPasswordCount, len(ranked))] {
		set[p] = struct{}{}
	}
	return set
})

// checkNewPassword enforces the rules for a password being set: long enough to resist guessing,
// short enough to hash cheaply, neither the login nor one of the most common passwords, and not
// one character repeated, which length alone would let through.
func checkNewPassword(password, login string, minLength int) error {
	first, _ := utf8.DecodeRuneInString(password)
	_, common := commonPasswords()[strings.ToLower(password)]
	switch {
	case !utf8.ValidString(password):
		return httpapi.BadRequest("password must be valid UTF-8 text")
	case utf8.RuneCountInString(password) < minLength:
		return httpapi.BadRequest("password must be at least %d characters long", minLength)
	case len(password) > maxPasswordBytes:
		return httpapi.BadRequest("password must be at most %d bytes long", maxPasswordBytes)
	case login != "" && strings.EqualFold(strings.TrimSpace(password), login):
		return httpapi.BadRequest("password must not be the login")
	case strings.Trim(password, string(first)) == "":
		return httpapi.BadRequest("password must not be one character repeated")
	case common:
		return httpapi.BadRequest("password is one of the most common passwords: choose another")
	}
	return nil
}
