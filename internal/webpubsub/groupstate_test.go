package webpubsub

import (
	"testing"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// The frames are those @azure/web-pubsub-client writes for its group state messages
// (dist/esm/protocols/jsonProtocolBase.js, writeMessage: setGroupState with and without state,
// subscribeGroupState, unsubscribeGroupState).
func TestGroupStateRefusedWithAck(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	for _, protocol := range []string{ProtocolJSON, ProtocolReliableJSON} {
		t.Run(protocol, func(t *testing.T) {
			c := ts.dial("chat", protocol, accesskey.ClientClaims{Roles: allRoles})
			frames := []map[string]any{
				{"type": "setGroupState", "group": "room", "state": map[string]string{"status": "typing"}},
				{"type": "setGroupState", "group": "room"},
				{"type": "subscribeGroupState", "group": "room"},
				{"type": "unsubscribeGroupState", "group": "room"},
			}
			for i, f := range frames {
				id := 10 + i
				f["ackId"] = id
				c.send(f)
				ack := c.next()
				e, _ := ack["error"].(map[string]any)
				if ack["type"] != "ack" || ack["ackId"] != float64(id) || ack["success"] != false || e["name"] != ackBadRequest || e["message"] == "" {
					t.Fatalf("%v: got %v, want a BadRequest ack for ackId %d", f["type"], ack, id)
				}
				// A retry with the same ackId is refused again, not taken for a done request.
				c.send(f)
				if again := c.next(); again["success"] != false || again["error"].(map[string]any)["name"] != ackBadRequest {
					t.Fatalf("retry of %v: got %v, want BadRequest again", f["type"], again)
				}
			}
			// The connection goes on.
			c.send(map[string]any{"type": "joinGroup", "group": "room", "ackId": 1})
			if ack := c.next(); ack["success"] != true {
				t.Fatalf("join after the refusals: %v", ack)
			}
		})
	}
}

func TestGroupStateWithoutAckKeepsTheConnection(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Roles: allRoles})
	c.send(map[string]any{"type": "setGroupState", "group": "room", "state": map[string]string{"k": "v"}})
	c.send(map[string]any{"type": "subscribeGroupState", "group": "room"})
	// Replies are in order: the first thing back is the answer to this ping, not a close frame.
	c.send(map[string]any{"type": "ping"})
	if m := c.next(); m["type"] != "pong" {
		t.Fatalf("got %v, want pong", m)
	}
	// An unknown type without an ackId still closes the connection as malformed.
	c.send(map[string]any{"type": "teleport"})
	if got := c.closeCode(); got != pubsub.CloseInvalidPayload {
		t.Fatalf("close code %d, want %d", got, pubsub.CloseInvalidPayload)
	}
}
