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
	// MaxFreshness is how close to now a step may be and still be cached
	// when the Source is not an [AppendLog] (a remote server): samples for
	// the last minutes may still arrive (late remote writes, the
	// lookback), so later steps are evaluated on every query. It also
	// bounds an AppendLog's extents whose mark the log no longer reaches.
	// Default 10 minutes, as Mimir's -query-frontend.max-cache-freshness.
	MaxFreshness time.Duration
	// TTL is how long a cached extent is reused, bounding how long a
	// change that is not an append can go unseen (samples dropped by
	// retention) and, when the Source is not an AppendLog, a series
	// written later into the past. Default 1 hour.
	TTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// AppendLog is implemented by a Source that knows what was appended to it
// lately, as the embedded [Store] does. A [Cache] in front of one caches
// every step it evaluates, however recent, and re-evaluates only the steps
// that samples committed since could have changed, instead of never
// caching the last MaxFreshness.
type AppendLog interface {
	// Mark returns the log's current position.
	Mark() int64
	// AppendedSince returns the oldest timestamp (ms) of the samples
	// committed since Mark returned mark (some committed a little earlier
	// may count too), math.MaxInt64 when there are none, and known false
	// when the log no longer reaches back to mark.
	AppendedSince(mark int64) (oldest int64, known bool)
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
// only queries on the same grid of timestamps share them. Pieces whose
// evaluation produced warnings or infos are not cached (their set for a
// sub-range could differ).
//
// Which cached steps are still the Source's answer: when the Source is an
// [AppendLog], every step before the oldest sample committed since the
// extent was evaluated (less the reach of negative offsets; all of them
// when a fixed @ time reads that sample), since a sample at m is read only
// by steps at or after m: by their lookback or range window, or as a later
// sample of a new series. Otherwise, the steps older than MaxFreshness,
// and only those are cached.
//
// A series' points are kept in a column that successive extents of a
// moving window share: a reload appends its new steps after the cached
// ones, and its answer is a slice of the column, so only the new points
// are copied. Points in a column are written once and never changed;
// cached results are shared and must not be modified.
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
	at         []place // where each series' points lie
	// mark is the Source's AppendLog position taken before the newest of
	// these points were evaluated and the older ones last checked.
	mark    int64
	size    int64
	expires time.Time
	el      *list.Element
}

// column holds one series' points for successive extents of a window that
// moves forward, so that the points of newly evaluated steps are appended
// to the cached ones rather than both copied into a new slice at every
// reload. Its length is a high-water mark: points below it may be shared
// by extents and answers and are never written again; a query reserves
// room past it under Cache.mu, writes there, where no one else looks, and
// only then publishes the extent that holds the new points.
type column struct {
	floats []promql.FPoint
	hists  []promql.HPoint
}

// place is where a series' points start in its column.
type place struct {
	col  *column
	f, h int
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
	valid      int64          // with from, its last step still valid
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
	// Without an append log, the last instant whose steps are taken as
	// final: they read no sample newer than now - MaxFreshness.
	bound := timestamp.FromTime(now.Add(-c.opts.MaxFreshness)) - sh.lookahead
	log, logged := c.Source.(AppendLog)
	var mark int64
	if logged {
		// Taken before the extents are checked and the gaps evaluated, so
		// that whatever either of them missed is after it in the log.
		mark = log.Mark()
	} else if sh.latestAt > bound {
		return c.Source.QueryRange(ctx, expr, start, end, step)
	}
	key := gridKey{expr: expr, step: st, offset: ((s % st) + st) % st}
	final := e // the last step that may be cached
	if !logged {
		if bound < s {
			final = s - st
		} else {
			final = s + (bound-s)/st*st
		}
	}

	cover := c.cover(key, s, e, now, func(x *extent) int64 { return lastValid(x, sh, bound, log) })
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
		// answer, and its cacheable steps are cached as a window onto them.
		if store {
			m := cover[0].res.Value.(promql.Matrix)
			part, at := cut(m, own(m), plan[0].start, plan[0].end)
			c.put(key, plan[0].start, plan[0].end, part, at, mark, now.Add(c.opts.TTL))
		}
		return cover[0].res, nil
	}
	if store {
		// The extents at either end join the new one whole (as far as
		// they are valid), so that a window moving forward keeps one
		// extent, and its columns.
		if first := &plan[0]; first.from != nil && first.from.start < first.start {
			first.start = first.from.start
		}
		if last := &plan[len(plan)-1]; last.from != nil && last.valid > last.end {
			last.end = last.valid
		}
	}
	joined, at := c.join(plan, logged)
	if store {
		for run := 0; run < len(plan); {
			next := run
			evaluated := false
			for next < len(plan) && plan[next].cacheable(final) {
				evaluated = evaluated || plan[next].res != nil
				next++
			}
			if evaluated {
				part, partAt := cut(joined, at, plan[run].start, plan[next-1].end)
				c.put(key, plan[run].start, plan[next-1].end, part, partAt, mark, expiry(plan[run:next], now.Add(c.opts.TTL)))
			}
			run = next + 1
		}
	}
	return &promql.Result{Value: window(joined, s, e), Warnings: notes}, nil
}

