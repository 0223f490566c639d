package metrics

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// benchSeries returns n label sets shaped like host metrics.
func benchSeries(n int) []labels.Labels {
	ls := make([]labels.Labels, n)
	for i := range ls {
		ls[i] = labels.FromStrings("__name__", "bench_total", "instance", "host-"+strconv.Itoa(i%50), "cpu", strconv.Itoa(i))
	}
	return ls
}

// BenchmarkAppend measures ingestion through the Appender the collector
// uses: one commit per scrape of 1,000 series, each reusing its reference.
func BenchmarkAppend(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ls := benchSeries(1000)
	refs := make([]storage.SeriesRef, len(ls))
	ctx := context.Background()
	ts := t0.UnixMilli()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		app := s.Appender(ctx)
		ts += 15_000
		for i := range ls {
			if n == b.N {
				break
			}
			ref, err := app.Append(refs[i], ls[i], ts, float64(n))
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
			n++
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkQueryRange6h measures a 6 h, 15 s-step range query over 1,000
// counters with a sample every 15 s, without the cache.
func BenchmarkQueryRange6h(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ls := benchSeries(1000)
	refs := make([]storage.SeriesRef, len(ls))
	ctx := context.Background()
	const points = 6 * 60 * 4
	for p := 0; p <= points; p++ {
		app := s.Appender(ctx)
		ts := t0.Add(time.Duration(p) * 15 * time.Second).UnixMilli()
		for i := range ls {
			ref, err := app.Append(refs[i], ls[i], ts, float64(p*i))
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := s.QueryRange(ctx, `rate(bench_total[1m])`, t0, t0.Add(6*time.Hour), 15*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if m, _ := res.Matrix(); len(m) != 1000 {
			b.Fatalf("%d series", len(m))
		}
	}
}

// BenchmarkQueryRangeCached measures a repeated dashboard load answered by
// the Cache: a 6 h, 15 s-step range over 1,000 series, as in
// BenchmarkQueryRange6h; only the hit is timed, so the data can be small.
func BenchmarkQueryRangeCached(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ls := benchSeries(1000)
	app := s.Appender(context.Background())
	for _, l := range ls {
		if _, err := app.Append(0, l, t0.UnixMilli(), 1); err != nil {
			b.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	c := NewCache(s, CacheOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.QueryRange(ctx, `bench_total`, t0, t0.Add(6*time.Hour), 15*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
