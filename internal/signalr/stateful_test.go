package signalr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// statefulClient is a client of a stateful connection, speaking what @microsoft/signalr's
// MessageBuffer.js speaks: it can lose its socket and open another with the same token.
type statefulClient struct {
	ts                  *testServer
	hub, token, connTok string
	connID              string
	ws                  *websocket.Conn
}

// connectStateful negotiates with useStatefulReconnect=true and shakes hands with version.
func (ts *testServer) connectStateful(hub, user, protocol string, version int) *statefulClient {
	ts.t.Helper()
	tok := ts.token(hub, user, time.Time{})
	q := url.Values{"hub": {hub}, "negotiateVersion": {"1"}, "useStatefulReconnect": {"true"}}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/client/negotiate?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		ConnectionID, ConnectionToken string
		UseStatefulReconnect          *bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("negotiate: %d %v", resp.StatusCode, err)
	}
	// ASP.NET Core answers a client that asked for it (@microsoft/signalr HttpConnection.js reads
	// negotiateResponse.useStatefulReconnect).
	if body.UseStatefulReconnect == nil || !*body.UseStatefulReconnect {
		ts.t.Fatal("negotiate did not answer useStatefulReconnect: true")
	}
	c := &statefulClient{ts: ts, hub: hub, token: tok, connTok: body.ConnectionToken, connID: body.ConnectionID}
	c.ws = ts.dial(hub, c.connTok, tok, http.StatusSwitchingProtocols)
	hs := fmt.Sprintf(`{"protocol":%q,"version":%d}`+"\x1e", protocol, version)
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(hs)); err != nil {
		ts.t.Fatal(err)
	}
	if _, data := readFrame(ts.t, c.ws); string(data) != "{}\x1e" {
		ts.t.Fatalf("handshake response %q, want {}", data)
	}
	return c
}

// drop loses the socket without a close frame, as a network failure does.
func (c *statefulClient) drop() { _ = c.ws.UnderlyingConn().Close() }

// reconnect opens a new socket for the connection, without a handshake, as the client does.
func (c *statefulClient) reconnect(wantStatus int) {
	c.ts.t.Helper()
	c.ws = c.ts.dial(c.hub, c.connTok, c.token, wantStatus)
}

func (c *statefulClient) send(records ...string) {
	c.ts.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(strings.Join(records, "\x1e")+"\x1e")); err != nil {
		c.ts.t.Fatal(err)
	}
}

// expect reads the next records, skipping Pings, and compares them with want.
func (c *statefulClient) expect(want ...string) {
	c.ts.t.Helper()
	for _, w := range want {
		for {
			_, data := readFrame(c.ts.t, c.ws)
			got := strings.TrimSuffix(string(data), "\x1e")
			if got == `{"type":6}` {
				continue
			}
			if got != w {
				c.ts.t.Fatalf("got %s, want %s", got, w)
			}
			break
		}
	}
}

func push(target string) *pubsub.Message {
	return pubsub.NewInvocation(pubsub.Selector{}, target, []byte(`[]`))
}

func record(target string) string {
	return `{"type":1,"target":"` + target + `","arguments":[]}`
}

// Messages the client has not acknowledged are sent again after a reconnect, after a Sequence
// message naming the first of them; messages without a rendering for SignalR are not counted.
func TestStatefulResumeResends(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "u1", "json", 2)
	ts.publish("chat", push("a"), pubsub.Selector{})
	ts.publish("chat", pubsub.NewServerMessage(pubsub.Selector{}, pubsub.JSON, []byte(`{"wps":true}`)), pubsub.Selector{})
	ts.publish("chat", push("b"), pubsub.Selector{})
	c.expect(record("a"), record("b"))
	// The answer to the invocation that follows the Ack proves the Ack read: one reader, in order.
	c.send(`{"type":8,"sequenceId":1}`, `{"type":1,"invocationId":"x","target":"ask","arguments":[]}`)
	answer := `{"type":3,"invocationId":"x","error":"` + invocationRefused + `"}`
	c.expect(answer, `{"type":8,"sequenceId":1}`)
	c.drop()
	ts.publish("chat", push("c"), pubsub.Selector{})
	c.reconnect(http.StatusSwitchingProtocols)
	c.expect(`{"type":9,"sequenceId":2}`, record("b"), answer, record("c"))
	// The connection goes on, with its id, and new messages follow the replay.
	ts.publish("chat", push("d"), pubsub.Selector{Kind: pubsub.ToConnection, Name: c.connID})
	c.expect(record("d"))
	if _, ok := ts.svc.Hub("chat").Connection(c.connID); !ok {
		t.Error("the connection is gone from its hub")
	}
}

// The service counts the client's invocations, acknowledges them, and serves one the client sends
// again after a reconnect only once; its own answer (a Completion) is counted and resent too.
func TestStatefulClientMessagesOnce(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "", "json", 2)
	refused := func(id string) string {
		return `{"type":3,"invocationId":"` + id + `","error":"` + invocationRefused + `"}`
	}
	c.send(`{"type":1,"invocationId":"1","target":"ask","arguments":[]}`, `{"type":1,"target":"tell","arguments":[]}`)
	c.expect(refused("1"), `{"type":8,"sequenceId":2}`)
	c.drop()
	c.reconnect(http.StatusSwitchingProtocols)
	// The Completion was not acknowledged: it comes again. The client resends both its messages.
	c.expect(`{"type":9,"sequenceId":1}`, refused("1"))
	c.send(`{"type":9,"sequenceId":1}`, `{"type":1,"invocationId":"1","target":"ask","arguments":[]}`,
		`{"type":1,"target":"tell","arguments":[]}`, `{"type":8,"sequenceId":1}`, `{"type":1,"invocationId":"3","target":"ask","arguments":[]}`)
	// Only the new invocation is answered; one ack covers all three.
	c.expect(refused("3"), `{"type":8,"sequenceId":3}`)
}

