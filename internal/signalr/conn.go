package signalr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// ServeClient serves /client/?hub=…&id=<connectionToken>: the WebSocket of a negotiated
// connection, or the requests of its HTTP transport (Server-Sent Events, long polling). An
// unknown or expired id is answered 404, before the upgrade for a WebSocket.
func (s *Server) ServeClient(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		s.httpTransport.ServeHTTP(w, r)
		return
	}
	hub, userID, claims, err := s.client(r)
	if err != nil {
		s.errs.WriteError(w, r, err)
		return
	}
	q := r.URL.Query()
	if conn, ok := s.resumable(q.Get("id")); ok {
		s.resume(w, r, conn, hub, userID)
		return
	}
	p, err := s.pending.take(q.Get("id"), s.now(), ownedBy(hub, userID))
	if err != nil {
		s.errs.WriteError(w, r, err)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client with the reason
	}
	// The HTTP handler returns so that its stack and request state are freed.
	go s.serveSocket(ws, p, s.clientOf(r, claims))
}

// ownedBy accepts a negotiated connection of hub and userID: a request with another hub's or
// user's token may not use it.
func ownedBy(hub, userID string) func(pendingConn) error {
	return func(p pendingConn) error {
		switch {
		case p.hub != hub:
			return errNoConnection
		case p.userID != userID:
			return errOtherUser
		}
		return nil
	}
}

// serveSocket runs a connection's handshake, then starts its reader.
func (s *Server) serveSocket(ws *websocket.Conn, p pendingConn, c client) {
	_ = ws.SetReadDeadline(time.Now().Add(handshakeTimeout))
	kind, data, err := s.readMessage(ws)
	if err != nil {
		if isTimeout(err) {
			s.refuseHandshake(ws, kind, p, "Handshake was canceled: no handshake request within 15 seconds.")
		} else {
			_ = ws.Close()
		}
		return
	}
	proto, version, rest, problem := parseHandshake(data)
	if problem != "" {
		s.refuseHandshake(ws, kind, p, problem)
		return
	}
	sess := s.newSession(p, proto, c)
	var opts pubsub.ConnOptions
	// Version 2 of the hub protocols brings the messages of stateful reconnect. A client that was
	// offered it but shakes hands with version 1 does not use it: @microsoft/signalr does so on
	// any transport but WebSockets (HttpConnection.js _resolveTransportOrError, HubConnection.js
	// _startInternal).
	if p.stateful && version >= 2 {
		opts.Reliable, sess.stateful = true, newStatefulConn(p.token)
	}
	conn, problem := s.register(p, sess, opts)
	if problem != "" {
		s.refuseHandshake(ws, kind, p, problem)
		return
	}
	// The handshake answer goes before anything that reaches the connection meanwhile.
	conn.Greet(handshakeOK)
	if err := conn.Attach(ws.NetConn()); err != nil {
		return
	}
	if len(rest) > 0 && !s.handle(conn, rest) {
		return
	}
	// The reader is a goroutine of its own so that the stack the handshake and registration grew
	// is freed with this one: an idle connection keeps only the reader's smaller stack.
	go s.readLoop(ws, conn)
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

var handshakeOK = []byte("{}\x1e")

// refuseHandshake answers a failed handshake with {"error":…} and closes the socket; nothing
// else has written to it yet.
func (s *Server) refuseHandshake(ws *websocket.Conn, kind int, p pendingConn, problem string) {
	s.logger.Info("SignalR handshake refused", "hub", p.hub, "conn", p.connectionID, "reason", problem)
	if kind != websocket.BinaryMessage {
		kind = websocket.TextMessage
	}
	deadline := time.Now().Add(5 * time.Second)
	_ = ws.SetWriteDeadline(deadline)
	_ = ws.WriteMessage(kind, handshakeError(problem))
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(pubsub.CloseNormal, ""), deadline)
	_ = ws.Close()
}

// handshakeError is the handshake response that refuses the connection with problem.
func handshakeError(problem string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{problem})
	return append(b, recordSeparator)
}

// parseHandshake reads the handshake request, the first record of the first message, and
// returns the protocol and whatever follows the record in the message; problem is the error
// text of the handshake response (ASP.NET Core's wording) when the request cannot be served.
func parseHandshake(data []byte) (proto protocol, version int, rest []byte, problem string) {
	i := bytes.IndexByte(data, recordSeparator)
	if i < 0 {
		return nil, 0, nil, "Handshake request is incomplete: it must end with the 0x1E record separator."
	}
	var req struct {
		Protocol *string `json:"protocol"`
		Version  *int    `json:"version"`
	}
	if err := json.Unmarshal(data[:i], &req); err != nil || req.Protocol == nil || req.Version == nil {
		return nil, 0, nil, "Handshake request is invalid: it must be {\"protocol\":…,\"version\":…}."
	}
	proto, ok := protocolByName(*req.Protocol)
	if !ok {
		return nil, 0, nil, fmt.Sprintf("The protocol '%s' is not supported.", *req.Protocol)
	}
	// Version 2, the newest of both hub protocols, adds the messages of stateful reconnect.
	if *req.Version != 1 && *req.Version != 2 {
		return nil, 0, nil, fmt.Sprintf("The server does not support version %d of the '%s' protocol.", *req.Version, *req.Protocol)
	}
	return proto, *req.Version, data[i+1:], ""
}

