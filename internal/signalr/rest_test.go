package signalr

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

const (
	primaryKey   = "primary-access-key-for-tests-0123456789"
	secondaryKey = "secondary-access-key-for-tests-0123456789"
)

// received is what a test connection was sent: the invoked method, its arguments and the group
// of a group send, as the hub handed them to the connection's codec.
type received struct {
	Target string          `json:"target"`
	Args   json.RawMessage `json:"args"`
	Group  string          `json:"group,omitempty"`
}

// recordingCodec renders a message as the JSON of a [received], so that the frames a test
// connection gets show the Message's Target, Data and Group exactly.
type recordingCodec struct{}

func (recordingCodec) Format() pubsub.Format { return pubsub.FormatWebPubSubJSON }

func (recordingCodec) Encode(m *pubsub.Message) pubsub.Frame {
	b, err := json.Marshal(received{Target: m.Target, Args: m.Data, Group: m.Group})
	if err != nil {
		panic(err)
	}
	return pubsub.Frame{Payload: b}
}

func (recordingCodec) AppendSequence(dst []byte, _ uint64) []byte { return dst }

func (recordingCodec) Goodbye(reason string) []byte { return []byte("bye:" + reason) }

// recordingSocket keeps the payloads of the data frames the hub writes (server frames are
// unmasked, RFC 6455 §5.2) and whether and why the connection was closed.
type recordingSocket struct {
	mu     sync.Mutex
	frames []string
	closed bool
}

func (s *recordingSocket) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := p; len(b) >= 2; {
		op, n, hdr := b[0]&0x0f, int(b[1]&0x7f), 2
		switch n {
		case 126:
			n, hdr = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, hdr = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if op == 1 || op == 2 {
			s.frames = append(s.frames, string(b[hdr:hdr+n]))
		}
		b = b[hdr+n:]
	}
	return len(p), nil
}

func (s *recordingSocket) SetWriteDeadline(time.Time) error { return nil }

func (s *recordingSocket) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

func (s *recordingSocket) snapshot() ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames), s.closed
}

type testConn struct {
	*pubsub.Conn
	sock *recordingSocket
}

// messages waits until the connection has received n frames and returns them decoded.
func (c testConn) messages(t *testing.T, n int) []received {
	t.Helper()
	var frames []string
	testkit.WaitFor(t, "messages", func() bool {
		frames, _ = c.sock.snapshot()
		return len(frames) >= n
	})
	out := make([]received, 0, len(frames))
	for _, f := range frames {
		var m received
		if err := json.Unmarshal([]byte(f), &m); err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		out = append(out, m)
	}
	return out
}

type restServer struct {
	t   *testing.T
	svc *pubsub.Service
	url string
}

