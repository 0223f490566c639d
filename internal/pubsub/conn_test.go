package pubsub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/huddle-dev/huddle/internal/testkit"
)

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// publishOrHang publishes in a goroutine and fails instead of hanging if the hub deadlocks.
func publishOrHang(t *testing.T, h *Hub, e *Envelope) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.Publish(context.Background(), e) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish did not return: the hub is deadlocked")
	}
}

func TestOwnFrames(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	c, s := connect(t, svc.Hub("h"), ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)})
	c.Send([]byte(`{"type":"ack"}`), false)
	c.Send([]byte{0, 1, 2}, true)
	c.Pong([]byte("p"))
	c.ping()
	c.Deliver(textMsg("direct"))
	bin := NewMessage(Binary, []byte("b"))
	c.Deliver(bin)
	waitIdle(t, c)
	assertFrames(t, s, `text:{"type":"ack"}`, "binary:\x00\x01\x02", "pong:p", "ping:", "text::direct", "binary::b")
}

// An unframed socket (SignalR's HTTP transports) gets the payloads alone: no frame headers, no
// control frames, and after the goodbye the socket is closed instead of sent a close frame.
func TestUnframed(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	c, s := connect(t, svc.Hub("h"), ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON), Unframed: true})
	c.Send([]byte("own;"), false)
	c.Pong([]byte("p"))
	c.ping()
	c.Deliver(textMsg("direct;"))
	c.Close(CloseNormal, "done")
	testkit.WaitFor(t, "socket closed", s.isClosed)
	s.mu.Lock()
	got := string(s.buf)
	s.mu.Unlock()
	if want := "own;:direct;bye:done"; got != want {
		t.Fatalf("written %q, want %q", got, want)
	}
}

func TestFrameLengths(t *testing.T) {
	for _, n := range []int{0, 1, 124, 125, 126, 127, 0xFFFF - 1, 0xFFFF, 0x10000, writeBatchBytes * 3} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			svc := newTestService(t, Options{})
			c, s := connect(t, svc.Hub("h"), ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)})
			data := strings.Repeat("x", n)
			c.Deliver(textMsg(data))
			c.Deliver(textMsg("after"))
			waitIdle(t, c)
			assertFrames(t, s, "text::"+data, "text::after")
		})
	}
}

// Per connection, frames leave in the order they were queued, and a writer that was blocked
// sends everything that piled up in one write.
func TestOrderingAndBatching(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	c, err := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newBlockingSocket()
	if err := c.Attach(s); err != nil {
		t.Fatal(err)
	}
	var want []string
	c.Deliver(textMsg("first"))
	want = append(want, "text::first")
	<-s.blocked
	for i := range 300 {
		if i%10 == 0 {
			c.Send([]byte("own"+strconv.Itoa(i)), false)
			want = append(want, "text:own"+strconv.Itoa(i))
		}
		c.Deliver(textMsg(strconv.Itoa(i)))
		want = append(want, "text::"+strconv.Itoa(i))
	}
	s.release()
	waitIdle(t, c)
	assertFrames(t, s, want...)
	if s.writes != 2 {
		t.Errorf("%d writes, want 2 (the first message, then one batch of everything queued behind it)", s.writes)
	}
}

// Concurrent publishers: every connection gets every message, and each publisher's messages in
// the order it published them.
func TestOrderingConcurrentPublishers(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	codec := newTestCodec(FormatWebPubSubJSON)
	const publishers, perPublisher, members = 4, 200, 5
	var conns []*Conn
	var socks []*testSocket
	for i := range members {
		o := ConnOptions{ID: strconv.Itoa(i), Codec: codec}
		if i%2 == 1 {
			o.Codec, o.Reliable = newTestCodec(FormatWebPubSubReliableJSON), true
		}
		c, s := connect(t, h, o, "g")
		conns, socks = append(conns, c), append(socks, s)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for n := range perPublisher {
				send(t, h, Selector{Kind: ToGroup, Name: "g"}, groupMsg("g", fmt.Sprintf("%d-%d", p, n)))
			}
		})
	}
	// Churn beside the traffic: other connections join and leave the group.
	wg.Go(func() {
		for i := range 100 {
			c, err := h.Connect(ConnOptions{ID: "churn" + strconv.Itoa(i), Codec: codec}, []string{"g"})
			if err != nil {
				t.Error(err)
				return
			}
			_ = c.Attach(newTestSocket())
			h.Leave(c, "g")
			c.Close(CloseNormal, "")
		}
	})
	wg.Wait()
	waitIdle(t, conns...)
	for i, s := range socks {
		next := make([]int, publishers)
		frames := s.frames(t)
		if len(frames) != publishers*perPublisher {
			t.Errorf("connection %d got %d frames, want %d", i, len(frames), publishers*perPublisher)
		}
		for j, f := range frames {
			body := strings.TrimPrefix(f, "text:g:")
			if conns[i].Reliable() {
				var seq string
				body, seq, _ = strings.Cut(body, "#")
				if seq != strconv.Itoa(j+1) {
					t.Fatalf("connection %d frame %d: sequence id %s, want %d", i, j, seq, j+1)
				}
			}
			var p, n int
			if _, err := fmt.Sscanf(body, "%d-%d", &p, &n); err != nil {
				t.Fatalf("connection %d: unexpected frame %q", i, f)
			}
			if n != next[p] {
				t.Fatalf("connection %d: publisher %d's message %d arrived where %d was due", i, p, n, next[p])
			}
			next[p]++
		}
	}
}

