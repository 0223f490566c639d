package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// fakeCentrifugo speaks the frames Centrifugo's documentation describes
// (centrifugal.dev/docs/transports/client_protocol, centrifugal.dev/docs/server/server_api),
// enough to test this package's client of them; it is no stand-in for the real server, which
// BENCHMARKS.md measures.
type fakeCentrifugo struct {
	t      *testing.T
	apiKey string
	secret string

	mu       sync.Mutex
	channels map[string][]*fakeCentrifugoConn
	refused  string // a channel whose publications the API refuses
	pongs    atomic.Int64
}

type fakeCentrifugoConn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *fakeCentrifugoConn) write(frame string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(frame))
}

func startFakeCentrifugo(t *testing.T, apiKey, secret string) (*fakeCentrifugo, string) {
	f := &fakeCentrifugo{t: t, apiKey: apiKey, secret: secret, channels: map[string][]*fakeCentrifugoConn{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/connection/websocket", f.serveWebSocket)
	mux.HandleFunc("POST /api/publish", f.servePublish)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "process_resident_memory_bytes 1e+07")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeCentrifugo) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &fakeCentrifugoConn{ws: ws}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var cmd struct {
			ID      uint32 `json:"id"`
			Connect *struct {
				Token string `json:"token"`
			} `json:"connect"`
			Subscribe *struct {
				Channel string `json:"channel"`
			} `json:"subscribe"`
		}
		if err := json.Unmarshal(data, &cmd); err != nil {
			f.t.Errorf("command %q: %v", data, err)
			return
		}
		switch {
		case cmd.ID == 0: // a pong: an empty command
			f.pongs.Add(1)
		case cmd.Connect != nil:
			if err := f.checkToken(cmd.Connect.Token); err != nil {
				// Centrifugo's answer to a bad token: error 109, token expired, or a disconnect.
				c.write(fmt.Sprintf(`{"id":%d,"error":{"code":109,"message":"token expired"}}`, cmd.ID))
				continue
			}
			c.write(fmt.Sprintf(`{"id":%d,"connect":{"client":"c1","version":"6.9.1","ping":25,"pong":true}}`, cmd.ID))
		case cmd.Subscribe != nil:
			f.mu.Lock()
			f.channels[cmd.Subscribe.Channel] = append(f.channels[cmd.Subscribe.Channel], c)
			f.mu.Unlock()
			// A ping in the same frame as the reply, as the server may batch them.
			c.write(fmt.Sprintf("{\"id\":%d,\"subscribe\":{}}\n{}", cmd.ID))
		}
	}
}

func (f *fakeCentrifugo) checkToken(tok string) error {
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return []byte(f.secret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err == nil && claims.Subject == "" {
		err = errors.New("no sub")
	}
	return err
}

func (f *fakeCentrifugo) servePublish(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != f.apiKey {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	var req struct {
		Channel string `json:"channel"`
		Data    string `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	subs, refused := f.channels[req.Channel], req.Channel == f.refused
	f.mu.Unlock()
	if refused {
		// A refused command is still 200, the error in the body (server_api, "HTTP API errors").
		fmt.Fprint(w, `{"error":{"code":102,"message":"unknown channel"}}`)
		return
	}
	data, _ := json.Marshal(req.Data)
	push := fmt.Sprintf(`{"push":{"channel":%q,"pub":{"data":%s,"offset":1}}}`, req.Channel, data)
	for _, c := range subs {
		// Two lines in one frame, a ping among them: the client must find both.
		c.write("{}\n" + push)
	}
	fmt.Fprint(w, `{"result":{}}`)
}

// TestRunAgainstCentrifugoProtocol runs a tiny bench in Centrifugo mode: subscribers
// authenticate with a token signed by the secret, subscribe to their group's channel, answer
// pings, and every publication through the HTTP API reaches each of them once.
func TestRunAgainstCentrifugoProtocol(t *testing.T) {
	f, url := startFakeCentrifugo(t, "api-key", "secret")
	rep, err := Run(t.Context(), Config{
		URL: url, Protocol: ProtocolCentrifugo, Centrifugo: Centrifugo{APIKey: "api-key", Secret: "secret"},
		Subscribers: 6, Groups: 2, Publishers: 2, Messages: 50, Duration: time.Minute, Size: 200,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 6 || rep.Published != 50 || rep.PublishErrors != 0 {
		t.Fatalf("connected %d, published %d with %d errors (%s)", rep.Connected, rep.Published, rep.PublishErrors, rep.FirstError)
	}
	if rep.Expected != 150 || rep.Delivered != rep.Expected || rep.Lost != 0 || rep.Duplicates != 0 || rep.Misrouted != 0 || rep.Dropped != 0 {
		t.Errorf("expected %d, delivered %d, lost %d, duplicates %d, misrouted %d, dropped %d",
			rep.Expected, rep.Delivered, rep.Lost, rep.Duplicates, rep.Misrouted, rep.Dropped)
	}
	// One ping came with each subscribe reply and one with every publication delivered; each was
	// answered but perhaps a subscriber's last, read as the run ended and closed its socket.
	want := int64(6) + int64(rep.Delivered) - 6
	if !testkit.Poll(5*time.Second, func() bool { return f.pongs.Load() >= want }) {
		t.Errorf("%d pongs, want at least %d", f.pongs.Load(), want)
	}
}

// TestCentrifugoRefusals: a refused token fails the connection with the server's error, and a
// publish answered 200 with an error in the body counts as failed.
func TestCentrifugoRefusals(t *testing.T) {
	f, url := startFakeCentrifugo(t, "api-key", "secret")

	_, err := Run(t.Context(), Config{URL: url, Protocol: ProtocolCentrifugo, Centrifugo: Centrifugo{APIKey: "api-key", Secret: "wrong"}, Subscribers: 1})
	if err == nil || !strings.Contains(err.Error(), "centrifugo error 109") {
		t.Errorf("run with a wrong secret: %v, want the connect reply's error 109", err)
	}

	r := &runner{cfg: Config{Centrifugo: Centrifugo{APIKey: "api-key"}}, http: http.DefaultClient}
	p := &centrifugoPublisher{r: r, url: url + "/api/publish"}
	if err := p.publish(t.Context(), 0, []byte("x")); err != nil {
		t.Errorf("publish to bench-0: %v", err)
	}
	f.mu.Lock()
	f.refused = groupName(0)
	f.mu.Unlock()
	if err := p.publish(t.Context(), 0, []byte("x")); err == nil || !strings.Contains(err.Error(), "centrifugo error 102") {
		t.Errorf("refused publish: %v, want the answer's error 102", err)
	}
	r.cfg.Centrifugo.APIKey = "wrong"
	if err := p.publish(t.Context(), 0, []byte("x")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("publish with a wrong API key: %v, want 401", err)
	}
}