// newRESTServer serves the REST API in front of a mux whose other routes answer 418, as the
// Web PubSub API would answer what is not SignalR's.
func newRESTServer(t *testing.T, limits pubsub.Limits) *restServer {
	t.Helper()
	svc, err := pubsub.NewService(pubsub.Options{Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rest := NewREST(RESTOptions{Service: svc, Keys: accesskey.Keys{Primary: primaryKey, Secondary: secondaryKey},
		PublicURL: "https://huddle.example.com:8443", Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	rest.Register(mux)
	srv := httptest.NewServer(rest.Versioned(mux))
	t.Cleanup(func() {
		srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := svc.Shutdown(sctx, "test over"); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
	})
	return &restServer{t: t, svc: svc, url: srv.URL}
}

// connect opens a connection of hub for user ("" for none) whose frames show what the hub handed
// it (recordingCodec).
func (ts *restServer) connect(hub, user string) testConn {
	ts.t.Helper()
	return ts.connectAs(hub, user, recordingCodec{})
}

// connectAs opens a connection of hub for user whose frames are rendered by codec.
func (ts *restServer) connectAs(hub, user string, codec pubsub.Codec) testConn {
	ts.t.Helper()
	c, err := ts.svc.Hub(hub).Connect(pubsub.ConnOptions{UserID: user, Codec: codec}, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	sock := &recordingSocket{}
	if err := c.Attach(sock); err != nil {
		ts.t.Fatal(err)
	}
	return testConn{c, sock}
}

// token signs a REST token as the Management SDK does: HS256 with the access key, aud the
// request URL without the port, nameid the server's name.
func token(t *testing.T, key, aud string, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": aud, "exp": exp.Unix(), "iat": time.Now().Unix(), "nbf": time.Now().Unix(), "nameid": "app-server",
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sdkAudience is the aud the Management SDK signs for a request URL: the URL without its port
// (and, for 2022-06-01, with its query).
func sdkAudience(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = u.Hostname()
	return u.String()
}

type response struct {
	status int
	code   string // x-ms-error-code
	body   string
}

// do calls the API with a token for the URL, signed with the primary key.
func (ts *restServer) do(method, pathAndQuery, body string) response {
	ts.t.Helper()
	u := ts.url + pathAndQuery
	return ts.doWith(method, pathAndQuery, body, token(ts.t, primaryKey, sdkAudience(ts.t, u), time.Now().Add(time.Hour)), "application/json; charset=utf-8")
}

func (ts *restServer) doWith(method, pathAndQuery, body, tok, contentType string) response {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.url+pathAndQuery, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && len(b) > 0 {
		var e struct{ Code, Message string }
		if err := json.Unmarshal(b, &e); err != nil || e.Code != resp.Header.Get("X-Ms-Error-Code") || e.Message == "" {
			ts.t.Errorf("%s %s: error body %s is not {code, message} with the code of x-ms-error-code %q",
				method, pathAndQuery, b, resp.Header.Get("X-Ms-Error-Code"))
		}
	}
	return response{resp.StatusCode, resp.Header.Get("X-Ms-Error-Code"), string(b)}
}

func (ts *restServer) expect(method, pathAndQuery, body string, status int, code string) {
	ts.t.Helper()
	got := ts.do(method, pathAndQuery, body)
	if got.status != status || got.code != code {
		ts.t.Errorf("%s %s = %d %q %s, want %d %q", method, pathAndQuery, got.status, got.code, got.body, status, code)
	}
}

const v2 = "?api-version=2022-06-01"

// TestRESTSend: each send of both versions reaches exactly the connections it names, less the
// excluded ones, as an invocation of its target with its arguments; a send to nobody is 202.
func TestRESTSend(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	a := ts.connect("chat", "u1")
	b := ts.connect("chat", "u2")
	c := ts.connect("chat", "")
	other := ts.connect("other", "u1")
	for _, conn := range []testConn{a, c} {
		if err := ts.svc.Hub("chat").Join(conn.Conn, "g"); err != nil {
			t.Fatal(err)
		}
	}
	sends := []struct {
		path, body string
		to         []testConn
	}{
		{"/api/v1/hubs/Chat", `{"target":"all1","arguments":[1, "two", {"three": 3}]}`, []testConn{a, b, c}},
		{"/api/hubs/chat/:send" + v2 + "&excluded=" + a.ID() + "&excluded=" + c.ID(), `{"Target":"all2","Arguments":[true]}`, []testConn{b}},
		{"/api/v1/hubs/chat?excluded=" + b.ID(), `{"TARGET":"all3"}`, []testConn{a, c}},
		{"/api/v1/hubs/chat/users/u1", `{"target":"user1","arguments":null}`, []testConn{a}},
		{"/api/hubs/CHAT/users/u2/:send" + v2, `{"target":"user2","arguments":[]}`, []testConn{b}},
		{"/api/v1/hubs/chat/connections/" + c.ID(), `{"target":"conn1","arguments":["x"]}`, []testConn{c}},
		{"/api/hubs/chat/connections/" + b.ID() + "/:send" + v2, `{"target":"conn2","arguments":["y"]}`, []testConn{b}},
		{"/api/v1/hubs/chat/groups/g", `{"target":"group1","arguments":[{"k":"v"}]}`, []testConn{a, c}},
		{"/api/hubs/chat/groups/g/:send" + v2 + "&excluded=" + c.ID(), `{"target":"group2","arguments":[2]}`, []testConn{a}},
		// Nobody there: accepted all the same.
		{"/api/v1/hubs/chat/users/nobody", `{"target":"lost","arguments":[]}`, nil},
		{"/api/hubs/chat/connections/nobody/:send" + v2, `{"target":"lost","arguments":[]}`, nil},
		{"/api/hubs/chat/groups/empty/:send" + v2, `{"target":"lost","arguments":[]}`, nil},
	}
	want := map[*pubsub.Conn][]received{}
	for _, s := range sends {
		ts.expect(http.MethodPost, s.path, s.body, http.StatusAccepted, "")
		var body invocation
		if err := json.Unmarshal([]byte(s.body), &body); err != nil {
			t.Fatal(err)
		}
		args := `[]`
		if len(body.Arguments) > 0 && string(body.Arguments) != "null" {
			var compact strings.Builder
			enc := json.NewEncoder(&compact)
			var v any
			_ = json.Unmarshal(body.Arguments, &v)
			_ = enc.Encode(v)
			args = strings.TrimSpace(compact.String())
		}
		group := ""
		if strings.Contains(s.path, "/groups/") {
			group = "g"
		}
		for _, conn := range s.to {
			want[conn.Conn] = append(want[conn.Conn], received{Target: body.Target, Args: json.RawMessage(args), Group: group})
		}
	}
	for name, conn := range map[string]testConn{"a": a, "b": b, "c": c} {
		got := conn.messages(t, len(want[conn.Conn]))
		if !equalReceived(got, want[conn.Conn]) {
			t.Errorf("connection %s received %s, want %s", name, show(got), show(want[conn.Conn]))
		}
	}
	if frames, _ := other.sock.snapshot(); len(frames) != 0 {
		t.Errorf("a connection of another hub received %q", frames)
	}
}

func equalReceived(a, b []received) bool {
	return slices.EqualFunc(a, b, func(x, y received) bool {
		return x.Target == y.Target && x.Group == y.Group && string(x.Args) == string(y.Args)
	})
}

func show(r []received) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// TestRESTApplication: application=<name> addresses the hub {name}_{hub}, lower-cased.
func TestRESTApplication(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	inApp := ts.connect("myapp_chat", "u1")
	plain := ts.connect("chat", "u1")
	ts.expect(http.MethodPost, "/api/hubs/Chat/:send"+v2+"&application=MyApp", `{"target":"hello","arguments":[]}`, http.StatusAccepted, "")
	ts.expect(http.MethodHead, "/api/v1/hubs/chat/users/u1?application=myapp", "", http.StatusOK, "")
	ts.expect(http.MethodPost, "/api/hubs/chat/:send"+v2, `{"target":"plain","arguments":[]}`, http.StatusAccepted, "")
	if got := inApp.messages(t, 1); len(got) != 1 || got[0].Target != "hello" {
		t.Errorf("the application's hub received %s, want hello alone", show(got))
	}
	if got := plain.messages(t, 1); len(got) != 1 || got[0].Target != "plain" {
		t.Errorf("the hub without application received %s, want plain alone", show(got))
	}
}

// TestRESTExistence: the existence checks of both versions answer 200, or 404 with the
// x-ms-error-code RestHubLifetimeManager (Azure/azure-signalr src/Microsoft.Azure.SignalR.Management)
// takes for "no".
func TestRESTExistence(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	c := ts.connect("chat", "u1")
	if err := ts.svc.Hub("chat").Join(c.Conn, "g"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		methods []string
		path    string
		status  int
		code    string
	}{
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/connections/" + c.ID(), 200, ""},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/connections/gone", 404, "Warning.Connection.NotExisted"},
		{[]string{"HEAD"}, "/api/hubs/chat/connections/" + c.ID() + v2, 200, ""},
		{[]string{"HEAD"}, "/api/hubs/chat/connections/gone" + v2, 404, "Warning.Connection.NotExisted"},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/users/u1", 200, ""},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/users/u2", 404, "Warning.User.NotExisted"},
		{[]string{"HEAD"}, "/api/hubs/chat/users/u1" + v2, 200, ""},
		{[]string{"HEAD"}, "/api/hubs/chat/users/u2" + v2, 404, "Warning.User.NotExisted"},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/groups/g", 200, ""},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/groups/h", 404, "Warning.Group.NotExisted"},
		{[]string{"HEAD"}, "/api/hubs/chat/groups/g" + v2, 200, ""},
		{[]string{"HEAD"}, "/api/hubs/chat/groups/h" + v2, 404, "Warning.Group.NotExisted"},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/groups/g/users/u1", 200, ""},
		{[]string{"GET", "HEAD"}, "/api/v1/hubs/chat/groups/h/users/u1", 404, "Info.User.NotInGroup"},
		{[]string{"GET", "HEAD"}, "/api/hubs/chat/users/u1/groups/g" + v2, 200, ""},
		{[]string{"GET", "HEAD"}, "/api/hubs/chat/users/u2/groups/g" + v2, 404, "Info.User.NotInGroup"},
		// Another hub is another world.
		{[]string{"HEAD"}, "/api/v1/hubs/other/connections/" + c.ID(), 404, "Warning.Connection.NotExisted"},
	}
	for _, tt := range tests {
		for _, m := range tt.methods {
			ts.expect(m, tt.path, "", tt.status, tt.code)
		}
	}
}

// inGroup reports whether the connection is a member of group, as the hub's group sends see it.
func inGroup(ts *restServer, c testConn, group string) bool {
	for _, m := range ts.svc.Hub("chat").GroupMembers(group) {
		if m.ConnectionID == c.ID() {
			return true
		}
	}
	return false
}

// TestRESTConnectionGroups: adding a connection to a group, removing it, and removing it from
// every group, in both versions, with the statuses of the swagger files; an unknown connection is
// 404 Error.Connection.NotExisted.
func TestRESTConnectionGroups(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	c := ts.connect("chat", "")
	for _, p := range []string{"/api/v1/hubs/chat/groups/g1/connections/" + c.ID(), "/api/hubs/chat/groups/g2/connections/" + c.ID() + v2} {
		ts.expect(http.MethodPut, p, "", http.StatusOK, "")
	}
	ts.expect(http.MethodPut, "/api/hubs/chat/groups/g3/connections/"+c.ID()+v2, "", http.StatusOK, "")
	if !inGroup(ts, c, "g1") || !inGroup(ts, c, "g2") || !inGroup(ts, c, "g3") {
		t.Fatal("the connection did not join g1, g2 and g3")
	}
	ts.expect(http.MethodDelete, "/api/v1/hubs/chat/groups/g1/connections/"+c.ID(), "", http.StatusOK, "")
	ts.expect(http.MethodDelete, "/api/hubs/chat/groups/g2/connections/"+c.ID()+v2, "", http.StatusOK, "")
	if inGroup(ts, c, "g1") || inGroup(ts, c, "g2") || !inGroup(ts, c, "g3") {
		t.Fatal("the connection is not in g3 alone after leaving g1 and g2")
	}
	ts.expect(http.MethodDelete, "/api/hubs/chat/connections/"+c.ID()+"/groups"+v2, "", http.StatusOK, "")
	if inGroup(ts, c, "g3") {
		t.Fatal("the connection is still in g3 after leaving all groups")
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		ts.expect(m, "/api/v1/hubs/chat/groups/g1/connections/gone", "", http.StatusNotFound, "Error.Connection.NotExisted")
		ts.expect(m, "/api/hubs/chat/groups/g1/connections/gone"+v2, "", http.StatusNotFound, "Error.Connection.NotExisted")
	}
}

// TestRESTUserGroups: a user added to a group is a member with its current and later
// connections, unless ttl=0 (current connections only); removal from the group or from all
// groups ends it. Statuses per version, from the swagger files.
func TestRESTUserGroups(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	first := ts.connect("chat", "u1")
	ts.expect(http.MethodPut, "/api/v1/hubs/chat/groups/kept/users/u1", "", http.StatusAccepted, "")
	ts.expect(http.MethodPut, "/api/hubs/chat/users/u1/groups/timed"+v2+"&ttl=3600", "", http.StatusOK, "")
	ts.expect(http.MethodPut, "/api/hubs/chat/users/u1/groups/now"+v2+"&ttl=0", "", http.StatusOK, "")
	ts.expect(http.MethodPut, "/api/v1/hubs/chat/groups/offline/users/u9?ttl=60", "", http.StatusAccepted, "")
	later := ts.connect("chat", "u1")
	for _, g := range []string{"kept", "timed", "now"} {
		if !inGroup(ts, first, g) {
			t.Errorf("the user's connection is not in %s", g)
		}
	}
	for g, want := range map[string]bool{"kept": true, "timed": true, "now": false} {
		if inGroup(ts, later, g) != want {
			t.Errorf("the user's later connection in %s = %v, want %v", g, !want, want)
		}
	}
	// A user without connections is in the group it was added to.
	ts.expect(http.MethodHead, "/api/hubs/chat/users/u9/groups/offline"+v2, "", http.StatusOK, "")
	if ts.connect("chat", "u9"); !ts.svc.Hub("chat").HasGroup("offline") {
		t.Error("the user's first connection did not join the group it was added to")
	}

	ts.expect(http.MethodDelete, "/api/v1/hubs/chat/groups/kept/users/u1", "", http.StatusAccepted, "")
	ts.expect(http.MethodDelete, "/api/hubs/chat/users/u1/groups/timed"+v2, "", http.StatusNoContent, "")
	if inGroup(ts, first, "kept") || inGroup(ts, later, "timed") {
		t.Error("the user's connections are still in the groups it was removed from")
	}
	ts.expect(http.MethodGet, "/api/hubs/chat/users/u1/groups/kept"+v2, "", http.StatusNotFound, "Info.User.NotInGroup")
	if inGroup(ts, ts.connect("chat", "u1"), "kept") {
		t.Error("a connection after the removal joined the group")
	}

	ts.expect(http.MethodPut, "/api/hubs/chat/users/u1/groups/a"+v2, "", http.StatusOK, "")
	ts.expect(http.MethodPut, "/api/hubs/chat/users/u9/groups/b"+v2, "", http.StatusOK, "")
	ts.expect(http.MethodDelete, "/api/hubs/chat/users/u1/groups"+v2, "", http.StatusNoContent, "")
	ts.expect(http.MethodDelete, "/api/v1/hubs/chat/users/u9/groups", "", http.StatusOK, "")
	for _, u := range []string{"u1", "u9"} {
		for _, g := range []string{"a", "b", "now", "offline"} {
			ts.expect(http.MethodHead, "/api/hubs/chat/users/"+u+"/groups/"+g+v2, "", http.StatusNotFound, "Info.User.NotInGroup")
		}
	}

	for _, ttl := range []string{"-1", "x", "2147483648"} {
		ts.expect(http.MethodPut, "/api/hubs/chat/users/u1/groups/a"+v2+"&ttl="+ttl, "", http.StatusBadRequest, "InvalidRequest")
	}
}

// TestRESTClose: closing one connection, a hub's, a group's or a user's, with the reason and
// exclusions given.
func TestRESTClose(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	conns := map[string]testConn{}
	for _, name := range []string{"one", "v1", "g1", "g2", "u1", "keep", "all"} {
		user := ""
		if name == "u1" || name == "keep" {
			user = "u"
		}
		conns[name] = ts.connect("chat", user)
	}
	for _, name := range []string{"g1", "g2"} {
		if err := ts.svc.Hub("chat").Join(conns[name].Conn, "g"); err != nil {
			t.Fatal(err)
		}
	}
	closedWith := func(name, reason string) {
		t.Helper()
		testkit.WaitFor(t, name+" closed", func() bool { _, closed := conns[name].sock.snapshot(); return closed })
		frames, _ := conns[name].sock.snapshot()
		if len(frames) == 0 || frames[len(frames)-1] != "bye:"+reason {
			t.Errorf("%s was told %q, want bye:%s", name, frames, reason)
		}
	}
	ts.expect(http.MethodDelete, "/api/hubs/chat/connections/"+conns["one"].ID()+v2+"&reason=bye%20one", "", http.StatusOK, "")
	closedWith("one", "bye one")
	ts.expect(http.MethodDelete, "/api/v1/hubs/chat/connections/"+conns["v1"].ID()+"?reason=old", "", http.StatusAccepted, "")
	closedWith("v1", "old")
	ts.expect(http.MethodDelete, "/api/hubs/chat/connections/gone"+v2, "", http.StatusOK, "")
	ts.expect(http.MethodPost, "/api/hubs/chat/groups/g/:closeConnections"+v2+"&excluded="+conns["g2"].ID()+"&reason=group", "", http.StatusNoContent, "")
	closedWith("g1", "group")
	ts.expect(http.MethodPost, "/api/hubs/chat/users/u/:closeConnections"+v2+"&excluded="+conns["keep"].ID(), "", http.StatusNoContent, "")
	closedWith("u1", "")
	for _, name := range []string{"g2", "keep", "all"} {
		if _, closed := conns[name].sock.snapshot(); closed {
			t.Errorf("%s was closed", name)
		}
	}
	ts.expect(http.MethodPost, "/api/hubs/chat/:closeConnections"+v2+"&excluded="+conns["keep"].ID()+"&reason=all", "", http.StatusNoContent, "")
	closedWith("all", "all")
	closedWith("g2", "all")
	if _, closed := conns["keep"].sock.snapshot(); closed {
		t.Error("the excluded connection was closed")
	}
}

// TestRESTBadRequests: every fault is a 400 (415 for a body it cannot read) in the service's
// error shape, and nothing is sent.
func TestRESTBadRequests(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{MaxMessageBytes: 1024})
	c := ts.connect("chat", "")
	tests := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"SQL in the hub name", "/api/v1/hubs/" + url.PathEscape("x';DROP TABLE hubs;--"), `{"target":"m"}`, 400, "InvalidRequest"},
		{"hub name starting with a digit", "/api/hubs/1chat/:send" + v2, `{"target":"m"}`, 400, "InvalidRequest"},
		{"hub name too long", "/api/hubs/" + strings.Repeat("h", 129) + "/:send" + v2, `{"target":"m"}`, 400, "InvalidRequest"},
		{"bad application", "/api/hubs/chat/:send" + v2 + "&application=" + url.QueryEscape("a b"), `{"target":"m"}`, 400, "InvalidRequest"},
		{"white space group", "/api/v1/hubs/chat/groups/%20%20", `{"target":"m"}`, 400, "InvalidRequest"},
		{"group too long", "/api/hubs/chat/groups/" + strings.Repeat("g", 1025) + "/:send" + v2, `{"target":"m"}`, 400, "InvalidRequest"},
		{"not JSON", "/api/v1/hubs/chat", `{"target":`, 400, "InvalidRequest"},
		{"no body", "/api/v1/hubs/chat", ``, 400, "InvalidRequest"},
		{"unknown field", "/api/hubs/chat/:send" + v2, `{"target":"m","argumentz":[]}`, 400, "InvalidRequest"},
		{"no target", "/api/hubs/chat/:send" + v2, `{"arguments":[1]}`, 400, "InvalidRequest"},
		{"empty target", "/api/hubs/chat/:send" + v2, `{"target":"","arguments":[1]}`, 400, "InvalidRequest"},
		{"arguments not an array", "/api/v1/hubs/chat", `{"target":"m","arguments":{"a":1}}`, 400, "InvalidRequest"},
		{"two objects", "/api/v1/hubs/chat", `{"target":"m"}{"target":"n"}`, 400, "InvalidRequest"},
		{"over the limit", "/api/v1/hubs/chat", `{"target":"m","arguments":["` + strings.Repeat("x", 1024) + `"]}`, 400, "InvalidRequest"},
		{"unknown operation", "/api/hubs/chat/:nothing" + v2, `{"target":"m"}`, 404, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.t = t
			ts.expect(http.MethodPost, tt.path, tt.body, tt.status, tt.code)
		})
	}
	ts.t = t
	for _, ct := range []string{"text/plain", "application/msgpack", "application/x-msgpack; charset"} {
		u := "/api/hubs/chat/:send" + v2
		got := ts.doWith(http.MethodPost, u, `{"target":"m"}`, token(t, primaryKey, sdkAudience(t, ts.url+u), time.Now().Add(time.Hour)), ct)
		if got.status != http.StatusUnsupportedMediaType || got.code != "UnsupportedMediaType" {
			t.Errorf("POST as %s = %d %q, want 415 UnsupportedMediaType", ct, got.status, got.code)
		}
	}
	if frames, _ := c.sock.snapshot(); len(frames) != 0 {
		t.Errorf("a refused request sent %q", frames)
	}
}