func reliableConn(t *testing.T, h *Hub, id string, log *closeLog) (*Conn, *testSocket) {
	t.Helper()
	o := ConnOptions{ID: id, Codec: newTestCodec(FormatWebPubSubReliableJSON), Reliable: true}
	if log != nil {
		o.OnClose = log.onClose
	}
	return connect(t, h, o)
}

func unackedSeqs(c *Conn) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []uint64
	for _, o := range c.unacked {
		out = append(out, o.seq)
	}
	return out
}

func TestReliableSequence(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	c, s := reliableConn(t, h, "c", nil)
	_ = h.Join(c, "g")
	send(t, h, Selector{Kind: ToGroup, Name: "g"}, groupMsg("g", "one"))
	c.Send([]byte("ack"), false) // a connection's own frames carry no sequence id
	send(t, h, Selector{Kind: ToConnection, Name: "c"}, textMsg("two"))
	c.Deliver(textMsg("three"))
	waitIdle(t, c)
	assertFrames(t, s, "text:g:one#1", "text:ack", "text::two#2", "text::three#3")
	if got := unackedSeqs(c); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("unacked = %v, want [1 2 3]", got)
	}
}

func TestAck(t *testing.T) {
	tests := []struct {
		name string
		acks []uint64
		want []uint64
	}{
		{"nothing acknowledged", nil, []uint64{1, 2, 3, 4, 5}},
		{"ack 0", []uint64{0}, []uint64{1, 2, 3, 4, 5}},
		{"ack some", []uint64{2}, []uint64{3, 4, 5}},
		{"ack all", []uint64{5}, nil},
		{"ack beyond the last", []uint64{99}, nil},
		{"ack max uint64", []uint64{math.MaxUint64}, nil},
		{"acks out of order", []uint64{3, 1, 2}, []uint64{4, 5}},
		{"repeated ack", []uint64{4, 4}, []uint64{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(t, Options{})
			c, _ := reliableConn(t, svc.Hub("h"), "c", nil)
			var sizes []int
			for i := range 5 {
				m := textMsg(strings.Repeat("d", i*10))
				sizes = append(sizes, m.Size())
				c.Deliver(m)
			}
			waitIdle(t, c)
			for _, a := range tt.acks {
				c.Ack(a)
			}
			if got := unackedSeqs(c); !slices.Equal(got, tt.want) {
				t.Errorf("unacked = %v, want %v", got, tt.want)
			}
			wantBytes := 0
			for _, seq := range tt.want {
				wantBytes += sizes[seq-1]
			}
			c.mu.Lock()
			gotBytes := c.unackedBytes
			c.mu.Unlock()
			if gotBytes != wantBytes {
				t.Errorf("unackedBytes = %d, want %d", gotBytes, wantBytes)
			}
		})
	}
}

// An ack counts only up to the last sequence id written to the socket: a client cannot empty its
// resend buffer of messages it never read.
func TestAckBeyondWhatWasSent(t *testing.T) {
	svc := newTestService(t, Options{})
	c, err := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubReliableJSON), Reliable: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newBlockingSocket()
	_ = c.Attach(s)
	c.Ack(math.MaxUint64) // before anything was sent
	c.Deliver(textMsg("a"))
	<-s.blocked // "a" (1) is being written; the rest waits in the queue
	c.Deliver(textMsg("b"))
	c.Deliver(textMsg("c"))
	c.Ack(math.MaxUint64)
	if got := unackedSeqs(c); !slices.Equal(got, []uint64{2, 3}) {
		t.Errorf("unacked after an ack of 2^64-1 = %v, want [2 3]", got)
	}
	s.release()
	waitIdle(t, c)
	c.Ack(math.MaxUint64)
	if got := unackedSeqs(c); len(got) != 0 {
		t.Errorf("unacked once all was written = %v, want none", got)
	}
}

