package signalr

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/signalr/upstream"
)

// Upstream is the app's serverless upstream, as [upstream.Client] serves it: told of each
// connection's start and end, and asked to run the hub methods clients invoke.
type Upstream interface {
	Connected(upstream.Conn)
	Disconnected(conn upstream.Conn, errMsg string)
	Invoke(ctx context.Context, conn upstream.Conn, inv upstream.Invocation) upstream.Result
}

// maxInvocationsInFlight bounds a connection's invocations waiting for the upstream, so that a
// client cannot hold more requests and goroutines than that; one more is refused at once.
const maxInvocationsInFlight = 16

const tooManyInvocations = "Invocation failed, too many invocations: at most 16 may wait for their results at once."

// invocationRefused answers a client's invocation when no upstream is set: in serverless mode
// clients only listen, and nobody could run the method. The service disconnects such clients per
// Microsoft Learn ("Azure SignalR Service serverless mode"); answering keeps the connection and
// tells the caller at once.
const invocationRefused = "Client invocations are not supported: the hub is served in serverless mode, without an upstream."

// streamRefused answers a streaming invocation: upstreams take plain invocations only (the
// SignalR emulator's HttpServerlessMessageHandler forwards InvocationMessage alone).
const streamRefused = "Streaming invocations are not supported in serverless mode."

const noTarget = "Invocation failed: the invocation names no hub method."

// client is what a transport's connect request tells of the client, for its connection caps and,
// when there is an upstream, its upstream events.
type client struct {
	claims  []upstream.Claim
	query   string
	address string
}

// clientOf reads the client of a connect request. The claims and the query are only an
// upstream's to know: without one, every connection would keep them, and through the query's
// bytes the request line, for nothing.
func (s *Server) clientOf(r *http.Request, claims *accesskey.Claims) client {
	c := client{address: s.clientAddr(r)}
	if s.upstream != nil {
		c.claims, c.query = upstreamClaims(claims), queryWithoutToken(r.URL.RawQuery)
	}
	return c
}

// queryWithoutToken is the connect request's query as the client wrote it, less the access
// token a browser passes there: the token is the client's credential, not the app's to log
// (Web PubSub's connect event leaves it out too).
func queryWithoutToken(raw string) string {
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); part == "" || err == nil && n == "access_token" {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}

