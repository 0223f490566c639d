package oidc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
)

const (
	clientID     = "huddle"
	clientSecret = "client-secret"
	cookieKey    = "0123456789abcdef0123456789abcdef"
)

// testClock is a clock tests move instead of sleeping.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// harness is a provider (oidctest) and a huddle-like app serving the login routes, both on real
// HTTP servers.
type harness struct {
	t       *testing.T
	op      *oidctest.Provider
	opClock *testClock
	rp      *oidc.Provider
	rpClock *testClock
	appURL  string
	results chan result // what the app's handlers got from Start (on error) and Callback
}

type result struct {
	id  oidc.Identity
	err error
}

type setup struct {
	cfg  func(cfg *oidc.Config, opURL string)
	op   oidctest.Options
	opts func(*oidc.Options)
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	h := &harness{t: t, opClock: &testClock{}, rpClock: &testClock{}, results: make(chan result, 1)}
	s.op.Now = h.opClock.Now
	op, err := oidctest.New(s.op)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	h.op = op

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oidc", func(w http.ResponseWriter, r *http.Request) {
		if err := h.rp.Start(w, r); err != nil {
			h.results <- result{err: err}
			http.Error(w, "single sign-on is unavailable", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /login/oidc/callback", func(w http.ResponseWriter, r *http.Request) {
		id, err := h.rp.Callback(w, r)
		h.results <- result{id, err}
		if err != nil {
			http.Error(w, "login failed", http.StatusForbidden)
		}
	})
	// The app's URL is known before it serves, so the relying party is complete before any
	// request can reach it.
	app := httptest.NewUnstartedServer(mux)
	h.appURL = "http://" + app.Listener.Addr().String()

	cfg := oidc.Config{
		Issuer:       op.URL,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RoleMapping:  map[string]string{"huddle-admins": "admin", "ops": "editor"},
	}
	if s.cfg != nil {
		s.cfg(&cfg, op.URL)
	}
	opts := oidc.Options{PublicURL: h.appURL, CookieKey: []byte(cookieKey), Now: h.rpClock.Now}
	if s.opts != nil {
		s.opts(&opts)
	}
	h.rp, err = oidc.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	op.AddClient(oidctest.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{h.rp.RedirectURL()}})
	op.SetNextUser(oidctest.Claims{Subject: "u-1", Email: "ada@example.com", Name: "Ada Lovelace", PreferredUsername: "ada"})
	app.Start()
	t.Cleanup(app.Close)
	return h
}

// browser is a user agent with a cookie jar that lets the test take each redirect itself.
func (h *harness) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *harness) get(b *http.Client, u string) *http.Response {
	h.t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// start opens the app's login route and returns the provider URL it redirects to.
func (h *harness) start(b *http.Client) (*url.URL, error) {
	h.t.Helper()
	resp := h.get(b, h.appURL+"/login/oidc")
	if resp.StatusCode != http.StatusFound {
		return nil, (<-h.results).err
	}
	return h.location(resp), nil
}

func (h *harness) mustStart(b *http.Client) *url.URL {
	h.t.Helper()
	u, err := h.start(b)
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	return u
}

// authorize follows the redirect to the provider and returns the callback URL it sends the
// browser back to.
func (h *harness) authorize(b *http.Client, authURL *url.URL) *url.URL {
	h.t.Helper()
	resp := h.get(b, authURL.String())
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("provider answered %s, not a redirect", resp.Status)
	}
	return h.location(resp)
}

// callback delivers the provider's redirect to the app and returns what Callback returned.
func (h *harness) callback(b *http.Client, callbackURL *url.URL) (oidc.Identity, error) {
	h.t.Helper()
	h.get(b, callbackURL.String())
	r := <-h.results
	return r.id, r.err
}

func (h *harness) login(b *http.Client) (oidc.Identity, error) {
	h.t.Helper()
	authURL, err := h.start(b)
	if err != nil {
		return oidc.Identity{}, err
	}
	return h.callback(b, h.authorize(b, authURL))
}