// A reliable client that never reads, and acks every id it can think of, is held to the resend
// buffer's bounds and the queue's: it ends closed with 1008 and counted, having cost no more than
// those bounds.
func TestReliableClientThatNeverReads(t *testing.T) {
	checkLeaks(t)
	limits := Limits{MaxUnacked: 50, MaxUnackedBytes: 1 << 20, MaxQueuedFrames: 10, MaxQueuedBytes: 1 << 20}
	svc := newTestService(t, Options{Limits: limits})
	h := svc.Hub("h")
	var log closeLog
	c, err := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubReliableJSON), Reliable: true, OnClose: log.onClose}, []string{"g"})
	if err != nil {
		t.Fatal(err)
	}
	s := newBlockingSocket()
	_ = c.Attach(s)
	to := Selector{Kind: ToGroup, Name: "g"}
	sent := 0
	for ; sent < 10_000 && counterValue(t, svc.metrics.slowConsumers) == 0; sent++ {
		m := groupMsg("g", strings.Repeat("x", 100))
		m.Ephemeral = sent%3 == 0 // the dashboard's mix: pointers between the durable updates
		publishOrHang(t, h, &Envelope{Op: OpSend, To: to, Message: m})
		c.Send([]byte("pong"), false)
		c.Ack(math.MaxUint64)
		c.mu.Lock()
		frames, bytes := len(c.queue)+len(c.unacked), c.queuedBytes+c.unackedBytes
		c.mu.Unlock()
		if frames > 2*limits.MaxUnacked+limits.MaxQueuedFrames || bytes > 2*limits.MaxUnackedBytes+limits.MaxQueuedBytes {
			t.Fatalf("after %d messages the connection holds %d frames, %d bytes", sent+1, frames, bytes)
		}
	}
	testkit.WaitFor(t, "OnClose", func() bool { return len(log.get()) > 0 })
	if sent > 2*limits.MaxUnacked {
		t.Errorf("closed only after %d messages", sent)
	}
	if got := counterValue(t, svc.metrics.slowConsumers); got != 1 {
		t.Errorf("slow consumer closes = %v, want 1", got)
	}
	s.release()
	testkit.WaitFor(t, "socket closed", s.isClosed)
	frames := s.frames(t)
	if last := frames[len(frames)-1]; !strings.HasPrefix(last, "close:1008:") {
		t.Errorf("last frame %q, want a 1008 close", last)
	}
}

func TestReliableReconnect(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	var log closeLog
	c, s1 := reliableConn(t, h, "c", &log)
	_ = h.Join(c, "g")
	to := Selector{Kind: ToGroup, Name: "g"}
	for _, d := range []string{"m1", "m2", "m3"} {
		send(t, h, to, groupMsg("g", d))
	}
	waitIdle(t, c)
	c.Ack(1)
	c.Dropped(s1, "connection lost")
	if !s1.isClosed() {
		t.Error("the dropped socket was not closed")
	}
	// While no socket is attached, data is buffered and the connection's own frames are dropped.
	send(t, h, to, groupMsg("g", "m4"))
	c.Send([]byte("ack-for-nobody"), false)
	c.Ack(2)
	if !h.HasConnection("c") || !h.HasGroup("g") {
		t.Fatal("the session did not survive the drop")
	}

	s2 := newTestSocket()
	if err := c.Attach(s2); err != nil {
		t.Fatal(err)
	}
	send(t, h, to, groupMsg("g", "m5"))
	waitIdle(t, c)
	assertFrames(t, s1, "text:g:m1#1", "text:g:m2#2", "text:g:m3#3")
	assertFrames(t, s2, "text:g:m3#3", "text:g:m4#4", "text:g:m5#5")

	// A second client taking over an open socket: the old one is closed and the new one gets
	// the same replay.
	s3 := newTestSocket()
	if err := c.Attach(s3); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, c)
	if !s2.isClosed() {
		t.Error("the replaced socket was not closed")
	}
	assertFrames(t, s3, "text:g:m3#3", "text:g:m4#4", "text:g:m5#5")
	// A late failure report about a replaced socket changes nothing.
	c.Dropped(s2, "late")
	c.Deliver(textMsg("m6"))
	waitIdle(t, c)
	assertFrames(t, s3, "text:g:m3#3", "text:g:m4#4", "text:g:m5#5", "text::m6#6")
	if got := log.get(); len(got) != 0 {
		t.Errorf("OnClose called during reconnects: %q", got)
	}
}

func TestUnreliableDropEndsConnection(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	var log closeLog
	c, s := connect(t, h, ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON), OnClose: log.onClose}, "g")
	c.Dropped(newTestSocket(), "not mine") // another socket's failure is ignored
	if !h.HasConnection("c") {
		t.Fatal("a foreign socket's drop ended the connection")
	}
	c.Dropped(s, "connection lost")
	c.Dropped(s, "connection lost")
	if h.HasConnection("c") || h.HasGroup("g") {
		t.Error("a dropped connection is still indexed")
	}
	if !s.isClosed() {
		t.Error("socket not closed")
	}
	if got := log.get(); !slices.Equal(got, []string{"connection lost"}) {
		t.Errorf("OnClose reasons = %q", got)
	}
	if err := c.Attach(newTestSocket()); !errors.Is(err, ErrClosed) {
		t.Errorf("Attach after the end: %v", err)
	}
}

