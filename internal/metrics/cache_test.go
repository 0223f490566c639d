package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// countingSource counts the range queries that reach the store.
type countingSource struct {
	Source
	calls int
}

func (c *countingSource) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	c.calls++
	return c.Source.QueryRange(ctx, expr, start, end, step)
}

func TestCache(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fill(t, s)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	type query struct {
		expr       string
		start, end time.Duration // from t0
		step       time.Duration
	}
	q1 := query{`rate(requests_total[1m])`, 0, 10 * time.Minute, 30 * time.Second}
	q2 := query{`sum(requests_total)`, 0, 10 * time.Minute, 15 * time.Second}
	fresh := query{`sum(requests_total)`, 0, time.Hour, time.Minute}
	tests := []struct {
		name     string
		maxBytes int64
		steps    []query
		advance  time.Duration // clock moves before the last query
		calls    int
		len      int
	}{
		{"miss then hit", 0, []query{q1, q1}, 0, 1, 1},
		{"aligned start and end share an entry", 0, []query{q1, {q1.expr, 7 * time.Second, 10*time.Minute + 9*time.Second, q1.step}}, 0, 1, 1},
		{"other step misses", 0, []query{q1, {q1.expr, q1.start, q1.end, time.Minute}}, 0, 2, 2},
		{"old range outlives fresh TTL", 0, []query{q1, q1}, time.Minute, 1, 1},
		{"old range expires", 0, []query{q1, q1}, 11 * time.Minute, 2, 1},
		{"range touching now expires fast", 0, []query{fresh, fresh}, 11 * time.Second, 2, 1},
		{"range touching now hit", 0, []query{fresh, fresh}, 5 * time.Second, 1, 1},
		{"eviction keeps the most recent", 1000, []query{q1, q2, q1}, 0, 3, 1},
		{"too big for the cache", 100, []query{q1, q1}, 0, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := now
			src := &countingSource{Source: s}
			c := NewCache(src, CacheOptions{MaxBytes: tc.maxBytes, Now: func() time.Time { return clock }})
			var first *promql.Result
			for i, q := range tc.steps {
				if i == len(tc.steps)-1 {
					clock = clock.Add(tc.advance)
				}
				res, err := c.QueryRange(ctx, q.expr, t0.Add(q.start), t0.Add(q.end), q.step)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = res
				} else if q == tc.steps[0] && res.String() != first.String() {
					t.Fatalf("cached answer differs:\n%s\n%s", first, res)
				}
			}
			if src.calls != tc.calls || c.Len() != tc.len {
				t.Fatalf("store queried %d times, %d cached; want %d, %d", src.calls, c.Len(), tc.calls, tc.len)
			}
		})
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
