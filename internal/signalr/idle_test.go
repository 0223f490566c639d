//go:build !race

// Under the race detector, whose instrumentation enlarges every frame, a parked reader needs
// 8 KiB whatever the code does, so the stack test tells nothing there.

package signalr

import (
	"runtime"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// TestIdleConnectionStack: an idle connection that pings, as every SignalR client does every
// 15 s, keeps a reader parked in its read, whose stack needs about 4 KiB. Reading the client's
// messages on the goroutine that ran the handshake, or parsing each Ping with encoding/json,
// left 8 KiB per connection, which the runtime does not give back while the stack stays that
// busy.
func TestIdleConnectionStack(t *testing.T) {
	for _, tt := range []struct {
		protocol string
		kind     int
		ping     []byte
	}{
		{"json", websocket.TextMessage, jsonProtocol.ping()},
		{"messagepack", websocket.BinaryMessage, messagePackProtocol.ping()},
	} {
		t.Run(tt.protocol, func(t *testing.T) {
			ts := newTestServer(t, pubsub.Limits{})
			// Many connections, so that the stacks of goroutines ended before (which the runtime
			// keeps a few dozen of per processor for reuse) weigh little in the average.
			const n = 1000
			before := stackInUse()
			for range n {
				ws, _ := ts.connect("chat", "", tt.protocol)
				if err := ws.WriteMessage(tt.kind, tt.ping); err != nil {
					t.Fatal(err)
				}
			}
			testkit.WaitFor(t, "the pings read", func() bool { return receivedTotal(t, ts) >= n })
			perConn := (int64(stackInUse()) - int64(before)) / n
			t.Logf("%d bytes of stack per idle connection", perConn)
			if perConn > 6<<10 {
				t.Errorf("an idle connection holds %d bytes of stack, want at most %d", perConn, 6<<10)
			}
		})
	}
}

// receivedTotal is the count of client messages the hub service has read.
func receivedTotal(t *testing.T, ts *testServer) float64 {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "huddle_messages_received_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func stackInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
