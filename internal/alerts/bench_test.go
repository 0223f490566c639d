package alerts_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/metrics"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// BenchmarkEvaluate1000Rules is one interval's evaluation of 1,000 alerting rules in 10 groups over
// 10,000 series (100 metrics of 100 instances each, as remote-written by 100 hosts), 10 minutes
// of samples at a 15 s interval. Each rule reads one metric's 100 series, a rate over 5 minutes
// or a current value compared with a threshold, as host alert rules do. "quiet": none fires;
// "firing": a tenth of the rules fire for all 100 instances, 10,000 firing alerts, whose
// annotations Prometheus's rule engine expands at every evaluation. The figure per operation is
// the cost of one interval for all rules.
func BenchmarkEvaluate1000Rules(b *testing.B) {
	b.Run("quiet", func(b *testing.B) { benchmarkRules(b, 0) })
	b.Run("firing", func(b *testing.B) { benchmarkRules(b, 10) })
}

// benchmarkRules evaluates the rules, one in every firingEvery firing (0: none).
func benchmarkRules(b *testing.B, firingEvery int) {
	ms, err := metrics.Open(b.TempDir(), metrics.StoreOptions{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ms.Close() })
	now := time.Now().Truncate(time.Minute)
	app := ms.Appender(context.Background())
	for m := range 100 {
		for i := range 100 {
			lbls := labels.FromStrings("__name__", fmt.Sprintf("bench_metric_%d_total", m), "instance", fmt.Sprintf("host%d:9100", i), "job", "node")
			var ref storage.SeriesRef
			v := float64(i)
			for ts := now.Add(-10 * time.Minute); !ts.After(now); ts = ts.Add(15 * time.Second) {
				v += float64(m)
				if ref, err = app.Append(ref, lbls, ts.UnixMilli(), v); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	st := storetest.SQLite(b)
	incidents := alerts.NewIncidents(st, nil, "alerts", nil, slog.New(slog.DiscardHandler))
	engine := alerts.NewEngine(alerts.Options{Querier: ms, Storage: ms, Incidents: incidents}, alerts.NewRuleStore(st))
	if err := engine.Load(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	for g := range 10 {
		var text strings.Builder
		fmt.Fprintf(&text, "name: bench%d\ninterval: 1m\nrules:\n", g)
		for r := range 100 {
			m := (g*100 + r) % 100
			threshold := 1e9 // never
			if firingEvery > 0 && r%firingEvery == 0 {
				threshold = 0 // fires
			}
			if r%2 == 0 {
				fmt.Fprintf(&text, "- alert: Rate%d_%d\n  expr: rate(bench_metric_%d_total[5m]) > %g\n  for: 5m\n", g, r, m, threshold)
			} else {
				fmt.Fprintf(&text, "- alert: Value%d_%d\n  expr: bench_metric_%d_total > %g\n", g, r, m, threshold)
			}
			text.WriteString("  annotations: {summary: '{{ $labels.instance }} at {{ $value | humanize }}'}\n")
		}
		spec, err := alerts.DecodeGroup([]byte(text.String()), true)
		if err != nil {
			b.Fatal(err)
		}
		if err := engine.Put(context.Background(), spec, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	engine.EvaluateAll(context.Background(), now) // incidents of the firing tenth opened once
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		engine.EvaluateAll(context.Background(), now.Add(time.Duration(i)*time.Millisecond))
	}
}
