package pubsub

import (
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Socket is the write side of a live WebSocket: the hub writes complete frames to it. A net.Conn
// satisfies it.
type Socket interface {
	Write(p []byte) (int, error)
	SetWriteDeadline(t time.Time) error
	Close() error
}

// ConnOptions describe a connection being registered with [Hub.Connect].
type ConnOptions struct {
	ID     string // empty: a random id is generated
	UserID string
	Roles  []string
	Codec  Codec
	// Reliable connections number durable data messages and keep them until acknowledged.
	Reliable bool
	// Attachment is the protocol layer's own per-connection state; it survives reconnects.
	Attachment any
	// Unframed connections' sockets are not WebSockets (SignalR's Server-Sent Events and long
	// polling): they receive the payloads as they are, without frame headers, and no control
	// frames; the close frame only ends the batch, after which the socket is closed.
	Unframed bool
	// OnClose runs once when the connection ends for good, with the reason given to the client.
	OnClose func(c *Conn, reason string)
}

// ErrClosed is returned for operations on a connection that has ended.
var ErrClosed = errors.New("connection closed")

// Conn is one logical client connection. For reliable connections it outlives its sockets:
// between a drop and a reconnect it keeps buffering messages.
type Conn struct {
	id         string
	userID     string
	roles      []string
	hub        *Hub
	codec      Codec
	reliable   bool
	counting   bool // the codec's clients count messages: see countingProtocol
	unframed   bool
	attachment any
	onClose    func(*Conn, string)
	grants     *grants
	limits     *Limits
	metrics    *metrics

	flusher *flusher
	// seqBuf is the writer's scratch for sequence ids; a local array would escape through the
	// Codec interface and cost an allocation per reliable message.
	seqBuf []byte

	// groups is guarded by hub.mu; groupList mirrors it sorted, for filters that read it per message.
	groups    map[string]struct{}
	groupList []string

	mu           sync.Mutex
	sock         Socket // nil while a reliable session waits for its client to come back
	writing      bool   // a writer (pool worker or slow writer) owns the queue
	queue        []outbound
	spare        []outbound // the previous batch's backing array, reused to avoid garbage
	queuedBytes  int
	nextSeq      uint64
	sentSeq      uint64     // the highest sequence id handed to a socket: no ack can go beyond it
	unacked      []outbound // durable data messages not yet acknowledged, in sequence order
	unackedBytes int
	greeting     []byte // written first by the next Attach
	attached     bool   // a socket has been attached: the next Attach resumes the session
	ended        bool   // no more traffic: the session is over
	closing      bool   // a close is on its way: nothing more is queued, nor another close started
	// closedFor is the service's reason once Close has begun: the session ends with it even if
	// the client, reading the close frame, hangs up before Close has ended the session itself.
	closedFor   *string
	detachTimer *time.Timer

	// inbound and lastInbound are touched only by the connection's reader. The bucket is made
	// only once the client sends faster than the rate, so that idle connections, and those that
	// only send keep-alives, do not carry it; until then lastInbound is when the latest message
	// came (Unix nanoseconds).
	inbound     *inboundLimiter
	lastInbound int64
}

// outbound is one queued frame: a shared message, or a connection's own frame (ack, pong, close).
type outbound struct {
	msg *Message
	seq uint64 // a reliable connection's number for a durable message; 0 for none
	raw []byte
	op  byte
}

func (o outbound) ephemeral() bool { return o.msg != nil && o.msg.Ephemeral }

func (o outbound) size() int {
	if o.msg != nil {
		return o.msg.Size()
	}
	return len(o.raw) + 16
}

// ID is the connection id clients and REST calls use.
func (c *Conn) ID() string { return c.id }

// UserID is the authenticated user, or "" for an anonymous connection.
func (c *Conn) UserID() string { return c.userID }

// Roles are the roles the connection was granted when it connected.
func (c *Conn) Roles() []string { return c.roles }

// Hub is the hub the connection belongs to.
func (c *Conn) Hub() *Hub { return c.hub }

// Reliable reports whether the connection numbers and resends its messages.
func (c *Conn) Reliable() bool { return c.reliable }

// Attachment is the protocol layer's state given at connect time.
func (c *Conn) Attachment() any { return c.attachment }

// FilterUserID, FilterConnectionID and FilterGroups expose the connection to REST filters.
func (c *Conn) FilterUserID() string       { return c.userID }
func (c *Conn) FilterConnectionID() string { return c.id }
func (c *Conn) FilterGroups() []string     { return c.groupList }

// Can reports whether the connection holds p for group.
func (c *Conn) Can(p Permission, group string) bool { return c.grants.Has(p, group) }

// Flooding reports whether the client had more than a second's worth of messages refused within
// the last ten seconds: such a client is not slowing down and is closed.
func (c *Conn) Flooding() bool { return c.inbound != nil && c.inbound.flooding }

// AllowInbound counts one client message and reports whether it is within the rate limit: a
// token bucket refilled at MaxInboundPerSecond that holds MaxInboundBurst, so that a client may
// send a burst (an SDK flushing its queue) but not keep up more than the rate. Only the
// connection's reader may call it.
func (c *Conn) AllowInbound(now time.Time) bool {
	if c.inbound == nil {
		// A client no faster than the rate finds the bucket full at every message, as a new one
		// is: it needs none of its own. Once it is faster, the bucket starts as it would be,
		// having taken the previous message.
		perSecond := int64(c.limits.MaxInboundPerSecond)
		interval := (int64(time.Second) + perSecond - 1) / perSecond
		if c.lastInbound == 0 || now.UnixNano()-c.lastInbound >= interval {
			c.lastInbound = now.UnixNano()
			return true
		}
		c.inbound = &inboundLimiter{bucket: rate.NewLimiter(rate.Limit(c.limits.MaxInboundPerSecond), c.limits.MaxInboundBurst)}
		c.inbound.bucket.AllowN(time.Unix(0, c.lastInbound), 1)
	}
	if c.inbound.bucket.AllowN(now, 1) {
		return true
	}
	c.inbound.refuse(now, c.limits.MaxInboundPerSecond)
	return false
}

// Attach starts writing to sock. A reliable connection that is attached again (a reconnect)
// replays every unacknowledged message in order before anything new; a previous socket still
// open is closed, since only one client can own the session.
func (c *Conn) Attach(sock Socket) error {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return ErrClosed
	}
	old := c.sock
	c.sock = sock
	if c.detachTimer != nil {
		c.detachTimer.Stop()
		c.detachTimer = nil
	}
	if c.reliable {
		// Whatever was queued for the old socket is either in unacked (data) or meaningless now
		// (acks and pongs answered requests the client will not wait for).
		c.queue = append(c.queue[:0], c.unacked...)
		c.queuedBytes = c.unackedBytes
		if cp, ok := c.codec.(countingProtocol); ok && c.attached {
			first := c.nextSeq + 1
			if len(c.unacked) > 0 {
				first = c.unacked[0].seq
			}
			c.queue = slices.Insert(c.queue, 0, outbound{raw: cp.Resumed(first), op: protocolOpcode(c.codec)})
		}
	}
	c.attached = true
	if c.greeting != nil {
		c.queue = slices.Insert(c.queue, 0, outbound{raw: c.greeting, op: protocolOpcode(c.codec)})
		c.greeting = nil
	}
	start := c.startWriterLocked()
	c.mu.Unlock()
	if old != nil && old != sock {
		_ = old.Close()
	}
	if start {
		c.flusher.schedule(c)
	}
	return nil
}

