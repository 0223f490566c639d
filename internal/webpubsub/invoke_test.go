package webpubsub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// invokeApp is an event handler for invocations: "echo" answers with what it was sent, "empty"
// with 204, "fail" with 500, and "hang" until its request is cancelled, which it reports.
type invokeApp struct {
	hanging   chan string // the invocation's ce-id, when a "hang" request arrives
	cancelled chan string // the same, when that request ends without an answer
}

func newInvokeApp(t *testing.T) (*invokeApp, string) {
	a := &invokeApp{hanging: make(chan string, 64), cancelled: make(chan string, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.Header.Get("ce-eventName") {
		case "echo":
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			_, _ = w.Write(body)
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		case "fail":
			http.Error(w, "no", http.StatusInternalServerError)
		case "hang":
			a.hanging <- r.Header.Get("ce-id")
			<-r.Context().Done()
			a.cancelled <- r.Header.Get("ce-id")
		}
	}))
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func newInvokeServer(t *testing.T) (*testServer, *invokeApp) {
	app, url := newInvokeApp(t)
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) {
		o.EventHandlers = map[string][]upstream.Handler{
			"chat": {{URLTemplate: url + "/{event}", UserEvents: "echo,empty,fail,hang"}},
		}
	})
	return ts, app
}

func invoke(id, event, dataType string, data any) map[string]any {
	return map[string]any{"type": "invoke", "invocationId": id, "target": "event", "event": event, "dataType": dataType, "data": data}
}

