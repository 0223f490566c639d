package webpubsub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// eventTimeout bounds one blocking call to an app's event handler.
const eventTimeout = 30 * time.Second

// readTimeout ends a client that has sent nothing, not even a pong, for this long.
const readTimeout = 3 * pubsub.KeepAliveInterval

// session is the Web PubSub state of one connection, kept across reliable reconnects.
type session struct {
	protocol string // negotiated subprotocol; "" for a simple WebSocket client
	// address is the client address the connection is counted under (connCaps).
	address string
	// A simple client in sendToGroup mode publishes every frame to group.
	toGroup  string
	events   *upstream.Client // nil when the hub has no event handler
	upstream *upstream.Conn
	acks     ackCache
	streams  streamTable
	calls    invocations
}

func (s *session) simple() bool { return s.protocol == "" }

// serveClient accepts a client WebSocket: a reconnect of a reliable session, or a new connection
// authorised by its access token and, when configured, by the app's connect handler.
func (s *Server) serveClient(w http.ResponseWriter, r *http.Request, hubName string) {
	if !pubsub.ValidHubName(hubName) {
		s.errs.WriteError(w, r, httpapi.AzureError(http.StatusBadRequest, "InvalidHub", "hub name must start with a letter and contain only letters, digits and _`,.[]", nil))
		return
	}
	q := r.URL.Query()
	if id := q.Get("awps_connection_id"); id != "" {
		s.recover(w, r, hubName, id, q.Get("awps_reconnection_token"))
		return
	}
	claims, err := s.verifyClientToken(r, hubName)
	if err != nil {
		s.errs.WriteError(w, r, httpapi.AzureError(http.StatusUnauthorized, "Unauthorized", tokenProblem(err), fmt.Errorf("client token rejected: %w", err)))
		return
	}
	hub := s.svc.Hub(hubName)
	offered := websocket.Subprotocols(r)
	sess := &session{protocol: chooseProtocol(offered), events: s.events(hubName)}
	userID, roles, groups := claims.Subject(), claims.Roles(), claims.Groups()
	for _, g := range groups {
		if !pubsub.ValidGroupName(g) {
			s.errs.WriteError(w, r, httpapi.AzureError(http.StatusBadRequest, "InvalidGroup", fmt.Sprintf("invalid group name in token: %q", g), nil))
			return
		}
	}
	if sess.simple() {
		if err := sess.simpleMode(q); err != nil {
			s.errs.WriteError(w, r, httpapi.AzureError(http.StatusBadRequest, "BadRequest", err.Error(), nil))
			return
		}
	}
	connID := pubsub.NewID()
	sess.upstream = &upstream.Conn{ConnectionID: connID, UserID: userID, Subprotocol: sess.protocol}
	if sess.events != nil && sess.events.HasConnect() {
		res, err := sess.events.Connect(r.Context(), sess.upstream, connectRequest(r, claims.Forward(), offered))
		if err != nil {
			var rej *upstream.RejectError
			if errors.As(err, &rej) {
				w.Header().Set("Content-Type", rej.ContentType)
				w.WriteHeader(rej.Status)
				_, _ = w.Write(rej.Body)
				return
			}
			s.errs.WriteError(w, r, httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "the connect event handler did not answer",
				fmt.Errorf("connect event handler of hub %s: %w", hubName, err)))
			return
		}
		if res.UserID != nil {
			userID = *res.UserID
		}
		if res.Roles != nil {
			roles = res.Roles
		}
		if len(res.Groups) > 0 {
			groups = res.Groups
		}
		if res.Subprotocol != "" {
			if !slices.Contains(offered, res.Subprotocol) {
				s.errs.WriteError(w, r, httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "the connect event handler chose a subprotocol the client did not offer", nil))
				return
			}
			sess.protocol = res.Subprotocol
		}
		sess.upstream.UserID = userID
		sess.upstream.Subprotocol = sess.protocol
	}

	sess.address = s.clientAddr(r)
	if err := s.svc.AdmitConnection(userID, sess.address); err != nil {
		s.errs.WriteError(w, r, httpapi.AzureError(http.StatusTooManyRequests, "TooManyConnections", err.Error(), nil))
		return
	}
	// Initial groups are joined as the connection registers, and the connected message is set to
	// go first, so that neither a group message nor the greeting can be missed or overtaken.
	conn, err := hub.Connect(pubsub.ConnOptions{
		ID:         connID,
		UserID:     userID,
		Roles:      roles,
		Codec:      sess.codec(),
		Reliable:   sess.reliable(),
		Attachment: sess,
		OnClose:    s.onClose,
	}, groups)
	if err != nil {
		s.svc.ReleaseConnection(userID, sess.address)
		s.errs.WriteError(w, r, httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "could not register the connection", err))
		return
	}
	// Checked once the connection is registered: a revocation committed after this check closes
	// its user's connections after it, this one included, so none slips between the two.
	revoked, err := s.tokenRevoked(r.Context(), hubName, claims)
	if err != nil || revoked {
		conn.Close(pubsub.CloseNormal, "access token refused")
		if err != nil {
			s.errs.WriteError(w, r, httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "could not check the access token", err))
		} else {
			s.errs.WriteError(w, r, httpapi.AzureError(http.StatusUnauthorized, "Unauthorized", "the access token was revoked", nil))
		}
		return
	}
	if !sess.simple() {
		token := ""
		if conn.Reliable() {
			if token, err = s.keys.SignReconnectionToken(conn.ID(), time.Now()); err != nil {
				s.logger.Error("sign reconnection token", "err", err)
			}
		}
		conn.Greet(sess.connected(userID, conn.ID(), token))
	}
	ws, err := s.upgrade(w, r, sess.protocol)
	if err != nil {
		conn.Close(pubsub.CloseNormal, "upgrade failed")
		return
	}
	_ = conn.Attach(ws.NetConn())
	if sess.events != nil {
		s.background(func(ctx context.Context) { sess.events.Connected(ctx, sess.upstream) })
	}
	// The HTTP handler returns so that its deep stack and request state are freed; an idle
	// connection then costs only a small reader goroutine.
	go s.readLoop(ws, conn, sess)
}

