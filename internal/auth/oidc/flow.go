package oidc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	// flowCookiePrefix is followed by the flow's state, so that each login in progress has a
	// cookie of its own and logins started in several tabs do not overwrite each other.
	flowCookiePrefix = "huddle_oidc_"
	// flowTTL bounds how long a user may spend at the provider's login page.
	flowTTL = 10 * time.Minute
	// cookieKeyLabel separates the flow cookie's key from any other use of Options.CookieKey.
	cookieKeyLabel = "huddle oidc flow cookie v1"
)

// flow is what Start must remember until the callback: secrets the provider only sees hashed
// (verifier) or echoed back (state, nonce). It lives in the browser, sealed.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

// flowSealer seals flows into cookie values and opens them again.
type flowSealer struct {
	aead   cipher.AEAD
	path   string // the callback's path: the only place the browser needs to send the cookie
	secure bool
}

func newFlowSealer(key []byte, redirectPath string, secure bool) (*flowSealer, error) {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(cookieKeyLabel))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("flow cookie cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("flow cookie cipher: %w", err)
	}
	if redirectPath == "" {
		redirectPath = "/"
	}
	return &flowSealer{aead: aead, path: redirectPath, secure: secure}, nil
}

func (s *flowSealer) set(w http.ResponseWriter, f flow) error {
	plain, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode flow cookie: %w", err)
	}
	name := flowCookiePrefix + f.State
	// The cookie's name is the additional data, so a sealed value only opens under its own state.
	sealed := s.aead.Seal(nil, nil, plain, []byte(name))
	http.SetCookie(w, s.cookie(name, base64.RawURLEncoding.EncodeToString(sealed), int(flowTTL/time.Second)))
	return nil
}

// take returns the flow for state and deletes its cookie, along with any other flow cookie that
// has expired or does not open, so abandoned logins do not pile up in the browser.
func (s *flowSealer) take(w http.ResponseWriter, r *http.Request, state string, now time.Time) (flow, error) {
	var (
		found flow
		err   = fmt.Errorf("no flow cookie for this state: %w", ErrBadState)
	)
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, flowCookiePrefix) {
			continue
		}
		f, openErr := s.open(c)
		expired := openErr == nil && now.Unix() > f.Expires
		mine := state != "" && c.Name == flowCookiePrefix+state
		switch {
		case mine && openErr != nil:
			err = fmt.Errorf("flow cookie: %w: %w", openErr, ErrBadState)
		case mine && expired:
			err = fmt.Errorf("flow cookie expired at %s: %w", time.Unix(f.Expires, 0).UTC().Format(time.RFC3339), ErrFlowExpired)
		case mine:
			found, err = f, nil
		case openErr == nil && !expired:
			continue // another tab's login in progress
		}
		http.SetCookie(w, s.cookie(c.Name, "", -1))
	}
	return found, err
}

func (s *flowSealer) open(c *http.Cookie) (flow, error) {
	var f flow
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return f, fmt.Errorf("not base64: %w", err)
	}
	plain, err := s.aead.Open(nil, nil, sealed, []byte(c.Name))
	if err != nil {
		return f, fmt.Errorf("does not open: %w", err)
	}
	if err := json.Unmarshal(plain, &f); err != nil {
		return f, fmt.Errorf("does not decode: %w", err)
	}
	return f, nil
}

func (s *flowSealer) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     s.path,
		MaxAge:   maxAge,
		Secure:   s.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}
