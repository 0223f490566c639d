package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// apiEnv is the notification API behind the real accounts service and route table.
type apiEnv struct {
	t    *testing.T
	auth *auth.Service
	d    *Dispatcher
	mux  *http.ServeMux
}

func newAPIEnv(t *testing.T, st *store.Store) *apiEnv {
	t.Helper()
	a, err := auth.New(auth.Options{Store: st, Password: auth.PasswordParams{Memory: 64, Time: 1, Threads: 1}, LoginAttemptsPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := newDispatcher(t, st, Options{Hub: &hubRecorder{}})
	e := &apiEnv{t: t, auth: a, d: d, mux: http.NewServeMux()}
	if err := a.Register(e.mux, d.Routes()...); err != nil {
		t.Fatal(err)
	}
	return e
}

// caller is a signed-in user (or, with key, an API key of theirs); the zero caller is anonymous.
type caller struct {
	e     *apiEnv
	user  auth.User
	token string
	key   bool
}

func (e *apiEnv) user(login string, role roles.Role) *caller {
	e.t.Helper()
	ctx := e.t.Context()
	const pw = "correct horse battery"
	u, err := e.auth.CreateUser(ctx, auth.Actor{Login: auth.ActorCLI}, auth.NewUser{Login: login, Role: role, Password: pw})
	if err != nil {
		e.t.Fatal(err)
	}
	_, token, err := e.auth.Login(ctx, auth.LoginInput{Login: login, Password: pw, RemoteAddr: "192.0.2.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	return &caller{e: e, user: u, token: token}
}

func (c *caller) apiKey(scopes ...roles.Scope) *caller {
	c.e.t.Helper()
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	_, secret, err := c.e.auth.CreateAPIKey(c.e.t.Context(), auth.Actor{Login: auth.ActorCLI}, c.user, auth.NewAPIKey{Name: "k", Scopes: names})
	if err != nil {
		c.e.t.Fatal(err)
	}
	return &caller{e: c.e, user: c.user, token: secret, key: true}
}

func (c *caller) do(method, path string, body any) *httptest.ResponseRecorder {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequestWithContext(c.e.t.Context(), method, path, r)
	switch {
	case c.key:
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.token != "":
		req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: c.token})
	}
	w := httptest.NewRecorder()
	c.e.mux.ServeHTTP(w, req)
	return w
}

// expect sends a request, fails the test unless the status is want, and decodes the answer into
// out when it is not nil.
func (c *caller) expect(method, path string, body any, want int, out any) {
	c.e.t.Helper()
	w := c.do(method, path, body)
	if w.Code != want {
		c.e.t.Fatalf("%s %s: %d %s, want %d", method, path, w.Code, w.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			c.e.t.Fatalf("%s %s: decode %s: %v", method, path, w.Body, err)
		}
	}
}

// routeRules is the status each caller gets from each route once authorization is done (204 is
// the stub handler): anonymous, viewer, editor, admin, keys with alerts:read, alerts:write and
// dashboards:write. Written out by hand, so a new route or a changed rule fails the test.
var routeRules = map[string][7]int{
	"GET /api/alerting/contact-points":            {401, 204, 204, 204, 204, 204, 403},
	"POST /api/alerting/contact-points":           {401, 403, 204, 204, 403, 204, 403},
	"GET /api/alerting/contact-points/{id}":       {401, 204, 204, 204, 204, 204, 403},
	"PUT /api/alerting/contact-points/{id}":       {401, 403, 204, 204, 403, 204, 403},
	"DELETE /api/alerting/contact-points/{id}":    {401, 403, 204, 204, 403, 204, 403},
	"POST /api/alerting/contact-points/{id}/test": {401, 403, 204, 204, 403, 204, 403},
	"GET /api/alerting/policies":                  {401, 204, 204, 204, 204, 204, 403},
	"PUT /api/alerting/policies":                  {401, 403, 204, 204, 403, 204, 403},
	"GET /api/alerting/silences":                  {401, 204, 204, 204, 204, 204, 403},
	"POST /api/alerting/silences":                 {401, 403, 204, 204, 403, 204, 403},
	"DELETE /api/alerting/silences/{id}":          {401, 403, 204, 204, 403, 204, 403},
	"GET /api/alerting/deliveries":                {401, 204, 204, 204, 204, 204, 403},
}

func TestRouteRules(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.SQLite(t))
	admin := e.user("root", roles.Admin)
	callers := []*caller{{e: e}, e.user("vera", roles.Viewer), e.user("ed", roles.Editor), admin,
		admin.apiKey(roles.ScopeAlertsRead), admin.apiKey(roles.ScopeAlertsWrite), admin.apiKey(roles.ScopeDashboardsWrite)}
	routes := e.d.Routes()
	for i := range routes {
		routes[i].Handler = func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	e.mux = http.NewServeMux()
	if err := e.auth.Register(e.mux, routes...); err != nil {
		t.Fatal(err)
	}
	if len(routes) != len(routeRules) {
		t.Errorf("%d routes, %d rules", len(routes), len(routeRules))
	}
	wildcard := regexp.MustCompile(`\{[^}]+\}`)
	for _, rt := range routes {
		want, ok := routeRules[rt.String()]
		if !ok {
			t.Errorf("route %s has no line in routeRules", rt)
			continue
		}
		path := wildcard.ReplaceAllString(rt.Pattern, "x1")
		for i, c := range callers {
			if w := c.do(rt.Method, path, nil); w.Code != want[i] {
				t.Errorf("%s as caller %d: %d, want %d: %s", rt, i, w.Code, want[i], w.Body)
			}
		}
	}
}

// TestContactPointAPI: secrets are masked in every answer and kept by an update that sends the
// mask back; a test send answers its delivery; a contact point in use cannot be deleted.
func TestContactPointAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAPIEnv(t, st)
		ed := e.user("ed", roles.Editor)
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		secretURL := rc.URL + "/services/T0/B0/SECRET"

		var cp map[string]any
		ed.expect("POST", "/api/alerting/contact-points", map[string]any{"name": "chat", "kind": "slack", "settings": map[string]any{"url": secretURL}},
			http.StatusCreated, &cp)
		id, _ := cp["id"].(string)
		if cp["settings"].(map[string]any)["url"] != Mask || cp["timeout"] != "10s" || cp["attempts"] != 3.0 || cp["updatedBy"] != "ed" {
			t.Errorf("created %v", cp)
		}
		for _, path := range []string{"/api/alerting/contact-points", "/api/alerting/contact-points/" + id} {
			if w := ed.do("GET", path, nil); w.Code != 200 || strings.Contains(w.Body.String(), "SECRET") {
				t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
			}
		}
		ed.expect("PUT", "/api/alerting/contact-points/"+id, map[string]any{"name": "chat-ops", "kind": "slack", "timeout": "5s",
			"settings": map[string]any{"url": Mask}}, http.StatusOK, nil)
		stored, err := e.d.getContactPoint(context.Background(), st.DB(), id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Name != "chat-ops" || stored.Settings.(*SlackSettings).URL != secretURL || stored.Timeout != "5s" {
			t.Errorf("after an update keeping the secret: %+v %+v", stored, stored.Settings)
		}

		var dl Delivery
		ed.expect("POST", "/api/alerting/contact-points/"+id+"/test", nil, http.StatusOK, &dl)
		if dl.Status != StatusTest || !dl.Test || dl.HTTPStatus != 200 || dl.ContactPointName != "chat-ops" {
			t.Errorf("test delivery %+v", dl)
		}
		if reqs := rc.requests(); len(reqs) != 1 || !strings.Contains(string(reqs[0].body), "[TEST]") {
			t.Errorf("receiver got %d requests", len(reqs))
		}
		var log []Delivery
		ed.expect("GET", "/api/alerting/deliveries?fingerprint=test&limit=10", nil, http.StatusOK, &log)
		if len(log) != 1 || log[0].ID != dl.ID {
			t.Errorf("delivery log %+v", log)
		}
		ed.expect("POST", "/api/alerting/contact-points/nope/test", nil, http.StatusNotFound, nil)

		ed.expect("PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "groupBy": []string{"alertname"},
			"routes": []any{map[string]any{"matchers": []string{`severity=~"0|1"`}, "groupWait": "10s", "continue": true}}}, http.StatusOK, nil)
		var pol Policy
		ed.expect("GET", "/api/alerting/policies", nil, http.StatusOK, &pol)
		if pol.ContactPoint != id || pol.GroupWait != "30s" || len(pol.Routes) != 1 || pol.Routes[0].GroupWait != "10s" || pol.UpdatedBy != "ed" {
			t.Errorf("policy %+v", pol)
		}
		ed.expect("DELETE", "/api/alerting/contact-points/"+id, nil, http.StatusConflict, nil)
		var other map[string]any
		ed.expect("POST", "/api/alerting/contact-points", map[string]any{"name": "apps", "kind": "hub", "settings": map[string]any{"hub": "ops", "group": "g"}},
			http.StatusCreated, &other)
		ed.expect("POST", "/api/alerting/contact-points", map[string]any{"name": "apps", "kind": "hub", "settings": map[string]any{"hub": "ops", "group": "g"}},
			http.StatusConflict, nil)
		ed.expect("PUT", "/api/alerting/policies", map[string]any{"contactPoint": other["id"]}, http.StatusOK, nil)
		ed.expect("DELETE", "/api/alerting/contact-points/"+id, nil, http.StatusNoContent, nil)
		ed.expect("GET", "/api/alerting/contact-points/"+id, nil, http.StatusNotFound, nil)

		var sil Silence
		ed.expect("POST", "/api/alerting/silences", map[string]any{"matchers": []string{`alertname="DiskFull"`}, "endsAt": "2999-01-01T00:00:00Z",
			"comment": "disk swap"}, http.StatusCreated, &sil)
		if sil.CreatedBy != "ed" || sil.State != "active" {
			t.Errorf("silence %+v", sil)
		}
		ed.expect("DELETE", "/api/alerting/silences/"+sil.ID, nil, http.StatusNoContent, nil)
		var sils []Silence
		ed.expect("GET", "/api/alerting/silences", nil, http.StatusOK, &sils)
		if len(sils) != 1 || sils[0].State != "expired" {
			t.Errorf("silences %+v", sils)
		}
		ed.expect("DELETE", "/api/alerting/silences/nope", nil, http.StatusNotFound, nil)
	})
}