// Greet sets a frame the client hears before anything else once it is attached, even messages
// that reached the connection in between: registering (and joining groups) before the socket is
// attached then loses nothing and reorders nothing.
func (c *Conn) Greet(payload []byte) {
	c.mu.Lock()
	c.greeting = payload
	c.mu.Unlock()
}

// Deliver queues a shared message. It never blocks: a connection that cannot keep up loses
// ephemeral messages and is then closed as a slow consumer (a reliable one when its resend
// buffer is full).
func (c *Conn) Deliver(m *Message) {
	if c.queueMessage(m) {
		c.flusher.schedule(c)
	}
}

// queueMessage queues m and reports whether the caller must schedule the connection's writer.
func (c *Conn) queueMessage(m *Message) (schedule bool) {
	if c.counting && c.reliable && m.Encoded(c.codec).Payload == nil {
		// Numbering a message the client never sees would shift its count from the service's.
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queueLocked(outbound{msg: m}, c.reliable && !m.Ephemeral)
}

// queueLocked queues o, first numbering it and keeping it for resend when numbered, and reports
// whether the caller must schedule the connection's writer.
func (c *Conn) queueLocked(o outbound, numbered bool) (schedule bool) {
	if c.ended || c.closing {
		return false
	}
	if numbered {
		if len(c.unacked) >= c.limits.MaxUnacked || c.unackedBytes+o.size() > c.limits.MaxUnackedBytes {
			c.closing = true
			c.metrics.slowConsumers.Inc()
			// Not inline: the hub queues under its read lock and Close takes the write lock.
			go c.Close(ClosePolicyViolation, "The reliable message buffer is full.")
			return false
		}
		c.nextSeq++
		o.seq = c.nextSeq
		c.unacked = append(c.unacked, o)
		c.unackedBytes += o.size()
	}
	if c.reliable && c.sock == nil {
		// The session waits for its client: a durable message waits in the resend buffer, an
		// ephemeral one, which is not kept for resend, is lost.
		return false
	}
	if !c.fitsLocked(o) {
		return false
	}
	c.queue = append(c.queue, o)
	c.queuedBytes += o.size()
	return c.startWriterLocked()
}

// fitsLocked makes room for o in the queue or decides it cannot be had: ephemeral traffic is
// dropped first, and a queue full of durable traffic ends the connection.
func (c *Conn) fitsLocked(o outbound) bool {
	frames, bytes := c.limits.MaxQueuedFrames, c.limits.MaxQueuedBytes
	if c.reliable && !o.ephemeral() {
		// A reliable connection's durable messages are bounded by the resend buffer, and the queue
		// may hold all of it (a replay after a reconnect) beside the ordinary queue's worth of the
		// rest: a smaller bound would trip on every replay of a large buffer and drop the socket
		// again and again. Ephemeral messages, which are not in the resend buffer, still meet the
		// ordinary bound.
		frames += c.limits.MaxUnacked
		bytes += c.limits.MaxUnackedBytes
	}
	over := func() bool {
		return len(c.queue) >= frames || c.queuedBytes+o.size() > bytes
	}
	if !over() {
		return true
	}
	if o.ephemeral() {
		c.metrics.dropped.Inc()
		return false
	}
	c.metrics.dropped.Add(float64(c.dropLocked(outbound.ephemeral)))
	if !over() {
		return true
	}
	c.metrics.slowConsumers.Inc()
	c.closing = true
	// Not inline: the hub queues under its read lock and Close takes the write lock.
	go c.Close(ClosePolicyViolation, "slow consumer: outbound queue full")
	return false
}

// Send queues a frame that belongs to this connection alone (an ack, a pong, a system message).
func (c *Conn) Send(payload []byte, binary bool) {
	op := byte(opText)
	if binary {
		op = opBinary
	}
	c.sendRaw(outbound{raw: payload, op: op})
}

// SendCounted queues a frame of this connection alone that its client counts as a data message
// (a SignalR Completion): on a reliable connection of a counting codec it is numbered and kept
// for resend like the shared messages, so that both sides count alike; elsewhere it is [Conn.Send].
func (c *Conn) SendCounted(payload []byte, binary bool) {
	if !c.counting || !c.reliable {
		c.Send(payload, binary)
		return
	}
	op := byte(opText)
	if binary {
		op = opBinary
	}
	c.mu.Lock()
	start := c.queueLocked(outbound{raw: payload, op: op}, true)
	c.mu.Unlock()
	if start {
		c.flusher.schedule(c)
	}
}

// Pong answers a client's ping.
func (c *Conn) Pong(data []byte) { c.sendRaw(outbound{raw: data, op: opPong}) }

// ping asks the client for a sign of life; its reader's deadline ends a client that gives none.
func (c *Conn) ping() { c.sendRaw(outbound{op: opPing}) }

func (c *Conn) sendRaw(o outbound) {
	c.mu.Lock()
	if c.ended || c.closing || c.sock == nil || !c.fitsLocked(o) {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, o)
	c.queuedBytes += o.size()
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		c.flusher.schedule(c)
	}
}

