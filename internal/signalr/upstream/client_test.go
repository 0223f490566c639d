package upstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/vmihailenco/msgpack/v5"
)

// request is what the fake upstream saw of one request.
type request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// fakeUpstream starts an upstream that records every request and answers with answer. The
// channel holds the requests in arrival order.
func fakeUpstream(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan request) {
	t.Helper()
	seen := make(chan request, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- request{Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body}
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// everything routes every event of every hub to srv, as the Functions trigger's single
// endpoint is configured.
func everything(srv *httptest.Server) []Template {
	return []Template{{URLTemplate: srv.URL + "/{hub}/api/{category}/{event}"}}
}

func next(t *testing.T, seen <-chan request) request {
	t.Helper()
	select {
	case r := <-seen:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the upstream")
		return request{}
	}
}

var testConn = Conn{
	Hub:          "chat",
	ConnectionID: "0f9c97a2f0bf4706afe87a14e0797b11",
	UserID:       "alice",
	Claims:       []Claim{{"name", "Alice"}, {"role", "admin"}},
	Query:        "hub=chat&room=a%20b",
}

// validSignature checks X-ASRS-Signature exactly as the Functions extension does
// (Azure/azure-sdk-for-net sdk/signalr/Microsoft.Azure.WebJobs.Extensions.SignalRService/src/
// TriggerBindings/Resolver/SignalRRequestResolver.cs ValidateSignature, with
// SignalRTriggerUtils.GetSignatureList): split the header on ',', and look for
// "sha256=" + hex(HMAC-SHA256(UTF-8 key, UTF-8 connection id)) without regard to case.
func validSignature(h http.Header, key string) bool {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(h.Get("X-ASRS-Connection-Id")))
	want := fmt.Sprintf("sha256=%X", mac.Sum(nil))
	for s := range strings.SplitSeq(h.Get("X-ASRS-Signature"), ",") {
		if s != "" && strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// claimDictionary parses X-ASRS-User-Claims as the extension's
// SignalRTriggerUtils.GetClaimDictionary does: split on ',', each on ": ", trimmed.
func claimDictionary(s string) map[string]string {
	out := make(map[string]string)
	for p := range strings.SplitSeq(s, ",") {
		kv := strings.Split(p, ": ")
		if len(kv) == 2 {
			if _, dup := out[strings.TrimSpace(kv[0])]; !dup {
				out[strings.TrimSpace(kv[0])] = strings.TrimSpace(kv[1])
			}
		}
	}
	return out
}

func TestHeadersAsTheTriggerReadsThem(t *testing.T) {
	srv, seen := fakeUpstream(t, nil)
	keys := accesskey.Keys{Primary: "7aab239577fd4f24bc919802fb629f5f", Secondary: "a5f2815d0d0c4b00bd27e832432f91ab"}
	c := newClient(t, Options{Templates: everything(srv), Sign: keys.Signature})

	c.Invoke(t.Context(), testConn, Invocation{Target: "broadcast", Protocol: ProtocolJSON, Payload: []byte(`{"type":1,"target":"broadcast","arguments":[]}`)})
	r := next(t, seen)
	for name, want := range map[string]string{
		"X-ASRS-Connection-Id": testConn.ConnectionID,
		"X-ASRS-Hub":           "chat",
		"X-ASRS-Category":      "messages",
		"X-ASRS-Event":         "broadcast",
		"X-ASRS-User-Id":       "alice",
		// The emulator sends ASP.NET Core's QueryString, '?' first; the extension's
		// GetQueryDictionary (QueryHelpers.ParseQuery) takes it so.
		"X-ASRS-Client-Query": "?hub=chat&room=a%20b",
		"Content-Type":        "application/json",
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := claimDictionary(r.Header.Get("X-ASRS-User-Claims")); len(got) != 2 || got["name"] != "Alice" || got["role"] != "admin" {
		t.Errorf("claims as the trigger reads them = %v, want name: Alice, role: admin", got)
	}
	for _, key := range []string{keys.Primary, keys.Secondary} {
		if !validSignature(r.Header, key) {
			t.Errorf("signature %q does not validate with key %s", r.Header.Get("X-ASRS-Signature"), key)
		}
	}
	// The extension's own vectors for these keys and this connection id
	// (tests/Trigger/SignalRTriggerResolverTests.cs SignatureTestData).
	if got, want := r.Header.Get("X-ASRS-Signature"), "sha256=7767effcb3946f3e1de039df4b986ef02c110b1469d02c0a06f41b3b727ab561,"+
		"sha256=d4aefb65547a00a9881fa8ac8bd03d0faf77af9da5205d45c6e57cbda4377760"; got != want {
		t.Errorf("X-ASRS-Signature = %q, want %q", got, want)
	}
	if validSignature(r.Header, "another key") {
		t.Error("signature validates with a key that is not the service's")
	}

	// An anonymous connection without claims or query sends none of those headers (the
	// emulator's HttpUpstreamTrigger.TriggerAsync adds each only when set).
	c.Connected(Conn{Hub: "chat", ConnectionID: "c2"})
	r = next(t, seen)
	for _, name := range []string{"X-ASRS-User-Id", "X-ASRS-User-Claims", "X-ASRS-Client-Query"} {
		if v, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("%s = %q sent for an anonymous connection", name, v)
		}
	}
	if !validSignature(r.Header, keys.Primary) {
		t.Error("connected event not signed")
	}
}

func TestConnectionEventBodies(t *testing.T) {
	srv, seen := fakeUpstream(t, nil)
	c := newClient(t, Options{Templates: everything(srv)})
	// Bodies of the emulator's HttpServerlessMessageHandler: OpenConnectionPayload and
	// BuildCloseConnectionPayload (Azure/azure-signalr src/Microsoft.Azure.SignalR.Emulator/
	// HubEmulator/HttpServerlessMessageHandler.cs).
	for _, tt := range []struct {
		send     func()
		path     string
		event    string
		wantBody string
	}{
		{func() { c.Connected(testConn) }, "/chat/api/connections/connected", "connected", `{"type":10}`},
		{func() { c.Disconnected(testConn, `closed: "bye"`) }, "/chat/api/connections/disconnected", "disconnected", `{"Type":11,"Error":"closed: \"bye\""}`},
		{func() { c.Disconnected(testConn, "") }, "/chat/api/connections/disconnected", "disconnected", `{"Type":11}`},
	} {
		tt.send()
		r := next(t, seen)
		if r.Path != tt.path || r.Header.Get("X-ASRS-Category") != "connections" || r.Header.Get("X-ASRS-Event") != tt.event {
			t.Errorf("sent to %s as %s/%s, want %s", r.Path, r.Header.Get("X-ASRS-Category"), r.Header.Get("X-ASRS-Event"), tt.path)
		}
		if string(r.Body) != tt.wantBody || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s (%s), want %s (application/json)", r.Body, r.Header.Get("Content-Type"), tt.wantBody)
		}
	}
}

func TestDisconnectedWaitsForConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var sent []string
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			event, id := sentHeader(r.Header, "X-ASRS-Event"), sentHeader(r.Header, "X-ASRS-Connection-Id")
			e := event + " " + id
			mu.Lock()
			sent = append(sent, e)
			mu.Unlock()
			if event == "connected" {
				<-release
			}
			return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
		})}
		c := New(Options{Templates: []Template{{URLTemplate: "http://upstream.test/{event}"}}, HTTPClient: hc})
		other := Conn{Hub: "chat", ConnectionID: "other"}
		c.Connected(testConn)
		c.Disconnected(testConn, "")
		c.Disconnected(other, "")
		synctest.Wait() // everything that can run has run: the connected event is held
		mu.Lock()
		slices.Sort(sent)
		if want := []string{"connected " + testConn.ConnectionID, "disconnected other"}; !slices.Equal(sent, want) {
			t.Errorf("while connected is under way: sent %q, want %q (other connections are not held back)", sent, want)
		}
		mu.Unlock()
		close(release)
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(sent) != 3 || sent[2] != "disconnected "+testConn.ConnectionID {
			t.Errorf("sent %q, want the disconnected event once its connected event ended", sent)
		}
	})
}