// TestBadInput: every mistake is a 400 naming the field at fault, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.SQLite(t))
	ed := e.user("ed", roles.Editor)
	var hub map[string]any
	ed.expect("POST", "/api/alerting/contact-points", map[string]any{"name": "apps", "kind": "hub", "settings": map[string]any{"hub": "ops", "group": "g"}},
		http.StatusCreated, &hub)
	id := hub["id"].(string)
	cp := func(kind string, settings any, extra ...any) map[string]any {
		m := map[string]any{"name": "x", "kind": kind, "settings": settings}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"unknown field", "POST", "/api/alerting/contact-points", cp("webhook", map[string]any{"url": "http://a"}, "colour", "red"), "colour"},
		{"unknown setting", "POST", "/api/alerting/contact-points", cp("webhook", map[string]any{"url": "http://a", "secrte": "x"}), "settings.secrte"},
		{"unknown kind", "POST", "/api/alerting/contact-points", cp("pager", map[string]any{}), "kind"},
		{"no settings", "POST", "/api/alerting/contact-points", map[string]any{"name": "x", "kind": "slack"}, "settings"},
		{"relative URL", "POST", "/api/alerting/contact-points", cp("slack", map[string]any{"url": "/hooks/x"}), "settings.url"},
		{"ftp URL", "POST", "/api/alerting/contact-points", cp("teams", map[string]any{"url": "ftp://a/b"}), "settings.url"},
		{"URL with credentials", "POST", "/api/alerting/contact-points", cp("webhook", map[string]any{"url": "http://u:p@a/b"}), "settings.url"},
		{"mask on create", "POST", "/api/alerting/contact-points", cp("slack", map[string]any{"url": Mask}), "settings.url"},
		{"mask of a password never stored", "POST", "/api/alerting/contact-points", cp("email", map[string]any{"host": "smtp", "from": "a@b.c", "to": []string{"a@b.c"}, "username": "u", "password": Mask}), "settings.password"},
		{"mask of a header never stored", "POST", "/api/alerting/contact-points", cp("webhook", map[string]any{"url": "http://a", "headers": map[string]string{"Authorization": Mask}}), "settings.headers.Authorization"},
		{"header injection", "POST", "/api/alerting/contact-points", cp("webhook", map[string]any{"url": "http://a", "headers": map[string]string{"X-A": "1\r\nX-B: 2"}}), "settings.headers"},
		{"no alertmanager URL", "POST", "/api/alerting/contact-points", cp("alertmanager", map[string]any{"urls": []string{}}), "settings.urls"},
		{"bad e-mail", "POST", "/api/alerting/contact-points", cp("email", map[string]any{"host": "smtp", "from": "not an address", "to": []string{"a@b.c"}}), "settings.from"},
		{"bad TLS mode", "POST", "/api/alerting/contact-points", cp("email", map[string]any{"host": "smtp", "from": "a@b.c", "to": []string{"a@b.c"}, "tls": "maybe"}), "settings.tls"},
		{"bad hub", "POST", "/api/alerting/contact-points", cp("hub", map[string]any{"hub": "1ops", "group": "g"}), "settings.hub"},
		{"bad timeout", "POST", "/api/alerting/contact-points", cp("hub", map[string]any{"hub": "ops", "group": "g"}, "timeout", "soon"), "timeout"},
		{"too many attempts", "POST", "/api/alerting/contact-points", cp("hub", map[string]any{"hub": "ops", "group": "g"}, "attempts", 99), "attempts"},
		{"id in a new one", "POST", "/api/alerting/contact-points", cp("hub", map[string]any{"hub": "ops", "group": "g"}, "id", "mine"), "id"},
		{"bad matcher", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "routes": []any{map[string]any{"matchers": []string{`severity=~"(`}}}}, "routes[0].matchers[0]"},
		{"two matchers in one", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "routes": []any{map[string]any{"matchers": []string{`a="1",b="2"`}}}}, "routes[0].matchers[0]"},
		{"unknown contact point", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": "nope"}, "contactPoint"},
		{"no contact point", "PUT", "/api/alerting/policies", map[string]any{"groupBy": []string{"alertname"}}, "contactPoint"},
		{"bad duration", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "groupInterval": "5 minutes"}, "groupInterval"},
		{"repeat below interval", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "groupInterval": "1h", "repeatInterval": "5m"}, "repeatInterval"},
		{"bad group label", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "groupBy": []string{""}}, "groupBy"},
		{"unknown policy field", "PUT", "/api/alerting/policies", map[string]any{"contactPoint": id, "receiver": "x"}, "receiver"},
		{"silence without matchers", "POST", "/api/alerting/silences", map[string]any{"endsAt": "2999-01-01T00:00:00Z"}, "matchers"},
		{"silence ended", "POST", "/api/alerting/silences", map[string]any{"matchers": []string{`a="1"`}, "endsAt": "2001-01-01T00:00:00Z"}, "endsAt"},
		{"silence createdBy", "POST", "/api/alerting/silences", map[string]any{"matchers": []string{`a="1"`}, "endsAt": "2999-01-01T00:00:00Z", "createdBy": "bob"}, "createdBy"},
		{"limit", "GET", "/api/alerting/deliveries?limit=0", nil, "limit"},
		{"unknown parameter", "GET", "/api/alerting/deliveries?incidnet=1", nil, "incidnet"},
	}
	for _, c := range cases {
		w := ed.do(c.method, c.path, c.body)
		var ans struct{ Error, Field string }
		_ = json.Unmarshal(w.Body.Bytes(), &ans)
		if w.Code != http.StatusBadRequest || ans.Field != c.field || ans.Error == "" {
			t.Errorf("%s: %d %s, want 400 naming %q", c.name, w.Code, w.Body, c.field)
		}
	}
	var list []ContactPoint
	ed.expect("GET", "/api/alerting/contact-points", nil, http.StatusOK, &list)
	if len(list) != 1 {
		t.Errorf("%d contact points after refused ones, want 1", len(list))
	}
}
