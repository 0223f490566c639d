package signalr

import (
	"context"
	"net"
	"os"
	"sync"
	"time"
)

// outbox is the socket of a connection on an HTTP transport: the connection's writer puts the
// hub protocol's bytes in, and the transport's request (the event stream, the current poll) takes
// them out. It holds at most max bytes beside one write, so a client that does not read fills it,
// the writer's deadline passes, and the connection's bounded queue closes it as a slow consumer
// like any other; a write that times out has put nothing in, so retrying it whole is right.
type outbox struct {
	max int

	mu       sync.Mutex
	buf      []byte
	deadline time.Time
	closed   bool
	ready    chan struct{} // holds a token while there is something for the reader
	room     chan struct{} // closed, and replaced, whenever the reader takes the bytes
}

func newOutbox(max int) *outbox {
	return &outbox{max: max, ready: make(chan struct{}, 1), room: make(chan struct{})}
}

// Write queues p whole, waiting until the reader makes room or the write deadline passes.
func (o *outbox) Write(p []byte) (int, error) {
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return 0, net.ErrClosed
		}
		if len(o.buf) == 0 || len(o.buf)+len(p) <= o.max {
			o.buf = append(o.buf, p...)
			o.mu.Unlock()
			o.signal()
			return len(p), nil
		}
		room, deadline := o.room, o.deadline
		o.mu.Unlock()
		if err := waitUntil(room, deadline); err != nil {
			return 0, err
		}
	}
}

func waitUntil(ch <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		<-ch
		return nil
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return os.ErrDeadlineExceeded
	}
}

func (o *outbox) SetWriteDeadline(t time.Time) error {
	o.mu.Lock()
	o.deadline = t
	o.mu.Unlock()
	return nil
}

// Close ends the outbox: what is in it is still read, then the reader hears the end.
func (o *outbox) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
	return nil
}

func (o *outbox) signal() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// next waits until there are bytes to read, the outbox is closed, ctx ends or timeout passes,
// and takes everything there is; closed reports that nothing more will come after data.
func (o *outbox) next(ctx context.Context, timeout time.Duration) (data []byte, closed bool, err error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		o.mu.Lock()
		data, closed = o.buf, o.closed
		if len(data) > 0 {
			o.buf = nil
			close(o.room)
			o.room = make(chan struct{})
		}
		o.mu.Unlock()
		if len(data) > 0 || closed {
			return data, closed, nil
		}
		select {
		case <-o.ready:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-expired:
			return nil, false, nil
		}
	}
}