// tokenRevoked reports whether the app revoked the user's token after it was issued.
func (s *Server) tokenRevoked(ctx context.Context, hub string, claims *accesskey.Claims) (bool, error) {
	user := claims.Subject()
	if s.revoked == nil || user == "" {
		return false, nil
	}
	issuedAt, _ := claims.IssuedAt()
	revoked, err := s.revoked.TokenRevoked(ctx, hub, user, issuedAt)
	if err != nil {
		return false, fmt.Errorf("check revocation of %s's token on hub %s: %w", user, hub, err)
	}
	return revoked, nil
}

// recover reattaches a reliable session. Failure is told after the upgrade with 1008, as the SDK
// expects: an HTTP error would make it retry the hopeless reconnect until its budget runs out.
func (s *Server) recover(w http.ResponseWriter, r *http.Request, hubName, connID, token string) {
	var conn *pubsub.Conn
	var sess *session
	hub, ok := s.svc.LookupHub(hubName)
	if ok {
		conn, ok = hub.Connection(connID)
	}
	if ok {
		sess, _ = conn.Attachment().(*session)
	}
	valid := ok && sess != nil && conn.Reliable() && s.keys.VerifyReconnectionToken(token, connID, time.Now()) == nil
	protocol := ProtocolReliableJSON
	if sess != nil {
		protocol = sess.protocol
	}
	ws, err := s.upgrade(w, r, protocol)
	if err != nil {
		return
	}
	if !valid {
		s.logger.Info("reconnect refused", "hub", hubName, "conn", connID)
		closeRaw(ws, pubsub.ClosePolicyViolation, "The connection could not be recovered.")
		return
	}
	// The client hears connected again, first, with a fresh token: the SDK resumes its paused
	// group streams on it, and fires no event for it after a recovery (client-spec §1.2 item 4).
	fresh, err := s.keys.SignReconnectionToken(conn.ID(), time.Now())
	if err != nil {
		s.logger.Error("sign reconnection token", "err", err)
	}
	conn.Greet(sess.connected(conn.UserID(), conn.ID(), fresh))
	if err := conn.Attach(ws.NetConn()); err != nil {
		closeRaw(ws, pubsub.ClosePolicyViolation, "The connection could not be recovered.")
		return
	}
	// The HTTP handler returns so that its deep stack and request state are freed; an idle
	// connection then costs only a small reader goroutine.
	go s.readLoop(ws, conn, sess)
}

