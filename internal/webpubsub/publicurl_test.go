package webpubsub

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// The default public URL, set once the server listens, is trusted in client tokens and announced
// to event handlers: @azure/web-pubsub signs for the connection string's endpoint, and
// @azure/web-pubsub-express with allowedEndpoints accepts only that endpoint's host.
func TestSetDefaultPublicURL(t *testing.T) {
	const public = "public.example:8443"
	tests := []struct {
		name       string
		configured string // Options.PublicURL
		setDefault bool
		wantOrigin string // "" means the connect must be refused
	}{
		{name: "default set", setDefault: true, wantOrigin: public},
		{name: "configured URL wins", configured: "http://configured.example", setDefault: true},
		{name: "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var origins []string
			handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				origins = append(origins, r.Header.Get("WebHook-Request-Origin"))
				mu.Unlock()
				if r.Method == http.MethodOptions {
					// What express answers when allowedEndpoints is ["http://public.example:8443"].
					w.Header().Set("WebHook-Allowed-Origin", public)
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer handler.Close()

			keys := accesskey.Keys{Primary: "test-key-0123456789abcdefghijklmnopqrstuvwx"}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			svc, err := pubsub.NewService(pubsub.Options{ParseFilter: ParseFilter, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := svc.Start(ctx); err != nil {
				t.Fatal(err)
			}
			go func() { _ = svc.Run(ctx) }()
			srv := New(Options{
				Service:   svc,
				Keys:      keys,
				PublicURL: tt.configured,
				EventHandlers: map[string][]upstream.Handler{
					"h": {{URLTemplate: handler.URL + "/{event}", SystemEvents: []string{"connect"}}},
				},
				Logger: logger,
			})
			if tt.setDefault {
				srv.SetDefaultPublicURL("http://" + public + "/")
			}
			mux := http.NewServeMux()
			srv.Register(mux)
			hs := httptest.NewServer(mux)
			defer hs.Close()
			defer func() {
				sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer scancel()
				_ = svc.Shutdown(sctx, "test over")
				_ = srv.Close(sctx)
			}()

			// Signed for the public endpoint, sent to the loopback address (another Host).
			tok, err := keys.SignClientToken("http://"+public+"/client/hubs/h", accesskey.ClientClaims{UserID: "u"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			d := websocket.Dialer{Subprotocols: []string{ProtocolReliableJSON}}
			ws, resp, err := d.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/client/hubs/h?access_token="+tok, nil)
			if tt.wantOrigin == "" {
				if err == nil {
					ws.Close()
					t.Fatal("connected, want refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer ws.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(origins) < 2 {
				t.Fatalf("handler saw %d requests, want the validation and the connect event", len(origins))
			}
			for _, o := range origins {
				if o != tt.wantOrigin {
					t.Errorf("WebHook-Request-Origin = %q, want %q", o, tt.wantOrigin)
				}
			}
		})
	}
}
