package upstream

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

func sign(id string) string { return "sha256=" + id }

func TestEventRequests(t *testing.T) {
	full := func() *Conn {
		return &Conn{ConnectionID: "c1", UserID: "u1", Subprotocol: "json.webpubsub.azure.v1"}
	}
	anonymous := func() *Conn { return &Conn{ConnectionID: "c2"} }
	tests := []struct {
		name     string
		conn     func() *Conn
		send     func(*Client, *Conn) error
		path     string
		headers  map[string]string // "" means absent
		wantBody string
	}{{
		name: "connect",
		conn: full,
		send: func(c *Client, conn *Conn) error {
			_, err := c.Connect(context.Background(), conn, ConnectRequest{
				Claims:       map[string][]string{"sub": {"u1"}, "role": {"webpubsub.joinLeaveGroup"}},
				Query:        map[string][]string{"foo": {"bar"}},
				Headers:      map[string][]string{"Host": {"h"}},
				Subprotocols: []string{"json.webpubsub.azure.v1"},
			})
			return err
		},
		path: "/api/Chat/connect",
		headers: map[string]string{
			"Content-Type": "application/json", "ce-type": "azure.webpubsub.sys.connect", "ce-id": "0",
			"ce-eventName": "connect", "ce-source": "/hubs/Chat/client/c1", "ce-connectionId": "c1",
			"ce-userId": "u1", "ce-subprotocol": "json.webpubsub.azure.v1", "ce-signature": "sha256=c1",
		},
		wantBody: `{"claims":{"role":["webpubsub.joinLeaveGroup"],"sub":["u1"]},"query":{"foo":["bar"]},"headers":{"Host":["h"]},"subprotocols":["json.webpubsub.azure.v1"],"clientCertificates":[]}`,
	}, {
		name: "connect of a bare request still sends every key",
		conn: anonymous,
		send: func(c *Client, conn *Conn) error {
			_, err := c.Connect(context.Background(), conn, ConnectRequest{})
			return err
		},
		path:     "/api/Chat/connect",
		headers:  map[string]string{"ce-userId": "", "ce-subprotocol": "", "ce-connectionState": ""},
		wantBody: `{"claims":{},"query":{},"headers":{},"subprotocols":[],"clientCertificates":[]}`,
	}, {
		name: "connected",
		conn: full,
		send: func(c *Client, conn *Conn) error { c.Connected(context.Background(), conn); return nil },
		path: "/api/Chat/connected",
		headers: map[string]string{
			"Content-Type": "application/json", "ce-type": "azure.webpubsub.sys.connected", "ce-id": "1",
			"ce-eventName": "connected", "ce-userId": "u1",
		},
		wantBody: `{}`,
	}, {
		name: "connected of an anonymous simple client",
		conn: anonymous,
		send: func(c *Client, conn *Conn) error { c.Connected(context.Background(), conn); return nil },
		path: "/api/Chat/connected",
		headers: map[string]string{
			"ce-source": "/hubs/Chat/client/c2", "ce-connectionId": "c2", "ce-userId": "", "ce-subprotocol": "",
			"ce-signature": "sha256=c2",
		},
		wantBody: `{}`,
	}, {
		name: "disconnected with a reason",
		conn: full,
		send: func(c *Client, conn *Conn) error {
			c.Disconnected(context.Background(), conn, "slow consumer")
			return nil
		},
		path:     "/api/Chat/disconnected",
		headers:  map[string]string{"ce-type": "azure.webpubsub.sys.disconnected", "ce-eventName": "disconnected"},
		wantBody: `{"reason":"slow consumer"}`,
	}, {
		name: "disconnected by the client",
		conn: full,
		send: func(c *Client, conn *Conn) error {
			c.Disconnected(context.Background(), conn, "")
			return nil
		},
		path:     "/api/Chat/disconnected",
		wantBody: `{}`,
	}, {
		name: "user event of a raw text frame",
		conn: anonymous,
		send: func(c *Client, conn *Conn) error {
			_, err := c.UserEvent(context.Background(), conn, "message", "text/plain", []byte("hi"))
			return err
		},
		path: "/api/Chat/message",
		headers: map[string]string{
			"Content-Type": "text/plain", "ce-type": "azure.webpubsub.user.message", "ce-eventName": "message",
			"ce-id": "1",
		},
		wantBody: "hi",
	}, {
		name: "user event with a name to escape",
		conn: full,
		send: func(c *Client, conn *Conn) error {
			_, err := c.UserEvent(context.Background(), conn, "a b/c", "application/octet-stream", []byte{0, 1})
			return err
		},
		path: "/api/Chat/a%20b%2Fc",
		headers: map[string]string{
			"Content-Type": "application/octet-stream", "ce-type": "azure.webpubsub.user.a b/c",
			"ce-eventName": "a b/c",
		},
		wantBody: "\x00\x01",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, events := app(t, noContent)
			c := newClient(t, everything(srv), Options{Sign: sign})
			before := time.Now().UTC().Truncate(time.Second)
			if err := tt.send(c, tt.conn()); err != nil {
				t.Fatal(err)
			}
			got := next(t, events)
			if got.Method != http.MethodPost || got.Path != tt.path {
				t.Errorf("request = %s %s, want POST %s", got.Method, got.Path, tt.path)
			}
			common := map[string]string{
				"ce-specversion": "1.0", "ce-awpsversion": "1.0", "ce-hub": "Chat",
				"WebHook-Request-Origin": testOrigin, "Cookie": "",
			}
			for k, want := range common {
				if g := got.Header.Get(k); g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
			for k, want := range tt.headers {
				if vs := got.Header.Values(k); want == "" && len(vs) > 0 || want != "" && !reflect.DeepEqual(vs, []string{want}) {
					t.Errorf("%s = %q, want %q", k, vs, want)
				}
			}
			ceTime, err := time.Parse("2006-01-02T15:04:05Z", got.Header.Get("ce-time"))
			if err != nil || ceTime.Before(before) || ceTime.After(time.Now().UTC()) {
				t.Errorf("ce-time = %q (%v), want UTC seconds of now", got.Header.Get("ce-time"), err)
			}
			if string(got.Body) != tt.wantBody {
				t.Errorf("body = %s, want %s", got.Body, tt.wantBody)
			}
		})
	}
}

