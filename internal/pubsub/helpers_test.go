package pubsub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// testCodec renders a message as "<group>:<data>" (reliable: followed by "#<seq>") and counts its
// encodings, so that tests can assert both the exact bytes and the encode-once rule.
type testCodec struct {
	format   Format
	reliable bool
	encodes  atomic.Int64
}

func newTestCodec(f Format) *testCodec {
	return &testCodec{format: f, reliable: f == FormatWebPubSubReliableJSON}
}

func (c *testCodec) Format() Format { return c.format }

func (c *testCodec) Encode(m *Message) Frame {
	c.encodes.Add(1)
	p := make([]byte, 0, len(m.Group)+1+len(m.Data))
	p = append(p, m.Group...)
	p = append(p, ':')
	p = append(p, m.Data...)
	return Frame{Payload: p, Binary: m.DataType == Binary}
}

func (c *testCodec) AppendSequence(dst []byte, seq uint64) []byte {
	return fmt.Appendf(dst, "#%d", seq)
}

func (c *testCodec) Goodbye(reason string) []byte { return []byte("bye:" + reason) }

// wsFrame is one parsed server frame.
type wsFrame struct {
	op      byte
	payload []byte
}

// String renders a frame for exact comparisons: "text:<payload>", "binary:<payload>",
// "close:<code>:<reason>", "ping:<payload>", "pong:<payload>".
func (f wsFrame) String() string {
	switch f.op {
	case opText:
		return "text:" + string(f.payload)
	case opBinary:
		return "binary:" + string(f.payload)
	case opClose:
		if len(f.payload) < 2 {
			return "close:"
		}
		return fmt.Sprintf("close:%d:%s", binary.BigEndian.Uint16(f.payload), f.payload[2:])
	case opPing:
		return "ping:" + string(f.payload)
	case opPong:
		return "pong:" + string(f.payload)
	}
	return fmt.Sprintf("op%d:%x", f.op, f.payload)
}

// parseFrames reads back what the hub wrote: unmasked, final frames as RFC 6455 §5.2 lays them
// out. It fails on anything a server must not send.
func parseFrames(b []byte) ([]wsFrame, error) {
	var out []wsFrame
	for len(b) > 0 {
		if len(b) < 2 {
			return out, fmt.Errorf("truncated header: % x", b)
		}
		h0, h1 := b[0], b[1]
		if h0&0x80 == 0 {
			return out, errors.New("fragmented frame (FIN clear)")
		}
		if h0&0x70 != 0 {
			return out, fmt.Errorf("reserved bits set: %#x", h0)
		}
		if h1&0x80 != 0 {
			return out, errors.New("server frame is masked")
		}
		op := h0 & 0x0F
		n := uint64(h1 & 0x7F)
		b = b[2:]
		switch n {
		case 126:
			if len(b) < 2 {
				return out, errors.New("truncated 16-bit length")
			}
			n = uint64(binary.BigEndian.Uint16(b))
			if n < 126 {
				return out, fmt.Errorf("non-minimal 16-bit length %d", n)
			}
			b = b[2:]
		case 127:
			if len(b) < 8 {
				return out, errors.New("truncated 64-bit length")
			}
			n = binary.BigEndian.Uint64(b)
			if n <= 0xFFFF || n>>63 != 0 {
				return out, fmt.Errorf("bad 64-bit length %d", n)
			}
			b = b[8:]
		}
		if op >= 0x8 && n > 125 {
			return out, fmt.Errorf("control frame of %d bytes", n)
		}
		if uint64(len(b)) < n {
			return out, fmt.Errorf("truncated payload: want %d, have %d", n, len(b))
		}
		out = append(out, wsFrame{op: op, payload: b[:n:n]})
		b = b[n:]
	}
	return out, nil
}

// testSocket records every byte the hub writes. Write can be made to block until released, or to
// fail; writes after Close fail as they would on a net.Conn.
type testSocket struct {
	mu               sync.Mutex
	buf              []byte
	writes           int
	closes           int
	writesAfterClose int
	failWith         error
	gate             chan struct{} // non-nil: each Write waits for a value or for gate to close
	blocked          chan struct{} // receives when a Write starts waiting on gate
	closed           chan struct{}
}

func newTestSocket() *testSocket { return &testSocket{closed: make(chan struct{})} }

// newBlockingSocket returns a socket whose writes wait until release is called.
func newBlockingSocket() *testSocket {
	s := newTestSocket()
	s.gate = make(chan struct{})
	s.blocked = make(chan struct{}, 1)
	return s
}

