package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/metadata"

	"github.com/huddle-dev/huddle/internal/testkit"
)

const exposition = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",job="app"} 10
# TYPE temperature_celsius gauge
temperature_celsius 21.5
# HELP latency_seconds Request latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="1"} 3
latency_seconds_bucket{le="+Inf"} 4
latency_seconds_sum 2.5
latency_seconds_count 4
`

// newScrapeCollector returns a collector whose only job is sc (named "shop"
// unless it has a name), and the clock that stamps its collections.
func newScrapeCollector(t *testing.T, opts Options, sc ScrapeConfig) (*Collector, *testkit.Clock) {
	t.Helper()
	clk := testkit.NewClock(t0)
	opts.Host.Disabled = true
	opts.Now = clk.Now
	if sc.JobName == "" {
		sc.JobName = "shop"
	}
	opts.Scrape = []ScrapeConfig{sc}
	if opts.Logger == nil {
		opts.Logger = discard
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestScrapeJob(t *testing.T) {
	var (
		body   atomic.Value // the exposition served, or "" for a 500
		header atomic.Value // the last request's headers
	)
	body.Store(exposition)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header.Store(r.Header.Clone())
		b := body.Load().(string)
		if b == "" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(b))
	}))
	defer srv.Close()
	instance := strings.TrimPrefix(srv.URL, "http://")

	s := openStore(t)
	var logs testkit.LogBuffer
	c, clk := newScrapeCollector(t, Options{Appendable: s, Logger: textLogger(&logs)}, ScrapeConfig{
		Targets: []string{instance},
		Labels:  map[string]string{"env": "test"},
		Timeout: 2 * time.Second,
	})
	scrape := func(at time.Time) {
		t.Helper()
		clk.Set(at)
		c.jobs[0].collect(context.Background())
	}

	scrape(t0)
	at := t0.Add(time.Second)
	sel := `{job="shop",instance="` + instance + `",env="test"}`
	checks := []struct {
		expr string
		want float64
	}{
		{`http_requests_total{job="shop",exported_job="app",code="200",env="test",instance="` + instance + `"}`, 10},
		{`temperature_celsius` + sel, 21.5},
		{`latency_seconds_bucket{le="1.0"}`, 3}, // le normalised as Prometheus 3 does
		{`latency_seconds_count`, 4},
		{`histogram_quantile(0.5, latency_seconds_bucket)`, 0.55},
		{`up` + sel, 1},
		{`scrape_samples_scraped` + sel, 7},
		{`scrape_samples_post_metric_relabeling` + sel, 7},
		{`scrape_series_added` + sel, 7},
	}
	for _, c := range checks {
		if got := only(t, s, c.expr, at); got != c.want {
			t.Errorf("%s = %v, want %v", c.expr, got, c.want)
		}
	}
	if d := only(t, s, `scrape_duration_seconds`+sel, at); d < 0 || d > 2 {
		t.Errorf("scrape_duration_seconds = %v", d)
	}
	h := header.Load().(http.Header)
	if got := h.Get("X-Prometheus-Scrape-Timeout-Seconds"); got != "2" {
		t.Errorf("X-Prometheus-Scrape-Timeout-Seconds = %q, want 2", got)
	}
	if got := h.Get("Accept"); !strings.HasPrefix(got, "application/openmetrics-text;version=1.0.0") {
		t.Errorf("Accept = %q", got)
	}
	if m := metadataOf(t, s, "http_requests_total"); m != (metadata.Metadata{Type: "counter", Help: "Requests served."}) {
		t.Errorf("metadata of http_requests_total = %+v", m)
	}
	if m := metadataOf(t, s, "up"); m.Type != "gauge" {
		t.Errorf("metadata of up = %+v", m)
	}

	// The gauge disappears: it is marked stale, the rest goes on.
	body.Store(strings.Replace(exposition, "temperature_celsius 21.5\n", "", 1))
	scrape(t0.Add(10 * time.Second))
	at = t0.Add(11 * time.Second)
	if v := query(t, s, `temperature_celsius`, at); len(v) != 0 {
		t.Errorf("temperature_celsius after it disappeared: %v, want nothing", v)
	}
	if got := only(t, s, `temperature_celsius`, t0.Add(9*time.Second)); got != 21.5 {
		t.Errorf("temperature_celsius before it disappeared = %v", got)
	}
	if got := only(t, s, `http_requests_total`, at); got != 10 {
		t.Errorf("http_requests_total = %v", got)
	}
	if got := only(t, s, `scrape_series_added`, at); got != 0 {
		t.Errorf("scrape_series_added = %v, want 0 on a known target", got)
	}

	// The target fails twice: up=0, every series stale, one log line.
	body.Store("")
	scrape(t0.Add(20 * time.Second))
	scrape(t0.Add(30 * time.Second))
	at = t0.Add(31 * time.Second)
	if got := only(t, s, `up`+sel, at); got != 0 {
		t.Errorf("up = %v, want 0 after HTTP 500", got)
	}
	for _, name := range []string{"http_requests_total", "latency_seconds_bucket", "latency_seconds_sum"} {
		if v := query(t, s, name, at); len(v) != 0 {
			t.Errorf("%s after the target failed: %v, want nothing", name, v)
		}
	}
	if n := strings.Count(logs.String(), "collection failed"); n != 1 {
		t.Errorf("%d failure log lines for two failures, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "500 Internal Server Error") {
		t.Errorf("log does not give the status:\n%s", logs.String())
	}

	// Back up: the series return and the recovery is logged.
	body.Store(exposition)
	scrape(t0.Add(40 * time.Second))
	at = t0.Add(41 * time.Second)
	if got := only(t, s, `temperature_celsius`, at); got != 21.5 {
		t.Errorf("temperature_celsius after recovery = %v", got)
	}
	if got := only(t, s, `up`+sel, at); got != 1 {
		t.Errorf("up = %v after recovery", got)
	}
	if !strings.Contains(logs.String(), "target is up again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}

	// The target goes away altogether.
	srv.Close()
	scrape(t0.Add(50 * time.Second))
	at = t0.Add(51 * time.Second)
	if got := only(t, s, `up`+sel, at); got != 0 {
		t.Errorf("up = %v after the server closed", got)
	}
	if v := query(t, s, `temperature_celsius`, at); len(v) != 0 {
		t.Errorf("temperature_celsius after the server closed: %v", v)
	}
}

func TestScrapeFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		sc      ScrapeConfig
		wantLog string
	}{
		{
			name: "timeout",
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			sc:      ScrapeConfig{Timeout: 100 * time.Millisecond},
			wantLog: "context deadline exceeded",
		},
		{
			name: "body too large",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(strings.Repeat("big_metric 1\n", 100)))
			},
			sc:      ScrapeConfig{BodySizeLimit: 1000},
			wantLog: "body exceeds the 1000-byte limit",
		},
		{
			name: "unparsable",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("good 1\nbad{ 2\n"))
			},
			wantLog: "parse exposition",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			s := openStore(t)
			var logs testkit.LogBuffer
			tt.sc.Targets = []string{srv.URL + "/metrics"}
			c, _ := newScrapeCollector(t, Options{Appendable: s, Logger: textLogger(&logs)}, tt.sc)
			start := time.Now()
			c.jobs[0].collect(context.Background())
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the scrape took %s", took)
			}
			if got := only(t, s, `up{job="shop"}`, t0); got != 0 {
				t.Errorf("up = %v, want 0", got)
			}
			if v := query(t, s, `{__name__=~"good|big_metric"}`, t0); len(v) != 0 {
				t.Errorf("samples of a failed scrape were kept: %v", v)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log does not say %q:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

// TestScrapeTimestamps checks that explicit timestamps are kept unless
// IgnoreTimestamps, and that such series get no stale marker.
func TestScrapeTimestamps(t *testing.T) {
	var served atomic.Value
	served.Store("with_ts 1 1699999990000\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(served.Load().(string)))
	}))
	defer srv.Close()

	for _, ignore := range []bool{false, true} {
		s := openStore(t)
		c, clk := newScrapeCollector(t, Options{Appendable: s}, ScrapeConfig{Targets: []string{srv.URL}, IgnoreTimestamps: ignore})
		served.Store("with_ts 1 1699999990000\n")
		c.jobs[0].collect(context.Background())
		// 10 s before t0 the sample exists only if its timestamp was kept.
		got := query(t, s, `with_ts`, t0.Add(-5*time.Second))
		if want := !ignore; (len(got) == 1) != want {
			t.Errorf("IgnoreTimestamps=%v: with_ts at t0-5s = %v", ignore, got)
		}
		served.Store("")
		clk.Set(t0.Add(10 * time.Second))
		c.jobs[0].collect(context.Background())
		got = query(t, s, `with_ts`, t0.Add(11*time.Second))
		if want := !ignore; (len(got) == 1) != want {
			t.Errorf("IgnoreTimestamps=%v: with_ts after it vanished = %v (stale marker only without explicit timestamps)", ignore, got)
		}
	}
}

// TestScrapeProtobuf serves the protobuf exposition, which we do not ask
// for but some targets send anyway; its native histogram is kept as one.
func TestScrapeProtobuf(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "native_seconds", Help: "Native.", NativeHistogramBucketFactor: 1.1})
	reg.MustRegister(h)
	h.Observe(1)
	h.Observe(2)
	format := expfmt.NewFormat(expfmt.TypeProtoDelim)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", string(format))
		enc := expfmt.NewEncoder(w, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Error(err)
			}
		}
	}))
	defer srv.Close()
	s := openStore(t)
	c, _ := newScrapeCollector(t, Options{Appendable: s}, ScrapeConfig{Targets: []string{srv.URL}})
	c.jobs[0].collect(context.Background())
	if got := only(t, s, `histogram_count(native_seconds{job="shop"})`, t0); got != 2 {
		t.Errorf("histogram_count = %v, want 2", got)
	}
	if got := only(t, s, `up{job="shop"}`, t0); got != 1 {
		t.Errorf("up = %v", got)
	}
}

func TestScrapeAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Header.Get("Authorization") != "Bearer s3cret" && !(ok && user == "u" && pass == "p") {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("authed 1\n"))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name   string
		sc     ScrapeConfig
		wantUp float64
	}{
		{"none", ScrapeConfig{}, 0},
		{"basic", ScrapeConfig{BasicAuth: &BasicAuth{Username: "u", Password: "p"}}, 1},
		{"wrong basic", ScrapeConfig{BasicAuth: &BasicAuth{Username: "u", Password: "x"}}, 0},
		{"bearer", ScrapeConfig{BearerToken: "s3cret"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			tt.sc.Targets = []string{srv.URL}
			c, _ := newScrapeCollector(t, Options{Appendable: s}, tt.sc)
			c.jobs[0].collect(context.Background())
			if got := only(t, s, `up{job="shop"}`, t0); got != tt.wantUp {
				t.Errorf("up = %v, want %v", got, tt.wantUp)
			}
		})
	}
}
