package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/huddle-dev/huddle/internal/testkit"
)

func TestWebhookSigned(t *testing.T) {
	t.Parallel()
	heard := make(chan Delivery, 10)
	reg := prometheus.NewRegistry()
	d, _ := newDispatcher(t, nil, Options{OnDelivery: func(dl Delivery) { heard <- dl }, Registerer: reg})
	rc := newReceiver(t, nil)
	cp := addContactPoint(t, d, "hook", &WebhookSettings{URL: rc.URL + "/hook", Secret: "s3cret", Headers: map[string]string{"X-Team": "db"}})
	setPolicy(t, d, immediate(cp.ID))

	d.Notify(firing("DiskFull", "fp1"))
	got := waitDeliveries(t, d, "fp1", 1)
	if dl := got[0]; dl.Status != StatusOK || dl.Attempt != 1 || dl.HTTPStatus != 200 || dl.IncidentID != "inc-fp1" ||
		dl.ContactPointID != cp.ID || dl.ContactPointName != "hook" || dl.Kind != KindWebhook {
		t.Errorf("delivery %+v", dl)
	}

	for incident, n := range map[string]int{"inc-fp1": 1, "inc-other": 0} {
		if dls, err := d.Deliveries(context.Background(), DeliveryFilter{IncidentID: incident}); err != nil || len(dls) != n {
			t.Errorf("deliveries of incident %s: %d (%v), want %d", incident, len(dls), err, n)
		}
	}
	if dl := <-heard; dl.ID != got[0].ID {
		t.Errorf("OnDelivery heard %+v, the log has %+v", dl, got[0])
	}
	if n := testutil.ToFloat64(d.delivered.WithLabelValues(KindWebhook, StatusOK)); n != 1 {
		t.Errorf("huddle_alert_deliveries_total{kind=webhook,status=ok} %v, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "huddle_alert_deliveries_total", "huddle_alert_groups"); err != nil || n != 2 {
		t.Errorf("registered series: %d (%v), want 2", n, err)
	}

	req := rc.requests()[0]
	if req.header.Get("Content-Type") != "application/json" || req.header.Get("X-Team") != "db" {
		t.Errorf("headers %v", req.header)
	}
	ts := req.header.Get("X-Huddle-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Errorf("X-Huddle-Timestamp %q is not the time of sending", ts)
	}
	// What a receiver computes, per the contract in WebhookSettings' doc.
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(ts + "."))
	mac.Write(req.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.header.Get("X-Huddle-Signature") != want {
		t.Errorf("X-Huddle-Signature %q, want %q", req.header.Get("X-Huddle-Signature"), want)
	}

	var m Message
	dec := json.NewDecoder(bytes.NewReader(req.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Status != "firing" || m.Receiver != "hook" || m.GroupLabels["alertname"] != "DiskFull" || len(m.Alerts) != 1 ||
		m.Alerts[0].IncidentID != "inc-fp1" || m.Alerts[0].Fingerprint != "fp1" || m.Alerts[0].EndsAt != nil ||
		m.CommonAnnotations["summary"] != "DiskFull is up to something" {
		t.Errorf("message %+v", m)
	}
}

// TestAlertmanagerShaped checks the body against Alertmanager's API v2: POST /api/v2/alerts with
// a JSON array of postableAlert, whose properties are labels, annotations, startsAt, endsAt and
// generatorURL (api/v2/openapi.yaml in prometheus/alertmanager, definitions postableAlerts,
// postableAlert and alert); labels is required.
func TestAlertmanagerShaped(t *testing.T) {
	t.Parallel()
	d, _ := newDispatcher(t, nil, Options{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/am/api/v2/alerts":
			http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		case !ok || user != "am" || pass != "pw":
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	down := newReceiver(t, nil)
	down.Close() // the first URL is down: the second takes the alerts
	cp := addContactPoint(t, d, "am", &AlertmanagerSettings{URLs: []string{down.URL, rc.URL + "/am/"}, Username: "am", Password: "pw"})
	setPolicy(t, d, immediate(cp.ID))

	a := firing("DiskFull", "fp1")
	d.Notify(a)
	// Alertmanager is told again at every group_interval, although nothing changed.
	testkit.WaitFor(t, "the firing alert sent three times", func() bool { return len(rc.requests()) >= 3 })
	a.EndsAt = a.StartsAt.Add(time.Hour)
	d.Notify(a)
	var last []postableAlert
	testkit.WaitFor(t, "the resolved alert", func() bool {
		reqs := rc.requests()
		return json.Unmarshal(reqs[len(reqs)-1].body, &last) == nil && len(last) == 1 && last[0].EndsAt != nil && last[0].EndsAt.Equal(a.EndsAt)
	})
	reqs := rc.requests()
	for i, req := range reqs {
		var alerts []map[string]json.RawMessage
		if err := json.Unmarshal(req.body, &alerts); err != nil || len(alerts) != 1 {
			t.Fatalf("body %s: not an array of one alert: %v", req.body, err)
		}
		allowed := []string{"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
		for k := range alerts[0] {
			if !slices.Contains(allowed, k) {
				t.Errorf("property %q is not in postableAlert", k)
			}
		}
		if _, ok := alerts[0]["labels"]; !ok {
			t.Error("labels is required")
		}
		if i == len(reqs)-1 {
			break
		}
		// A firing alert is valid for four group_intervals (10ms here), as Prometheus sends
		// it valid for four evaluations.
		var firing []postableAlert
		_ = json.Unmarshal(req.body, &firing)
		if f := firing[0]; f.EndsAt == nil || f.EndsAt.Before(time.Now().Add(-time.Minute)) || f.EndsAt.After(time.Now().Add(time.Second)) ||
			!f.StartsAt.Equal(a.StartsAt) || f.Labels["alertname"] != "DiskFull" || f.GeneratorURL != a.GeneratorURL {
			t.Errorf("firing alert %s", req.body)
		}
	}
	dls, err := d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: "fp1", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range dls {
		if dl.Status != StatusOK {
			t.Errorf("delivery %+v", dl)
		}
	}
}

// TestSlackAndTeamsShaped checks the bodies against the documented shapes: Slack's incoming
// webhook takes text and blocks (a section block with a mrkdwn text object) and answers "ok";
// Teams' takes a message whose attachment is an Adaptive Card (see teamsPayload) and answers "1".
func TestSlackAndTeamsShaped(t *testing.T) {
	t.Parallel()
	d, _ := newDispatcher(t, nil, Options{})
	slack := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	teams := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("1")) })
	s := addContactPoint(t, d, "slack", &SlackSettings{URL: slack.URL + "/services/T0/B0/XXXX"})
	tm := addContactPoint(t, d, "teams", &TeamsSettings{URL: teams.URL + "/webhookb2/xyz"})
	setPolicy(t, d, Policy{ContactPoint: s.ID, GroupWait: "0s", GroupInterval: "10ms", Routes: []Route{
		{Matchers: []string{`alertname=~".+"`}, ContactPoint: s.ID, Continue: true},
		{Matchers: []string{`severity="1"`}, ContactPoint: tm.ID},
	}})

	d.Notify(firing("DiskFull", "fp1"))
	got := waitDeliveries(t, d, "fp1", 2)
	for _, dl := range got {
		if dl.Status != StatusOK {
			t.Errorf("delivery %+v", dl)
		}
	}

	var sp struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	strictDecode(t, slack.requests()[0].body, &sp)
	if !strings.Contains(sp.Text, "[FIRING:1] DiskFull") || len(sp.Blocks) != 1 || sp.Blocks[0].Type != "section" ||
		sp.Blocks[0].Text.Type != "mrkdwn" || !strings.Contains(sp.Blocks[0].Text.Text, "*DiskFull* — error, firing on db1:9100") ||
		!strings.Contains(sp.Blocks[0].Text.Text, "DiskFull is up to something") {
		t.Errorf("slack body %s", slack.requests()[0].body)
	}

	var tp struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string  `json:"contentType"`
			ContentURL  *string `json:"contentUrl"`
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct {
					Type   string `json:"type"`
					Text   string `json:"text"`
					Weight string `json:"weight"`
					Size   string `json:"size"`
					Wrap   bool   `json:"wrap"`
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	strictDecode(t, teams.requests()[0].body, &tp)
	if tp.Type != "message" || len(tp.Attachments) != 1 || tp.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		tp.Attachments[0].Content.Type != "AdaptiveCard" || len(tp.Attachments[0].Content.Body) != 2 ||
		!strings.Contains(tp.Attachments[0].Content.Body[1].Text, "**DiskFull**") {
		t.Errorf("teams body %s", teams.requests()[0].body)
	}
}

func strictDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		timeout  Duration
		answer   func(n int, w http.ResponseWriter, r *http.Request)
		statuses []string
		http     []int
		errText  string
	}{
		{
			name: "5xx retried until it passes",
			answer: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n < 3 {
					http.Error(w, "try later", http.StatusServiceUnavailable)
				}
			},
			statuses: []string{StatusFailed, StatusFailed, StatusOK}, http: []int{503, 503, 200},
			errText: `receiver answered 503 Service Unavailable: "try later"`,
		},
		{
			name: "429 retried, bounded by attempts",
			answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "slow down", http.StatusTooManyRequests)
			},
			statuses: []string{StatusFailed, StatusFailed, StatusFailed}, http: []int{429, 429, 429},
			errText: "429 Too Many Requests",
		},
		{
			name: "4xx not retried",
			answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "invalid_payload", http.StatusBadRequest)
			},
			statuses: []string{StatusFailed}, http: []int{400},
			errText: `receiver answered 400 Bad Request: "invalid_payload"`,
		},
		{
			name:    "timeout retried",
			timeout: "200ms",
			answer: func(n int, _ http.ResponseWriter, r *http.Request) {
				if n == 1 {
					<-r.Context().Done() // hangs until huddle gives up
				}
			},
			statuses: []string{StatusFailed, StatusOK}, http: []int{0, 200},
			errText: "no answer within the contact point's timeout",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDispatcher(t, nil, Options{})
			rc := newReceiver(t, c.answer)
			cp := addContactPoint(t, d, "hook", &WebhookSettings{URL: rc.URL}, func(cp *ContactPoint) { cp.Timeout = c.timeout })
			setPolicy(t, d, immediate(cp.ID))
			d.Notify(firing("DiskFull", "fp1"))
			got := waitDeliveries(t, d, "fp1", len(c.statuses))
			for i, dl := range got {
				if dl.Status != c.statuses[i] || dl.HTTPStatus != c.http[i] || dl.Attempt != i+1 {
					t.Errorf("attempt %d: %+v, want status %s, HTTP %d", i+1, dl, c.statuses[i], c.http[i])
				}
			}
			if !strings.Contains(got[0].Error, c.errText) {
				t.Errorf("error %q, want it to say %q", got[0].Error, c.errText)
			}
			if len(rc.requests()) != len(c.statuses) {
				t.Errorf("%d requests, want %d", len(rc.requests()), len(c.statuses))
			}
		})
	}
}

