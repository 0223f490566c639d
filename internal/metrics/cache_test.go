package metrics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// span is a range query's start and end, relative to conformanceT.
type span struct{ start, end time.Duration }

func (s span) String() string { return fmt.Sprintf("[%v, %v]", s.start, s.end) }

// recordingSource records the ranges of the range queries that reach the
// store.
type recordingSource struct {
	Source
	mu    sync.Mutex
	asked []span
}

func (r *recordingSource) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	r.mu.Lock()
	r.asked = append(r.asked, span{start.Sub(conformanceT), end.Sub(conformanceT)})
	r.mu.Unlock()
	return r.Source.QueryRange(ctx, expr, start, end, step)
}

func TestCache(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	_, last := fillConformance(t, s)
	// With the default freshness of 10 minutes, conformanceT is the last
	// instant whose answers are final.
	now := last
	const m = time.Minute
	type query struct {
		expr  string
		span  span
		step  time.Duration
		later time.Duration // the clock moves by this much first
	}
	rate := `rate(http_requests_total[5m])`
	q := func(start, end time.Duration) query { return query{rate, span{start, end}, 30 * time.Second, 0} }
	tests := []struct {
		name  string
		opts  CacheOptions
		steps []query
		asked []span // the ranges evaluated by the store, sorted
		len   int    // extents cached at the end
	}{
		{"miss then hit", CacheOptions{}, []query{q(-30*m, -10*m), q(-30*m, -10*m)},
			[]span{{-30 * m, -10 * m}}, 1},
		{"a window inside an extent is a slice of it", CacheOptions{}, []query{q(-40*m, -10*m), q(-30*m, -20*m)},
			[]span{{-40 * m, -10 * m}}, 1},
		{"a moving window evaluates only its new tail", CacheOptions{}, []query{q(-40*m, -20*m), q(-35*m, -15*m)},
			[]span{{-40 * m, -20 * m}, {-20*m + 30*time.Second, -15 * m}}, 1},
		{"a start off the grid has a grid of its own", CacheOptions{}, []query{q(-40*m, -20*m), q(-40*m+10*time.Second, -20*m+10*time.Second)},
			[]span{{-40 * m, -20 * m}, {-40*m + 10*time.Second, -20*m + 10*time.Second}}, 2},
		{"another step has a grid of its own", CacheOptions{}, []query{q(-40*m, -20*m), {rate, span{-40 * m, -20 * m}, time.Minute, 0}},
			[]span{{-40 * m, -20 * m}, {-40 * m, -20 * m}}, 2},
		{"the gap between two extents is evaluated and the three joined", CacheOptions{}, []query{q(-60*m, -50*m), q(-30*m, -20*m), q(-60*m, -20*m)},
			[]span{{-60 * m, -50 * m}, {-50*m + 30*time.Second, -30*m - 30*time.Second}, {-30 * m, -20 * m}}, 1},
		{"fresh steps are evaluated every time", CacheOptions{}, []query{q(-20*m, 5*m), q(-20*m, 5*m)},
			[]span{{-20 * m, 5 * m}, {30 * time.Second, 5 * m}}, 1},
		{"time passing makes fresh steps final", CacheOptions{}, []query{q(-20*m, 5*m), {rate, span{-20 * m, 5 * m}, 30 * time.Second, 3 * m}, q(-20*m, 5*m)},
			[]span{{-20 * m, 5 * m}, {30 * time.Second, 5 * m}, {3*m + 30*time.Second, 5 * m}}, 1},
		{"a negative offset moves the freshness bound", CacheOptions{}, []query{
			{`temperature_celsius offset -4m`, span{-20 * m, 0}, 30 * time.Second, 0},
			{`temperature_celsius offset -4m`, span{-20 * m, 0}, 30 * time.Second, 0}},
			[]span{{-20 * m, 0}, {-4*m + 30*time.Second, 0}}, 1},
		{"@ start() is evaluated whole, uncached", CacheOptions{}, []query{
			{`temperature_celsius @ start()`, span{-30 * m, -20 * m}, 30 * time.Second, 0},
			{`temperature_celsius @ start()`, span{-30 * m, -20 * m}, 30 * time.Second, 0}},
			[]span{{-30 * m, -20 * m}, {-30 * m, -20 * m}}, 0},
		{"@ a fresh instant is evaluated whole, uncached", CacheOptions{}, []query{
			{fmt.Sprintf(`temperature_celsius @ %d`, conformanceT.Add(5*m).Unix()), span{-30 * m, -20 * m}, 30 * time.Second, 0},
			{fmt.Sprintf(`temperature_celsius @ %d`, conformanceT.Add(5*m).Unix()), span{-30 * m, -20 * m}, 30 * time.Second, 0}},
			[]span{{-30 * m, -20 * m}, {-30 * m, -20 * m}}, 0},
		{"answers with infos are not cached", CacheOptions{}, []query{
			{`rate(temperature_celsius[5m])`, span{-30 * m, -20 * m}, 30 * time.Second, 0},
			{`rate(temperature_celsius[5m])`, span{-30 * m, -20 * m}, 30 * time.Second, 0}},
			[]span{{-30 * m, -20 * m}, {-30 * m, -20 * m}}, 0},
		{"an extent expires after its TTL", CacheOptions{}, []query{q(-30*m, -10*m), {rate, span{-30 * m, -10 * m}, 30 * time.Second, 61 * m}},
			[]span{{-30 * m, -10 * m}, {-30 * m, -10 * m}}, 1},
		{"a joined extent expires with the oldest points it holds", CacheOptions{}, []query{
			q(-40*m, -20*m), {rate, span{-35 * m, -15 * m}, 30 * time.Second, 50 * m}, {rate, span{-35 * m, -15 * m}, 30 * time.Second, 11 * m}},
			[]span{{-40 * m, -20 * m}, {-35 * m, -15 * m}, {-20*m + 30*time.Second, -15 * m}}, 1},
		{"too big for the cache", CacheOptions{MaxBytes: 100}, []query{q(-30*m, -10*m), q(-30*m, -10*m)},
			[]span{{-30 * m, -10 * m}, {-30 * m, -10 * m}}, 0},
		{"eviction keeps the most recent", CacheOptions{MaxBytes: 2000}, []query{q(-30*m, -10*m), q(-60*m, -50*m), q(-30*m, -10*m)},
			[]span{{-60 * m, -50 * m}, {-30 * m, -10 * m}, {-30 * m, -10 * m}}, 1},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := now
			src := &recordingSource{Source: s}
			opts := tc.opts
			opts.Now = func() time.Time { return clock }
			c := NewCache(src, opts)
			for _, q := range tc.steps {
				clock = clock.Add(q.later)
				start, end := conformanceT.Add(q.span.start), conformanceT.Add(q.span.end)
				got, err := c.QueryRange(ctx, q.expr, start, end, q.step)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.QueryRange(ctx, q.expr, start, end, q.step)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := answerJSON(t, got), answerJSON(t, want); g != w {
					t.Fatalf("%s %v: cache answered\n%s\nthe store\n%s", q.expr, q.span, g, w)
				}
			}
			slices.SortFunc(src.asked, func(a, b span) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end)) })
			if !slices.Equal(src.asked, tc.asked) || c.Len() != tc.len {
				t.Fatalf("store asked %v, %d extents cached; want %v, %d", src.asked, c.Len(), tc.asked, tc.len)
			}
		})
	}
}

