package metrics

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/prometheus/prometheus/util/annotations"
)

// windowsSpan is how long fillWindows writes samples for, from t0.
const windowsSpan = 3 * time.Hour

// edgeFloats are values whose arithmetic and formatting are easy to get
// wrong.
var edgeFloats = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.MaxFloat64, -math.MaxFloat64,
	math.SmallestNonzeroFloat64, 1e-300, 0.1, 1, 2.5e15,
}

// fillWindows writes random series for three hours from t0 into s, the
// same for the same seed:
//   - fz_total{i}: counters scraped every 10–60 s with up to 2 s of jitter,
//     with counter resets, gaps, stale markers, and each starting and
//     ending at a random time (so series appear and disappear mid-range)
//   - fz_gauge{i}: gauges taking random and edge values (NaN, ±Inf, −0,
//     extremes), also with gaps and stale markers; their name does not
//     look like a counter's, so rate over them is noted
//   - fz_step_total{i}: counters scraped exactly every 15 s from t0, so
//     that samples fall on the ends of windows of whole seconds, starting
//     from zero, with resets to zero and stale markers
//   - fz_dup_a{k="1"} and fz_dup_b{k="1"}: equal once the name is dropped
//   - fz_hist: native histograms; fz_mixed: floats, then native histograms
func fillWindows(t testing.TB, s *Store, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	type sample struct {
		l labels.Labels
		t int64
		f float64
		h int64 // the native histogram tsdbutil generates for h, if not 0
	}
	var samples []sample
	span := windowsSpan.Milliseconds()
	series := func(l labels.Labels, next func(i int) float64) {
		interval := []int64{10_000, 15_000, 30_000, 60_000}[rng.IntN(4)]
		from, to := int64(0), span
		if rng.IntN(3) == 0 {
			from = rng.Int64N(span / 2)
		}
		if rng.IntN(3) == 0 {
			to = span/2 + rng.Int64N(span/2)
		}
		last := int64(math.MinInt64)
		for i, ts := 0, t0.UnixMilli()+from; ts < t0.UnixMilli()+to; i, ts = i+1, ts+interval {
			at := ts + rng.Int64N(4001) - 2000
			if at <= last {
				continue
			}
			switch r := rng.IntN(100); {
			case r < 2:
				ts += interval * rng.Int64N(20) // a gap
				continue
			case r < 4:
				samples = append(samples, sample{l: l, t: at, f: math.Float64frombits(value.StaleNaN)})
			default:
				samples = append(samples, sample{l: l, t: at, f: next(i)})
			}
			last = at
		}
	}
	for i := range 30 {
		var c float64
		series(labels.FromStrings("__name__", "fz_total", "i", fmt.Sprint(i)), func(int) float64 {
			if rng.IntN(50) == 0 {
				c = float64(rng.IntN(3)) // a counter reset
			} else {
				c += float64(rng.IntN(100)) / 4
			}
			return c
		})
	}
	for i := range 10 {
		series(labels.FromStrings("__name__", "fz_gauge", "i", fmt.Sprint(i)), func(int) float64 {
			if rng.IntN(10) == 0 {
				return edgeFloats[rng.IntN(len(edgeFloats))]
			}
			return rng.NormFloat64() * 100
		})
	}
	for i := range 3 {
		l := labels.FromStrings("__name__", "fz_step_total", "i", fmt.Sprint(i))
		c := 0.0
		for ts := t0.UnixMilli(); ts < t0.UnixMilli()+span; ts += 15_000 {
			switch r := rng.IntN(40); {
			case r == 0:
				c = 0
			case r == 1:
				samples = append(samples, sample{l: l, t: ts, f: math.Float64frombits(value.StaleNaN)})
				continue
			default:
				c += float64(rng.IntN(4))
			}
			samples = append(samples, sample{l: l, t: ts, f: c})
		}
	}
	for _, name := range []string{"fz_dup_a", "fz_dup_b"} {
		series(labels.FromStrings("__name__", name, "k", "1"), func(i int) float64 { return float64(i) })
	}
	hist, mixed := labels.FromStrings("__name__", "fz_hist"), labels.FromStrings("__name__", "fz_mixed")
	for i := int64(1); i*15_000 < span; i++ {
		ts := t0.UnixMilli() + i*15_000
		samples = append(samples, sample{l: hist, t: ts, h: i})
		if i*15_000 < span/2 {
			samples = append(samples, sample{l: mixed, t: ts, f: float64(i)})
		} else {
			samples = append(samples, sample{l: mixed, t: ts, h: i})
		}
	}
	// The head takes samples up to an hour older than its newest only, so
	// they are written in time order.
	slices.SortStableFunc(samples, func(a, b sample) int { return cmp.Compare(a.t, b.t) })
	app := s.Appender(context.Background())
	for _, x := range samples {
		var err error
		if x.h != 0 {
			_, err = app.AppendHistogram(0, x.l, x.t, tsdbutil.GenerateTestHistogram(x.h), nil)
		} else {
			_, err = app.Append(0, x.l, x.t, x.f)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// windowsExprs are the expressions of the differential test: every
// function evalWindows evaluates, over selectors, ranges and offsets.
func windowsExprs() []string {
	var exprs []string
	selectors := []string{"fz_total", "fz_gauge", `fz_total{i=~"1.*"}`, "fz_step_total", "no_such_metric"}
	ranges := []string{"1m", "45s", "5m", "7m30s", "1s", "30s"}
	offsets := []string{"", " offset 2m", " offset -1m30s"}
	for _, fn := range sortedKeys(windowFuncs) {
		for i, sel := range selectors {
			for j, rng := range ranges {
				// Every selector with every range, each time with another offset.
				exprs = append(exprs, fmt.Sprintf("%s(%s[%s]%s)", fn, sel, rng, offsets[(i+j)%len(offsets)]))
			}
		}
		exprs = append(exprs,
			fmt.Sprintf(`%s({__name__=~"fz_dup_.*"}[2m])`, fn),
			fmt.Sprintf("(%s(fz_total[90s]))", fn),
			// Fractions of a millisecond, which the engine truncates
			// in range plus offset and in offset alone.
			fmt.Sprintf("%s(fz_step_total[60.0005] offset 0.0005)", fn),
			fmt.Sprintf("%s(fz_step_total[1m] offset -0.0005)", fn),
			fmt.Sprintf("%s(fz_gauge[0.0015])", fn),
		)
	}
	return exprs
}

func sortedKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// windowsGrids are the query ranges of the differential test: aligned to
// the step and not, steps shorter and longer than the ranges, a range
// starting before the data and ending after it, and one step.
func windowsGrids() [][3]time.Duration { // start after t0, length, step
	return [][3]time.Duration{
		{0, windowsSpan, 15 * time.Second},
		{-10 * time.Minute, windowsSpan + 20*time.Minute, time.Minute},
		{37*time.Minute + 1234*time.Millisecond, time.Hour, 7*time.Second + 3*time.Millisecond},
		{5 * time.Minute, 2 * time.Hour, 10 * time.Minute},
		{time.Hour, 0, 15 * time.Second},
		{90 * time.Minute, 3 * time.Minute, time.Second},
	}
}

// answerText is what a client reads of res: the API's bytes for an
// answer, the error's kind and text for an error.
func answerText(t testing.TB, expr string, res *promql.Result) string {
	t.Helper()
	if res.Err != nil {
		return fmt.Sprintf("error %s: %v", kindOf(res.Err), res.Err)
	}
	if _, ok := res.Value.(promql.Matrix); !ok {
		t.Fatalf("%s: answer of type %T", expr, res.Value)
	}
	n := resultData(expr, res, 0).(withNotes)
	w := httptest.NewRecorder()
	if err := writeOK(w, response{Status: "success", Data: n.data, Warnings: n.warnings, Infos: n.infos}); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

// compareWindows evaluates expr over the grid both by the engine and by
// evalWindows and fails unless the answers are the same bytes. It returns
// whether evalWindows answered (rather than leaving the query to the
// engine).
func compareWindows(t testing.TB, ctx context.Context, s *Store, expr string, start, end time.Time, step time.Duration) bool {
	t.Helper()
	q, err := s.engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	fast := s.execWindows(ctx, q)
	if fast == nil {
		return false
	}
	ref, err := s.engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
	if err != nil {
		t.Fatal(err)
	}
	want := answerText(t, expr, ref.Exec(ctx))
	if got := answerText(t, expr, fast); got != want {
		t.Fatalf("%s from %s to %s every %s:\nengine: %.2000s\nwindows: %.2000s", expr, start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), step, want, got)
	}
	return true
}

// TestWindowsMatchEngine holds evalWindows to the engine's answers, byte
// for byte as the API writes them, on random data: every function it
// evaluates, over ranges, offsets and grids.
func TestWindowsMatchEngine(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 1)
	ctx := context.Background()
	compareEveryWindow(t, ctx, s)
}

// compareEveryWindow compares evalWindows with the engine for every
// expression of windowsExprs over every range of windowsGrids.
func compareEveryWindow(t *testing.T, ctx context.Context, s *Store) {
	t.Helper()
	for _, grid := range windowsGrids() {
		start := t0.Add(grid[0])
		for _, expr := range windowsExprs() {
			if !compareWindows(t, ctx, s, expr, start, start.Add(grid[1]), grid[2]) {
				t.Fatalf("%s was left to the engine", expr)
			}
		}
	}
}

// TestWindowsParallel holds evalWindows to the engine's answers when it
// spreads the series over the cores, as it does from parallelWindowPoints
// on: answers, errors, and a native histogram met by one of the workers.
func TestWindowsParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 5)
	ctx := context.Background()
	start, end, step := t0.Add(30*time.Minute), t0.Add(90*time.Minute), time.Second
	if n := int(end.Sub(start)/step) * 30; n < parallelWindowPoints {
		t.Fatalf("%d points, too few to be spread", n)
	}
	for _, expr := range []string{
		"rate(fz_total[1m])",
		"stddev_over_time(fz_gauge[5m] offset 1m)",
		`last_over_time({__name__=~"fz_total|fz_gauge"}[30s])`,
		`delta({__name__=~"fz_total|fz_dup_.*"}[2m])`,
	} {
		if !compareWindows(t, ctx, s, expr, start, end, step) {
			t.Errorf("%s was left to the engine", expr)
		}
	}
	if compareWindows(t, ctx, s, `rate({__name__=~"fz_total|fz_mixed"}[1m])`, start, end.Add(time.Hour), step) {
		t.Error("native histograms were evaluated without the engine")
	}
}

