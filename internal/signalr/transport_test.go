package signalr

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// httpClient is a client of an HTTP transport: its negotiated connection and token.
type httpClient struct {
	t            *testing.T
	base         string
	hub, tok, id string
	connectionID string
	handler      http.Handler // nil: requests go over the network to base
}

func (ts *testServer) negotiateHTTP(hub string) *httpClient {
	ts.t.Helper()
	tok := ts.token(hub, "u1", time.Time{})
	resp, body := ts.negotiate(hub, tok, "1")
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("negotiate: %d %v", resp.StatusCode, body)
	}
	return &httpClient{t: ts.t, base: ts.url, hub: hub, tok: tok, id: body["connectionToken"].(string), connectionID: body["connectionId"].(string)}
}

func (c *httpClient) request(method, body string, header ...string) *http.Request {
	u := c.base + "/client/?hub=" + c.hub + "&id=" + url.QueryEscape(c.id)
	r := httptest.NewRequest(method, u, strings.NewReader(body))
	r.RequestURI = ""
	r.Header.Set("Authorization", "Bearer "+c.tok)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// serve serves r without a network; it may run on any goroutine.
func (c *httpClient) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	c.handler.ServeHTTP(w, r)
	return w
}

// do sends a request and returns its status, content type and body.
func (c *httpClient) do(method, body string, header ...string) (int, string, string) {
	c.t.Helper()
	r := c.request(method, body, header...)
	if c.handler != nil {
		w := c.serve(r)
		return w.Code, w.Header().Get("Content-Type"), w.Body.String()
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func (c *httpClient) expect(method, body string, wantStatus int, wantBody string) {
	c.t.Helper()
	if status, _, got := c.do(method, body); status != wantStatus || got != wantBody {
		c.t.Fatalf("%s %q: %d %q, want %d %q", method, body, status, got, wantStatus, wantBody)
	}
}

// eventStream opens the connection's event stream and returns a reader of its events' data.
func (c *httpClient) eventStream() func() string {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(c.request(http.MethodGet, "", "Accept", "text/event-stream"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		c.t.Fatalf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	return func() string {
		c.t.Helper()
		var data []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "EOF"
			}
			line = strings.TrimSuffix(line, "\r\n")
			switch {
			case line == "" && data != nil:
				return strings.Join(data, "\n")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			case line == "" || line == ":":
			default:
				c.t.Fatalf("unexpected event stream line %q", line)
			}
		}
	}
}

func TestEventStream(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.negotiateHTTP("chat")
	next := c.eventStream()
	// One stream per connection.
	if status, _, _ := c.do(http.MethodGet, "", "Accept", "text/event-stream"); status != http.StatusConflict {
		t.Errorf("second stream: %d, want 409", status)
	}
	// Browsers send cross-origin with the Authorization header: the preflight is answered.
	pre := c.request(http.MethodOptions, "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	pre.Header.Del("Authorization")
	if resp, err := http.DefaultClient.Do(pre); err != nil || resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	c.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e", http.StatusOK, "")
	if got := next(); got != "{}\x1e" {
		t.Fatalf("handshake response %q", got)
	}
	ts.publish("chat", pubsub.NewInvocation(pubsub.Selector{}, "news", []byte(`["a\nb"]`)), pubsub.Selector{})
	if got := next(); got != `{"type":1,"target":"news","arguments":["a\nb"]}`+"\x1e" {
		t.Errorf("push %q", got)
	}
	c.expect(http.MethodPost, `{"type":1,"invocationId":"7","target":"echo","arguments":[]}`+"\x1e", http.StatusOK, "")
	if got := next(); !strings.HasPrefix(got, `{"type":3,"invocationId":"7","error":"Client invocations are not supported`) {
		t.Errorf("completion %q", got)
	}
	// Only long polling stops with DELETE (ASP.NET Core answers other transports 400 alike).
	if status, _, _ := c.do(http.MethodDelete, ""); status != http.StatusBadRequest {
		t.Errorf("DELETE: %d, want 400", status)
	}
	if err := ts.svc.Hub("chat").Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpClose, To: pubsub.Selector{Kind: pubsub.ToConnection, Name: c.connectionID}, Reason: "bye"}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != `{"type":7,"error":"bye"}`+"\x1e" {
		t.Errorf("close message %q", got)
	}
	if got := next(); got != "EOF" {
		t.Errorf("after the close message %q, want the stream's end", got)
	}
	if status, _, _ := c.do(http.MethodPost, `{"type":6}`+"\x1e"); status != http.StatusNotFound {
		t.Errorf("POST after the end: %d, want 404", status)
	}
}

// MessagePack has no text form: the Server-Sent Events transport refuses it at the handshake, with
// ASP.NET Core's words, and ends.
func TestEventStreamRefusesMessagePack(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.negotiateHTTP("chat")
	next := c.eventStream()
	c.expect(http.MethodPost, `{"protocol":"messagepack","version":1}`+"\x1e", http.StatusOK, "")
	if got := next(); got != `{"error":"Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format."}`+"\x1e" {
		t.Errorf("handshake response %q", got)
	}
	if got := next(); got != "EOF" {
		t.Errorf("after the refusal %q, want the stream's end", got)
	}
}

func TestLongPolling(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.negotiateHTTP("chat")
	// The first GET is answered at once and empty: the transport is connected.
	c.expect(http.MethodGet, "", http.StatusOK, "")
	c.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e"+`{"type":1,"invocationId":"1","target":"t","arguments":[]}`+"\x1e", http.StatusOK, "")
	ts.publish("chat", pubsub.NewInvocation(pubsub.Selector{}, "news", []byte(`[1]`)), pubsub.Selector{})
	testkit.WaitFor(t, "the push written to the outbox", func() bool {
		c, ok := ts.svc.Hub("chat").Connection(c.connectionID)
		return ok && strings.Contains(string(pollable(ts.srv, c)), "news")
	})
	// Everything queued goes in one poll, in order.
	status, ctype, body := c.do(http.MethodGet, "")
	want := "{}\x1e" + `{"type":3,"invocationId":"1","error":"` + invocationRefused + `"}` + "\x1e" + `{"type":1,"target":"news","arguments":[1]}` + "\x1e"
	// ASP.NET Core's LongPollingServerTransport sends data as application/octet-stream whatever
	// the transfer format.
	if status != http.StatusOK || ctype != "application/octet-stream" || body != want {
		t.Errorf("poll: %d %s %q, want %q", status, ctype, body, want)
	}
	c.expect(http.MethodDelete, "", http.StatusAccepted, "")
	testkit.WaitFor(t, "the connection gone", func() bool {
		_, ok := ts.svc.Hub("chat").Connection(c.connectionID)
		return !ok
	})
	if status, _, _ := c.do(http.MethodGet, ""); status != http.StatusNotFound {
		t.Errorf("poll after DELETE: %d, want 404", status)
	}
}

// pollable is what waits in the outbox of conn for the next poll.
func pollable(s *Server, conn *pubsub.Conn) []byte {
	s.http.mu.Lock()
	defer s.http.mu.Unlock()
	for _, hc := range s.http.conns {
		if hc.pending.connectionID == conn.ID() {
			hc.out.mu.Lock()
			defer hc.out.mu.Unlock()
			return append([]byte(nil), hc.out.buf...)
		}
	}
	return nil
}

// MessagePack goes over long polling as binary; a connection closed by the service gives the
// Close message to the next poll, then 204.
func TestLongPollingMessagePackAndEnd(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	c := ts.negotiateHTTP("chat")
	c.expect(http.MethodGet, "", http.StatusOK, "")
	c.expect(http.MethodPost, `{"protocol":"messagepack","version":1}`+"\x1e", http.StatusOK, "")
	if _, ctype, body := c.do(http.MethodGet, ""); ctype != "application/octet-stream" || body != "{}\x1e" {
		t.Errorf("handshake poll: %s %q", ctype, body)
	}
	if err := ts.svc.Hub("chat").Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpClose, To: pubsub.Selector{Kind: pubsub.ToConnection, Name: c.connectionID}, Reason: "bye"}); err != nil {
		t.Fatal(err)
	}
	status, ctype, body := c.do(http.MethodGet, "")
	if status != http.StatusOK || ctype != "application/octet-stream" || body != string(messagePackProtocol.GoodbyeFor(pubsub.CloseNormal, "bye")) {
		t.Errorf("poll after close: %d %s %q", status, ctype, body)
	}
	c.expect(http.MethodGet, "", http.StatusNoContent, "")
}

