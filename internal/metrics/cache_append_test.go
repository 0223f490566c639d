package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// loggedT is the last sample of fillLogged, on the 15 s grid.
var loggedT = time.Unix(1_800_000_000, 0).UTC()

// fillLogged writes an hour of ten counters, load_total{cpu="0".."9"}, a
// sample every 15 s up to loggedT, growing faster and faster so that a
// rate depends on which samples its window holds.
func fillLogged(t testing.TB, s *Store) {
	t.Helper()
	appendLogged(t, s, loggedT.Add(-time.Hour), loggedT)
}

// appendLogged appends the samples of load_total from after (exclusive)
// to until (inclusive), in one commit, as a scrape per 15 s would.
func appendLogged(t testing.TB, s *Store, after, until time.Time) {
	t.Helper()
	app := s.Appender(context.Background())
	for ts := after.Add(15 * time.Second); !ts.After(until); ts = ts.Add(15 * time.Second) {
		for cpu := range 10 {
			k := float64(ts.Sub(loggedT.Add(-2*time.Hour)) / (15 * time.Second))
			v := k * k * float64(cpu+1)
			if _, err := app.Append(0, labels.FromStrings("__name__", "load_total", "cpu", strconv.Itoa(cpu)), ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// loggedSource records the ranges evaluated, as recordingSource does, and
// passes the store's append log on.
type loggedSource struct {
	*recordingSource
	AppendLog
}

func newLoggedSource(s *Store) *loggedSource {
	return &loggedSource{&recordingSource{Source: s}, s}
}

// asked returns the evaluated ranges relative to loggedT and forgets them.
func (l *loggedSource) asked() []span {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]span, len(l.recordingSource.asked))
	for i, a := range l.recordingSource.asked {
		out[i] = span{a.start - loggedT.Sub(conformanceT), a.end - loggedT.Sub(conformanceT)}
	}
	l.recordingSource.asked = nil
	return out
}

// mustQuery asks the cache and the store the same range query, requires the
// same answer and returns the cache's.
func mustQuery(t *testing.T, c *Cache, s *Store, expr string, start, end time.Time) *promql.Result {
	t.Helper()
	got, err := c.QueryRange(context.Background(), expr, start, end, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.QueryRange(context.Background(), expr, start, end, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := answerJSON(t, got), answerJSON(t, want); g != w {
		t.Fatalf("%s from %v to %v: cache answered\n%s\nthe store\n%s", expr, start.Sub(loggedT), end.Sub(loggedT), g, w)
	}
	return got
}

func TestCacheAppendLog(t *testing.T) {
	const m, sec = time.Minute, time.Second
	ctx := context.Background()
	type check struct {
		expr  string
		late  time.Duration // a sample of a new series, backfilled at loggedT+late, is appended first
		asked []span        // what the second query evaluates
	}
	tests := []struct {
		name string
		check
	}{
		{"nothing appended: all from the cache", check{`rate(load_total[1m])`, 0, nil}},
		{"a backfilled sample re-evaluates from its time on", check{`sum(load_total)`, -20 * m, []span{{-20 * m, 0}}}},
		{"a negative offset re-evaluates as far back as it reaches", check{`sum(load_total offset -5m)`, -20 * m, []span{{-25 * m, 0}}}},
		{"a range window re-evaluates only the steps it reaches", check{`sum(rate(load_total[5m]))`, -20 * m, []span{{-20 * m, 0}}}},
		{"a fixed @ time before the sample re-evaluates from it on, as any selector", check{fmt.Sprintf(`sum(load_total @ %d)`, loggedT.Add(-30*m).Unix()), -20 * m, []span{{-20 * m, 0}}}},
		{"a fixed @ time after the sample re-evaluates everything", check{fmt.Sprintf(`sum(load_total @ %d)`, loggedT.Add(-10*m).Unix()), -20 * m, []span{{-40 * m, 0}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			defer s.Close()
			fillLogged(t, s)
			src := newLoggedSource(s)
			// The clock stands at the last sample: without the append log,
			// the last 10 minutes would be evaluated at every query.
			c := NewCache(src, CacheOptions{Now: func() time.Time { return loggedT }})
			mustQuery(t, c, s, tc.expr, loggedT.Add(-40*m), loggedT)
			src.asked()
			if tc.late != 0 {
				app := s.Appender(ctx)
				if _, err := app.Append(0, labels.FromStrings("__name__", "load_total", "cpu", "late"), loggedT.Add(tc.late).UnixMilli(), 1e6); err != nil {
					t.Fatal(err)
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			mustQuery(t, c, s, tc.expr, loggedT.Add(-40*m), loggedT)
			if got := src.asked(); !slices.Equal(got, tc.asked) {
				t.Fatalf("store asked %v, want %v", got, tc.asked)
			}
		})
	}

	t.Run("a moving reload evaluates only its new tail and copies no cached point", func(t *testing.T) {
		s := openStore(t, t.TempDir())
		defer s.Close()
		fillLogged(t, s)
		src := newLoggedSource(s)
		clock := loggedT
		c := NewCache(src, CacheOptions{Now: func() time.Time { return clock }})
		const expr = `rate(load_total[1m])`
		var answers []*promql.Result
		var encoded []string
		for i := range 4 {
			// A minute passes, and the collector appends its samples.
			if i > 0 {
				appendLogged(t, s, clock, clock.Add(m))
				clock = clock.Add(m)
			}
			from := clock.Add(-30 * m)
			if i == 1 {
				// Widened to the right, from the first load's start: the
				// answer is the joined points whole, and the room after
				// them is the cache's, not the caller's.
				from = loggedT.Add(-30 * m)
			}
			res := mustQuery(t, c, s, expr, from, clock)
			answers, encoded = append(answers, res), append(encoded, answerJSON(t, res))
			// The first load's answer is the engine's own points; the
			// cache keeps them without the engine's room.
			for _, sr := range res.Value.(promql.Matrix) {
				if i > 0 && cap(sr.Floats) != len(sr.Floats) {
					t.Fatalf("reload %d: %v has room to append to the cache's points in", i, sr.Metric)
				}
			}
			want := []span{{-30 * m, 0}}
			if i > 0 {
				want = []span{{time.Duration(i-1)*m + 15*sec, time.Duration(i) * m}}
			}
			if got := src.asked(); !slices.Equal(got, want) {
				t.Fatalf("reload %d: store asked %v, want %v", i, got, want)
			}
		}
		// The first reload copies the engine's points into columns with
		// room; the next ones append to them: the point at a given time
		// is the same memory in both answers.
		for i := 2; i < len(answers); i++ {
			prev, cur := answers[i-1].Value.(promql.Matrix), answers[i].Value.(promql.Matrix)
			k := (cur[0].Floats[0].T - prev[0].Floats[0].T) / (15 * sec).Milliseconds()
			if &cur[0].Floats[0] != &prev[0].Floats[k] {
				t.Fatalf("reload %d copied the cached points", i)
			}
		}
		// A panel whose last steps lie past the newest sample: the samples
		// appended next change them, so the columns' last points are stale
		// and are copied, not written over.
		res := mustQuery(t, c, s, expr, clock.Add(-30*m), clock.Add(30*sec))
		answers, encoded = append(answers, res), append(encoded, answerJSON(t, res))
		appendLogged(t, s, clock, clock.Add(m))
		clock = clock.Add(m)
		src.asked()
		mustQuery(t, c, s, expr, clock.Add(-30*m), clock)
		if got, want := src.asked(), []span{{3*m + 15*sec, 4 * m}}; !slices.Equal(got, want) {
			t.Fatalf("after the future steps: store asked %v, want %v", got, want)
		}
		for i, res := range answers {
			if answerJSON(t, res) != encoded[i] {
				t.Fatalf("answer %d changed after it was returned", i)
			}
		}
	})
}

// TestCacheAnswersStayUnderConcurrentReloads reloads a moving window from
// several goroutines while samples are appended, encoding each answer as
// the API does, and requires every answer to encode the same once all
// reloads are done: the cache appends in place to the points answers
// share, and must never write over one.
func TestCacheAnswersStayUnderConcurrentReloads(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillLogged(t, s)
	c := NewCache(s, CacheOptions{Now: func() time.Time { return loggedT }})
	const expr = `rate(load_total[1m])`
	var last atomic.Int64 // the newest sample appended, ms
	last.Store(loggedT.UnixMilli())
	done := make(chan struct{})
	var appending sync.WaitGroup
	appending.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			from := time.UnixMilli(last.Load()).UTC()
			appendLogged(t, s, from, from.Add(15*time.Second))
			last.Store(from.Add(15 * time.Second).UnixMilli())
			time.Sleep(time.Millisecond)
		}
	})
	type answer struct {
		res  *promql.Result
		json string
	}
	var (
		mu      sync.Mutex
		answers []answer
	)
	var reloading sync.WaitGroup
	for range 4 {
		reloading.Go(func() {
			for i := range 40 {
				// Every other panel ends past the newest sample, so that
				// the next appends make its last steps stale.
				end := time.UnixMilli(last.Load()).UTC().Add(time.Duration(i%2) * 30 * time.Second)
				res, err := c.QueryRange(context.Background(), expr, end.Add(-30*time.Minute), end, 15*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				a := answer{res, answerJSON(t, res)}
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}
		})
	}
	reloading.Wait()
	close(done)
	appending.Wait()
	for i, a := range answers {
		if answerJSON(t, a.res) != a.json {
			t.Fatalf("answer %d changed after it was returned", i)
		}
	}
	end := time.UnixMilli(last.Load()).UTC()
	mustQuery(t, c, s, expr, end.Add(-30*time.Minute), end)
}

func TestAppendLog(t *testing.T) {
	var l appendLog
	m0 := l.mark()
	if m := l.mark(); m != m0 {
		t.Fatalf("a mark with no commit since the last spent a bucket: %d, %d", m0, m)
	}
	if oldest, known := l.since(m0); !known || oldest != math.MaxInt64 {
		t.Fatalf("nothing committed: got %d, %v", oldest, known)
	}
	l.add(500)
	m1 := l.mark()
	l.add(700)
	l.add(600)
	if oldest, known := l.since(m1); !known || oldest != 600 {
		t.Fatalf("since m1: got %d, %v; want 600", oldest, known)
	}
	if oldest, known := l.since(m0); !known || oldest != 500 {
		t.Fatalf("since m0: got %d, %v; want 500", oldest, known)
	}
	for range appendLogBuckets {
		l.mark()
		l.add(900)
	}
	if _, known := l.since(m1); known {
		t.Fatal("a mark older than the log is known")
	}
	if oldest, known := l.since(l.mark()); !known || oldest != math.MaxInt64 {
		t.Fatalf("a new mark: got %d, %v", oldest, known)
	}
}
