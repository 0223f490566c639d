package signalr

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// connectionTokenLifetime is how long a negotiated connection waits for its WebSocket. A client
// opens it right after negotiating; ASP.NET Core drops a negotiated connection left idle for its
// disconnect timeout, 15 s by default (Microsoft.AspNetCore.Http.Connections
// ConnectionOptionsSetup.DefaultDisconectTimeout), and a longer wait would only keep unused
// tokens around.
const connectionTokenLifetime = 15 * time.Second

// maxPendingConns bounds the negotiated connections waiting for their WebSocket, so that
// negotiating in a loop cannot fill the memory.
const maxPendingConns = 100_000

// transports are what negotiate offers, in ASP.NET Core's order and with its transfer formats:
// an event stream carries only text.
var transports = []transport{
	{Transport: "WebSockets", TransferFormats: []string{"Text", "Binary"}},
	{Transport: "ServerSentEvents", TransferFormats: []string{"Text"}},
	{Transport: "LongPolling", TransferFormats: []string{"Text", "Binary"}},
}

type transport struct {
	Transport       string   `json:"transport"`
	TransferFormats []string `json:"transferFormats"`
}

type negotiateResponse struct {
	NegotiateVersion    int         `json:"negotiateVersion"`
	ConnectionID        string      `json:"connectionId"`
	ConnectionToken     string      `json:"connectionToken,omitempty"`
	AvailableTransports []transport `json:"availableTransports"`
	// UseStatefulReconnect answers a client that asked for it, and only such a client.
	UseStatefulReconnect bool `json:"useStatefulReconnect,omitempty"`
}

// negotiate answers POST /client/negotiate?hub=…: it checks the client token and reserves a
// connection whose token the transport's requests present as id. Version 0 clients use the
// connection id as the token.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	hub, userID, _, err := s.client(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// The service refuses a client past its connection caps at negotiate, before it opens a
	// transport; the connection is counted when it registers, where the caps are checked again.
	address := s.clientAddr(r)
	if err := s.svc.AdmitConnection(userID, address); err != nil {
		return httpapi.AzureError(http.StatusTooManyRequests, "TooManyConnections", err.Error(), nil)
	}
	s.svc.ReleaseConnection(userID, address)
	version := 0
	if v := q.Get("negotiateVersion"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return httpapi.AzureError(http.StatusBadRequest, "InvalidNegotiateVersion", fmt.Sprintf("negotiateVersion %q is not a version number", v), nil)
		}
		// A newer client gets the newest version this service speaks, as ASP.NET Core answers.
		version = min(n, 1)
	}
	resp := negotiateResponse{NegotiateVersion: version, ConnectionID: pubsub.NewID(), AvailableTransports: transports,
		UseStatefulReconnect: wantsStatefulReconnect(r)}
	token := resp.ConnectionID
	if version >= 1 {
		token = pubsub.NewID()
		resp.ConnectionToken = token
	}
	// The hub name is a slice of the request line, which the connection would otherwise keep.
	p := pendingConn{hub: strings.Clone(hub), userID: userID, connectionID: resp.ConnectionID, token: token, stateful: resp.UseStatefulReconnect}
	if !s.pending.add(token, p, s.now()) {
		return httpapi.AzureError(http.StatusServiceUnavailable, "TooManyPendingConnections", "too many negotiated connections wait for their WebSocket; retry later", nil)
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// hubParam validates and lower-cases a hub name: the SDKs lower-case it, so a hub is one hub
// however it is spelt.
func hubParam(hub string) (string, error) {
	if hub == "" {
		return "", httpapi.AzureError(http.StatusBadRequest, "InvalidHub", "the hub query parameter is required", nil)
	}
	if len(hub) > 128 || strings.ContainsFunc(hub, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", httpapi.AzureError(http.StatusBadRequest, "InvalidHub", "the hub name is invalid", nil)
	}
	return strings.ToLower(hub), nil
}

// withCORS lets browsers of any site negotiate with credentials: the Origin is echoed (a
// wildcard is refused with credentials), as are the headers and method a preflight asks for,
// which include Authorization, X-Requested-With and X-SignalR-User-Agent. The official emulator
// allows any origin, header and method with credentials the same way.
func withCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			hd := w.Header()
			hd.Add("Vary", "Origin")
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Credentials", "true")
			if r.Method == http.MethodOptions {
				method := r.Header.Get("Access-Control-Request-Method")
				if method == "" {
					method = http.MethodPost
				}
				hd.Set("Access-Control-Allow-Methods", method)
				if headers := r.Header.Get("Access-Control-Request-Headers"); headers != "" {
					hd.Set("Access-Control-Allow-Headers", headers)
				}
				hd.Set("Access-Control-Max-Age", "600")
			}
		}
		h.ServeHTTP(w, r)
	})
}

// pendingConn is a negotiated connection waiting for its WebSocket.
type pendingConn struct {
	hub, userID, connectionID, token string
	stateful                         bool // the client asked for stateful reconnect
	expires                          time.Time
}

// pendingConns maps connection tokens to negotiated connections until they are used or expire.
// Tokens expire in the order they were made, so a queue finds the expired ones without a scan.
type pendingConns struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	byToken map[string]pendingConn
	order   []string
}

func newPendingConns(ttl time.Duration, max int) *pendingConns {
	return &pendingConns{ttl: ttl, max: max, byToken: make(map[string]pendingConn)}
}

// add reserves token for p, and reports false when too many connections wait.
func (t *pendingConns) add(token string, p pendingConn, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	if len(t.byToken) >= t.max {
		return false
	}
	p.expires = now.Add(t.ttl)
	t.byToken[token] = p
	t.order = append(t.order, token)
	return true
}

// take returns and forgets the connection token names, if it has not expired and use accepts
// it: a token opens one WebSocket, and a request that may not use it does not spend it.
func (t *pendingConns) take(token string, now time.Time, use func(pendingConn) error) (pendingConn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	p, ok := t.byToken[token]
	if !ok || !now.Before(p.expires) {
		return pendingConn{}, errNoConnection
	}
	if err := use(p); err != nil {
		return pendingConn{}, err
	}
	delete(t.byToken, token)
	return p, nil
}

// errOtherUser answers a WebSocket request whose token names another user than negotiated.
var errOtherUser = httpapi.AzureError(http.StatusUnauthorized, "Unauthorized", "the access token names another user than the one that negotiated", nil)

// errNoConnection answers a WebSocket request whose id names no negotiated connection.
var errNoConnection = httpapi.AzureError(http.StatusNotFound, "ConnectionNotFound", "No Connection with that ID: negotiate again", nil)

func (t *pendingConns) expireLocked(now time.Time) {
	n := 0
	for _, tok := range t.order {
		p, ok := t.byToken[tok]
		if ok && now.Before(p.expires) {
			break
		}
		if ok {
			delete(t.byToken, tok)
		}
		n++
	}
	if n > 0 {
		t.order = append(t.order[:0], t.order[n:]...)
	}
}
