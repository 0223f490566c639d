package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Store is the SQL database the service keeps its state in; *store.Store satisfies it.
// Queries are written with ? placeholders and passed through Rebind. It is declared here, not
// shared with package dashboard's like one, because each consumer names what it calls.
type Store interface {
	DB() *sql.DB
	Rebind(query string) string
	Tx(ctx context.Context, fn func(*sql.Tx) error) error
}

// Options configure a Service. Zero values mean the defaults in the comments.
type Options struct {
	// Store is required.
	Store  Store
	Logger *slog.Logger // default: discard
	// Now is the clock (default time.Now); tests inject one to expire sessions and locks.
	Now func() time.Time

	// SessionIdleTimeout ends a session nobody used for this long (default 24 h). Use slides
	// it, recorded at most once a minute.
	SessionIdleTimeout time.Duration
	// SessionLifetime ends a session this long after login whatever its use (default 7 days).
	SessionLifetime time.Duration

	// MinPasswordLength is the fewest characters a new password may have (default 12).
	MinPasswordLength int
	// Password are argon2id's costs (see PasswordParams for defaults).
	Password PasswordParams
	// LockoutThreshold is the number of failed logins in a row from one address that lock the
	// login from that address (default 5).
	LockoutThreshold int
	// LockoutDuration is the first lock's length (default 15 min); each further failure after
	// a lock ends locks twice as long as the previous one, up to 24 h. A successful login from
	// the address resets its count.
	LockoutDuration time.Duration
	// LoginAttemptsPerMinute bounds login attempts per client address, in bursts of as many
	// (default 10).
	LoginAttemptsPerMinute int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed, for the login
	// limits and the audit log: a request from one of them is taken to come from the last
	// address its X-Forwarded-For names that is not itself a trusted proxy. From anyone else the
	// header is ignored, since a client could pick its own address with it. Default: none.
	TrustedProxies []netip.Prefix
	// SecureCookies marks the session cookie Secure whatever the request looks like. Set it when
	// the public URL is https: a proxy that ends TLS need not say so (nginx sends no
	// X-Forwarded-Proto by default), and without it a cookie would be Secure only when it does.
	SecureCookies bool
	// TrustedOrigins are origins (scheme://host[:port]) allowed to make cookie-authenticated
	// writes besides the request's own host, e.g. the public URL when a proxy rewrites Host.
	TrustedOrigins []string
	// OIDCName, when set, makes the login page offer "Sign in with <OIDCName>" (a link to
	// /login/oidc, which the OIDC relying party serves).
	OIDCName string
	// Sessions, when set, is told whose sessions and hub tokens ended.
	Sessions SessionWatcher
}

// Service keeps accounts, sessions, API keys, dashboard roles and the audit log, and serves
// their HTTP API. It is safe for concurrent use.
type Service struct {
	store  Store
	logger *slog.Logger
	now    func() time.Time

	idleTimeout      time.Duration
	lifetime         time.Duration
	minPassword      int
	lockoutThreshold int
	lockoutDuration  time.Duration
	trustedProxies   []netip.Prefix
	secureCookies    bool
	oidcName         string
	watcher          SessionWatcher

	hasher   *hasher
	limiter  *addrLimiter
	lockouts *lockouts
	csrf     *http.CrossOriginProtection
	errs     httpapi.ErrorWriter
	page     *template.Template
	purge    purgeSchedule
	auditSeq atomic.Uint64
}

// New checks opts and builds a Service. It hashes one password (the dummy for unknown logins),
// so it takes a few tens of milliseconds.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("auth: Options.Store is required")
	}
	for name, v := range map[string]int64{
		"SessionIdleTimeout": int64(opts.SessionIdleTimeout), "SessionLifetime": int64(opts.SessionLifetime),
		"MinPasswordLength": int64(opts.MinPasswordLength), "LockoutThreshold": int64(opts.LockoutThreshold),
		"LockoutDuration": int64(opts.LockoutDuration), "LoginAttemptsPerMinute": int64(opts.LoginAttemptsPerMinute),
	} {
		if v < 0 {
			return nil, fmt.Errorf("auth: Options.%s must not be negative (0 means the default)", name)
		}
	}
	s := &Service{
		store:            opts.Store,
		logger:           opts.Logger,
		now:              opts.Now,
		idleTimeout:      orDefault(opts.SessionIdleTimeout, 24*time.Hour),
		lifetime:         orDefault(opts.SessionLifetime, 7*24*time.Hour),
		minPassword:      orDefault(opts.MinPasswordLength, 12),
		lockoutThreshold: orDefault(opts.LockoutThreshold, 5),
		lockoutDuration:  orDefault(opts.LockoutDuration, 15*time.Minute),
		trustedProxies:   opts.TrustedProxies,
		secureCookies:    opts.SecureCookies,
		oidcName:         opts.OIDCName,
		watcher:          opts.Sessions,
		csrf:             http.NewCrossOriginProtection(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.errs = httpapi.ErrorWriter{Logger: s.logger, ClientAddr: s.ClientAddr}
	for _, o := range opts.TrustedOrigins {
		if err := s.csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("auth: trusted origin: %w", err)
		}
	}
	perMinute := orDefault(opts.LoginAttemptsPerMinute, 10)
	s.limiter = newAddrLimiter(perMinute, maxTrackedAddrs)
	s.lockouts = newLockouts(maxTrackedAddrs)
	var err error
	if s.hasher, err = newHasher(opts.Password, runtime.GOMAXPROCS(0)); err != nil {
		return nil, err
	}
	if s.page, err = parseLoginPage(); err != nil {
		return nil, err
	}
	return s, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// q adapts a query written with ? placeholders to the store's engine.
func (s *Service) q(query string) string { return s.store.Rebind(query) }

// querier is what both *sql.DB and *sql.Tx offer, so a lookup can run inside or outside a
// transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// newID is a random identifier (128 bits, base32).
func newID() string { return rand.Text() }

// millis and fromMillis convert times to the schema's unix milliseconds; 0 means "never".
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
