package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/huddle-dev/huddle/internal/app"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// createKey makes an API key as the signed-in b and returns its secret.
func createKey(t *testing.T, b *browser, role string, scopes ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": role + " key", "role": role, "scopes": scopes})
	var k struct{ Key string }
	if err := json.Unmarshal([]byte(b.expect("POST", "/api/keys", string(body), 201)), &k); err != nil || k.Key == "" {
		t.Fatalf("key: %v", err)
	}
	return k.Key
}

// remoteWrite pushes one sample of pushed_total{agent="alloy"} as a Prometheus agent would,
// with key as the basic-auth password (how Grafana Alloy and Prometheus send credentials).
func remoteWrite(t *testing.T, base, key string, v float64, at time.Time) int {
	t.Helper()
	return remoteWriteSeries(t, base, key, prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: "pushed_total"}, {Name: "agent", Value: "alloy"}},
		Samples: []prompb.Sample{{Value: v, Timestamp: at.UnixMilli()}},
	})
}

// remoteWriteSeries pushes series in one remote-write request and returns its status.
func remoteWriteSeries(t *testing.T, base, key string, series ...prompb.TimeSeries) int {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.SetBasicAuth("alloy", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// queryValue runs an instant query as Grafana's Prometheus data source does (bearer key) and
// returns the status and the first sample's value, "" when the result is empty.
func queryValue(t *testing.T, base, key, expr string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string
		Data   struct {
			Result []struct{ Value [2]any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("query %s: %d, body is not JSON: %v", expr, resp.StatusCode, err)
	}
	if len(out.Data.Result) == 0 {
		return resp.StatusCode, ""
	}
	v, _ := out.Data.Result[0].Value[1].(string)
	return resp.StatusCode, v
}

// An agent pushes with a metrics:write key, Grafana reads with a metrics:read key, neither can
// do the other's job, and what was pushed survives a restart.
func TestMetricsAPIThroughKeys(t *testing.T) {
	dir := t.TempDir()
	srv := apptest.Start(t, config.Config{DataDir: dir})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	writer := createKey(t, admin, "editor", "metrics:write")
	reader := createKey(t, admin, "viewer", "metrics:read")
	dashboards := createKey(t, admin, "viewer", "dashboards:read")

	at := time.Now().Add(-time.Second)
	if code := remoteWrite(t, srv.URL, reader, 1, at); code != http.StatusForbidden {
		t.Fatalf("remote write with a read-only key: %d, want 403", code)
	}
	if code := remoteWrite(t, srv.URL, "hud_wrong_key", 1, at); code != http.StatusUnauthorized {
		t.Fatalf("remote write with a wrong key: %d, want 401", code)
	}
	if code := remoteWrite(t, srv.URL, writer, 42, at); code != http.StatusNoContent {
		t.Fatalf("remote write: %d, want 204", code)
	}
	if code, v := queryValue(t, srv.URL, reader, `pushed_total{agent="alloy"}`); code != 200 || v != "42" {
		t.Fatalf("query after write: %d %q, want 200 \"42\"", code, v)
	}
	if code, _ := queryValue(t, srv.URL, dashboards, "pushed_total"); code != http.StatusForbidden {
		t.Fatalf("query with a key without metrics:read: %d, want 403", code)
	}
	if code, v := queryValue(t, srv.URL, writer, "pushed_total"); code != 200 || v != "42" {
		t.Fatalf("query with a metrics:write key: %d %q (write implies read)", code, v)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	again := apptest.Start(t, config.Config{DataDir: dir})
	if code, v := queryValue(t, again.URL, reader, `pushed_total{agent="alloy"}`); code != 200 || v != "42" {
		t.Fatalf("query after a restart: %d %q, want the pushed 42", code, v)
	}
}

// A fresh server has this host's and its own metrics queryable within seconds: the collector
// collects once at start. The interval is an hour so that only that first collection can show.
func TestHostMetricsSoonAfterStart(t *testing.T) {
	srv := apptest.Start(t, config.Config{Metrics: config.Metrics{Interval: time.Hour}})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	key := createKey(t, admin, "viewer", "metrics:read")
	for _, expr := range []string{`node_memory_MemTotal_bytes{job="node"} > 0`, `up{job="huddle"} == 1`,
		`count(node_cpu_seconds_total{mode="idle"}) > 0`} {
		testkit.WaitFor(t, "data for "+expr, func() bool {
			code, v := queryValue(t, srv.URL, key, expr)
			return code == 200 && v != ""
		})
	}
}

func TestBadScrapeConfigStopsStart(t *testing.T) {
	cfg := config.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AccessKey: apptest.Key, AdminPassword: apptest.AdminPassword,
		Metrics: config.Metrics{Scrape: []config.ScrapeJob{{Job: "app", Targets: []string{"http//nowhere"}}}}}
	_, err := app.New(cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "metrics.scrape[0].targets[0]") {
		t.Fatalf("New = %v, want an error naming metrics.scrape[0].targets[0]", err)
	}
}

// With metrics.source prometheus, every query goes to the other server: here a second huddle,
// reached with one of its API keys as the bearer token.
func TestRemotePrometheusSource(t *testing.T) {
	upstream := apptest.Start(t, config.Config{})
	upAdmin := newBrowser(t, upstream.URL)
	upAdmin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	if code := remoteWrite(t, upstream.URL, createKey(t, upAdmin, "editor", "metrics:write"), 7, time.Now().Add(-time.Second)); code != http.StatusNoContent {
		t.Fatalf("remote write upstream: %d", code)
	}
	srv := apptest.Start(t, config.Config{Metrics: config.Metrics{Source: config.SourcePrometheus,
		Prometheus: config.RemotePrometheus{URL: upstream.URL, BearerToken: createKey(t, upAdmin, "viewer", "metrics:read")}}})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	key := createKey(t, admin, "viewer", "metrics:read")
	if code, v := queryValue(t, srv.URL, key, `pushed_total{agent="alloy"}`); code != 200 || v != "7" {
		t.Fatalf("query through the remote source: %d %q, want 200 \"7\"", code, v)
	}
	if code, _ := queryValue(t, srv.URL, key, `sum(`); code != http.StatusBadRequest {
		t.Fatalf("a bad query through the remote source: %d, want 400 as the upstream answers", code)
	}
	if code := remoteWrite(t, srv.URL, createKey(t, admin, "editor", "metrics:write"), 1, time.Now()); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
		t.Fatalf("remote write with a remote source: %d, want no receiver", code)
	}
}

func TestRemotePrometheusSourceConfigErrors(t *testing.T) {
	cfg := config.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AccessKey: apptest.Key, AdminPassword: apptest.AdminPassword,
		Metrics: config.Metrics{Source: config.SourcePrometheus, Prometheus: config.RemotePrometheus{URL: "prometheus:9090"}}}
	if _, err := app.New(cfg, slog.New(slog.DiscardHandler), io.Discard); err == nil || !strings.Contains(err.Error(), "metrics.prometheus.url") {
		t.Fatalf("New = %v, want an error naming metrics.prometheus.url", err)
	}
}

// With metrics.protectSelf, /metrics answers only those who may read the query API: a signed-in
// person or a key with metrics:read, not the anonymous nor a key without it.
func TestProtectedSelfMetrics(t *testing.T) {
	srv := apptest.Start(t, config.Config{Metrics: config.Metrics{ProtectSelf: true}})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"a key without metrics:read", createKey(t, admin, "viewer", "dashboards:read"), http.StatusForbidden},
		{"a metrics:read key", createKey(t, admin, "viewer", "metrics:read"), http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == http.StatusOK) != strings.Contains(string(body), "huddle_connections") {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if code, body, _ := admin.do("GET", "/metrics", ""); code != http.StatusOK || !strings.Contains(body, "huddle_connections") {
		t.Errorf("signed-in administrator: %d", code)
	}
}
