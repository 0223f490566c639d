package app_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// When a viewer's access changes — an admin disables, deletes or re-roles them, or they log out
// everywhere — their open dashboard socket closes at once with a reason, and the token they had
// negotiated no longer opens one. Where the viewer may still watch (a role change), a token
// negotiated afresh connects.
func TestAccessChangeClosesHubConnections(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", `{"uid":"ops","title":"Ops"}`, 201)

	for _, tc := range []struct {
		name, login string
		revoke      func(b *browser, id string)
		mayWatchYet bool
	}{
		{"disabled", "vdis", func(_ *browser, id string) { admin.expect("PATCH", "/api/users/"+id, `{"disabled":true}`, 200) }, false},
		{"deleted", "vdel", func(_ *browser, id string) { admin.expect("DELETE", "/api/users/"+id, "", 204) }, false},
		{"role changed", "vrole", func(_ *browser, id string) { admin.expect("PATCH", "/api/users/"+id, `{"role":"editor"}`, 200) }, true},
		{"logged out everywhere", "vall", func(b *browser, _ string) { b.expect("POST", "/api/logout/all", "", 204) }, false},
		{"sessions revoked by an admin", "vrev", func(_ *browser, id string) { admin.expect("DELETE", "/api/users/"+id+"/sessions", "", 204) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var user struct{ ID string }
			_ = json.Unmarshal([]byte(admin.expect("POST", "/api/users",
				`{"login":"`+tc.login+`","role":"viewer","password":"a long enough password"}`, 201)), &user)
			b := newBrowser(t, srv.URL)
			b.expect("POST", "/api/login", `{"user":"`+tc.login+`","password":"a long enough password"}`, 200)
			url := negotiate(t, b)
			v := watchURL(t, url)

			tc.revoke(b, user.ID)

			if reason := v.closed(t); !strings.Contains(reason, "access revoked") {
				t.Fatalf("the socket closed with %q, want a reason saying access was revoked", reason)
			}
			if code, body := dialStatus(t, url); code != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
				t.Fatalf("the old token answers %d %s, want 401 saying it was revoked", code, body)
			}
			if !tc.mayWatchYet {
				b.expect("GET", "/api/negotiate?dashboard=ops", "", 401)
				return
			}
			// A token issued in the second of the revocation is refused too; the next second's works.
			testkit.WaitFor(t, "a token negotiated after the role change to connect", func() bool {
				code, _ := dialStatus(t, negotiate(t, b))
				return code == http.StatusSwitchingProtocols
			})
		})
	}
}

func negotiate(t *testing.T, b *browser) string {
	t.Helper()
	var neg struct{ URL string }
	if err := json.Unmarshal([]byte(b.expect("GET", "/api/negotiate?dashboard=ops", "", 200)), &neg); err != nil {
		t.Fatal(err)
	}
	return neg.URL
}

func watchURL(t *testing.T, url string) *viewer {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"json.reliable.webpubsub.azure.v1"}}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	v := &viewer{ws: ws}
	if m := v.next(t); m["event"] != "connected" {
		t.Fatalf("first message %v, want connected", m)
	}
	return v
}

// closed reads until the server closes the socket and returns the reason it gave, from the
// disconnected message or else the close frame.
func (v *viewer) closed(t *testing.T) string {
	t.Helper()
	reason := ""
	for {
		_ = v.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m map[string]any
		err := v.ws.ReadJSON(&m)
		var ce *websocket.CloseError
		switch {
		case err == nil:
			if m["event"] == "disconnected" {
				reason, _ = m["message"].(string)
			}
		case errors.As(err, &ce):
			if reason == "" {
				reason = ce.Text
			}
			return reason
		default:
			t.Fatalf("the socket was not closed by the server: %v", err)
		}
	}
}

// dialStatus opens a hub socket with url and answers the HTTP status and body of the handshake.
func dialStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"json.reliable.webpubsub.azure.v1"}}
	ws, resp, err := d.Dial(url, nil)
	if err == nil {
		ws.Close()
		return resp.StatusCode, ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
