package loadgen

import (
	"fmt"
	"io"
	"time"
)

// Report is the outcome of a run. Its JSON form is what `huddle bench --json` prints.
type Report struct {
	Setup    string `json:"setup"`
	URL      string `json:"url"`
	Protocol string `json:"protocol"`
	Idle     bool   `json:"idle"`

	Subscribers     int     `json:"subscribers"`
	Connected       int     `json:"connected"`
	ConnectFailures int     `json:"connect_failures"`
	ConnectSeconds  float64 `json:"connect_seconds"`
	// FirstError is the first connection or publish error, to say why there were failures.
	FirstError string `json:"first_error,omitempty"`

	// Published counts measured messages the server accepted; PublishErrors those it did not.
	Published      uint64  `json:"published"`
	PublishErrors  uint64  `json:"publish_errors"`
	PublishSeconds float64 `json:"publish_seconds"`
	PublishRate    float64 `json:"publish_rate"`

	// Expected is Published times the members of each message's group. Delivered counts
	// distinct messages received; Lost is the difference (negative only when a publish that
	// failed on the publisher's side reached the server anyway).
	Expected   uint64 `json:"expected"`
	Delivered  uint64 `json:"delivered"`
	Lost       int64  `json:"lost"`
	Duplicates uint64 `json:"duplicates"`
	// Misrouted counts messages a subscriber received for a group it is not in.
	Misrouted uint64 `json:"misrouted"`
	// Dropped counts subscribers whose connection ended before the run did.
	Dropped int `json:"dropped"`
	// DeliverySeconds runs from the first publish to the last delivery, so a slow drain
	// lowers DeliveriesPerSecond instead of hiding.
	DeliverySeconds     float64 `json:"delivery_seconds"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	Latency             Latency `json:"latency_ms"`

	Memory Memory `json:"server_memory"`
}

// Latency is end-to-end latency in milliseconds: publisher's clock at send to subscriber's
// clock at receipt.
type Latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func latencyOf(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		P50:  ms(h.Percentile(50)),
		P99:  ms(h.Percentile(99)),
		P999: ms(h.Percentile(99.9)),
		Max:  ms(h.Max()),
		Mean: ms(h.Mean()),
	}
}

// Memory is the server's memory from its /metrics, before the run's connections were opened
// and once they all were: after a short settling time when publishing, at the end of the hold
// in idle mode. Zero values mean the figure could not be read.
type Memory struct {
	RSSBefore         float64 `json:"rss_before_bytes"`
	RSSAfter          float64 `json:"rss_after_bytes"`
	RSSPerConnection  float64 `json:"rss_per_connection_bytes"`
	HeapBefore        float64 `json:"heap_inuse_before_bytes"`
	HeapAfter         float64 `json:"heap_inuse_after_bytes"`
	HeapPerConnection float64 `json:"heap_inuse_per_connection_bytes"`
	Error             string  `json:"error,omitempty"`
}

func (m *Memory) perConnection(connections int) {
	if connections <= 0 {
		return
	}
	if m.RSSBefore > 0 && m.RSSAfter > 0 {
		m.RSSPerConnection = (m.RSSAfter - m.RSSBefore) / float64(connections)
	}
	if m.HeapBefore > 0 && m.HeapAfter > 0 {
		m.HeapPerConnection = (m.HeapAfter - m.HeapBefore) / float64(connections)
	}
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	row := func(name, format string, args ...any) {
		ew.printf("%-15s %s\n", name, fmt.Sprintf(format, args...))
	}
	ew.printf("%s\n", r.Setup)
	row("server", "%s", r.URL)
	row("connections", "%d of %d connected, %d failed, in %.2f s", r.Connected, r.Subscribers, r.ConnectFailures, r.ConnectSeconds)
	if !r.Idle {
		row("published", "%d messages in %.2f s (%.1f/s), %d errors", r.Published, r.PublishSeconds, r.PublishRate, r.PublishErrors)
		row("deliveries", "%d of %d expected: %d lost, %d duplicate, %d misrouted; %d subscribers dropped",
			r.Delivered, r.Expected, r.Lost, r.Duplicates, r.Misrouted, r.Dropped)
		row("throughput", "%s deliveries/s over %.2f s", thousands(r.DeliveriesPerSecond), r.DeliverySeconds)
		row("latency", "p50 %s  p99 %s  p99.9 %s  max %s  mean %s",
			millis(r.Latency.P50), millis(r.Latency.P99), millis(r.Latency.P999), millis(r.Latency.Max), millis(r.Latency.Mean))
	}
	m := r.Memory
	switch {
	case m.Error != "":
		row("server memory", "unknown: %s", m.Error)
	case m.RSSPerConnection != 0 || m.RSSAfter != 0:
		row("server memory", "RSS %s → %s, %s per connection; Go heap in use %s per connection",
			bytesIEC(m.RSSBefore), bytesIEC(m.RSSAfter), bytesIEC(m.RSSPerConnection), bytesIEC(m.HeapPerConnection))
	}
	if r.FirstError != "" {
		row("first error", "%s", r.FirstError)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func millis(ms float64) string {
	if ms < 1 {
		return fmt.Sprintf("%.0f µs", ms*1000)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

// thousands writes a rate with a thousands separator: 598123.4 → "598,123".
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func bytesIEC(b float64) string {
	neg := ""
	if b < 0 {
		neg, b = "-", -b
	}
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%s%.2f GiB", neg, b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", neg, b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%s%.1f KiB", neg, b/(1<<10))
	}
	return fmt.Sprintf("%s%.0f B", neg, b)
}