// msgpackInvocation is a MessagePack hub protocol Invocation, unframed:
// [1, headers, invocationId, target, arguments, streamIds].
func msgpackInvocation(t *testing.T, id, target string, args ...any) []byte {
	t.Helper()
	b, err := msgpack.Marshal([]any{1, map[string]string{}, id, target, args, []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// framed prefixes msg with its length as the MessagePack hub protocol frames messages.
func framed(msg []byte) []byte {
	var out []byte
	n := len(msg)
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(append(out, byte(n)), msg...)
}

func TestInvocationBodies(t *testing.T) {
	srv, seen := fakeUpstream(t, nil)
	c := newClient(t, Options{Templates: everything(srv)})
	jsonPayload := []byte(`{"type":1,"invocationId":"7","target":"send message","arguments":["hi",2]}`)
	mpPayload := msgpackInvocation(t, "8", "send message", "hi", 2)
	for _, tt := range []struct {
		protocol    string
		payload     []byte
		contentType string
	}{
		// Content types per the emulator's HttpServerlessMessageHandler (JsonMediaType,
		// MessagePackMediaType), which the trigger's ValidateContentType requires.
		{ProtocolJSON, jsonPayload, "application/json"},
		{ProtocolMessagePack, mpPayload, "application/x-msgpack"},
	} {
		c.Invoke(t.Context(), testConn, Invocation{Target: "send message", InvocationID: "7", Protocol: tt.protocol, Payload: tt.payload})
		r := next(t, seen)
		if r.Path != "/chat/api/messages/send%20message" {
			t.Errorf("%s: sent to %s", tt.protocol, r.Path)
		}
		if r.Header.Get("Content-Type") != tt.contentType || !bytes.Equal(r.Body, tt.payload) {
			t.Errorf("%s: body %q (%s), want the client's message %q (%s)", tt.protocol, r.Body, r.Header.Get("Content-Type"), tt.payload, tt.contentType)
		}
	}
}

func TestInvocationResult(t *testing.T) {
	jsonCompletion := `{"type":3,"invocationId":"1","result":"ok"}` + "\x1e"
	mpCompletion, _ := msgpack.Marshal([]any{3, map[string]string{}, "1", 3, "ok"})
	for _, tt := range []struct {
		name       string
		protocol   string
		id         string
		status     int
		body       []byte
		wantFrames []byte
		wantError  string
	}{
		// As SignalRInvocationMethodExecutor answers (azure-sdk-for-net): 200 with
		// protocol.GetMessageBytes(CompletionMessage), framed in the client's protocol.
		{name: "json completion relayed", protocol: ProtocolJSON, id: "1", status: 200, body: []byte(jsonCompletion), wantFrames: []byte(jsonCompletion)},
		{name: "messagepack completion relayed", protocol: ProtocolMessagePack, id: "1", status: 200, body: framed(mpCompletion), wantFrames: framed(mpCompletion)},
		// The emulator's WriteMessageAsync: an empty 200 or a 204 is CompletionMessage.Empty,
		// another status CompletionMessage.WithError("Invocation failed, status code N").
		{name: "empty 200", protocol: ProtocolJSON, id: "1", status: 200},
		{name: "204", protocol: ProtocolMessagePack, id: "1", status: 204},
		{name: "500", protocol: ProtocolJSON, id: "1", status: 500, wantError: "Invocation failed, status code 500"},
		{name: "401 from a trigger refusing the signature", protocol: ProtocolJSON, id: "1", status: 401, wantError: "Invocation failed, status code 401"},
		{name: "json without record separator", protocol: ProtocolJSON, id: "1", status: 200, body: []byte(`{"type":3,"invocationId":"1"}`), wantError: "Invocation failed, the upstream's response is not a valid json message."},
		{name: "json record not an object", protocol: ProtocolJSON, id: "1", status: 200, body: []byte("\"ok\"\x1e"), wantError: "Invocation failed, the upstream's response is not a valid json message."},
		{name: "messagepack unframed", protocol: ProtocolMessagePack, id: "1", status: 200, body: mpCompletion, wantError: "Invocation failed, the upstream's response is not a valid messagepack message."},
		{name: "messagepack frame cut short", protocol: ProtocolMessagePack, id: "1", status: 200, body: framed(mpCompletion)[:len(mpCompletion)-1], wantError: "Invocation failed, the upstream's response is not a valid messagepack message."},
		{name: "too large", protocol: ProtocolJSON, id: "1", status: 200, body: bytes.Repeat([]byte(" "), maxAnswerBytes+1), wantError: "Invocation failed, response too large."},
		{name: "no id: nothing to send whatever the answer", protocol: ProtocolJSON, status: 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write(tt.body)
			})
			c := newClient(t, Options{Templates: everything(srv)})
			got := c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: tt.id, Protocol: tt.protocol, Payload: []byte(`{}`)})
			next(t, seen)
			if !bytes.Equal(got.Frames, tt.wantFrames) || got.Error != tt.wantError {
				t.Errorf("got frames %q error %q, want %q, %q", got.Frames, got.Error, tt.wantFrames, tt.wantError)
			}
		})
	}
}

