package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/signalr"
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
	clientURL, srTok, err := signalr.ClientConnectionInfo(keys, srv.URL, "Chat", "s", time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, strings.Replace(clientURL, "/client/?", "/client/negotiate?negotiateVersion=1&", 1), nil)
	req.Header.Set("Authorization", "Bearer "+srTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var neg struct{ ConnectionToken string }
	_ = json.NewDecoder(resp.Body).Decode(&neg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || neg.ConnectionToken == "" {
		t.Fatalf("negotiate: %d %+v", resp.StatusCode, neg)
	}
	// A browser passes the token in the query.
	sr, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(clientURL, "http")+"&id="+neg.ConnectionToken+"&access_token="+srTok, nil)
	if err != nil {
		t.Fatalf("SignalR client: %v", err)
	}
	defer sr.Close()
	if err := sr.WriteMessage(websocket.TextMessage, []byte("{\"protocol\":\"json\",\"version\":1}\x1e")); err != nil {
		t.Fatal(err)
	}
	_ = sr.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, data, err := sr.ReadMessage(); err != nil || string(data) != "{}\x1e" {
		t.Fatalf("SignalR handshake answer %q (%v)", data, err)
	}
	if code, body := get(t, srv.URL+"/metrics"); code != http.StatusOK || !strings.Contains(body, "huddle_connections 1") {
		t.Errorf("the SignalR connection is not counted: /metrics %d", code)
	}
}