// answerJSON is a range query's answer as the API writes it.
func answerJSON(t *testing.T, res *promql.Result) string {
	t.Helper()
	n := resultData("", res, 0).(withNotes)
	b, err := json.Marshal(n.data)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %q %q", b, n.warnings, n.infos)
}

// TestCacheRandomWindows asks a cache a long random sequence of range
// queries, with the clock moving forward and, now and then, samples of new
// series appended anywhere in the last hour of the store and beyond it
// (which the store's append log reports to the cache), and requires every
// answer to be the store's answer to the same query.
func TestCacheRandomWindows(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	first, last := fillConformance(t, s)
	clock := conformanceT
	c := NewCache(s, CacheOptions{Now: func() time.Time { return clock }})
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	steps := []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 37 * time.Second}
	span := last.Sub(first) + 10*time.Minute
	for i := range 300 {
		clock = clock.Add(time.Duration(rnd.IntN(20)) * time.Second)
		if i%10 == 9 {
			// Within the head's appendable window: the last hour before
			// the newest sample.
			at := last.Add(-50*time.Minute + time.Duration(rnd.IntN(3600))*time.Second).UnixMilli()
			job := fmt.Sprintf("a-late-%d", i) // sorts before job="api"
			app := s.Appender(ctx)
			for _, l := range []labels.Labels{
				labels.FromStrings("__name__", "temperature_celsius", "job", job),
				labels.FromStrings("__name__", "http_requests_total", "job", job, "code", "200"),
				labels.FromStrings("__name__", "nonexistent", "job", job),
			} {
				if _, err := app.Append(0, l, at, float64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		expr := conformanceExprs[rnd.IntN(len(conformanceExprs))]
		step := steps[rnd.IntN(len(steps))]
		start := first.Add(-5 * time.Minute).Add(time.Duration(rnd.Int64N(int64(span/time.Second))) * time.Second)
		end := start.Add(time.Duration(rnd.IntN(3*3600)) * time.Second)
		got, err := c.QueryRange(ctx, expr, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.QueryRange(ctx, expr, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := answerJSON(t, got), answerJSON(t, want); g != w {
			t.Fatalf("query %d: %s from %v to %v step %v:\ncache %s\nstore %s", i, expr, start.Sub(conformanceT), end.Sub(conformanceT), step, g, w)
		}
	}
	if c.Len() == 0 {
		t.Fatal("nothing was cached")
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	c := NewCache(s, CacheOptions{})
	for range 2 {
		if _, err := c.QueryRange(context.Background(), "sum(", t0, t0.Add(time.Hour), time.Minute); kindOf(err) != KindBadData {
			t.Fatalf("got %v, want bad_data", err)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("%d errors cached", c.Len())
	}
}