func TestInvocationWithoutUpstream(t *testing.T) {
	srv, seen := fakeUpstream(t, nil)
	c := newClient(t, Options{Templates: []Template{{URLTemplate: srv.URL + "/{event}", HubPattern: "other"}}})
	got := c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
	if got.Frames != nil || !strings.Contains(got.Error, "no upstream") {
		t.Errorf("got %+v, want an error Completion", got)
	}
	if got := c.Invoke(t.Context(), testConn, Invocation{Target: "echo", Protocol: ProtocolJSON}); got.Frames != nil || got.Error != "" {
		t.Errorf("got %+v for an invocation without id, want nothing", got)
	}
	select {
	case r := <-seen:
		t.Errorf("request to %s for an unmatched hub", r.Path)
	default:
	}
}

func TestInvocationTimesOut(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	srv, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-hang })
	c := newClient(t, Options{Templates: everything(srv), Timeout: 50 * time.Millisecond})
	got := c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
	if got.Error != "Invocation failed, the upstream did not answer in time." {
		t.Errorf("got %+v", got)
	}
}

func TestHungUpstreamDelaysNobodyElse(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	slow, slowSeen := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-hang })
	fast, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := newClient(t, Options{Templates: []Template{
		{URLTemplate: slow.URL + "/{category}/{event}", HubPattern: "slow"},
		{URLTemplate: fast.URL + "/{category}/{event}"},
	}})
	slowConn := Conn{Hub: "slow", ConnectionID: "s"}

	// Events to the hung upstream return at once: Connected and Disconnected are back while
	// both requests are still held by the upstream.
	c.Connected(slowConn)
	next(t, slowSeen)
	c.Disconnected(slowConn, "")
	invoked := make(chan Result)
	go func() {
		invoked <- c.Invoke(context.Background(), slowConn, Invocation{Target: "wait", InvocationID: "1", Protocol: ProtocolJSON})
	}()
	next(t, slowSeen)

	// Meanwhile other hubs' invocations and events go through.
	for i := range 3 {
		got := c.Invoke(t.Context(), Conn{Hub: "chat", ConnectionID: fmt.Sprint("f", i)}, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
		if got.Frames != nil || got.Error != "" {
			t.Fatalf("invocation to the healthy upstream: %+v", got)
		}
	}
	select {
	case r := <-invoked:
		t.Fatalf("the hung invocation ended: %+v", r)
	default:
	}
}