// lastValid returns the last step of x whose cached answer is still the
// Source's, x.start - step when none is. With an append log that reaches
// back to x's mark, that is the last step before the oldest sample
// committed since, less the reach of negative offsets: a sample at m is
// read only by the steps from m - lookahead on, or by all of them when a
// fixed @ time reads it. Otherwise it is the freshness bound.
func lastValid(x *extent, sh shape, bound int64, log AppendLog) int64 {
	last := bound
	if sh.latestAt > bound {
		last = math.MinInt64
	}
	if log != nil {
		if oldest, known := log.AppendedSince(x.mark); known {
			last = oldest - sh.lookahead - 1
			if oldest-sh.lookahead <= sh.latestAt {
				last = math.MinInt64
			}
		}
	}
	switch {
	case last >= x.end:
		return x.end
	case last < x.start:
		return x.start - x.key.step
	}
	return x.start + (last-x.start)/x.key.step*x.key.step
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

// segment is a series' points in one piece, and for cached points where
// they lie in their column (col nil for evaluated ones).
type segment struct {
	fs []promql.FPoint
	hs []promql.HPoint
	at place
}

// join concatenates the pieces' series in time, sorted by labels as the
// engine sorts a range query's answer, and returns where each series'
// points lie. A series whose first points are cached, end their column and
// have room after them gets its later points appended there, so that a
// moving window's reload copies only its new steps; any other series
// made of several pieces is copied into a new column, given room to grow
// when grow is true (in front of an append log, whose reloads append).
func (c *Cache) join(plan []piece, grow bool) (promql.Matrix, []place) {
	out := promql.Matrix{}
	var segs [][]segment
	// A series has a segment in each piece at most: its slice of them is
	// cut from a shared array, allocated for up to 256 series at a time,
	// rather than grown on its own.
	var room []segment
	most := 0
	for _, p := range plan {
		if p.from != nil {
			most = max(most, len(p.from.series))
		} else {
			most = max(most, len(p.res.Value.(promql.Matrix)))
		}
	}
	most = min(most, 256)
	byHash := make(map[uint64][]int)
	index := func(sr promql.Series) int {
		h := sr.Metric.Hash()
		for _, i := range byHash[h] {
			if labels.Equal(out[i].Metric, sr.Metric) {
				out[i].DropName = sr.DropName
				return i
			}
		}
		out = append(out, promql.Series{Metric: sr.Metric, DropName: sr.DropName})
		if len(room) < len(plan) {
			room = make([]segment, most*len(plan))
		}
		segs, room = append(segs, room[:0:len(plan)]), room[len(plan):]
		byHash[h] = append(byHash[h], len(out)-1)
		return len(out) - 1
	}
	for _, p := range plan {
		if x := p.from; x != nil {
			for k, sr := range x.series {
				f0, f1 := bounds(sr.Floats, fpointT, p.start, p.end)
				h0, h1 := bounds(sr.Histograms, hpointT, p.start, p.end)
				if f0 == f1 && h0 == h1 {
					continue
				}
				i := index(sr)
				segs[i] = append(segs[i], segment{sr.Floats[f0:f1:f1], sr.Histograms[h0:h1:h1], place{x.at[k].col, x.at[k].f + f0, x.at[k].h + h0}})
			}
			continue
		}
		for _, sr := range p.res.Value.(promql.Matrix) {
			i := index(sr)
			segs[i] = append(segs[i], segment{fs: sr.Floats, hs: sr.Histograms})
		}
	}

	// Reserve the room to append in, under the lock that orders the
	// reservations of concurrent queries: a column's length only grows,
	// and only the query that moved it writes past the old one.
	fdst := make([][]promql.FPoint, len(out))
	hdst := make([][]promql.HPoint, len(out))
	at := make([]place, len(out))
	// Whether a series' cached points end before their column does: those
	// after them are stale, and a new column for it gets no room, since
	// what made them stale (a writer's delay, a panel ending past the
	// newest sample) will likely do so again at the next reload.
	stale := make([]bool, len(out))
	c.mu.Lock()
	for i, ss := range segs {
		first := ss[0]
		col := first.at.col
		if len(ss) == 1 || col == nil {
			continue
		}
		nf, nh := 0, 0
		for _, sg := range ss[1:] {
			nf, nh = nf+len(sg.fs), nh+len(sg.hs)
		}
		fEnd, hEnd := first.at.f+len(first.fs), first.at.h+len(first.hs)
		if fEnd != len(col.floats) || hEnd != len(col.hists) {
			stale[i] = true
			continue
		}
		if cap(col.floats)-fEnd < nf || cap(col.hists)-hEnd < nh {
			continue
		}
		col.floats, col.hists = col.floats[:fEnd+nf], col.hists[:hEnd+nh]
		fdst[i], hdst[i] = col.floats[first.at.f:fEnd+nf:fEnd+nf], col.hists[first.at.h:hEnd+nh:hEnd+nh]
		at[i] = first.at
	}
	c.mu.Unlock()

	for i, ss := range segs {
		switch {
		case at[i].col != nil:
			out[i].Floats, out[i].Histograms = concat(fdst[i], ss, len(ss[0].fs), segmentFloats), concat(hdst[i], ss, len(ss[0].hs), segmentHists)
		case len(ss) == 1:
			out[i].Floats, out[i].Histograms = ss[0].fs, ss[0].hs
			at[i] = ss[0].at
			if at[i].col == nil {
				at[i] = ownPlace(ss[0].fs, ss[0].hs)
			}
		default:
			col := &column{floats: gather(ss, segmentFloats, grow && !stale[i]), hists: gather(ss, segmentHists, grow && !stale[i])}
			// Without the room, which is the column's to append to.
			out[i].Floats, out[i].Histograms = slices.Clip(col.floats), slices.Clip(col.hists)
			at[i] = place{col: col}
		}
	}
	if sort.IsSorted(out) {
		// As when every piece holds the same series, in the engine's order.
		return out, at
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return labels.Compare(out[order[a]].Metric, out[order[b]].Metric) < 0 })
	sorted, sortedAt := make(promql.Matrix, len(out)), make([]place, len(out))
	for k, i := range order {
		sorted[k], sortedAt[k] = out[i], at[i]
	}
	return sorted, sortedAt
}

