package signalr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// testServer is the SignalR front over a hub service on a loopback port.
type testServer struct {
	t    *testing.T
	url  string
	keys accesskey.Keys
	svc  *pubsub.Service
	reg  *prometheus.Registry // the hub service's metrics
	srv  *Server
	clk  *testkit.Clock
	mux  *http.ServeMux // set when the server is reached without a network
}

func newTestServer(t *testing.T, limits pubsub.Limits, with ...func(*Options)) *testServer {
	t.Helper()
	keys := accesskey.Keys{Primary: "test-key-0123456789abcdefghijklmnopqrstuvwx"}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	svc, err := pubsub.NewService(pubsub.Options{Limits: limits, Logger: logger, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Now())
	opts := Options{Service: svc, Keys: keys, Logger: logger, Now: clk.Now}
	for _, w := range with {
		w(&opts)
	}
	srv := New(opts)
	go func() { _ = srv.Run(ctx) }()
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.HandleFunc("/client/{$}", srv.ServeClient)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = svc.Shutdown(sctx, "test over")
		hs.Close()
		cancel()
	})
	return &testServer{t: t, url: hs.URL, keys: keys, svc: svc, reg: reg, srv: srv, clk: clk}
}

// token signs a client token the way the server SDK does: aud without the port, the user in
// nameid.
func (ts *testServer) token(hub, user string, exp time.Time) string {
	ts.t.Helper()
	u, _ := url.Parse(ts.url)
	c := accesskey.ClientClaims{Expires: exp}
	if user != "" {
		c.Extra = map[string]any{"nameid": user}
	}
	tok, err := ts.keys.SignClientToken("http://"+u.Hostname()+"/client/?hub="+hub, c, ts.clk.Now())
	if err != nil {
		ts.t.Fatal(err)
	}
	return tok
}

