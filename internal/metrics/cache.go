package metrics

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// CacheOptions configures a [Cache]. The zero value means the documented
// defaults.
type CacheOptions struct {
	// MaxBytes bounds the estimated size of the cached results; the least
	// recently used go first. Default 64 MiB.
	MaxBytes int64
	// FreshTTL is how long a result whose range ends within Recent of now
	// stays cached: new samples keep arriving there. Default 10 s.
	FreshTTL time.Duration
	// TTL is how long any other result stays cached. Default 10 minutes.
	TTL time.Duration
	// Recent is how close to now a range must end to be "fresh". Default
	// 10 minutes (late samples and the 5-minute lookback land there).
	Recent time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Cache is a [Source] that caches range query results of another Source,
// so repeated dashboard loads do not re-run the same query. It aligns a
// range query's start and end down to a multiple of its step (as Grafana
// does) so that loads a few seconds apart share an entry. Only successful
// results are cached; concurrent misses on one key each run the query.
// Cached results are shared and must not be modified.
type Cache struct {
	Source
	opts CacheOptions

	mu      sync.Mutex
	entries map[cacheKey]*list.Element
	lru     list.List // of *cacheEntry, most recently used first
	bytes   int64
}

type cacheKey struct {
	expr       string
	start, end int64 // ms, step-aligned
	step       time.Duration
}

type cacheEntry struct {
	key     cacheKey
	res     *promql.Result
	size    int64
	expires time.Time
}

// NewCache returns a cache in front of src.
func NewCache(src Source, opts CacheOptions) *Cache {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.FreshTTL <= 0 {
		opts.FreshTTL = 10 * time.Second
	}
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.Recent <= 0 {
		opts.Recent = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Cache{Source: src, opts: opts, entries: make(map[cacheKey]*list.Element)}
}

// QueryRange implements [Source] with the cache.
func (c *Cache) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	if step <= 0 || end.Before(start) {
		return c.Source.QueryRange(ctx, expr, start, end, step)
	}
	start, end = start.Truncate(step), end.Truncate(step)
	key := cacheKey{expr: expr, start: start.UnixMilli(), end: end.UnixMilli(), step: step}
	now := c.opts.Now()
	if res, ok := c.get(key, now); ok {
		return res, nil
	}
	res, err := c.Source.QueryRange(ctx, expr, start, end, step)
	if err != nil {
		return nil, err
	}
	ttl := c.opts.TTL
	if end.After(now.Add(-c.opts.Recent)) {
		ttl = c.opts.FreshTTL
	}
	c.put(&cacheEntry{key: key, res: res, size: resultSize(res), expires: now.Add(ttl)})
	return res, nil
}

func (c *Cache) get(key cacheKey, now time.Time) (*promql.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if now.After(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.res, true
}

func (c *Cache) put(e *cacheEntry) {
	if e.size > c.opts.MaxBytes {
		return // would evict everything and still not fit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.bytes += e.size
	for c.bytes > c.opts.MaxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// Len reports the number of cached results.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// resultSize estimates the memory a result holds: 16 bytes a float point,
// the label bytes of each series and a fixed overhead per series. Native
// histogram points are counted at a flat 256 bytes.
func resultSize(res *promql.Result) int64 {
	const seriesOverhead, histogramPoint = 96, 256
	size := int64(len(res.Warnings)) * 64
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return size + seriesOverhead
	}
	for _, s := range m {
		size += seriesOverhead + int64(len(s.Metric.Bytes(nil))) + 16*int64(len(s.Floats)) + histogramPoint*int64(len(s.Histograms))
	}
	return size
}
