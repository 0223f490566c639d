package metrics

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// staticTargets is a TargetLister with fixed targets.
type staticTargets []Target

func (s staticTargets) Targets() []Target { return s }

// testTargets are a host target that is up and a scrape target that is down.
var testTargets = staticTargets{
	{Job: "node", Labels: labels.FromStrings("instance", "box", "job", "node"), Interval: 10 * time.Second,
		LastCollection: t0, LastDuration: 20 * time.Millisecond},
	{Job: "shop", Labels: labels.FromStrings("env", "test", "instance", "shop:9100", "job", "shop"), URL: "http://shop:9100/metrics",
		Interval: 30 * time.Second, Timeout: 5 * time.Second, LastCollection: t0, LastDuration: 5 * time.Second,
		LastError: "context deadline exceeded"},
}

// TestAPILimits checks limit= on the query and listing endpoints: at most limit items, and
// Prometheus's warning when the answer was cut (web/api/v1/api.go, "results truncated due to
// limit").
func TestAPILimits(t *testing.T) {
	srv, _ := apiServer(t)
	for _, tc := range []struct {
		name   string
		path   string
		params url.Values
		want   string
		warned bool
	}{
		{"labels cut", "/api/v1/labels", url.Values{"limit": {"2"}}, `["__name__","code"]`, true},
		{"labels exact", "/api/v1/labels", url.Values{"limit": {"4"}}, `["__name__","code","job","le"]`, false},
		{"labels 0 is no limit", "/api/v1/labels", url.Values{"limit": {"0"}}, `["__name__","code","job","le"]`, false},
		{"label values cut", "/api/v1/label/le/values", url.Values{"limit": {"1"}}, `["+Inf"]`, true},
		{"series cut", "/api/v1/series", url.Values{"match[]": {"requests_total"}, "limit": {"1"}}, `[{"__name__":"requests_total","code":"200","job":"api"}]`, true},
		{"instant cut", "/api/v1/query", url.Values{"query": {"sort(requests_total)"}, "limit": {"1"}}, `"result":[{"metric":{"__name__":"requests_total","code":"500","job":"api"}`, true},
		{"range cut", "/api/v1/query_range", url.Values{"query": {"requests_total"}, "limit": {"1"}, "start": {unix(0)}, "end": {unix(time.Minute)}, "step": {"1m"}},
			`"result":[{"metric":{"__name__":"requests_total","code":"200","job":"api"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := call(t, srv, http.MethodGet, tc.path, tc.params)
			if code != 200 || !strings.Contains(string(r.Data), tc.want) {
				t.Fatalf("got %d %s, want %s", code, r.Data, tc.want)
			}
			if warned := slices.Contains(r.Warnings, "results truncated due to limit"); warned != tc.warned {
				t.Fatalf("warnings %q, want the truncation warning: %v", r.Warnings, tc.warned)
			}
		})
	}
}

// engineVersionInGoMod is the Prometheus release of the github.com/prometheus/prometheus
// version that go.mod requires.
func engineVersionInGoMod(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github.com/prometheus/prometheus v0\.(\d)(\d\d)\.(\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod requires no github.com/prometheus/prometheus v0.x")
	}
	return strings.TrimLeft(string(m[1]), "0") + "." + strings.TrimLeft(string(m[2]), "0") + "." + string(m[3])
}

// TestPrometheusClient reads the status endpoints with Prometheus's own Go client, which
// decodes them into its types: a field of the wrong type or shape fails here.
func TestPrometheusClient(t *testing.T) {
	srv, _ := apiServer(t)
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	prom := v1.NewAPI(c)
	ctx := context.Background()

	bi, err := prom.Buildinfo(ctx)
	if err != nil || bi.Version != engineVersionInGoMod(t) || !strings.HasPrefix(bi.GoVersion, "go") {
		t.Errorf("buildinfo %+v, %v; want version %s (update engineVersion with go.mod)", bi, err, engineVersionInGoMod(t))
	}
	rt, err := prom.Runtimeinfo(ctx)
	if err != nil || rt.StorageRetention != "30d" || !rt.ReloadConfigSuccess || rt.GoroutineCount == 0 || !rt.StartTime.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("runtimeinfo %+v, %v", rt, err)
	}
	flags, err := prom.Flags(ctx)
	if err != nil || flags["storage.tsdb.retention.time"] != "30d" || flags["query.timeout"] != "2m" || flags["query.max-samples"] != "50000000" {
		t.Errorf("flags %v, %v", flags, err)
	}
	cfg, err := prom.Config(ctx)
	if want := "scrape_configs:\n    - job_name: shop\n      scrape_interval: 30s\n      scrape_timeout: 5s\n      metrics_path: /metrics\n      scheme: http\n" +
		"      static_configs:\n        - targets:\n            - shop:9100\n          labels:\n            env: test\n"; err != nil || cfg.YAML != want {
		t.Errorf("config %q, %v; want %q", cfg.YAML, err, want)
	}
	targets, err := prom.Targets(ctx)
	if err != nil || len(targets.Active) != 2 || len(targets.Dropped) != 0 {
		t.Fatalf("targets %+v, %v", targets, err)
	}
	if up := targets.Active[0]; up.Health != v1.HealthGood || up.ScrapePool != "node" || up.ScrapeURL != "" || !up.LastScrape.Equal(t0) ||
		up.LastScrapeDuration != 0.02 || up.Labels["instance"] != "box" {
		t.Errorf("up target %+v", up)
	}
	if down := targets.Active[1]; down.Health != v1.HealthBad || down.LastError != "context deadline exceeded" ||
		down.ScrapeURL != "http://shop:9100/metrics" || down.GlobalURL != down.ScrapeURL || down.Labels["env"] != "test" {
		t.Errorf("down target %+v", down)
	}
	if rules, err := prom.Rules(ctx, nil); err != nil || rules.Groups == nil || len(rules.Groups) != 0 {
		t.Errorf("rules %+v, %v", rules, err)
	}
	if alerts, err := prom.Alerts(ctx); err != nil || alerts.Alerts == nil || len(alerts.Alerts) != 0 {
		t.Errorf("alerts %+v, %v", alerts, err)
	}
	st, err := prom.TSDB(ctx)
	if err != nil || st.HeadStats.NumSeries != 5 || int64(st.HeadStats.MinTime) != t0.UnixMilli() ||
		len(st.SeriesCountByMetricName) != 2 || st.SeriesCountByMetricName[0] != (v1.Stat{Name: "latency_seconds_bucket", Value: 3}) {
		t.Errorf("tsdb %+v, %v", st, err)
	}
	if ex, err := prom.QueryExemplars(ctx, "requests_total", t0, t0.Add(time.Hour)); err != nil || ex == nil || len(ex) != 0 {
		t.Errorf("exemplars %v, %v", ex, err)
	}
	// The client hands back the data as raw JSON: a JSON string.
	if f, err := prom.FormatQuery(ctx, `sum(rate(x[1m]))by(job)`); err != nil || f != `"sum by (job) (rate(x[1m]))"` {
		t.Errorf("format_query %q, %v", f, err)
	}
}

// TestAPIStatusParams checks the answers to the status endpoints' parameters that the client
// does not send.
func TestAPIStatusParams(t *testing.T) {
	srv, _ := apiServer(t)
	for _, tc := range []struct {
		path string // with its query
		code int
		want string
	}{
		// A query without a selector can have no exemplars: Prometheus answers 204.
		{"/api/v1/query_exemplars?query=1", 204, ""},
		{"/api/v1/targets?state=dropped", 200, `{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}`},
		{"/api/v1/targets?scrapePool=shop&state=active", 200, `"droppedTargets":[],"droppedTargetCounts":null}`},
		{"/api/v1/rules?type=alert", 200, `{"groups":[]}`},
		{"/api/v1/rules?type=x", 400, `invalid parameter \"type\": not supported value \"x\"`},
		{"/api/v1/rules?match[]={", 400, `parse error`},
		{"/api/v1/status/tsdb?limit=1", 200, `"seriesCountByMetricName":[{"name":"latency_seconds_bucket","value":3}]`},
		{"/api/v1/status/tsdb?limit=0", 400, "limit must be a positive number"},
		{"/api/v1/status/tsdb?limit=10001", 400, "limit must not exceed 10000"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			path, query, _ := strings.Cut(tc.path, "?")
			params, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			code, body := get(t, srv.URL, path, params)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want %d containing %s", code, body, tc.code, tc.want)
			}
		})
	}
	code, body := get(t, srv.URL, "/api/v1/targets", url.Values{"scrapePool": {"shop"}})
	var got struct {
		Data struct {
			ActiveTargets []struct{ ScrapePool string }
		}
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Data.ActiveTargets) != 1 || got.Data.ActiveTargets[0].ScrapePool != "shop" {
		t.Fatalf("targets of pool shop: %d %s", code, body)
	}
}