// Ack drops every reliable message up to and including seq from the resend buffer. The protocol
// has a subscriber ack the largest sequence id it received, so an id beyond the last one written
// to a socket cannot be true; it counts as an ack of that one, or a client could empty its
// buffer of messages it never read and escape the buffer's bound.
func (c *Conn) Ack(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq = min(seq, c.sentSeq)
	// Search for seq itself, not seq+1, which wraps to 0 for the largest id.
	n, found := slices.BinarySearchFunc(c.unacked, seq, func(o outbound, s uint64) int {
		switch {
		case o.seq < s:
			return -1
		case o.seq > s:
			return 1
		}
		return 0
	})
	if found {
		n++
	}
	for _, o := range c.unacked[:n] {
		c.unackedBytes -= o.size()
	}
	c.unacked = slices.Delete(c.unacked, 0, n)
}

// Dropped tells the connection that sock failed or was closed by the client without a close frame.
// A reliable session then waits for its client to reconnect; any other connection ends.
func (c *Conn) Dropped(sock Socket, reason string) {
	c.mu.Lock()
	if c.ended || c.sock != sock {
		c.mu.Unlock()
		return
	}
	if c.reliable {
		c.detachLocked()
		c.mu.Unlock()
		_ = sock.Close()
		return
	}
	c.mu.Unlock()
	c.end(reason)
}

