package loadgen

import (
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
)

const testKey = apptest.Key

// startServer runs a whole huddle in-process on a free port and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	return apptest.Start(t, config.Config{}).URL
}

// TestRunAgainstHuddle runs tiny benches against a real server: every message must reach every
// subscriber exactly once, whichever protocol, publisher and way of joining.
func TestRunAgainstHuddle(t *testing.T) {
	url := startServer(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"REST publisher, token groups", Config{}},
		{"client publisher, joinGroup", Config{Publisher: "client", Join: "message", Groups: 2}},
		{"reliable, two REST publishers, three groups", Config{Protocol: ProtocolReliableJSON, Publishers: 2, Groups: 3}},
		{"SignalR JSON, two groups", Config{Protocol: ProtocolSignalRJSON, Groups: 2}},
		{"SignalR MessagePack, two publishers", Config{Protocol: ProtocolSignalRMessagePack, Publishers: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.URL, cfg.AccessKey = url, testKey
			cfg.Hub = "benchtest"
			cfg.Subscribers, cfg.Messages, cfg.Duration = 10, 100, time.Minute
			cfg.Size = 256
			rep, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Connected != 10 || rep.ConnectFailures != 0 {
				t.Errorf("connected %d, failed %d (%s), want 10 and 0", rep.Connected, rep.ConnectFailures, rep.FirstError)
			}
			if rep.Published != 100 || rep.PublishErrors != 0 {
				t.Errorf("published %d with %d errors (%s), want 100 and 0", rep.Published, rep.PublishErrors, rep.FirstError)
			}
			// Expected is each accepted message times its group's members.
			if rep.Expected == 0 || rep.Delivered != rep.Expected || rep.Lost != 0 || rep.Duplicates != 0 || rep.Misrouted != 0 || rep.Dropped != 0 {
				t.Errorf("expected %d, delivered %d, lost %d, duplicates %d, misrouted %d, dropped %d",
					rep.Expected, rep.Delivered, rep.Lost, rep.Duplicates, rep.Misrouted, rep.Dropped)
			}
			if rep.Latency.P50 <= 0 || rep.Latency.P99 < rep.Latency.P50 || rep.DeliveriesPerSecond <= 0 {
				t.Errorf("latency %+v, deliveries/s %v: want positive, ordered figures", rep.Latency, rep.DeliveriesPerSecond)
			}
			if rep.Memory.Error != "" || rep.Memory.RSSAfter == 0 {
				t.Errorf("server memory not read: %+v", rep.Memory)
			}
		})
	}
}
