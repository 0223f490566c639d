package upstream

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testOrigin = "huddle.test:8080"

// request is what the fake app saw of one request.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func record(r *http.Request) request {
	body, _ := io.ReadAll(r.Body)
	return request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body}
}

// app starts a fake event handler that accepts validation from any origin and answers events
// with answer. It returns the server and every event request, in arrival order.
func app(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan request) {
	t.Helper()
	events := make(chan request, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			return
		}
		events <- record(r)
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, events
}

func newClient(t *testing.T, handlers []Handler, opts Options) *Client {
	t.Helper()
	if opts.Origin == "" {
		opts.Origin = testOrigin
	}
	c := New("Chat", handlers, opts)
	t.Cleanup(c.Close)
	return c
}

// everything routes every event to srv.
func everything(srv *httptest.Server) []Handler {
	return []Handler{{
		URLTemplate:  srv.URL + "/api/{hub}/{event}",
		UserEvents:   "*",
		SystemEvents: []string{"connect", "connected", "disconnected"},
	}}
}

func noContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// next returns the next request the app received; every call that sends one has returned
// by the time the test asks, so an empty channel is a failure rather than something to wait for.
func next(t *testing.T, events <-chan request) request {
	t.Helper()
	select {
	case r := <-events:
		return r
	default:
		t.Fatal("the app received no request")
		return request{}
	}
}

func noMore(t *testing.T, events <-chan request) {
	t.Helper()
	select {
	case r := <-events:
		t.Fatalf("unexpected request %s %s", r.Method, r.Path)
	default:
	}
}

// memTransport serves requests in-process with handler. Tests that use testing/synctest need
// it because real sockets never count as durably blocked, so fake time would not advance; it
// also shows the handler requests exactly as the client built them, header spelling included.
type memTransport struct{ handler http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.handler.ServeHTTP(rec, r)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		// The handlers of these tests return when the request's context ends.
		<-done
		return nil, context.Cause(r.Context())
	}
}

func memClient(h http.HandlerFunc) *http.Client {
	return &http.Client{Transport: memTransport{h}}
}

// logs keeps the messages logged, for tests that count them.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) logger() *slog.Logger {
	return slog.New(logHandler{l})
}

func (l *logs) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(l.msgs), func(m string) bool { return !strings.HasPrefix(m, prefix) }))
}

type logHandler struct{ l *logs }

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logHandler) WithGroup(string) slog.Handler            { return h }
func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.msgs = append(h.l.msgs, r.Message)
	return nil
}
