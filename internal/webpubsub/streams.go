package webpubsub

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Group streams (Azure/azure-webpubsub protocols/client/client-spec.md §3.6): a client opens a
// stream to a group with a sendToGroup that carries a stream object, sends its fragments as
// streamData numbered from 1 by streamSequenceId, and ends it with streamEnd. The service accepts
// fragments strictly in order, publishes each to the group as an ordinary group message with a
// stream object, and tells the publisher how far it got with streamAck (the next id it expects);
// a fragment ahead of that is refused with streamNack, one behind it is a resend and only acked
// again. Every stream ends with one terminal group message (endOfStream, numbered one past the
// last fragment, with the error that ended it if any) and, to the publisher, streamClosed.
//
// A stream belongs to its connection: a reliable connection keeps its streams while it waits for
// its client to come back (the client replays unacknowledged fragments after the reconnect, and
// the resends are acked again), and a connection that ends ends its streams as Cancelled.

const (
	// defaultStreamIdle is the idle timeout of a stream that names none (client-spec §3.6.1).
	defaultStreamIdle = 300 * time.Second
	// maxStreamIdle bounds what a client may ask for: an idle stream holds one of the
	// connection's stream slots and a timer.
	maxStreamIdle = 24 * time.Hour
	// maxStreamIDLength bounds the id that every message of the stream repeats.
	maxStreamIDLength = 1024
)

// Stream error names (client-spec §3.6.4 for streamNack and streamClosed, §3.6.5 for receivers).
// The request errors Forbidden, BadRequest and InternalServerError are shared with acks.
const (
	streamInvalidSequenceID = "InvalidSequenceId"
	streamTransientError    = "TransientError"
	streamNotFound          = "StreamNotFound"
	streamIdleTimeout       = "IdleTimeout"
	streamUserError         = "UserError"
	streamCancelled         = "Cancelled"
)

// streamStart is the stream object of a sendToGroup that opens a stream.
type streamStart struct {
	StreamID      *string `json:"streamId"`
	IdleTimeoutMs *int64  `json:"idleTimeoutMs"`
}

// streamEndError is the publisher's reason for ending a stream early; the service names it
// UserError for receivers.
type streamEndError struct {
	Message       string `json:"message"`
	UserErrorCode string `json:"userErrorCode"`
}

// streamLink is what a connection's streams need of it: replies to the publisher, its permission
// to send to a group, and publishing to that group as the publisher.
type streamLink interface {
	reply(frame []byte)
	canSend(group string) bool
	publish(group string, noEcho bool, dt pubsub.DataType, data []byte, at *pubsub.StreamPosition) error
}

// connLink is the streamLink of a live connection.
type connLink struct{ conn *pubsub.Conn }

func (l connLink) reply(frame []byte)        { l.conn.Send(frame, false) }
func (l connLink) canSend(group string) bool { return l.conn.Can(pubsub.SendToGroup, group) }
func (l connLink) publish(group string, noEcho bool, dt pubsub.DataType, data []byte, at *pubsub.StreamPosition) error {
	m := clientGroupMessage(l.conn, group, dt, data)
	m.Stream = at
	return publishToGroup(l.conn, group, noEcho, m)
}

// streamTable holds the open streams of one connection. It is locked because idle timers fire
// on their own goroutines and, for a moment after a reconnect, the old socket's reader may still
// be finishing. Messages are published under the lock, so a stream's messages reach the hub in
// order and its terminal message is always its last.
type streamTable struct {
	mu   sync.Mutex
	open map[string]*groupStream
	// ended is set once the connection is gone: a message its last reader was still handling
	// opens no stream that nothing would cancel.
	ended bool
}

type groupStream struct {
	id     string
	group  string
	noEcho bool
	next   uint64 // the streamSequenceId expected next
	idle   time.Duration
	timer  *time.Timer
	link   streamLink
}

// start opens the stream a sendToGroup asks for. The publisher hears streamAck with 1 when the
// stream is open, streamClosed with the reason when it is refused; the refusal is returned too.
func (t *streamTable) start(link streamLink, m inbound, maxOpen int) *requestError {
	id := ""
	if m.Stream.StreamID != nil {
		id = *m.Stream.StreamID
	}
	refuse := func(name, format string, args ...any) *requestError {
		msg := fmt.Sprintf(format, args...)
		link.reply(streamClosedMessage(id, name, msg))
		return &requestError{name, msg}
	}
	switch ms := m.Stream.IdleTimeoutMs; {
	case id == "":
		return refuse(ackBadRequest, "stream.streamId must be a non-empty string")
	case len(id) > maxStreamIDLength:
		return refuse(ackBadRequest, "stream.streamId must be at most %d bytes", maxStreamIDLength)
	case ms != nil && *ms <= 0:
		return refuse(ackBadRequest, "stream.idleTimeoutMs must be greater than 0")
	case m.DataType != "" || m.Data != nil:
		return refuse(ackBadRequest, "the message that opens a stream carries no data: send it as streamData")
	case !pubsub.ValidGroupName(m.Group):
		return refuse(ackBadRequest, "group name must be 1 to 1024 characters and not only white space")
	case !link.canSend(m.Group):
		return refuse(ackForbidden, "no permission to send to group %q", m.Group)
	}
	idle := defaultStreamIdle
	if ms := m.Stream.IdleTimeoutMs; ms != nil {
		idle = time.Duration(min(*ms, maxStreamIdle.Milliseconds())) * time.Millisecond
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return refuse(ackInternalError, "the connection has closed")
	}
	if _, ok := t.open[id]; ok {
		return refuse(ackBadRequest, "stream %q is already open on this connection", id)
	}
	if len(t.open) >= maxOpen {
		return refuse(ackBadRequest, "a connection may have at most %d open streams", maxOpen)
	}
	if t.open == nil {
		t.open = make(map[string]*groupStream)
	}
	gs := &groupStream{id: id, group: m.Group, noEcho: m.NoEcho, next: 1, idle: idle, link: link}
	gs.timer = time.AfterFunc(idle, func() { t.expire(gs) })
	t.open[id] = gs
	link.reply(streamAckMessage(id, 1))
	return nil
}

