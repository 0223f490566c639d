package pubsub

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// passCodec puts a message's data on the wire as it is, so fan-out benchmarks measure the hub and
// not an encoder; the reliable variant appends a short sequence suffix like the JSON codec does.
type passCodec struct{ format Format }

func (c passCodec) Format() Format               { return c.format }
func (c passCodec) Encode(m *Message) Frame      { return Frame{Payload: m.Data} }
func (c passCodec) Goodbye(reason string) []byte { return nil }
func (c passCodec) AppendSequence(dst []byte, seq uint64) []byte {
	dst = append(dst, `,"sequenceId":`...)
	return append(strconv.AppendUint(dst, seq, 10), '}')
}

// drain waits until every connection's writer has emptied its queue.
func drain(conns []*Conn) {
	for _, c := range conns {
		for c.flushing() {
			runtime.Gosched()
		}
	}
}

// BenchmarkFanout publishes one 1 KiB message per op to a group whose members' sockets discard
// what they are written. deliveries/s counts messages written to sockets, after a drain.
func BenchmarkFanout(b *testing.B) {
	for _, reliable := range []bool{false, true} {
		for _, members := range []int{1000, 10000} {
			name := fmt.Sprintf("json/members=%d", members)
			if reliable {
				name = fmt.Sprintf("reliable/members=%d", members)
			}
			b.Run(name, func(b *testing.B) { benchFanout(b, members, reliable) })
		}
	}
}

func benchFanout(b *testing.B, members int, reliable bool) {
	svc := newTestService(b, Options{})
	h := svc.Hub("bench")
	codec := passCodec{FormatWebPubSubJSON}
	if reliable {
		codec.format = FormatWebPubSubReliableJSON
	}
	conns := make([]*Conn, members)
	for i := range conns {
		c, err := h.Connect(ConnOptions{ID: fmt.Sprint(i), Codec: codec, Reliable: reliable}, []string{"g"})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Attach(&discardSocket{}); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	data := []byte(`{"v":"` + strings.Repeat("x", 1024-8) + `"}`)
	to := Selector{Kind: ToGroup, Name: "g"}
	ctx := context.Background()
	// Drain often enough that no queue comes near its limit: a benchmark that closed slow
	// consumers would look faster than one that delivered everything.
	const drainEvery = 64
	before := counterValue(b, svc.metrics.messagesOut)
	b.ReportAllocs()
	b.SetBytes(int64(len(data) * members))
	b.ResetTimer()
	for i := range b.N {
		m := NewMessage(JSON, data)
		m.Origin, m.Group = FromGroup, "g"
		if err := h.Publish(ctx, &Envelope{Op: OpSend, To: to, Message: m}); err != nil {
			b.Fatal(err)
		}
		if i%drainEvery == drainEvery-1 {
			drain(conns)
			if reliable {
				for _, c := range conns {
					c.Ack(uint64(i + 1))
				}
			}
		}
	}
	drain(conns)
	b.StopTimer()
	delivered := counterValue(b, svc.metrics.messagesOut) - before
	if want := float64(b.N * members); delivered != want {
		b.Fatalf("delivered %v messages, want %v", delivered, want)
	}
	if n := counterValue(b, svc.metrics.slowConsumers); n != 0 {
		b.Fatalf("%v slow-consumer closes", n)
	}
	b.ReportMetric(delivered/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkDeliver is the per-recipient cost of the fan-out without the hub's lookup: queueing one
// shared message and writing it.
func BenchmarkDeliver(b *testing.B) {
	svc := newTestService(b, Options{})
	c, err := svc.Hub("bench").Connect(ConnOptions{ID: "c", Codec: passCodec{FormatWebPubSubJSON}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = c.Attach(&discardSocket{})
	m := NewMessage(JSON, make([]byte, 1024))
	b.ReportAllocs()
	for b.Loop() {
		c.Deliver(m)
		drain([]*Conn{c})
	}
}

func BenchmarkMatchGroupPattern(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !matchGroupPattern("dash.**.metrics", "dash.team.board.1.metrics") {
			b.Fatal("no match")
		}
	}
}
