package pubsub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections   prometheus.Gauge
	groups        prometheus.Gauge
	published     prometheus.Counter
	messagesIn    prometheus.Counter
	bytesIn       prometheus.Counter
	messagesOut   prometheus.Counter
	bytesOut      prometheus.Counter
	fanoutLatency prometheus.Histogram
	dropped       prometheus.Counter
	slowConsumers prometheus.Counter
	writeErrors   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "huddle_connections", Help: "Client connections, including reliable sessions waiting for a reconnect."}),
		groups: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "huddle_groups", Help: "Groups with at least one member."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_operations_published_total", Help: "Hub operations (sends, group changes, closes) published."}),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_messages_received_total", Help: "Messages received from clients."}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_received_bytes_total", Help: "Bytes of messages received from clients."}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_messages_delivered_total", Help: "Data messages written to client sockets."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_sent_bytes_total", Help: "Bytes written to client sockets, frames included."}),
		fanoutLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "huddle_fanout_latency_seconds",
			Help:    "Time from a message entering the service to its write to a client socket (oldest message of each write).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_messages_dropped_total", Help: "Ephemeral messages dropped for lagging readers."}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_slow_consumer_closes_total", Help: "Connections closed because they could not keep up."}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_write_errors_total", Help: "Socket writes that failed."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.groups, m.published, m.messagesIn, m.bytesIn,
		m.messagesOut, m.bytesOut, m.fanoutLatency, m.dropped, m.slowConsumers, m.writeErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
