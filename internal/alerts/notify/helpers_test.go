package notify

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/store/storetest"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// newDispatcher returns a dispatcher on st (a new SQLite store when nil), its log in logs, stopped
// when the test ends.
func newDispatcher(t testing.TB, st Store, opts Options) (*Dispatcher, *testkit.LogBuffer) {
	t.Helper()
	if st == nil {
		st = storetest.SQLite(t)
	}
	logs := &testkit.LogBuffer{}
	opts.Store = st
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 10 * time.Millisecond
	}
	d, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("dispatcher log:\n%s", logs)
		}
	})
	return d, logs
}

// addContactPoint saves a contact point of settings s and fails the test if it is refused.
func addContactPoint(t testing.TB, d *Dispatcher, name string, s settings, tune ...func(*ContactPoint)) ContactPoint {
	t.Helper()
	cp := ContactPoint{Name: name, Kind: kindOf(s), Settings: s}
	for _, f := range tune {
		f(&cp)
	}
	saved, err := d.SaveContactPoint(context.Background(), cp, "tester")
	if err != nil {
		t.Fatalf("save contact point %s: %v", name, err)
	}
	return saved
}

func kindOf(s settings) string {
	switch s.(type) {
	case *WebhookSettings:
		return KindWebhook
	case *AlertmanagerSettings:
		return KindAlertmanager
	case *SlackSettings:
		return KindSlack
	case *TeamsSettings:
		return KindTeams
	case *EmailSettings:
		return KindEmail
	case *HubSettings:
		return KindHub
	}
	panic("unknown settings")
}

// setPolicy saves p and fails the test if it is refused.
func setPolicy(t testing.TB, d *Dispatcher, p Policy) {
	t.Helper()
	if _, err := d.SetPolicy(context.Background(), p, "tester"); err != nil {
		t.Fatalf("set policy: %v", err)
	}
}

// immediate is a default policy to cp that notifies at once and repeats rarely.
func immediate(cp string) Policy {
	return Policy{ContactPoint: cp, GroupBy: []string{"alertname"}, GroupWait: "0s", GroupInterval: "10ms", RepeatInterval: "1h"}
}

// firing is a firing alert named name.
func firing(name, fingerprint string) Alert {
	return Alert{Fingerprint: fingerprint, Labels: map[string]string{"alertname": name, "instance": "db1:9100"},
		Annotations: map[string]string{"summary": name + " is up to something"}, Severity: 1,
		StartsAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), GeneratorURL: "http://huddle.example/alerting/rules/1",
		IncidentID: "inc-" + fingerprint}
}

// request is what a receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server that records each request and answers with the status
// answer returns for the request's number (1-based); answer may block.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{r.Header.Clone(), body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if answer != nil {
			answer(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// waitDeliveries waits until the delivery log of fingerprint holds n entries, and returns them,
// oldest first.
func waitDeliveries(t *testing.T, d *Dispatcher, fingerprint string, n int) []Delivery {
	t.Helper()
	var got []Delivery
	testkit.WaitFor(t, "deliveries", func() bool {
		var err error
		got, err = d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: fingerprint, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("%d deliveries for %s, want %d: %+v", len(got), fingerprint, n, got)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

// hubRecorder is the HubPublisher of tests: it keeps what was sent.
type hubRecorder struct {
	mu   sync.Mutex
	sent []hubMessage
	fail error
}

type hubMessage struct {
	hub, group string
	data       []byte
	at         time.Time
}

// message decodes what was sent.
func (h hubMessage) message(t *testing.T) Message {
	t.Helper()
	var m Message
	strictDecode(t, h.data, &m)
	return m
}

func (h *hubRecorder) SendToGroup(_ context.Context, hub, group string, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	h.sent = append(h.sent, hubMessage{hub, group, data, time.Now()})
	return nil
}

// take returns what was sent since the last call.
func (h *hubRecorder) take() []hubMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.sent
	h.sent = nil
	return out
}