// upstreamClaims lists a token's claims, one per value of an array, by name so that the
// X-ASRS-User-Claims header is the same for the same token.
func upstreamClaims(c *accesskey.Claims) []upstream.Claim {
	fwd := c.Forward()
	names := make([]string, 0, len(fwd))
	for name := range fwd {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []upstream.Claim
	for _, name := range names {
		for _, v := range fwd[name] {
			out = append(out, upstream.Claim{Type: name, Value: v})
		}
	}
	return out
}

// session is what the server keeps of a connection beside its pubsub.Conn, as the connection's
// attachment so that it outlives the sockets and is at hand when the connection ends.
type session struct {
	proto    protocol
	stateful *statefulConn // nil unless the client uses stateful reconnect
	address  string
	up       *upstreamSession // nil without an upstream
	// ended is set, under Server.mu, when the connection has ended: it is no longer tracked.
	ended bool
}

// upstreamSession is a connection as its upstream knows it, and its invocations under way.
type upstreamSession struct {
	conn upstream.Conn
	// calls holds one token per invocation waiting for the upstream.
	calls chan struct{}
	// ctx ends with the connection, cancelling its invocations.
	ctx    context.Context
	cancel context.CancelFunc
}

// newSession starts the session of a negotiated connection, with what an upstream needs only
// when there is one: the many connections of a hub without one do not carry it.
func (s *Server) newSession(p pendingConn, proto protocol, c client) *session {
	sess := &session{proto: proto, address: c.address}
	if s.upstream != nil {
		ctx, cancel := context.WithCancel(context.Background())
		sess.up = &upstreamSession{
			conn: upstream.Conn{Hub: p.hub, ConnectionID: p.connectionID, UserID: p.userID,
				Claims: c.claims, Query: c.query},
			calls:  make(chan struct{}, maxInvocationsInFlight),
			ctx:    ctx,
			cancel: cancel,
		}
	}
	return sess
}

// end cancels the connection's invocations under way.
func (sess *session) end() {
	if sess.up != nil {
		sess.up.cancel()
	}
}

func sessionOf(c *pubsub.Conn) *session { return c.Attachment().(*session) }

// register makes a handshaken connection one of its hub's: counted against the connection caps,
// tracked for the keep-alive and reconnects, and announced upstream. problem, when not "", is why
// it was refused, for the handshake response (whose refusal logs it).
func (s *Server) register(p pendingConn, sess *session, opts pubsub.ConnOptions) (conn *pubsub.Conn, problem string) {
	if err := s.svc.AdmitConnection(p.userID, sess.address); err != nil {
		sess.end()
		return nil, "Too many connections: " + err.Error()
	}
	opts.ID, opts.UserID, opts.Codec, opts.OnClose, opts.Attachment = p.connectionID, p.userID, sess.proto, s.onClose, sess
	conn, err := s.svc.Hub(p.hub).Connect(opts, nil)
	if err != nil {
		s.svc.ReleaseConnection(p.userID, sess.address)
		sess.end()
		s.logger.Error("register SignalR connection", "hub", p.hub, "err", err)
		return nil, "The connection could not be registered."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A connection that ended already (the hub shutting down) was told upstream as disconnected,
	// which its connected event must not follow.
	if !sess.ended {
		s.conns[conn] = sess
		if sess.stateful != nil {
			s.stateful[sess.stateful.token] = conn
		}
		if s.upstream != nil {
			s.upstream.Connected(sess.up.conn)
		}
	}
	return conn, ""
}

// onClose forgets a connection that has ended, uncounts it and tells the upstream, once.
func (s *Server) onClose(c *pubsub.Conn, reason string) {
	sess := sessionOf(c)
	s.mu.Lock()
	sess.ended = true
	delete(s.conns, c)
	if sess.stateful != nil {
		delete(s.stateful, sess.stateful.token)
	}
	// Told under the lock, so that it cannot overtake the connected event register sends.
	if s.upstream != nil {
		s.upstream.Disconnected(sess.up.conn, reason)
	}
	s.mu.Unlock()
	sess.end()
	s.svc.ReleaseConnection(c.UserID(), sess.address)
}

// invoke serves a client's invocation beside the connection's reader: the upstream runs it and
// the client gets its Completion when it has an id.
func (s *Server) invoke(conn *pubsub.Conn, sess *session, m clientMessage) {
	answer := func(msg string) {
		if m.InvocationID != "" {
			conn.SendCounted(sess.proto.completion(m.InvocationID, msg), isBinary(sess.proto))
		}
	}
	switch {
	case m.Type == typeStreamInvocation:
		answer(streamRefused)
		return
	case s.upstream == nil:
		answer(invocationRefused)
		return
	case m.Target == "":
		// An upstream is chosen by the method's name: without one there is nothing to call.
		answer(noTarget)
		return
	}
	up := sess.up
	select {
	case up.calls <- struct{}{}:
	default:
		s.logger.Info("SignalR client past its invocations in flight", "conn", conn.ID(), "target", m.Target)
		answer(tooManyInvocations)
		return
	}
	inv := upstream.Invocation{Target: m.Target, InvocationID: m.InvocationID, Protocol: sess.proto.Name(), Payload: m.Raw}
	go func() {
		defer func() { <-up.calls }()
		res := s.upstream.Invoke(up.ctx, up.conn, inv)
		if m.InvocationID == "" || up.ctx.Err() != nil {
			return
		}
		if res.Frames != nil {
			// The upstream answers the Completion framed in the client's protocol.
			conn.SendCounted(res.Frames, isBinary(sess.proto))
			return
		}
		answer(res.Error)
	}()
}
