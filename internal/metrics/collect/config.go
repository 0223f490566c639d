package collect

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// Defaults of the job settings, applied where a field is zero.
const (
	DefaultInterval      = 10 * time.Second
	DefaultScrapeTimeout = 10 * time.Second
	DefaultMetricsPath   = "/metrics"
	DefaultScheme        = "http"
	DefaultBodySizeLimit = 64 << 20
	DefaultHostJobName   = "node"
	DefaultSelfJobName   = "huddle"
)

// HostJob collects this host with node_exporter's default Linux collectors
// (CPU, memory, load, filesystems, disks, network, pressure, time…), under
// node_exporter's names. The zero value is the enabled job with its
// defaults.
type HostJob struct {
	// Disabled turns the job off.
	Disabled bool
	// JobName is the job label. Default "node", as node_exporter's job is
	// usually named.
	JobName string
	// Instance is the instance label. Default the host name.
	Instance string
	// Interval is the time between collections. Default 10 s.
	Interval time.Duration
}

// SelfJob collects the huddle process's own metrics from its registry, in
// process, as a scrape of its /metrics would see them.
type SelfJob struct {
	// Gatherer is the server's registry. Nil turns the job off.
	Gatherer prometheus.Gatherer
	// JobName is the job label. Default "huddle".
	JobName string
	// Instance is the instance label, normally the listen address. Default
	// the host name.
	Instance string
	// Interval is the time between collections. Default 10 s.
	Interval time.Duration
}

// ScrapeConfig is one Prometheus scrape job, shaped as a scrape_configs entry
// with static targets.
type ScrapeConfig struct {
	// JobName is the job label of every target; required and unique.
	JobName string
	// Targets are "host:port" addresses or full http(s) URLs; the instance
	// label is the host:port part. A URL's scheme and path replace Scheme
	// and MetricsPath for that target.
	Targets []string
	// MetricsPath is the path scraped on host:port targets. Default
	// "/metrics".
	MetricsPath string
	// Scheme is "http" or "https" for host:port targets. Default "http".
	Scheme string
	// Interval is the time between scrapes. Default 10 s.
	Interval time.Duration
	// Timeout bounds one scrape, request and body. Default 10 s or the
	// interval, whichever is shorter; it may not exceed the interval.
	Timeout time.Duration
	// Labels are added to every sample of the job. They may not be named
	// job or instance (set JobName, or use one job per target) nor start
	// with "__".
	Labels map[string]string
	// IgnoreTimestamps stamps every sample with the scrape time even when
	// the exposition gives one (Prometheus's honor_timestamps: false).
	IgnoreTimestamps bool
	// BodySizeLimit is the largest uncompressed body accepted; a larger one
	// fails the scrape. Default 64 MiB.
	BodySizeLimit int64
	// BasicAuth, when not nil, is sent with every request.
	BasicAuth *BasicAuth
	// BearerToken, when not empty, is sent as "Authorization: Bearer …".
	BearerToken string
}

// BasicAuth is HTTP basic authentication for a scrape job.
type BasicAuth struct {
	Username string
	Password string
}

// scrapeTarget is one validated target of a scrape job.
type scrapeTarget struct {
	url      string
	instance string
}

func withDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// validate checks the job and fills its defaults; i is its index in
// Options.Scrape, for error messages.
func (c *ScrapeConfig) validate(i int) ([]scrapeTarget, error) {
	field := func(name string) string { return fmt.Sprintf("scrape[%d].%s", i, name) }
	if c.JobName == "" {
		return nil, fmt.Errorf("%s is empty: name the job, it becomes the job label", field("job"))
	}
	c.Scheme = withDefault(c.Scheme, DefaultScheme)
	if c.Scheme != "http" && c.Scheme != "https" {
		return nil, fmt.Errorf("%s %q: use http or https", field("scheme"), c.Scheme)
	}
	c.MetricsPath = withDefault(c.MetricsPath, DefaultMetricsPath)
	if !strings.HasPrefix(c.MetricsPath, "/") {
		return nil, fmt.Errorf("%s %q: start it with /, as in /metrics", field("metricsPath"), c.MetricsPath)
	}
	if c.Interval < 0 {
		return nil, fmt.Errorf("%s %s is negative: leave it zero for %s or give a positive duration", field("interval"), c.Interval, DefaultInterval)
	}
	c.Interval = withDefault(c.Interval, DefaultInterval)
	switch {
	case c.Timeout < 0:
		return nil, fmt.Errorf("%s %s is negative: leave it zero for the default or give a positive duration", field("timeout"), c.Timeout)
	case c.Timeout == 0:
		c.Timeout = min(DefaultScrapeTimeout, c.Interval)
	case c.Timeout > c.Interval:
		return nil, fmt.Errorf("%s %s exceeds interval %s: a scrape must end before the next one starts; lower the timeout or raise the interval", field("timeout"), c.Timeout, c.Interval)
	}
	if c.BodySizeLimit < 0 {
		return nil, fmt.Errorf("%s %d is negative: leave it zero for %d bytes or give a positive size", field("bodySizeLimit"), c.BodySizeLimit, DefaultBodySizeLimit)
	}
	c.BodySizeLimit = withDefault(c.BodySizeLimit, DefaultBodySizeLimit)
	if c.BasicAuth != nil && c.BearerToken != "" {
		return nil, fmt.Errorf("%s and %s are both set: a request carries one Authorization header, keep one", field("username"), field("bearerToken"))
	}
	for name := range c.Labels {
		switch {
		case name == model.JobLabel:
			return nil, fmt.Errorf("%s has %q: set job (the job name) instead", field("labels"), name)
		case name == model.InstanceLabel:
			return nil, fmt.Errorf("%s has %q: the instance label is the target's address; use another label name", field("labels"), name)
		case strings.HasPrefix(name, model.ReservedLabelPrefix):
			return nil, fmt.Errorf("%s has %q: names starting with __ are reserved; rename it", field("labels"), name)
		case !model.LegacyValidation.IsValidLabelName(name):
			return nil, fmt.Errorf("%s has %q: a label name is letters, digits and _, not starting with a digit", field("labels"), name)
		}
	}
	if len(c.Targets) == 0 {
		return nil, fmt.Errorf("%s is empty: list at least one host:port or URL", field("targets"))
	}
	targets := make([]scrapeTarget, 0, len(c.Targets))
	seen := make(map[string]int, len(c.Targets))
	for j, raw := range c.Targets {
		t, err := c.parseTarget(raw)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", field(fmt.Sprintf("targets[%d]", j)), raw, err)
		}
		if k, dup := seen[t.instance]; dup {
			return nil, fmt.Errorf("%s %q: same instance as targets[%d]; two targets of a job would write the same series, remove one", field(fmt.Sprintf("targets[%d]", j)), raw, k)
		}
		seen[t.instance] = j
		targets = append(targets, t)
	}
	return targets, nil
}

var errTarget = errors.New(`want host:port (as "localhost:9100") or an http(s) URL (as "http://localhost:9100/metrics")`)

func (c *ScrapeConfig) parseTarget(raw string) (scrapeTarget, error) {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return scrapeTarget{}, fmt.Errorf("%w: %w", errTarget, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return scrapeTarget{}, fmt.Errorf("scheme %q: %w", u.Scheme, errTarget)
		}
		if u.Host == "" {
			return scrapeTarget{}, fmt.Errorf("no host: %w", errTarget)
		}
		if u.Path == "" {
			u.Path = c.MetricsPath
		}
		return scrapeTarget{url: u.String(), instance: u.Host}, nil
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil || host == "" || port == "" || strings.ContainsAny(raw, "/?#@") {
		return scrapeTarget{}, errTarget
	}
	u := url.URL{Scheme: c.Scheme, Host: raw, Path: c.MetricsPath}
	return scrapeTarget{url: u.String(), instance: raw}, nil
}
