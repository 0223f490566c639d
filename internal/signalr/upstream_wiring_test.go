package signalr

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/signalr/upstream"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// upstreamRequest is what the fake upstream saw of one request.
type upstreamRequest struct {
	path   string
	header http.Header
	body   string
}

// withUpstream runs a SignalR server whose upstream is a fake app at answer's mercy; the channel
// holds the requests it got, in arrival order.
func withUpstream(t *testing.T, limits pubsub.Limits, answer http.HandlerFunc) (*testServer, <-chan upstreamRequest) {
	t.Helper()
	seen := make(chan upstreamRequest, 256)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- upstreamRequest{path: r.URL.Path, header: r.Header.Clone(), body: string(body)}
		answer(w, r)
	}))
	t.Cleanup(app.Close)
	var up *upstream.Client
	ts := newTestServer(t, limits, func(o *Options) {
		up = upstream.New(upstream.Options{
			Templates: []upstream.Template{{URLTemplate: app.URL + "/{hub}/api/{category}/{event}"}},
			Sign:      o.Keys.Signature,
			Logger:    slog.New(slog.DiscardHandler),
		})
		o.Upstream = up
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = up.Close(ctx)
	})
	return ts, seen
}

func nextRequest(t *testing.T, seen <-chan upstreamRequest) upstreamRequest {
	t.Helper()
	select {
	case r := <-seen:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the upstream")
		return upstreamRequest{}
	}
}

// readRecord reads the client's next message, skipping Pings.
func readRecord(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	for {
		_, data := readFrame(t, ws)
		if s := string(data); s != string(jsonPing) {
			return s
		}
	}
}

func sendText(t *testing.T, ws *websocket.Conn, records ...string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(strings.Join(records, "\x1e")+"\x1e")); err != nil {
		t.Fatal(err)
	}
}

// answerAdd answers the hub method add with a Completion carrying 3, in JSON, as the Functions
// trigger frames it; any other method gets an empty 200.
func TestQueryWithoutToken(t *testing.T) {
	for raw, want := range map[string]string{
		"hub=chat&id=x":                          "hub=chat&id=x",
		"hub=chat&access_token=t.o.k&id=x&a=%20": "hub=chat&id=x&a=%20",
		"access%5Ftoken=t&b=1":                   "b=1",
		"":                                       "",
	} {
		if got := queryWithoutToken(raw); got != want {
			t.Errorf("queryWithoutToken(%q) = %q, want %q", raw, got, want)
		}
	}
}

func answerAdd(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/messages/add") {
		_, _ = io.WriteString(w, `{"type":3,"invocationId":"1","result":3}`+"\x1e")
	}
}

// A connection's life reaches the upstream: connected with the service's headers, each
// invocation (with its answer relayed to the client, or none for a send), then disconnected.
func TestUpstreamConnectionLife(t *testing.T) {
	ts, seen := withUpstream(t, pubsub.Limits{}, answerAdd)
	ws, connID := ts.connect("Chat", "u1", "json")
	r := nextRequest(t, seen)
	if r.path != "/chat/api/connections/connected" || r.body != `{"type":10}` {
		t.Fatalf("first request %s %s, want the connected event", r.path, r.body)
	}
	h := r.header
	if h.Get("X-ASRS-Hub") != "chat" || h.Get("X-ASRS-Connection-Id") != connID || h.Get("X-ASRS-User-Id") != "u1" ||
		h.Get("X-ASRS-Signature") != ts.keys.Signature(connID) {
		t.Errorf("connected headers %v", h)
	}
	if q := h.Get("X-ASRS-Client-Query"); !strings.Contains(q, "hub=Chat") || !strings.Contains(q, "id=") {
		t.Errorf("X-ASRS-Client-Query %q, want the WebSocket request's query", q)
	}
	if c := h.Get("X-ASRS-User-Claims"); !strings.Contains(c, "nameid: u1") {
		t.Errorf("X-ASRS-User-Claims %q, want the token's claims", c)
	}

	// A send goes upstream unanswered; the invocation after it gets the upstream's Completion.
	sendText(t, ws, `{"type":1,"target":"tell","arguments":["x"]}`, `{"type":1,"invocationId":"1","target":"add","arguments":[1,2]}`)
	got := map[string]string{}
	for range 2 {
		r := nextRequest(t, seen)
		got[r.path] = r.body
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-ASRS-Connection-Id") != connID {
			t.Errorf("%s headers %v", r.path, r.header)
		}
	}
	if got["/chat/api/messages/tell"] != `{"type":1,"target":"tell","arguments":["x"]}` ||
		got["/chat/api/messages/add"] != `{"type":1,"invocationId":"1","target":"add","arguments":[1,2]}` {
		t.Errorf("invocations upstream: %v", got)
	}
	if rec := readRecord(t, ws); rec != `{"type":3,"invocationId":"1","result":3}`+"\x1e" {
		t.Errorf("client got %q, want the upstream's Completion", rec)
	}
	// Without a target there is no upstream to choose: refused without a request.
	sendText(t, ws, `{"type":1,"invocationId":"2","arguments":[]}`)
	if rec := readRecord(t, ws); rec != string(jsonProtocol.completion("2", noTarget)) {
		t.Errorf("client got %q, want the invocation without target refused", rec)
	}

	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	r = nextRequest(t, seen)
	if r.path != "/chat/api/connections/disconnected" || r.body != `{"Type":11}` || r.header.Get("X-ASRS-Connection-Id") != connID {
		t.Errorf("last request %s %s, want a clean disconnected event", r.path, r.body)
	}
}

