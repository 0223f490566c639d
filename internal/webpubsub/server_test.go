package webpubsub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// testServer is a whole Web PubSub service on a loopback port.
type testServer struct {
	t    *testing.T
	url  string // http://127.0.0.1:port
	keys accesskey.Keys
	svc  *pubsub.Service
	srv  *Server
}

func newTestServer(t *testing.T, limits pubsub.Limits) *testServer {
	t.Helper()
	return startTestServer(t, pubsub.Options{Limits: limits})
}

// startTestServer is newTestServer with more of the service's options; it sets ParseFilter and
// Logger itself. with changes the Web PubSub server's options.
func startTestServer(t *testing.T, opts pubsub.Options, with ...func(*Options)) *testServer {
	t.Helper()
	keys := accesskey.Keys{Primary: "test-key-0123456789abcdefghijklmnopqrstuvwx"}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.ParseFilter, opts.Logger = ParseFilter, logger
	svc, err := pubsub.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = svc.Run(ctx) }()
	srvOpts := Options{Service: svc, Keys: keys, Logger: logger}
	for _, w := range with {
		w(&srvOpts)
	}
	srv := New(srvOpts)
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = svc.Shutdown(sctx, "test over")
		hs.Close()
		_ = srv.Close(sctx)
		cancel()
	})
	return &testServer{t: t, url: hs.URL, keys: keys, svc: svc, srv: srv}
}

func (ts *testServer) token(hub string, c accesskey.ClientClaims) string {
	ts.t.Helper()
	tok, err := ts.keys.SignClientToken(ts.url+"/client/hubs/"+hub, c, time.Now())
	if err != nil {
		ts.t.Fatal(err)
	}
	return tok
}

func (ts *testServer) wsURL(hub, token string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "/client/hubs/" + hub + "?access_token=" + token
}

// dial connects a client with a subprotocol ("" for a simple client) and the given claims.
func (ts *testServer) dial(hub, protocol string, c accesskey.ClientClaims) *testClient {
	ts.t.Helper()
	d := websocket.Dialer{}
	if protocol != "" {
		d.Subprotocols = []string{protocol}
	}
	ws, resp, err := d.Dial(ts.wsURL(hub, ts.token(hub, c)), nil)
	if err != nil {
		ts.t.Fatalf("dial: %v (%v)", err, resp)
	}
	ts.t.Cleanup(func() { _ = ws.Close() })
	tc := &testClient{t: ts.t, ws: ws}
	if protocol != "" {
		m := tc.next()
		if m["type"] != "system" || m["event"] != "connected" {
			ts.t.Fatalf("first message %v, want the connected system message", m)
		}
		tc.connectionID, _ = m["connectionId"].(string)
		tc.reconnectionToken, _ = m["reconnectionToken"].(string)
	}
	return tc
}

type testClient struct {
	t                 *testing.T
	ws                *websocket.Conn
	connectionID      string
	reconnectionToken string
}

func (c *testClient) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next JSON message, answering nothing but failing the test after a timeout.
func (c *testClient) next() map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := c.ws.ReadJSON(&m); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// closeCode reads until the server closes the socket and returns the close code.
func (c *testClient) closeCode() int {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("read ended without a close frame: %v", err)
	}
}

var allRoles = []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}

