package pubsub

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"time"
)

// flusher writes the queues of every connection with a few shared goroutines. A goroutine per
// recipient per message, spawned and ended for each fan-out, cost more CPU than the writes
// themselves; a bounded set of workers also lets a publisher keep running while they write, so
// that messages pile up per connection and go out several to a write call.
//
// A connection is in the ready line at most once (its writing flag says so). A worker gives each
// connection one write call per turn and sends it to the back of the line if more is queued, so
// a busy connection cannot starve the others. A write the client does not take within
// poolWriteBudget is finished by a goroutine of that connection's own, so one slow reader never
// holds up a worker.
type flusher struct {
	max int

	mu      sync.Mutex
	ready   []*Conn
	head    int
	running int
}

// poolWriteBudget is how long a shared worker waits on one client's socket.
const poolWriteBudget = 20 * time.Millisecond

func newFlusher() *flusher {
	return &flusher{max: max(4, 2*runtime.GOMAXPROCS(0))}
}

// schedule puts c in the ready line; the caller has made c's writing flag true.
func (f *flusher) schedule(c *Conn) {
	f.mu.Lock()
	f.ready = append(f.ready, c)
	spawn := f.startWorkerLocked()
	f.mu.Unlock()
	if spawn {
		go f.work()
	}
}

// scheduleAll is schedule for the recipients of one fan-out, under one lock.
func (f *flusher) scheduleAll(cs []*Conn) {
	if len(cs) == 0 {
		return
	}
	f.mu.Lock()
	f.ready = append(f.ready, cs...)
	var spawn int
	for f.startWorkerLocked() && spawn < len(cs) {
		spawn++
	}
	f.mu.Unlock()
	for range spawn {
		go f.work()
	}
}

// startWorkerLocked counts a new worker in when the line is longer than the workers can take.
// Workers exist only while there is something to write, so an idle service has none.
func (f *flusher) startWorkerLocked() bool {
	if f.running >= f.max {
		return false
	}
	f.running++
	return true
}

func (f *flusher) take() *Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.head == len(f.ready) {
		clear(f.ready)
		f.ready, f.head = f.ready[:0], 0
		f.running--
		return nil
	}
	c := f.ready[f.head]
	f.ready[f.head] = nil
	f.head++
	return c
}

func (f *flusher) work() {
	bufp := getWriteBuf()
	defer putWriteBuf(bufp)
	for c := f.take(); c != nil; c = f.take() {
		if c.writeTurn(bufp, poolWriteBudget) {
			f.schedule(c)
		}
	}
}

// writeBatchBytes is the size write buffers start at; they grow to hold one turn's frames.
const writeBatchBytes = 64 << 10

// maxPooledWriteBuf keeps a burst's huge buffer from being held forever by the pool.
const maxPooledWriteBuf = 1 << 20

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, writeBatchBytes); return &b }}

func getWriteBuf() *[]byte { return writeBufPool.Get().(*[]byte) }

func putWriteBuf(b *[]byte) {
	if cap(*b) <= maxPooledWriteBuf {
		*b = (*b)[:0]
		writeBufPool.Put(b)
	}
}

// writeTurn writes everything queued for c in one write call. The caller holds c's writer role;
// writeTurn reports whether it still does with more to write, or has given the role up (nothing
// left, or the rest handed to a goroutine of c's own because the client is slow).
func (c *Conn) writeTurn(bufp *[]byte, budget time.Duration) (more bool) {
	c.mu.Lock()
	sock := c.sock
	if sock == nil || len(c.queue) == 0 {
		c.mu.Unlock()
		return c.finishTurn()
	}
	batch := c.queue
	c.queue, c.spare = c.spare[:0], nil
	c.queuedBytes = 0
	c.mu.Unlock()

	buf, closed, sent := c.render((*bufp)[:0], batch)
	clear(batch)
	c.mu.Lock()
	c.spare = batch[:0]
	c.sentSeq = max(c.sentSeq, sent)
	c.mu.Unlock()

	_ = sock.SetWriteDeadline(time.Now().Add(budget))
	n, err := sock.Write(buf)
	c.metrics.bytesOut.Add(float64(n))
	*bufp = buf[:0]
	if err != nil && n < len(buf) && budget < c.limits.WriteTimeout && errors.Is(err, os.ErrDeadlineExceeded) {
		go c.writeSlowly(sock, append([]byte(nil), buf[n:]...), closed)
		return false
	}
	c.wrote(sock, err, closed)
	return c.finishTurn()
}

// writeSlowly finishes a write a client was slow to take, then keeps writing for that client on
// this goroutine, with the full write timeout, until its queue is empty.
func (c *Conn) writeSlowly(sock Socket, rest []byte, closed bool) {
	_ = sock.SetWriteDeadline(time.Now().Add(c.limits.WriteTimeout))
	n, err := sock.Write(rest)
	c.metrics.bytesOut.Add(float64(n))
	c.wrote(sock, err, closed)
	if !c.finishTurn() {
		return
	}
	bufp := getWriteBuf()
	defer putWriteBuf(bufp)
	for c.writeTurn(bufp, c.limits.WriteTimeout) {
	}
}

func (c *Conn) wrote(sock Socket, err error, closed bool) {
	if err != nil {
		c.metrics.writeErrors.Inc()
		c.Dropped(sock, "write failed")
	}
	if closed {
		_ = sock.Close()
	}
}

// finishTurn keeps the writer role when more is queued for a live socket, and otherwise gives it
// up, closing the socket of a connection that ended while it was being written.
func (c *Conn) finishTurn() (more bool) {
	c.mu.Lock()
	sock := c.sock
	if sock != nil && len(c.queue) > 0 {
		c.mu.Unlock()
		return true
	}
	c.writing = false
	ended := c.ended
	c.mu.Unlock()
	if ended && sock != nil {
		_ = sock.Close()
	}
	return false
}

// render appends batch's frames to buf, stopping after a close frame, after which nothing may
// follow on the wire. sent is the highest sequence id rendered or skipped as expired.
func (c *Conn) render(buf []byte, batch []outbound) (_ []byte, closed bool, sent uint64) {
	now := time.Now()
	var oldest time.Time
	delivered := 0
	for _, o := range batch {
		if o.msg != nil {
			sent = max(sent, o.seq)
			if o.msg.expired(now) {
				continue
			}
			var ok bool
			if buf, ok = c.appendMessage(buf, o); !ok {
				continue
			}
			delivered++
			if oldest.IsZero() || o.msg.Published.Before(oldest) {
				oldest = o.msg.Published
			}
			continue
		}
		sent = max(sent, o.seq)
		if o.op == opClose {
			if !c.unframed {
				buf = appendFrameHeader(buf, o.op, len(o.raw))
				buf = append(buf, o.raw...)
			}
			closed = true
			break
		}
		if c.unframed {
			if o.op == opText || o.op == opBinary {
				buf = append(buf, o.raw...)
			}
			continue
		}
		buf = appendFrameHeader(buf, o.op, len(o.raw))
		buf = append(buf, o.raw...)
	}
	if delivered > 0 {
		c.metrics.messagesOut.Add(float64(delivered))
		if !oldest.IsZero() {
			c.metrics.fanoutLatency.Observe(now.Sub(oldest).Seconds())
		}
	}
	return buf, closed, sent
}