func closeRaw(ws *websocket.Conn, code int, reason string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(5*time.Second))
	_ = ws.Close()
}

func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, protocol string) (*websocket.Conn, error) {
	h := http.Header{}
	if protocol != "" && slices.Contains(websocket.Subprotocols(r), protocol) {
		h.Set("Sec-WebSocket-Protocol", protocol)
	}
	ws, err := s.upgrader.Upgrade(w, r, h)
	if err != nil {
		// The upgrader has already answered the client with the reason.
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	return ws, nil
}

func chooseProtocol(offered []string) string {
	for _, p := range offered {
		switch p {
		case ProtocolJSON, ProtocolReliableJSON, ProtocolProtobuf, ProtocolReliableProtobuf:
			return p
		}
	}
	return ""
}

func (s *session) codec() pubsub.Codec {
	switch s.protocol {
	case ProtocolJSON:
		return jsonCodec
	case ProtocolReliableJSON:
		return reliableJSONCodec
	case ProtocolProtobuf:
		return protobufCodec
	case ProtocolReliableProtobuf:
		return reliableProtobufCodec
	}
	return rawCodec
}

// simpleMode reads how a simple client's frames are routed: to the event handler (the default) or
// to one group.
func (s *session) simpleMode(q map[string][]string) error {
	mode := first(q["webpubsub_mode"])
	switch strings.ToLower(mode) {
	case "", "sendevent":
		return nil
	case "sendtogroup":
		g := first(q["group"])
		if !pubsub.ValidGroupName(g) {
			return errors.New("webpubsub_mode=sendToGroup needs a valid group query parameter")
		}
		s.toGroup = g
		return nil
	}
	return fmt.Errorf("unknown webpubsub_mode %q: use sendEvent or sendToGroup", mode)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// connectRequest is what the connect handler learns of the client; the token itself stays out.
func connectRequest(r *http.Request, claims map[string][]string, offered []string) upstream.ConnectRequest {
	query := map[string][]string{}
	for k, v := range r.URL.Query() {
		if k != "access_token" {
			query[k] = v
		}
	}
	headers := map[string][]string{"Host": {r.Host}}
	for k, v := range r.Header {
		if k != "Authorization" {
			headers[k] = v
		}
	}
	if offered == nil {
		offered = []string{}
	}
	return upstream.ConnectRequest{Claims: claims, Query: query, Headers: headers, Subprotocols: offered}
}

// onClose uncounts a connection that is gone and tells the app's handler, if it accepted it.
func (s *Server) onClose(c *pubsub.Conn, reason string) {
	sess, ok := c.Attachment().(*session)
	if !ok {
		return
	}
	s.svc.ReleaseConnection(c.UserID(), sess.address)
	s.endStreams(c, sess)
	sess.calls.cancelAll()
	if sess.events == nil {
		return
	}
	s.background(func(ctx context.Context) { sess.events.Disconnected(ctx, sess.upstream, reason) })
}

// readLoop handles one socket's inbound frames until it fails or closes.
func (s *Server) readLoop(ws *websocket.Conn, conn *pubsub.Conn, sess *session) {
	sock := ws.NetConn()
	ws.SetReadLimit(s.svc.Limits().MaxMessageBytes)
	// Control frames go through the connection's queue: it is the socket's only writer.
	ws.SetPingHandler(func(data string) error {
		conn.Pong([]byte(data))
		return ws.SetReadDeadline(time.Now().Add(readTimeout))
	})
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(readTimeout)) })
	ws.SetCloseHandler(func(int, string) error { return nil })
	for {
		_ = ws.SetReadDeadline(time.Now().Add(readTimeout))
		kind, data, err := ws.ReadMessage()
		if err != nil {
			s.readFailed(conn, sock, err)
			return
		}
		s.svc.CountInbound(len(data))
		if !conn.AllowInbound(s.now()) {
			limit := fmt.Sprintf("too many messages: the limit is %d per second", s.svc.Limits().MaxInboundPerSecond)
			// The refusal is answered even when it closes the connection: Close keeps the replies
			// queued before it.
			refuseOverLimit(conn, sess, data, limit)
			if conn.Flooding() {
				s.logger.Info("client flooding past its message rate, closing", "conn", conn.ID())
				conn.Close(pubsub.ClosePolicyViolation, limit)
				return
			}
			continue
		}
		if sess.simple() {
			s.handleSimple(conn, sess, kind, data)
			continue
		}
		if sess.protobuf() {
			// The reference pages allow a protobuf request in a text frame as well.
			if !s.handleProtobuf(conn, sess, data) {
				return
			}
			continue
		}
		if kind != websocket.TextMessage {
			conn.Close(pubsub.CloseUnsupportedData, "the JSON subprotocol requires text messages")
			return
		}
		if !s.handleJSON(conn, sess, data) {
			return
		}
	}
}

