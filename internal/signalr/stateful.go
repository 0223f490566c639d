package signalr

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Stateful reconnect, as @microsoft/signalr's withStatefulReconnect and ASP.NET Core SignalR
// speak it. A client opts in on negotiate (useStatefulReconnect=true, answered in kind; never
// answered unasked, which the client rejects) and then with version 2 of its hub protocol in the
// handshake. When its WebSocket drops, the client opens a new one with the same connection token
// and no handshake, and the connection goes on as if nothing happened:
//
//   - Each side numbers the invocation messages it sends (Invocation, StreamItem, Completion,
//     StreamInvocation, CancelInvocation) 1, 2, 3… without writing the numbers; the receiver
//     counts them and acknowledges the highest it has seen with Ack {sequenceId}.
//   - After a reconnect each side first sends Sequence {sequenceId}, the number of the first
//     message it sends again, then every message the other has not acknowledged; the receiver
//     drops those it had already seen. (@microsoft/signalr MessageBuffer.js: _resend,
//     _shouldProcessMessage, _resetSequence.)
//
// The service's side is a reliable pubsub connection whose codec counts instead of writing
// sequence ids: the resend buffer, the acks, the replay and the reconnect window
// (Limits.ReconnectWindow) are the hub's, shared with Web PubSub's reliable subprotocols. The
// buffer is bounded by Limits.MaxUnacked and MaxUnackedBytes: a client that falls further behind
// is closed, where ASP.NET Core would hold its senders back, which a hub serving many connections
// cannot do.

// statefulConn is a stateful connection's count of the client's messages; it is the pubsub
// connection's attachment, so that it outlives the sockets.
type statefulConn struct {
	token string // the connection token a reconnecting client presents

	mu           sync.Mutex
	next         uint64 // the number the client's next counted message carries
	received     uint64 // the highest number served
	waitSequence bool   // a resumed socket: nothing counts before the client's Sequence
}

func newStatefulConn(token string) *statefulConn {
	return &statefulConn{token: token, next: 1}
}

// countedType reports whether the peers number messages of type t.
func countedType(t int) bool {
	switch t {
	case typeInvocation, typeStreamItem, typeCompletion, typeStreamInvocation, typeCancelInvocation:
		return true
	}
	return false
}

// resumed tells st that a new socket serves the connection: the client's Sequence comes first.
func (st *statefulConn) resumed() {
	st.mu.Lock()
	st.waitSequence = true
	st.mu.Unlock()
}

// accept counts m and reports whether it is to be served: not when it is one the client sends
// again after a reconnect although it was served already, nor anything before the Sequence
// message that opens a resumed socket. ack is the highest number served, for the Ack to send
// (0 for none needed).
func (st *statefulConn) accept(m clientMessage) (serve bool, ack uint64, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.waitSequence {
		if m.Type != typeSequence {
			return false, 0, nil
		}
		st.waitSequence = false
	}
	switch {
	case m.Type == typeSequence:
		// The client resends from the first message it holds; it cannot hold one not yet sent.
		if m.SequenceID == 0 || m.SequenceID > st.next {
			return false, 0, fmt.Errorf("the Sequence message names %d, beyond the %d messages received", m.SequenceID, st.next-1)
		}
		st.next = m.SequenceID
		return false, st.received, nil
	case !countedType(m.Type):
		return true, 0, nil
	}
	id := st.next
	st.next++
	if id <= st.received {
		return false, st.received, nil
	}
	st.received = id
	return true, id, nil
}

// Resumed is the Sequence message that opens a resumed socket: the replay starts at firstSeq.
func (jsonFormat) Resumed(firstSeq uint64) []byte {
	return fmt.Appendf(nil, "{\"type\":%d,\"sequenceId\":%d}\x1e", typeSequence, firstSeq)
}

func (jsonFormat) ack(seq uint64) []byte {
	return fmt.Appendf(nil, "{\"type\":%d,\"sequenceId\":%d}\x1e", typeAck, seq)
}

// Resumed is the Sequence message [9, sequenceId] that opens a resumed socket.
func (messagePackFormat) Resumed(firstSeq uint64) []byte {
	return msgpackRecord([]any{typeSequence, firstSeq})
}

func (messagePackFormat) ack(seq uint64) []byte { return msgpackRecord([]any{typeAck, seq}) }

// wantsStatefulReconnect reads negotiate's useStatefulReconnect query parameter.
func wantsStatefulReconnect(r *http.Request) bool {
	return strings.EqualFold(r.URL.Query().Get("useStatefulReconnect"), "true")
}

// resumable finds the live stateful connection whose token is id.
func (s *Server) resumable(id string) (*pubsub.Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.stateful[id]
	return c, ok
}

// resume serves the WebSocket of a client that reconnects a stateful connection: no handshake,
// the service's Sequence and replay first, then the connection goes on.
func (s *Server) resume(w http.ResponseWriter, r *http.Request, conn *pubsub.Conn, hub, userID string) {
	switch {
	case conn.Hub().Name() != hub:
		s.errs.WriteError(w, r, errNoConnection)
		return
	case conn.UserID() != userID:
		s.errs.WriteError(w, r, errOtherUser)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client with the reason
	}
	ws.SetReadLimit(s.svc.Limits().MaxMessageBytes)
	sessionOf(conn).stateful.resumed()
	if err := conn.Attach(ws.NetConn()); err != nil {
		// The connection ended meanwhile: a bare close makes the client start over.
		_ = ws.Close()
		return
	}
	s.logger.Debug("SignalR stateful connection resumed", "hub", hub, "conn", conn.ID())
	go s.readLoop(ws, conn)
}
