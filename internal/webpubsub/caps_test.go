package webpubsub

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// refusedFor dials with claims and requires the refusal of a connection past a cap: 429 with the
// service's error shape naming the limit.
func (ts *testServer) refusedFor(c accesskey.ClientClaims, limit string) {
	ts.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(ts.wsURL("chat", ts.token("chat", c)), nil)
	if err == nil {
		_ = ws.Close()
		ts.t.Fatalf("%+v connected past %s", c, limit)
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		ts.t.Fatalf("response %v, want 429", resp)
	}
	var body struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "TooManyConnections" || !strings.Contains(body.Message, limit) {
		ts.t.Fatalf("body %+v (%v), want TooManyConnections naming %s", body, err, limit)
	}
}

// One person, or one address, holds at most the configured number of open connections; closing
// one makes room again, and others are not affected.
func TestConnectionCaps(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		ts := newTestServer(t, pubsub.Limits{MaxConnsPerUser: 2})
		ada := accesskey.ClientClaims{UserID: "ada"}
		first := ts.dial("chat", ProtocolJSON, ada)
		ts.dial("chat", ProtocolJSON, ada)
		ts.refusedFor(ada, "limits.maxConnectionsPerUser")
		ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "bob"})
		ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{}) // anonymous connections are not counted per user
		ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
		ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
		_ = first.ws.Close()
		testkit.WaitFor(t, "room for ada once a connection of hers closed", func() bool {
			ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL("chat", ts.token("chat", ada)), nil)
			if err != nil {
				return false
			}
			t.Cleanup(func() { _ = ws.Close() })
			return true
		})
	})
	t.Run("per address", func(t *testing.T) {
		ts := newTestServer(t, pubsub.Limits{MaxConnsPerAddress: 3})
		for _, user := range []string{"a", "b", "c"} {
			ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: user})
		}
		ts.refusedFor(accesskey.ClientClaims{UserID: "d"}, "limits.maxConnectionsPerAddress")
	})
	t.Run("per address as the app names it", func(t *testing.T) {
		// Behind a trusted proxy every peer is the proxy: the cap counts the client the app's
		// ClientAddress names (here, one address per token, so none is refused).
		ts := startTestServer(t, pubsub.Options{Limits: pubsub.Limits{MaxConnsPerAddress: 1}}, func(o *Options) {
			o.ClientAddress = func(r *http.Request) string { return r.URL.Query().Get("access_token") }
		})
		for _, user := range []string{"a", "b", "c"} {
			ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: user})
		}
	})
}