// TestRESTAuth: the token must be signed with one of the keys and name the request by its aud:
// port, query, a trailing slash, and the case of host and path do not matter.
func TestRESTAuth(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	port := ts.url[strings.LastIndex(ts.url, ":")+1:]
	const path = "/api/hubs/chat/users/u%20one/:send"
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name, tok string
		status    int
	}{
		{"SDK: no port, query", token(t, primaryKey, "http://127.0.0.1"+path+v2, exp), 202},
		{"with the port", token(t, primaryKey, "http://127.0.0.1:"+port+path, exp), 202},
		{"secondary key", token(t, secondaryKey, "http://127.0.0.1"+path, exp), 202},
		{"trailing slash", token(t, primaryKey, "http://127.0.0.1"+path+"/", exp), 202},
		{"case", token(t, primaryKey, "HTTP://127.0.0.1/API/HUBS/Chat/USERS/U%20ONE/:SEND", exp), 202},
		{"decoded path", token(t, primaryKey, "http://127.0.0.1/api/hubs/chat/users/u one/:send", exp), 202},
		{"localhost for 127.0.0.1", token(t, primaryKey, "http://localhost"+path, exp), 202},
		{"public host on its own port", token(t, primaryKey, "https://huddle.example.com:8443"+path, exp), 202},
		{"https", token(t, primaryKey, "https://127.0.0.1"+path, exp), 202},
		{"another path", token(t, primaryKey, "http://127.0.0.1/api/hubs/chat/:send", exp), 401},
		{"another hub", token(t, primaryKey, "http://127.0.0.1/api/hubs/other/users/u%20one/:send", exp), 401},
		{"another host", token(t, primaryKey, "http://evil.example.com"+path, exp), 401},
		{"path alone", token(t, primaryKey, path, exp), 401},
		{"unknown key", token(t, "some-other-key-0123456789", "http://127.0.0.1"+path, exp), 401},
		{"expired", token(t, primaryKey, "http://127.0.0.1"+path, time.Now().Add(-time.Hour)), 401},
		{"no token", "", 401},
		{"garbage", "not-a-jwt", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.t = t
			got := ts.doWith(http.MethodPost, path+v2, `{"target":"m"}`, tt.tok, "application/json")
			if got.status != tt.status {
				t.Errorf("status %d %s, want %d", got.status, got.body, tt.status)
			}
			if tt.status == 401 && got.code != "Unauthorized" {
				t.Errorf("x-ms-error-code %q, want Unauthorized", got.code)
			}
		})
	}
}