// detachLocked parks a reliable session without a socket until its reconnect window runs out.
func (c *Conn) detachLocked() {
	c.sock = nil
	clear(c.queue)
	c.queue = c.queue[:0]
	c.queuedBytes = 0
	c.detachTimer = time.AfterFunc(c.limits.ReconnectWindow, func() {
		c.mu.Lock()
		expired := c.sock == nil && !c.ended
		c.mu.Unlock()
		if expired {
			c.end("reconnect window expired")
		}
	})
}

// ClosedByClient ends the connection after the client's close frame, echoing it as RFC 6455
// requires.
func (c *Conn) ClosedByClient(code int) {
	if code == 0 || code == 1005 {
		code = CloseNormal
	}
	c.mu.Lock()
	if !c.ended && c.sock != nil {
		c.queue = append(c.queue, outbound{raw: closePayload(code, ""), op: opClose})
		if c.startWriterLocked() {
			c.flusher.schedule(c)
		}
	}
	c.mu.Unlock()
	c.end("")
}

// Close ends the connection from the service side: the client gets what was already queued (after
// a policy violation, only the replies to its own requests), then the codec's goodbye and a close
// frame with code and reason, and the session is over (a reliable client cannot recover it).
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	if c.closedFor == nil {
		c.closedFor = &reason
	}
	if c.sock != nil {
		if code == ClosePolicyViolation {
			// A slow or misbehaving client: messages waiting would only delay the goodbye, but the
			// replies to its requests (the acks that refused them) say what it did wrong.
			c.dropLocked(func(o outbound) bool { return o.msg != nil })
		}
		if g := goodbye(c.codec, code, reason); g != nil {
			c.queue = append(c.queue, outbound{raw: g, op: protocolOpcode(c.codec)})
		}
		c.queue = append(c.queue, outbound{raw: closePayload(code, reason), op: opClose})
		if c.startWriterLocked() {
			c.flusher.schedule(c)
		}
	}
	c.mu.Unlock()
	c.end(reason)
}

// dropLocked takes the frames drop selects out of the queue and returns how many it took.
func (c *Conn) dropLocked(drop func(outbound) bool) int {
	kept := c.queue[:0]
	for _, o := range c.queue {
		if drop(o) {
			c.queuedBytes -= o.size()
			continue
		}
		kept = append(kept, o)
	}
	n := len(c.queue) - len(kept)
	clear(c.queue[len(kept):])
	c.queue = kept
	return n
}

// end finishes the session exactly once: no more traffic, out of the hub, OnClose called.
func (c *Conn) end(reason string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	if c.closedFor != nil {
		reason = *c.closedFor
	}
	if c.detachTimer != nil {
		c.detachTimer.Stop()
	}
	c.unacked, c.unackedBytes = nil, 0
	sock, writing := c.sock, c.writing
	c.mu.Unlock()
	if sock != nil && !writing {
		_ = sock.Close()
	}
	c.hub.remove(c)
	if c.onClose != nil {
		c.onClose(c, reason)
	}
}

func (c *Conn) startWriterLocked() bool {
	if c.writing || c.sock == nil || len(c.queue) == 0 {
		return false
	}
	c.writing = true
	return true
}

// appendMessage appends o's frame to buf, and reports false, appending nothing, when the
// connection's format has no rendering of the message.
func (c *Conn) appendMessage(buf []byte, o outbound) ([]byte, bool) {
	f := o.msg.Encoded(c.codec)
	if f.Payload == nil {
		return buf, false
	}
	op := byte(opText)
	if f.Binary {
		op = opBinary
	}
	var s []byte
	if o.seq != 0 {
		// A reliable connection's durable message: its rendering ends with the sequence id.
		c.seqBuf = c.codec.AppendSequence(c.seqBuf[:0], o.seq)
		s = c.seqBuf
	}
	if !c.unframed {
		buf = appendFrameHeader(buf, op, len(f.Payload)+len(s))
	}
	buf = append(buf, f.Payload...)
	return append(buf, s...), true
}

// flushing reports whether a writer is still emptying the queue.
func (c *Conn) flushing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writing
}