// refuseOverLimit drops a message over the rate limit, telling a JSON client that asked for an
// ack, waits for an invocation's answer, or whose stream fragment it was, so that it can slow
// down and retry.
func refuseOverLimit(conn *pubsub.Conn, sess *session, data []byte, reason string) {
	if sess.simple() {
		return
	}
	var m struct {
		Type         string  `json:"type"`
		AckID        *uint64 `json:"ackId"`
		StreamID     string  `json:"streamId"`
		InvocationID string  `json:"invocationId"`
	}
	if sess.protobuf() {
		m.AckID = protobufAckID(data)
	} else if json.Unmarshal(data, &m) != nil {
		return
	}
	switch {
	case m.Type == "invoke" && m.InvocationID != "":
		conn.Send(invokeFailure(m.InvocationID, ackTooManyRequests, reason), false)
	case m.AckID != nil:
		sess.ack(conn, *m.AckID, ackTooManyRequests, reason)
	}
	if m.Type == "streamData" {
		sess.streams.overLimit(connLink{conn}, m.StreamID, reason)
	}
}

func (s *Server) readFailed(conn *pubsub.Conn, sock pubsub.Socket, err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		// 1006 is the library's name for a socket that ended without a close frame: a drop.
		conn.ClosedByClient(ce.Code)
	case errors.Is(err, websocket.ErrReadLimit):
		s.logger.Info("client message too large", "conn", conn.ID())
		// The reader has already sent 1009; the session cannot continue past a lost message.
		conn.Close(pubsub.CloseTooBig, "message too large")
	default:
		conn.Dropped(sock, "connection lost")
	}
}

// inbound is one request of a subprotocol, as the JSON subprotocol spells it (a protobuf request
// is decoded into the same form). Unknown fields are ignored so that newer clients keep working.
type inbound struct {
	Type       string          `json:"type"`
	Group      string          `json:"group"`
	Event      string          `json:"event"`
	AckID      *uint64         `json:"ackId"`
	NoEcho     bool            `json:"noEcho"`
	DataType   string          `json:"dataType"`
	Data       json.RawMessage `json:"data"`
	SequenceID *uint64         `json:"sequenceId"`
	TTLSeconds *int            `json:"ttlSeconds"`
	// Group streams (streams.go).
	Stream           *streamStart    `json:"stream"`
	StreamID         string          `json:"streamId"`
	StreamSequenceID *uint64         `json:"streamSequenceId"`
	Error            *streamEndError `json:"error"`
	// InvocationID and Target are those of invoke and cancelInvocation.
	InvocationID string `json:"invocationId"`
	Target       string `json:"target"`
}