// TestHungReceiver: a receiver that never answers holds up neither the evaluator's Notify nor
// another contact point, nor another group of its own policy.
func TestHungReceiver(t *testing.T) {
	t.Parallel()
	d, _ := newDispatcher(t, nil, Options{})
	release := make(chan struct{})
	hung := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for handlers
	ok := newReceiver(t, nil)
	h := addContactPoint(t, d, "hung", &WebhookSettings{URL: hung.URL}, func(cp *ContactPoint) { cp.Timeout = "2m"; cp.Attempts = 1 })
	o := addContactPoint(t, d, "ok", &WebhookSettings{URL: ok.URL})
	setPolicy(t, d, Policy{ContactPoint: o.ID, GroupBy: []string{"alertname"}, GroupWait: "0s", GroupInterval: "10ms", RepeatInterval: "1h",
		Routes: []Route{{Matchers: []string{`alertname="Hung"`}, ContactPoint: h.ID}}})

	d.Notify(firing("Hung", "fp-hung"))
	testkit.WaitFor(t, "the hung receiver to get its request", func() bool { return len(hung.requests()) == 1 })
	for i := range 1000 { // an evaluator's worth of calls while a delivery hangs
		d.Notify(firing("Hung", "fp-hung"), firing("Other", "fp-other-"+strconv.Itoa(i%3)))
	}
	// The other group may be flushed more than once meanwhile (its group interval is 10 ms, and
	// each flush with a new alert sends the whole group), so each alert has one delivery or more.
	for i := range 3 {
		fp := "fp-other-" + strconv.Itoa(i)
		var got []Delivery
		testkit.WaitFor(t, "a delivery of "+fp, func() bool {
			got, _ = d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: fp, Limit: 1000})
			return len(got) > 0
		})
		for _, dl := range got {
			if dl.Status != StatusOK {
				t.Errorf("delivery %+v", dl)
			}
		}
	}
	if got, _ := d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: "fp-hung"}); len(got) != 0 {
		t.Errorf("the hung delivery ended: %+v", got)
	}
}

