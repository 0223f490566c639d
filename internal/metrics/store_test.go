package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
)

// t0 is the start of every test's data: a fixed instant so answers are exact.
var t0 = time.Unix(1_700_000_000, 0).UTC()

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, StoreOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fill writes, every 15 s for 10 minutes from t0:
//   - requests_total{job="api",code="200"} growing by 30 per step (rate 2/s)
//   - requests_total{job="api",code="500"} growing by 3 per step (rate 0.2/s)
//   - latency_seconds_bucket{le=...}: a histogram whose counts grow by
//     10, 20, 30 per step in le=0.1, 0.5, +Inf, so 1/3 of the
//     observations are ≤ 0.1, 2/3 ≤ 0.5.
func fill(t testing.TB, s *Store) {
	t.Helper()
	app := s.Appender(context.Background())
	for i := 0; i <= 40; i++ {
		ts := t0.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		add := func(v float64, kv ...string) {
			if _, err := app.Append(0, labels.FromStrings(kv...), ts, v); err != nil {
				t.Fatal(err)
			}
		}
		add(float64(30*i), "__name__", "requests_total", "job", "api", "code", "200")
		add(float64(3*i), "__name__", "requests_total", "job", "api", "code", "500")
		add(float64(10*i), "__name__", "latency_seconds_bucket", "job", "api", "le", "0.1")
		add(float64(20*i), "__name__", "latency_seconds_bucket", "job", "api", "le", "0.5")
		add(float64(30*i), "__name__", "latency_seconds_bucket", "job", "api", "le", "+Inf")
	}
	l := labels.FromStrings("__name__", "requests_total", "job", "api", "code", "200")
	if _, err := app.UpdateMetadata(0, l, metadata.Metadata{Type: "counter", Help: "Requests served."}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// scalarOf returns the single float value of an instant-vector result.
func scalarOf(t *testing.T, res *promql.Result) float64 {
	t.Helper()
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 {
		t.Fatalf("want one sample, got %v", v)
	}
	return v[0].F
}

func TestStoreInstantQueries(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fill(t, s)
	at := t0.Add(5 * time.Minute)
	tests := []struct {
		expr string
		want float64
	}{
		{`sum(rate(requests_total[1m]))`, 2.2},
		{`rate(requests_total{code="200"}[2m])`, 2},
		{`irate(requests_total{code=~"5.."}[1m])`, 0.2},
		{`sum(requests_total{code!="200"})`, 60},
		{`histogram_quantile(0.5, sum by (le) (rate(latency_seconds_bucket[1m])))`, 0.1 + 0.4*0.5},
		{`histogram_quantile(0.2, rate(latency_seconds_bucket[1m]))`, 0.1 * 0.2 * 3},
		{`count(requests_total{job="api"})`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			res, err := s.Query(context.Background(), tc.expr, at)
			if err != nil {
				t.Fatal(err)
			}
			if got := scalarOf(t, res); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStoreRangeQuery(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fill(t, s)
	res, err := s.QueryRange(context.Background(), `rate(requests_total{code="200"}[1m])`, t0.Add(time.Minute), t0.Add(5*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m, err := res.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Floats) != 5 {
		t.Fatalf("want one series of 5 points, got %v", m)
	}
	for _, p := range m[0].Floats {
		if math.Abs(p.F-2) > 1e-9 {
			t.Fatalf("point %v: want 2", p)
		}
	}
}

func TestStoreErrors(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		run  func() error
		want ErrorKind
	}{
		{"invalid promql", func() error { _, err := s.Query(ctx, "sum(", t0); return err }, KindBadData},
		{"step 0", func() error { _, err := s.QueryRange(ctx, "up", t0, t0, 0); return err }, KindBadData},
		{"inverted", func() error { _, err := s.QueryRange(ctx, "up", t0, t0.Add(-time.Hour), time.Minute); return err }, KindBadData},
		{"bad selector", func() error { _, err := s.Series(ctx, []string{"{"}, t0, t0); return err }, KindBadData},
		{"canceled", func() error { _, err := s.Query(canceled, "up", t0); return err }, KindCanceled},
		{"execution", func() error { _, err := s.Query(ctx, `label_replace(up, "x", "y", "z", "(")`, t0); return err }, KindExecution},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.want {
				t.Fatalf("got %v, want kind %s", err, tc.want)
			}
		})
	}
}

func TestStoreMaxSamples(t *testing.T) {
	s, err := Open(t.TempDir(), StoreOptions{MaxSamples: 10}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s)
	_, err = s.QueryRange(context.Background(), "requests_total", t0, t0.Add(10*time.Minute), 15*time.Second)
	if kindOf(err) != KindExecution {
		t.Fatalf("got %v, want an execution error", err)
	}
}

func TestStoreLabelsSeriesMetadata(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fill(t, s)
	ctx := context.Background()
	end := t0.Add(time.Hour)
	names, err := s.LabelNames(ctx, nil, t0, end)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names, []string{"__name__", "code", "job", "le"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	names, err = s.LabelNames(ctx, []string{"requests_total"}, t0, end)
	if err != nil || !slices.Equal(names, []string{"__name__", "code", "job"}) {
		t.Fatalf("names of requests_total %v, %v", names, err)
	}
	vals, err := s.LabelValues(ctx, "code", []string{`requests_total`, `{le="0.1"}`}, t0, end)
	if err != nil || !slices.Equal(vals, []string{"200", "500"}) {
		t.Fatalf("values %v, %v", vals, err)
	}
	series, err := s.Series(ctx, []string{`requests_total{code="500"}`, `{code=~"5.*"}`}, t0, end)
	if err != nil || len(series) != 1 || series[0].Get("code") != "500" {
		t.Fatalf("series %v, %v", series, err)
	}
	series, err = s.Series(ctx, []string{`requests_total`}, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if err != nil || len(series) != 0 {
		t.Fatalf("series out of range %v, %v", series, err)
	}
	md, err := s.Metadata(ctx, "", 0)
	if err != nil || len(md) != 1 || md["requests_total"][0].Type != "counter" {
		t.Fatalf("metadata %v, %v", md, err)
	}
}

// TestStoreRestart checks that samples committed before Close are
// answered the same after Open replays the store.
func TestStoreRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	fill(t, s)
	const expr = `sum(rate(requests_total[1m]))`
	ctx := context.Background()
	before, err := s.QueryRange(ctx, expr, t0, t0.Add(10*time.Minute), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	after, err := s.QueryRange(ctx, expr, t0, t0.Add(10*time.Minute), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() || len(before.String()) < 100 {
		t.Fatalf("before restart:\n%s\nafter:\n%s", before, after)
	}
}

// A histogram's or summary's series are listed in the metadata under their family's name, as
// Prometheus lists them.
func TestStoreMetadataByFamily(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	app := s.Appender(context.Background())
	for _, tc := range []struct{ series, typ string }{
		{"latency_seconds_bucket", "histogram"}, {"latency_seconds_sum", "histogram"}, {"latency_seconds_count", "histogram"},
		{"rpc_seconds_sum", "summary"}, {"rpc_seconds", "summary"},
		{"jobs_total", "counter"}, {"temperature_count", "gauge"},
	} {
		l := labels.FromStrings("__name__", tc.series)
		ref, err := app.Append(0, l, t0.UnixMilli(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.UpdateMetadata(ref, l, metadata.Metadata{Type: model.MetricType(tc.typ)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	md, err := s.Metadata(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(md))
	if want := []string{"jobs_total", "latency_seconds", "rpc_seconds", "temperature_count"}; !slices.Equal(got, want) {
		t.Fatalf("metadata names %v, want %v", got, want)
	}
}