// TestRESTVersionsAndHealth: the health checks answer 200; only api-version 2022-06-01 makes a
// request below /api/hubs/ this API's, anything else is left to the handler behind it.
func TestRESTVersionsAndHealth(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	for _, m := range []string{http.MethodHead, http.MethodGet} {
		if got := ts.doWith(m, "/api/v1/health", "", "", ""); got.status != http.StatusOK {
			t.Errorf("%s /api/v1/health = %d, want 200", m, got.status)
		}
	}
	for _, p := range []string{"/api/hubs/chat/:send?api-version=2024-01-01", "/api/hubs/chat/:send", "/api/health"} {
		if got := ts.do(http.MethodPost, p, `{"target":"m"}`); got.status != http.StatusTeapot {
			t.Errorf("POST %s = %d, want the handler behind's 418", p, got.status)
		}
	}
}

// TestRESTBinaryPayload: the Management SDK's application/octet-stream body, a MessagePack map
// from protocol name to the invocation in that protocol (BinaryPayloadMessageContent.cs in
// Azure/azure-signalr), is read from its JSON form, or its MessagePack form alone.
func TestRESTBinaryPayload(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{})
	c := ts.connect("chat", "")
	mpClient := ts.connectAs("chat", "", messagePackProtocol)
	jsonForm := []byte(`{"type":1,"target":"fromJSON","arguments":[1,"a",{"b":true}]}` + "\x1e")
	mpForm := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return append(binaryVarint(len(b)), b...)
	}
	mpArgs := []any{1, "a", []byte{1, 2}, map[string]any{"k": 2.5}}
	invocationMP := mpForm([]any{1, map[string]string{}, nil, "fromMessagePack", mpArgs})
	bothMP := mpForm([]any{1, map[string]string{}, nil, "fromJSON", mpArgs})
	body := func(forms map[string][]byte) string {
		b, err := msgpack.Marshal(forms)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	send := func(b string, status int) {
		t.Helper()
		u := "/api/hubs/chat/:send" + v2
		got := ts.doWith(http.MethodPost, u, b, token(t, primaryKey, sdkAudience(t, ts.url+u), time.Now().Add(time.Hour)), "application/octet-stream")
		if got.status != status {
			t.Errorf("POST = %d %s, want %d", got.status, got.body, status)
		}
	}
	send(body(map[string][]byte{"json": jsonForm, "messagepack": bothMP}), http.StatusAccepted)
	send(body(map[string][]byte{"messagepack": invocationMP}), http.StatusAccepted)
	for _, bad := range []string{
		body(map[string][]byte{"json": jsonForm, "messagepack": invocationMP}),
		`{"target":"m"}`,
		body(map[string][]byte{"protobuf": {1}}),
		body(map[string][]byte{"json": jsonForm[:len(jsonForm)-1]}),
		body(map[string][]byte{"json": []byte(`{"type":6}` + "\x1e")}),
		body(map[string][]byte{"messagepack": invocationMP[1:]}),
		body(map[string][]byte{"messagepack": mpForm([]any{6})}),
	} {
		send(bad, http.StatusBadRequest)
	}
	want := []received{
		{Target: "fromJSON", Args: json.RawMessage(`[1,"a",{"b":true}]`)},
		{Target: "fromMessagePack", Args: json.RawMessage(`[1,"a","AQI=",{"k":2.5}]`)},
	}
	if got := c.messages(t, 2); !equalReceived(got, want) {
		t.Errorf("received %s, want %s", show(got), show(want))
	}
	// A MessagePack client gets the MessagePack form's arguments, the bytes as bytes.
	wantMP := []string{string(bothMP[1:]), string(invocationMP[1:])}
	if got := mpClient.frames(t, 2); !slices.Equal(got, wantMP) {
		t.Errorf("MessagePack client received %x, want %x", got, wantMP)
	}
}