func (h *harness) location(resp *http.Response) *url.URL {
	h.t.Helper()
	u, err := resp.Location()
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func withQuery(u *url.URL, key, value string) *url.URL {
	c := *u
	q := c.Query()
	q.Set(key, value)
	c.RawQuery = q.Encode()
	return &c
}

// flowCookie is the browser's flow cookie for a login redirected to callbackURL.
func flowCookie(t *testing.T, b *http.Client, callbackURL *url.URL) *http.Cookie {
	t.Helper()
	name := "huddle_oidc_" + callbackURL.Query().Get("state")
	for _, c := range b.Jar.Cookies(callbackURL) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("browser has no cookie %s", name)
	return nil
}

func setCookie(b *http.Client, callbackURL *url.URL, c *http.Cookie) {
	b.Jar.SetCookies(callbackURL, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: callbackURL.Path}})
}

func TestLoginMapsClaims(t *testing.T) {
	ada := oidctest.Claims{Subject: "u-1", Email: "ada@example.com", Name: "Ada Lovelace", PreferredUsername: "ada"}
	with := func(change func(*oidctest.Claims)) oidctest.Claims {
		c := ada
		change(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     func(*oidc.Config, string)
		user    oidctest.Claims
		want    oidc.Identity // Issuer is the provider's
		wantErr error
	}{
		{
			name: "group maps to admin",
			user: with(func(c *oidctest.Claims) { c.Groups = []string{"huddle-admins"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "admin"},
		},
		{
			name: "group maps to editor",
			user: with(func(c *oidctest.Claims) { c.Groups = []string{"staff", "ops"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "editor"},
		},
		{
			name: "highest mapping wins",
			user: with(func(c *oidctest.Claims) { c.Groups = []string{"huddle-admins", "ops", "staff"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "admin"},
		},
		{
			name: "no match gets the default viewer",
			user: with(func(c *oidctest.Claims) { c.Groups = []string{"staff"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "viewer"},
		},
		{
			name: "no match gets the configured default",
			cfg:  func(c *oidc.Config, _ string) { c.DefaultRole = "editor" },
			user: ada,
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "editor"},
		},
		{
			name:    "no match is denied when the default is none",
			cfg:     func(c *oidc.Config, _ string) { c.DefaultRole = "none" },
			user:    with(func(c *oidctest.Claims) { c.Groups = []string{"staff"} }),
			want:    oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com"},
			wantErr: oidc.ErrDenied,
		},
		{
			name: "a match passes when the default is none",
			cfg:  func(c *oidc.Config, _ string) { c.DefaultRole = "none" },
			user: with(func(c *oidctest.Claims) { c.Groups = []string{"ops"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "editor"},
		},
		{
			name: "role claim that is a string",
			cfg:  func(c *oidc.Config, _ string) { c.RoleClaim = "team" },
			user: with(func(c *oidctest.Claims) { c.Extra = map[string]any{"team": "ops"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "editor"},
		},
		{
			name: "nested role claim (Keycloak)",
			cfg:  func(c *oidc.Config, _ string) { c.RoleClaim = "realm_access.roles" },
			user: with(func(c *oidctest.Claims) {
				c.Extra = map[string]any{"realm_access": map[string]any{"roles": []string{"offline_access", "huddle-admins"}}}
			}),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "admin"},
		},
		{
			name: "role claim whose name has dots (Auth0)",
			cfg:  func(c *oidc.Config, _ string) { c.RoleClaim = "https://huddle.example/roles" },
			user: with(func(c *oidctest.Claims) {
				c.Extra = map[string]any{"https://huddle.example/roles": []string{"huddle-admins"}}
			}),
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "admin"},
		},
		{
			name: "login falls back to email",
			user: with(func(c *oidctest.Claims) { c.PreferredUsername = "" }),
			want: oidc.Identity{Subject: "u-1", Login: "ada@example.com", Name: "Ada Lovelace", Email: "ada@example.com", Role: "viewer"},
		},
		{
			name: "login falls back to sub, name to login",
			user: oidctest.Claims{Subject: "u-1"},
			want: oidc.Identity{Subject: "u-1", Login: "u-1", Name: "u-1", Role: "viewer"},
		},
		{
			name: "openid is added to configured scopes",
			cfg:  func(c *oidc.Config, _ string) { c.Scopes = []string{"email", "groups"} },
			user: ada,
			want: oidc.Identity{Subject: "u-1", Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Role: "viewer"},
		},
		{
			name: "configured login claim",
			cfg:  func(c *oidc.Config, _ string) { c.LoginClaim = "upn" },
			user: with(func(c *oidctest.Claims) { c.Extra = map[string]any{"upn": "ada@corp.example"} }),
			want: oidc.Identity{Subject: "u-1", Login: "ada@corp.example", Name: "Ada Lovelace", Email: "ada@example.com", Role: "viewer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{cfg: tt.cfg})
			h.op.SetNextUser(tt.user)
			id, err := h.login(h.browser())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			tt.want.Issuer = h.op.URL
			if id != tt.want {
				t.Fatalf("identity = %+v\nwant       %+v", id, tt.want)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name    string
		setup   setup
		run     func(t *testing.T, h *harness) (oidc.Identity, error)
		wantErr error
		check   func(t *testing.T, err error) // further checks on the error
	}{
		{
			name: "state mismatch",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				cb := h.authorize(b, authURL)
				return h.callback(b, withQuery(cb, "state", "someone-elses-state"))
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "callback without the flow cookie (login CSRF)",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				attacker := h.browser()
				authURL := h.mustStart(attacker)
				cb := h.authorize(attacker, authURL)
				return h.callback(h.browser(), cb) // the victim follows the attacker's link
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "forged flow cookie",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				cb := h.authorize(b, authURL)
				c := flowCookie(t, b, cb)
				c.Value = c.Value[:len(c.Value)-4] + "AAAA"
				setCookie(b, cb, c)
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "flow cookie sealed with another key",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				other, err := oidc.New(oidc.Config{Issuer: h.op.URL, ClientID: clientID},
					oidc.Options{PublicURL: h.appURL, CookieKey: []byte("another-key-another-key-another-key")})
				if err != nil {
					t.Fatal(err)
				}
				rec := httptest.NewRecorder()
				if err := other.Start(rec, httptest.NewRequest(http.MethodGet, h.appURL+"/login/oidc", nil)); err != nil {
					t.Fatal(err)
				}
				forged := rec.Result().Cookies()[0]
				authURL, err := rec.Result().Location()
				if err != nil {
					t.Fatal(err)
				}
				b := h.browser()
				cb := h.authorize(b, authURL)
				setCookie(b, cb, forged)
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "flow cookie moved to another state",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				auth1 := h.mustStart(b)
				cb1 := h.authorize(b, auth1)
				auth2 := h.mustStart(b)
				cb2 := h.authorize(b, auth2)
				c := flowCookie(t, b, cb1)
				c.Name = flowCookie(t, b, cb2).Name
				setCookie(b, cb2, c)
				return h.callback(b, cb2)
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "flow expired",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				cb := h.authorize(b, authURL)
				h.rpClock.Advance(11 * time.Minute)
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrFlowExpired,
		},
		{
			name: "callback replayed after a login",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				cb := h.authorize(b, authURL)
				if _, err := h.callback(b, cb); err != nil {
					t.Fatal(err)
				}
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrBadState,
		},
		{
			name: "code reuse",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				cb := h.authorize(b, authURL)
				saved := flowCookie(t, b, cb)
				if _, err := h.callback(b, cb); err != nil {
					t.Fatal(err)
				}
				setCookie(b, cb, saved) // everything as before: only the provider can tell
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrExchange,
			check:   retrieveError("invalid_grant", "already used"),
		},
		{
			name: "PKCE: a code injected into another flow",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				attacker := h.browser()
				stolen := h.authorize(attacker, h.mustStart(attacker))
				victim := h.browser()
				cb := h.authorize(victim, h.mustStart(victim))
				// The nonce would catch this too; PKCE catches it first, at the provider.
				return h.callback(victim, withQuery(cb, "code", stolen.Query().Get("code")))
			},
			wantErr: oidc.ErrExchange,
			check:   retrieveError("invalid_grant", "code_verifier"),
		},
		{
			name: "PKCE: challenge tampered with on the way to the provider",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				authURL := h.mustStart(b)
				tampered := withQuery(authURL, "code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
				return h.callback(b, h.authorize(b, tampered))
			},
			wantErr: oidc.ErrExchange,
			check:   retrieveError("invalid_grant", "code_verifier"),
		},
		{
			name: "nonce replay",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				b := h.browser()
				old := h.mustStart(b).Query().Get("nonce")
				authURL := h.mustStart(b)
				// A token minted for the first flow turns up in the second.
				cb := h.authorize(b, withQuery(authURL, "nonce", old))
				return h.callback(b, cb)
			},
			wantErr: oidc.ErrInvalidToken,
			check:   errorSays("nonce"),
		},
		{
			name:    "wrong client secret",
			setup:   setup{cfg: func(c *oidc.Config, _ string) { c.ClientSecret = "guess" }},
			run:     func(t *testing.T, h *harness) (oidc.Identity, error) { return h.login(h.browser()) },
			wantErr: oidc.ErrExchange,
			check:   retrieveError("invalid_client", ""),
		},
		{
			name: "expired ID token",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				h.opClock.Advance(-2 * time.Hour) // the provider's clock is behind: exp is in the past
				return h.login(h.browser())
			},
			wantErr: oidc.ErrInvalidToken,
			check: func(t *testing.T, err error) {
				if _, ok := errors.AsType[*gooidc.TokenExpiredError](err); !ok {
					t.Errorf("err = %v, want a *oidc.TokenExpiredError inside", err)
				}
			},
		},
		{
			name: "provider says access_denied",
			run: func(t *testing.T, h *harness) (oidc.Identity, error) {
				h.op.SetNextError("access_denied")
				return h.login(h.browser())
			},
			check: func(t *testing.T, err error) {
				if pe, ok := errors.AsType[*oidc.ProviderError](err); !ok || pe.Code != "access_denied" {
					t.Errorf("err = %v, want *ProviderError access_denied", err)
				}
			},
		},
		{
			name:    "ID token from another issuer",
			setup:   setup{op: oidctest.Options{IDTokenIssuer: "https://evil.example"}},
			run:     func(t *testing.T, h *harness) (oidc.Identity, error) { return h.login(h.browser()) },
			wantErr: oidc.ErrInvalidToken,
			check:   errorSays("issued by a different provider"),
		},
		{
			name:    "discovery answers with another issuer",
			setup:   setup{cfg: func(c *oidc.Config, opURL string) { c.Issuer = opURL + "/" }},
			run:     func(t *testing.T, h *harness) (oidc.Identity, error) { return h.login(h.browser()) },
			wantErr: oidc.ErrUnavailable,
			check: func(t *testing.T, err error) {
				if _, ok := errors.AsType[*gooidc.IssuerMismatchError](err); !ok {
					t.Errorf("err = %v, want a *oidc.IssuerMismatchError inside", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.setup)
			h.op.SetNextUser(oidctest.Claims{Subject: "u-1", PreferredUsername: "ada", Groups: []string{"huddle-admins"}})
			id, err := tt.run(t, h)
			if err == nil {
				t.Fatalf("logged in as %+v, want an error", id)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if id != (oidc.Identity{}) {
				t.Errorf("identity = %+v with the error, want none", id)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func errorSays(part string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("err = %v, want it to mention %q", err, part)
		}
	}
}

// retrieveError checks the token endpoint's refusal that ErrExchange wraps.
func retrieveError(code, description string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		re, ok := errors.AsType[*oauth2.RetrieveError](err)
		if !ok || re.ErrorCode != code || !strings.Contains(re.ErrorDescription, description) {
			t.Errorf("err = %v, want the token endpoint's %q mentioning %q", err, code, description)
		}
	}
}

func TestLoginsInSeveralTabs(t *testing.T) {
	h := newHarness(t, setup{})
	b := h.browser()
	cb1 := h.authorize(b, h.mustStart(b))
	cb2 := h.authorize(b, h.mustStart(b))
	// A stale cookie from an abandoned login is swept by the next callback.
	setCookie(b, cb1, &http.Cookie{Name: "huddle_oidc_ABANDONED", Value: "garbage"})
	for i, cb := range []*url.URL{cb2, cb1} { // finished in the other order
		if _, err := h.callback(b, cb); err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
	if left := b.Jar.Cookies(cb1); len(left) != 0 {
		t.Fatalf("cookies left after both logins: %v", left)
	}
}

func TestFlowCookie(t *testing.T) {
	h := newHarness(t, setup{cfg: func(c *oidc.Config, _ string) { c.RedirectURL = "https://huddle.example/sso/callback" }})
	rec := httptest.NewRecorder()
	if err := h.rp.Start(rec, httptest.NewRequest(http.MethodGet, "https://huddle.example/login/oidc", nil)); err != nil {
		t.Fatal(err)
	}
	resp := rec.Result()
	authURL, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization request %v lacks PKCE, nonce or state", q)
	}
	if got := q.Get("redirect_uri"); got != "https://huddle.example/sso/callback" {
		t.Errorf("redirect_uri = %q", got)
	}
	if got := q.Get("scope"); got != "openid profile email" {
		t.Errorf("scope = %q, want the default", got)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Start set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if c.Name != "huddle_oidc_"+q.Get("state") || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/sso/callback" || c.MaxAge != 600 {
		t.Errorf("cookie = %s, want HttpOnly, Secure, SameSite=Lax, Path=/sso/callback, Max-Age=600, named by the state", c)
	}
	// Sealed, not just signed: the nonce must not be readable from the cookie.
	if strings.Contains(c.Value, q.Get("nonce")) {
		t.Errorf("cookie value shows the nonce")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func TestCookieIsSecureOnlyForHTTPS(t *testing.T) {
	h := newHarness(t, setup{})
	rec := httptest.NewRecorder()
	if err := h.rp.Start(rec, httptest.NewRequest(http.MethodGet, h.appURL+"/login/oidc", nil)); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies()[0]; c.Secure || c.Path != "/login/oidc/callback" {
		t.Errorf("cookie = %s, want not Secure on http, on the default callback path", c)
	}
}

// flakyTransport is a network that is down until it is brought up, and counts the requests
// that were tried.
type flakyTransport struct {
	up    atomic.Bool
	tries atomic.Int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.tries.Add(1)
	if !f.up.Load() {
		return nil, errors.New("connection refused (test network is down)")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	network := &flakyTransport{}
	h := newHarness(t, setup{opts: func(o *oidc.Options) { o.HTTPClient = &http.Client{Transport: network} }})
	if n := network.tries.Load(); n != 0 {
		t.Fatalf("New made %d requests, want none", n)
	}
	b := h.browser()
	if _, err := h.start(b); !errors.Is(err, oidc.ErrUnavailable) {
		t.Fatalf("start while the provider is down: %v, want ErrUnavailable", err)
	}
	network.up.Store(true)
	if _, err := h.start(b); !errors.Is(err, oidc.ErrUnavailable) {
		t.Fatalf("start within the hold-off: %v, want ErrUnavailable", err)
	}
	if n := network.tries.Load(); n != 1 {
		t.Fatalf("%d discovery attempts, want 1: the hold-off should answer the second login", n)
	}
	h.rpClock.Advance(6 * time.Second)
	if _, err := h.login(b); err != nil {
		t.Fatalf("login once the provider is up: %v", err)
	}
}

// blockingTransport holds every request until release is closed, then fails it.
type blockingTransport struct {
	release chan struct{}
	tries   atomic.Int32
}

func (b *blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.tries.Add(1)
	select {
	case <-b.release:
		return nil, errors.New("connection refused (test network is down)")
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

func TestDiscoveryIsOneAttemptForConcurrentLogins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		network := &blockingTransport{release: make(chan struct{})}
		p, err := oidc.New(oidc.Config{Issuer: "https://id.example", ClientID: clientID},
			oidc.Options{PublicURL: "https://huddle.example", CookieKey: []byte(cookieKey), HTTPClient: &http.Client{Transport: network}})
		if err != nil {
			t.Fatal(err)
		}
		start := func(ctx context.Context) error {
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://huddle.example/login/oidc", nil)
			return p.Start(httptest.NewRecorder(), req)
		}
		errs := make(chan error, 4)
		for range 3 {
			go func() { errs <- start(t.Context()) }()
		}
		synctest.Wait() // one login runs the attempt, the others wait for it
		impatient, cancel := context.WithCancel(t.Context())
		go func() { errs <- start(impatient) }()
		synctest.Wait()
		if n := network.tries.Load(); n != 1 {
			t.Fatalf("%d discovery requests for 4 concurrent logins, want 1", n)
		}
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) || !errors.Is(err, oidc.ErrUnavailable) {
			t.Fatalf("cancelled login: %v, want ErrUnavailable and context.Canceled", err)
		}
		close(network.release)
		for range 3 {
			if err := <-errs; !errors.Is(err, oidc.ErrUnavailable) {
				t.Fatalf("login during an outage: %v, want ErrUnavailable", err)
			}
		}
		if n := network.tries.Load(); n != 1 {
			t.Fatalf("%d discovery requests, want the one attempt shared", n)
		}
	})
}

func TestNewValidates(t *testing.T) {
	good := oidc.Config{Issuer: "https://id.example", ClientID: "huddle"}
	goodOpts := oidc.Options{PublicURL: "https://huddle.example", CookieKey: []byte(cookieKey)}
	tests := []struct {
		name   string
		cfg    func(*oidc.Config)
		opts   func(*oidc.Options)
		fields []string // each must be named in the error
	}{
		{name: "valid"},
		{name: "issuer and client id missing", cfg: func(c *oidc.Config) { *c = oidc.Config{} }, fields: []string{"Issuer", "ClientID"}},
		{name: "no redirect URL", opts: func(o *oidc.Options) { o.PublicURL = "" }, fields: []string{"RedirectURL"}},
		{name: "explicit redirect URL", cfg: func(c *oidc.Config) { c.RedirectURL = "https://huddle.example/cb" }, opts: func(o *oidc.Options) { o.PublicURL = "" }},
		{name: "unknown role", cfg: func(c *oidc.Config) { c.RoleMapping = map[string]string{"ops": "root"} }, fields: []string{"RoleMapping"}},
		{name: "unknown default role", cfg: func(c *oidc.Config) { c.DefaultRole = "guest" }, fields: []string{"DefaultRole"}},
		{name: "short cookie key", opts: func(o *oidc.Options) { o.CookieKey = []byte("short") }, fields: []string{"CookieKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, opts := good, goodOpts
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			if tt.opts != nil {
				tt.opts(&opts)
			}
			p, err := oidc.New(cfg, opts)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.RedirectURL == "" && p.RedirectURL() != "https://huddle.example/login/oidc/callback" {
					t.Errorf("RedirectURL() = %q, want the default under PublicURL", p.RedirectURL())
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}