// TestAPIWithoutStore checks the status endpoints over a source that is not the embedded store
// and without a collector, as with a remote Prometheus.
func TestAPIWithoutStore(t *testing.T) {
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	NewAPI(s, APIOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/api/v1/status/flags":  `{"status":"success","data":{}}`,
		"/api/v1/status/config": `{"status":"success","data":{"yaml":"{}\n"}}`,
		"/api/v1/targets":       `{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}`,
		"/api/v1/status/tsdb":   `{"status":"error","errorType":"not_found","error":"the metrics source is a remote server: ask it for its TSDB status"}`,
	} {
		if _, body := get(t, srv.URL, path, nil); strings.TrimSpace(body) != want {
			t.Errorf("%s: %s, want %s", path, body, want)
		}
	}
	if code, _ := get(t, srv.URL, "/api/v1/write", nil); code != http.StatusNotFound {
		t.Errorf("the write route without an Appendable answered %d", code)
	}
}

func TestProbes(t *testing.T) {
	ready := false
	mux := http.NewServeMux()
	NewAPI(nil, APIOptions{Ready: func() bool { return ready }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		path  string
		ready bool
		code  int
		body  string
	}{
		{"/-/healthy", false, 200, "huddle is Healthy.\n"},
		{"/-/ready", false, 503, "Service Unavailable"},
		{"/-/ready", true, 200, "huddle is Ready.\n"},
	} {
		ready = tc.ready
		if code, body := get(t, srv.URL, tc.path, nil); code != tc.code || body != tc.body {
			t.Errorf("%s (ready %v): %d %q, want %d %q", tc.path, tc.ready, code, body, tc.code, tc.body)
		}
	}
}

// TestRemoteWriteMetadata sends metadata as Prometheus's metadata watcher does, in a request
// of its own, and beside samples, and reads it back from /api/v1/metadata.
func TestRemoteWriteMetadata(t *testing.T) {
	srv, _ := apiServer(t)
	send := func(req *prompb.WriteRequest) {
		t.Helper()
		raw, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if code, msg := postWrite(t, srv, snappy.Encode(nil, raw)); code != http.StatusNoContent {
			t.Fatalf("write answered %d %s", code, msg)
		}
	}
	send(&prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_HISTOGRAM, MetricFamilyName: "http_request_duration_seconds", Help: "Request latency.", Unit: "seconds"},
		{Type: prompb.MetricMetadata_GAUGEHISTOGRAM, MetricFamilyName: "queue_wait_seconds", Help: "Queue wait."},
		{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "requests_total", Help: "Requests served, as the agent says."},
	}})
	send(&prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "jobs_running"}},
			Samples: []prompb.Sample{{Value: 3, Timestamp: t0.Add(6 * time.Minute).UnixMilli()}},
		}},
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "jobs_running", Help: "Jobs running."}},
	})
	for _, tc := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"metric": {"http_request_duration_seconds"}}, `{"http_request_duration_seconds":[{"type":"histogram","help":"Request latency.","unit":"seconds"}]}`},
		{url.Values{"metric": {"queue_wait_seconds"}}, `{"queue_wait_seconds":[{"type":"gaugehistogram","help":"Queue wait.","unit":""}]}`},
		{url.Values{"metric": {"requests_total"}}, `{"requests_total":[{"type":"counter","help":"Requests served, as the agent says.","unit":""}]}`},
		{url.Values{"metric": {"jobs_running"}, "limit_per_metric": {"1"}}, `{"jobs_running":[{"type":"gauge","help":"Jobs running.","unit":""}]}`},
	} {
		if code, r := call(t, srv, http.MethodGet, "/api/v1/metadata", tc.params); code != 200 || string(r.Data) != tc.want {
			t.Errorf("%v: %d %s, want %s", tc.params, code, r.Data, tc.want)
		}
	}
	code, r := call(t, srv, http.MethodGet, "/api/v1/metadata", url.Values{"limit": {"2"}})
	var md map[string][]json.RawMessage
	if err := json.Unmarshal(r.Data, &md); code != 200 || err != nil || len(md) != 2 {
		t.Errorf("limit 2: %d %s", code, r.Data)
	}
}

