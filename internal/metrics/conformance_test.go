package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// conformanceT is the example instant: a query_range from it to
// 60 s later at a 30 s step must answer at …283, …313 and …343 (Prometheus
// evaluates at start, start+step, … up to end: promql/engine.go in
// prometheus/prometheus, the range evaluator's loop
// `for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval`).
var conformanceT = time.Unix(1796403283, 0).UTC()

// fillConformance writes two hours of samples ending 10 minutes after
// conformanceT, every 15 s (at whole multiples of 15 s past the Unix epoch,
// as a scraper does):
//   - http_requests_total{code="200"|"500"}: counters, with a reset halfway
//   - latency_seconds_bucket{le="0.1"|"0.5"|"+Inf"}: a classic histogram
//   - temperature_celsius: a gauge with a 20-minute gap, longer than the
//     lookback, so a selector goes empty and comes back
func fillConformance(t testing.TB, s *Store) (first, last time.Time) {
	t.Helper()
	first = conformanceT.Add(-110 * time.Minute).Truncate(15 * time.Second)
	last = conformanceT.Add(10 * time.Minute)
	app := s.Appender(context.Background())
	gapFrom, gapTo := conformanceT.Add(-50*time.Minute), conformanceT.Add(-30*time.Minute)
	mid := first.Add(last.Sub(first) / 2)
	for ts, i := first, 0; !ts.After(last); ts, i = ts.Add(15*time.Second), i+1 {
		add := func(v float64, kv ...string) {
			if _, err := app.Append(0, labels.FromStrings(kv...), ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		n := float64(i)
		if ts.After(mid) {
			n = float64(i) - float64(int(mid.Sub(first)/(15*time.Second))) // a counter reset
		}
		add(7*n, "__name__", "http_requests_total", "job", "api", "code", "200")
		add(n, "__name__", "http_requests_total", "job", "api", "code", "500")
		add(5*n, "__name__", "latency_seconds_bucket", "job", "api", "le", "0.1")
		add(9*n, "__name__", "latency_seconds_bucket", "job", "api", "le", "0.5")
		add(10*n, "__name__", "latency_seconds_bucket", "job", "api", "le", "+Inf")
		if ts.Before(gapFrom) || !ts.Before(gapTo) {
			add(20+float64(i%17)/4, "__name__", "temperature_celsius", "job", "api")
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return first, last
}

// engineAnswer is the reference: the PromQL engine's own answer on the
// store's TSDB, bypassing huddle's API, Store and Cache, in the envelope of
// Prometheus's API (Response and QueryData in web/api/v1/api.go of
// prometheus/prometheus). Points and series are encoded by the promql
// package's own MarshalJSON methods, which write what the API's codec
// (web/api/v1/json_codec.go) writes; that codec writes an empty or nil
// matrix or vector as [], never null (unsafeMarshalMatrixJSON).
func engineAnswer(t testing.TB, s *Store, expr string, start, end time.Time, step time.Duration) string {
	t.Helper()
	ctx := context.Background()
	var q promql.Query
	var err error
	if step == 0 {
		q, err = s.engine.NewInstantQuery(ctx, s.db, nil, expr, start)
	} else {
		q, err = s.engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	value := res.Value
	switch v := value.(type) {
	case promql.Matrix:
		if v == nil {
			value = promql.Matrix{}
		}
	case promql.Vector:
		if v == nil {
			value = promql.Vector{}
		}
	}
	type data struct {
		ResultType parser.ValueType `json:"resultType"`
		Result     parser.Value     `json:"result"`
	}
	body := struct {
		Status   string   `json:"status"`
		Data     data     `json:"data"`
		Warnings []string `json:"warnings,omitempty"`
		Infos    []string `json:"infos,omitempty"`
	}{Status: "success", Data: data{value.Type(), value}}
	body.Warnings, body.Infos = res.Warnings.AsStrings(expr, 10, 10)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return "200 " + string(b)
}

// huddleAPI serves huddle's API over a Cache in front of the store, with
// the cache's clock at now.
func huddleAPI(t testing.TB, s *Store, now func() time.Time) (*httptest.Server, *Cache) {
	t.Helper()
	c := NewCache(s, CacheOptions{Now: now})
	mux := http.NewServeMux()
	NewAPI(c, APIOptions{Now: now}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, c
}

func getBody(t testing.TB, base, path string, params url.Values) string {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
}

func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// conformanceExprs are the expressions every range and instant query of the
// conformance test asks, chosen for the PromQL features that make a range
// query's answer depend on more than one step: windows, the lookback,
// offsets either way, the @ modifier, time functions and subqueries.
var conformanceExprs = []string{
	`http_requests_total`,
	`rate(http_requests_total[1m])`,
	`sum by (code) (rate(http_requests_total[5m]))`,
	`histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))`,
	`sum(nonexistent)`,
	`temperature_celsius`,
	`temperature_celsius offset 7m`,
	`temperature_celsius offset -2m`,
	`avg_over_time(temperature_celsius[5m] offset -1m)`,
	`timestamp(temperature_celsius)`,
	`time() - timestamp(temperature_celsius)`,
	`temperature_celsius @ 1796400000`,
	`temperature_celsius @ start()`,
	`rate(http_requests_total[5m] @ end())`,
	`max_over_time(temperature_celsius[10m:1m])`,
	`max_over_time(deriv(temperature_celsius[2m])[7m:45s] offset 1m)`,
	`absent(nonexistent)`,
	`topk(1, rate(http_requests_total[2m]))`,
	`vector(time())`,
}

// TestConformance asks huddle's API (through the range cache, cold and
// warm, and as a window moving forward) and the PromQL engine directly the
// same queries on the same samples, and requires byte-identical answers.
func TestConformance(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	_, last := fillConformance(t, s)
	// The clock stands where the data ends, so the last minutes of some
	// ranges are still "fresh" for the cache.
	now := last
	huddle, cache := huddleAPI(t, s, func() time.Time { return now })

	t.Run("the issue's example", func(t *testing.T) {
		const expr = `rate(http_requests_total[1m])`
		params := url.Values{"query": {expr}, "start": {"1796403283"}, "end": {"1796403343"}, "step": {"30s"}}
		want := engineAnswer(t, s, expr, conformanceT, conformanceT.Add(time.Minute), 30*time.Second)
		for _, ts := range []string{"[1796403283,", "[1796403313,", "[1796403343,"} {
			if !strings.Contains(want, ts) {
				t.Fatalf("Prometheus's answer lacks %s: %s", ts, want)
			}
		}
		if got := getBody(t, huddle.URL, "/api/v1/query_range", params); got != want {
			t.Fatalf("huddle:\n%s\nPrometheus:\n%s", got, want)
		}
	})

	type window struct {
		name       string
		start, end time.Time
		step       time.Duration
	}
	windows := []window{
		{"the issue's example", conformanceT, conformanceT.Add(time.Minute), 30 * time.Second},
		{"aligned 1h at 15s", conformanceT.Add(-time.Hour).Truncate(time.Hour), conformanceT.Truncate(time.Hour), 15 * time.Second},
		{"unaligned 90m at 1m", conformanceT.Add(-90*time.Minute + 7*time.Second), conformanceT.Add(3 * time.Second), time.Minute},
		{"unaligned end, 37s step", conformanceT.Add(-40 * time.Minute), conformanceT.Add(-11*time.Minute + 500*time.Millisecond), 37 * time.Second},
		{"past the data, into the future", conformanceT.Add(-5 * time.Minute), conformanceT.Add(30 * time.Minute), 20 * time.Second},
		{"one point", conformanceT, conformanceT, time.Minute},
		{"time zone aligned (UTC+5:30)", conformanceT.Add(-2 * time.Hour).Truncate(time.Hour).Add(30 * time.Minute), conformanceT.Add(30 * time.Minute), 5 * time.Minute},
	}
	// Moving windows: a panel reloaded as time passes, each load shifted by
	// less than, exactly and more than a step, so later loads reuse extents
	// cached by earlier ones.
	for i, shift := range []time.Duration{0, 10 * time.Second, 30 * time.Second, 95 * time.Second, 4 * time.Minute} {
		start := conformanceT.Add(-30*time.Minute + shift)
		windows = append(windows, window{fmt.Sprintf("moving window %d", i), start, start.Add(30 * time.Minute), 30 * time.Second})
	}
	for _, expr := range conformanceExprs {
		t.Run(expr, func(t *testing.T) {
			for _, w := range windows {
				params := url.Values{"query": {expr}, "start": {unixSeconds(w.start)}, "end": {unixSeconds(w.end)}, "step": {w.step.String()}}
				want := engineAnswer(t, s, expr, w.start, w.end, w.step)
				for _, pass := range []string{"cold", "warm"} {
					if got := getBody(t, huddle.URL, "/api/v1/query_range", params); got != want {
						t.Fatalf("%s, %s: query_range %s\nhuddle:\n%s\nPrometheus:\n%s", w.name, pass, params.Encode(), got, want)
					}
				}
			}
			for _, ts := range []time.Time{conformanceT, conformanceT.Add(-45 * time.Minute), conformanceT.Add(1500 * time.Millisecond)} {
				params := url.Values{"query": {expr}, "time": {unixSeconds(ts)}}
				want := engineAnswer(t, s, expr, ts, ts, 0)
				if got := getBody(t, huddle.URL, "/api/v1/query", params); got != want {
					t.Fatalf("query %s\nhuddle:\n%s\nPrometheus:\n%s", params.Encode(), got, want)
				}
			}
		})
	}
	if cache.Len() == 0 {
		t.Fatal("nothing was cached")
	}
}