// TestWindowsLeaveToEngine checks that what evalWindows cannot answer
// exactly goes to the engine: native histograms, wherever in the range
// they are, and shapes it does not evaluate.
func TestWindowsLeaveToEngine(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 2)
	ctx := context.Background()
	for _, expr := range []string{
		"rate(fz_hist[1m])",
		"rate(fz_mixed[1m])",
		`sum_over_time({__name__=~"fz_.*"}[5m])`,
		"rate(fz_total[1m] @ 1700000000)",
		"rate(fz_total[1m] @ end())",
		"quantile_over_time(0.5, fz_total[1m])",
		"sum(rate(fz_total[1m]))",
		"rate(fz_total[1m]) * 2",
		"fz_total",
		"rate(fz_total[10m:1m])",
		"absent_over_time(fz_total[1m])",
		"histogram_count(rate(fz_hist[1m]))",
	} {
		if compareWindows(t, ctx, s, expr, t0, t0.Add(windowsSpan), 15*time.Second) {
			t.Errorf("%s was evaluated without the engine", expr)
		}
	}
	// A float series that turns into native histograms is evaluated while
	// its windows hold only floats.
	if !compareWindows(t, ctx, s, "rate(fz_mixed[1m])", t0, t0.Add(windowsSpan/4), 15*time.Second) {
		t.Error("rate over floats only was left to the engine")
	}
}

