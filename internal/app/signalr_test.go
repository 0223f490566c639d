package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/signalr"
	srupstream "github.com/huddle-dev/huddle/internal/signalr/upstream"
)

// Web PubSub and SignalR clients share /client/?hub= on one listener and one hub: each gets its
// own protocol, and both count as connections of the hub.
func TestClientEndpointShared(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	keys := accesskey.Keys{Primary: srv.Key}
	wsBase := "ws" + strings.TrimPrefix(srv.URL, "http")

	// Web PubSub, query form of the endpoint, JSON subprotocol.
	tok, err := keys.SignClientToken(srv.URL+"/client/hubs/chat", accesskey.ClientClaims{UserID: "w"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/client/?hub=chat", "/client?hub=chat"} {
		d := websocket.Dialer{Subprotocols: []string{"json.webpubsub.azure.v1"}}
		wps, _, err := d.Dial(wsBase+path+"&access_token="+tok, nil)
		if err != nil {
			t.Fatalf("Web PubSub client on %s: %v", path, err)
		}
		var connected map[string]any
		if err := wps.ReadJSON(&connected); err != nil || connected["event"] != "connected" {
			t.Fatalf("Web PubSub connected message %v (%v)", connected, err)
		}
		wps.Close()
	}

	// SignalR: negotiate, then the same path with the connection token as id.
	sr, _ := connectSignalR(t, srv, "Chat", "s")
	defer sr.Close()
	if code, body := get(t, srv.URL+"/metrics"); code != http.StatusOK || !strings.Contains(body, "huddle_connections 1") {
		t.Errorf("the SignalR connection is not counted: /metrics %d", code)
	}
}

// connectSignalR negotiates for user and opens the SignalR WebSocket on /client/?hub= as a
// browser does, the token in the query, then shakes hands in JSON.
func connectSignalR(t *testing.T, srv *apptest.Server, hub, user string) (*websocket.Conn, string) {
	t.Helper()
	keys := accesskey.Keys{Primary: srv.Key}
	clientURL, tok, err := signalr.ClientConnectionInfo(keys, srv.URL, hub, user, time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, strings.Replace(clientURL, "/client/?", "/client/negotiate?negotiateVersion=1&", 1), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var neg struct{ ConnectionID, ConnectionToken string }
	_ = json.NewDecoder(resp.Body).Decode(&neg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || neg.ConnectionToken == "" {
		t.Fatalf("negotiate: %d %+v", resp.StatusCode, neg)
	}
	sr, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(clientURL, "http")+"&id="+neg.ConnectionToken+"&access_token="+tok, nil)
	if err != nil {
		t.Fatalf("SignalR client: %v", err)
	}
	if err := sr.WriteMessage(websocket.TextMessage, []byte("{\"protocol\":\"json\",\"version\":1}\x1e")); err != nil {
		t.Fatal(err)
	}
	_ = sr.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, data, err := sr.ReadMessage(); err != nil || string(data) != "{}\x1e" {
		t.Fatalf("SignalR handshake answer %q (%v)", data, err)
	}
	return sr, neg.ConnectionID
}

// signalr.upstream.templates reach the SignalR front: a connection is announced, signed with the
// access key and without its token in the query, its invocation is answered by the upstream, and
// at shutdown its disconnected event is delivered before the server has stopped.
func TestSignalRUpstreamConfigured(t *testing.T) {
	type call struct {
		event, connID, signature, query string
	}
	calls := make(chan call, 16)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-ASRS-Event") == "disconnected" {
			// A slow upstream: shutdown must wait for it, not merely start the request.
			time.Sleep(300 * time.Millisecond)
		}
		calls <- call{r.Header.Get("X-ASRS-Event"), r.Header.Get("X-ASRS-Connection-Id"), r.Header.Get("X-ASRS-Signature"), r.Header.Get("X-ASRS-Client-Query")}
		if r.Header.Get("X-ASRS-Event") == "add" {
			_, _ = io.WriteString(w, `{"type":3,"invocationId":"1","result":3}`+"\x1e")
		}
	}))
	defer app.Close()
	srv := apptest.Start(t, config.Config{SignalR: config.SignalR{Upstream: config.SignalRUpstream{
		Templates: []srupstream.Template{{URLTemplate: app.URL + "/runtime/webhooks/signalr"}}}}})
	next := func() call {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no request reached the upstream")
			return call{}
		}
	}
	sr, connID := connectSignalR(t, srv, "chat", "u1")
	defer sr.Close()
	c := next()
	if c.event != "connected" || c.connID != connID || c.signature != (accesskey.Keys{Primary: srv.Key}).Signature(connID) {
		t.Errorf("connected event %+v", c)
	}
	if !strings.Contains(c.query, "id=") || strings.Contains(c.query, "access_token") {
		t.Errorf("X-ASRS-Client-Query %q, want the connect request's query without the token", c.query)
	}
	if err := sr.WriteMessage(websocket.TextMessage, []byte(`{"type":1,"invocationId":"1","target":"add","arguments":[1,2]}`+"\x1e")); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.event != "add" {
		t.Errorf("upstream got %+v, want the invocation", c)
	}
	if _, data, err := sr.ReadMessage(); err != nil || string(data) != `{"type":3,"invocationId":"1","result":3}`+"\x1e" {
		t.Errorf("client got %q (%v), want the upstream's Completion", data, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-calls:
		if c.event != "disconnected" || c.connID != connID {
			t.Errorf("after shutdown the upstream got %+v, want the disconnected event", c)
		}
	default:
		t.Error("the server stopped before the disconnected event reached the upstream")
	}
}
