package signalr

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// The HTTP transports, Server-Sent Events and long polling, as ASP.NET Core SignalR serves them
// (Microsoft.AspNetCore.Http.Connections HttpConnectionDispatcher) and @microsoft/signalr speaks
// them: on /client/?hub=…&id=<connection token>, a GET opens the event stream or polls, a POST
// carries the client's records (the handshake first), and a DELETE ends a long-polling
// connection. The service's messages go through the connection's outbox, unframed.

// httpConn is a negotiated connection on an HTTP transport, from its first GET to its end.
type httpConn struct {
	token   string
	pending pendingConn
	client  client // of the first GET, the connect request
	// longPolling, or else Server-Sent Events, which carries only the Text transfer format.
	longPolling bool
	out         *outbox

	// reader serialises the client's POSTs: together they are the connection's reader.
	reader sync.Mutex
	conn   *pubsub.Conn // nil until the handshake
	// silent ends the connection when the client sends nothing for the client timeout (no
	// handshake within the handshake timeout, before it).
	silent *time.Timer
	// absent ends a long-polling connection whose client stops polling.
	absent *time.Timer
	pollMu sync.Mutex
	poll   *activePoll // the poll in progress, if any
}

// httpTransports holds the live connections of the HTTP transports by connection token.
type httpTransports struct {
	mu    sync.Mutex
	conns map[string]*httpConn
}

func (t *httpTransports) get(token string) *httpConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[token]
}

func (t *httpTransports) add(hc *httpConn) {
	t.mu.Lock()
	t.conns[hc.token] = hc
	t.mu.Unlock()
}

// forget removes hc once its transport has nothing more to serve.
func (t *httpTransports) forget(hc *httpConn) {
	t.mu.Lock()
	if t.conns[hc.token] == hc {
		delete(t.conns, hc.token)
	}
	t.mu.Unlock()
	hc.silent.Stop()
	if hc.absent != nil {
		hc.absent.Stop()
	}
}

