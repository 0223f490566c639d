package metrics

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Target is what is known of one collection target: its place in the configuration and the
// outcome of its last collection, as Prometheus's /api/v1/targets shows a scrape target.
type Target struct {
	Job string
	// Labels are the labels every series of the target carries: job, instance and the
	// configured ones.
	Labels labels.Labels
	// URL is where the target is scraped; empty for a target collected in the process (this
	// host, huddle itself).
	URL      string
	Interval time.Duration
	// Timeout bounds one scrape; zero for a target collected in the process.
	Timeout time.Duration
	// LastCollection is when the last collection started; zero before the first.
	LastCollection time.Time
	LastDuration   time.Duration
	// LastError is why the last collection failed, or could not be recorded; empty when it
	// succeeded.
	LastError string
}

// TargetLister lists the collection targets, for /api/v1/targets; the collector implements it.
type TargetLister interface {
	Targets() []Target
}