func (s *testSocket) Write(p []byte) (int, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case s.blocked <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-s.closed:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closes > 0 {
		s.writesAfterClose++
		return 0, net.ErrClosed
	}
	if s.failWith != nil {
		return 0, s.failWith
	}
	s.writes++
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// release lets every blocked and future write through.
func (s *testSocket) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *testSocket) SetWriteDeadline(time.Time) error { return nil }

func (s *testSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	if s.closes == 1 {
		close(s.closed)
	}
	return nil
}

func (s *testSocket) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes > 0
}

// frames parses everything written so far.
func (s *testSocket) frames(t testing.TB) []string {
	t.Helper()
	s.mu.Lock()
	b := append([]byte(nil), s.buf...)
	s.mu.Unlock()
	fs, err := parseFrames(b)
	if err != nil {
		t.Fatalf("malformed output after %d frames: %v", len(fs), err)
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

// discardSocket swallows writes; benchmarks use it to measure the hub alone.
type discardSocket struct{ n atomic.Int64 }

func (d *discardSocket) Write(p []byte) (int, error)      { d.n.Add(int64(len(p))); return len(p), nil }
func (d *discardSocket) SetWriteDeadline(time.Time) error { return nil }
func (d *discardSocket) Close() error                     { return nil }

// waitIdle waits until no writer is draining any of conns. A writer is marked as running before
// the call that queued its work returns, so after waitIdle everything queued has been written.
func waitIdle(t testing.TB, conns ...*Conn) {
	t.Helper()
	testkit.WaitFor(t, "writers to drain", func() bool {
		for _, c := range conns {
			if c.flushing() {
				return false
			}
		}
		return true
	})
}

// checkLeaks fails the test if, once every later cleanup has run, more goroutines are alive than
// when it was called. Call it first so that its cleanup runs last. Tests that use it must not
// run in parallel.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		// Goroutines told to stop by the cleanups may still be on their way out.
		if testkit.Poll(5*time.Second, func() bool { return runtime.NumGoroutine() <= before }) {
			return
		}
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutine leak: %d before, %d after cleanup\n%s", before, runtime.NumGoroutine(), leakedStacks(buf))
	})
}

// leakedStacks keeps the stacks that mention this module, which is where a leak would be.
func leakedStacks(all []byte) string {
	var keep []string
	for _, g := range strings.Split(string(all), "\n\n") {
		if strings.Contains(g, "huddle/internal/pubsub.") && !strings.Contains(g, "checkLeaks") {
			keep = append(keep, g)
		}
	}
	if len(keep) == 0 {
		return string(all)
	}
	return strings.Join(keep, "\n\n")
}

// newTestService starts a service on a memory broker and stops it, closing every connection, when
// the test ends.
func newTestService(t testing.TB, opts Options) *Service {
	t.Helper()
	b := NewMemoryBroker()
	opts.Broker = b
	svc, err := NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := svc.Shutdown(sctx, "test over"); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return svc
}

// closeLog records OnClose calls.
type closeLog struct {
	mu      sync.Mutex
	reasons []string
}

func (l *closeLog) onClose(_ *Conn, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reasons = append(l.reasons, reason)
}

func (l *closeLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reasons...)
}

// connect registers and attaches a connection, failing the test on error.
func connect(t testing.TB, h *Hub, opts ConnOptions, groups ...string) (*Conn, *testSocket) {
	t.Helper()
	c, err := h.Connect(opts, groups)
	if err != nil {
		t.Fatalf("connect %q: %v", opts.ID, err)
	}
	s := newTestSocket()
	if err := c.Attach(s); err != nil {
		t.Fatalf("attach %q: %v", opts.ID, err)
	}
	return c, s
}

func textMsg(data string) *Message { return NewMessage(Text, []byte(data)) }

func groupMsg(group, data string) *Message {
	m := NewMessage(Text, []byte(data))
	m.Origin, m.Group = FromGroup, group
	return m
}

func send(t testing.TB, h *Hub, to Selector, m *Message) {
	t.Helper()
	if err := h.Publish(context.Background(), &Envelope{Op: OpSend, To: to, Message: m}); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func assertFrames(t testing.TB, s *testSocket, want ...string) {
	t.Helper()
	if got := s.frames(t); !slices.Equal(got, want) {
		t.Errorf("frames:\n got %q\nwant %q", got, want)
	}
}