// TestHeaderSpelling checks the header names as they leave the client: HTTP ignores case, but
// handlers written against the cloud service may not.
func TestHeaderSpelling(t *testing.T) {
	var keys []string
	c := newClient(t, []Handler{{URLTemplate: "http://app.test/{event}", UserEvents: "*"}}, Options{
		Sign: sign,
		HTTPClient: memClient(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions {
				w.Header().Set("WebHook-Allowed-Origin", "*")
				return
			}
			for k := range r.Header {
				keys = append(keys, k)
			}
			w.Header().Set("ce-connectionState", "s")
		}),
	})
	conn := &Conn{ConnectionID: "c", UserID: "u", Subprotocol: "p"}
	for range 2 { // the second event carries the state
		keys = nil
		if _, err := c.UserEvent(context.Background(), conn, "e", "text/plain", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		"Content-Type", "ce-specversion", "ce-awpsversion", "ce-type", "ce-source", "ce-id", "ce-time",
		"ce-hub", "ce-connectionId", "ce-eventName", "ce-userId", "ce-subprotocol", "ce-connectionState",
		"ce-signature", "WebHook-Request-Origin",
	} {
		if !slices.Contains(keys, want) {
			t.Errorf("header %s not sent as spelt (sent %q)", want, keys)
		}
	}
}