// TestWindowsLimits checks the engine's limits on evalWindows: MaxSamples
// gives the engine's error exactly when the engine does (at the smallest
// limit the engine answers within, found by bisection, and around it), and
// a canceled or timed-out query the engine's error.
func TestWindowsLimits(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 3)
	tests := []struct {
		expr        string
		from, until time.Duration // after t0
		step        time.Duration
	}{
		{"rate(fz_total[5m])", time.Hour, 90 * time.Minute, 30 * time.Second}, // windows smaller than the answer
		{"max_over_time(fz_gauge[40m])", time.Hour, 90 * time.Minute, 30 * time.Second},
		{"count_over_time(fz_total[1h] offset 10m)", time.Hour, 90 * time.Minute, 30 * time.Second},
		{"idelta(fz_total[10s])", time.Hour, 90 * time.Minute, 30 * time.Second}, // few answers
		// Windows larger than a series' answer, the last ones empty: the
		// largest window, not the last, decides.
		{"sum_over_time(fz_total[20m])", 150 * time.Minute, 210 * time.Minute, 5 * time.Minute},
		// Large enough to be spread over the cores.
		{"rate(fz_total[1m])", 30 * time.Minute, 90 * time.Minute, time.Second},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := context.Background()
	for _, tc := range tests {
		expr, start, end, step := tc.expr, t0.Add(tc.from), t0.Add(tc.until), tc.step
		// The engine answers at and above a limit, fails below it.
		lo, hi := 0, 1_000_000
		for lo+1 < hi {
			mid := (lo + hi) / 2
			q, err := withMaxSamples(s, mid).engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
			if err != nil {
				t.Fatal(err)
			}
			if q.Exec(ctx).Err != nil {
				lo = mid
			} else {
				hi = mid
			}
		}
		for _, limit := range []int{1, hi - 2, hi - 1, hi, hi + 1} {
			if limit > 0 && !compareWindows(t, ctx, withMaxSamples(s, limit), expr, start, end, step) {
				t.Fatalf("%s was left to the engine", expr)
			}
		}
	}

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), t0)
	defer cancel()
	expr, start, end, step := tests[0].expr, t0.Add(tests[0].from), t0.Add(tests[0].until), tests[0].step
	for _, ctx := range []context.Context{canceled, expired} {
		q, err := s.engine.NewRangeQuery(context.Background(), s.db, nil, expr, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := s.engine.NewRangeQuery(context.Background(), s.db, nil, expr, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		fast := s.execWindows(ctx, q)
		if fast == nil {
			t.Fatal("left to the engine")
		}
		if got, want := answerText(t, expr, fast), answerText(t, expr, ref.Exec(ctx)); got != want {
			t.Errorf("windows: %s, engine: %s", got, want)
		}
	}
}

// FuzzWindows compares evalWindows with the engine on one store of
// random data over fuzzed expressions and grids: counters with resets,
// gaps and stale markers, counters on a 15 s grid, and gauges with NaN,
// infinities and extremes.
func FuzzWindows(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint16(60), int32(0), int32(0), uint32(3*3600), uint16(15_000))
	f.Add(uint8(5), uint8(1), uint16(1), int32(-90), int32(1234567), uint32(600), uint16(1))
	f.Add(uint8(11), uint8(2), uint16(3600), int32(600), int32(-700000), uint32(20000), uint16(65535))
	f.Add(uint8(13), uint8(2), uint16(30), int32(15), int32(15_000), uint32(3600), uint16(15_000))
	s := openStore(f, f.TempDir())
	f.Cleanup(func() { s.Close() })
	fillWindows(f, s, 4)
	f.Fuzz(func(t *testing.T, fn, sel uint8, rangeS uint16, offsetS int32, startMs int32, lengthS uint32, stepMs uint16) {
		funcs := sortedKeys(windowFuncs)
		selectors := []string{"fz_total", "fz_gauge", "fz_step_total"}
		if rangeS == 0 || stepMs == 0 {
			return
		}
		lengthS %= 4 * 3600
		step := time.Duration(stepMs) * time.Millisecond
		if time.Duration(lengthS)*time.Second/step > 11_000 {
			return // more than the API's 11,000 points
		}
		expr := fmt.Sprintf("%s(%s[%ds] offset %ds)", funcs[int(fn)%len(funcs)], selectors[int(sel)%len(selectors)], rangeS, offsetS%86400)
		start := t0.Add(time.Duration(startMs) * time.Millisecond)
		if !compareWindows(t, context.Background(), s, expr, start, start.Add(time.Duration(lengthS)*time.Second), step) {
			t.Fatalf("%s was left to the engine", expr)
		}
	})
}

