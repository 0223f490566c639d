package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// recorder is the Notifier of tests: it keeps what was sent, or fails when told to.
type recorder struct {
	mu     sync.Mutex
	sent   []sent
	failed error
}

type sent struct {
	group string
	event Event
	data  []byte // as encoded for the hub
}

func (r *recorder) SendToGroup(_ context.Context, group string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed != nil {
		return r.failed
	}
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return err
	}
	r.sent = append(r.sent, sent{group, ev, data})
	return nil
}

// take returns what was sent since the last call.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sent
	r.sent = nil
	return out
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	r.failed = err
	r.mu.Unlock()
}

const testPassword = "correct horse battery"

// env is a dashboard service behind the real accounts service and route table.
type env struct {
	t     *testing.T
	st    *store.Store
	auth  *auth.Service
	svc   *Service
	notes *recorder
	clock *testkit.Clock
	logs  *testkit.LogBuffer
	mux   *http.ServeMux
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	e := &env{t: t, st: st, notes: &recorder{}, clock: testkit.NewClock(time.UnixMilli(1_767_000_000_000)), logs: &testkit.LogBuffer{}}
	var err error
	e.auth, err = auth.New(auth.Options{Store: st, Password: auth.PasswordParams{Memory: 64, Time: 1, Threads: 1},
		LoginAttemptsPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(Options{Store: st, Access: e.auth, Notifier: e.notes, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.mux = http.NewServeMux()
	if err := e.auth.Register(e.mux, e.svc.Routes()...); err != nil {
		t.Fatal(err)
	}
	return e
}

// client is one signed-in user.
type client struct {
	e     *env
	user  auth.User
	token string // session token, or API key when bearer
	key   bool
}

// user creates a user with role and signs them in.
func (e *env) user(login string, role roles.Role) *client {
	e.t.Helper()
	ctx := e.t.Context()
	u, err := e.auth.CreateUser(ctx, auth.Actor{Login: auth.ActorCLI}, auth.NewUser{Login: login, Role: role, Password: testPassword})
	if err != nil {
		e.t.Fatalf("create %s: %v", login, err)
	}
	_, token, err := e.auth.Login(ctx, auth.LoginInput{Login: login, Password: testPassword, RemoteAddr: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("login %s: %v", login, err)
	}
	return &client{e: e, user: u, token: token}
}

// apiKey is an API key of c's user with the given scopes.
func (c *client) apiKey(scopes ...roles.Scope) *client {
	c.e.t.Helper()
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	_, secret, err := c.e.auth.CreateAPIKey(c.e.t.Context(), auth.Actor{Login: auth.ActorCLI}, c.user,
		auth.NewAPIKey{Name: "test", Scopes: names})
	if err != nil {
		c.e.t.Fatal(err)
	}
	return &client{e: c.e, user: c.user, token: secret, key: true}
}

// grant gives c's user role on one dashboard, overriding their own there.
func (c *client) grant(uid string, role roles.Role) {
	c.e.t.Helper()
	if err := c.e.auth.SetDashboardRole(c.e.t.Context(), auth.Actor{Login: auth.ActorCLI}, uid, c.user.ID, role); err != nil {
		c.e.t.Fatal(err)
	}
}

// do sends a request as c (as nobody when c is nil). body is sent as is when it is a string or
// []byte, as JSON otherwise.
func (c *client) do(method, path string, body any) *httptest.ResponseRecorder {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		r = bytes.NewReader(j)
	}
	var (
		e   = c.e
		req = httptest.NewRequestWithContext(e.t.Context(), method, path, r)
	)
	switch {
	case c.key:
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.token != "":
		req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: c.token})
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, req)
	return w
}

// expect sends a request and fails the test unless the status is want; it decodes a JSON
// answer into out, if not nil.
func (c *client) expect(method, path string, body any, want int, out any) *httptest.ResponseRecorder {
	c.e.t.Helper()
	w := c.do(method, path, body)
	if w.Code != want {
		c.e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, c.user.Login, w.Code, w.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			c.e.t.Fatalf("%s %s: decode %q: %v", method, path, w.Body, err)
		}
	}
	return w
}

// apiError is the error body the one error mapper writes.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

// expectError sends a request that must fail with status, and returns its error body.
func (c *client) expectError(method, path string, body any, status int) apiError {
	c.e.t.Helper()
	var e apiError
	c.expect(method, path, body, status, &e)
	if e.Error == "" {
		c.e.t.Fatalf("%s %s: no error message", method, path)
	}
	return e
}

// wantFieldError checks that a refusal names field (none when empty) and says msg.
func wantFieldError(t *testing.T, er apiError, field, msg string) {
	t.Helper()
	if er.Field != field || !strings.Contains(er.Error, msg) {
		t.Errorf("got %+v, want field %q and %q", er, field, msg)
	}
}

// sample is a small valid dashboard.
func sample(uid string) Dashboard {
	return Dashboard{
		UID: uid, Title: "Sample " + uid, Tags: []string{"b", "a"},
		Panels: []Panel{
			{Type: PanelTimeSeries, Title: "CPU", GridPos: GridPos{W: 12, H: 8},
				Targets: []Target{{Expr: `rate(node_cpu_seconds_total[1m])`}}},
			{Type: PanelStat, Title: "Up", GridPos: GridPos{X: 12, W: 12, H: 8},
				Targets: []Target{{Expr: `up`, Instant: true}}},
		},
	}
}

var errHubDown = errors.New("hub down")
