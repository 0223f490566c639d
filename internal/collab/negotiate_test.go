package collab_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// staticAccess lets "ada" onto every dashboard but "secret" (and "gone", which does not exist),
// and nobody else on at all.
type staticAccess struct{}

func (staticAccess) DashboardMember(r *http.Request, uid string) (collab.Member, error) {
	switch {
	case r.Header.Get("X-Test-User") != "ada":
		return collab.Member{}, httpapi.ErrUnauthenticated
	case uid == "secret":
		return collab.Member{}, collab.ErrForbidden
	case uid == "gone":
		return collab.Member{}, collab.ErrNoDashboard
	}
	return collab.Member{Login: "ada", Name: "Ada", Role: "viewer"}, nil
}

func (staticAccess) Caller(r *http.Request) (collab.Member, error) {
	if r.Header.Get("X-Test-User") != "ada" {
		return collab.Member{}, httpapi.ErrUnauthenticated
	}
	return collab.Member{Login: "ada", Name: "Ada", Role: "viewer"}, nil
}

func TestNegotiateStatuses(t *testing.T) {
	n := &collab.Negotiator{Keys: accesskey.Keys{Primary: apptest.Key}, Access: staticAccess{}}
	for _, tc := range []struct {
		name, query, user string
		status            int
	}{
		{"ok", "dashboard=ops", "ada", 200},
		{"anonymous", "dashboard=ops", "", 401},
		{"forbidden dashboard", "dashboard=secret", "ada", 403},
		{"no such dashboard", "dashboard=gone", "ada", 404},
		{"empty uid", "dashboard=", "ada", 400},
		{"no dashboard: the alerts group only", "", "ada", 200},
		{"no dashboard, anonymous", "", "", 401},
		{"wildcard uid", "dashboard=*", "ada", 400},
		{"dotted uid widens groups", "dashboard=a.b", "ada", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/negotiate?"+tc.query, nil)
			req.Header.Set("X-Test-User", tc.user)
			rec := httptest.NewRecorder()
			httpapi.ErrorWriter{}.Handler(n.Negotiate).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

// The negotiated token works against the real hub and grants exactly one dashboard's rights, and
// listening to the alerts group.
func TestNegotiatedTokenScope(t *testing.T) {
	ws, res := negotiatedClient(t, "dashboard=ops")
	steps := []struct {
		msg map[string]any
		ok  bool
	}{
		{map[string]any{"type": "joinGroup", "group": res.MetricsGroup}, true},
		{map[string]any{"type": "joinGroup", "group": res.CollabGroup}, true},
		{map[string]any{"type": "sendToGroup", "group": res.CollabGroup, "noEcho": true, "data": map[string]any{"x": 1}}, true},
		{map[string]any{"type": "sendToGroup", "group": res.MetricsGroup, "data": 1}, false},
		{map[string]any{"type": "joinGroup", "group": collab.MetricsGroup("other")}, false},
		{map[string]any{"type": "sendToGroup", "group": collab.CollabGroup("other"), "data": 1}, false},
		{map[string]any{"type": "joinGroup", "group": res.AlertsGroup}, true},
		{map[string]any{"type": "sendToGroup", "group": res.AlertsGroup, "data": 1}, false},
		{map[string]any{"type": "joinGroup", "group": res.PresenceGroup}, true},
		{map[string]any{"type": "sendToGroup", "group": res.PresenceGroup, "data": 1}, false},
		{map[string]any{"type": "joinGroup", "group": "other"}, false},
	}
	for i, s := range steps {
		if ok := ws.ack(t, i+1, s.msg); ok != s.ok {
			t.Fatalf("step %d %v: success=%v, want %v", i, s.msg, ok, s.ok)
		}
	}
}

// A token negotiated on no dashboard only listens to the alerts and presence groups.
func TestNegotiatedAlertsOnly(t *testing.T) {
	ws, res := negotiatedClient(t, "")
	if res.AlertsGroup != collab.AlertsGroup || res.PresenceGroup != collab.PresenceGroup || res.MetricsGroup != "" || res.CollabGroup != "" {
		t.Fatalf("answer %+v", res)
	}
	for i, tc := range []struct {
		group string
		ok    bool
	}{
		{collab.AlertsGroup, true}, {collab.PresenceGroup, true},
		{collab.MetricsGroup("ops"), false}, {collab.CollabGroup("ops"), false},
		{"other", false},
	} {
		if ok := ws.ack(t, i+1, map[string]any{"type": "joinGroup", "group": tc.group}); ok != tc.ok {
			t.Fatalf("join %s: success=%v, want %v", tc.group, ok, tc.ok)
		}
	}
}

type client struct{ *websocket.Conn }

func (c client) read(t *testing.T) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := c.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ack sends msg with ackId id and reports whether the service acknowledged it as a success.
func (c client) ack(t *testing.T, id int, msg map[string]any) bool {
	t.Helper()
	msg["ackId"] = id
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	ack := c.read(t)
	if ack["type"] != "ack" || ack["ackId"] != float64(id) {
		t.Fatalf("%v: answer %v, want its ack", msg, ack)
	}
	return ack["success"] == true
}

// negotiatedClient negotiates with query as ada and connects with the answer's URL to a real hub.
func negotiatedClient(t *testing.T, query string) (client, collab.NegotiateResponse) {
	t.Helper()
	srv := apptest.Start(t, config.Config{})
	n := &collab.Negotiator{Keys: accesskey.Keys{Primary: srv.Key}, Access: staticAccess{}, PublicURL: srv.URL}
	req := httptest.NewRequest("GET", "/api/negotiate?"+query, nil)
	req.Header.Set("X-Test-User", "ada")
	rec := httptest.NewRecorder()
	httpapi.ErrorWriter{}.Handler(n.Negotiate).ServeHTTP(rec, req)
	var res collab.NegotiateResponse
	if err := json.NewDecoder(rec.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"json.reliable.webpubsub.azure.v1"}}
	ws, _, err := d.Dial(res.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := client{ws}
	if m := c.read(t); m["event"] != "connected" || m["userId"] != "ada" {
		t.Fatalf("connected message %v", m)
	}
	return c, res
}

func TestDashboardOfMetricsGroup(t *testing.T) {
	for _, tc := range []struct {
		group, uid string
		ok         bool
	}{
		{collab.MetricsGroup("ops"), "ops", true},
		{collab.CollabGroup("ops"), "", false},
		{"dash..metrics", "", false},
		{"dash.a.b.metrics", "", false},
		{"chat", "", false},
	} {
		if uid, ok := collab.DashboardOfMetricsGroup(tc.group); ok != tc.ok || (ok && uid != tc.uid) {
			t.Errorf("DashboardOfMetricsGroup(%q) = %q, %v", tc.group, uid, ok)
		}
	}
}

func TestDashboardOfCollabGroup(t *testing.T) {
	for _, tc := range []struct {
		group, uid string
		ok         bool
	}{
		{collab.CollabGroup("ops"), "ops", true},
		{collab.MetricsGroup("ops"), "", false},
		{"dash..collab", "", false},
		{"dash.a.b.collab", "", false},
		{collab.PresenceGroup, "", false},
	} {
		if uid, ok := collab.DashboardOfCollabGroup(tc.group); ok != tc.ok || (ok && uid != tc.uid) {
			t.Errorf("DashboardOfCollabGroup(%q) = %q, %v", tc.group, uid, ok)
		}
	}
}

func TestIsCollabGroup(t *testing.T) {
	for _, tc := range []struct {
		hub, group string
		want       bool
	}{
		{collab.Hub, collab.CollabGroup("ops"), true},
		{"HUDDLE", collab.CollabGroup("ops"), true}, // hub names are case-insensitive
		{"chat", collab.CollabGroup("ops"), false},
		{collab.Hub, collab.MetricsGroup("ops"), false},
		{collab.Hub, "dash..collab", false},
		{collab.Hub, "dash.a.b.collab", false},
		{collab.Hub, "dash.ops.collab.x", false},
		{collab.Hub, "collab", false},
	} {
		if got := collab.IsCollabGroup(tc.hub, tc.group); got != tc.want {
			t.Errorf("IsCollabGroup(%q, %q) = %v, want %v", tc.hub, tc.group, got, tc.want)
		}
	}
}
