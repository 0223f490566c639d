package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
)

// source produces one collection of a target. It adds samples to b and
// returns an error when the collection failed as a whole; b is then
// discarded.
type source interface {
	collect(ctx context.Context, b *batch) error
}

// target is one instance of a job: its labels, where its samples come from,
// and what its previous collection exposed. Only its job's goroutine touches
// it, one collection at a time.
type target struct {
	job, instance string
	labels        labels.Labels // job, instance and configured labels
	src           source
	app           storage.Appendable
	logger        *slog.Logger
	now           func() time.Time
	metrics       *collectorMetrics

	// series is what the last committed collection exposed, by exposition
	// key; the next collection marks those it lacks as stale.
	series map[string]series
	// reportLabels and reportRefs are the label sets and storage
	// references of the report series (up, scrape_duration_seconds, …).
	reportLabels [len(reportSeries)]labels.Labels
	reportRefs   [len(reportSeries)]storage.SeriesRef
	// down is whether the last collection failed, known whether there was
	// one: failures are logged when the state changes, not every interval.
	down, known bool
	// last is the outcome of the last collection, for Collector.Targets.
	last lastCollection
}

// series is a series exposed by a target.
type series struct {
	ref  storage.SeriesRef
	lset labels.Labels
	// meta is the metadata last recorded for the series.
	meta metadata.Metadata
	// stale is whether the series gets a stale marker when it disappears;
	// not for samples with explicit timestamps, as in Prometheus.
	stale bool
}

func newTarget(job, instance string, extra map[string]string, src source, c *Collector) *target {
	b := labels.NewBuilder(labels.FromMap(extra))
	b.Set(model.JobLabel, job)
	b.Set(model.InstanceLabel, instance)
	t := &target{
		job:      job,
		instance: instance,
		labels:   b.Labels(),
		src:      src,
		app:      c.app,
		logger:   c.logger.With("job", job, "instance", instance),
		now:      c.now,
		metrics:  c.metrics,
	}
	for i, r := range reportSeries {
		lb := labels.NewBuilder(t.labels)
		lb.Set(model.MetricNameLabel, r.name)
		t.reportLabels[i] = lb.Labels()
	}
	return t
}

// batch is one collection of one target on its way to an appender.
type batch struct {
	app    storage.Appender
	t      int64 // the collection's timestamp, in milliseconds
	target labels.Labels
	prev   map[string]series
	cur    map[string]series
	// Counts reported as scrape_samples_scraped, …_post_metric_relabeling
	// and scrape_series_added.
	scraped, added, seriesAdded int
	// refused counts samples the storage turned down (out of order, too
	// old, duplicate timestamp); they do not fail the collection.
	refused int
}

// add appends one sample of the series whose exposition text is key. exposed
// gives the series' labels as the target exposed them; it is called only for
// a series new to the target. ts is the exposed timestamp, if any.
func (b *batch) add(key []byte, exposed func() labels.Labels, ts *int64, meta metadata.Metadata,
	appendFn func(storage.SeriesRef, labels.Labels, int64) (storage.SeriesRef, error)) error {
	b.scraped++
	if _, dup := b.cur[string(key)]; dup {
		b.refused++
		return nil
	}
	// A copy: prev must stay as committed in case this batch is rolled back.
	s, known := b.prev[string(key)]
	if !known {
		s = series{lset: withTargetLabels(exposed(), b.target)}
	}
	t := b.t
	if ts != nil {
		t = *ts
	}
	ref, err := appendFn(s.ref, s.lset, t)
	switch {
	case refused(err):
		b.refused++
		return nil
	case err != nil:
		return fmt.Errorf("append %s: %w", s.lset, err)
	}
	s.ref, s.stale = ref, ts == nil
	b.added++
	if !known {
		b.seriesAdded++
	}
	// The store keeps metadata in memory per metric name, so one update when
	// the series appears or its family's metadata changes is enough.
	if meta.Type != "" && meta != s.meta {
		if _, err := b.app.UpdateMetadata(ref, s.lset, meta); err != nil {
			return fmt.Errorf("record metadata of %s: %w", s.lset, err)
		}
		s.meta = meta
	}
	b.cur[string(key)] = s
	return nil
}

func (b *batch) addFloat(key []byte, exposed func() labels.Labels, ts *int64, v float64, meta metadata.Metadata) error {
	return b.add(key, exposed, ts, meta, func(ref storage.SeriesRef, l labels.Labels, t int64) (storage.SeriesRef, error) {
		return b.app.Append(ref, l, t, v)
	})
}

// markStale appends a stale marker to every series of the previous
// collection that this one lacks.
func (b *batch) markStale() error {
	staleNaN := math.Float64frombits(value.StaleNaN)
	for key, s := range b.prev {
		if _, ok := b.cur[key]; ok || !s.stale {
			continue
		}
		if _, err := b.app.Append(s.ref, s.lset, b.t, staleNaN); err != nil && !refused(err) {
			return fmt.Errorf("mark %s stale: %w", s.lset, err)
		}
	}
	return nil
}