// A MessagePack client's invocation goes upstream as its record without the length prefix,
// and the upstream's MessagePack Completion reaches it as it is; a failing upstream's status
// becomes an error Completion.
func TestUpstreamMessagePack(t *testing.T) {
	answer := concatHex(t, "06940380a13402") // [3, {}, "4", 2]
	ts, seen := withUpstream(t, pubsub.Limits{}, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/messages/x"):
			_, _ = w.Write(answer)
		case strings.HasSuffix(r.URL.Path, "/messages/fail"):
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	mc, _ := ts.connect("chat", "", "messagepack")
	nextRequest(t, seen) // connected
	// [1, {}, "4", "x", []]
	if err := mc.WriteMessage(websocket.BinaryMessage, concatHex(t, "08950180a134a17890")); err != nil {
		t.Fatal(err)
	}
	r := nextRequest(t, seen)
	if r.path != "/chat/api/messages/x" || r.body != string(concatHex(t, "950180a134a17890")) ||
		r.header.Get("Content-Type") != "application/x-msgpack" || r.header.Get("X-ASRS-User-Id") != "" {
		t.Errorf("upstream got %s %x %v", r.path, r.body, r.header)
	}
	if _, data := readFrame(t, mc); string(data) != string(answer) {
		t.Errorf("client got %x, want %x", data, answer)
	}
	// [1, {}, "5", "fail", []]
	if err := mc.WriteMessage(websocket.BinaryMessage, concatHex(t, "0b950180a135a46661696c90")); err != nil {
		t.Fatal(err)
	}
	if _, data := readFrame(t, mc); string(data) != string(messagePackProtocol.completion("5", "Invocation failed, status code 500")) {
		t.Errorf("client got %x, want an error Completion", data)
	}
}

// hangingUpstream holds every invocation of hang until release is closed, and answers the
// others at once with an empty 200 (a Completion without result).
func hangingUpstream(t *testing.T, limits pubsub.Limits) (ts *testServer, seen <-chan upstreamRequest, release func()) {
	held := make(chan struct{})
	ts, seen = withUpstream(t, limits, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/messages/hang") {
			select {
			case <-held:
			case <-r.Context().Done():
			}
		}
	})
	var once bool
	release = func() {
		if !once {
			once = true
			close(held)
		}
	}
	t.Cleanup(release)
	return ts, seen, release
}

// An invocation the upstream does not answer delays neither its own connection's messages nor
// any other connection's.
func TestUpstreamHungDelaysNothingElse(t *testing.T) {
	ts, _, release := hangingUpstream(t, pubsub.Limits{})
	a, _ := ts.connect("chat", "a", "json")
	b, _ := ts.connect("chat", "b", "json")
	sendText(t, a, `{"type":1,"invocationId":"h","target":"hang","arguments":[]}`)
	sendText(t, b, `{"type":1,"invocationId":"h","target":"hang","arguments":[]}`)
	ts.publish("chat", push("news"), pubsub.Selector{})
	for _, ws := range []*websocket.Conn{a, b} {
		if rec := readRecord(t, ws); rec != record("news")+"\x1e" {
			t.Fatalf("got %q, want the push while the upstream hangs", rec)
		}
	}
	// Another invocation of the same connection is answered while the first waits.
	sendText(t, a, `{"type":1,"invocationId":"q","target":"quick","arguments":[]}`)
	if rec := readRecord(t, a); rec != `{"type":3,"invocationId":"q"}`+"\x1e" {
		t.Fatalf("got %q, want the quick invocation's Completion", rec)
	}
	release()
	if rec := readRecord(t, a); rec != `{"type":3,"invocationId":"h"}`+"\x1e" {
		t.Errorf("got %q, want the hung invocation's Completion once the upstream answers", rec)
	}
}

