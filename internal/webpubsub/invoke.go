package webpubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// An invoke message asks the app's event handler a question and waits for its answer: the
// official client's invokeEvent. It goes to the handler as the user event of that name, exactly
// as an event message would (express and other handlers know no other kind), and the handler's
// 2xx answer comes back in an invokeResponse with the same invocationId: its body as data, typed
// by its Content-Type, or no data for an empty answer. Anything else is an invokeResponse with
// success false.
//
// Invocations run beside the connection's reader, so that a slow handler holds up neither the
// connection's other requests nor a cancelInvocation for itself.

// maxInvocations bounds the invocations one connection may have waiting for the event handler;
// one more is refused at once, so that a client cannot pile its requests up on the app.
const maxInvocations = 16

// errCancelled is why an invocation's context ends when its client cancels it or goes away:
// nobody waits for an answer any more, so none is sent.
var errCancelled = errors.New("the invocation was cancelled")

// invocations are a connection's invocations still waiting for the event handler, by id. The
// reader adds and cancels them, each one's goroutine removes itself when done, and closing the
// connection cancels them all.
type invocations struct {
	mu      sync.Mutex
	pending map[string]*invocation
	closed  bool // the connection has closed: nothing starts any more
}

type invocation struct{ cancel context.CancelCauseFunc }

// add registers an invocation under id, unless one with that id is still under way or the
// connection has too many.
func (iv *invocations) add(id string, inv *invocation) *requestError {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.closed {
		return &requestError{ackInternalError, "the connection is closing"}
	}
	if _, dup := iv.pending[id]; dup {
		return &requestError{ackDuplicate, fmt.Sprintf("invocation %q is already in progress", id)}
	}
	if len(iv.pending) >= maxInvocations {
		return &requestError{ackTooManyRequests, fmt.Sprintf("a connection may have at most %d invocations in progress", maxInvocations)}
	}
	if iv.pending == nil {
		iv.pending = make(map[string]*invocation)
	}
	iv.pending[id] = inv
	return nil
}

// remove forgets inv, unless id has been taken by a newer invocation since inv was cancelled.
func (iv *invocations) remove(id string, inv *invocation) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.pending[id] == inv {
		delete(iv.pending, id)
	}
}

// cancel stops the invocation id, if it is still under way.
func (iv *invocations) cancel(id string) {
	iv.mu.Lock()
	inv := iv.pending[id]
	delete(iv.pending, id)
	iv.mu.Unlock()
	if inv != nil {
		inv.cancel(errCancelled)
	}
}

// cancelAll stops every invocation of a connection that has closed.
func (iv *invocations) cancelAll() {
	iv.mu.Lock()
	pending := iv.pending
	iv.pending, iv.closed = nil, true
	iv.mu.Unlock()
	for _, inv := range pending {
		inv.cancel(errCancelled)
	}
}

// invoke starts an invocation and answers at once only when it cannot start. It reports whether
// the connection goes on: an invoke without an id cannot be answered, so it closes it.
func (s *Server) invoke(conn *pubsub.Conn, sess *session, m inbound) bool {
	if m.InvocationID == "" {
		s.logger.Info("bad request from client", "conn", conn.ID(), "type", m.Type, "err", "no invocationId")
		conn.Close(pubsub.CloseInvalidPayload, "invoke needs an invocationId")
		return false
	}
	if rerr := s.startInvocation(conn, sess, m); rerr != nil {
		conn.Send(invokeFailure(m.InvocationID, rerr.name, rerr.msg), false)
	}
	return true
}

func (s *Server) startInvocation(conn *pubsub.Conn, sess *session, m inbound) *requestError {
	if m.Target != "event" {
		return &requestError{ackBadRequest, fmt.Sprintf("unsupported invocation target %q: only event is supported", m.Target)}
	}
	if m.Event == "" {
		return &requestError{ackBadRequest, "invoke needs an event name"}
	}
	dt, payload, rerr := decodeData(m.DataType, m.Data)
	if rerr != nil {
		return rerr
	}
	if sess.events == nil || !sess.events.Wants(m.Event) {
		return &requestError{ackBadRequest, fmt.Sprintf("no event handler is configured for event %q", m.Event)}
	}
	ctx, cancel := context.WithCancelCause(s.bgCtx)
	inv := &invocation{cancel: cancel}
	if rerr := sess.calls.add(m.InvocationID, inv); rerr != nil {
		cancel(nil)
		return rerr
	}
	started := s.track(func() {
		defer cancel(nil)
		defer sess.calls.remove(m.InvocationID, inv)
		s.runInvocation(ctx, conn, sess, m.InvocationID, m.Event, dt, payload)
	})
	if !started {
		sess.calls.remove(m.InvocationID, inv)
		cancel(nil)
		return &requestError{ackInternalError, "the service is shutting down"}
	}
	return nil
}

// runInvocation asks the event handler and answers the client, unless the client no longer
// waits for the answer.
func (s *Server) runInvocation(ctx context.Context, conn *pubsub.Conn, sess *session, id, event string, dt pubsub.DataType, payload []byte) {
	answer, err := askHandler(ctx, sess, id, event, dt, payload)
	if err != nil {
		s.logEventFailure("invocation failed", conn, err)
	}
	if answer != nil {
		conn.Send(answer, false)
	}
}

// askHandler sends an invocation to the event handler as its user event and returns the
// invokeResponse for the client, nil when the invocation was cancelled, and the handler's
// failure, if any, for the log.
func askHandler(ctx context.Context, sess *session, id, event string, dt pubsub.DataType, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	reply, err := sess.events.UserEvent(ctx, sess.upstream, event, contentTypeOf(dt), payload)
	switch {
	case errors.Is(context.Cause(ctx), errCancelled):
		return nil, nil
	case errors.Is(err, context.DeadlineExceeded):
		return invokeFailure(id, ackInternalError, "the event handler did not answer in time"), err
	case err != nil:
		return invokeFailure(id, ackInternalError, "the event handler failed"), err
	}
	return invokeSuccess(id, reply), nil
}

// cancelInvocation stops an invocation whose client gave up waiting. Nothing is answered: the
// client has already forgotten the invocation, and an id it does not know (one answered a moment
// ago) is no mistake.
func (s *Server) cancelInvocation(sess *session, m inbound) bool {
	sess.calls.cancel(m.InvocationID)
	return true
}

// invokeSuccess is the answer to an invocation: the handler's reply, if it sent one.
func invokeSuccess(id string, reply *upstream.Reply) []byte {
	b := invokeResponseStart(id)
	b = append(b, `,"success":true`...)
	if reply != nil {
		b = append(b, `,"dataType":`...)
		b = appendJSONString(b, reply.DataType.String())
		b = append(b, `,"data":`...)
		b = appendData(b, reply.DataType, reply.Data)
	}
	return append(b, '}')
}

func invokeFailure(id, name, msg string) []byte {
	b := invokeResponseStart(id)
	b = append(b, `,"success":false,"error":{"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	return append(b, "}}"...)
}

func invokeResponseStart(id string) []byte {
	b := append([]byte(nil), `{"type":"invokeResponse","invocationId":`...)
	return appendJSONString(b, id)
}