func TestEventIDsCountPerConnection(t *testing.T) {
	srv, events := app(t, noContent)
	c := newClient(t, everything(srv), Options{})
	a, b := &Conn{ConnectionID: "a"}, &Conn{ConnectionID: "b"}
	ctx := context.Background()
	if _, err := c.Connect(ctx, a, ConnectRequest{}); err != nil {
		t.Fatal(err)
	}
	c.Connected(ctx, a)
	c.Connected(ctx, b)
	if _, err := c.UserEvent(ctx, a, "e", "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	c.Disconnected(ctx, a, "")
	var got []string
	for range 5 {
		r := next(t, events)
		got = append(got, r.Header.Get("ce-connectionId")+":"+r.Header.Get("ce-id"))
	}
	if want := []string{"a:0", "a:1", "b:1", "a:2", "a:3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ids = %q, want %q", got, want)
	}
}

func TestSignatureAndOrigin(t *testing.T) {
	srv, events := app(t, noContent)
	// Zero options: no signature, and an origin that express accepts.
	c := New("Chat", everything(srv), Options{})
	t.Cleanup(c.Close)
	c.Connected(context.Background(), &Conn{ConnectionID: "c"})
	got := next(t, events)
	if vs := got.Header.Values("ce-signature"); len(vs) != 0 {
		t.Errorf("ce-signature = %q without a signer", vs)
	}
	if o := got.Header.Get("WebHook-Request-Origin"); o != "localhost" {
		t.Errorf("WebHook-Request-Origin = %q, want localhost", o)
	}
}

func TestConnectAnswers(t *testing.T) {
	big := bytes.Repeat([]byte(" "), maxAnswerBytes+1)
	strp := func(s string) *string { return &s }
	tests := []struct {
		name        string
		status      int
		contentType string
		body        []byte
		want        *ConnectResponse
		wantReject  *RejectError
		wantErr     string
	}{
		{name: "204 accepts", status: 204, want: &ConnectResponse{}},
		{name: "empty 200 accepts", status: 200, want: &ConnectResponse{}},
		{
			name: "200 sets everything", status: 200, contentType: "application/json; charset=utf-8",
			body: []byte(`{"userId":"u9","groups":["g1","g2"],"roles":["webpubsub.sendToGroup"],"subprotocol":"json.webpubsub.azure.v1","future":{"x":1}}`),
			want: &ConnectResponse{UserID: strp("u9"), Groups: []string{"g1", "g2"}, Roles: []string{"webpubsub.sendToGroup"}, Subprotocol: "json.webpubsub.azure.v1"},
		},
		{
			name: "empty roles are kept apart from absent ones", status: 200, body: []byte(`{"roles":[],"userId":null}`),
			want: &ConnectResponse{Roles: []string{}},
		},
		{name: "malformed JSON", status: 200, body: []byte(`{"userId":`), wantErr: "not a connect response object"},
		{name: "not an object", status: 200, body: []byte(`["u1"]`), wantErr: "not a connect response object"},
		{name: "wrong field type", status: 200, body: []byte(`{"groups":"g1"}`), wantErr: "not a connect response object"},
		{
			name: "subprotocol the client did not offer", status: 200, body: []byte(`{"subprotocol":"mqtt"}`),
			wantErr: `subprotocol "mqtt"`,
		},
		{name: "oversize answer", status: 200, body: big, wantErr: "larger than"},
		{
			name: "401 with a reason", status: 401, contentType: "text/plain; charset=utf-8", body: []byte("who are you"),
			wantReject: &RejectError{Status: 401, Body: []byte("who are you"), ContentType: "text/plain; charset=utf-8"},
		},
		{name: "500 without a body", status: 500, wantReject: &RejectError{Status: 500, Body: []byte{}}},
		{name: "redirects are not followed", status: 307, wantReject: &RejectError{Status: 307, Body: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, events := app(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					t.Error("redirect followed")
				}
				w.Header()["Content-Type"] = nil // no sniffed type unless the case sets one
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.status == 307 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(tt.body)
			})
			c := newClient(t, everything(srv), Options{})
			res, err := c.Connect(context.Background(), &Conn{ConnectionID: "c"}, ConnectRequest{
				Subprotocols: []string{"json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1"},
			})
			next(t, events)
			var rej *RejectError
			switch {
			case tt.wantReject != nil:
				if !errors.As(err, &rej) || !reflect.DeepEqual(rej, tt.wantReject) {
					t.Fatalf("err = %#v, want %#v", err, tt.wantReject)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.As(err, &rej) {
					t.Fatalf("err = %v, want a failure (not a rejection) saying %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(res, tt.want) {
					t.Errorf("response = %+v, want %+v", res, tt.want)
				}
			}
		})
	}
}

