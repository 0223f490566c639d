package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// StoreOptions configures the embedded store. The zero value means the
// documented defaults.
type StoreOptions struct {
	// Retention is how long samples are kept. Default 30 days.
	Retention time.Duration
	// QueryTimeout bounds one query's evaluation. Default 2 minutes, as
	// Prometheus's --query.timeout.
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may hold in memory at once.
	// Default 50,000,000, as Prometheus's --query.max-samples.
	MaxSamples int
	// LookbackDelta is how far back an instant selector looks for a
	// sample. Default 5 minutes.
	LookbackDelta time.Duration
	// MaxConcurrentQueries bounds the queries evaluated at once; the others
	// wait (and time out). Default 20, as Prometheus's
	// --query.max-concurrency.
	MaxConcurrentQueries int
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 2 * time.Minute
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = 50_000_000
	}
	if o.LookbackDelta <= 0 {
		o.LookbackDelta = 5 * time.Minute
	}
	if o.MaxConcurrentQueries <= 0 {
		o.MaxConcurrentQueries = 20
	}
	return o
}

// Store is the embedded time-series store: a Prometheus TSDB in
// <dataDir>/metrics queried with the PromQL engine. It implements [Source]
// and storage.Appendable.
type Store struct {
	db     *tsdb.DB
	opts   StoreOptions // with defaults applied
	engine *promql.Engine
	logger *slog.Logger
	// slots bounds concurrent queries; Prometheus does the same with its
	// active query tracker, which needs a file of its own.
	slots chan struct{}

	mu   sync.RWMutex
	meta map[string]metadata.Metadata // by metric family name

	// appended tells a [Cache] in front of the store which steps of a
	// cached answer newer samples may have changed.
	appended appendLog
}

// Open opens (creating it if needed) the store in <dataDir>/metrics and
// replays its write-ahead log, so samples committed before a crash or a
// clean shutdown are queryable again.
func Open(dataDir string, opts StoreOptions, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	opts = opts.withDefaults()
	dir := filepath.Join(dataDir, "metrics")
	topts := tsdb.DefaultOptions()
	topts.RetentionDuration = opts.Retention.Milliseconds()
	db, err := tsdb.Open(dir, logger.With("component", "tsdb"), reg, topts, nil)
	if err != nil {
		return nil, fmt.Errorf("open metrics store %s: %w", dir, err)
	}
	engine := newEngine(opts, logger, reg)
	return &Store{
		db:     db,
		opts:   opts,
		engine: engine,
		logger: logger,
		slots:  make(chan struct{}, opts.MaxConcurrentQueries),
		meta:   make(map[string]metadata.Metadata),
	}, nil
}

// newEngine is the store's PromQL engine, with opts' limits.
func newEngine(opts StoreOptions, logger *slog.Logger, reg prometheus.Registerer) *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "promql"),
		Reg:                  reg,
		MaxSamples:           opts.MaxSamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        opts.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		// Without it a subquery with no step ([1h:]) fails to evaluate;
		// Prometheus uses its global evaluation interval, ours is the
		// collector's default.
		NoStepSubqueryIntervalFn: func(int64) int64 { return (10 * time.Second).Milliseconds() },
	})
}

// Close writes the head to disk and closes the store. Samples committed
// before Close are in the WAL or a block and are found again by [Open].
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close metrics store: %w", err)
	}
	return nil
}

// Appender returns an appender for one batch of samples; nothing is visible
// to queries or durable until its Commit. Metadata given to UpdateMetadata
// is kept in memory for [Store.Metadata] (the TSDB does not index it).
func (s *Store) Appender(ctx context.Context) storage.Appender {
	return &appender{Appender: s.db.Appender(ctx), store: s, oldest: math.MaxInt64}
}

// appender is the TSDB's appender, keeping the metadata it is given and
// the oldest timestamp of the samples it added, which Commit hands to the
// store's appendLog. Every sample reaches the store through it: the
// collector's scrapes, remote write, rule output; floats, stale markers,
// histograms, out-of-order samples and created-timestamp zeros.
type appender struct {
	storage.Appender
	store   *Store
	pending map[string]metadata.Metadata
	oldest  int64 // ms; math.MaxInt64 while nothing was added
}

// added notes a sample at t that the TSDB accepted: one it refused does
// not change any answer, and counting it would make a cache re-evaluate
// for nothing.
func (a *appender) added(ref storage.SeriesRef, t int64, err error) (storage.SeriesRef, error) {
	if err == nil {
		a.oldest = min(a.oldest, t)
	}
	return ref, err
}

