package webpubsub

import (
	"testing"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// What clients publish to a group the service names ephemeral is marked so, whether it comes
// from the JSON subprotocol or from a simple client in sendToGroup mode: a reliable recipient
// gets it without a sequence id, and the group's other traffic keeps its numbering.
func TestEphemeralGroupPublish(t *testing.T) {
	ts := startTestServer(t, pubsub.Options{
		EphemeralGroup: func(hub, group string) bool { return hub == "chat" && group == "cursors" },
	})
	recipient := ts.dial("chat", ProtocolReliableJSON, accesskey.ClientClaims{UserID: "r", Groups: []string{"cursors", "chat"}})
	sender := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "s", Roles: allRoles})
	simple, _, err := websocket.DefaultDialer.Dial(
		ts.wsURL("chat", ts.token("chat", accesskey.ClientClaims{UserID: "p", Roles: allRoles}))+"&webpubsub_mode=sendToGroup&group=cursors", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer simple.Close()

	expect := func(group string, data any, seq any) {
		t.Helper()
		m := recipient.next()
		got, hasSeq := m["sequenceId"]
		if m["group"] != group || !jsonEqual(m["data"], data) || hasSeq != (seq != nil) || (seq != nil && got != seq) {
			t.Fatalf("recipient got %v, want %v on %s with sequenceId %v", m, data, group, seq)
		}
	}
	sender.send(map[string]any{"type": "sendToGroup", "group": "cursors", "dataType": "json", "data": map[string]any{"x": 1}})
	expect("cursors", map[string]any{"x": 1}, nil)
	sender.send(map[string]any{"type": "sendToGroup", "group": "chat", "dataType": "json", "data": "durable"})
	expect("chat", "durable", float64(1))
	if err := simple.WriteMessage(websocket.TextMessage, []byte("pointer")); err != nil {
		t.Fatal(err)
	}
	expect("cursors", "pointer", nil)
	sender.send(map[string]any{"type": "sendToGroup", "group": "chat", "dataType": "json", "data": "durable again"})
	expect("chat", "durable again", float64(2))
}
