package pubsub

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// countingCodec writes no sequence ids, as SignalR's stateful reconnect: its client counts. It has
// no rendering of a message whose data is "skip".
type countingCodec struct{ *testCodec }

func (c countingCodec) Encode(m *Message) Frame {
	if string(m.Data) == "skip" {
		return Frame{}
	}
	return c.testCodec.Encode(m)
}

func (countingCodec) AppendSequence(dst []byte, _ uint64) []byte { return dst }

func (countingCodec) Resumed(firstSeq uint64) []byte { return fmt.Appendf(nil, "resume@%d", firstSeq) }

// A counting codec's connection numbers exactly what its client receives, its own counted frames
// included, and a resumed socket first hears where the replay starts.
func TestCountingCodecNumbersWhatTheClientCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		h := svc.Hub("h")
		codec := countingCodec{newTestCodec(FormatSignalRJSON)}
		c, s1 := connect(t, h, ConnOptions{ID: "c", Codec: codec, Reliable: true})
		c.Deliver(textMsg("m1"))
		c.Deliver(textMsg("skip"))
		c.Deliver(textMsg("m2"))
		c.SendCounted([]byte("own"), false)
		c.Send([]byte("uncounted"), false)
		synctest.Wait()
		assertFrames(t, s1, "text::m1", "text::m2", "text:own", "text:uncounted")
		if got := unackedSeqs(c); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("resend buffer %v, want 1 2 3", got)
		}

		c.Ack(1)
		c.Dropped(s1, "lost")
		c.Deliver(textMsg("m3"))
		s2 := newTestSocket()
		if err := c.Attach(s2); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		assertFrames(t, s2, "text:resume@2", "text::m2", "text:own", "text::m3")

		// With nothing left to resend, the replay starts at the next number.
		c.Ack(4)
		s3 := newTestSocket()
		if err := c.Attach(s3); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		assertFrames(t, s3, "text:resume@5")
	})
}

// On a connection that is not reliable, a counted frame is an ordinary one: nothing is kept.
func TestSendCountedUnreliable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		c, s := connect(t, svc.Hub("h"), ConnOptions{ID: "c", Codec: countingCodec{newTestCodec(FormatSignalRJSON)}})
		c.SendCounted([]byte("own"), false)
		c.Deliver(textMsg("m1"))
		synctest.Wait()
		assertFrames(t, s, "text:own", "text::m1")
		if got := unackedSeqs(c); len(got) != 0 {
			t.Errorf("resend buffer %v, want none", got)
		}
	})
}