// TestGarbageAnswers: receivers that answer something that is not HTTP, or an error page of any
// size, each get a clear error in the delivery log, and the contact point beside them is served.
func TestGarbageAnswers(t *testing.T) {
	t.Parallel()
	d, logs := newDispatcher(t, nil, Options{})
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = garbage.Close() })
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			// Read the request's head, then answer what is not HTTP.
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02 not http\r\n\r\n"))
			_ = c.Close()
		}
	}()
	huge := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(bytes.Repeat([]byte("<html>oops</html>"), 10_000))
	})
	ok := newReceiver(t, nil)
	slackURL := "http://" + garbage.Addr().String() + "/services/T0/B0/SECRETTOKEN"
	g := addContactPoint(t, d, "garbage", &SlackSettings{URL: slackURL}, func(cp *ContactPoint) { cp.Attempts = 1 })
	hg := addContactPoint(t, d, "huge", &WebhookSettings{URL: huge.URL}, func(cp *ContactPoint) { cp.Attempts = 1 })
	o := addContactPoint(t, d, "ok", &WebhookSettings{URL: ok.URL})
	setPolicy(t, d, Policy{ContactPoint: o.ID, GroupWait: "0s", GroupInterval: "10ms", Routes: []Route{
		{Matchers: []string{`alertname=~".+"`}, ContactPoint: g.ID, Continue: true},
		{Matchers: []string{`alertname=~".+"`}, ContactPoint: hg.ID, Continue: true},
		{Matchers: []string{`alertname=~".+"`}, ContactPoint: o.ID},
	}})
	d.Notify(firing("DiskFull", "fp1"))
	got := waitDeliveries(t, d, "fp1", 3)
	by := map[string]Delivery{}
	for _, dl := range got {
		by[dl.ContactPointName] = dl
	}
	if dl := by["garbage"]; dl.Status != StatusFailed || !strings.Contains(dl.Error, "malformed HTTP") {
		t.Errorf("garbage: %+v", dl)
	}
	if dl := by["huge"]; dl.Status != StatusFailed || dl.HTTPStatus != 502 || len(dl.Error) > 400 || !strings.Contains(dl.Error, "<html>oops") {
		t.Errorf("huge: %+v", dl)
	}
	if dl := by["ok"]; dl.Status != StatusOK {
		t.Errorf("ok: %+v", dl)
	}
	for _, dl := range got {
		if strings.Contains(dl.Error, "SECRETTOKEN") {
			t.Errorf("the secret URL is in the delivery log: %q", dl.Error)
		}
	}
	testkit.WaitFor(t, "the failures in the log", func() bool { return strings.Count(logs.String(), "notification failed") == 2 })
	if strings.Contains(logs.String(), "SECRETTOKEN") {
		t.Errorf("the secret URL is in the log:\n%s", logs)
	}
}

func TestHubReaction(t *testing.T) {
	t.Parallel()
	hub := &hubRecorder{}
	d, _ := newDispatcher(t, nil, Options{Hub: hub, ExternalURL: "http://huddle.example"})
	cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts.db"})
	setPolicy(t, d, immediate(cp.ID))
	d.Notify(firing("DiskFull", "fp1"))
	waitDeliveries(t, d, "fp1", 1)
	sent := hub.take()
	if len(sent) != 1 || sent[0].hub != "ops" || sent[0].group != "alerts.db" {
		t.Fatalf("sent %+v", sent)
	}
	var m Message
	strictDecode(t, sent[0].data, &m)
	if m.Status != "firing" || m.ExternalURL != "http://huddle.example" || len(m.Alerts) != 1 || !maps.Equal(m.Alerts[0].Labels, firing("DiskFull", "").Labels) {
		t.Errorf("message %+v", m)
	}
}