// data takes one streamData: a fragment, or, with nothing but the stream id, a keepalive. The
// client has been answered either way; what is returned is for the log: a fragment that closed
// its stream, or the service's own failure.
func (t *streamTable) data(link streamLink, m inbound) (closed *requestError, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	gs, ok := t.open[m.StreamID]
	if !ok {
		link.reply(streamClosedMessage(m.StreamID, streamNotFound, "the stream is not open"))
		return nil, nil
	}
	if m.StreamSequenceID == nil && m.DataType == "" && m.Data == nil {
		gs.timer.Reset(gs.idle)
		return nil, nil
	}
	if m.StreamSequenceID == nil || m.DataType == "" || m.Data == nil {
		return t.refuseLocked(gs, ackBadRequest, "a stream fragment needs streamSequenceId, dataType and data")
	}
	switch seq := *m.StreamSequenceID; {
	case seq < gs.next:
		// A resend of what was accepted, as after a reconnect: the client learns where to go on.
		link.reply(streamAckMessage(gs.id, gs.next))
		return nil, nil
	case seq > gs.next:
		link.reply(streamNackMessage(gs.id, streamInvalidSequenceID, fmt.Sprintf("expected streamSequenceId %d", gs.next), gs.next))
		return nil, nil
	}
	dt, payload, rerr := decodeData(m.DataType, m.Data)
	if rerr != nil {
		return t.refuseLocked(gs, ackBadRequest, rerr.msg)
	}
	if !link.canSend(gs.group) {
		return t.refuseLocked(gs, ackForbidden, fmt.Sprintf("no permission to send to group %q", gs.group))
	}
	if err := link.publish(gs.group, gs.noEcho, dt, payload, &pubsub.StreamPosition{ID: gs.id, Seq: gs.next}); err != nil {
		link.reply(streamNackMessage(gs.id, streamTransientError, "the fragment could not be published", gs.next))
		return nil, fmt.Errorf("publish fragment %d of stream %q: %w", gs.next, gs.id, err)
	}
	gs.next++
	gs.timer.Reset(gs.idle)
	link.reply(streamAckMessage(gs.id, gs.next))
	return nil, nil
}

// refuseLocked closes a stream over a fragment it cannot take.
func (t *streamTable) refuseLocked(gs *groupStream, name, msg string) (*requestError, error) {
	return &requestError{name, msg}, t.closeLocked(gs, name, msg)
}

// overLimit answers a fragment dropped by the connection's rate limit with the retriable
// TransientError (client-spec §3.6.4 item 5), so that the publisher resends from the id it names.
func (t *streamTable) overLimit(link streamLink, id, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gs, ok := t.open[id]; ok {
		link.reply(streamNackMessage(id, streamTransientError, reason, gs.next))
	}
}

// end takes a streamEnd: receivers get the terminal message, with the publisher's error named
// UserError if it gave one, and the publisher gets streamClosed.
func (t *streamTable) end(link streamLink, m inbound) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	gs, ok := t.open[m.StreamID]
	if !ok {
		link.reply(streamClosedMessage(m.StreamID, streamNotFound, "the stream is not open"))
		return nil
	}
	var reason *pubsub.StreamError
	if e := m.Error; e != nil {
		reason = &pubsub.StreamError{Name: streamUserError, Message: e.Message, UserCode: e.UserErrorCode}
	}
	if err := t.finishLocked(gs, reason); err != nil {
		link.reply(streamClosedMessage(gs.id, ackInternalError, "the end of the stream could not be published"))
		return err
	}
	// The publisher's own error is not repeated back: streamClosed carries only the service's.
	link.reply(streamClosedMessage(gs.id, "", ""))
	return nil
}

// expire ends a stream that stayed idle past its timeout.
func (t *streamTable) expire(gs *groupStream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open[gs.id] != gs {
		return // ended meanwhile
	}
	msg := fmt.Sprintf("no stream data within %d ms", gs.idle.Milliseconds())
	// A failed publish is already a closed stream to the publisher; receivers time out on their own.
	_ = t.closeLocked(gs, streamIdleTimeout, msg)
}

