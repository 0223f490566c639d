package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// valid reports whether a session token still authenticates.
func (e *env) valid(token string) bool {
	e.t.Helper()
	_, ok, err := e.s.sessionPrincipal(e.t.Context(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		e.user("root", roles.Admin)
		bob := e.user("bob", roles.Viewer)

		t.Run("fixation", func(t *testing.T) {
			first := e.login("bob")
			if len(first) != tokenLen || !e.valid(first) {
				t.Fatalf("token %q", first)
			}
			_, second, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: testPassword, PreviousToken: first})
			if err != nil {
				t.Fatal(err)
			}
			if second == first || e.valid(first) || !e.valid(second) {
				t.Fatal("a login kept the token the client came with")
			}
			var stored string
			if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT id_hash FROM sessions WHERE id_hash = ?`),
				hashSecret(second)).Scan(&stored); err != nil {
				t.Fatalf("the session is not stored under the token's hash: %v", err)
			}
			var plain int
			_ = st.DB().QueryRowContext(ctx, st.Rebind(`SELECT COUNT(*) FROM sessions WHERE id_hash = ?`), second).Scan(&plain)
			if plain != 0 {
				t.Fatal("a token is stored in clear")
			}
		})

		t.Run("idle expiry slides", func(t *testing.T) {
			token := e.login("bob")
			e.clock.Advance(30 * time.Second)
			if !e.valid(token) {
				t.Fatal("expired early")
			}
			e.clock.Advance(31 * time.Second) // more than a minute since login: use is recorded
			if !e.valid(token) {
				t.Fatal("expired early")
			}
			e.clock.Advance(24*time.Hour - time.Second)
			if !e.valid(token) {
				t.Fatal("use did not extend the idle expiry")
			}
			e.clock.Advance(24 * time.Hour)
			if e.valid(token) {
				t.Fatal("a session idle for 24 h still works")
			}
		})

		t.Run("absolute expiry", func(t *testing.T) {
			token := e.login("bob")
			for range 13 { // used every 12 h for 6.5 days
				e.clock.Advance(12 * time.Hour)
				if !e.valid(token) {
					t.Fatal("expired before its lifetime")
				}
			}
			e.clock.Advance(12 * time.Hour)
			if e.valid(token) {
				t.Fatal("a session in use outlived its 7-day lifetime")
			}
		})

		t.Run("logout everywhere", func(t *testing.T) {
			a, b := e.login("bob"), e.login("bob")
			if err := e.s.RevokeSessions(ctx, Actor{Login: "bob"}, bob.ID); err != nil {
				t.Fatal(err)
			}
			if e.valid(a) || e.valid(b) {
				t.Fatal("a session survived logout everywhere")
			}
			if !e.valid(e.login("bob")) {
				t.Fatal("a login after logout everywhere does not work")
			}
			if err := e.s.RevokeSessions(ctx, cliActor, "nobody"); !errors.Is(err, ErrUserNotFound) {
				t.Fatalf("revoke for an unknown user: %v", err)
			}
		})

		t.Run("disabled user", func(t *testing.T) {
			token := e.login("bob")
			yes, no := true, false
			if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, bob.ID, UserUpdate{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
			if e.valid(token) {
				t.Fatal("a disabled user's session still works")
			}
			if _, _, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: testPassword}); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("disabled user login: %v", err)
			}
			if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, bob.ID, UserUpdate{Disabled: &no}); err != nil {
				t.Fatal(err)
			}
			if e.valid(token) {
				t.Fatal("re-enabling a user revived an old session")
			}
			e.login("bob")
		})

		t.Run("deleted user", func(t *testing.T) {
			carol := e.user("carol", roles.Viewer)
			token := e.login("carol")
			if err := e.s.DeleteUser(ctx, cliActor, carol.ID); err != nil {
				t.Fatal(err)
			}
			if e.valid(token) {
				t.Fatal("a deleted user's session still works")
			}
		})

		t.Run("garbage tokens", func(t *testing.T) {
			for _, tok := range []string{"", "x", strings.Repeat("a", tokenLen), "' OR 1=1 --"} {
				if e.valid(tok) {
					t.Fatalf("token %q accepted", tok)
				}
			}
		})

		t.Run("purge", func(t *testing.T) {
			e.clock.Advance(2 * time.Hour) // past the purge interval
			stale := e.login("bob")
			e.clock.Advance(25 * time.Hour)
			e.login("bob") // a login purges what expired meanwhile
			var n int
			if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT COUNT(*) FROM sessions WHERE id_hash = ?`),
				hashSecret(stale)).Scan(&n); err != nil || n != 0 {
				t.Fatalf("expired session kept: %d %v", n, err)
			}
		})
	})
}

func TestLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		e.user("root", roles.Admin)
		bob := e.user("bob", roles.Viewer)
		attempt := func(login, password string) error {
			_, _, err := e.s.Login(ctx, LoginInput{Login: login, Password: password, RemoteAddr: "198.51.100.7"})
			return err
		}
		retryAfter := func(err error) time.Duration {
			var ae *httpapi.Error
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *Error", err)
			}
			return ae.RetryAfter
		}

		for i := range 4 {
			if err := attempt("bob", "wrong password"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		err := attempt("bob", "wrong password")
		if !errors.Is(err, ErrLocked) || retryAfter(err) != 15*time.Minute {
			t.Fatalf("fifth failure: %v", err)
		}
		if err := attempt("bob", testPassword); !errors.Is(err, ErrLocked) || retryAfter(err) != 15*time.Minute {
			t.Fatalf("the right password while locked: %v", err)
		}
		if until := e.s.lockouts.latest("bob", e.clock.Now()); !until.Equal(e.clock.Now().Add(15 * time.Minute)) {
			t.Fatalf("locked until %v", until)
		}

		// Each failure after a lock ends doubles the next lock.
		e.clock.Advance(15 * time.Minute)
		if err := attempt("bob", "wrong password"); retryAfter(err) != 30*time.Minute {
			t.Fatalf("sixth failure: %v", err)
		}
		e.clock.Advance(30 * time.Minute)
		if err := attempt("bob", "wrong password"); retryAfter(err) != time.Hour {
			t.Fatalf("seventh failure: %v", err)
		}
		e.clock.Advance(time.Hour)

		// Success resets the count.
		if err := attempt("bob", testPassword); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if err := attempt("bob", "wrong password"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("count not reset by a success: %v", err)
			}
		}

		// An admin can unlock.
		if err := attempt("bob", "wrong password"); !errors.Is(err, ErrLocked) {
			t.Fatal(err)
		}
		if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, bob.ID, UserUpdate{Unlock: true}); err != nil {
			t.Fatal(err)
		}
		if err := attempt("bob", testPassword); err != nil {
			t.Fatalf("after unlock: %v", err)
		}

		// An unknown login answers exactly like a real one, lock included.
		for i := range 4 {
			err := attempt("nobody", "wrong password")
			if !errors.Is(err, ErrInvalidCredentials) || err.Error() != ErrInvalidCredentials.Msg {
				t.Fatalf("unknown login, failure %d: %v", i+1, err)
			}
		}
		err = attempt("nobody", "wrong password")
		if !errors.Is(err, ErrLocked) || retryAfter(err) != 15*time.Minute || err.Error() != ErrLocked.Msg {
			t.Fatalf("unknown login, fifth failure: %v", err)
		}
		if err := attempt("x' OR '1'='1", "' OR '1'='1"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("SQL-ish login: %v", err)
		}

		actions := e.auditActions()
		for _, want := range []string{ActionLoginFailed, ActionAccountLocked, ActionLogin} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit log lacks %s: %v", want, actions)
			}
		}
		entries, _ := e.s.Audit(ctx, AuditQuery{Action: ActionLoginFailed, Limit: 1})
		if len(entries) != 1 || entries[0].Target != "login:x' or '1'='1" || entries[0].RemoteAddr != "198.51.100.7" {
			t.Errorf("last failure recorded as %+v", entries)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, func(o *Options) { o.LoginAttemptsPerMinute = 3; o.LockoutThreshold = 100 })
		e.user("bob", roles.Viewer)
		attempt := func(addr, password string) error {
			_, _, err := e.s.Login(t.Context(), LoginInput{Login: "bob", Password: password, RemoteAddr: addr})
			return err
		}
		for range 3 {
			if err := attempt("203.0.113.9", "wrong password"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
		}
		err := attempt("203.0.113.9", testPassword)
		var ae *httpapi.Error
		if !errors.As(err, &ae) || ae.Code != httpapi.CodeRateLimited || ae.RetryAfter != 20*time.Second {
			t.Fatalf("fourth attempt in a minute: %v", err)
		}
		if err := attempt("203.0.113.10", testPassword); err != nil {
			t.Fatalf("another address is limited too: %v", err)
		}
		e.clock.Advance(20 * time.Second)
		if err := attempt("203.0.113.9", testPassword); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
}

