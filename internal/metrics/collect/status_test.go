package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTargets follows one scrape target from before its first collection through a success and
// a failure, as /api/v1/targets shows it.
func TestTargets(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(exposition))
	}))
	defer srv.Close()
	url := srv.URL + "/metrics"
	c, clk := newScrapeCollector(t, Options{Appendable: openStore(t)},
		ScrapeConfig{Targets: []string{url}, Interval: 30 * time.Second, Timeout: 5 * time.Second, Labels: map[string]string{"env": "test"}})

	ts := c.Targets()
	if len(ts) != 1 {
		t.Fatalf("Targets() = %+v, want one", ts)
	}
	got := ts[0]
	if got.Job != "shop" || got.URL != url || got.Interval != 30*time.Second || got.Timeout != 5*time.Second ||
		got.Labels.Get("env") != "test" || got.Labels.Get("instance") != strings.TrimPrefix(srv.URL, "http://") ||
		!got.LastCollection.IsZero() || got.LastError != "" {
		t.Fatalf("before the first collection: %+v", got)
	}

	c.jobs[0].collect(context.Background())
	if got := c.Targets()[0]; !got.LastCollection.Equal(t0) || got.LastError != "" {
		t.Fatalf("after a success: %+v", got)
	}

	failing.Store(true)
	clk.Advance(30 * time.Second)
	c.jobs[0].collect(context.Background())
	if got := c.Targets()[0]; !got.LastCollection.Equal(t0.Add(30*time.Second)) || !strings.Contains(got.LastError, "503") {
		t.Fatalf("after a failure: %+v", got)
	}
}