// withMaxSamples is s with another MaxSamples limit, for its engine and
// for evalWindows.
func withMaxSamples(s *Store, n int) *Store {
	opts := s.opts
	opts.MaxSamples = n
	return &Store{db: s.db, opts: opts, engine: newEngine(opts, slog.New(slog.DiscardHandler), nil), slots: s.slots}
}

// TestWindowsPanicGoesToEngine: a panic while a series is evaluated, on the
// query's goroutine or a worker's, hands the query back to the engine (which
// turns its own panics into the query's error) instead of ending the process.
func TestWindowsPanicGoesToEngine(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 3)
	ctx := context.Background()
	for _, step := range []time.Duration{time.Minute, 100 * time.Millisecond} { // one worker; all the cores
		q, err := s.engine.NewRangeQuery(ctx, s.db, nil, "deriv(fz_total[1m])", t0, t0.Add(windowsSpan), step)
		if err != nil {
			t.Fatal(err)
		}
		stmt := q.Statement().(*parser.EvalStmt)
		p, ok := planWindows(stmt)
		if !ok {
			t.Fatal("deriv over a selector was not planned")
		}
		p.fn = func([]promql.Vector, promql.Matrix, parser.Expressions, *promql.EvalNodeHelper) (promql.Vector, annotations.Annotations) {
			panic("broken function")
		}
		if res := s.evalWindows(ctx, stmt, p); res != nil {
			t.Errorf("step %s: a panicking evaluation answered %v, want the engine to answer", step, res)
		}
	}
}

