package collect

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/huddle-dev/huddle/internal/metrics"
)

// t0 is the first collection's time in tests that set Options.Now, so that
// consecutive collections have distinct, known timestamps.
var t0 = time.Unix(1_700_000_000, 0).UTC()

func openStore(t *testing.T) *metrics.Store {
	t.Helper()
	s, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// query evaluates expr at ts and returns the vector it gives.
func query(t *testing.T, s *metrics.Store, expr string, ts time.Time) promql.Vector {
	t.Helper()
	res, err := s.Query(context.Background(), expr, ts)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return v
}

// only returns the single value expr gives at ts, failing the test when it
// gives no sample or several.
func only(t *testing.T, s *metrics.Store, expr string, ts time.Time) float64 {
	t.Helper()
	v := query(t, s, expr, ts)
	if len(v) != 1 {
		t.Fatalf("%s at %s: want one sample, got %v", expr, ts.Format(time.TimeOnly), v)
	}
	return v[0].F
}

func metadataOf(t *testing.T, s *metrics.Store, name string) metadata.Metadata {
	t.Helper()
	m, err := s.Metadata(context.Background(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(m[name]) != 1 {
		t.Fatalf("metadata of %s: got %v", name, m)
	}
	return m[name][0]
}

// textLogger logs to w, at info and above.
func textLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is an Appendable that keeps committed samples in memory, for
// tests that run inside a synctest bubble (the TSDB's background goroutines
// do not belong there).
type recorder struct {
	mu      sync.Mutex
	samples []recorded
}

type recorded struct {
	lset labels.Labels
	t    int64
	v    float64
}

func (r *recorder) Appender(context.Context) storage.Appender { return &recAppender{r: r} }

// named returns the committed samples of the metric name.
func (r *recorder) named(name string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, s := range r.samples {
		if s.lset.Get("__name__") == name {
			out = append(out, s)
		}
	}
	return out
}

type recAppender struct {
	storage.Appender // only the methods below are used
	r                *recorder
	pending          []recorded
}

func (a *recAppender) Append(ref storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	a.pending = append(a.pending, recorded{l, t, v})
	return ref, nil
}

func (a *recAppender) UpdateMetadata(ref storage.SeriesRef, _ labels.Labels, _ metadata.Metadata) (storage.SeriesRef, error) {
	return ref, nil
}

func (a *recAppender) Commit() error {
	a.r.mu.Lock()
	defer a.r.mu.Unlock()
	a.r.samples = append(a.r.samples, a.pending...)
	a.pending = nil
	return nil
}

func (a *recAppender) Rollback() error {
	a.pending = nil
	return nil
}