func TestConnectWithoutHandlerAccepts(t *testing.T) {
	srv, events := app(t, noContent)
	c := newClient(t, []Handler{{URLTemplate: srv.URL + "/{event}", SystemEvents: []string{"connected"}}}, Options{})
	if c.HasConnect() {
		t.Fatal("HasConnect with no connect handler")
	}
	res, err := c.Connect(context.Background(), &Conn{ConnectionID: "c"}, ConnectRequest{})
	if err != nil || !reflect.DeepEqual(res, &ConnectResponse{}) {
		t.Fatalf("Connect = %+v, %v; want an unchanged accept", res, err)
	}
	noMore(t, events)
}

func TestConnectTransportFailure(t *testing.T) {
	srv, _ := app(t, noContent)
	c := newClient(t, everything(srv), Options{})
	conn := &Conn{ConnectionID: "c"}
	if _, err := c.UserEvent(context.Background(), conn, "warm-up", "text/plain", nil); err != nil {
		t.Fatal(err) // the URL is validated before the app goes away
	}
	srv.Close()
	_, err := c.Connect(context.Background(), conn, ConnectRequest{})
	var rej *RejectError
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("err = %v, want a transport failure", err)
	}
}

func TestUserEventReplies(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string // "-" sends none
		body        []byte
		want        *Reply
		wantErr     string
	}{
		{name: "204", status: 204, contentType: "-"},
		{name: "empty 200 from express success()", status: 200, contentType: "application/octet-stream"},
		{name: "text", status: 200, contentType: "text/plain; charset=utf-8", body: []byte("hi"), want: &Reply{pubsub.Text, []byte("hi")}},
		{name: "json", status: 200, contentType: "application/json; charset=utf-8", body: []byte(`{"a":1}`), want: &Reply{pubsub.JSON, []byte(`{"a":1}`)}},
		{name: "json string", status: 200, contentType: "Application/JSON", body: []byte(`"s"`), want: &Reply{pubsub.JSON, []byte(`"s"`)}},
		{name: "binary", status: 200, contentType: "application/octet-stream", body: []byte{0, 255}, want: &Reply{pubsub.Binary, []byte{0, 255}}},
		{name: "no type, text", status: 200, contentType: "-", body: []byte("héllo"), want: &Reply{pubsub.Text, []byte("héllo")}},
		{name: "no type, not UTF-8", status: 200, contentType: "-", body: []byte{0xff, 0xfe}, want: &Reply{pubsub.Binary, []byte{0xff, 0xfe}}},
		{name: "201 counts as success", status: 201, contentType: "text/plain", body: []byte("ok"), want: &Reply{pubsub.Text, []byte("ok")}},
		{name: "text not UTF-8", status: 200, contentType: "text/plain", body: []byte{0xff}, wantErr: "not valid UTF-8"},
		{name: "json not UTF-8", status: 200, contentType: "application/json", body: []byte("\"\xff\""), wantErr: "not valid UTF-8"},
		{name: "invalid json", status: 200, contentType: "application/json", body: []byte(`{"a":`), wantErr: "not valid JSON"},
		{name: "other type", status: 200, contentType: "image/png", body: []byte("x"), wantErr: `"image/png"`},
		{name: "malformed type", status: 200, contentType: "text/", body: []byte("x"), wantErr: "content type"},
		{name: "exactly the limit", status: 200, contentType: "application/octet-stream", body: make([]byte, maxAnswerBytes), want: &Reply{pubsub.Binary, make([]byte, maxAnswerBytes)}},
		{name: "over the limit", status: 200, contentType: "application/octet-stream", body: make([]byte, maxAnswerBytes+1), wantErr: "larger than"},
		{name: "handler error", status: 500, contentType: "text/plain", body: []byte("boom"), wantErr: "answered 500"},
		{name: "redirect", status: 302, contentType: "-", wantErr: "answered 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, events := app(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType == "-" {
					w.Header()["Content-Type"] = nil
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(tt.body)
			})
			c := newClient(t, everything(srv), Options{})
			got, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "chat", "application/json", []byte(`[1]`))
			if req := next(t, events); req.Path != "/api/Chat/chat" || string(req.Body) != `[1]` {
				t.Errorf("request = %s %q", req.Path, req.Body)
			}
			noMore(t, events)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reply = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStateAndCookies follows one connection through its events: state set by blocking
