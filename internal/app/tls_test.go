package app_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// With a certificate configured, huddle serves HTTPS and wss:// itself and names https:// in
// what it hands out, so that SDKs which refuse plain http (the Web PubSub server SDK does without
// allowInsecureConnection) run against it with only the connection string changed.
func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, certPEM := testkit.WriteSelfSignedCert(t, dir, "127.0.0.1")
	srv := apptest.Start(t, config.Config{TLS: config.TLS{CertFile: certFile, KeyFile: keyFile}})
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("URL %s", srv.URL)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tlsConf := &tls.Config{RootCAs: roots}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 10 * time.Second}

	resp, err := client.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz over https: %d", resp.StatusCode)
	}
	// Go's TLS server answers a plain request with a 400 of its own, never the route.
	if plain, err := http.Get("http" + strings.TrimPrefix(srv.URL, "https") + "/healthz"); err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Fatal("plain http served on the TLS port")
		}
	}

	keys := accesskey.Keys{Primary: testKey}
	tok, err := keys.SignClientToken(srv.URL+"/client/hubs/chat", accesskey.ClientClaims{Groups: []string{"g"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"json.webpubsub.azure.v1"}, TLSClientConfig: tlsConf}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(srv.URL, "https")+"/client/hubs/chat?access_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var connected map[string]any
	if err := ws.ReadJSON(&connected); err != nil || connected["event"] != "connected" {
		t.Fatalf("connected message %v (%v)", connected, err)
	}

	restTok, err := keys.SignClientToken(srv.URL+"/api/hubs/chat/groups/g/:send?api-version=2024-12-01", accesskey.ClientClaims{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/hubs/chat/groups/g/:send?api-version=2024-12-01", bytes.NewBufferString("hello"))
	req.Header.Set("Authorization", "Bearer "+restTok)
	req.Header.Set("Content-Type", "text/plain")
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("REST send over https: %d", resp.StatusCode)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var msg map[string]any
	if err := ws.ReadJSON(&msg); err != nil || msg["data"] != "hello" {
		t.Fatalf("message over wss %v (%v)", msg, err)
	}
}

func TestPublicURLFollowsTLS(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.Config
		want string
	}{
		{config.Config{}, "http://127.0.0.1:8080"},
		{config.Config{TLS: config.TLS{CertFile: "c", KeyFile: "k"}}, "https://127.0.0.1:8080"},
		{config.Config{TLS: config.TLS{CertFile: "c", KeyFile: "k"}, PublicURL: "https://huddle.example.com"}, "https://huddle.example.com"},
	} {
		if got := app.PublicURL(tc.cfg, "127.0.0.1:8080"); got != tc.want {
			t.Errorf("PublicURL(%+v) = %s, want %s", tc.cfg.TLS, got, tc.want)
		}
	}
}

func TestUnreadableCertificateStopsStart(t *testing.T) {
	dir := t.TempDir()
	_, err := app.New(config.Config{Addr: "127.0.0.1:0", DataDir: dir, AccessKey: testKey,
		TLS: config.TLS{CertFile: dir + "/missing.pem", KeyFile: dir + "/missing.key"}}, slog.New(slog.DiscardHandler), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("start with a missing certificate: %v", err)
	}
}