// At most 16 invocations of a connection wait for the upstream; one more is refused at once.
func TestUpstreamInvocationLimit(t *testing.T) {
	ts, seen, release := hangingUpstream(t, pubsub.Limits{})
	ws, _ := ts.connect("chat", "u1", "json")
	nextRequest(t, seen) // connected
	const limit = 16
	var records []string
	for i := range limit + 1 {
		records = append(records, `{"type":1,"invocationId":"`+strconv.Itoa(i)+`","target":"hang","arguments":[]}`)
	}
	sendText(t, ws, records...)
	refused := strconv.Itoa(limit)
	if rec := readRecord(t, ws); rec != string(jsonProtocol.completion(refused, tooManyInvocations)) {
		t.Fatalf("got %q, want invocation %s refused", rec, refused)
	}
	for range limit {
		nextRequest(t, seen)
	}
	release()
	answered := map[string]bool{}
	for range limit {
		rec := readRecord(t, ws)
		answered[rec] = true
	}
	for i := range limit {
		if want := `{"type":3,"invocationId":"` + strconv.Itoa(i) + `"}` + "\x1e"; !answered[want] {
			t.Errorf("invocation %d not answered: got %v", i, answered)
		}
	}
}

// A stateful connection is announced once: its reconnect is no new connection upstream.
func TestUpstreamStatefulResumeNotAnnounced(t *testing.T) {
	ts, seen := withUpstream(t, pubsub.Limits{}, answerAdd)
	c := ts.connectStateful("chat", "u1", "json", 2)
	if r := nextRequest(t, seen); r.path != "/chat/api/connections/connected" {
		t.Fatalf("first request %s", r.path)
	}
	c.drop()
	c.reconnect(http.StatusSwitchingProtocols)
	c.send(`{"type":9,"sequenceId":1}`, `{"type":1,"target":"after","arguments":[]}`)
	if r := nextRequest(t, seen); r.path != "/chat/api/messages/after" {
		t.Errorf("after the reconnect the upstream got %s, want the invocation only", r.path)
	}
}

// The connection caps count SignalR connections on every transport: negotiate refuses a user at
// its cap with 429 TooManyConnections, a connection registered past it is refused in the
// handshake, and a connection's end frees its place.
func TestConnectionCaps(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxConnsPerUser: 1})
	tok := ts.token("chat", "u1", time.Time{})
	// Two negotiated before either registers: the second is refused when it registers.
	_, first := ts.negotiate("chat", tok, "1")
	_, second := ts.negotiate("chat", tok, "1")
	ws := ts.dial("chat", first["connectionToken"].(string), tok, http.StatusSwitchingProtocols)
	sendText(t, ws, `{"protocol":"json","version":1}`)
	if rec := readRecord(t, ws); rec != "{}\x1e" {
		t.Fatalf("handshake %q", rec)
	}
	late := ts.dial("chat", second["connectionToken"].(string), tok, http.StatusSwitchingProtocols)
	sendText(t, late, `{"protocol":"json","version":1}`)
	if rec := readRecord(t, late); !strings.Contains(rec, `"error":"Too many connections: user \"u1\" already has 1`) {
		t.Errorf("late handshake %q, want refused", rec)
	}
	resp, body := ts.negotiate("chat", tok, "1")
	if resp.StatusCode != http.StatusTooManyRequests || body["code"] != "TooManyConnections" || resp.Header.Get("x-ms-error-code") != "TooManyConnections" {
		t.Errorf("negotiate at the cap: %d %v", resp.StatusCode, body)
	}
	_ = ws.Close()
	testkit.WaitFor(t, "the closed connection's place freed", func() bool {
		resp, _ := ts.negotiate("chat", tok, "1")
		return resp.StatusCode == http.StatusOK
	})
	// A long-polling connection counts too.
	lp := ts.negotiateHTTP("chat")
	lp.expect(http.MethodGet, "", http.StatusOK, "")
	lp.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e", http.StatusOK, "")
	if resp, _ := ts.negotiate("chat", tok, "1"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("negotiate beside a long-polling connection: %d, want 429", resp.StatusCode)
	}
	lp.expect(http.MethodDelete, "", http.StatusAccepted, "")
	testkit.WaitFor(t, "the long-polling connection's place freed", func() bool {
		resp, _ := ts.negotiate("chat", tok, "1")
		return resp.StatusCode == http.StatusOK
	})
}
