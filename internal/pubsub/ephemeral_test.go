package pubsub

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func ephemeralMsg(data string) *Message {
	m := textMsg(data)
	m.Ephemeral = true
	return m
}

// A reliable connection writes ephemeral messages in order with the rest but without a sequence
// id, keeps them out of its resend buffer, and loses those that arrive while its client is away.
func TestReliableEphemeral(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	c, s1 := reliableConn(t, h, "c", nil)
	d1, d2 := textMsg("d1"), textMsg("d2")
	c.Deliver(d1)
	c.Deliver(ephemeralMsg("e1"))
	c.Deliver(d2)
	waitIdle(t, c)
	assertFrames(t, s1, "text::d1#1", "text::e1", "text::d2#2")
	if got := unackedSeqs(c); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("unacked = %v, want [1 2]", got)
	}
	c.mu.Lock()
	unackedBytes := c.unackedBytes
	c.mu.Unlock()
	if want := d1.Size() + d2.Size(); unackedBytes != want {
		t.Errorf("unackedBytes = %d, want %d: an ephemeral message was counted", unackedBytes, want)
	}

	c.Dropped(s1, "connection lost")
	c.Deliver(ephemeralMsg("e2"))
	c.Deliver(textMsg("d3"))
	s2 := newTestSocket()
	if err := c.Attach(s2); err != nil {
		t.Fatal(err)
	}
	c.Deliver(ephemeralMsg("e3"))
	waitIdle(t, c)
	assertFrames(t, s2, "text::d1#1", "text::d2#2", "text::d3#3", "text::e3")
}

// An ephemeral message that finds a reliable connection's queue over its bounds is dropped and
// counted, while durable messages are still queued beyond the bounds (the resend buffer limits
// them) and the connection stays open.
func TestReliableEphemeralDroppedOverBounds(t *testing.T) {
	d := func(s string) queueStep { return queueStep{s, false} }
	e := func(s string) queueStep { return queueStep{s, true} }
	// Each message counts 74 bytes (10 of data and 64 of overhead): two fit in 150 bytes.
	tests := []struct {
		name    string
		limits  Limits
		steps   []queueStep
		want    []string // after "first", which the blocked client is being written
		dropped int
	}{
		{"within the limit", Limits{MaxQueuedFrames: 4}, []queueStep{d("a"), e("b"), d("c"), e("d")},
			[]string{"text::a#2", "text::b", "text::c#3", "text::d"}, 0},
		{"frame limit", Limits{MaxQueuedFrames: 2}, []queueStep{e("a"), d("b"), e("c"), d("d"), e("e"), d("f")},
			[]string{"text::a", "text::b#2", "text::d#3", "text::f#4"}, 2},
		{"byte limit", Limits{MaxQueuedBytes: 150}, []queueStep{d("0123456789"), e("abcdefghij"), d("ABCDEFGHIJ"), e("klmnopqrst")},
			[]string{"text::0123456789#2", "text::abcdefghij", "text::ABCDEFGHIJ#3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			reg := prometheus.NewRegistry()
			svc := newTestService(t, Options{Limits: tt.limits, Registerer: reg})
			var log closeLog
			c, err := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubReliableJSON), Reliable: true, OnClose: log.onClose}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := newBlockingSocket()
			_ = c.Attach(s)
			c.Deliver(textMsg("first"))
			<-s.blocked // the writer holds "first"; everything else queues behind it
			for _, st := range tt.steps {
				m := textMsg(st.data)
				m.Ephemeral = st.ephemeral
				c.Deliver(m)
			}
			s.release()
			waitIdle(t, c)
			assertFrames(t, s, append([]string{"text::first#1"}, tt.want...)...)
			if s.isClosed() || len(log.get()) != 0 {
				t.Error("the reliable connection was closed")
			}
			want := fmt.Sprintf("# HELP huddle_messages_dropped_total Ephemeral messages dropped for lagging readers.\n"+
				"# TYPE huddle_messages_dropped_total counter\nhuddle_messages_dropped_total %d\n", tt.dropped)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "huddle_messages_dropped_total"); err != nil {
				t.Error(err)
			}
		})
	}
}