// serveHTTPTransport serves every request on /client/?hub=…&id=… that is not a WebSocket.
func (s *Server) serveHTTPTransport(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	hub, userID, claims, err := s.client(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	owned := ownedBy(hub, userID)
	token := q.Get("id")
	hc := s.http.get(token)
	if hc != nil {
		if err := owned(hc.pending); err != nil {
			return err
		}
	}
	switch r.Method {
	case http.MethodGet:
		if hc != nil {
			if !hc.longPolling {
				return httpapi.AzureError(http.StatusConflict, "Conflict", "the connection's event stream is already open", nil)
			}
			return s.poll(w, r, hc)
		}
		p, err := s.pending.take(token, s.now(), owned)
		if err != nil {
			return err
		}
		c := s.clientOf(r, claims)
		if acceptsEventStream(r) {
			return s.serveEventStream(w, r, s.startHTTPConn(token, p, c, false))
		}
		s.startHTTPConn(token, p, c, true)
		return s.startLongPolling(w)
	case http.MethodPost:
		if hc == nil {
			return errNoConnection
		}
		return s.receive(w, r, hc)
	case http.MethodDelete:
		if hc == nil {
			return errNoConnection
		}
		return s.stopLongPolling(w, hc)
	}
	return httpapi.AzureError(http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not served on the client endpoint", nil)
}

func (hc *httpConn) transport() string {
	if hc.longPolling {
		return "LongPolling"
	}
	return "ServerSentEvents"
}

// startHTTPConn registers a negotiated connection on its first GET; it waits for its handshake.
func (s *Server) startHTTPConn(token string, p pendingConn, c client, longPolling bool) *httpConn {
	hc := &httpConn{
		token:       token,
		pending:     p,
		client:      c,
		longPolling: longPolling,
		out:         newOutbox(s.svc.Limits().MaxQueuedBytes),
	}
	hc.silent = time.AfterFunc(handshakeTimeout, func() { s.clientSilent(hc) })
	if longPolling {
		hc.absent = time.AfterFunc(s.timeout, func() { s.transportLost(hc, "no poll within the client timeout") })
	}
	s.http.add(hc)
	return hc
}

// receive serves a POST: the client's records, the first POST's starting with the handshake.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, hc *httpConn) error {
	limit := s.svc.Limits().MaxMessageBytes
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return httpapi.AzureError(http.StatusRequestEntityTooLarge, "PayloadTooLarge", fmt.Sprintf("Message too large: the limit is %d bytes.", limit), err)
		}
		return fmt.Errorf("read the client's records: %w", err)
	}
	hc.reader.Lock()
	defer hc.reader.Unlock()
	if hc.conn == nil {
		s.handshakeHTTP(hc, data)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	hc.silent.Reset(s.timeout)
	s.svc.CountInbound(len(data))
	if !hc.conn.AllowInbound(s.now()) {
		if hc.conn.Flooding() {
			s.logger.Info("SignalR client flooding past its message rate, closing", "conn", hc.conn.ID())
			hc.conn.Close(pubsub.ClosePolicyViolation, fmt.Sprintf("Too many messages: the limit is %d per second.", s.svc.Limits().MaxInboundPerSecond))
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.handle(hc.conn, data)
	w.WriteHeader(http.StatusOK)
	return nil
}

// handshakeHTTP serves the handshake request, the start of the client's first POST; the caller
// holds hc.reader. The answer goes out through the transport, as every later message does.
func (s *Server) handshakeHTTP(hc *httpConn, data []byte) {
	// Stateful reconnect is offered on WebSockets only, as the client asks for it there only.
	proto, _, rest, problem := parseHandshake(data)
	if problem == "" && isBinary(proto) && !hc.longPolling {
		// ASP.NET Core's words (HubConnectionContext.HandshakeAsync).
		problem = fmt.Sprintf("Cannot use the '%s' protocol on the current transport. The transport does not support 'Binary' transfer format.", proto.Name())
	}
	if problem != "" {
		s.refuseHTTPHandshake(hc, problem)
		return
	}
	conn, problem := s.register(hc.pending, s.newSession(hc.pending, proto, hc.client), pubsub.ConnOptions{Unframed: true})
	if problem != "" {
		s.refuseHTTPHandshake(hc, problem)
		return
	}
	hc.conn = conn
	hc.silent.Reset(s.timeout)
	conn.Greet(handshakeOK)
	if err := conn.Attach(hc.out); err != nil {
		return
	}
	if len(rest) > 0 {
		s.handle(conn, rest)
	}
}

// refuseHTTPHandshake answers a failed handshake with {"error":…} and ends the transport.
func (s *Server) refuseHTTPHandshake(hc *httpConn, problem string) {
	s.logger.Info("SignalR handshake refused", "hub", hc.pending.hub, "conn", hc.pending.connectionID, "transport", hc.transport(), "reason", problem)
	_ = hc.out.SetWriteDeadline(time.Now().Add(s.svc.Limits().WriteTimeout))
	_, _ = hc.out.Write(handshakeError(problem))
	_ = hc.out.Close()
}

// clientSilent ends a connection whose client sent no handshake in time, or nothing at all for
// the client timeout (the client pings every 15 s), as the WebSocket transport's read deadline does.
func (s *Server) clientSilent(hc *httpConn) {
	hc.reader.Lock()
	defer hc.reader.Unlock()
	if hc.conn == nil {
		s.refuseHTTPHandshake(hc, "Handshake was canceled: no handshake request within 15 seconds.")
		return
	}
	hc.conn.Dropped(hc.out, "client timeout")
}

// transportLost ends the connection when its stream or polls are gone; the transport has nothing
// more to serve.
func (s *Server) transportLost(hc *httpConn, reason string) {
	hc.reader.Lock()
	conn := hc.conn
	hc.reader.Unlock()
	if conn != nil {
		conn.Dropped(hc.out, reason)
	}
	_ = hc.out.Close()
	s.http.forget(hc)
}

// EndHTTPTransports closes every connection of the HTTP transports as the server going away, so
// that their event streams and polls end with the Close message that invites the clients back. An
// HTTP server's shutdown waits for the requests in progress, which these would otherwise hold
// until its timeout; WebSockets, taken over from the HTTP server, close with the hub.
func (s *Server) EndHTTPTransports(reason string) {
	s.http.mu.Lock()
	conns := make([]*httpConn, 0, len(s.http.conns))
	for _, hc := range s.http.conns {
		conns = append(conns, hc)
	}
	s.http.mu.Unlock()
	for _, hc := range conns {
		hc.reader.Lock()
		conn := hc.conn
		hc.reader.Unlock()
		if conn != nil {
			conn.Close(pubsub.CloseGoingAway, reason)
		} else {
			_ = hc.out.Close()
		}
	}
}