func (ts *testServer) negotiate(hub, token, version string) (*http.Response, map[string]any) {
	ts.t.Helper()
	q := url.Values{"hub": {hub}}
	if version != "" {
		q.Set("negotiateVersion", version)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/client/negotiate?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// connect negotiates and opens the WebSocket with the handshake of protocol.
func (ts *testServer) connect(hub, user, protocol string) (*websocket.Conn, string) {
	ts.t.Helper()
	tok := ts.token(hub, user, time.Time{})
	resp, body := ts.negotiate(hub, tok, "1")
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("negotiate: %d %v", resp.StatusCode, body)
	}
	ws := ts.dial(hub, body["connectionToken"].(string), tok, http.StatusSwitchingProtocols)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"protocol":"`+protocol+`","version":1}`+"\x1e")); err != nil {
		ts.t.Fatal(err)
	}
	if _, data := readFrame(ts.t, ws); string(data) != "{}\x1e" {
		ts.t.Fatalf("handshake response %q, want {}", data)
	}
	return ws, body["connectionId"].(string)
}

func (ts *testServer) dial(hub, id, token string, wantStatus int) *websocket.Conn {
	ts.t.Helper()
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/client/?hub=" + hub + "&id=" + url.QueryEscape(id)
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, h)
	if resp != nil && resp.StatusCode != wantStatus {
		ts.t.Fatalf("dial: status %d, want %d", resp.StatusCode, wantStatus)
	}
	if wantStatus != http.StatusSwitchingProtocols {
		if err == nil {
			ws.Close()
		}
		return nil
	}
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	ts.t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func readFrame(t *testing.T, ws *websocket.Conn) (int, []byte) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	kind, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return kind, data
}

func (ts *testServer) publish(hub string, m *pubsub.Message, to pubsub.Selector) {
	ts.t.Helper()
	if err := ts.svc.Hub(hub).Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: to, Message: m}); err != nil {
		ts.t.Fatal(err)
	}
}

func TestNegotiate(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	resp, body := ts.negotiate("Chat", ts.token("chat", "u1", time.Time{}), "1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("negotiate = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if body["negotiateVersion"] != 1.0 || body["connectionId"] == "" || body["connectionToken"] == "" || body["connectionToken"] == body["connectionId"] {
		t.Errorf("negotiate v1 body %v", body)
	}
	if _, ok := body["useStatefulReconnect"]; ok {
		t.Error("useStatefulReconnect offered unasked: the client rejects it")
	}
	tr, _ := json.Marshal(body["availableTransports"])
	// ASP.NET Core's list, in its order (HttpConnectionDispatcher.GetNegotiatePayload).
	if string(tr) != `[{"transferFormats":["Text","Binary"],"transport":"WebSockets"},{"transferFormats":["Text"],"transport":"ServerSentEvents"},{"transferFormats":["Text","Binary"],"transport":"LongPolling"}]` {
		t.Errorf("availableTransports %s", tr)
	}
	_, body = ts.negotiate("chat", ts.token("chat", "", time.Time{}), "")
	if body["negotiateVersion"] != 0.0 || body["connectionToken"] != nil {
		t.Errorf("negotiate v0 body %v", body)
	}
	// The docs' form of the aud, the client URL as it is (port included, no trailing slash), and
	// a hub spelt differently are accepted as well.
	for _, aud := range []string{ts.url + "/client/?hub=chat", ts.url + "/client?hub=CHAT&asrs.op=%2Fchat", "http://localhost/client/?hub=chat"} {
		tok, err := ts.keys.SignClientToken(aud, accesskey.ClientClaims{}, ts.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := ts.negotiate("chat", tok, "1"); resp.StatusCode != http.StatusOK {
			t.Errorf("aud %s: %d %v", aud, resp.StatusCode, body)
		}
	}
	// A Web PubSub client token is for another endpoint.
	tok, _ := ts.keys.SignClientToken(ts.url+"/client/hubs/chat", accesskey.ClientClaims{}, ts.clk.Now())
	if resp, _ := ts.negotiate("chat", tok, "1"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Web PubSub token: %d, want 401", resp.StatusCode)
	}
}

func TestNegotiateErrors(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	other := accesskey.Keys{Primary: "other-key-0123456789abcdefghijklmnopqrstuv"}
	foreign, _ := other.SignClientToken("http://127.0.0.1/client/?hub=chat", accesskey.ClientClaims{}, time.Now())
	for _, tc := range []struct {
		name, hub, token string
		status           int
		code             string
	}{
		{"no hub", "", ts.token("chat", "", time.Time{}), 400, "InvalidHub"},
		{"no token", "chat", "", 401, "Unauthorized"},
		{"garbage token", "chat", "abc", 401, "Unauthorized"},
		{"other key", "chat", foreign, 401, "Unauthorized"},
		{"other hub", "chat", ts.token("news", "", time.Time{}), 401, "Unauthorized"},
		{"expired", "chat", "", 401, "Unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "expired" {
				// Signed with an exp beyond the clock skew in the past.
				tok, err := ts.keys.SignClientToken("http://127.0.0.1/client/?hub=chat", accesskey.ClientClaims{Expires: ts.clk.Now().Add(time.Second)}, ts.clk.Now())
				if err != nil {
					t.Fatal(err)
				}
				ts.clk.Advance(accesskey.ClockSkew + time.Minute)
				defer ts.clk.Advance(-accesskey.ClockSkew - time.Minute)
				tc.token = tok
			}
			resp, body := ts.negotiate(tc.hub, tc.token, "1")
			if resp.StatusCode != tc.status || body["code"] != tc.code || resp.Header.Get("X-Ms-Error-Code") != tc.code || body["message"] == "" {
				t.Errorf("negotiate = %d %v (x-ms-error-code %q), want %d %s", resp.StatusCode, body, resp.Header.Get("X-Ms-Error-Code"), tc.status, tc.code)
			}
		})
	}
}

func TestNegotiateCORS(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	req, _ := http.NewRequest(http.MethodOptions, ts.url+"/client/negotiate?hub=chat&negotiateVersion=1", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-requested-with,x-signalr-user-agent")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "authorization,x-requested-with,x-signalr-user-agent" {
		t.Errorf("preflight = %d %v", resp.StatusCode, h)
	}
	req, _ = http.NewRequest(http.MethodPost, ts.url+"/client/negotiate?hub=chat&negotiateVersion=1", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Authorization", "Bearer "+ts.token("chat", "", time.Time{}))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("negotiate with Origin = %d %v", resp.StatusCode, resp.Header)
	}
}

// A connection token opens one WebSocket, for the hub and user that negotiated it, and only
// within its lifetime.
func TestConnectionToken(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	tok := ts.token("chat", "u1", time.Time{})
	_, body := ts.negotiate("chat", tok, "1")
	id := body["connectionToken"].(string)
	ts.dial("chat", body["connectionId"].(string), tok, http.StatusNotFound) // the id is not the token
	ts.dial("news", id, ts.token("news", "u1", time.Time{}), http.StatusNotFound)
	ts.dial("chat", id, ts.token("chat", "u2", time.Time{}), http.StatusUnauthorized)
	ts.dial("chat", id, "", http.StatusUnauthorized)
	ts.dial("chat", id, tok, http.StatusSwitchingProtocols)
	ts.dial("chat", id, tok, http.StatusNotFound) // used

	_, body = ts.negotiate("chat", tok, "1")
	ts.clk.Advance(connectionTokenLifetime)
	ts.dial("chat", body["connectionToken"].(string), tok, http.StatusNotFound) // expired
}

func TestPendingConnsExpireInOrder(t *testing.T) {
	p := newPendingConns(time.Second, 2)
	t0 := time.Now()
	accept := func(pendingConn) error { return nil }
	if !p.add("a", pendingConn{hub: "h"}, t0) || !p.add("b", pendingConn{hub: "h"}, t0.Add(500*time.Millisecond)) {
		t.Fatal("add refused")
	}
	if p.add("c", pendingConn{}, t0.Add(600*time.Millisecond)) {
		t.Error("add beyond the bound accepted")
	}
	if !p.add("c", pendingConn{}, t0.Add(time.Second)) { // a expired, making room
		t.Error("add after an expiry refused")
	}
	if _, err := p.take("a", t0.Add(time.Second), accept); err == nil {
		t.Error("expired token taken")
	}
	if _, err := p.take("b", t0.Add(time.Second), accept); err != nil {
		t.Error("live token not taken")
	}
	if len(p.byToken) != 1 {
		t.Errorf("%d tokens kept, want 1", len(p.byToken))
	}
}

// The app server's invocations reach JSON and MessagePack clients, each rendered once; a Web
// PubSub payload on the same hub is skipped.
func TestDelivery(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	jc, jid := ts.connect("chat", "u1", "json")
	mc, _ := ts.connect("chat", "u2", "messagepack")
	ts.publish("chat", pubsub.NewServerMessage(pubsub.Selector{}, pubsub.JSON, []byte(`{"wps":true}`)), pubsub.Selector{})
	ts.publish("chat", pubsub.NewInvocation(pubsub.Selector{}, "newMessage", []byte(`["hello",42]`)), pubsub.Selector{})
	if kind, data := readFrame(t, jc); kind != websocket.TextMessage || string(data) != `{"type":1,"target":"newMessage","arguments":["hello",42]}`+"\x1e" {
		t.Errorf("JSON client got %d %q", kind, data)
	}
	kind, data := readFrame(t, mc)
	if kind != websocket.BinaryMessage {
		t.Fatalf("MessagePack client got a %d frame", kind)
	}
	var v []any
	if err := msgpack.Unmarshal(data[1:], &v); err != nil || len(v) != 5 || v[3] != "newMessage" {
		t.Errorf("MessagePack client got %x (%v %v)", data, v, err)
	}
	// To one user and one connection.
	ts.publish("chat", pubsub.NewInvocation(pubsub.Selector{}, "forU2", []byte(`[]`)), pubsub.Selector{Kind: pubsub.ToUser, Name: "u2"})
	ts.publish("chat", pubsub.NewInvocation(pubsub.Selector{}, "forJ", []byte(`[]`)), pubsub.Selector{Kind: pubsub.ToConnection, Name: jid})
	if _, data := readFrame(t, jc); !bytes.Contains(data, []byte(`"forJ"`)) {
		t.Errorf("JSON client got %q, want forJ only", data)
	}
	if _, data := readFrame(t, mc); !bytes.Contains(data, []byte("forU2")) {
		t.Errorf("MessagePack client got %x, want forU2", data)
	}
	if !ts.svc.Hub("chat").HasUser("u1") {
		t.Error("nameid did not become the connection's user")
	}
}

// An invocation waiting for a result gets an error Completion; the connection goes on.
func TestInvocationAnswered(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	ws, _ := ts.connect("chat", "", "json")
	send := "{\"type\":6}\x1e{\"type\":1,\"target\":\"fire\",\"arguments\":[]}\x1e{\"type\":1,\"invocationId\":\"9\",\"target\":\"ask\",\"arguments\":[]}\x1e"
	if err := ws.WriteMessage(websocket.TextMessage, []byte(send)); err != nil {
		t.Fatal(err)
	}
	_, data := readFrame(t, ws)
	if string(data) != `{"type":3,"invocationId":"9","error":"`+invocationRefused+`"}`+"\x1e" {
		t.Errorf("answer %q", data)
	}
	mc, _ := ts.connect("chat", "", "messagepack")
	if err := mc.WriteMessage(websocket.BinaryMessage, concatHex(t, "08950180a134a17890")); err != nil {
		t.Fatal(err)
	}
	_, data = readFrame(t, mc)
	var v []any
	if err := msgpack.Unmarshal(data[1:], &v); err != nil || len(v) != 5 || v[2] != "4" || v[4] != invocationRefused {
		t.Errorf("MessagePack answer %x (%v)", data, v)
	}
}

// A malformed message closes the connection with a Close message that does not allow a
// reconnect, then 1008.
func TestMalformedMessageCloses(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	ws, _ := ts.connect("chat", "", "json")
	if err := ws.WriteMessage(websocket.TextMessage, []byte("{\"type\":6}")); err != nil {
		t.Fatal(err)
	}
	_, data := readFrame(t, ws)
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSuffix(data, []byte{0x1e}), &m); err != nil || m["type"] != 7.0 || m["allowReconnect"] != nil ||
		!strings.HasPrefix(m["error"].(string), "Invalid message") {
		t.Errorf("close message %q", data)
	}
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, pubsub.ClosePolicyViolation) {
		t.Errorf("after the close message: %v, want close 1008", err)
	}
}

// TestReadAtMost: a message is read whole up to the limit, in reads of any size, and a Ping
// costs a single small allocation.
func TestReadAtMost(t *testing.T) {
	errRead := errors.New("connection reset")
	tests := []struct {
		name    string
		r       io.Reader
		want    string
		wantErr error
	}{
		{"empty", strings.NewReader(""), "", nil},
		{"ping", strings.NewReader("{\"type\":6}\x1e"), "{\"type\":6}\x1e", nil},
		{"past the first buffer", strings.NewReader(strings.Repeat("a", 17)), strings.Repeat("a", 17), nil},
		{"a byte at a time", iotest.OneByteReader(strings.NewReader(strings.Repeat("b", 60))), strings.Repeat("b", 60), nil},
		{"at the limit", strings.NewReader(strings.Repeat("c", 64)), strings.Repeat("c", 64), nil},
		{"past the limit", strings.NewReader(strings.Repeat("d", 65)), "", errMessageTooLarge},
		{"far past the limit", iotest.HalfReader(strings.NewReader(strings.Repeat("e", 1000))), "", errMessageTooLarge},
		{"a failing read", io.MultiReader(strings.NewReader("f"), iotest.ErrReader(errRead)), "", errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAtMost(tt.r, 64)
			if string(got) != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("readAtMost = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	r := bytes.NewReader(nil)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(jsonProtocol.ping())
		if _, err := readAtMost(r, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("reading a Ping allocates %v times, want 1", allocs)
	}
}

func TestMessageTooLargeCloses(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxMessageBytes: 1024})
	ws, _ := ts.connect("chat", "", "json")
	big := "{\"type\":1,\"target\":\"x\",\"arguments\":[\"" + strings.Repeat("a", 2048) + "\"]}\x1e"
	_ = ws.WriteMessage(websocket.TextMessage, []byte(big))
	// The Close message goes before the 1009: a client that only saw the socket end would
	// reconnect without knowing why.
	want := "{\"type\":7,\"error\":\"Message too large: the limit is 1024 bytes.\"}\x1e"
	told := false
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Errorf("oversized message ended with %v, want 1009", err)
			}
			if !told {
				t.Errorf("no Close message %q before the close", want)
			}
			return
		}
		told = told || string(data) == want
	}
}

func TestHandshakeErrors(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	for _, tc := range []struct{ request, want string }{
		{`{"protocol":"xml","version":1}` + "\x1e", `{"error":"The protocol 'xml' is not supported."}` + "\x1e"},
		{`{"protocol":"json","version":3}` + "\x1e", `{"error":"The server does not support version 3 of the 'json' protocol."}` + "\x1e"},
	} {
		tok := ts.token("chat", "", time.Time{})
		_, body := ts.negotiate("chat", tok, "1")
		ws := ts.dial("chat", body["connectionToken"].(string), tok, http.StatusSwitchingProtocols)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(tc.request))
		if _, data := readFrame(t, ws); string(data) != tc.want {
			t.Errorf("handshake %q answered %q, want %q", tc.request, data, tc.want)
		}
		if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("after a refused handshake: %v", err)
		}
	}
}

// On shutdown clients hear a Close message that lets them reconnect.
func TestShutdownAllowsReconnect(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	ws, _ := ts.connect("chat", "", "json")
	go func() { _ = ts.svc.Shutdown(context.Background(), "the server is shutting down") }()
	_, data := readFrame(t, ws)
	if string(data) != `{"type":7,"error":"the server is shutting down","allowReconnect":true}`+"\x1e" {
		t.Errorf("shutdown close message %q", data)
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, pubsub.CloseGoingAway) {
		t.Errorf("after the close message: %v, want 1001", err)
	}
}

// A connection closed by the app (REST) is told why and not invited back.
func TestHubCloseIsFinal(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	ws, id := ts.connect("chat", "", "json")
	if err := ts.svc.Hub("chat").Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpClose, To: pubsub.Selector{Kind: pubsub.ToConnection, Name: id}, Reason: "bye"}); err != nil {
		t.Fatal(err)
	}
	if _, data := readFrame(t, ws); string(data) != `{"type":7,"error":"bye"}`+"\x1e" {
		t.Errorf("close message %q", data)
	}
}

// The service pings its clients (the client's timeout counts hub messages, not WebSocket pings)
// and drops one that stays silent.
func TestKeepAlive(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{}, func(o *Options) { o.PingInterval, o.ClientTimeout = 20*time.Millisecond, 300*time.Millisecond })
	ws, id := ts.connect("chat", "", "messagepack")
	if _, data := readFrame(t, ws); !bytes.Equal(data, messagePackPing) {
		t.Errorf("first message after the handshake %x, want a ping", data)
	}
	// Reading without answering: the client sends nothing, so the service drops it.
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	testkit.WaitFor(t, "the silent client's connection to end", func() bool { return !ts.svc.Hub("chat").HasConnection(id) })
}

// A client that keeps on sending past its message rate is closed, told why, and not invited
// back.
func TestInvocationFloodCloses(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxInboundPerSecond: 5, MaxInboundBurst: 5})
	ws, _ := ts.connect("chat", "", "json")
	go func() {
		for {
			if ws.WriteMessage(websocket.TextMessage, []byte("{\"type\":1,\"target\":\"x\",\"arguments\":[]}\x1e")) != nil {
				return
			}
		}
	}()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("connection ended without a Close message: %v", err)
		}
		if bytes.HasPrefix(data, []byte(`{"type":7`)) {
			if !bytes.Contains(data, []byte("Too many messages")) || bytes.Contains(data, []byte("allowReconnect")) {
				t.Errorf("close message %q", data)
			}
			break
		}
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, pubsub.ClosePolicyViolation) {
		t.Errorf("after the close message: %v, want 1008", err)
	}
}