func segmentFloats(sg segment) []promql.FPoint { return sg.fs }
func segmentHists(sg segment) []promql.HPoint  { return sg.hs }

// concat writes the points of ss after the first segment's into dst,
// whose first n points are the first segment's already, and returns dst,
// nil when it holds none.
func concat[P any](dst []P, ss []segment, n int, points func(segment) []P) []P {
	for _, sg := range ss[1:] {
		n += copy(dst[n:], points(sg))
	}
	if len(dst) == 0 {
		return nil
	}
	return dst
}

// gather copies the points of ss into a new slice, with a quarter more
// room past its length when grow is true; nil when there are none.
func gather[P any](ss []segment, points func(segment) []P, grow bool) []P {
	n := 0
	for _, sg := range ss {
		n += len(points(sg))
	}
	if n == 0 {
		return nil
	}
	room := 0
	if grow {
		room = n / 4
	}
	out := make([]P, 0, n+room)
	for _, sg := range ss {
		out = append(out, points(sg)...)
	}
	return out
}

// ownPlace is a column of its own for points the cache did not allocate
// (the engine's), with no room: nothing is ever appended to them.
func ownPlace(fs []promql.FPoint, hs []promql.HPoint) place {
	return place{col: &column{floats: slices.Clip(fs), hists: slices.Clip(hs)}}
}

// own returns a column of its own for each series of m, as ownPlace does,
// allocated at once.
func own(m promql.Matrix) []place {
	cols, at := make([]column, len(m)), make([]place, len(m))
	for i, sr := range m {
		cols[i] = column{floats: slices.Clip(sr.Floats), hists: slices.Clip(sr.Histograms)}
		at[i] = place{col: &cols[i]}
	}
	return at
}

// cut returns the series of m that have points from s to e, sharing them,
// and where those lie; at is where m's lie.
func cut(m promql.Matrix, at []place, s, e int64) (promql.Matrix, []place) {
	out, outAt := make(promql.Matrix, 0, len(m)), make([]place, 0, len(m))
	for k, sr := range m {
		f0, f1 := bounds(sr.Floats, fpointT, s, e)
		h0, h1 := bounds(sr.Histograms, hpointT, s, e)
		if f0 == f1 && h0 == h1 {
			continue
		}
		out = append(out, promql.Series{Metric: sr.Metric, Floats: nonEmpty(sr.Floats[f0:f1:f1]), Histograms: nonEmpty(sr.Histograms[h0:h1:h1]), DropName: sr.DropName})
		outAt = append(outAt, place{at[k].col, at[k].f + f0, at[k].h + h0})
	}
	return out, outAt
}