func (a *appender) Append(ref storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	ref, err := a.Appender.Append(ref, l, t, v)
	return a.added(ref, t, err)
}

func (a *appender) AppendHistogram(ref storage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendHistogram(ref, l, t, h, fh)
	return a.added(ref, t, err)
}

func (a *appender) AppendSTZeroSample(ref storage.SeriesRef, l labels.Labels, t, st int64) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendSTZeroSample(ref, l, t, st)
	return a.added(ref, st, err)
}

func (a *appender) AppendHistogramSTZeroSample(ref storage.SeriesRef, l labels.Labels, t, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendHistogramSTZeroSample(ref, l, t, st, h, fh)
	return a.added(ref, st, err)
}

func (a *appender) UpdateMetadata(ref storage.SeriesRef, l labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	ref, err := a.Appender.UpdateMetadata(ref, l, m)
	if err != nil {
		return ref, err
	}
	if a.pending == nil {
		a.pending = make(map[string]metadata.Metadata)
	}
	a.pending[familyName(l.Get(model.MetricNameLabel), m.Type)] = m
	return ref, nil
}

// familyName is the metric family a series belongs to, the name /api/v1/metadata lists as
// Prometheus does: a histogram's foo_bucket, foo_sum and foo_count series are family foo.
func familyName(series string, typ model.MetricType) string {
	var suffixes []string
	switch typ {
	case model.MetricTypeHistogram, model.MetricTypeGaugeHistogram:
		suffixes = []string{"_bucket", "_sum", "_count", "_created", "_gsum", "_gcount"}
	case model.MetricTypeSummary:
		suffixes = []string{"_sum", "_count", "_created"}
	case model.MetricTypeCounter:
		suffixes = []string{"_created"}
	}
	for _, s := range suffixes {
		if family, ok := strings.CutSuffix(series, s); ok {
			return family
		}
	}
	return series
}

func (a *appender) Commit() error {
	err := a.Appender.Commit()
	// Recorded once the samples are visible, so that a query marked before
	// this point finds them in the log, and one marked after it reads them;
	// recorded on an error too, since part of the batch may have been
	// committed.
	if a.oldest != math.MaxInt64 {
		a.store.appended.add(a.oldest)
	}
	if err != nil {
		return err
	}
	if len(a.pending) > 0 {
		a.store.mu.Lock()
		for name, m := range a.pending {
			a.store.meta[name] = m
		}
		a.store.mu.Unlock()
	}
	return nil
}

// SetMetadata records the metadata of a metric family, as a remote-write
// sender reports it. Like the metadata given to appenders, it is kept in
// memory only: senders send it again at an interval (Prometheus every
// minute), and the TSDB keeps none that can be read back.
func (s *Store) SetMetadata(family string, m metadata.Metadata) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[family] = m
}

// Stats are the head's statistics, for /api/v1/status/tsdb.
func (s *Store) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return s.db.Head().Stats(statsByLabelName, limit), nil
}

// Flags are the store's settings under the names of the Prometheus flags
// that set them, for /api/v1/status/flags.
func (s *Store) Flags() map[string]string {
	return map[string]string{
		"storage.tsdb.retention.time": model.Duration(s.opts.Retention).String(),
		"query.timeout":               model.Duration(s.opts.QueryTimeout).String(),
		"query.max-samples":           strconv.Itoa(s.opts.MaxSamples),
		"query.lookback-delta":        model.Duration(s.opts.LookbackDelta).String(),
		"query.max-concurrency":       strconv.Itoa(s.opts.MaxConcurrentQueries),
	}
}

// acquire waits for a query slot; release it with the returned function.
func (s *Store) acquire(ctx context.Context) (func(), error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-ctx.Done():
		return nil, &Error{Kind: kindOf(ctx.Err()), Err: fmt.Errorf("waiting for a query slot: %w", ctx.Err())}
	}
}

// Querier implements storage.Queryable, for readers of raw series such as the rule engine's
// restoring of alerts' `for` state.
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	return s.db.Querier(mint, maxt)
}

// Query implements [Source].
func (s *Store) Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error) {
	q, err := s.engine.NewInstantQuery(ctx, s.db, nil, expr, ts)
	if err != nil {
		return nil, badQuery(err)
	}
	return s.exec(ctx, q)
}