// readLoop reads the client's messages until the socket fails or closes. Every message, a ping
// included, keeps the connection alive for the client timeout.
func (s *Server) readLoop(ws *websocket.Conn, conn *pubsub.Conn) {
	sock := ws.NetConn()
	// WebSocket control frames go through the connection's queue: it is the socket's only writer.
	ws.SetPingHandler(func(data string) error {
		conn.Pong([]byte(data))
		return ws.SetReadDeadline(time.Now().Add(s.timeout))
	})
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(s.timeout)) })
	ws.SetCloseHandler(func(int, string) error { return nil })
	for {
		_ = ws.SetReadDeadline(time.Now().Add(s.timeout))
		_, data, err := s.readMessage(ws)
		if err != nil {
			s.readFailed(conn, sock, err)
			return
		}
		s.svc.CountInbound(len(data))
		if !conn.AllowInbound(s.now()) {
			if conn.Flooding() {
				limit := fmt.Sprintf("Too many messages: the limit is %d per second.", s.svc.Limits().MaxInboundPerSecond)
				s.logger.Info("SignalR client flooding past its message rate, closing", "conn", conn.ID())
				conn.Close(pubsub.ClosePolicyViolation, limit)
				return
			}
			continue
		}
		if !s.handle(conn, data) {
			return
		}
	}
}

var errMessageTooLarge = errors.New("message too large")

// readMessage reads one message of at most the hub's message limit. The limit is kept here and
// not by the WebSocket library, which would answer 1009 on its own: the client would see a lost
// transport and reconnect before the Close message that tells it why could reach it.
func (s *Server) readMessage(ws *websocket.Conn) (kind int, data []byte, err error) {
	kind, r, err := ws.NextReader()
	if err != nil {
		return kind, nil, err
	}
	data, err = readAtMost(r, s.svc.Limits().MaxMessageBytes)
	return kind, data, err
}

// firstReadSize is the buffer a message is first read into: enough for a Ping, the message an
// idle client sends every 15 s, which io.ReadAll would have given 512 bytes of garbage.
const firstReadSize = 16

// readAtMost reads r to its end, or fails with errMessageTooLarge past limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	data := make([]byte, 0, firstReadSize)
	for {
		if len(data) == cap(data) {
			data = slices.Grow(data, len(data))
		}
		n, err := r.Read(data[len(data):min(int64(cap(data)), limit+1)])
		data = data[:len(data)+n]
		switch {
		case int64(len(data)) > limit:
			return nil, errMessageTooLarge
		case err == io.EOF:
			return data, nil
		case err != nil:
			return nil, err
		}
	}
}

// handle serves one WebSocket message of the client; it reports whether the connection goes on.
func (s *Server) handle(conn *pubsub.Conn, data []byte) bool {
	sess := sessionOf(conn)
	proto, st := sess.proto, sess.stateful
	// A Ping alone, the message an idle client sends every 15 s, only keeps the connection
	// alive (stateful reconnect does not count it either). It is told by its bytes, which every
	// client writes alike: parsing it would double an idle reader's stack for good.
	if bytes.Equal(data, proto.ping()) {
		return true
	}
	msgs, err := proto.parse(data)
	if err != nil {
		s.logger.Info("invalid SignalR message, closing", "conn", conn.ID(), "err", err)
		conn.Close(pubsub.ClosePolicyViolation, "Invalid message: "+err.Error())
		return false
	}
	var ack uint64
	for _, m := range msgs {
		if st != nil {
			serve, seen, err := st.accept(m)
			if err != nil {
				s.logger.Info("invalid SignalR message, closing", "conn", conn.ID(), "err", err)
				conn.Close(pubsub.ClosePolicyViolation, "Invalid message: "+err.Error())
				return false
			}
			ack = max(ack, seen)
			if !serve {
				continue
			}
		}
		switch m.Type {
		case typeInvocation, typeStreamInvocation:
			s.invoke(conn, sess, m)
		case typeAck:
			if st != nil {
				conn.Ack(m.SequenceID)
			}
		}
		// Pings only keep the connection alive; stream items, completions and cancellations
		// belong to streams, which are never started; a client's Close is followed by its
		// socket's; unknown types are for newer peers.
	}
	if ack > 0 {
		// Acked at once, not on ASP.NET Core's one-second timer (MessageBuffer.cs AckRate): clients
		// of a serverless hub seldom send, and their buffer is freed only by acks.
		conn.Send(proto.ack(ack), isBinary(proto))
	}
	return true
}

func (s *Server) readFailed(conn *pubsub.Conn, sock pubsub.Socket, err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		conn.ClosedByClient(ce.Code)
	case errors.Is(err, errMessageTooLarge):
		s.logger.Info("SignalR client message too large, closing", "conn", conn.ID())
		conn.Close(pubsub.CloseTooBig, fmt.Sprintf("Message too large: the limit is %d bytes.", s.svc.Limits().MaxMessageBytes))
	default:
		conn.Dropped(sock, "connection lost")
	}
}