// events, cookies by any success, nothing kept from failures, nothing shared between
// connections.
func TestStateAndCookies(t *testing.T) {
	type answer struct {
		status int
		state  string // "" sends no header
		cookie string
	}
	answers := map[string]answer{
		"connect":      {200, "s1", "a=1; Path=/"},
		"first":        {200, "s2", "b=2"},
		"connected":    {204, "ignored", "c=3"},
		"failed":       {500, "s4", "d=4"},
		"keep":         {204, "", ""},
		"disconnected": {204, "", ""},
	}
	srv, events := app(t, func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.Header.Get("ce-eventName")]
		if a.state != "" {
			w.Header().Set("ce-connectionState", a.state)
		}
		if a.cookie != "" {
			w.Header().Set("Set-Cookie", a.cookie)
		}
		w.WriteHeader(a.status)
	})
	c := newClient(t, everything(srv), Options{})
	ctx := context.Background()
	conn, other := &Conn{ConnectionID: "c"}, &Conn{ConnectionID: "other"}
	if _, err := c.Connect(ctx, conn, ConnectRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"first", "failed", "keep"} {
		_, _ = c.UserEvent(ctx, conn, e, "text/plain", nil)
	}
	c.Connected(ctx, conn)
	c.Disconnected(ctx, conn, "")
	c.Connected(ctx, other)

	// Cookies come as a browser sends them: longer paths first (b and c default to /api/Chat).
	want := []struct{ event, state, cookies string }{
		{"connect", "", ""},
		{"first", "s1", "a=1"},
		{"failed", "s2", "b=2; a=1"},
		{"keep", "s2", "b=2; a=1"},
		{"connected", "s2", "b=2; a=1"},
		{"disconnected", "s2", "b=2; c=3; a=1"},
		{"connected", "", ""},
	}
	for _, w := range want {
		r := next(t, events)
		if e := r.Header.Get("ce-eventName"); e != w.event {
			t.Fatalf("event %s, want %s", e, w.event)
		}
		if s := r.Header.Get("ce-connectionState"); s != w.state {
			t.Errorf("%s: ce-connectionState = %q, want %q", w.event, s, w.state)
		}
		if ck := r.Header.Get("Cookie"); ck != w.cookies {
			t.Errorf("%s: Cookie = %q, want %q", w.event, ck, w.cookies)
		}
	}
}

