// Package collect gathers huddle's time series: this host's resources (named
// as node_exporter names them, so existing PromQL and Grafana dashboards
// work), the huddle process's own registry, and any number of Prometheus
// scrape targets. Every sample goes to a storage.Appendable, normally the
// embedded metrics.Store.
//
// A [Collector] runs one goroutine per job. Each job collects once as soon as
// [Collector.Run] starts and then every interval; its targets are collected
// concurrently and the job waits for all of them before it waits for the next
// tick, so at most one collection per job is in flight and a collection that
// overruns its interval delays the next one (missed ticks are skipped, never
// queued). Run returns only after every job goroutine has returned.
//
// Every target is recorded as Prometheus records a scrape: the samples carry
// the target's job and instance labels (and the configured labels), an
// exposed label that clashes with one of those is kept as exported_<name>,
// and each collection appends up, scrape_duration_seconds,
// scrape_samples_scraped, scrape_samples_post_metric_relabeling and
// scrape_series_added. The host and self jobs are targets too, so
// up{job="node"} means the same as it does with node_exporter.
//
// Staleness: when a series that the previous collection of a target had is
// missing from the current one, or the collection fails (up=0), the series
// gets a stale marker at the collection's timestamp, so instant queries stop
// returning it at once rather than after the 5-minute lookback. Series
// exposed with explicit timestamps are not marked, as in Prometheus. A
// stopping collector writes no stale markers: a restart resumes the same
// series.
//
// Durability: each collection of a target is one appender batch, committed
// whole or not at all; what is durable after Commit is what the
// storage.Appendable promises (for metrics.Store, the write-ahead log). A
// crash loses the collections in flight and nothing committed. A collection
// interrupted by the end of Run's context is rolled back rather than
// recorded as a failure.
package collect