func TestWriteFailure(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reliable=%v", reliable), func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{})
			h := svc.Hub("h")
			var log closeLog
			codec := newTestCodec(FormatWebPubSubJSON)
			if reliable {
				codec = newTestCodec(FormatWebPubSubReliableJSON)
			}
			c, err := h.Connect(ConnOptions{ID: "c", Codec: codec, Reliable: reliable, OnClose: log.onClose}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := newTestSocket()
			s.failWith = errors.New("broken pipe")
			_ = c.Attach(s)
			c.Deliver(textMsg("lost"))
			testkit.WaitFor(t, "socket closed", s.isClosed)
			waitIdle(t, c)
			if reliable {
				if !h.HasConnection("c") || len(log.get()) != 0 {
					t.Fatal("a write failure ended a reliable session")
				}
				s2 := newTestSocket()
				_ = c.Attach(s2)
				waitIdle(t, c)
				assertFrames(t, s2, "text::lost#1")
				return
			}
			if h.HasConnection("c") {
				t.Error("connection still indexed after its socket failed")
			}
			if got := log.get(); !slices.Equal(got, []string{"write failed"}) {
				t.Errorf("OnClose reasons = %q", got)
			}
		})
	}
}

// The test runs on synctest's fake clock, so the stale message expires while it is queued behind
// the blocked write, however slow the machine.
func TestExpiredMessagesAreSkipped(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reliable=%v", reliable), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := newTestService(t, Options{})
				h := svc.Hub("h")
				codec := newTestCodec(FormatWebPubSubJSON)
				if reliable {
					codec = newTestCodec(FormatWebPubSubReliableJSON)
				}
				c, _ := h.Connect(ConnOptions{ID: "c", Codec: codec, Reliable: reliable}, nil)
				s := newBlockingSocket()
				_ = c.Attach(s)
				c.Deliver(textMsg("a"))
				<-s.blocked
				stale := textMsg("stale")
				stale.Expires = time.Now().Add(time.Millisecond)
				fresh := textMsg("fresh")
				fresh.Expires = time.Now().Add(time.Hour)
				c.Deliver(stale)
				c.Deliver(fresh)
				time.Sleep(5 * time.Millisecond)
				s.release()
				synctest.Wait() // the writer has written everything queued and stopped
				if reliable {
					// The expired message still used up its sequence id.
					assertFrames(t, s, "text::a#1", "text::fresh#3")
				} else {
					assertFrames(t, s, "text::a", "text::fresh")
				}
			})
		})
	}
}

func TestAllowInbound(t *testing.T) {
	type step struct {
		at       time.Duration
		want     bool
		flooding bool
	}
	// A full burst and one refusal every six seconds: never more than two refusals in ten seconds.
	var spaced []step
	for at := time.Duration(0); at < 30*time.Second; at += 6 * time.Second {
		spaced = append(spaced, step{at, true, false}, step{at, true, false}, step{at, true, false}, step{at, false, false})
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst, then refill", []step{
			// A burst of three passes, the fourth at once does not.
			{0, true, false}, {0, true, false}, {0, true, false}, {0, false, false},
			// Half a second refills one message at 2 per second.
			{500 * time.Millisecond, true, false}, {500 * time.Millisecond, false, false},
		}},
		{"more than a second's worth refused at once", []step{
			{0, true, false}, {0, true, false}, {0, true, false},
			{0, false, false}, {0, false, false}, {0, false, true},
			// Flooding is for good: the connection is to be closed.
			{time.Minute, true, true},
		}},
		// The steady flood that consecutive counting missed: every other message passes, and the
		// refusals between them add up within the window.
		{"steady at twice the rate", []step{
			{0, true, false}, {0, true, false}, {0, true, false},
			{250 * time.Millisecond, false, false}, {500 * time.Millisecond, true, false},
			{750 * time.Millisecond, false, false}, {time.Second, true, false},
			{1250 * time.Millisecond, false, true},
		}},
		{"a refusal now and then", spaced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(t, Options{Limits: Limits{MaxInboundPerSecond: 2, MaxInboundBurst: 3}})
			c, _ := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, nil)
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				got := c.AllowInbound(t0.Add(s.at))
				if got != s.want || c.Flooding() != s.flooding {
					t.Errorf("step %d at %v: AllowInbound = %v, Flooding = %v, want %v, %v", i, s.at, got, c.Flooding(), s.want, s.flooding)
				}
			}
		})
	}
}

