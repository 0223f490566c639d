package collect

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/metadata"

	"github.com/huddle-dev/huddle/internal/testkit"
)

func TestSelfJob(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "huddle_test_messages_total", Help: "Messages."})
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "huddle_test_latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	summary := prometheus.NewSummary(prometheus.SummaryOpts{Name: "huddle_test_size_bytes", Help: "Sizes.", Objectives: map[float64]float64{0.5: 0}})
	reg.MustRegister(counter, hist, summary)
	counter.Add(3)
	for _, v := range []float64{0.05, 0.5, 2} {
		hist.Observe(v)
		summary.Observe(v)
	}

	s := openStore(t)
	c, err := New(Options{
		Appendable: s,
		Logger:     discard,
		Host:       HostJob{Disabled: true},
		Self:       SelfJob{Gatherer: reg, Instance: "127.0.0.1:8080"},
		Now:        func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.jobs[0].collect(context.Background())

	sel := `{job="huddle",instance="127.0.0.1:8080"}`
	for _, c := range []struct {
		expr string
		want float64
	}{
		{`huddle_test_messages_total` + sel, 3},
		{`huddle_test_latency_seconds_bucket{le="0.1"}`, 1},
		{`huddle_test_latency_seconds_bucket{le="1.0"}`, 2},
		{`huddle_test_latency_seconds_bucket{le="+Inf"}`, 3},
		{`huddle_test_latency_seconds_sum`, 2.55},
		{`huddle_test_latency_seconds_count`, 3},
		{`huddle_test_size_bytes{quantile="0.5"}`, 0.5},
		{`huddle_test_size_bytes_count`, 3},
		{`up` + sel, 1},
	} {
		if got := only(t, s, c.expr, t0); got != c.want {
			t.Errorf("%s = %v, want %v", c.expr, got, c.want)
		}
	}
	if m := metadataOf(t, s, "huddle_test_messages_total"); m != (metadata.Metadata{Type: "counter", Help: "Messages."}) {
		t.Errorf("metadata of the counter = %+v", m)
	}
	if m := metadataOf(t, s, "huddle_test_latency_seconds"); m != (metadata.Metadata{Type: "histogram", Help: "Latency."}) {
		t.Errorf("metadata of the histogram = %+v", m)
	}
}

// failingGatherer fails every Gather, as a registry with a broken
// collector does.
type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	return nil, errors.New("collector exploded")
}

func TestSelfJobGatherError(t *testing.T) {
	s := openStore(t)
	var logs testkit.LogBuffer
	c, err := New(Options{
		Appendable: s, Logger: textLogger(&logs), Host: HostJob{Disabled: true},
		Self: SelfJob{Gatherer: failingGatherer{}, Instance: "self"}, Now: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.jobs[0].collect(context.Background())
	if got := only(t, s, `up{job="huddle"}`, t0); got != 0 {
		t.Errorf("up = %v, want 0", got)
	}
	if want := "collector exploded"; !strings.Contains(logs.String(), want) {
		t.Errorf("log does not say %q:\n%s", want, logs.String())
	}
}
