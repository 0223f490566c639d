package collect

import (
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/metrics"
)

// Targets lists every target of every job for the metrics API, in the order of the configuration (host, self, then
// the scrape jobs). It may be called at any time, also while Run collects.
func (c *Collector) Targets() []metrics.Target {
	var out []metrics.Target
	for _, j := range c.jobs {
		for _, t := range j.targets {
			s := t.last.get()
			s.Job, s.Labels, s.Interval = j.name, t.labels, j.interval
			if src, ok := t.src.(*scrapeSource); ok {
				s.URL, s.Timeout = src.url, src.timeout
			}
			out = append(out, s)
		}
	}
	return out
}

// lastCollection is the outcome of a target's last collection, written by its job's
// goroutine and read by Targets.
type lastCollection struct {
	mu     sync.Mutex
	status metrics.Target // only the Last… fields
}

func (l *lastCollection) set(start time.Time, took time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.LastCollection, l.status.LastDuration, l.status.LastError = start, took, ""
	if err != nil {
		l.status.LastError = err.Error()
	}
}

func (l *lastCollection) get() metrics.Target {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}