func TestConnectionEventsRetried(t *testing.T) {
	for _, tt := range []struct {
		name     string
		statuses []int // answered in turn; the last one repeats
		want     int   // requests made
	}{
		{"succeeds at once", []int{200}, 1},
		{"503 then 503 then 200", []int{503, 503, 200}, 3},
		{"429 then 204", []int{429, 204}, 2},
		{"always 500: three retries", []int{500}, eventAttempts},
		{"400 is final", []int{400}, 1},
		{"404 is final", []int{404}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := make(map[string]int) // requests per event
			srv, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				e := r.Header.Get("X-ASRS-Event")
				w.WriteHeader(tt.statuses[min(n[e], len(tt.statuses)-1)])
				n[e]++
			})
			c := New(Options{Templates: everything(srv), RetryDelay: time.Millisecond})
			c.Connected(testConn)
			c.Disconnected(testConn, "")
			// Close waits for the events under way, retries included.
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n["connected"] != tt.want || n["disconnected"] != tt.want {
				t.Errorf("requests per event %v, want %d each", n, tt.want)
			}
		})
	}
}

func TestUnreachableUpstreamRetriedThenGivenUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			at = append(at, time.Since(start)) // attempts are sequential
			return nil, errors.New("connection refused")
		})}
		c := New(Options{Templates: []Template{{URLTemplate: "http://upstream.test/{event}"}}, HTTPClient: hc})
		c.Connected(testConn)
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}; !slices.Equal(at, want) {
			t.Errorf("attempts at %v, want %v: 1 s, 2 s, 4 s apart", at, want)
		}
		at = nil
		got := c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
		if got.Error != "Invocation failed, the upstream could not be reached." || len(at) != 1 {
			t.Errorf("got %+v after %d attempts, want one attempt and an error Completion", got, len(at))
		}
	})
}