// frames waits until the connection has received n frames and returns them, each without the
// length prefix of a MessagePack record (one byte for the short records of these tests).
func (c testConn) frames(t *testing.T, n int) []string {
	t.Helper()
	var frames []string
	testkit.WaitFor(t, "frames", func() bool {
		frames, _ = c.sock.snapshot()
		return len(frames) >= n
	})
	out := make([]string, len(frames))
	for i, f := range frames {
		size, k := binary.Uvarint([]byte(f))
		if k != 1 || int(size) != len(f)-1 {
			t.Fatalf("frame %x does not start with a one-byte length prefix", f)
		}
		out[i] = f[1:]
	}
	return out
}

// TestRESTMessagePackPayload: an application/x-msgpack send is the PayloadMessage as a MessagePack
// map (Azure/azure-signalr docs/swagger/V20220601.json, "consumes" of every send). JSON clients get
// its arguments as JSON (binary as base64), MessagePack clients the very bytes sent; a body that
// is not such a map is a 400 in the service's error shape, as for JSON.
func TestRESTMessagePackPayload(t *testing.T) {
	ts := newRESTServer(t, pubsub.Limits{MaxMessageBytes: 1024})
	jsonClient := ts.connectAs("chat", "", jsonProtocol)
	mpClient := ts.connectAs("chat", "", messagePackProtocol)
	mp := func(v any) string {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	send := func(path, body string) response {
		t.Helper()
		return ts.doWith(http.MethodPost, path, body, token(t, primaryKey, sdkAudience(t, ts.url+path), time.Now().Add(time.Hour)), "application/x-msgpack")
	}
	args := mp([]any{1, "a", []byte{1, 2}, map[string]any{"k": 2.5}, nil, -300, true})
	sends := []struct{ path, body string }{
		// A map keyed by property names, as MessagePack for C#'s contractless resolver writes the
		// SDK's PayloadMessage (src/Microsoft.Azure.SignalR.Common/Utilities/Rest/PayloadMessage.cs).
		{"/api/hubs/chat/:send" + v2, "\x82\xa6Target\xa1m\xa9Arguments" + args},
		{"/api/v1/hubs/chat", "\x82\xa6target\xa1n\xa9arguments" + args},
		{"/api/hubs/chat/:send" + v2, mp(map[string]any{"target": "none"})},
	}
	for _, s := range sends {
		if got := send(s.path, s.body); got.status != http.StatusAccepted {
			t.Errorf("POST %s = %d %s, want 202", s.path, got.status, got.body)
		}
	}
	wantJSON := []string{
		`{"type":1,"target":"m","arguments":[1,"a","AQI=",{"k":2.5},null,-300,true]}` + "\x1e",
		`{"type":1,"target":"n","arguments":[1,"a","AQI=",{"k":2.5},null,-300,true]}` + "\x1e",
		`{"type":1,"target":"none","arguments":[]}` + "\x1e",
	}
	if got, _ := waitFrames(t, jsonClient, 3); !slices.Equal(got, wantJSON) {
		t.Errorf("JSON client received %q, want %q", got, wantJSON)
	}
	wantMP := []string{
		"\x95\x01\x80\xc0\xa1m" + args,
		"\x95\x01\x80\xc0\xa1n" + args,
		"\x95\x01\x80\xc0\xa4none\x90",
	}
	if got := mpClient.frames(t, 3); !slices.Equal(got, wantMP) {
		t.Errorf("MessagePack client received %x, want %x", got, wantMP)
	}

	for _, tt := range []struct{ name, body string }{
		{"JSON text", `{"target":"m"}`},
		{"an array", mp([]any{"m", []any{1}})},
		{"no target", mp(map[string]any{"arguments": []any{1}})},
		{"empty target", mp(map[string]any{"target": "", "arguments": []any{1}})},
		{"target not a string", mp(map[string]any{"target": 7})},
		{"arguments a map", mp(map[string]any{"target": "m", "arguments": map[string]any{"a": 1}})},
		{"unknown key", mp(map[string]any{"target": "m", "argumentz": []any{}})},
		{"key not a string", "\x81\x01\xa1m"},
		{"bytes after the map", mp(map[string]any{"target": "m"}) + "\xc0"},
		{"truncated", mp(map[string]any{"target": "m", "arguments": []any{1, 2}})[:15]},
		{"a map inside an extension", "\xd4\x30\xdf0000"},
		{"arguments without a JSON form", mp(map[string]any{"target": "m", "arguments": []any{map[int]int{1: 2}}})},
		{"over the limit", mp(map[string]any{"target": "m", "arguments": []any{strings.Repeat("x", 1024)}})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := send("/api/hubs/chat/:send"+v2, tt.body); got.status != http.StatusBadRequest || got.code != "InvalidRequest" {
				t.Errorf("POST = %d %q %s, want 400 InvalidRequest", got.status, got.code, got.body)
			}
		})
	}
	if got, _ := jsonClient.sock.snapshot(); len(got) != 3 {
		t.Errorf("a refused request was sent: %q", got[3:])
	}
}