// TestAllowInboundAtTheRate: a client that keeps to the rate, as one that only sends keep-alives
// does, carries no bucket; once it is faster, the bucket behaves as if it had been there all
// along.
func TestAllowInboundAtTheRate(t *testing.T) {
	svc := newTestService(t, Options{Limits: Limits{MaxInboundPerSecond: 2, MaxInboundBurst: 3}})
	c, _ := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, nil)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := t0
	for range 20 {
		if !c.AllowInbound(at) {
			t.Fatalf("a message at the rate refused at %v", at.Sub(t0))
		}
		at = at.Add(500 * time.Millisecond)
	}
	if c.inbound != nil {
		t.Error("a client keeping to the rate carries a bucket")
	}
	// The last message took one of three tokens; 100 ms later 2.2 are there: two pass, a third not.
	last := at.Add(-500*time.Millisecond + 100*time.Millisecond)
	for i, want := range []bool{true, true, false} {
		if got := c.AllowInbound(last); got != want {
			t.Errorf("message %d of the burst: AllowInbound = %v, want %v", i, got, want)
		}
	}
}

func TestReliableBufferOverflow(t *testing.T) {
	const reason = "The reliable message buffer is full."
	tests := []struct {
		name     string
		limits   Limits
		data     string
		detached bool
	}{
		{"by count", Limits{MaxUnacked: 3}, "x", false},
		{"by bytes", Limits{MaxUnackedBytes: 3 * (64 + 1 + 100)}, strings.Repeat("x", 100), false},
		{"by count while detached", Limits{MaxUnacked: 3}, "x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{Limits: tt.limits})
			h := svc.Hub("h")
			var log closeLog
			c, s := reliableConn(t, h, "c", &log)
			_ = h.Join(c, "g")
			_, other := connect(t, h, ConnOptions{ID: "other", Codec: newTestCodec(FormatWebPubSubJSON)}, "g")
			if tt.detached {
				c.Dropped(s, "lost")
			}
			to := Selector{Kind: ToGroup, Name: "g"}
			var want, wantOther []string
			for i := range 3 {
				publishOrHang(t, h, &Envelope{Op: OpSend, To: to, Message: groupMsg("g", tt.data)})
				want = append(want, fmt.Sprintf("text:g:%s#%d", tt.data, i+1))
				wantOther = append(wantOther, "text:g:"+tt.data)
			}
			waitIdle(t, c)
			if got := log.get(); len(got) != 0 {
				t.Fatalf("closed before the buffer was full: %q", got)
			}
			// The fourth message does not fit: the session ends, from inside a group fan-out.
			publishOrHang(t, h, &Envelope{Op: OpSend, To: to, Message: groupMsg("g", tt.data)})
			wantOther = append(wantOther, "text:g:"+tt.data)
			testkit.WaitFor(t, "OnClose", func() bool { return len(log.get()) > 0 })
			testkit.WaitFor(t, "socket closed", s.isClosed)
			if tt.detached {
				want = nil
			} else {
				want = append(want, "text:bye:"+reason, "close:1008:"+reason)
			}
			assertFrames(t, s, want...)
			if got := log.get(); !slices.Equal(got, []string{reason}) {
				t.Errorf("OnClose reasons = %q", got)
			}
			if err := c.Attach(newTestSocket()); !errors.Is(err, ErrClosed) {
				t.Errorf("the session can be recovered after overflow: %v", err)
			}
			// Everyone else is unaffected.
			publishOrHang(t, h, &Envelope{Op: OpSend, To: to, Message: groupMsg("g", "after")})
			o, _ := h.Connection("other")
			waitIdle(t, o)
			assertFrames(t, other, append(wantOther, "text:g:after")...)
		})
	}
}

// queueScript is a step of an outbound-queue test: a message to deliver, ephemeral or not.
type queueStep struct {
	data      string
	ephemeral bool
}