// Every answer here follows the frames the official client reads: @azure/web-pubsub-client 1.1.0
// dist/esm/protocols/jsonProtocolBase.js (invokeResponse) and webPubSubClient.js
// (_mapInvokeResponse: success true with dataType and data, or false with error.name/message).
func TestInvokeAnswers(t *testing.T) {
	ts, _ := newInvokeServer(t)
	c := ts.dial("chat", ProtocolReliableJSON, accesskey.ClientClaims{UserID: "u"})
	tests := []struct {
		name string
		send map[string]any
		want map[string]any
	}{{
		name: "json",
		send: invoke("1", "echo", "json", map[string]any{"a": 1.0}),
		want: map[string]any{"type": "invokeResponse", "invocationId": "1", "success": true, "dataType": "json", "data": map[string]any{"a": 1.0}},
	}, {
		name: "text",
		send: invoke("2", "echo", "text", "hi"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "2", "success": true, "dataType": "text", "data": "hi"},
	}, {
		name: "binary",
		send: invoke("3", "echo", "binary", "AAEC"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "3", "success": true, "dataType": "binary", "data": "AAEC"},
	}, {
		name: "no reply",
		send: invoke("4", "empty", "text", "x"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "4", "success": true},
	}, {
		name: "handler fails",
		send: invoke("5", "fail", "text", "x"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "5", "success": false,
			"error": map[string]any{"name": "InternalServerError", "message": "the event handler failed"}},
	}, {
		name: "no handler for the event",
		send: invoke("6", "other", "text", "x"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "6", "success": false,
			"error": map[string]any{"name": "BadRequest", "message": `no event handler is configured for event "other"`}},
	}, {
		name: "unknown target",
		send: map[string]any{"type": "invoke", "invocationId": "7", "target": "group", "event": "echo"},
		want: map[string]any{"type": "invokeResponse", "invocationId": "7", "success": false,
			"error": map[string]any{"name": "BadRequest", "message": `unsupported invocation target "group": only event is supported`}},
	}, {
		name: "bad data",
		send: invoke("8", "echo", "binary", "not base64!"),
		want: map[string]any{"type": "invokeResponse", "invocationId": "8", "success": false,
			"error": map[string]any{"name": "BadRequest", "message": "data is not valid base64"}},
	}, {
		name: "no data",
		send: map[string]any{"type": "invoke", "invocationId": "9", "target": "event", "event": "echo"},
		want: map[string]any{"type": "invokeResponse", "invocationId": "9", "success": true, "dataType": "json", "data": nil},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.send)
			if got := c.next(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestInvocationsRunBesideTheReader holds invocations at the handler and checks that the
// connection still answers, that an invocation can be cancelled, which cancels its request to
// the handler and answers nothing, and that ids and numbers in progress are bounded.
func TestInvocationsRunBesideTheReader(t *testing.T) {
	ts, app := newInvokeServer(t)
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "u"})

	c.send(invoke("slow", "hang", "text", "x"))
	<-app.hanging
	c.send(map[string]any{"type": "ping"})
	if m := c.next(); m["type"] != "pong" {
		t.Fatalf("got %v while an invocation waits, want pong", m)
	}
	c.send(invoke("fast", "echo", "text", "x"))
	if m := c.next(); m["invocationId"] != "fast" || m["success"] != true {
		t.Fatalf("got %v, want the second invocation answered before the first", m)
	}

	c.send(invoke("slow", "echo", "text", "x"))
	if m := c.next(); m["invocationId"] != "slow" || m["success"] != false || m["error"].(map[string]any)["name"] != "Duplicate" {
		t.Fatalf("got %v, want a Duplicate failure for an id in progress", m)
	}

	c.send(map[string]any{"type": "cancelInvocation", "invocationId": "slow"})
	<-app.cancelled
	c.send(map[string]any{"type": "cancelInvocation", "invocationId": "unknown"})
	// Per connection, messages are answered in order: the pong proves that neither
	// cancellation was answered.
	c.send(map[string]any{"type": "ping"})
	if m := c.next(); m["type"] != "pong" {
		t.Fatalf("got %v after cancelling, want nothing but the pong", m)
	}

	for i := range maxInvocations {
		c.send(invoke("hold"+string(rune('a'+i)), "hang", "text", "x"))
		<-app.hanging
	}
	c.send(invoke("one-more", "echo", "text", "x"))
	if m := c.next(); m["invocationId"] != "one-more" || m["error"].(map[string]any)["name"] != "TooManyRequests" {
		t.Fatalf("got %v, want TooManyRequests past %d invocations", m, maxInvocations)
	}
	// Closing the connection cancels what it still waits for.
	_ = c.ws.Close()
	for range maxInvocations {
		<-app.cancelled
	}
}

func TestInvokeWithoutIDClosesTheConnection(t *testing.T) {
	ts, _ := newInvokeServer(t)
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
	c.send(map[string]any{"type": "invoke", "target": "event", "event": "echo"})
	if code := c.closeCode(); code != pubsub.CloseInvalidPayload {
		t.Fatalf("close code %d, want %d", code, pubsub.CloseInvalidPayload)
	}
}

// TestInvocationTimeout lets fake time run past the event timeout of a handler that never
// answers.
func TestInvocationTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodOptions {
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Webhook-Allowed-Origin": {"*"}}, Body: http.NoBody}, nil
			}
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		events := upstream.New("chat", []upstream.Handler{{URLTemplate: "http://app.test/{event}", UserEvents: "*"}},
			upstream.Options{HTTPClient: &http.Client{Transport: hang}})
		defer events.Close()
		sess := &session{events: events, upstream: &upstream.Conn{ConnectionID: "c"}}

		start := time.Now()
		answer, err := askHandler(context.Background(), sess, "1", "e", pubsub.Text, []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != eventTimeout {
			t.Errorf("after %v: err %v, want the deadline after %v", time.Since(start), err, eventTimeout)
		}
		want := `{"type":"invokeResponse","invocationId":"1","success":false,"error":{"name":"InternalServerError","message":"the event handler did not answer in time"}}`
		if string(answer) != want {
			t.Errorf("answer %s\nwant %s", answer, want)
		}

		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			time.Sleep(time.Second)
			cancel(errCancelled)
		}()
		if answer, _ := askHandler(ctx, sess, "2", "e", pubsub.Text, []byte("x")); answer != nil {
			t.Errorf("a cancelled invocation answered %s", answer)
		}
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestInvokeResponseFrames(t *testing.T) {
	for _, tt := range []struct {
		got  []byte
		want string
	}{
		{invokeSuccess(`a"b`, nil), `{"type":"invokeResponse","invocationId":"a\"b","success":true}`},
		{invokeSuccess("1", &upstream.Reply{DataType: pubsub.JSON, Data: []byte(`[1]`)}), `{"type":"invokeResponse","invocationId":"1","success":true,"dataType":"json","data":[1]}`},
		{invokeFailure("1", "BadRequest", "m"), `{"type":"invokeResponse","invocationId":"1","success":false,"error":{"name":"BadRequest","message":"m"}}`},
	} {
		if string(tt.got) != tt.want || !json.Valid(tt.got) {
			t.Errorf("got %s\nwant %s", tt.got, tt.want)
		}
	}
}

// An invocation over the inbound rate is answered, so that its caller does not wait in vain.
func TestInvokeOverTheRate(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxInboundPerSecond: 2, MaxInboundBurst: 2})
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{})
	for _, id := range []string{"1", "2", "3"} {
		c.send(invoke(id, "e", "text", "x"))
	}
	for _, want := range []string{"BadRequest", "BadRequest", "TooManyRequests"} {
		m := c.next()
		if e, _ := m["error"].(map[string]any); m["type"] != "invokeResponse" || e["name"] != want {
			t.Fatalf("got %v, want an invokeResponse failing with %s", m, want)
		}
	}
}

// Start validates the configured event handlers before any client connects.
func TestStartValidatesEventHandlers(t *testing.T) {
	var validations atomic.Int32
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			validations.Add(1)
			w.Header().Set("WebHook-Allowed-Origin", "*")
		}
	}))
	t.Cleanup(h.Close)
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) {
		o.EventHandlers = map[string][]upstream.Handler{"Chat": {{URLTemplate: h.URL + "/{event}", UserEvents: "*"}}}
	})
	ts.srv.Start()
	testkit.WaitFor(t, "the handler's validation", func() bool { return validations.Load() == 1 })
}