// TestWindowsAcrossBlocks holds evalWindows, which reads a series' chunks,
// to the engine, which reads its samples merged across the blocks and the
// head, where they differ: series partly in a persisted block and partly
// in the head, a chunk in both (the head persisted in the middle of its
// chunks), and deleted samples in the block and in the head.
func TestWindowsAcrossBlocks(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 6)
	persisted := t0.Add(67*time.Minute + 4321*time.Millisecond).UnixMilli()
	if err := s.db.CompactHead(tsdb.NewRangeHead(s.db.Head(), t0.UnixMilli()-time.Hour.Milliseconds(), persisted-1)); err != nil {
		t.Fatal(err)
	}
	if len(s.db.Blocks()) != 1 {
		t.Fatalf("%d blocks, want 1", len(s.db.Blocks()))
	}
	ctx := context.Background()
	// One deleted range, across the block's end: with two, the engine's
	// storage fails the query where evalWindows answers (trimming a series
	// with several deleted ranges, tombstones.Intervals.Add indexes past
	// its end; prometheus/prometheus tsdb/tombstones/tombstones.go,
	// v0.310.0).
	if err := s.db.Delete(ctx, t0.Add(50*time.Minute).UnixMilli(), t0.Add(80*time.Minute).UnixMilli(), labels.MustNewMatcher(labels.MatchRegexp, "i", "[0-4]")); err != nil {
		t.Fatal(err)
	}
	compareEveryWindow(t, ctx, s)
}

// TestWindowsBefore1970 holds evalWindows to the engine on a query ending
// before 1970 with a fraction of a millisecond, where the engine's last
// step lies a millisecond past what its storage returns, so that the
// sample at that step's end is not in the engine's window.
func TestWindowsBefore1970(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	app := s.Appender(context.Background())
	l := labels.FromStrings("__name__", "early_total")
	for ts := int64(-100_000); ts <= 100_000; ts += 1000 {
		if _, err := app.Append(0, l, ts, float64(ts+200_000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start, end := time.UnixMilli(-50_000).Add(-500*time.Microsecond), time.UnixMilli(-10_000).Add(-500*time.Microsecond)
	for _, expr := range []string{"rate(early_total[5s])", "count_over_time(early_total[3s] offset 1s)", "last_over_time(early_total[1s])"} {
		if !compareWindows(t, ctx, s, expr, start, end, time.Second) {
			t.Fatalf("%s was left to the engine", expr)
		}
	}
}

// TestWindowsSeekToChunkEnd holds evalWindows to the engine when a window
// starts on the last sample of a chunk, so that seeking it must open the
// chunk that ends there rather than the next.
func TestWindowsSeekToChunkEnd(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	fillWindows(t, s, 7)
	ctx := context.Background()
	q, err := s.db.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(ctx, false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "fz_step_total"))
	var ends []int64
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() {
			ends = append(ends, it.At().MaxTime)
		}
		ends = ends[:len(ends)-1] // the head's open chunk ends nowhere yet
	}
	if set.Err() != nil || len(ends) < 3 {
		t.Fatalf("chunk ends %v, %v", ends, set.Err())
	}
	for _, end := range ends[:3] {
		// The first window, (start-1m, start], starts on the chunk's last
		// sample; the steps, longer than the range, seek again.
		start := time.UnixMilli(end + time.Minute.Milliseconds() - 1)
		if !compareWindows(t, ctx, s, "count_over_time(fz_step_total[1m])", start, start.Add(time.Hour), 10*time.Minute) {
			t.Fatal("left to the engine")
		}
	}
}