func TestInvocationNotRetried(t *testing.T) {
	srv, seen := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	c := newClient(t, Options{Templates: everything(srv), RetryDelay: time.Millisecond})
	c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
	next(t, seen)
	c.Connected(Conn{Hub: "marker", ConnectionID: "m"}) // its first request follows the invocation's
	if r := next(t, seen); r.Header.Get("X-ASRS-Hub") != "marker" {
		t.Errorf("invocation sent again: %s %s", r.Header.Get("X-ASRS-Event"), r.Path)
	}
}

func TestEventsBeyondTheBoundAreDropped(t *testing.T) {
	hang := make(chan struct{})
	srv, seen := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-hang })
	c := New(Options{Templates: everything(srv), MaxEvents: 1})
	c.Connected(Conn{Hub: "chat", ConnectionID: "a"})
	next(t, seen)
	c.Connected(Conn{Hub: "chat", ConnectionID: "b"}) // no slot: dropped, and Connected returns
	close(hang)
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-seen:
		t.Errorf("dropped event sent: %s", r.Header.Get("X-ASRS-Connection-Id"))
	default:
	}
}

func TestCloseEndsEventsAtItsDeadline(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	srv, seen := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-hang })
	c := New(Options{Templates: everything(srv)})
	c.Connected(testConn)
	next(t, seen)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Close(ctx); err != context.Canceled {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	c.Connected(Conn{Hub: "chat", ConnectionID: "late"})
	select {
	case r := <-seen:
		t.Errorf("event sent after Close: %s", r.Header.Get("X-ASRS-Connection-Id"))
	default:
	}
}

