package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// testPassword satisfies the password rules; every test user has it.
const testPassword = "correct horse battery"

// fastPassword keeps argon2id cheap in tests; the costs are checked by their own test.
var fastPassword = PasswordParams{Memory: 64, Time: 1, Threads: 1}

type env struct {
	t     *testing.T
	s     *Service
	st    *store.Store
	clock *testkit.Clock
	mux   *http.ServeMux
	logs  *testkit.LogBuffer
}

func newEnv(t *testing.T, st *store.Store, mutate ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, st: st, clock: testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), logs: &testkit.LogBuffer{}}
	opts := Options{
		Store:    st,
		Logger:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      e.clock.Now,
		Password: fastPassword,
		// Tests sign in far more often than people; TestLoginRateLimit sets its own limit.
		LoginAttemptsPerMinute: 1000,
	}
	for _, m := range mutate {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	e.mux = http.NewServeMux()
	if err := s.Register(e.mux); err != nil {
		t.Fatal(err)
	}
	return e
}

// sameEngine returns another fresh store on st's engine, for subtests that need an empty one.
func sameEngine(t *testing.T, st *store.Store) *store.Store {
	if st.Dialect() == store.Postgres {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

var cliActor = Actor{Login: ActorCLI}

// user creates a user with testPassword.
func (e *env) user(login string, role roles.Role) User {
	e.t.Helper()
	u, err := e.s.CreateUser(e.t.Context(), cliActor, NewUser{Login: login, Name: "Name of " + login, Role: role, Password: testPassword})
	if err != nil {
		e.t.Fatalf("create %s: %v", login, err)
	}
	return u
}

// login signs a user in with testPassword and returns the session token.
func (e *env) login(login string) string {
	e.t.Helper()
	return e.loginWith(login, testPassword)
}

func (e *env) loginWith(login, password string) string {
	e.t.Helper()
	_, token, err := e.s.Login(e.t.Context(), LoginInput{Login: login, Password: password, RemoteAddr: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("login %s: %v", login, err)
	}
	return token
}

// key creates an API key for owner.
func (e *env) key(owner User, role roles.Role, scopes ...roles.Scope) string {
	e.t.Helper()
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	_, secret, err := e.s.CreateAPIKey(e.t.Context(), cliActor, owner, NewAPIKey{Name: "test key", Role: role, Scopes: names})
	if err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return secret
}

// reqOpt adds credentials or headers to a request.
type reqOpt func(*http.Request)

func cookie(token string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token}) }
}

func bearer(key string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func basic(user, password string) reqOpt {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
}

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request through the registered routes. body is sent as is when it is a string, as
// JSON otherwise.
func (e *env) do(method, path string, body any, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	return serve(e.t, e.mux, method, path, body, opts...)
}

func serve(t *testing.T, h http.Handler, method, path string, body any, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, path, r)
	for _, o := range opts {
		o(req)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// decode reads a JSON answer, failing the test on a status other than want.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder, want int) T {
	t.Helper()
	var v T
	if w.Code != want {
		t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body, err)
	}
	return v
}

// sessionCookie returns the session cookie a response sets.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, w.Header())
	return nil
}

// auditActions lists the actions in the audit log, oldest first.
func (e *env) auditActions() []string {
	e.t.Helper()
	entries, err := e.s.Audit(e.t.Context(), AuditQuery{Limit: maxAuditLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action)
	}
	return out
}

func errorCode(err error) httpapi.Code {
	var e *httpapi.Error
	if err == nil {
		return ""
	}
	if !errors.As(err, &e) {
		return "internal"
	}
	return e.Code
}

func newRequest(t *testing.T, method, path string, opts ...reqOpt) *http.Request {
	req := httptest.NewRequestWithContext(t.Context(), method, path, nil)
	for _, o := range opts {
		o(req)
	}
	return req
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
