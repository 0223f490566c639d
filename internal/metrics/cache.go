package metrics

import (
	"container/list"
	"context"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// CacheOptions configures a [Cache]. The zero value means the documented
// defaults.
type CacheOptions struct {
	// MaxBytes bounds the estimated size of the cached extents; the least
	// recently used go first. Default 64 MiB.
	MaxBytes int64
	// MaxFreshness is how close to now a step may be and still be cached:
	// samples for the last minutes may still arrive (late remote writes,
	// the lookback), so later steps are evaluated on every query. Default
	// 10 minutes, as Mimir's -query-frontend.max-cache-freshness.
	MaxFreshness time.Duration
	// TTL is how long a cached extent is reused, bounding how long a
	// series written later into the past (a new series backfilled within
	// the TSDB head's window, or data past retention) can go unseen.
	// Default 1 hour.
	TTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Cache is a [Source] that caches range query results of another Source in
// extents, as Cortex's and Mimir's query frontends do, so that a dashboard
// reload and a window moving forward evaluate only the steps not yet
// cached.
//
// Guarantee: the answer to a range query is the answer the Source gives
// to that very query, with the same timestamps (start, start+step, …, up to
// end) and values. This holds because PromQL evaluates each step of a range
// query independently of the others, so a range can be evaluated in pieces
// and joined; queries for which that is not true (the @ modifier with
// start() or end(), duration expressions) and queries the PromQL parser here
// does not know are passed to the Source whole and not cached. Extents are
// kept per expression, step and the start's offset modulo the step, so
// only queries on the same grid of timestamps share them. Steps within
// MaxFreshness of now are never cached, nor are pieces whose evaluation
// produced warnings or infos (their set for a sub-range could differ).
// Cached results are shared and must not be modified.
type Cache struct {
	Source
	opts CacheOptions

	mu      sync.Mutex
	extents map[gridKey][]*extent // in no order, possibly overlapping
	lru     list.List             // of *extent, most recently used first
	bytes   int64
}

// gridKey names the grid of timestamps a range query evaluates on.
type gridKey struct {
	expr   string
	step   int64 // ms
	offset int64 // start modulo step, ms
}

// extent is a cached, immutable piece of a range query's answer: the
// points of every series at the steps from start to end inclusive.
type extent struct {
	key        gridKey
	start, end int64 // ms
	series     promql.Matrix
	size       int64
	expires    time.Time
	el         *list.Element
}

// NewCache returns a cache in front of src.
func NewCache(src Source, opts CacheOptions) *Cache {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.MaxFreshness <= 0 {
		opts.MaxFreshness = 10 * time.Minute
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Cache{Source: src, opts: opts, extents: make(map[gridKey][]*extent)}
}

// piece is a run of steps of one query: from a cached extent, or to be
// evaluated.
type piece struct {
	start, end int64 // ms
	from       *extent
	res        *promql.Result // once evaluated
}

// QueryRange implements [Source] with the cache.
func (c *Cache) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	// The engine counts in milliseconds from the Unix epoch
	// (timestamp.FromTime); so does the grid.
	s, e, st := timestamp.FromTime(start), timestamp.FromTime(end), step.Milliseconds()
	if st <= 0 || e < s {
		return c.Source.QueryRange(ctx, expr, start, end, step)
	}
	sh, ok := shapeOf(expr)
	if !ok {
		return c.Source.QueryRange(ctx, expr, start, end, step)
	}
	e = s + (e-s)/st*st // the last step evaluated
	now := c.opts.Now()
	// The last step whose answer is final: it reads no sample newer than
	// now - MaxFreshness.
	final := timestamp.FromTime(now.Add(-c.opts.MaxFreshness)) - sh.lookahead
	if sh.latestAt > final {
		return c.Source.QueryRange(ctx, expr, start, end, step)
	}
	key := gridKey{expr: expr, step: st, offset: ((s % st) + st) % st}
	if final < s {
		final = s - st
	} else {
		final = s + (final-s)/st*st
	}

	cover := c.cover(key, s, e, now)
	if len(cover) == 1 && cover[0].from != nil {
		return &promql.Result{Value: cover[0].from.slice(s, e)}, nil
	}
	var todo []*piece
	for i := range cover {
		if cover[i].from == nil {
			todo = append(todo, &cover[i])
		}
	}
	if err := c.evaluate(ctx, expr, todo, step); err != nil {
		return nil, err
	}
	var notes annotations.Annotations
	for _, p := range todo {
		if _, ok := p.res.Value.(promql.Matrix); !ok {
			// Not what a range query answers: give the Source's own
			// answer to the whole query.
			return c.Source.QueryRange(ctx, expr, start, end, step)
		}
		notes.Merge(p.res.Warnings)
	}
	// Steps up to final are cached and later ones are not, so a gap
	// across final becomes two pieces. It is evaluated in one run all the
	// same: each evaluation selects and seeks every series anew, which
	// costs as much as minutes of steps.
	var plan []piece
	for _, p := range cover {
		if p.from == nil && p.start <= final && final < p.end {
			plan = append(plan, p.window(p.start, final), p.window(final+st, p.end))
		} else {
			plan = append(plan, p)
		}
	}
	store := false
	for _, p := range plan {
		store = store || p.res != nil && p.cacheable(final)
	}
	if len(cover) == 1 {
		// One evaluation answers the whole query: its points are the
		// answer, and its final steps are cached as a window onto them.
		if store {
			c.put(key, plan[0].start, plan[0].end, plan[0].res.Value.(promql.Matrix), now.Add(c.opts.TTL))
		}
		return cover[0].res, nil
	}
	if store {
		// The extents at either end join the new one whole, so that a
		// window moving forward keeps one extent.
		if first := plan[0]; first.from != nil && first.from.start < first.start {
			plan = slices.Insert(plan, 0, piece{start: first.from.start, end: first.start - st, from: first.from})
		}
		if last := plan[len(plan)-1]; last.from != nil && last.from.end > last.end {
			plan = append(plan, piece{start: last.end + st, end: last.from.end, from: last.from})
		}
	}
	joined := join(plan)
	if store {
		for run := 0; run < len(plan); {
			next := run
			evaluated := false
			for next < len(plan) && plan[next].cacheable(final) {
				evaluated = evaluated || plan[next].res != nil
				next++
			}
			if evaluated {
				c.put(key, plan[run].start, plan[next-1].end, window(joined, plan[run].start, plan[next-1].end), expiry(plan[run:next], now.Add(c.opts.TTL)))
			}
			run = next + 1
		}
	}
	return &promql.Result{Value: window(joined, s, e), Warnings: notes}, nil
}

// window is the piece of p's evaluated answer from s to e, sharing its
// points.
func (p *piece) window(s, e int64) piece {
	return piece{start: s, end: e, res: &promql.Result{Value: window(p.res.Value.(promql.Matrix), s, e), Warnings: p.res.Warnings}}
}

// cacheable reports whether p may be kept: it is cached already, or it
// ends by the last final step and its evaluation had nothing to say.
func (p *piece) cacheable(final int64) bool {
	return p.from != nil || p.end <= final && len(p.res.Warnings) == 0
}

// evaluate runs the Source on the pieces one after the other: evaluating
// them at once on this two-core machine was measured slower (BENCHMARKS.md).
func (c *Cache) evaluate(ctx context.Context, expr string, todo []*piece, step time.Duration) error {
	for _, p := range todo {
		res, err := c.Source.QueryRange(ctx, expr, timestamp.Time(p.start), timestamp.Time(p.end), step)
		if err != nil {
			return err
		}
		p.res = res
	}
	return nil
}

// join concatenates the pieces' series in time, sorted by labels as the
// engine sorts a range query's answer.
func join(plan []piece) promql.Matrix {
	mats := make([]promql.Matrix, len(plan))
	for i, p := range plan {
		if p.from != nil {
			mats[i] = p.from.slice(p.start, p.end)
		} else {
			mats[i] = p.res.Value.(promql.Matrix)
		}
	}
	out := promql.Matrix{}
	byHash := make(map[uint64][]int)
	index := func(l labels.Labels) int {
		h := l.Hash()
		for _, i := range byHash[h] {
			if labels.Equal(out[i].Metric, l) {
				return i
			}
		}
		out = append(out, promql.Series{Metric: l})
		byHash[h] = append(byHash[h], len(out)-1)
		return len(out) - 1
	}
	at := make([][]int, len(mats)) // the index in out of each series
	var floats, hists []int
	for m, mat := range mats {
		at[m] = make([]int, len(mat))
		for k, sr := range mat {
			i := index(sr.Metric)
			at[m][k] = i
			if i == len(floats) {
				floats, hists = append(floats, 0), append(hists, 0)
			}
			floats[i] += len(sr.Floats)
			hists[i] += len(sr.Histograms)
			out[i].DropName = sr.DropName
		}
	}
	for i := range out {
		if floats[i] > 0 {
			out[i].Floats = make([]promql.FPoint, 0, floats[i])
		}
		if hists[i] > 0 {
			out[i].Histograms = make([]promql.HPoint, 0, hists[i])
		}
	}
	for m, mat := range mats {
		for k, sr := range mat {
			o := &out[at[m][k]]
			o.Floats = append(o.Floats, sr.Floats...)
			o.Histograms = append(o.Histograms, sr.Histograms...)
		}
	}
	sort.Sort(out)
	return out
}

// window returns the points of m from s to e, sharing them: m itself
// when it has no others.
func window(m promql.Matrix, s, e int64) promql.Matrix {
	inside := true
	for _, sr := range m {
		if len(sr.Floats) > 0 && (sr.Floats[0].T < s || sr.Floats[len(sr.Floats)-1].T > e) ||
			len(sr.Histograms) > 0 && (sr.Histograms[0].T < s || sr.Histograms[len(sr.Histograms)-1].T > e) {
			inside = false
			break
		}
	}
	if inside {
		return m
	}
	out := make(promql.Matrix, 0, len(m))
	for _, sr := range m {
		fs := between(sr.Floats, func(p promql.FPoint) int64 { return p.T }, s, e)
		hs := between(sr.Histograms, func(p promql.HPoint) int64 { return p.T }, s, e)
		if len(fs)+len(hs) > 0 {
			out = append(out, promql.Series{Metric: sr.Metric, Floats: fs, Histograms: hs, DropName: sr.DropName})
		}
	}
	return out
}

// expiry is when an extent joined from run expires: with the oldest cached
// points it holds, so that joining a moving window's new tail never keeps
// points past their TTL (a series backfilled into the past would otherwise
// stay unseen for as long as the window keeps moving).
func expiry(run []piece, fresh time.Time) time.Time {
	at := fresh
	for _, p := range run {
		if p.from != nil && p.from.expires.Before(at) {
			at = p.from.expires
		}
	}
	return at
}

// put caches m as the extent of key from s to e, in place of the extents
// it covers, until expires.
func (c *Cache) put(key gridKey, s, e int64, m promql.Matrix, expires time.Time) {
	x := &extent{key: key, start: s, end: e, series: m, size: resultSize(m), expires: expires}
	if x.size > c.opts.MaxBytes {
		return // would evict everything and still not fit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, old := range slices.Clone(c.extents[key]) {
		if old.start >= s && old.end <= e {
			c.remove(old)
		}
	}
	x.el = c.lru.PushFront(x)
	c.extents[key] = append(c.extents[key], x)
	c.bytes += x.size
	for c.bytes > c.opts.MaxBytes {
		c.remove(c.lru.Back().Value.(*extent))
	}
}

// remove drops x; c.mu is held.
func (c *Cache) remove(x *extent) {
	c.lru.Remove(x.el)
	xs := slices.DeleteFunc(c.extents[x.key], func(y *extent) bool { return y == x })
	if len(xs) == 0 {
		delete(c.extents, x.key)
	} else {
		c.extents[x.key] = xs
	}
	c.bytes -= x.size
}

// cover returns the pieces that make up the steps from s to e of key's
// grid: runs of cached extents, and the gaps between them.
func (c *Cache) cover(key gridKey, s, e int64, now time.Time) []piece {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range slices.Clone(c.extents[key]) {
		if now.After(x.expires) {
			c.remove(x)
		}
	}
	exts := c.extents[key]
	var out []piece
	for pos := s; pos <= e; {
		// The extent covering pos that reaches furthest, else the gap up
		// to the next extent.
		var best *extent
		next := e + key.step
		for _, x := range exts {
			if x.start <= pos && x.end >= pos && (best == nil || x.end > best.end) {
				best = x
			}
			if x.start > pos && x.start < next {
				next = x.start
			}
		}
		if best == nil {
			out = append(out, piece{start: pos, end: next - key.step})
			pos = next
			continue
		}
		c.lru.MoveToFront(best.el)
		to := min(best.end, e)
		out = append(out, piece{start: pos, end: to, from: best})
		pos = to + key.step
	}
	return out
}

// slice returns the points of x from s to e, sharing them.
func (x *extent) slice(s, e int64) promql.Matrix {
	if s <= x.start && e >= x.end {
		return x.series
	}
	return window(x.series, s, e)
}

// between returns the points of ps (sorted by time) from s to e, sharing
// them but with no room to append into.
func between[P any](ps []P, t func(P) int64, s, e int64) []P {
	i := sort.Search(len(ps), func(i int) bool { return t(ps[i]) >= s })
	j := sort.Search(len(ps), func(i int) bool { return t(ps[i]) > e })
	if i == j {
		return nil
	}
	return ps[i:j:j]
}

// shape is what a query's expression says about how it may be split and
// cached.
type shape struct {
	// lookahead is how far past a step the query may read, in ms: the sum
	// of its negative offsets.
	lookahead int64
	// latestAt is the latest fixed @ timestamp, in ms; math.MinInt64 when
	// there is none.
	latestAt int64
}

// shapeOf reports how expr may be split, and false when it must be
// evaluated whole: it does not parse here, uses @ start() or @ end()
// (whose value depends on the range asked), or uses a duration expression.
func shapeOf(expr string) (shape, bool) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return shape{}, false
	}
	sh, ok := shape{latestAt: math.MinInt64}, true
	at := func(offset time.Duration, ts *int64, startOrEnd parser.ItemType, offsetExpr *parser.DurationExpr) {
		if startOrEnd != 0 || offsetExpr != nil {
			ok = false
		}
		if offset < 0 {
			sh.lookahead += -offset.Milliseconds()
		}
		if ts != nil {
			sh.latestAt = max(sh.latestAt, *ts)
		}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			at(n.OriginalOffset, n.Timestamp, n.StartOrEnd, n.OriginalOffsetExpr)
		case *parser.MatrixSelector:
			if n.RangeExpr != nil {
				ok = false
			}
		case *parser.SubqueryExpr:
			at(n.OriginalOffset, n.Timestamp, n.StartOrEnd, n.OriginalOffsetExpr)
			if n.RangeExpr != nil || n.StepExpr != nil {
				ok = false
			}
		}
		return nil
	})
	return sh, ok
}

// Len reports the number of cached extents.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// resultSize estimates the memory a matrix holds: 16 bytes a float point,
// the label bytes of each series and a fixed overhead per series. Native
// histogram points are counted at a flat 256 bytes.
func resultSize(m promql.Matrix) int64 {
	const seriesOverhead, histogramPoint = 96, 256
	size := int64(0)
	for _, s := range m {
		size += seriesOverhead + int64(len(s.Metric.Bytes(nil))) + 16*int64(len(s.Floats)) + histogramPoint*int64(len(s.Histograms))
	}
	return size
}