// TestHandlerOrder checks that an event goes to the first handler that takes it, as in the
// Azure portal where the order of event handler settings is their priority.
func TestHandlerOrder(t *testing.T) {
	srv, events := app(t, noContent)
	c := newClient(t, []Handler{
		{URLTemplate: srv.URL + "/first/{event}", UserEvents: "chat, Move", SystemEvents: []string{"Connected"}},
		{URLTemplate: srv.URL + "/second/{event}", UserEvents: "*", SystemEvents: []string{"connect", "connected", "disconnected"}},
		{URLTemplate: srv.URL + "/never/{event}", UserEvents: "*", SystemEvents: []string{"connect", "connected", "disconnected"}},
	}, Options{})
	ctx := context.Background()
	conn := &Conn{ConnectionID: "c"}
	if _, err := c.Connect(ctx, conn, ConnectRequest{}); err != nil {
		t.Fatal(err)
	}
	c.Connected(ctx, conn)
	for _, e := range []string{"chat", "move", "other"} {
		if _, err := c.UserEvent(ctx, conn, e, "text/plain", nil); err != nil {
			t.Fatal(err)
		}
	}
	c.Disconnected(ctx, conn, "")
	for _, want := range []string{"/second/connect", "/first/connected", "/first/chat", "/first/move", "/second/other", "/second/disconnected"} {
		if got := next(t, events).Path; got != want {
			t.Errorf("event went to %s, want %s", got, want)
		}
	}
	noMore(t, events)
}

func TestWants(t *testing.T) {
	tests := []struct {
		name        string
		handlers    []Handler
		hasConnect  bool
		wants, nots []string
	}{
		{name: "no handlers", nots: []string{"message"}},
		{name: "system only", handlers: []Handler{{SystemEvents: []string{"CONNECT"}}}, hasConnect: true, nots: []string{"message", "connect"}},
		{name: "all user events", handlers: []Handler{{UserEvents: "*"}}, wants: []string{"message", "x"}},
		{name: "list", handlers: []Handler{{UserEvents: " a ,B,, "}}, wants: []string{"a", "A", "b"}, nots: []string{"c", "", "a ,B"}},
		{name: "second handler", handlers: []Handler{{UserEvents: "a"}, {UserEvents: "b", SystemEvents: []string{"connect"}}}, hasConnect: true, wants: []string{"a", "b"}, nots: []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.handlers, Options{})
			if got := c.HasConnect(); got != tt.hasConnect {
				t.Errorf("HasConnect = %v", got)
			}
			for _, e := range tt.wants {
				if !c.Wants(e) {
					t.Errorf("Wants(%q) = false", e)
				}
			}
			for _, e := range tt.nots {
				if c.Wants(e) {
					t.Errorf("Wants(%q) = true", e)
				}
			}
		})
	}
}

func TestUserEventWithoutHandler(t *testing.T) {
	srv, events := app(t, noContent)
	c := newClient(t, []Handler{{URLTemplate: srv.URL + "/{event}", UserEvents: "a"}}, Options{})
	if _, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "b", "text/plain", nil); err == nil {
		t.Fatal("a user event no handler takes succeeded")
	}
	noMore(t, events)
}

func TestNotificationFailuresAreLogged(t *testing.T) {
	tests := []struct {
		name             string
		allowed          bool
		errors, refusals int
	}{
		// Each failed delivery is news; a refused URL is news once, not with every event.
		{name: "handler error", allowed: true, errors: 3},
		{name: "refused URL", refusals: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodOptions && tt.allowed {
					w.Header().Set("WebHook-Allowed-Origin", "*")
				}
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusBadGateway)
				}
			}))
			t.Cleanup(srv.Close)
			var l logs
			c := newClient(t, everything(srv), Options{Logger: l.logger()})
			conn := &Conn{ConnectionID: "c"}
			c.Connected(context.Background(), conn)
			c.Disconnected(context.Background(), conn, "bye")
			c.Connected(context.Background(), &Conn{ConnectionID: "d"})
			if n := l.count("event handler answered with an error status"); n != tt.errors {
				t.Errorf("%d error answers logged, want %d", n, tt.errors)
			}
			if n := l.count("event handler failed validation"); n != tt.refusals {
				t.Errorf("%d refusals logged, want %d", n, tt.refusals)
			}
			if n := l.count("event not delivered"); n != 0 {
				t.Errorf("%d failures logged, want none", n)
			}
		})
	}
}