// nonEmpty is ps, or nil when it is empty, as the engine leaves a series
// without points of a kind.
func nonEmpty[P any](ps []P) []P {
	if len(ps) == 0 {
		return nil
	}
	return ps
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
		fs := between(sr.Floats, fpointT, s, e)
		hs := between(sr.Histograms, hpointT, s, e)
		if len(fs)+len(hs) > 0 {
			out = append(out, promql.Series{Metric: sr.Metric, Floats: fs, Histograms: hs, DropName: sr.DropName})
		}
	}
	return out
}

// expiry is when an extent joined from run expires: with the oldest cached
// points it holds, so that joining a moving window's new tail never keeps
// points past their TTL (samples dropped by retention, or, without an
// append log, a series backfilled into the past, would otherwise stay
// unseen for as long as the window keeps moving).
func expiry(run []piece, fresh time.Time) time.Time {
	at := fresh
	for _, p := range run {
		if p.from != nil && p.from.expires.Before(at) {
			at = p.from.expires
		}
	}
	return at
}

// put caches m, whose series lie at at, as the extent of key from s to e
// evaluated after mark, in place of the extents it covers, until expires.
func (c *Cache) put(key gridKey, s, e int64, m promql.Matrix, at []place, mark int64, expires time.Time) {
	x := &extent{key: key, start: s, end: e, series: m, at: at, mark: mark, size: resultSize(m), expires: expires}
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
// grid: runs of cached extents, as far as lastValid says each is valid,
// and the gaps between them. An extent with no valid step left is
// dropped: the samples that made it stale stay in the log.
func (c *Cache) cover(key gridKey, s, e int64, now time.Time, lastValid func(*extent) int64) []piece {
	c.mu.Lock()
	defer c.mu.Unlock()
	type usable struct {
		x   *extent
		end int64
	}
	var exts []usable
	for _, x := range slices.Clone(c.extents[key]) {
		if now.After(x.expires) {
			c.remove(x)
			continue
		}
		end := lastValid(x)
		if end < x.start {
			c.remove(x)
			continue
		}
		exts = append(exts, usable{x, end})
	}
	var out []piece
	for pos := s; pos <= e; {
		// The extent covering pos that reaches furthest, else the gap up
		// to the next extent.
		var best *usable
		next := e + key.step
		for i, u := range exts {
			if u.x.start <= pos && u.end >= pos && (best == nil || u.end > best.end) {
				best = &exts[i]
			}
			if u.x.start > pos && u.x.start < next {
				next = u.x.start
			}
		}
		if best == nil {
			out = append(out, piece{start: pos, end: next - key.step})
			pos = next
			continue
		}
		c.lru.MoveToFront(best.x.el)
		to := min(best.end, e)
		out = append(out, piece{start: pos, end: to, from: best.x, valid: best.end})
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

func fpointT(p promql.FPoint) int64 { return p.T }
func hpointT(p promql.HPoint) int64 { return p.T }

// bounds returns the indexes of the first point of ps (sorted by time) at
// or after s and of the first after e.
func bounds[P any](ps []P, t func(P) int64, s, e int64) (int, int) {
	i, j := locate(ps, t, s, 0), locate(ps, t, e, 1)
	return i, max(i, j)
}

// locate returns the index of the first point of ps (sorted by time) at or
// after x, or after x when past is 1. Points evenly spaced, as a range
// query's answer is but where a series has gaps, are found where their
// spacing puts them, without a binary search whose every probe misses
// the processor's caches: a reload looks up thousands of series.
func locate[P any](ps []P, t func(P) int64, x int64, past int) int {
	n := len(ps)
	if n == 0 {
		return 0
	}
	first, last := t(ps[0]), t(ps[n-1])
	switch {
	case x < first:
		return 0
	case x > last:
		return n
	case first == last:
		return past
	}
	g := int(math.Round(float64(x-first) / float64(last-first) * float64(n-1)))
	if g >= 0 && g < n && t(ps[g]) == x {
		return g + past
	}
	return sort.Search(n, func(i int) bool {
		at := t(ps[i])
		return at > x || at == x && past == 0
	})
}

// between returns the points of ps (sorted by time) from s to e, sharing
// them but with no room to append into.
func between[P any](ps []P, t func(P) int64, s, e int64) []P {
	i, j := bounds(ps, t, s, e)
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
