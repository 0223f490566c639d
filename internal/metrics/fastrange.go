package metrics

import (
	"context"
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// windowFuncs are the functions whose value at a step is computed from one
// series' samples in that step's window and nothing else, so that a range
// query of one of them over one selector can be evaluated a series at a
// time in a single pass over its samples (evalWindows). The maths stays
// Prometheus's: each step calls the engine's own implementation from
// promql.FunctionCalls, but for rate, increase and delta, whose documented
// extrapolation evalWindows computes itself (extrapolation), with the
// same float operations in the same order, for a fraction of the cost of
// the engine's call. Functions with a scalar parameter, absent_over_time
// (which answers for the absence of all series) and timestamp are left to
// the engine.
var windowFuncs = map[string]bool{
	"rate": true, "increase": true, "delta": true, "irate": true, "idelta": true, "deriv": true,
	"changes": true, "resets": true,
	"avg_over_time": true, "sum_over_time": true, "count_over_time": true, "min_over_time": true,
	"max_over_time": true, "stddev_over_time": true, "stdvar_over_time": true,
	"last_over_time": true, "present_over_time": true,
}

// windowPlan is a range query that evalWindows answers: f(selector[range])
// with an optional offset, and nothing the engine evaluates differently
// (@, anchored or smoothed selectors, histogram-statistics decoding).
type windowPlan struct {
	call *parser.Call
	fn   promql.FunctionCall
	vs   *parser.VectorSelector
	// In milliseconds, as the engine computes them.
	start, end, step, rng, offset int64
	// The storage's range (the engine's SelectHints): the engine's
	// querier drops the samples outside it, even one in the last window
	// when the query ends before 1970 with a fraction of a millisecond.
	mint, maxt int64
	// rate is set for rate, increase and delta, which are not evaluated
	// by fn.
	rate *extrapolation
}

// extrapolation is rate, increase or delta over one range selector, as
// the Prometheus documentation describes them and promql/functions.go
// (extrapolatedRate) computes them, for a window of float samples: the
// difference between its last and first samples (for counters, plus the
// value before each drop, a counter reset), extrapolated towards the
// range's ends, and for rate divided by the range in seconds. The engine
// notes nothing per window for floats; the possible-non-counter note is
// per series (evalWindows).
type extrapolation struct {
	// counter: rate and increase, which correct counter resets and do
	// not extrapolate a counter below zero.
	counter bool
	// perSecond: rate.
	perSecond    bool
	rangeSeconds float64
	// The range's start and end before the step, in milliseconds. The
	// engine truncates range plus offset, and offset, to milliseconds;
	// with a fraction of a millisecond (rate(x[1m] offset 0.0005)) that
	// is not the truncated range plus the truncated offset.
	startBefore, endBefore int64
}

// at is the value of the function at step ts over window, the step's
// samples in time order, stale markers left out; false if it has none
// (fewer than two samples). The float operations are the engine's, in its
// order: any other order rounds differently, and answers must be the same
// bits.
func (x *extrapolation) at(window []promql.FPoint, ts int64, m *spanMemo) (float64, bool) {
	n := len(window)
	if n < 2 {
		return 0, false
	}
	first, last := window[0], window[n-1]
	diff := last.F - first.F
	if x.counter {
		prev := first.F
		for _, s := range window[1:] {
			if s.F < prev {
				diff += prev
			}
			prev = s.F
		}
	}
	k := spanKey{n: n, toStart: first.T - (ts - x.startBefore), toEnd: ts - x.endBefore - last.T, sampled: last.T - first.T}
	if !m.ok || m.key != k {
		m.set(x, k)
	}
	factor := m.factor
	if x.counter && diff > 0 && first.F >= 0 {
		// Extrapolating back to the counter's zero, if that is nearer
		// than the start the samples' spacing gives.
		if toZero := m.sampled * (first.F / diff); toZero < m.toStart {
			factor = x.factor(m.sampled, toZero, m.toEnd)
		}
	}
	return diff * factor, true
}

// factor is what the difference is multiplied by: the sampled interval
// extended by the durations to the start and end (in seconds), for rate
// per second of the range.
func (x *extrapolation) factor(sampled, toStart, toEnd float64) float64 {
	f := (sampled + toStart + toEnd) / sampled
	if x.perSecond {
		f /= x.rangeSeconds
	}
	return f
}

// spanKey is what of a window the extrapolation reads besides its values:
// the number of samples and, in milliseconds, the first sample's distance
// from the range's start, the last's from its end, and theirs.
type spanKey struct {
	n                       int
	toStart, toEnd, sampled int64
}

// spanMemo is the extrapolation of the last window's span. Samples at a
// steady interval give most windows the same span, and computing it is
// most of the cost of a window (divisions); the same integers give the
// same floats, so reusing them changes no bit.
type spanMemo struct {
	ok  bool
	key spanKey
	// In seconds: the sampled interval, and the durations to the start
	// and end of the range the series is extrapolated over, before any
	// counter's zero point is considered.
	sampled, toStart, toEnd float64
	factor                  float64 // x.factor(sampled, toStart, toEnd)
}

func (m *spanMemo) set(x *extrapolation, k spanKey) {
	toStart := float64(k.toStart) / 1000
	toEnd := float64(k.toEnd) / 1000
	sampled := float64(k.sampled) / 1000
	spacing := sampled / float64(k.n-1)
	// A series more than 10 % of its average spacing away from an end of
	// the range is taken to start or stop inside it, half a spacing
	// beyond its first or last sample.
	limit := spacing * 1.1
	if toStart >= limit {
		toStart = spacing / 2
	}
	if toEnd >= limit {
		toEnd = spacing / 2
	}
	*m = spanMemo{ok: true, key: k, sampled: sampled, toStart: toStart, toEnd: toEnd, factor: x.factor(sampled, toStart, toEnd)}
}

// planWindows returns the plan for stmt, or false if the engine must
// evaluate it.
func planWindows(stmt *parser.EvalStmt) (windowPlan, bool) {
	if stmt.Interval <= 0 {
		return windowPlan{}, false // instant queries answer vectors
	}
	expr := stmt.Expr
	for {
		p, ok := expr.(*parser.ParenExpr)
		if !ok {
			break
		}
		expr = p.Expr
	}
	call, ok := expr.(*parser.Call)
	if !ok || !windowFuncs[call.Func.Name] || len(call.Args) != 1 {
		return windowPlan{}, false
	}
	ms, ok := call.Args[0].(*parser.MatrixSelector)
	if !ok {
		return windowPlan{}, false
	}
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs.Timestamp != nil || vs.StartOrEnd != 0 || vs.Anchored || vs.Smoothed || vs.SkipHistogramBuckets {
		return windowPlan{}, false
	}
	fn := promql.FunctionCalls[call.Func.Name]
	if fn == nil {
		return windowPlan{}, false
	}
	var rate *extrapolation
	switch call.Func.Name {
	case "rate", "increase", "delta":
		rate = &extrapolation{
			counter:      call.Func.Name != "delta",
			perSecond:    call.Func.Name == "rate",
			rangeSeconds: ms.Range.Seconds(),
			startBefore:  (ms.Range + vs.OriginalOffset).Milliseconds(),
			endBefore:    vs.OriginalOffset.Milliseconds(),
		}
	}
	// The functions read the selector's offset (rate's window ends at
	// the step minus it); the engine sets it before it evaluates
	// (setOffsetForAtModifier), to the written offset when there is no @.
	// Setting it here is what the engine would do if it evaluated stmt.
	vs.Offset = vs.OriginalOffset
	return windowPlan{
		call:   call,
		fn:     fn,
		vs:     vs,
		start:  engineMilliseconds(stmt.Start),
		end:    engineMilliseconds(stmt.End),
		step:   stmt.Interval.Milliseconds(),
		rng:    ms.Range.Milliseconds(),
		offset: vs.Offset.Milliseconds(),
		mint:   timestamp.FromTime(stmt.Start) - (ms.Range.Milliseconds() - 1) - vs.Offset.Milliseconds(),
		maxt:   timestamp.FromTime(stmt.End) - vs.Offset.Milliseconds(),
		rate:   rate,
	}, true
}

// engineMilliseconds is t as the engine's evaluation counts it
// (timeMilliseconds in promql/engine.go), which differs from
// timestamp.FromTime by a millisecond for instants before 1970 with a
// fraction of a millisecond.
func engineMilliseconds(t time.Time) int64 {
	return t.UnixNano() / int64(time.Millisecond)
}

// windowSeries is the reusable state of the evaluation of one series.
type windowSeries struct {
	p    *windowPlan
	it   chunkSamples
	buf  []promql.FPoint // the series' samples from the oldest window still needed
	in   promql.Matrix   // the function's argument: one series, its window
	enh  promql.EvalNodeHelper
	args parser.Expressions
	// maxSamples is the store's MaxSamples: no window holds more.
	maxSamples int
	span       spanMemo
}

// eval appends the series' value at each step to out and returns it, with
// the most samples the engine counts against MaxSamples while it evaluates
// the series: its largest window, or its last window and its points once
// they are all computed.
//
// The engine's window at step ts is the series' samples with
// ts-offset-range < t <= ts-offset, stale markers left out
// (evaluator.matrixIterSlice); here the samples are decoded once, in
// order, and each window is a sub-slice of them.
//
// It stops at a window of more than MaxSamples, with that count. It
// returns false if the series holds a native histogram sample in a window,
// or its samples could not be read: only the engine answers those exactly.
func (w *windowSeries) eval(s storage.ChunkSeries, out []promql.FPoint, annos *annotations.Annotations) ([]promql.FPoint, int, bool) {
	p := w.p
	it := &w.it
	it.reset(s)
	w.in[0].Metric = s.Labels()
	buf := w.buf[:0]
	from := len(out)
	first, peak := 0, 0
	// The next sample not yet in buf: its type (ValNone once the series
	// is read), time and value.
	vt := it.seek(p.start - p.offset - p.rng + 1)
	nt, nf := sampleAt(it, vt)
	for ts := p.start; ts <= p.end; ts += p.step {
		lo, hi := ts-p.offset-p.rng, min(ts-p.offset, p.maxt)
		for first < len(buf) && buf[first].T <= lo {
			first++
		}
		if vt != chunkenc.ValNone && nt <= lo {
			// Steps further apart than the range leave samples no
			// window holds.
			vt = it.seek(lo + 1)
			nt, nf = sampleAt(it, vt)
		}
		for vt != chunkenc.ValNone && nt <= hi {
			if vt != chunkenc.ValFloat {
				w.buf = buf
				return out, 0, false
			}
			if !value.IsStaleNaN(nf) {
				buf = append(buf, promql.FPoint{T: nt, F: nf})
				if len(buf)-first > w.maxSamples {
					// A window beyond the limit fails the query
					// whatever else it holds; the engine stops there too.
					w.buf = buf
					return out, len(buf) - first, true
				}
			}
			vt = it.next()
			nt, nf = sampleAt(it, vt)
		}
		if first > len(buf)/2 && first >= 1024 {
			// Bound the buffer by the window, not by the series.
			buf = buf[:copy(buf, buf[first:])]
			first = 0
		}
		window := buf[first:]
		peak = max(peak, len(window))
		if len(window) == 0 {
			continue
		}
		if p.rate != nil {
			if f, ok := p.rate.at(window, ts, &w.span); ok {
				out = append(out, promql.FPoint{T: ts, F: f})
			}
			continue
		}
		w.in[0].Floats = window
		w.enh.Ts = ts
		vec, as := p.fn(nil, w.in, w.args, &w.enh)
		annos.Merge(as)
		if len(vec) > 0 {
			out = append(out, promql.FPoint{T: ts, F: vec[0].F})
		}
		w.enh.Out = vec[:0]
	}
	w.buf = buf
	if it.Err() != nil {
		return out, 0, false
	}
	return out, max(peak, len(buf)-first+len(out)-from), true
}

// chunkSamples reads a series' samples straight from its chunks, one
// chunk after the other: the chunk querier hands a series' chunks in
// time order, without overlaps (it merges those of blocks that overlap,
// and leaves out deleted samples), which is what a storage.Series
// iterator reads too, through layers that cost as much per sample as the
// decoding (merging the blocks and the head sample by sample, deletions).
type chunkSamples struct {
	chunks chunks.Iterator
	it     chunkenc.Iterator // the current chunk's, if open
	open   bool
	err    error
}

func (c *chunkSamples) reset(s storage.ChunkSeries) {
	c.chunks = s.Iterator(c.chunks)
	c.open = false
	c.err = nil
}

// seek and next are chunkenc.Iterator's Seek and Next over the whole
// series.
func (c *chunkSamples) seek(t int64) chunkenc.ValueType { return c.advance(true, t) }
func (c *chunkSamples) next() chunkenc.ValueType        { return c.advance(false, math.MinInt64) }

// advance seeks the first sample at or after t, or moves to the next
// sample, opening the chunks that hold samples at or after t in turn.
func (c *chunkSamples) advance(seek bool, t int64) chunkenc.ValueType {
	for c.open || c.nextChunk(t) {
		var vt chunkenc.ValueType
		if seek {
			vt = c.it.Seek(t)
		} else {
			vt = c.it.Next()
		}
		if vt != chunkenc.ValNone {
			return vt
		}
		c.open = false
		if c.err = c.it.Err(); c.err != nil {
			return chunkenc.ValNone
		}
	}
	return chunkenc.ValNone
}

func (c *chunkSamples) nextChunk(t int64) bool {
	for c.chunks.Next() {
		if m := c.chunks.At(); m.MaxTime >= t {
			c.it = m.Chunk.Iterator(c.it)
			c.open = true
			return true
		}
	}
	c.err = c.chunks.Err()
	return false
}

func (c *chunkSamples) Err() error { return c.err }

// sampleAt is the time and value of the iterator's sample of type vt (the
// value of floats only).
func sampleAt(it *chunkSamples, vt chunkenc.ValueType) (int64, float64) {
	switch vt {
	case chunkenc.ValFloat:
		return it.it.At()
	case chunkenc.ValNone:
		return 0, 0
	}
	return it.it.AtT(), 0
}

// evalWindows answers the range query p of stmt as the engine would
// (promql.Engine's evaluation of a function call over a matrix selector),
// with the same series, points, order, annotations and errors, limits
// included: the store's query timeout, and MaxSamples counted as the
// engine counts them. It returns nil when the engine must answer instead.
func (s *Store) evalWindows(ctx context.Context, stmt *parser.EvalStmt, p windowPlan) *promql.Result {
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	if err := queryContextErr(ctx, "query execution"); err != nil {
		return &promql.Result{Err: err}
	}
	mint, maxt := promql.FindMinMaxTime(stmt)
	q, err := s.db.ChunkQuerier(mint, maxt)
	if err != nil {
		return nil
	}
	defer q.Close()
	// The engine's hints (populateSeries, getTimeRangesForSelector), so
	// the storage selects alike; but chunks that reach beyond them are
	// read whole rather than written again without the samples outside
	// (eval stops at maxt itself).
	hints := &storage.SelectHints{
		Start:           p.mint,
		End:             p.maxt,
		Step:            p.step,
		Range:           p.rng,
		Func:            p.call.Func.Name,
		DisableTrimming: true,
	}
	set := q.Select(ctx, false, hints, p.vs.LabelMatchers...)
	var series []storage.ChunkSeries
	for set.Next() {
		series = append(series, set.At())
	}
	if set.Err() != nil {
		return nil
	}
	var annos annotations.Annotations
	annos.Merge(set.Warnings())

	results, err := s.evalSeries(ctx, &p, series)
	if err != nil {
		return &promql.Result{Err: err, Warnings: annos}
	}
	if results == nil {
		return nil
	}

	name := p.call.Func.Name
	// last_over_time acts like an offset and keeps the metric name; every
	// other function drops it.
	dropName := name != "last_over_time"
	counter := name == "rate" || name == "increase"
	mat := make(promql.Matrix, 0, len(series))
	samples := 0 // the engine's count: the points of the series answered so far
	for i, r := range results {
		annos.Merge(r.annos)
		if samples+r.peak > s.opts.MaxSamples {
			return &promql.Result{Err: promql.ErrTooManySamples("query execution"), Warnings: annos}
		}
		if len(r.points) == 0 {
			continue
		}
		samples += len(r.points)
		lbls := series[i].Labels()
		metric := lbls
		if dropName {
			metric = metric.DropReserved(schema.IsMetadataLabel)
		}
		mat = append(mat, promql.Series{Metric: metric, Floats: r.points, DropName: dropName})
		if counter {
			if mn := lbls.Get(model.MetricNameLabel); mn != "" && !hasCounterSuffix(mn) {
				annos.Add(annotations.NewPossibleNonCounterInfo(mn, p.call.Args[0].PositionRange()))
			}
		}
	}
	if mat.ContainsSameLabelset() {
		return &promql.Result{Err: errors.New("vector cannot contain metrics with the same labelset"), Warnings: annos}
	}
	if err := queryContextErr(ctx, "expression evaluation"); err != nil {
		return &promql.Result{Err: err, Warnings: annos}
	}
	// The engine's sort, on the series in the engine's order, so that
	// even equal label sets end in the same order.
	sort.Sort(mat)
	return &promql.Result{Value: mat, Warnings: annos}
}

// windowResult is the evaluation of one series: its points, the most
// samples the engine would hold while evaluating it (see windowSeries.eval)
// and the function's annotations.
type windowResult struct {
	points []promql.FPoint
	peak   int
	annos  annotations.Annotations
}

// parallelWindowPoints is the size of answer (series × steps) from which
// evalSeries spreads the series over the cores: about 5 ms of work here,
// far more than starting a goroutine costs.
const parallelWindowPoints = 100_000

// slabPoints bounds the points allocated at once for the answers of
// several series (16 MiB).
const slabPoints = 1 << 20

// evalSeries evaluates each series of p. The series are independent, so a
// large query spreads them over the cores; the caller then walks the
// results in the engine's order. It returns nil results when the engine
// must answer, and an error when the answer is certainly one: the query's
// context ended, or the points answered, or one series' window, exceed
// MaxSamples however the engine orders them.
func (s *Store) evalSeries(ctx context.Context, p *windowPlan, series []storage.ChunkSeries) ([]windowResult, error) {
	results := make([]windowResult, len(series))
	steps := int((p.end-p.start)/p.step) + 1
	workers := 1
	if len(series)*steps >= parallelWindowPoints {
		workers = min(runtime.GOMAXPROCS(0), len(series))
	}
	var (
		next, answered atomic.Int64
		stop           atomic.Bool
		tooMany        atomic.Bool
		fallback       atomic.Bool
	)
	work := func() {
		// The engine turns a panic in its evaluation into the query's
		// error; here a worker's would end the process, so it hands the
		// query back to the engine instead, and says so once.
		defer func() {
			if v := recover(); v != nil {
				s.logger.Error("range query evaluated a series at a time panicked; the engine answers it",
					"query", p.call.String(), "panic", v, "stack", string(debug.Stack()))
				fallback.Store(true)
				stop.Store(true)
			}
		}()
		w := windowSeries{p: p, in: make(promql.Matrix, 1), args: p.call.Args, maxSamples: s.opts.MaxSamples}
		w.enh.Out = make(promql.Vector, 0, 1)
		var slab []promql.FPoint
		for !stop.Load() {
			i := int(next.Add(1)) - 1
			if i >= len(series) || ctx.Err() != nil {
				return
			}
			if cap(slab)-len(slab) < steps {
				// The points of many series in one allocation of at
				// most slabPoints; each series gets its own capped
				// sub-slice, so appending to one never writes over the
				// next. A series of more steps grows its own, as the
				// engine's do.
				slab = make([]promql.FPoint, 0, steps*min(64, (len(series)-i+workers-1)/workers, slabPoints/steps))
			}
			from := len(slab)
			var r windowResult
			var ok bool
			slab, r.peak, ok = w.eval(series[i], slab, &r.annos)
			if !ok {
				fallback.Store(true)
				stop.Store(true)
				return
			}
			r.points = slab[from:len(slab):len(slab)]
			results[i] = r
			if r.peak > s.opts.MaxSamples || int(answered.Add(int64(len(r.points)))) > s.opts.MaxSamples {
				tooMany.Store(true)
				stop.Store(true)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, queryContextErr(ctx, "expression evaluation")
	case tooMany.Load():
		return nil, promql.ErrTooManySamples("query execution")
	case fallback.Load():
		return nil, nil
	}
	return results, nil
}

// execWindows answers q with evalWindows when it is a range query of the
// shape evalWindows knows; nil when the engine must evaluate it.
func (s *Store) execWindows(ctx context.Context, q promql.Query) *promql.Result {
	stmt, ok := q.Statement().(*parser.EvalStmt)
	if !ok {
		return nil
	}
	p, ok := planWindows(stmt)
	if !ok {
		return nil
	}
	return s.evalWindows(ctx, stmt, p)
}

// hasCounterSuffix is the engine's test of a metric name before it notes
// that rate or increase was applied to what may not be a counter.
func hasCounterSuffix(name string) bool {
	for _, s := range []string{"_total", "_sum", "_count", "_bucket"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// queryContextErr is the engine's error for a query whose context ended,
// in the words the engine uses at that point (env).
func queryContextErr(ctx context.Context, env string) error {
	switch err := ctx.Err(); {
	case errors.Is(err, context.Canceled):
		return promql.ErrQueryCanceled(env)
	case errors.Is(err, context.DeadlineExceeded):
		return promql.ErrQueryTimeout(env)
	default:
		return err
	}
}