// countingReader is an endless body that counts what was read of it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	clear(p)
	c.n += int64(len(p))
	return len(p), nil
}

// TestRemoteWriteBounds sends bodies past the limit, compressed or once decompressed: each is
// refused with 413 stating the limit, having read no more than the limit of it.
func TestRemoteWriteBounds(t *testing.T) {
	mux, _ := apiMux(t)
	// A snappy block whose header announces 100 MiB decompressed: a uvarint, then nothing.
	var bomb []byte
	bomb = binary.AppendUvarint(bomb, 100<<20)
	for _, tc := range []struct {
		name    string
		body    io.Reader
		length  int64
		maxRead int64
		want    string
	}{
		{"256 MiB with its length", &countingReader{}, 256 << 20, 0, "request body larger than 33554432 bytes"},
		{"256 MiB chunked", &countingReader{}, -1, maxWriteBytes + 64<<10, "request body larger than 33554432 bytes"},
		{"100 MiB decompressed", bytes.NewReader(bomb), int64(len(bomb)), int64(len(bomb)), "decompresses to 104857600 bytes, more than the limit of 33554432"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/write", tc.body)
			req.ContentLength = tc.length
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "snappy")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("answered %d %q, want 413 saying %q", rec.Code, rec.Body, tc.want)
			}
			if c, ok := tc.body.(*countingReader); ok && c.n > tc.maxRead {
				t.Errorf("read %d bytes of the body, want at most %d", c.n, tc.maxRead)
			}
		})
	}
}