func TestOutboundQueueLimits(t *testing.T) {
	const slow = "slow consumer: outbound queue full"
	d := func(s string) queueStep { return queueStep{s, false} }
	e := func(s string) queueStep { return queueStep{s, true} }
	// Each message counts 74 bytes (10 of data and 64 of overhead): two fit in 150 bytes.
	tests := []struct {
		name   string
		limits Limits
		steps  []queueStep
		// want is what the blocked client gets after "first"; closed says it was closed as slow.
		want    []string
		closed  bool
		dropped float64
	}{
		{"within the limit", Limits{MaxQueuedFrames: 4}, []queueStep{d("a"), e("b"), d("c"), e("d")},
			[]string{"text::a", "text::b", "text::c", "text::d"}, false, 0},
		{"new ephemeral dropped when full", Limits{MaxQueuedFrames: 2}, []queueStep{d("a"), d("b"), e("c"), e("d")},
			[]string{"text::a", "text::b"}, false, 2},
		{"queued ephemeral dropped for durable", Limits{MaxQueuedFrames: 3}, []queueStep{e("a"), d("b"), e("c"), d("d"), d("e")},
			[]string{"text::b", "text::d", "text::e"}, false, 2},
		{"durable overflow closes", Limits{MaxQueuedFrames: 3}, []queueStep{e("a"), d("b"), d("c"), d("d"), d("e")},
			[]string{"text:bye:" + slow, "close:1008:" + slow}, true, 1},
		{"byte limit", Limits{MaxQueuedBytes: 150}, []queueStep{d("0123456789"), e("0123456789"), d("0123456789")},
			[]string{"text::0123456789", "text::0123456789"}, false, 1},
		{"byte limit closes", Limits{MaxQueuedBytes: 150}, []queueStep{d("0123456789"), d("0123456789"), d("0123456789")},
			[]string{"text:bye:" + slow, "close:1008:" + slow}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{Limits: tt.limits})
			h := svc.Hub("h")
			codec := newTestCodec(FormatWebPubSubJSON)
			var log closeLog
			c, err := h.Connect(ConnOptions{ID: "slow", Codec: codec, OnClose: log.onClose}, []string{"g"})
			if err != nil {
				t.Fatal(err)
			}
			s := newBlockingSocket()
			_ = c.Attach(s)
			fast, fs := connect(t, h, ConnOptions{ID: "fast", Codec: codec}, "g")
			to := Selector{Kind: ToGroup, Name: "g"}
			send(t, h, to, textMsg("first"))
			waitIdle(t, fast)
			<-s.blocked // the writer holds "first"; everything else queues behind it
			wantFast := []string{"text::first"}
			for _, st := range tt.steps {
				m := textMsg(st.data)
				m.Ephemeral = st.ephemeral
				publishOrHang(t, h, &Envelope{Op: OpSend, To: to, Message: m})
				// With queues this small, even a fast reader must be given time to drain.
				waitIdle(t, fast)
				wantFast = append(wantFast, "text::"+st.data)
			}
			if tt.closed {
				testkit.WaitFor(t, "slow consumer close", func() bool { return len(log.get()) > 0 })
			}
			s.release()
			waitIdle(t, c, fast)
			assertFrames(t, s, append([]string{"text::first"}, tt.want...)...)
			assertFrames(t, fs, wantFast...)
			if got := counterValue(t, svc.metrics.dropped); got != tt.dropped {
				t.Errorf("dropped = %v, want %v", got, tt.dropped)
			}
			if tt.closed {
				if got := log.get(); !slices.Equal(got, []string{slow}) {
					t.Errorf("OnClose reasons = %q", got)
				}
				if !s.isClosed() {
					t.Error("slow socket not closed")
				}
				if got := counterValue(t, svc.metrics.slowConsumers); got != 1 {
					t.Errorf("slow consumer closes = %v, want 1", got)
				}
			} else if len(log.get()) != 0 || s.isClosed() {
				t.Error("closed although the queue never overflowed with durable traffic")
			}
			if s.writesAfterClose != 0 {
				t.Errorf("%d writes after the socket was closed", s.writesAfterClose)
			}
		})
	}
}

// A reliable connection is bounded by its resend buffer, not by the outbound queue: a backlog
// longer than the queue limit neither drops the socket nor stops a replay of all of it.
func TestReliableBacklogBeyondQueueLimit(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{Limits: Limits{MaxQueuedFrames: 2}})
	h := svc.Hub("h")
	var log closeLog
	c, err := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubReliableJSON), Reliable: true, OnClose: log.onClose}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s1 := newBlockingSocket()
	_ = c.Attach(s1)
	c.Deliver(textMsg("m1"))
	<-s1.blocked
	for _, d := range []string{"m2", "m3", "m4"} {
		c.Deliver(textMsg(d))
	}
	s1.release()
	waitIdle(t, c)
	want := []string{"text::m1#1", "text::m2#2", "text::m3#3", "text::m4#4"}
	if s1.isClosed() || len(log.get()) != 0 {
		t.Fatal("a backlog over the queue limit dropped a reliable connection")
	}
	assertFrames(t, s1, want...)

	c.Dropped(s1, "network cut")
	s2 := newTestSocket()
	_ = c.Attach(s2)
	waitIdle(t, c)
	assertFrames(t, s2, want...)
}

