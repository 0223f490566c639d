package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
)

// Options configures a [Collector]. Only Appendable is required.
type Options struct {
	// Appendable receives every collection, one appender batch per target
	// and collection. Its appenders must support UpdateMetadata.
	Appendable storage.Appendable
	// Logger logs failures and recoveries of targets. Default: discard.
	Logger *slog.Logger
	// Registerer, when not nil, gets the collector's own counters.
	Registerer prometheus.Registerer
	// Host is this host's job, on by default.
	Host HostJob
	// Self is the huddle process's job, on when Self.Gatherer is set.
	Self SelfJob
	// Scrape are the Prometheus scrape jobs.
	Scrape []ScrapeConfig
	// Now gives the time of each collection, which stamps its samples.
	// Default time.Now.
	Now func() time.Time
}

// Collector runs the collection jobs; see the package documentation for
// what it guarantees.
type Collector struct {
	app       storage.Appendable
	logger    *slog.Logger
	now       func() time.Time
	metrics   *collectorMetrics
	transport *http.Transport
	jobs      []*job
	running   atomic.Bool
}

// job is a set of targets collected together at one interval.
type job struct {
	name     string
	interval time.Duration
	targets  []*target
}

type collectorMetrics struct {
	collections *prometheus.CounterVec
	failures    *prometheus.CounterVec
}

// New validates opts and builds the jobs; nothing runs until [Collector.Run].
func New(opts Options) (*Collector, error) {
	if opts.Appendable == nil {
		return nil, errors.New("collect: Options.Appendable is nil: pass the metrics store")
	}
	c := &Collector{
		app:    opts.Appendable,
		logger: withDefault(opts.Logger, slog.New(slog.DiscardHandler)),
		now:    opts.Now,
		metrics: &collectorMetrics{
			collections: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "huddle_collector_collections_total",
				Help: "Collections of a target recorded, failed ones (up=0) included.",
			}, []string{"job"}),
			failures: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "huddle_collector_failures_total",
				Help: "Collections of a target that failed, or could not be recorded.",
			}, []string{"job"}),
		},
		// Our own transport rather than http.DefaultTransport: Prometheus
		// ignores proxy environment variables unless told to, and idle
		// connections are closed when Run returns.
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     5 * time.Minute,
			TLSHandshakeTimeout: 10 * time.Second,
		},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if opts.Registerer != nil {
		for _, m := range []prometheus.Collector{c.metrics.collections, c.metrics.failures} {
			if err := opts.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("collect: register own metrics: %w", err)
			}
		}
	}
	// Job names must be unique, as in Prometheus: two jobs with the same
	// name and instance would write the same series.
	names := make(map[string]string)
	claim := func(name, field string) error {
		if other, ok := names[name]; ok {
			return fmt.Errorf("%s %q is also %s: give each job its own name", field, name, other)
		}
		names[name] = field
		return nil
	}
	if !opts.Host.Disabled {
		h := opts.Host
		if h.Interval < 0 {
			return nil, fmt.Errorf("host.interval %s is negative: leave it zero for %s or give a positive duration", h.Interval, DefaultInterval)
		}
		instance, err := instanceOr(h.Instance)
		if err != nil {
			return nil, fmt.Errorf("host.instance: %w", err)
		}
		name := withDefault(h.JobName, DefaultHostJobName)
		if err := claim(name, "host.job"); err != nil {
			return nil, err
		}
		src, err := newHostSource(c.logger.With("job", name, "instance", instance))
		if err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
		c.jobs = append(c.jobs, &job{
			name:     name,
			interval: withDefault(h.Interval, DefaultInterval),
			targets:  []*target{newTarget(name, instance, nil, src, c)},
		})
	}
	if s := opts.Self; s.Gatherer != nil {
		if s.Interval < 0 {
			return nil, fmt.Errorf("self.interval %s is negative: leave it zero for %s or give a positive duration", s.Interval, DefaultInterval)
		}
		instance, err := instanceOr(s.Instance)
		if err != nil {
			return nil, fmt.Errorf("self.instance: %w", err)
		}
		name := withDefault(s.JobName, DefaultSelfJobName)
		if err := claim(name, "self.job"); err != nil {
			return nil, err
		}
		src := newGatherSource(s.Gatherer)
		c.jobs = append(c.jobs, &job{
			name:     name,
			interval: withDefault(s.Interval, DefaultInterval),
			targets:  []*target{newTarget(name, instance, nil, src, c)},
		})
	}
	for i := range opts.Scrape {
		sc := opts.Scrape[i] // a copy: validate fills in defaults
		targets, err := sc.validate(i)
		if err != nil {
			return nil, err
		}
		if err := claim(sc.JobName, fmt.Sprintf("scrape[%d].job", i)); err != nil {
			return nil, err
		}
		client := &http.Client{Transport: c.transport}
		j := &job{name: sc.JobName, interval: sc.Interval}
		for _, t := range targets {
			j.targets = append(j.targets, newTarget(sc.JobName, t.instance, sc.Labels, newScrapeSource(&sc, t.url, client), c))
		}
		c.jobs = append(c.jobs, j)
	}
	return c, nil
}

// instanceOr returns instance, or the host name when it is empty.
func instanceOr(instance string) (string, error) {
	if instance != "" {
		return instance, nil
	}
	name, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("no instance given and the host name is unknown: %w", err)
	}
	return name, nil
}

// Run collects every job once at once and then at its interval until ctx
// ends. It returns nil after every job has stopped and no collection is in
// flight; it may be called once.
func (c *Collector) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("collect: Run called twice: a collector runs once")
	}
	var wg sync.WaitGroup
	for _, j := range c.jobs {
		wg.Go(func() { j.run(ctx) })
	}
	wg.Wait()
	c.transport.CloseIdleConnections()
	return nil
}

func (j *job) run(ctx context.Context) {
	ticker := time.NewTicker(j.interval)
	defer ticker.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		j.collect(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// collect runs one collection of every target, concurrently so that a slow
// target does not delay the others, and returns when all are done.
func (j *job) collect(ctx context.Context) {
	if len(j.targets) == 1 {
		j.targets[0].collect(ctx)
		return
	}
	var wg sync.WaitGroup
	for _, t := range j.targets {
		wg.Go(func() { t.collect(ctx) })
	}
	wg.Wait()
}