// requestError is a client request that failed; it becomes an error ack, or closes the
// connection when the client asked for no ack.
type requestError struct{ name, msg string }

// handleJSON serves one JSON subprotocol message; it reports whether the connection goes on.
func (s *Server) handleJSON(conn *pubsub.Conn, sess *session, data []byte) bool {
	var m inbound
	if err := json.Unmarshal(data, &m); err != nil {
		s.logger.Info("invalid JSON from client", "conn", conn.ID(), "err", err)
		conn.Close(pubsub.CloseInvalidPayload, "invalid JSON message")
		return false
	}
	return s.handle(conn, sess, m)
}

// handle serves one subprotocol request; it reports whether the connection goes on.
func (s *Server) handle(conn *pubsub.Conn, sess *session, m inbound) bool {
	if m.AckID != nil && m.Type != "sequenceAck" && m.Type != "ping" && sess.acks.seen(*m.AckID) {
		sess.ack(conn, *m.AckID, ackDuplicate, fmt.Sprintf("Message with ack-id: %d has been processed", *m.AckID))
		return true
	}
	var rerr *requestError
	switch m.Type {
	case "ping":
		sess.pong(conn)
		return true
	case "sequenceAck":
		if m.SequenceID == nil {
			conn.Close(pubsub.CloseInvalidPayload, "sequenceAck needs a sequenceId")
			return false
		}
		conn.Ack(*m.SequenceID)
		return true
	case "joinGroup", "leaveGroup":
		rerr = s.joinLeave(conn, m)
	case "sendToGroup":
		if m.Stream != nil {
			s.openStream(conn, sess, m)
			return true
		}
		rerr = s.sendToGroup(conn, m)
	case "streamData":
		s.streamData(conn, sess, m)
		return true
	case "streamEnd":
		s.streamEnd(conn, sess, m)
		return true
	case "event":
		rerr = s.userEvent(conn, sess, m)
	case "invoke":
		return s.invoke(conn, sess, m)
	case "cancelInvocation":
		return s.cancelInvocation(sess, m)
	case "setGroupState", "subscribeGroupState", "unsubscribeGroupState":
		rerr = refuseGroupState(m.Type)
	default:
		rerr = &requestError{ackBadRequest, fmt.Sprintf("unsupported message type %q", m.Type)}
	}
	if m.AckID == nil {
		if rerr != nil && unserved(m.Type) {
			s.logger.Info("request from client refused", "conn", conn.ID(), "type", m.Type, "err", rerr.msg)
		} else if rerr != nil && rerr.name == ackBadRequest {
			s.logger.Info("bad request from client", "conn", conn.ID(), "type", m.Type, "err", rerr.msg)
			conn.Close(pubsub.CloseInvalidPayload, rerr.msg)
			return false
		}
		return true
	}
	if rerr != nil {
		sess.ack(conn, *m.AckID, rerr.name, rerr.msg)
		return true
	}
	sess.acks.record(*m.AckID)
	sess.ack(conn, *m.AckID, "", "")
	return true
}

func (s *Server) joinLeave(conn *pubsub.Conn, m inbound) *requestError {
	if !pubsub.ValidGroupName(m.Group) {
		return &requestError{ackBadRequest, "group name must be 1 to 1024 characters and not only white space"}
	}
	if !conn.Can(pubsub.JoinLeaveGroup, m.Group) {
		return &requestError{ackForbidden, fmt.Sprintf("no permission to join or leave group %q", m.Group)}
	}
	if m.Type == "leaveGroup" {
		conn.Hub().Leave(conn, m.Group)
		return nil
	}
	switch err := conn.Hub().Join(conn, m.Group); {
	case errors.Is(err, pubsub.ErrTooManyGroups):
		return &requestError{ackBadRequest, fmt.Sprintf("a connection may be in at most %d groups", s.svc.Limits().MaxGroupsPerConn)}
	case err != nil:
		return &requestError{ackInternalError, "the group could not be joined"}
	}
	return nil
}