func TestClose(t *testing.T) {
	long := strings.Repeat("r", 200)
	// 122 bytes, then a 3-byte character across the 123-byte limit: the frame keeps the 122.
	wide := strings.Repeat("r", 122) + strings.Repeat("你", 10)
	tests := []struct {
		name   string
		code   int
		reason string
		want   []string
	}{
		{"normal keeps what was queued", CloseNormal, "bye now",
			[]string{"text::first", "text::a", "text:ack", "text::b", "text:bye:bye now", "close:1000:bye now"}},
		{"empty reason", CloseNormal, "",
			[]string{"text::first", "text::a", "text:ack", "text::b", "text:bye:", "close:1000:"}},
		{"policy violation drops queued messages but not replies", ClosePolicyViolation, "too many messages",
			[]string{"text::first", "text:ack", "text:bye:too many messages", "close:1008:too many messages"}},
		{"long reason is cut in the close frame only", CloseInternalError, long,
			[]string{"text::first", "text::a", "text:ack", "text::b", "text:bye:" + long, "close:1011:" + long[:123]}},
		{"long reason is cut between characters", CloseNormal, wide,
			[]string{"text::first", "text::a", "text:ack", "text::b", "text:bye:" + wide, "close:1000:" + wide[:122]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{})
			h := svc.Hub("h")
			var log closeLog
			c, _ := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON), OnClose: log.onClose}, []string{"g"})
			s := newBlockingSocket()
			_ = c.Attach(s)
			c.Deliver(textMsg("first"))
			<-s.blocked
			c.Deliver(textMsg("a"))
			c.Send([]byte("ack"), false)
			c.Deliver(textMsg("b"))
			c.Close(tt.code, tt.reason)
			// After Close nothing more is queued, and Close is idempotent.
			c.Deliver(textMsg("late"))
			c.Send([]byte("late"), false)
			c.Close(CloseNormal, "again")
			if h.HasConnection("c") || h.HasGroup("g") {
				t.Error("closed connection still indexed")
			}
			s.release()
			testkit.WaitFor(t, "socket closed", s.isClosed)
			waitIdle(t, c)
			assertFrames(t, s, tt.want...)
			if s.writesAfterClose != 0 {
				t.Errorf("%d writes after the socket was closed", s.writesAfterClose)
			}
			if got := log.get(); !slices.Equal(got, []string{tt.reason}) {
				t.Errorf("OnClose reasons = %q, want exactly one call with %q", got, tt.reason)
			}
		})
	}
}

func TestCloseWithoutSocket(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	var log closeLog
	c, _ := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON), OnClose: log.onClose}, nil)
	c.Close(CloseNormal, "never attached")
	if got := log.get(); !slices.Equal(got, []string{"never attached"}) {
		t.Errorf("OnClose reasons = %q", got)
	}
	r, s := reliableConn(t, h, "r", &log)
	r.Dropped(s, "lost")
	r.Close(CloseNormal, "while detached")
	if got := log.get(); !slices.Equal(got, []string{"never attached", "while detached"}) {
		t.Errorf("OnClose reasons = %q", got)
	}
	if h.HasConnection("r") {
		t.Error("closed reliable session still indexed")
	}
}

func TestClosedByClient(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{1000, "close:1000:"},
		{1001, "close:1001:"},
		{1005, "close:1000:"}, // no status code: answer with a normal close
		{0, "close:1000:"},
		{4000, "close:4000:"},
	}
	for _, tt := range tests {
		for _, reliable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d reliable=%v", tt.code, reliable), func(t *testing.T) {
				checkLeaks(t)
				svc := newTestService(t, Options{})
				h := svc.Hub("h")
				var log closeLog
				codec := newTestCodec(FormatWebPubSubJSON)
				if reliable {
					codec = newTestCodec(FormatWebPubSubReliableJSON)
				}
				c, s := connect(t, h, ConnOptions{ID: "c", Codec: codec, Reliable: reliable, OnClose: log.onClose})
				c.ClosedByClient(tt.code)
				testkit.WaitFor(t, "socket closed", s.isClosed)
				waitIdle(t, c)
				assertFrames(t, s, tt.want) // no goodbye: the client is leaving
				if got := log.get(); !slices.Equal(got, []string{""}) {
					t.Errorf("OnClose reasons = %q", got)
				}
				if err := c.Attach(newTestSocket()); !errors.Is(err, ErrClosed) {
					t.Errorf("a session closed by its client can be resumed: %v", err)
				}
			})
		}
	}
}