// A Sequence message naming a message the client never sent is a protocol error.
func TestStatefulSequenceBeyondCloses(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "", "json", 2)
	c.drop()
	c.reconnect(http.StatusSwitchingProtocols)
	c.expect(`{"type":9,"sequenceId":1}`)
	c.send(`{"type":9,"sequenceId":5}`)
	c.expect(`{"type":7,"error":"Invalid message: the Sequence message names 5, beyond the 0 messages received"}`)
}

// A client that does not acknowledge more than the resend buffer holds is closed, and its token
// then opens nothing.
func TestStatefulBufferBoundCloses(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxUnacked: 3})
	c := ts.connectStateful("chat", "", "json", 2)
	c.drop()
	for _, target := range []string{"a", "b", "c", "d"} {
		ts.publish("chat", push(target), pubsub.Selector{})
	}
	testkit.WaitFor(t, "the connection closed", func() bool {
		_, ok := ts.svc.Hub("chat").Connection(c.connID)
		return !ok
	})
	c.reconnect(http.StatusNotFound)
}

// Stateful reconnect needs version 2 of the hub protocol: a client that negotiated it but shakes
// hands with version 1 is an ordinary connection, whose token opens no second socket.
func TestStatefulNeedsVersion2(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "", "json", 1)
	c.drop()
	testkit.WaitFor(t, "the connection closed", func() bool {
		_, ok := ts.svc.Hub("chat").Connection(c.connID)
		return !ok
	})
	c.reconnect(http.StatusNotFound)
}

// Another user's token cannot take over a stateful connection.
func TestStatefulResumeChecksUser(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "u1", "json", 2)
	c.drop()
	c.token = ts.token("chat", "u2", time.Time{})
	c.reconnect(http.StatusUnauthorized)
	c.token = ts.token("other", "u1", time.Time{})
	c.hub = "other"
	c.reconnect(http.StatusNotFound)
}

// The MessagePack protocol has the same records: [9, id] opens the resumed socket, [8, id]
// acknowledges.
func TestStatefulMessagePack(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.connectStateful("chat", "", "messagepack", 2)
	ts.publish("chat", push("a"), pubsub.Selector{})
	ts.publish("chat", push("b"), pubsub.Selector{})
	read := func() []any {
		for {
			_, data := readFrame(t, c.ws)
			var v []any
			if err := msgpack.Unmarshal(data[1:], &v); err != nil {
				t.Fatalf("record %x: %v", data, err)
			}
			if fmt.Sprint(v[0]) != "6" {
				return v
			}
		}
	}
	if v := read(); fmt.Sprintf("%v %v", v[0], v[3]) != "1 a" {
		t.Fatalf("got %v", v)
	}
	read()
	// [8, 1] acknowledges "a"; the answer to the invocation [1, {}, "4", "x", []] that follows,
	// then the service's [8, 1], prove it read.
	if err := c.ws.WriteMessage(websocket.BinaryMessage, concatHex(t, "03920801", "08950180a134a17890")); err != nil {
		t.Fatal(err)
	}
	if v := read(); fmt.Sprintf("%v %v", v[0], v[2]) != "3 4" {
		t.Fatalf("got %v, want the Completion of 4", v)
	}
	if v := read(); fmt.Sprint(v) != "[8 1]" {
		t.Fatalf("got %v, want [8 1]", v)
	}
	c.drop()
	c.reconnect(http.StatusSwitchingProtocols)
	if v := read(); fmt.Sprint(v) != "[9 2]" {
		t.Fatalf("resumed with %v, want [9 2]", v)
	}
	if v := read(); fmt.Sprintf("%v %v", v[0], v[3]) != "1 b" {
		t.Fatalf("replayed %v, want b", v)
	}
}

func TestStatefulAccept(t *testing.T) {
	st := newStatefulConn("t")
	steps := []struct {
		m         clientMessage
		serve     bool
		ack       uint64
		wantError bool
	}{
		{clientMessage{Type: typePing}, true, 0, false},
		{clientMessage{Type: typeInvocation}, true, 1, false},
		{clientMessage{Type: typeCancelInvocation}, true, 2, false},
		{clientMessage{Type: typeAck, SequenceID: 4}, true, 0, false},
		{clientMessage{Type: typeSequence, SequenceID: 2}, false, 2, false},
		{clientMessage{Type: typeCancelInvocation}, false, 2, false}, // 2 again
		{clientMessage{Type: typeStreamItem}, true, 3, false},
		{clientMessage{Type: typeSequence, SequenceID: 5}, false, 0, true},
		{clientMessage{Type: typeSequence, SequenceID: 0}, false, 0, true},
	}
	for i, s := range steps {
		serve, ack, err := st.accept(s.m)
		if serve != s.serve || ack != s.ack || (err != nil) != s.wantError {
			t.Errorf("step %d %+v: serve %v ack %d err %v", i, s.m, serve, ack, err)
		}
	}
	st.resumed()
	if serve, _, _ := st.accept(clientMessage{Type: typeInvocation}); serve {
		t.Error("a message before the Sequence of a resumed socket was served")
	}
	if _, _, err := st.accept(clientMessage{Type: typeSequence, SequenceID: 4}); err != nil {
		t.Errorf("Sequence at the next id: %v", err)
	}
}