func (s *Server) sendToGroup(conn *pubsub.Conn, m inbound) *requestError {
	if !pubsub.ValidGroupName(m.Group) {
		return &requestError{ackBadRequest, "group name must be 1 to 1024 characters and not only white space"}
	}
	if !conn.Can(pubsub.SendToGroup, m.Group) {
		return &requestError{ackForbidden, fmt.Sprintf("no permission to send to group %q", m.Group)}
	}
	dt, payload, rerr := decodeData(m.DataType, m.Data)
	if rerr != nil {
		return rerr
	}
	msg := clientGroupMessage(conn, m.Group, dt, payload)
	if m.TTLSeconds != nil {
		if *m.TTLSeconds < 0 || *m.TTLSeconds > 300 {
			return &requestError{ackBadRequest, "ttlSeconds must be between 0 and 300"}
		}
		if *m.TTLSeconds > 0 {
			msg.Expires = msg.Published.Add(time.Duration(*m.TTLSeconds) * time.Second)
		}
	}
	if err := publishToGroup(conn, m.Group, m.NoEcho, msg); err != nil {
		s.logger.Error("publish to group", "conn", conn.ID(), "group", m.Group, "err", err)
		return &requestError{ackInternalError, "the message could not be published"}
	}
	return nil
}

// publishToGroup publishes a message of conn's to group, not back to conn when noEcho is set.
func publishToGroup(conn *pubsub.Conn, group string, noEcho bool, m *pubsub.Message) error {
	to := pubsub.Selector{Kind: pubsub.ToGroup, Name: group}
	if noEcho {
		to.ExceptConnection = conn.ID()
	}
	return conn.Hub().Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: to, Message: m})
}

// clientGroupMessage is what conn publishes to group: ephemeral when the hub says that group's
// client traffic is.
func clientGroupMessage(conn *pubsub.Conn, group string, dt pubsub.DataType, data []byte) *pubsub.Message {
	m := pubsub.NewGroupMessage(group, conn.UserID(), dt, data)
	m.Ephemeral = conn.Hub().EphemeralGroup(group)
	return m
}

// decodeData turns a JSON subprotocol payload into message bytes for its dataType.
func decodeData(dataType string, raw json.RawMessage) (pubsub.DataType, []byte, *requestError) {
	dt, ok := pubsub.ParseDataType(dataType)
	if !ok {
		return 0, nil, &requestError{ackBadRequest, fmt.Sprintf("unknown dataType %q: use json, text or binary", dataType)}
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	switch dt {
	case pubsub.Text:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, nil, &requestError{ackBadRequest, "data must be a string when dataType is text"}
		}
		return dt, []byte(s), nil
	case pubsub.Binary, pubsub.Protobuf:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, nil, &requestError{ackBadRequest, "data must be a base64 string when dataType is binary"}
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return 0, nil, &requestError{ackBadRequest, "data is not valid base64"}
		}
		return dt, b, nil
	}
	// The raw value came out of a successful decode of the whole message, so it is valid JSON, but
	// the decoder does not check UTF-8 inside it: text frames must be UTF-8 or every recipient
	// fails. It is copied because the read buffer is reused.
	if !utf8.Valid(raw) {
		return 0, nil, &requestError{ackBadRequest, "data must be valid UTF-8"}
	}
	return dt, append([]byte(nil), raw...), nil
}

func (s *Server) userEvent(conn *pubsub.Conn, sess *session, m inbound) *requestError {
	if m.Event == "" {
		return &requestError{ackBadRequest, "event needs a name"}
	}
	dt, payload, rerr := decodeData(m.DataType, m.Data)
	if rerr != nil {
		return rerr
	}
	if sess.events == nil || !sess.events.Wants(m.Event) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	reply, err := sess.events.UserEvent(ctx, sess.upstream, m.Event, contentTypeOf(dt), payload)
	if err != nil {
		s.logEventFailure("user event handler failed", conn, err)
		return &requestError{ackInternalError, "the event handler failed"}
	}
	if reply != nil {
		conn.Deliver(pubsub.NewMessage(reply.DataType, reply.Data))
	}
	return nil
}

