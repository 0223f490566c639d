package app_test

import (
	"context"
	"errors"
	"fmt"
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

const testKey = apptest.Key

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperationalEndpoints(t *testing.T) {
	base := apptest.Start(t, config.Config{}).URL
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+path); code != http.StatusOK {
			t.Errorf("%s: %d", path, code)
		}
	}
	ws := dialClient(t, base, "chat", "g")
	defer ws.Close()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{"huddle_connections 1", "huddle_groups 1", "huddle_fanout_latency_seconds_bucket",
		"huddle_messages_delivered_total", "huddle_slow_consumer_closes_total", "process_resident_memory_bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func dialClient(t *testing.T, base, hub, group string) *websocket.Conn {
	t.Helper()
	keys := accesskey.Keys{Primary: testKey}
	tok, err := keys.SignClientToken(base+"/client/hubs/"+hub, accesskey.ClientClaims{Groups: []string{group}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"json.webpubsub.azure.v1"}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/client/hubs/"+hub+"?access_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	var connected map[string]any
	if err := ws.ReadJSON(&connected); err != nil || connected["event"] != "connected" {
		t.Fatalf("connected message %v (%v)", connected, err)
	}
	return ws
}

// A message the REST API accepted (202) reaches its recipient even when shutdown starts right
// after: shutdown writes out every queue before it closes the connection.
func TestShutdownDeliversAcceptedMessages(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	base, stop := srv.URL, srv.Stop
	ws := dialClient(t, base, "chat", "g")
	defer ws.Close()
	const n = 300
	keys := accesskey.Keys{Primary: testKey}
	path := "/api/hubs/chat/groups/g/:send?api-version=2024-12-01"
	tok, err := keys.SignClientToken(base+path, accesskey.ClientClaims{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(fmt.Sprint(i)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("send %d: %d", i, resp.StatusCode)
		}
	}
	stopErr := make(chan error, 1)
	go func() { stopErr <- stop() }()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m["data"] != float64(i) {
			t.Fatalf("message %d: %v", i, m)
		}
	}
	var bye map[string]any
	if err := ws.ReadJSON(&bye); err != nil || bye["event"] != "disconnected" {
		t.Fatalf("after the messages %v (%v), want the disconnected system message", bye, err)
	}
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	// 1001: the server is going away, and clients may come back.
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("close: %v, want 1001", err)
	}
	if err := <-stopErr; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// Shutting down while every part is busy (REST publishes, annotations written and broadcast,
// live pushes to viewers, the collector) stops the parts in an order in which none uses another
// that has stopped: nothing is logged at warning or error level, Run returns no error, and every
// publish the server accepted reaches its subscriber before the connection closes.
func TestShutdownUnderLoad(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", opsDashboard, 201)
	for range 3 {
		v := watch(t, admin, "ops")
		v.server(t, "points")
		go func() { // keep reading, so that the viewer never lags behind
			for {
				if _, _, err := v.ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}

	subscriber := dialClient(t, srv.URL, "chat", "g")
	received := make(chan []float64, 1)
	go func() {
		var got []float64
		for {
			var m map[string]any
			if err := subscriber.ReadJSON(&m); err != nil {
				received <- got
				return
			}
			if n, ok := m["data"].(float64); ok && m["type"] == "message" {
				got = append(got, n)
			}
		}
	}()

	keys := accesskey.Keys{Primary: testKey}
	path := "/api/hubs/chat/groups/g/:send?api-version=2024-12-01"
	tok, err := keys.SignClientToken(srv.URL+path, accesskey.ClientClaims{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan int, 1)
	started := make(chan struct{})
	go func() { // publishes in order until the server stops taking them
		accepted <- postUntilRefused(http.DefaultClient, srv.URL+path, "Bearer "+tok, http.StatusAccepted,
			func(i int) string {
				if i == 50 {
					close(started)
				}
				return fmt.Sprint(i)
			})
	}()
	annotating := make(chan struct{})
	go func() { // writes annotations, each committed to SQL and then broadcast, until refused
		defer close(annotating)
		postUntilRefused(admin.c, srv.URL+"/api/dashboards/ops/annotations", "", http.StatusCreated,
			func(int) string { return `{"text":"load"}` })
	}()

	<-started
	if err := srv.Stop(); err != nil {
		t.Fatalf("shutdown under load: %v", err)
	}
	<-annotating
	n := <-accepted
	got := <-received
	if len(got) != n {
		t.Fatalf("%d publishes accepted, %d delivered", n, len(got))
	}
	for i, v := range got {
		if v != float64(i) {
			t.Fatalf("message %d is %v: lost or reordered", i, v)
		}
	}
	if log := srv.Log.String(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("shutdown under load logged:\n%s", log)
	}
}

// postUntilRefused posts body(0), body(1), … as JSON until the server answers anything but want
// or stops answering, and returns how many it answered with want.
func postUntilRefused(c *http.Client, url, authorization string, want int, body func(i int) string) int {
	for i := 0; ; i++ {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body(i)))
		req.Header.Set("Content-Type", "application/json")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := c.Do(req)
		if err != nil {
			return i
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return i
		}
	}
}

// A server that listens beyond loopback with no public URL set says at start that the URL it
// hands out reaches only this machine; on loopback it has nothing to say.
func TestWarnsWithoutPublicURLBeyondLoopback(t *testing.T) {
	for addr, warns := range map[string]bool{"0.0.0.0:0": true, "127.0.0.1:0": false} {
		t.Run(addr, func(t *testing.T) {
			log := &testkit.LogBuffer{}
			cfg := config.Config{Addr: addr, DataDir: t.TempDir(), AccessKey: testKey, AdminPassword: apptest.AdminPassword}
			a, err := app.New(cfg, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn})), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(log.String(), "publicURL is not set"); got != warns {
				t.Errorf("warned %v, want %v: %q", got, warns, log)
			}
			if !strings.HasPrefix(a.PublicURL(), "http://127.0.0.1:") {
				t.Errorf("public URL %q, want the loopback address of the bound port", a.PublicURL())
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // stops at once what New opened
			if err := a.Run(ctx, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