// closeAll ends every stream of a connection that is gone.
func (t *streamTable) closeAll() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	var errs []error
	for _, gs := range t.open {
		errs = append(errs, t.finishLocked(gs, &pubsub.StreamError{Name: streamCancelled, Message: "the publisher's connection closed"}))
	}
	return errors.Join(errs...)
}

// closeLocked ends a stream for the service's reason, telling receivers and the publisher.
func (t *streamTable) closeLocked(gs *groupStream, name, msg string) error {
	err := t.finishLocked(gs, &pubsub.StreamError{Name: name, Message: msg})
	gs.link.reply(streamClosedMessage(gs.id, name, msg))
	return err
}

// finishLocked forgets a stream and publishes its terminal message: no payload of its own (an
// empty text, which the SDK does not hand on as a fragment), numbered one past the last fragment.
func (t *streamTable) finishLocked(gs *groupStream, reason *pubsub.StreamError) error {
	gs.timer.Stop()
	delete(t.open, gs.id)
	at := &pubsub.StreamPosition{ID: gs.id, Seq: gs.next, End: true, Err: reason}
	if err := gs.link.publish(gs.group, gs.noEcho, pubsub.Text, nil, at); err != nil {
		return fmt.Errorf("publish the end of stream %q: %w", gs.id, err)
	}
	return nil
}

// openStream serves a sendToGroup that opens a stream. Its outcome is told by streamAck or
// streamClosed, never by closing the connection; an ackId, which the SDK does not send here, is
// answered as well.
func (s *Server) openStream(conn *pubsub.Conn, sess *session, m inbound) {
	rerr := sess.streams.start(connLink{conn}, m, s.svc.Limits().MaxStreamsPerConn)
	if rerr != nil {
		s.logger.Info("group stream refused", "conn", conn.ID(), "group", m.Group, "err", rerr.msg)
	}
	if m.AckID == nil {
		return
	}
	if rerr != nil {
		conn.Send(ackMessage(*m.AckID, rerr.name, rerr.msg), false)
		return
	}
	sess.acks.record(*m.AckID)
	conn.Send(ackMessage(*m.AckID, "", ""), false)
}

// streamData and streamEnd serve the messages of the same names.
func (s *Server) streamData(conn *pubsub.Conn, sess *session, m inbound) {
	closed, err := sess.streams.data(connLink{conn}, m)
	if closed != nil {
		s.logger.Info("group stream closed over a bad fragment", "conn", conn.ID(), "err", closed.msg)
	}
	if err != nil {
		s.logger.Error("group stream", "conn", conn.ID(), "err", err)
	}
}

func (s *Server) streamEnd(conn *pubsub.Conn, sess *session, m inbound) {
	if err := sess.streams.end(connLink{conn}, m); err != nil {
		s.logger.Error("group stream", "conn", conn.ID(), "err", err)
	}
}

// endStreams cancels the streams of a connection that has ended.
func (s *Server) endStreams(c *pubsub.Conn, sess *session) {
	if err := sess.streams.closeAll(); err != nil {
		s.logger.Error("end the group streams of a closed connection", "conn", c.ID(), "err", err)
	}
}

func streamAckMessage(id string, expected uint64) []byte {
	b := append([]byte(nil), `{"type":"streamAck","streamId":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"expectedSequenceId":`...)
	b = strconv.AppendUint(b, expected, 10)
	return append(b, '}')
}

func streamNackMessage(id, name, msg string, expected uint64) []byte {
	b := append([]byte(nil), `{"type":"streamNack","streamId":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"expectedSequenceId":`...)
	b = strconv.AppendUint(b, expected, 10)
	return append(b, '}')
}

// streamClosedMessage tells the publisher its stream is over: normally when name is empty.
func streamClosedMessage(id, name, msg string) []byte {
	b := append([]byte(nil), `{"type":"streamClosed","streamId":`...)
	b = appendJSONString(b, id)
	if name != "" {
		b = append(b, `,"error":{"name":`...)
		b = appendJSONString(b, name)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, msg)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendStreamPosition renders the stream object of a group message.
func appendStreamPosition(b []byte, p *pubsub.StreamPosition) []byte {
	b = append(b, `,"stream":{"streamId":`...)
	b = appendJSONString(b, p.ID)
	b = append(b, `,"streamSequenceId":`...)
	b = strconv.AppendUint(b, p.Seq, 10)
	b = append(b, `,"endOfStream":`...)
	b = strconv.AppendBool(b, p.End)
	if e := p.Err; e != nil {
		b = append(b, `,"error":{"name":`...)
		b = appendJSONString(b, e.Name)
		if e.Message != "" {
			b = append(b, `,"message":`...)
			b = appendJSONString(b, e.Message)
		}
		if e.UserCode != "" {
			b = append(b, `,"userErrorCode":`...)
			b = appendJSONString(b, e.UserCode)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