// QueryRange implements [Source].
func (s *Store) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	if step <= 0 {
		return nil, &Error{Kind: KindBadData, Err: fmt.Errorf("zero or negative query resolution step widths are not accepted")}
	}
	if end.Before(start) {
		return nil, &Error{Kind: KindBadData, Err: fmt.Errorf("end timestamp must not be before start time")}
	}
	q, err := s.engine.NewRangeQuery(ctx, s.db, nil, expr, start, end, step)
	if err != nil {
		return nil, badQuery(err)
	}
	return s.exec(ctx, q)
}

// exec runs q. The query is deliberately not closed: Close returns the
// result's points to the engine's pools, and the result is handed to the
// caller (and may be cached), so the garbage collector owns them instead.
func (s *Store) exec(ctx context.Context, q promql.Query) (*promql.Result, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	res := s.execWindows(ctx, q)
	if res == nil {
		res = q.Exec(ctx)
	}
	if res.Err != nil {
		return nil, &Error{Kind: kindOf(res.Err), Err: res.Err}
	}
	return res, nil
}

// badQuery reports a query the engine could not parse in the words of
// Prometheus's API, so clients see the same text from every source.
func badQuery(err error) error {
	return &Error{Kind: KindBadData, Err: fmt.Errorf("invalid parameter %q: %w", "query", err)}
}

func parseSelectors(selectors []string) ([][]*labels.Matcher, error) {
	sets, err := parser.ParseMetricSelectors(selectors)
	if err != nil {
		return nil, &Error{Kind: KindBadData, Err: err}
	}
	return sets, nil
}

func (s *Store) querier(start, end time.Time) (storage.Querier, error) {
	q, err := s.db.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("open querier: %w", err)}
	}
	return q, nil
}

// Series implements [Source].
func (s *Store) Series(ctx context.Context, selectors []string, start, end time.Time) ([]labels.Labels, error) {
	sets, err := parseSelectors(selectors)
	if err != nil {
		return nil, err
	}
	q, err := s.querier(start, end)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: timestamp.FromTime(start), End: timestamp.FromTime(end), Func: "series"}
	seen := make(map[uint64]struct{})
	var out []labels.Labels
	for _, ms := range sets {
		ss := q.Select(ctx, false, hints, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			h := l.Hash()
			if _, ok := seen[h]; ok {
				continue
			}
			seen[h] = struct{}{}
			out = append(out, l)
		}
		if err := ss.Err(); err != nil {
			return nil, &Error{Kind: kindOf(err), Err: fmt.Errorf("select series: %w", err)}
		}
	}
	slices.SortFunc(out, labels.Compare)
	return out, nil
}

// LabelNames implements [Source].
func (s *Store) LabelNames(ctx context.Context, selectors []string, start, end time.Time) ([]string, error) {
	return s.labelQuery(ctx, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		names, _, err := q.LabelNames(ctx, nil, ms...)
		return names, err
	})
}

// LabelValues implements [Source].
func (s *Store) LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) ([]string, error) {
	return s.labelQuery(ctx, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		vals, _, err := q.LabelValues(ctx, name, nil, ms...)
		return vals, err
	})
}

// labelQuery runs get once without matchers, or once per selector, and
// returns the sorted union.
func (s *Store) labelQuery(_ context.Context, selectors []string, start, end time.Time, get func(storage.Querier, []*labels.Matcher) ([]string, error)) ([]string, error) {
	sets, err := parseSelectors(selectors)
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	q, err := s.querier(start, end)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	var out []string
	for _, ms := range sets {
		vals, err := get(q, ms)
		if err != nil {
			return nil, &Error{Kind: kindOf(err), Err: fmt.Errorf("label query: %w", err)}
		}
		out = append(out, vals...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Metadata implements [Source]. It knows the metadata given to appenders
// and to SetMetadata since Open: the TSDB keeps none that can be read back.
func (s *Store) Metadata(_ context.Context, metric string, limit int) (map[string][]metadata.Metadata, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string][]metadata.Metadata)
	if metric != "" {
		if m, ok := s.meta[metric]; ok {
			out[metric] = []metadata.Metadata{m}
		}
		return out, nil
	}
	for name, m := range s.meta {
		if limit > 0 && len(out) >= limit {
			break
		}
		out[name] = []metadata.Metadata{m}
	}
	return out, nil
}
