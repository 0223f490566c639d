package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
)

// join sends a joinGroup with ackId id and fails unless it succeeds.
func (v *viewer) join(t *testing.T, group string, id int) {
	t.Helper()
	if err := v.ws.WriteJSON(map[string]any{"type": "joinGroup", "group": group, "ackId": id}); err != nil {
		t.Fatal(err)
	}
	for {
		if m := v.next(t); m["type"] == "ack" {
			if m["success"] != true {
				t.Fatalf("join %s: %v", group, m)
			}
			return
		}
	}
}

// presence reads up to the next presence message of the server and returns its dashboard.
func (v *viewer) presence(t *testing.T) string {
	t.Helper()
	for {
		m := v.next(t)
		data, _ := m["data"].(map[string]any)
		if _, fromViewer := m["fromUserId"]; m["group"] == collab.PresenceGroup && !fromViewer && data["type"] == "presence" {
			return data["dashboard"].(string)
		}
	}
}

// A page on no dashboard hears, on the presence group, when someone arrives on a dashboard or
// leaves it, and GET /api/presence says who is where, named by their accounts.
func TestPresenceFollowsArrivalsAndDepartures(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", `{"uid":"ops","title":"Ops"}`, 201)
	admin.expect("POST", "/api/users", `{"login":"vera","name":"Vera Viewer","role":"viewer","password":"vera's long password"}`, 201)
	vera := newBrowser(t, srv.URL)
	vera.expect("POST", "/api/login", `{"user":"vera","password":"vera's long password"}`, 200)

	var neg struct{ URL, PresenceGroup string }
	if err := json.Unmarshal([]byte(admin.expect("GET", "/api/negotiate", "", 200)), &neg); err != nil {
		t.Fatal(err)
	}
	home := watchURL(t, neg.URL)
	home.join(t, neg.PresenceGroup, 1)
	if got := admin.expect("GET", "/api/presence", "", 200); strings.TrimSpace(got) != "[]" {
		t.Fatalf("presence with nobody on a dashboard: %s", got)
	}

	v := watchURL(t, negotiate(t, vera))
	v.join(t, collab.CollabGroup("ops"), 1)
	if uid := home.presence(t); uid != "ops" {
		t.Fatalf("arrival announced for %q, want ops", uid)
	}
	var now []collab.DashboardPresence
	if err := json.Unmarshal([]byte(admin.expect("GET", "/api/presence", "", 200)), &now); err != nil {
		t.Fatal(err)
	}
	if len(now) != 1 || now[0].Dashboard != "ops" || len(now[0].Viewers) != 1 || now[0].Viewers[0] != (collab.Viewer{UserID: "vera", Name: "Vera Viewer"}) {
		t.Fatalf("presence = %+v, want vera on ops", now)
	}

	// A page that is left closes its WebSocket with a close frame, which ends even a reliable
	// session at once (a connection merely lost is kept for its reconnect window).
	if err := v.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "")); err != nil {
		t.Fatal(err)
	}
	if uid := home.presence(t); uid != "ops" {
		t.Fatalf("departure announced for %q, want ops", uid)
	}
	if got := admin.expect("GET", "/api/presence", "", 200); strings.TrimSpace(got) != "[]" {
		t.Fatalf("presence after vera left: %s", got)
	}
}