func TestClientTokenRejected(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	other := accesskey.Keys{Primary: "another-key-0123456789abcdefghijklmnopqrstu"}
	wrongKey, _ := other.SignClientToken(ts.url+"/client/hubs/chat", accesskey.ClientClaims{}, time.Now())
	wrongHub := ts.token("other", accesskey.ClientClaims{})
	expired, _ := ts.keys.SignClientToken(ts.url+"/client/hubs/chat", accesskey.ClientClaims{Expires: time.Now().Add(-time.Hour)}, time.Now().Add(-2*time.Hour))
	unsigned := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwOi8veC9jbGllbnQvaHVicy9jaGF0IiwiZXhwIjo5OTk5OTk5OTk5fQ."
	for name, token := range map[string]string{
		"missing": "", "garbage": "not-a-jwt", "wrong key": wrongKey, "other hub": wrongHub,
		"expired": expired, "unsigned": unsigned,
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := websocket.DefaultDialer.Dial(ts.wsURL("chat", token), nil)
			if err == nil {
				t.Fatal("connected with a bad token")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("response %v, want 401", resp)
			}
			var body struct{ Code, Message string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "Unauthorized" || body.Message == "" {
				t.Fatalf("body %+v (%v), want an Unauthorized error with a message", body, err)
			}
		})
	}
	// Nor can unauthorised requests fill the service with hubs, by connecting or by pretending
	// to reconnect.
	_, _, _ = websocket.DefaultDialer.Dial(ts.wsURL("spam1", "not-a-jwt"), nil)
	_, _, _ = websocket.DefaultDialer.Dial(ts.wsURL("spam2", "x")+"&awps_connection_id=c&awps_reconnection_token=t", nil)
	for _, h := range []string{"chat", "spam1", "spam2"} {
		if _, ok := ts.svc.LookupHub(h); ok {
			t.Errorf("hub %s exists after only unauthorised requests", h)
		}
	}
	// The service is unaffected: a good client still connects.
	ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "u1"})
}

