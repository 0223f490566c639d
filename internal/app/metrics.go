package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/metrics"
	"github.com/huddle-dev/huddle/internal/metrics/collect"
	"github.com/huddle-dev/huddle/internal/roles"
)

// metricsPart is the metrics half of the server: the source every query goes through and, with
// the embedded source, the store that the collector and remote-write senders fill.
type metricsPart struct {
	tsdb      *metrics.Store     // nil with a remote source
	source    metrics.Source     // the range cache in front of the store or the remote server
	collector *collect.Collector // nil with a remote source
}

// openMetrics opens the source cfg chooses. The embedded store replays its write-ahead log here,
// before the server takes requests, so the first query already sees what was written before a
// restart.
func openMetrics(cfg config.Config, addr string, logger *slog.Logger, reg *prometheus.Registry) (*metricsPart, error) {
	m := cfg.Metrics
	var p metricsPart
	switch m.Source {
	case "", config.SourceEmbedded:
		st, err := metrics.Open(cfg.DataDir, metrics.StoreOptions{
			Retention:    time.Duration(m.Retention),
			QueryTimeout: m.QueryTimeout,
			MaxSamples:   m.MaxSamples,
		}, logger, reg)
		if err != nil {
			return nil, err
		}
		p.tsdb = st
		p.source = metrics.NewCache(st, metrics.CacheOptions{})
		if p.collector, err = newCollector(cfg, addr, st, logger, reg); err != nil {
			_ = st.Close()
			return nil, err
		}
	case config.SourcePrometheus:
		pr := m.Prometheus
		remote, err := metrics.NewRemote(metrics.RemoteOptions{
			URL:              pr.URL,
			BasicAuth:        metrics.BasicAuth{Username: pr.Username, Password: pr.Password},
			BearerToken:      pr.BearerToken,
			Headers:          pr.Headers,
			Timeout:          pr.Timeout,
			MaxResponseBytes: pr.MaxResponseBytes,
		})
		if err != nil {
			return nil, err
		}
		p.source = metrics.NewCache(remote, metrics.CacheOptions{})
	default:
		return nil, fmt.Errorf("metrics.source %q is not supported", m.Source)
	}
	return &p, nil
}

// newCollector collects this host, huddle's own registry (as the instance addr) and the
// configured scrape jobs into st.
func newCollector(cfg config.Config, addr string, st *metrics.Store, logger *slog.Logger, reg *prometheus.Registry) (*collect.Collector, error) {
	m := cfg.Metrics
	every := func(d time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return m.Interval
	}
	opts := collect.Options{
		Appendable: st,
		Logger:     logger.With("component", "collector"),
		Registerer: reg,
		Host: collect.HostJob{Disabled: m.Host.Disabled, JobName: m.Host.Job, Instance: m.Host.Instance,
			Interval: every(m.Host.Interval)},
		Self: collect.SelfJob{Instance: addr, Interval: every(m.Self.Interval)},
	}
	if !m.Self.Disabled {
		opts.Self.Gatherer = reg
	}
	for _, j := range m.Scrape {
		sc := collect.ScrapeConfig{JobName: j.Job, Targets: j.Targets, MetricsPath: j.MetricsPath, Scheme: j.Scheme,
			Interval: every(j.Interval), Timeout: j.Timeout, Labels: j.Labels, BearerToken: j.BearerToken}
		if j.Username != "" || j.Password != "" {
			sc.BasicAuth = &collect.BasicAuth{Username: j.Username, Password: j.Password}
		}
		opts.Scrape = append(opts.Scrape, sc)
	}
	c, err := collect.New(opts)
	if err != nil {
		return nil, fmt.Errorf("metrics.%w", err)
	}
	return c, nil
}

// routes puts the Prometheus-compatible API, its rules and alerts read from rules, in the
// accounts' route table: reading needs a
// viewer (metrics:read for keys, which Grafana's data source uses); remote write needs an
// editor's key with metrics:write, since it adds data everyone sees; the health and readiness
// probes are public, as in Prometheus. ready says whether the server takes requests.
func (p *metricsPart) routes(logger *slog.Logger, reg *prometheus.Registry, ready func() bool, rules metrics.RuleGroups) []httpapi.Route {
	opts := metrics.APIOptions{Logger: logger, Registerer: reg, Gatherer: reg, Ready: ready, Rules: rules}
	if p.tsdb != nil {
		opts.Appendable, opts.TSDB = p.tsdb, p.tsdb
	}
	if p.collector != nil {
		opts.Targets = p.collector
	}
	var rs []httpapi.Route
	for _, r := range metrics.NewAPI(p.source, opts).Routes() {
		rt := httpapi.Route{Method: r.Method, Pattern: r.Pattern, MinRole: roles.Viewer, Scope: roles.ScopeMetricsRead,
			Handler: r.Handler}
		switch {
		case r.Write:
			rt.MinRole, rt.Scope = roles.Editor, roles.ScopeMetricsWrite
		case r.Public:
			rt.MinRole, rt.Scope = roles.Anonymous, roles.AnyScope
		}
		rs = append(rs, rt)
	}
	return rs
}

// selfMetricsRoute serves huddle's own metrics on GET /metrics: to anyone, as exporters do, or,
// when protect is set, to whoever may read the query API (a viewer, or a key with metrics:read).
func selfMetricsRoute(reg *prometheus.Registry, protect bool) httpapi.Route {
	rt := httpapi.Route{Method: http.MethodGet, Pattern: "/metrics", MinRole: roles.Anonymous, Scope: roles.AnyScope,
		Handler: httpapi.FromHTTP(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))}
	if protect {
		rt.MinRole, rt.Scope = roles.Viewer, roles.ScopeMetricsRead
	}
	return rt
}

// close closes the embedded store, writing its head to disk so a restart replays nothing lost.
// Whatever writes or queries it must have stopped.
func (p *metricsPart) close() error {
	if p.tsdb == nil {
		return nil
	}
	return p.tsdb.Close()
}
