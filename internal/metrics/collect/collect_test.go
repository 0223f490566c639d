package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRunTicks runs the self job in a bubble: one collection at start, then
// one per interval, and nothing left running once Run has returned (the
// bubble fails on a leaked goroutine).
func TestRunTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "huddle_test_value", Help: "A value."})
		reg.MustRegister(gauge)
		rec := &recorder{}
		own := prometheus.NewRegistry()
		c, err := New(Options{
			Appendable: rec,
			Registerer: own,
			Host:       HostJob{Disabled: true},
			Self:       SelfJob{Gatherer: reg, Instance: "self", Interval: 15 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		start := time.Now()
		go func() { done <- c.Run(ctx) }()

		synctest.Wait()
		if got := rec.named("huddle_test_value"); len(got) != 1 || got[0].t != start.UnixMilli() {
			t.Fatalf("after start: %v, want one sample at once", got)
		}
		time.Sleep(50 * time.Second)
		synctest.Wait()
		got := rec.named("up")
		if len(got) != 4 {
			t.Fatalf("after 50 s at 15 s: %d collections, want 4 (0, 15, 30, 45 s)", len(got))
		}
		for i, s := range got {
			if want := start.Add(time.Duration(i) * 15 * time.Second).UnixMilli(); s.t != want {
				t.Errorf("collection %d at %d, want %d", i, s.t, want)
			}
		}
		if err := c.Run(ctx); err == nil {
			t.Error("a second Run while running succeeded")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(rec.named("up")); n != 4 {
			t.Errorf("%d collections after Run returned, want still 4", n)
		}
		if got := testutil.ToFloat64(c.metrics.collections.WithLabelValues("huddle")); got != 4 {
			t.Errorf("huddle_collector_collections_total = %v, want 4", got)
		}
	})
}

// TestRunCancelInFlight stops the collector while a scrape hangs: Run
// returns promptly and the interrupted scrape is not recorded as a failure.
func TestRunCancelInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	rec := &recorder{}
	c, _ := newScrapeCollector(t, Options{Appendable: rec}, ScrapeConfig{Targets: []string{srv.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	<-arrived
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := rec.named("up"); len(got) != 0 {
		t.Errorf("an interrupted scrape was recorded: %v", got)
	}
}

func TestNewValidates(t *testing.T) {
	good := func() ScrapeConfig { return ScrapeConfig{JobName: "app", Targets: []string{"localhost:9100"}} }
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no appendable", func(o *Options) { o.Appendable = nil }, "Options.Appendable is nil"},
		{"no job name", func(o *Options) { o.Scrape[1].JobName = "" }, "scrape[1].job is empty"},
		{"bad target", func(o *Options) { o.Scrape[1].Targets = []string{"http//x"} }, `scrape[1].targets[0] "http//x": want host:port`},
		{"no port", func(o *Options) { o.Scrape[1].Targets = []string{"localhost"} }, `scrape[1].targets[0] "localhost"`},
		{"ftp URL", func(o *Options) { o.Scrape[1].Targets = []string{"ftp://x:1/"} }, `scheme "ftp"`},
		{"no targets", func(o *Options) { o.Scrape[1].Targets = nil }, "scrape[1].targets is empty"},
		{"same target twice", func(o *Options) { o.Scrape[1].Targets = []string{"a:1", "http://a:1/m"} }, "same instance as targets[0]"},
		{"timeout above interval", func(o *Options) {
			o.Scrape[1].Interval, o.Scrape[1].Timeout = 5*time.Second, 6*time.Second
		}, "scrape[1].timeout 6s exceeds interval 5s"},
		{"negative interval", func(o *Options) { o.Scrape[1].Interval = -time.Second }, "scrape[1].interval -1s is negative"},
		{"bad scheme", func(o *Options) { o.Scrape[1].Scheme = "ftp" }, `scrape[1].scheme "ftp": use http or https`},
		{"relative path", func(o *Options) { o.Scrape[1].MetricsPath = "metrics" }, "start it with /"},
		{"job label", func(o *Options) { o.Scrape[1].Labels = map[string]string{"job": "x"} }, `scrape[1].labels has "job": set job (the job name) instead`},
		{"reserved label", func(o *Options) { o.Scrape[1].Labels = map[string]string{"__x": "x"} }, "reserved"},
		{"invalid label", func(o *Options) { o.Scrape[1].Labels = map[string]string{"a-b": "x"} }, `"a-b"`},
		{"two auths", func(o *Options) {
			o.Scrape[1].BasicAuth, o.Scrape[1].BearerToken = &BasicAuth{Username: "u"}, "t"
		}, "both set"},
		{"duplicate job", func(o *Options) { o.Scrape[1].JobName = "app" }, `scrape[1].job "app" is also scrape[0].job`},
		{"scrape job named as host job", func(o *Options) { o.Scrape[1].JobName = "node" }, `is also host.job`},
		{"negative host interval", func(o *Options) { o.Host.Interval = -1 }, "host.interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			second := good()
			second.JobName = "other"
			o := Options{Appendable: &recorder{}, Host: HostJob{Instance: "h"}, Scrape: []ScrapeConfig{good(), second}}
			tt.mutate(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Options{Appendable: &recorder{}, Host: HostJob{Instance: "h"}, Scrape: []ScrapeConfig{
		{JobName: "a", Targets: []string{"localhost:9100", "https://b:443/custom?x=1"}},
		{JobName: "b", Targets: []string{"c:1"}, Interval: 5 * time.Second, Scheme: "https", MetricsPath: "/m"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.jobs) != 3 || c.jobs[0].name != "node" || c.jobs[0].interval != DefaultInterval {
		t.Fatalf("host job: %+v", c.jobs[0])
	}
	check := func(j *job, i int, url, instance string, timeout time.Duration) {
		t.Helper()
		src := j.targets[i].src.(*scrapeSource)
		if src.url != url || j.targets[i].instance != instance || src.timeout != timeout || src.limit != DefaultBodySizeLimit {
			t.Errorf("target %s: url %s, instance %s, timeout %s, limit %d", url, src.url, j.targets[i].instance, src.timeout, src.limit)
		}
	}
	check(c.jobs[1], 0, "http://localhost:9100/metrics", "localhost:9100", 10*time.Second)
	check(c.jobs[1], 1, "https://b:443/custom?x=1", "b:443", 10*time.Second)
	check(c.jobs[2], 0, "https://c:1/m", "c:1", 5*time.Second)
}