// Shutdown writes what is queued before it closes. The test runs in a synctest bubble, which
// also fails it if a goroutine is left behind.
func TestShutdownFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		h := svc.Hub("h")
		codec := newTestCodec(FormatWebPubSubJSON)
		c1, _ := h.Connect(ConnOptions{ID: "c1", Codec: codec}, []string{"g"})
		s1 := newBlockingSocket()
		_ = c1.Attach(s1)
		_, s2 := connect(t, svc.Hub("other"), ConnOptions{ID: "c2", Codec: codec})
		var log closeLog
		r, rs := reliableConn(t, h, "r", &log)
		r.Dropped(rs, "lost") // a detached session ends too
		send(t, h, Selector{Kind: ToGroup, Name: "g"}, textMsg("m1"))
		<-s1.blocked
		send(t, h, Selector{Kind: ToGroup, Name: "g"}, textMsg("m2"))

		done := make(chan error, 1)
		go func() { done <- svc.Shutdown(context.Background(), "restarting") }()
		synctest.Wait() // Shutdown has gone as far as it can while s1 blocks
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v before the queued messages were written", err)
		default:
		}
		s1.release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		assertFrames(t, s1, "text::m1", "text::m2", "text:bye:restarting", "close:1001:restarting")
		assertFrames(t, s2, "text:bye:restarting", "close:1001:restarting")
		if !s1.isClosed() || !s2.isClosed() {
			t.Error("sockets left open after Shutdown")
		}
		for _, id := range []string{"c1", "r"} {
			if h.HasConnection(id) {
				t.Errorf("%s survived Shutdown", id)
			}
		}
		if got := log.get(); !slices.Equal(got, []string{"restarting"}) {
			t.Errorf("detached session's OnClose reasons = %q", got)
		}
	})
}

// Shutdown gives up when its context ends, and says so.
func TestShutdownDeadline(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	c, _ := svc.Hub("h").Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, nil)
	s := newBlockingSocket()
	t.Cleanup(s.release)
	_ = c.Attach(s)
	c.Deliver(textMsg("stuck"))
	<-s.blocked
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := svc.Shutdown(ctx, "restarting"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a stuck socket = %v, want a deadline error", err)
	}
}

// A burst to a connection that has just overflowed closes it once: one goodbye, one close
// frame, one count in the slow-consumer metric, and no goroutine per message that missed.
func TestSlowConsumerClosedOnce(t *testing.T) {
	tests := []struct {
		name     string
		reliable bool
		reason   string
	}{
		{"queue full", false, "slow consumer: outbound queue full"},
		{"reliable buffer full", true, "The reliable message buffer is full."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{Limits: Limits{MaxQueuedFrames: 4, MaxUnacked: 4}})
			h := svc.Hub("h")
			var log closeLog
			codec := newTestCodec(FormatWebPubSubJSON)
			if tt.reliable {
				codec = newTestCodec(FormatWebPubSubReliableJSON)
			}
			c, _ := h.Connect(ConnOptions{ID: "c", Codec: codec, Reliable: tt.reliable, OnClose: log.onClose}, []string{"g"})
			s := newBlockingSocket()
			_ = c.Attach(s)
			c.Deliver(textMsg("first"))
			<-s.blocked
			for range 500 {
				send(t, h, Selector{Kind: ToGroup, Name: "g"}, textMsg("burst"))
			}
			testkit.WaitFor(t, "OnClose", func() bool { return len(log.get()) > 0 })
			s.release()
			testkit.WaitFor(t, "socket closed", s.isClosed)
			waitIdle(t, c)
			first := "text::first"
			if tt.reliable {
				first += "#1"
			}
			assertFrames(t, s, first, "text:bye:"+tt.reason, "close:1008:"+tt.reason)
			if got := counterValue(t, svc.metrics.slowConsumers); got != 1 {
				t.Errorf("slow-consumer closes counted %v times for one connection", got)
			}
			if got := log.get(); !slices.Equal(got, []string{tt.reason}) {
				t.Errorf("OnClose reasons = %q", got)
			}
		})
	}
}

// droppingSocket fails its connection's reader as soon as the close frame is written, as a client
// that hangs up on reading the close frame makes the server's reader fail.
type droppingSocket struct {
	*testSocket
	conn *Conn
}

func (s droppingSocket) Write(p []byte) (int, error) {
	n, err := s.testSocket.Write(p)
	if bytes.Contains(p, []byte{0x88}) {
		s.conn.Dropped(s, "connection lost")
	}
	return n, err
}

// A connection the service closes ends with the service's reason, even when its client hangs up
// on the close frame before the closing call has finished: the disconnected event must say why
// the application server closed it, not that the connection was lost.
func TestCloseReasonSurvivesTheClientHangingUp(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	for i := range 1000 {
		var log closeLog
		c, err := h.Connect(ConnOptions{ID: fmt.Sprint("c", i), Codec: newTestCodec(FormatWebPubSubJSON), OnClose: log.onClose}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Attach(droppingSocket{newTestSocket(), c}); err != nil {
			t.Fatal(err)
		}
		c.Close(CloseNormal, "bye")
		testkit.WaitFor(t, "OnClose", func() bool { return len(log.get()) > 0 })
		if got := log.get(); !slices.Equal(got, []string{"bye"}) {
			t.Fatalf("round %d: OnClose reasons %q, want the service's", i, got)
		}
	}
}