func TestAddrLimiterBounded(t *testing.T) {
	l := newAddrLimiter(2, 3)
	now := time.Unix(0, 0)
	for _, a := range []string{"a", "b", "c", "d", "e"} {
		if ok, _ := l.allow(a, now); !ok {
			t.Fatalf("%s refused", a)
		}
	}
	if len(l.buckets) > 3 {
		t.Fatalf("%d buckets kept, bound 3", len(l.buckets))
	}
	locks := newLockouts(2)
	for _, addr := range []string{"a", "b", "c"} {
		locks.fail("bob", addr, now, func(int) time.Duration { return 0 })
	}
	if len(locks.state) > 2 {
		t.Fatalf("%d lockouts kept, bound 2", len(locks.state))
	}
}

func TestRehashOnLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		old := newEnv(t, st)
		old.user("bob", roles.Viewer)
		storedHash := func() string {
			var h string
			if err := st.DB().QueryRowContext(t.Context(), `SELECT password_hash FROM users WHERE login = 'bob'`).Scan(&h); err != nil {
				t.Fatal(err)
			}
			return h
		}
		before := storedHash()
		stronger := newEnv(t, st, func(o *Options) { o.Password = PasswordParams{Memory: 128, Time: 2, Threads: 1} })
		if _, _, err := stronger.s.Login(t.Context(), LoginInput{Login: "bob", Password: "wrong password"}); err == nil {
			t.Fatal("wrong password accepted")
		}
		if storedHash() != before {
			t.Fatal("a failed login rehashed the password")
		}
		if _, _, err := stronger.s.Login(t.Context(), LoginInput{Login: "bob", Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		after := storedHash()
		if !strings.HasPrefix(after, "$argon2id$v=19$m=128,t=2,p=1$") {
			t.Fatalf("not rehashed with the new costs: %s", after)
		}
		if _, _, err := stronger.s.Login(t.Context(), LoginInput{Login: "bob", Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		if storedHash() != after {
			t.Fatal("rehashed again with unchanged costs")
		}
	})
}

// Failed logins answer alike for an enabled, a disabled and an unknown login, so that the
// answers do not tell which accounts exist or are disabled.
func TestFailedLoginsAnswerAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		e.user("bob", roles.Viewer)
		dora := e.user("dora", roles.Viewer)
		yes := true
		if _, err := e.s.UpdateUser(t.Context(), cliActor, dora.ID, UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		answers := func(login string) []string {
			var out []string
			for range 6 {
				w := e.do("POST", "/api/login", map[string]string{"user": login, "password": "wrong password"})
				out = append(out, fmt.Sprintf("%d %s %s", w.Code, w.Header().Get("Retry-After"), strings.TrimSpace(w.Body.String())))
			}
			return out
		}
		enabled := answers("bob")
		if !strings.HasPrefix(enabled[5], "429") {
			t.Fatalf("an enabled login is not locked after 6 failures: %q", enabled)
		}
		for _, login := range []string{"dora", "nobody"} {
			if got := answers(login); !slices.Equal(got, enabled) {
				t.Errorf("%s answers %q, an enabled login %q", login, got, enabled)
			}
		}
	})
}

// Failures from one address lock only that address's attempts: the owner, elsewhere, still signs
// in, and an admin's unlock ends the lock.
func TestLockoutPerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		bob := e.user("bob", roles.Viewer)
		login := func(addr, password string) *httptest.ResponseRecorder {
			return e.do("POST", "/api/login", map[string]string{"user": "bob", "password": password},
				func(r *http.Request) { r.RemoteAddr = addr + ":40000" })
		}
		for range 5 {
			login("203.0.113.66", "wrong password")
		}
		w := login("203.0.113.66", testPassword)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Fatalf("the attacker's address is not locked: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if w := login("198.51.100.7", testPassword); w.Code != http.StatusOK {
			t.Fatalf("the owner, from another address, is locked out: %d %s", w.Code, w.Body)
		}
		if _, err := e.s.UpdateUser(t.Context(), cliActor, bob.ID, UserUpdate{Unlock: true}); err != nil {
			t.Fatal(err)
		}
		if w := login("203.0.113.66", testPassword); w.Code != http.StatusOK {
			t.Fatalf("unlock left the address locked: %d %s", w.Code, w.Body)
		}
	})
}