func TestBadInputClosesOnlyItsConnection(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxMessageBytes: 4096})
	watcher := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "watcher", Groups: []string{"g"}})
	sender := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "sender", Roles: allRoles})

	cases := []struct {
		name string
		send func(c *testClient)
		code int
	}{
		{"not JSON", func(c *testClient) { _ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":`)) }, pubsub.CloseInvalidPayload},
		{"binary frame", func(c *testClient) { _ = c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}) }, pubsub.CloseUnsupportedData},
		{"oversized", func(c *testClient) {
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"event","event":"e","data":"`+strings.Repeat("x", 5000)+`"}`))
		}, pubsub.CloseTooBig},
		{"unknown type without ack", func(c *testClient) { c.send(map[string]any{"type": "teleport"}) }, pubsub.CloseInvalidPayload},
		{"text data that is not a string", func(c *testClient) {
			c.send(map[string]any{"type": "sendToGroup", "group": "g", "dataType": "text", "data": 5})
		}, pubsub.CloseInvalidPayload},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Roles: allRoles})
			tc.send(bad)
			if got := bad.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
			// Everyone else goes on: the sender's message still reaches the watcher.
			sender.send(map[string]any{"type": "sendToGroup", "group": "g", "dataType": "json", "data": i, "ackId": i + 1})
			if ack := sender.next(); ack["success"] != true {
				t.Fatalf("ack %v", ack)
			}
			if m := watcher.next(); m["data"] != float64(i) {
				t.Fatalf("watcher got %v, want data %d", m, i)
			}
		})
	}
}

func TestAckErrors(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxGroupsPerConn: 2})
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
	privileged := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Roles: []string{"webpubsub.joinLeaveGroup"}})
	cases := []struct {
		name   string
		client *testClient
		msg    map[string]any
		want   string // "" for success
	}{
		{"join without role", c, map[string]any{"type": "joinGroup", "group": "g"}, ackForbidden},
		{"send without role", c, map[string]any{"type": "sendToGroup", "group": "g", "data": 1}, ackForbidden},
		{"huge group name", privileged, map[string]any{"type": "joinGroup", "group": strings.Repeat("g", 1025)}, ackBadRequest},
		{"blank group name", privileged, map[string]any{"type": "joinGroup", "group": "  "}, ackBadRequest},
		{"unknown type", privileged, map[string]any{"type": "teleport"}, ackBadRequest},
		{"bad dataType", privileged, map[string]any{"type": "event", "event": "e", "dataType": "xml", "data": "x"}, ackBadRequest},
		{"bad base64", privileged, map[string]any{"type": "event", "event": "e", "dataType": "binary", "data": "%%%"}, ackBadRequest},
		{"join 1", privileged, map[string]any{"type": "joinGroup", "group": "a"}, ""},
		{"join 2", privileged, map[string]any{"type": "joinGroup", "group": "b"}, ""},
		{"join over the limit", privileged, map[string]any{"type": "joinGroup", "group": "c"}, ackBadRequest},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg["ackId"] = 100 + i
			tc.client.send(tc.msg)
			ack := tc.client.next()
			if ack["type"] != "ack" || ack["ackId"] != float64(100+i) {
				t.Fatalf("got %v, want the ack of %d", ack, 100+i)
			}
			if tc.want == "" {
				if ack["success"] != true {
					t.Fatalf("ack %v, want success", ack)
				}
				return
			}
			e, _ := ack["error"].(map[string]any)
			if ack["success"] != false || e["name"] != tc.want || e["message"] == "" {
				t.Fatalf("ack %v, want error %s with a message", ack, tc.want)
			}
		})
	}
	t.Run("duplicate ackId", func(t *testing.T) {
		privileged.send(map[string]any{"type": "leaveGroup", "group": "a", "ackId": 101 + len(cases)})
		if ack := privileged.next(); ack["success"] != true {
			t.Fatalf("ack %v", ack)
		}
		privileged.send(map[string]any{"type": "leaveGroup", "group": "a", "ackId": 101 + len(cases)})
		ack := privileged.next()
		if e, _ := ack["error"].(map[string]any); e["name"] != ackDuplicate {
			t.Fatalf("ack %v, want Duplicate", ack)
		}
	})
}

func TestReliableRecovery(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	claims := accesskey.ClientClaims{UserID: "u", Groups: []string{"g"}}
	c := ts.dial("chat", ProtocolReliableJSON, claims)
	if c.reconnectionToken == "" {
		t.Fatal("the reliable connected message has no reconnectionToken")
	}
	hub := ts.svc.Hub("chat")
	publish := func(n int) {
		m := pubsub.NewMessage(pubsub.JSON, []byte(`{"n":`+string(rune('0'+n))+`}`))
		if err := hub.Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: pubsub.Selector{Kind: pubsub.ToGroup, Name: "g"}, Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	publish(1)
	if m := c.next(); m["sequenceId"] != float64(1) {
		t.Fatalf("got %v, want sequenceId 1", m)
	}
	c.send(map[string]any{"type": "sequenceAck", "sequenceId": 1})
	// Drop the socket without a close frame, as a network cut would.
	_ = c.ws.NetConn().Close()
	publish(2)
	publish(3)

	q := url.Values{"awps_connection_id": {c.connectionID}, "awps_reconnection_token": {c.reconnectionToken}}
	d := websocket.Dialer{Subprotocols: []string{ProtocolReliableJSON}}
	ws, _, err := d.Dial(ts.wsURL("chat", ts.token("chat", claims))+"&"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	r := &testClient{t: t, ws: ws}
	// Connected comes first again, with a token for the next recovery: the SDK resumes its group
	// streams on it (handleConnectedMessage in @azure/web-pubsub-client 1.1.0).
	if m := r.next(); m["event"] != "connected" || m["connectionId"] != c.connectionID || m["reconnectionToken"] == "" {
		t.Fatalf("first after recovery %v, want connected for %s with a reconnectionToken", m, c.connectionID)
	}
	for want := 2; want <= 3; want++ {
		m := r.next()
		// The ack of 1 may not have reached the server before the cut; a replay of it is
		// harmless because clients skip ids they have seen, as the SDK does.
		if m["sequenceId"] == float64(1) {
			m = r.next()
		}
		if m["sequenceId"] != float64(want) || m["data"].(map[string]any)["n"] != float64(want) {
			t.Fatalf("after recovery got %v, want message %d", m, want)
		}
	}

	t.Run("bad reconnection token", func(t *testing.T) {
		q := url.Values{"awps_connection_id": {c.connectionID}, "awps_reconnection_token": {"forged"}}
		ws, _, err := d.Dial(ts.wsURL("chat", ts.token("chat", claims))+"&"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if code := (&testClient{t: t, ws: ws}).closeCode(); code != pubsub.ClosePolicyViolation {
			t.Fatalf("close code %d, want 1008", code)
		}
	})
}

func TestTruncatedFrameDoesNotHurtOthers(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	watcher := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Groups: []string{"g"}})
	// Half a WebSocket frame header and payload, then the TCP connection ends.
	bad := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
	raw := bad.ws.NetConn()
	_, _ = raw.Write([]byte{0x81, 0xFE, 0x10})
	_ = raw.(*net.TCPConn).CloseWrite()
	testkit.WaitFor(t, "the truncated connection to end", func() bool { return !ts.svc.Hub("chat").HasConnection(bad.connectionID) })

	m := pubsub.NewMessage(pubsub.Text, []byte("still here"))
	if err := ts.svc.Hub("chat").Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: pubsub.Selector{Kind: pubsub.ToGroup, Name: "g"}, Message: m}); err != nil {
		t.Fatal(err)
	}
	if got := watcher.next(); got["data"] != "still here" {
		t.Fatalf("watcher got %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxInboundPerSecond: 5, MaxInboundBurst: 5})
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
	// Written as a burst, well inside a second: the first five pass (the burst), the next five
	// are refused with an ack the client can act on, and one more closes the connection.
	for i := 1; i <= 10; i++ {
		c.send(map[string]any{"type": "event", "event": "e", "data": i, "ackId": i})
	}
	for i := 1; i <= 10; i++ {
		ack := c.next()
		if ack["ackId"] != float64(i) {
			t.Fatalf("got %v, want the ack of %d", ack, i)
		}
		e, _ := ack["error"].(map[string]any)
		switch {
		case i <= 5 && ack["success"] != true:
			t.Fatalf("message %d refused: %v", i, ack)
		case i > 5 && e["name"] != ackTooManyRequests:
			t.Fatalf("message %d: %v, want TooManyRequests", i, ack)
		}
	}
	c.send(map[string]any{"type": "event", "event": "e", "data": 11, "ackId": 11})
	if code := c.closeCode(); code != pubsub.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

// A client sending steadily over the rate, however slightly, is closed with 1008 once more than a
// second's worth of its messages were refused within ten seconds, and hears every refusal first;
// one sending at the rate is never refused. The server's clock moves one interval per message it
// reads, so the rate is exact whatever the machine's speed.
func TestRateLimitSteadyFlood(t *testing.T) {
	const limit = 10
	tests := []struct {
		name     string
		interval time.Duration
		closed   bool
	}{
		{"at the rate", time.Second / limit, false},
		{"a quarter over", time.Second / (limit + limit/4), true},
		{"twice the rate", time.Second / (2 * limit), true},
		{"twenty times the rate", time.Second / (20 * limit), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			var ticks atomic.Int64
			clock := func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * tt.interval) }
			ts := startTestServer(t, pubsub.Options{Limits: pubsub.Limits{MaxInboundPerSecond: limit, MaxInboundBurst: limit}}, func(o *Options) { o.Now = clock })
			c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
			// One message at a time, each answered before the next: the server reads everything
			// the client sends, so its close cannot be lost to a reset.
			refused := 0
			for i := 1; i <= 300; i++ {
				c.send(map[string]any{"type": "event", "event": "e", "data": i, "ackId": i})
				ack := c.next()
				if ack["ackId"] != float64(i) {
					t.Fatalf("got %v, want the ack of %d", ack, i)
				}
				if ack["success"] != true {
					if e, _ := ack["error"].(map[string]any); e["name"] != ackTooManyRequests {
						t.Fatalf("message %d: %v, want success or TooManyRequests", i, ack)
					}
					refused++
				}
				if refused > limit {
					break
				}
			}
			if !tt.closed {
				if refused != 0 {
					t.Fatalf("%d messages refused at the rate", refused)
				}
				return
			}
			if refused != limit+1 {
				t.Fatalf("%d messages refused, want %d before the close", refused, limit+1)
			}
			if code := c.closeCode(); code != pubsub.ClosePolicyViolation {
				t.Fatalf("close code %d, want 1008", code)
			}
		})
	}
}