// refused says whether err is the storage turning down one sample, which
// Prometheus counts and logs but does not treat as a failed scrape.
func refused(err error) bool {
	return errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
		errors.Is(err, storage.ErrTooOldSample) || errors.Is(err, storage.ErrDuplicateSampleForTimestamp)
}

// withTargetLabels adds the target's labels to an exposed label set as
// Prometheus does with honor_labels false: the target's win, and an exposed
// label they replace is kept as exported_<name> (exported_exported_<name> if
// that is taken too).
func withTargetLabels(exposed, target labels.Labels) labels.Labels {
	lb := labels.NewBuilder(exposed)
	var clashes []labels.Label
	target.Range(func(l labels.Label) {
		if v := exposed.Get(l.Name); v != "" {
			clashes = append(clashes, labels.Label{Name: l.Name, Value: v})
		}
		lb.Set(l.Name, l.Value)
	})
	// Shorter names first, as Prometheus resolves them, so the result does
	// not depend on the order of the target's labels.
	slices.SortStableFunc(clashes, func(a, b labels.Label) int { return len(a.Name) - len(b.Name) })
	for _, l := range clashes {
		name := l.Name
		for {
			name = model.ExportedLabelPrefix + name
			if lb.Get(name) == "" {
				lb.Set(name, l.Value)
				break
			}
		}
	}
	return lb.Labels()
}

// reportSeries are the series Prometheus appends for every scrape, with its
// help texts.
var reportSeries = [...]struct {
	name string
	meta metadata.Metadata
}{
	{"up", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Health of the scrape target. 1 means the target is healthy, 0 if the scrape failed."}},
	{"scrape_duration_seconds", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Duration of the last scrape in seconds.", Unit: "seconds"}},
	{"scrape_samples_scraped", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Number of samples last scraped."}},
	{"scrape_samples_post_metric_relabeling", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Number of samples remaining after metric relabeling was applied."}},
	{"scrape_series_added", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Number of series in the last scrape."}},
}

// collect runs one collection of the target and commits it.
func (t *target) collect(ctx context.Context) {
	start := t.now()
	b := t.newBatch(ctx, start)
	err := t.src.collect(ctx, b)
	if err != nil {
		rollback(b.app, t.logger)
		if ctx.Err() != nil {
			// Interrupted by shutdown: not the target's failure, and a
			// restart resumes its series, so nothing is written.
			return
		}
		failed := t.newBatch(ctx, start)
		failed.scraped, failed.added, failed.seriesAdded = b.scraped, b.added, b.seriesAdded
		b = failed
	}
	if b.refused > 0 {
		t.logger.Debug("storage refused samples (duplicate, out of order or too old)", "count", b.refused)
	}
	took := t.now().Sub(start)
	if serr := t.finish(b, took, err); serr != nil {
		rollback(b.app, t.logger)
		t.logger.Error("record collection", "err", serr)
		t.metrics.failures.WithLabelValues(t.job).Inc()
		t.last.set(start, took, serr)
		return
	}
	t.series = b.cur
	t.metrics.collections.WithLabelValues(t.job).Inc()
	if err != nil {
		t.metrics.failures.WithLabelValues(t.job).Inc()
	}
	t.setHealth(err)
	t.last.set(start, took, err)
}

func (t *target) newBatch(ctx context.Context, start time.Time) *batch {
	return &batch{
		app:    t.app.Appender(ctx),
		t:      timestamp.FromTime(start),
		target: t.labels,
		prev:   t.series,
		cur:    make(map[string]series, len(t.series)),
	}
}

// finish marks the vanished series stale, appends the report series and
// commits b.
func (t *target) finish(b *batch, took time.Duration, collectErr error) error {
	if err := b.markStale(); err != nil {
		return err
	}
	up := 1.0
	if collectErr != nil {
		up = 0
	}
	values := [len(reportSeries)]float64{up, took.Seconds(), float64(b.scraped), float64(b.added), float64(b.seriesAdded)}
	for i, r := range reportSeries {
		ref, err := b.app.Append(t.reportRefs[i], t.reportLabels[i], b.t, values[i])
		if refused(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("append %s: %w", r.name, err)
		}
		t.reportRefs[i] = ref
		if _, err := b.app.UpdateMetadata(ref, t.reportLabels[i], r.meta); err != nil {
			return fmt.Errorf("record metadata of %s: %w", r.name, err)
		}
	}
	if err := b.app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(app storage.Appender, logger *slog.Logger) {
	if err := app.Rollback(); err != nil {
		logger.Warn("roll back collection", "err", err)
	}
}

// setHealth logs a change of the target's health: a target that stays down
// is logged once, not every interval.
func (t *target) setHealth(err error) {
	down := err != nil
	switch {
	case down && (!t.known || !t.down):
		t.logger.Warn("collection failed; target is down until a collection succeeds", "err", err)
	case !down && t.known && t.down:
		t.logger.Info("target is up again")
	}
	t.down, t.known = down, true
}