// A new poll ends the one in progress with 204 (the client has given up on it) and takes over.
func TestLongPollSuperseded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleServer(t)
		c := ts.connectLongPolling()
		first := make(chan *httptest.ResponseRecorder, 1)
		go func() { first <- c.serve(c.request(http.MethodGet, "")) }()
		synctest.Wait()
		second := make(chan *httptest.ResponseRecorder, 1)
		go func() { second <- c.serve(c.request(http.MethodGet, "")) }()
		synctest.Wait()
		select {
		case w := <-first:
			if w.Code != http.StatusNoContent {
				t.Errorf("superseded poll: %d, want 204", w.Code)
			}
		default:
			t.Fatal("the superseded poll is still waiting")
		}
		c.expect(http.MethodPost, `{"type":1,"invocationId":"9","target":"t","arguments":[]}`+"\x1e", http.StatusOK, "")
		if w := <-second; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"invocationId":"9"`) {
			t.Errorf("new poll: %d %q", w.Code, w.Body)
		}
	})
}

// newBubbleServer is a SignalR front served without a network, for synctest bubbles: requests
// go to its mux directly.
func newBubbleServer(t *testing.T) *testServer {
	keys := accesskey.Keys{Primary: "test-key-0123456789abcdefghijklmnopqrstuvwx"}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := pubsub.NewService(pubsub.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Service: svc, Keys: keys, Logger: logger})
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.HandleFunc("/client/{$}", srv.ServeClient)
	t.Cleanup(func() {
		_ = svc.Shutdown(context.Background(), "test over")
		cancel()
	})
	return &testServer{t: t, url: "http://127.0.0.1", keys: keys, svc: svc, srv: srv, clk: testkit.NewClock(time.Now()), mux: mux}
}

// connectLongPolling negotiates, connects and shakes hands on the long-polling transport without
// a network.
func (ts *testServer) connectLongPolling() *httpClient {
	tok := ts.token("chat", "u1", time.Time{})
	r := httptest.NewRequest(http.MethodPost, ts.url+"/client/negotiate?hub=chat&negotiateVersion=1", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	ts.mux.ServeHTTP(w, r)
	var body struct{ ConnectionID, ConnectionToken string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusOK {
		ts.t.Fatalf("negotiate: %d %s", w.Code, w.Body)
	}
	c := &httpClient{t: ts.t, base: ts.url, hub: "chat", tok: tok, id: body.ConnectionToken, connectionID: body.ConnectionID, handler: ts.mux}
	c.expect(http.MethodGet, "", http.StatusOK, "")
	c.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e", http.StatusOK, "")
	c.expect(http.MethodGet, "", http.StatusOK, "{}\x1e")
	return c
}

// A poll waits 90 s for something to carry, then answers 200 empty (ASP.NET Core's
// LongPollingOptions.PollTimeout), while the client keeps sending its pings.
func TestLongPollTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleServer(t)
		c := ts.connectLongPolling()
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(defaultPingInterval):
					if w := c.serve(c.request(http.MethodPost, `{"type":6}`+"\x1e")); w.Code != http.StatusOK {
						t.Errorf("ping: %d %s", w.Code, w.Body)
					}
				}
			}
		}()
		start := time.Now()
		c.expect(http.MethodGet, "", http.StatusOK, "")
		close(done)
		if waited := time.Since(start); waited != pollTimeout {
			t.Errorf("empty poll after %v, want %v", waited, pollTimeout)
		}
		if _, ok := ts.svc.Hub("chat").Connection(c.connectionID); !ok {
			t.Error("a pinging, polling client was dropped")
		}
	})
}

// A client that stops polling is dropped after the client timeout, as is one that polls but
// sends nothing, not even its pings.
func TestLongPollingClientGone(t *testing.T) {
	for _, polling := range []bool{false, true} {
		t.Run(map[bool]string{false: "no poll", true: "no message"}[polling], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ts := newBubbleServer(t)
				c := ts.connectLongPolling()
				hub := ts.svc.Hub("chat")
				if polling {
					go c.serve(c.request(http.MethodGet, ""))
					time.Sleep(defaultClientTimeout - time.Second)
				} else {
					// Pings keep the client timeout of messages away: only the missing poll counts.
					for range 2 {
						time.Sleep(defaultClientTimeout / 3)
						c.expect(http.MethodPost, `{"type":6}`+"\x1e", http.StatusOK, "")
					}
					time.Sleep(defaultClientTimeout/3 - time.Second)
				}
				synctest.Wait()
				if _, ok := hub.Connection(c.connectionID); !ok {
					t.Fatal("dropped before the client timeout")
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if _, ok := hub.Connection(c.connectionID); ok {
					t.Error("still connected after the client timeout")
				}
			})
		})
	}
}

// Each line of a payload is a data field, a trailing \r dropped, CRLF line ends, an empty line
// last (ASP.NET Core ServerSentEventsMessageFormatter).
func TestAppendEvent(t *testing.T) {
	for in, want := range map[string]string{
		"{}\x1e":        "data: {}\x1e\r\n\r\n",
		"a\nb":          "data: a\r\ndata: b\r\n\r\n",
		"a\r\nb\n":      "data: a\r\ndata: b\r\ndata: \r\n\r\n",
		"\x1e{\"x\":1}": "data: \x1e{\"x\":1}\r\n\r\n",
	} {
		if got := string(appendEvent(nil, []byte(in))); got != want {
			t.Errorf("appendEvent(%q) = %q, want %q", in, got, want)
		}
	}
}

// At shutdown the HTTP server waits for requests in progress: event streams and polls end first,
// with the Close message that invites the client back.
func TestEndHTTPTransports(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	sse := ts.negotiateHTTP("chat")
	next := sse.eventStream()
	sse.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e", http.StatusOK, "")
	if got := next(); got != "{}\x1e" {
		t.Fatalf("handshake response %q", got)
	}
	lp := ts.negotiateHTTP("chat")
	lp.expect(http.MethodGet, "", http.StatusOK, "")
	lp.expect(http.MethodPost, `{"protocol":"json","version":1}`+"\x1e", http.StatusOK, "")
	lp.expect(http.MethodGet, "", http.StatusOK, "{}\x1e")
	ts.srv.EndHTTPTransports("the server is shutting down")
	bye := `{"type":7,"error":"the server is shutting down","allowReconnect":true}` + "\x1e"
	if got := next(); got != bye {
		t.Errorf("event stream: %q, want %q", got, bye)
	}
	if got := next(); got != "EOF" {
		t.Errorf("after the close message %q, want the stream's end", got)
	}
	lp.expect(http.MethodGet, "", http.StatusOK, bye)
	lp.expect(http.MethodGet, "", http.StatusNoContent, "")
}