// handleProtobuf serves one protobuf subprotocol message; it reports whether the connection goes
// on. A message that does not follow the schema closes the connection, as invalid JSON does.
func (s *Server) handleProtobuf(conn *pubsub.Conn, sess *session, data []byte) bool {
	m, err := decodeProtobuf(data)
	if err != nil {
		s.logger.Info("invalid protobuf message from client", "conn", conn.ID(), "err", err)
		conn.Close(pubsub.CloseInvalidPayload, "invalid protobuf message")
		return false
	}
	return s.handle(conn, sess, m)
}

// handleSimple routes a simple client's frame to its group or to the app's "message" event; the
// handler's answer goes back as a frame.
func (s *Server) handleSimple(conn *pubsub.Conn, sess *session, kind int, data []byte) {
	dt := pubsub.Text
	if kind == websocket.BinaryMessage {
		dt = pubsub.Binary
	} else if !utf8.Valid(data) {
		// RFC 6455 requires text frames to be UTF-8; passing one on would break every recipient.
		s.logger.Info("client text frame is not UTF-8, closing", "conn", conn.ID())
		conn.Close(pubsub.CloseInvalidPayload, "text frames must be valid UTF-8")
		return
	}
	if sess.toGroup != "" {
		if !conn.Can(pubsub.SendToGroup, sess.toGroup) {
			conn.Close(pubsub.ClosePolicyViolation, "no permission to send to group "+sess.toGroup)
			return
		}
		msg := clientGroupMessage(conn, sess.toGroup, dt, data)
		_ = conn.Hub().Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: pubsub.Selector{Kind: pubsub.ToGroup, Name: sess.toGroup}, Message: msg})
		return
	}
	if sess.events == nil || !sess.events.Wants("message") {
		conn.Close(pubsub.ClosePolicyViolation, "no event handler is configured to receive messages")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	reply, err := sess.events.UserEvent(ctx, sess.upstream, "message", contentTypeOf(dt), data)
	if err != nil {
		s.logEventFailure("message event handler failed, closing", conn, err)
		conn.Close(pubsub.CloseInternalError, "the event handler failed")
		return
	}
	if reply != nil {
		conn.Deliver(pubsub.NewMessage(reply.DataType, reply.Data))
	}
}

// logEventFailure logs a failed user event unless the handler's URL is refused by abuse
// protection, which upstream logs once per change rather than once per event.
func (s *Server) logEventFailure(msg string, conn *pubsub.Conn, err error) {
	if !errors.Is(err, upstream.ErrNotValidated) {
		s.logger.Info(msg, "conn", conn.ID(), "err", err)
	}
}

func contentTypeOf(dt pubsub.DataType) string {
	switch dt {
	case pubsub.Text:
		return "text/plain"
	case pubsub.Binary, pubsub.Protobuf:
		// Not application/x-protobuf, which one reference page names: @azure/web-pubsub-express
		// (cloudEventsDispatcher.js, readUserEventRequest) reads no event of that type.
		return "application/octet-stream"
	}
	return "application/json"
}

// ackCache remembers the last ackIds that succeeded, so a retried request is not done twice. It is
// locked because for a moment after a reconnect the old socket's reader may still be finishing.
type ackCache struct {
	mu   sync.Mutex
	ids  map[uint64]struct{}
	ring []uint64
	next int
}

const ackCacheSize = 1000

func (a *ackCache) seen(id uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.ids[id]
	return ok
}

func (a *ackCache) record(id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = make(map[uint64]struct{})
	}
	if len(a.ring) < ackCacheSize {
		a.ring = append(a.ring, id)
	} else {
		delete(a.ids, a.ring[a.next])
		a.ring[a.next] = id
		a.next = (a.next + 1) % ackCacheSize
	}
	a.ids[id] = struct{}{}
}
