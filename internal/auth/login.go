package auth

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"golang.org/x/time/rate"
)

// LoginInput is a password login attempt.
type LoginInput struct {
	Login, Password string
	// RemoteAddr is the client's address: the rate limit's key and the audit log's.
	RemoteAddr string
	UserAgent  string
	// PreviousToken is the session token the client already had, replaced by the new one.
	PreviousToken string
}

// maxLockout caps the doubling lock.
const maxLockout = 24 * time.Hour

// maxTrackedAddrs bounds the memory of the per-address rate limit and of the lockouts.
const maxTrackedAddrs = 10_000

// Login checks a password and starts a session, returning the user and the session token.
//
// Failures answer the same whether or not the login exists: ErrInvalidCredentials (also for a
// disabled user or one without a password), in about the same time (an unknown login is hashed
// against a dummy), and ErrLocked once a login, known or not, has failed LockoutThreshold times in
// a row from the client's address. A locked login is refused from that address even with the
// right password until the lock ends; other addresses are not affected. Too many attempts from one
// address give ErrRateLimited. Both carry RetryAfter.
func (s *Service) Login(ctx context.Context, in LoginInput) (User, string, error) {
	now := s.now()
	if ok, wait := s.limiter.allow(in.RemoteAddr, now); !ok {
		return User{}, "", ErrLoginRateLimited.RetryIn(wait)
	}
	actor := Actor{Login: ActorSystem, RemoteAddr: in.RemoteAddr}
	if len(in.Password) > maxPasswordBytes || len(in.Login) > 4*maxLoginLen {
		return User{}, "", ErrInvalidCredentials
	}
	login := strings.ToLower(strings.TrimSpace(in.Login))
	u, hash, err := s.credentials(ctx, "u.login = ?", login)
	if errors.Is(err, ErrUserNotFound) {
		return User{}, "", s.failUnknown(ctx, login, actor, now, in.Password)
	}
	if err != nil {
		return User{}, "", err
	}
	actor.Login = u.Login
	if wait := s.lockouts.lockedUntil(u.Login, in.RemoteAddr).Sub(now); wait > 0 {
		return User{}, "", ErrLocked.RetryIn(wait)
	}
	match, rehash, err := s.hasher.verify(ctx, hash, in.Password)
	if err != nil {
		return User{}, "", fmt.Errorf("verify password of %s: %w", u.Login, err)
	}
	if !match || u.Disabled {
		reason := "wrong password"
		switch {
		case u.Disabled:
			reason = "disabled"
		case hash == "":
			reason = "no password (OIDC user)"
		}
		if wait, err := s.recordFailure(ctx, u, actor, reason); err != nil || wait > 0 {
			return User{}, "", cmp.Or(err, error(ErrLocked.RetryIn(wait)))
		}
		return User{}, "", ErrInvalidCredentials
	}
	var newHash string
	if rehash {
		if newHash, err = s.hasher.hash(ctx, in.Password); err != nil {
			return User{}, "", err
		}
	}
	var token string
	err = s.store.Tx(ctx, func(tx *sql.Tx) error {
		if newHash != "" {
			// Compare-and-set: a password changed meanwhile must not be overwritten.
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`),
				newHash, u.ID, hash); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
		if token, err = s.createSession(ctx, tx, u.ID, client{addr: in.RemoteAddr, userAgent: in.UserAgent}, in.PreviousToken); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ActionLogin, "user:"+u.Login, map[string]any{"method": "password"})
	})
	if err != nil {
		return User{}, "", err
	}
	s.lockouts.reset(u.Login, in.RemoteAddr)
	s.purgeExpiredSessions(ctx)
	return u, token, nil
}

// lockFor is how long a login is locked from an address after failed consecutive failures
// from there: nothing below the threshold, then LockoutDuration, doubling with each further
// failure, at most maxLockout.
func (s *Service) lockFor(failed int) time.Duration {
	n := failed - s.lockoutThreshold
	if n < 0 {
		return 0
	}
	d := s.lockoutDuration
	for ; n > 0 && d < maxLockout; n-- {
		d *= 2
	}
	return min(d, maxLockout)
}

// recordFailure counts a failed password for u from the actor's address, audits it and the lock
// it may cause, and returns the lock's length (0 when not locked). A disabled account counts and
// locks like any other, so that its answers do not tell that it is disabled.
func (s *Service) recordFailure(ctx context.Context, u User, actor Actor, reason string) (time.Duration, error) {
	now := s.now()
	failed, lock := s.lockouts.fail(u.Login, actor.RemoteAddr, now, s.lockFor)
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.audit(ctx, tx, actor, ActionLoginFailed, "user:"+u.Login,
			map[string]any{"reason": reason, "failures": failed}); err != nil {
			return err
		}
		if lock == 0 {
			return nil
		}
		return s.audit(ctx, tx, actor, ActionAccountLocked, "user:"+u.Login,
			map[string]any{"until": now.Add(lock).UTC(), "failures": failed})
	})
	return lock, err
}

// failUnknown answers a login for a user that does not exist exactly as for one that does: the
// same hashing time, the same error and, after as many failures, the same lockout.
func (s *Service) failUnknown(ctx context.Context, login string, actor Actor, now time.Time, password string) error {
	if wait := s.lockouts.lockedUntil(login, actor.RemoteAddr).Sub(now); wait > 0 {
		return ErrLocked.RetryIn(wait)
	}
	if _, _, err := s.hasher.verify(ctx, "", password); err != nil {
		return fmt.Errorf("verify dummy password: %w", err)
	}
	err := s.audit(ctx, s.store.DB(), actor, ActionLoginFailed, "login:"+httpapi.Truncate(login, maxLoginLen),
		map[string]any{"reason": "unknown login"})
	if err != nil {
		return err
	}
	if _, lock := s.lockouts.fail(login, actor.RemoteAddr, now, s.lockFor); lock > 0 {
		return ErrLocked.RetryIn(lock)
	}
	return ErrInvalidCredentials
}

// client is who sends r, as the rate limit and the audit log see it.
func (s *Service) client(r *http.Request) client {
	return client{addr: s.ClientAddr(r), userAgent: r.UserAgent()}
}

// ClientAddr is the address of the client behind r: the peer's, or, when the peer is a trusted
// proxy, the nearest X-Forwarded-For entry that is not one. Entries are read from the right,
// since each proxy appends the address it received from; what lies before the last trusted
// proxy's entry is the client's word.
func (s *Service) ClientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	xff := r.Header.Values("X-Forwarded-For")
	entries := strings.Split(strings.Join(xff, ","), ",")
	for i := len(entries) - 1; i >= 0 && s.trustedProxy(addr) && len(xff) > 0; i-- {
		next, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil {
			break
		}
		addr = next.Unmap()
	}
	return addr.String()
}

func (s *Service) trustedProxy(a netip.Addr) bool {
	return slices.ContainsFunc(s.trustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

// addrLimiter is a token bucket per client address for login attempts.
type addrLimiter struct {
	mu        sync.Mutex
	perMinute int
	max       int
	buckets   map[string]*rate.Limiter
}

func newAddrLimiter(perMinute, max int) *addrLimiter {
	return &addrLimiter{perMinute: perMinute, max: max, buckets: make(map[string]*rate.Limiter)}
}

// allow takes a token for addr at now, or reports how long until one is available.
func (l *addrLimiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
		l.buckets[addr] = b
	}
	res := b.ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// evict forgets full buckets, which behave as new ones would; if every bucket is in use the
// table is reset rather than grown, since an attacker with that many addresses gains little.
func (l *addrLimiter) evict(now time.Time) {
	for addr, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.perMinute) {
			delete(l.buckets, addr)
		}
	}
	if len(l.buckets) >= l.max {
		clear(l.buckets)
	}
}