// waitFrames waits until c has received n frames and returns them as they were written.
func waitFrames(t *testing.T, c testConn, n int) ([]string, bool) {
	t.Helper()
	var frames []string
	var closed bool
	testkit.WaitFor(t, "frames", func() bool {
		frames, closed = c.sock.snapshot()
		return len(frames) >= n
	})
	return frames, closed
}

// The library reads a map or an array also out of an extension value: a 7-byte body whose
// extension holds 0xdf (a map of 0x30303030 entries) made it allocate a million-entry map.
func TestBinaryInvocationAllocatesByItsBytes(t *testing.T) {
	ext := []byte("\xd4\x30\xdf0000")
	record := []byte("\x07\xd4\x30\xdd0000")
	forms, err := msgpack.Marshal(map[string][]byte{"messagepack": record})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range [][]byte{ext, forms} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := binaryInvocation(body); err == nil {
			t.Errorf("binaryInvocation(%q) succeeded", body)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("binaryInvocation(%q) allocated %d bytes", body, n)
		}
	}
}

// FuzzBinaryInvocation feeds the Management SDK's binary send body to its reader: no input may
// panic, and an invocation read from it names a target and carries arguments that are JSON.
func FuzzBinaryInvocation(f *testing.F) {
	mp := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	record := mp([]any{1, map[string]string{}, nil, "m", []any{1, "a", []byte{1, 2}, map[string]any{"k": 2.5}}})
	record = append(binaryVarint(len(record)), record...)
	f.Add(mp(map[string][]byte{"json": []byte(`{"type":1,"target":"m","arguments":[1]}` + "\x1e")}))
	f.Add(mp(map[string][]byte{"messagepack": record}))
	f.Add(mp(map[string][]byte{"json": []byte(`{"type":1,"target":"m"}` + "\x1e"), "messagepack": record}))
	f.Add(mp(map[string][]byte{"protobuf": {1}}))
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := binaryInvocation(body)
		if err != nil {
			return
		}
		if len(inv.Arguments) > 0 && !json.Valid(inv.Arguments) {
			t.Fatalf("binaryInvocation(%x) arguments %q are not JSON", body, inv.Arguments)
		}
	})
}

// FuzzMessagePackPayload feeds the application/x-msgpack send body to its reader: no input may
// panic, and an invocation read from it carries arguments that are JSON and, when MessagePack
// arguments are kept, a MessagePack array.
func FuzzMessagePackPayload(f *testing.F) {
	for _, v := range []any{
		map[string]any{"Target": "m", "Arguments": []any{1, "a", []byte{1, 2}, map[string]any{"k": 2.5}}},
		map[string]any{"target": "m"},
		map[string]any{"target": "m", "arguments": nil},
		[]any{"m"},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := messagePackPayload(body)
		if err != nil {
			return
		}
		if len(inv.Arguments) > 0 && !json.Valid(inv.Arguments) {
			t.Fatalf("messagePackPayload(%x) arguments %q are not JSON", body, inv.Arguments)
		}
		if inv.MessagePack != nil && (!isArray(inv.MessagePack[0]) || checkMessagePack(inv.MessagePack) != nil) {
			t.Fatalf("messagePackPayload(%x) kept arguments %x that are not a MessagePack array", body, inv.MessagePack)
		}
	})
}

func binaryVarint(n int) []byte {
	var b [binary.MaxVarintLen64]byte
	return b[:binary.PutUvarint(b[:], uint64(n))]
}