func TestRouting(t *testing.T) {
	templates := []Template{
		{URLTemplate: "http://a/{hub}/{category}/{event}", HubPattern: "Chat, news", CategoryPattern: "messages", EventPattern: "send,echo"},
		{URLTemplate: "http://b/{event}?code=x", CategoryPattern: "connections", EventPattern: "connected"},
		{URLTemplate: "http://c/{hub}", HubPattern: "*"},
	}
	c := newClient(t, Options{Templates: templates})
	for _, tt := range []struct {
		hub, category, event string
		want                 string
	}{
		{"chat", "messages", "send", "http://a/chat/messages/send"},
		{"news", "messages", "ECHO", "http://a/news/messages/ECHO"},
		{"chat", "messages", "other", "http://c/chat"},
		{"chat", "connections", "connected", "http://b/connected?code=x"},
		{"chat", "connections", "disconnected", "http://c/chat"},
		// Names are escaped as Uri.EscapeDataString does (the emulator's Utils.GetUpstreamUrl).
		{"a b", "messages", "x/y?z&w=+", "http://c/a%20b"},
		{"news", "messages", "x/y?z&w=+", "http://c/news"},
	} {
		got, ok := c.route(tt.hub, tt.category, tt.event)
		if !ok || got != tt.want {
			t.Errorf("route(%s, %s, %s) = %q, want %q", tt.hub, tt.category, tt.event, got, tt.want)
		}
	}
	if got := (Template{URLTemplate: "http://h/{hub}/{category}/{event}"}).expand("a b", "messages", "x/y?z&w=+é"); got != "http://h/a%20b/messages/x%2Fy%3Fz%26w%3D%2B%C3%A9" {
		t.Errorf("expand = %s", got)
	}
	if _, err := url.Parse(c.templates[1].expand("h", "connections", "connected")); err != nil {
		t.Error(err)
	}
	none := newClient(t, Options{})
	if _, ok := none.route("chat", "messages", "send"); ok {
		t.Error("a client without templates wants an event")
	}
}

func TestTemplateCheck(t *testing.T) {
	for _, tt := range []struct {
		t       Template
		wantErr string
	}{
		{Template{URLTemplate: "http://localhost:7071/runtime/webhooks/signalr"}, ""},
		{Template{URLTemplate: "https://h/{hub}/api/{category}/{event}", CategoryPattern: "connections, messages"}, ""},
		{Template{URLTemplate: "/relative/{event}"}, "absolute"},
		{Template{URLTemplate: "ftp://h/{event}"}, "absolute"},
		{Template{URLTemplate: "http://h/{Event}"}, "only {hub}"},
		{Template{URLTemplate: "http://h/?code={@Microsoft.KeyVault(SecretUri=https://v/secrets/s/)}"}, "Key Vault"},
		{Template{URLTemplate: "http://h/", CategoryPattern: "message"}, "categoryPattern"},
	} {
		err := tt.t.Check()
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Check(%+v) = %v, want an error containing %q", tt.t, err, tt.wantErr)
		}
	}
}

// sentHeader reads a header of a request that has not been through the network, whose keys are
// as the client spelled them rather than canonical.
func sentHeader(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The service's headers go out spelled as the emulator's Constants.Headers spell them, not as
// Go would canonicalize them (X-Asrs-…): HTTP says case does not matter, but not every
// upstream reads headers that way.
func TestHeaderSpelling(t *testing.T) {
	var keys []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		for k := range r.Header {
			keys = append(keys, k)
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	})}
	c := newClient(t, Options{Templates: []Template{{URLTemplate: "http://upstream.test/{event}"}}, HTTPClient: hc, Sign: func(string) string { return "sha256=00" }})
	c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
	for _, want := range []string{"X-ASRS-Connection-Id", "X-ASRS-Hub", "X-ASRS-Category", "X-ASRS-Event", "X-ASRS-User-Id", "X-ASRS-User-Claims", "X-ASRS-Client-Query", "X-ASRS-Signature"} {
		if !slices.Contains(keys, want) {
			t.Errorf("%s not sent as such; sent %v", want, keys)
		}
	}
}

func TestLogsKeepTheUpstreamKeyOut(t *testing.T) {
	srv, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	var log bytes.Buffer
	c := newClient(t, Options{
		Templates: []Template{{URLTemplate: srv.URL + "/runtime/webhooks/signalr?code=secret-function-key"}},
		Logger:    slog.New(slog.NewTextHandler(&log, nil)),
	})
	c.Invoke(t.Context(), testConn, Invocation{Target: "echo", InvocationID: "1", Protocol: ProtocolJSON})
	if !strings.Contains(log.String(), "/runtime/webhooks/signalr") || strings.Contains(log.String(), "secret-function-key") {
		t.Errorf("log: %s", log.String())
	}
}
