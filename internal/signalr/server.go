// Package signalr speaks Azure SignalR Service's client side in serverless mode on top of the
// pubsub hub: the negotiate endpoint and the JSON and MessagePack hub protocols over the
// WebSockets, Server-Sent Events and long-polling transports, so that @microsoft/signalr and the
// .NET client connect unchanged.
//
// A SignalR connection is a connection of the pubsub hub of the same name (hub names are
// lower-cased, as the SDKs send them), so groups, users, existence checks, closes and metrics are
// those of every other connection. Guarantees:
//
//   - An app server's invocation (a message with a Target) is rendered once per hub protocol,
//     whatever the recipient count. A Web PubSub payload without a Target has no form in the hub
//     protocols and is not delivered to SignalR clients.
//
//   - The service pings every client every 15 s and drops one silent for 30 s, the ASP.NET Core
//     defaults the clients are built for.
//
//   - A client is told with a Close message why it was closed; only when the server is going away
//     (shutdown) does the message allow it to reconnect.
//
//   - A client's invocations go to the app's upstream (Options.Upstream), each beside the
//     connection's reader, at most 16 at a time per connection, so that a slow upstream delays
//     only the invocations sent to it; one with an id gets the upstream's Completion. Without
//     an upstream clients only listen: an invocation that waits for a result is answered with
//     an error Completion. Other client messages are ignored, malformed ones close the
//     connection.
//
//   - Every connection is counted against the connection caps (pubsub.Service.AdmitConnection)
//     from its registration to its end, on every transport; negotiate refuses a client already
//     at its cap with 429 TooManyConnections.
//
//   - A client that asks for stateful reconnect loses no message and sees none twice when its
//     WebSocket drops and it reconnects within the reconnect window (stateful.go).
//
// Three transports carry a connection, as in ASP.NET Core SignalR: WebSockets, Server-Sent Events
// (JSON only) and long polling; the connection and its guarantees are the same on each.
package signalr

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Timings of the hub protocols, ASP.NET Core SignalR's defaults (HubOptionsSetup:
// KeepAliveInterval 15 s, ClientTimeoutInterval 30 s, HandshakeTimeout 15 s), which the clients'
// own defaults pair with (@microsoft/signalr HubConnection: serverTimeoutInMilliseconds 30 s,
// keepAliveIntervalInMilliseconds 15 s).
const (
	defaultPingInterval  = 15 * time.Second
	defaultClientTimeout = 30 * time.Second
	handshakeTimeout     = 15 * time.Second
)

// Options configure a [Server].
type Options struct {
	Service *pubsub.Service
	Keys    accesskey.Keys
	// PublicURL is how clients reach this server; tokens signed for its host are accepted beside
	// those signed for the request's own Host.
	PublicURL string
	Logger    *slog.Logger // default: slog.Default()
	// ClientAddress names the client behind a request, in the log and for the connection caps
	// per address (default: the peer's address).
	ClientAddress func(*http.Request) string
	// Upstream is told of connections and runs client invocations (nil: clients only listen).
	Upstream Upstream
	// Now is the clock of token and connection-token expiry (default time.Now).
	Now func() time.Time
	// PingInterval is how often clients are sent a Ping message (default 15 s); ClientTimeout
	// ends a client that has sent nothing for that long (default 30 s).
	PingInterval, ClientTimeout time.Duration
}

// Server serves SignalR clients.
type Server struct {
	svc        *pubsub.Service
	keys       accesskey.Keys
	publicHost string
	logger     *slog.Logger
	errs       httpapi.ErrorWriter
	clientAddr func(*http.Request) string
	upstream   Upstream
	now        func() time.Time
	pingEvery  time.Duration
	timeout    time.Duration
	upgrader   websocket.Upgrader
	pending    *pendingConns
	// http holds the connections of the HTTP transports; httpTransport serves their requests.
	http          httpTransports
	httpTransport http.Handler

	mu       sync.Mutex
	conns    map[*pubsub.Conn]*session // live connections, for the keep-alive
	stateful map[string]*pubsub.Conn   // live stateful connections by token, for their reconnects
}

// New builds a server from opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = defaultPingInterval
	}
	if opts.ClientTimeout <= 0 {
		opts.ClientTimeout = defaultClientTimeout
	}
	if opts.ClientAddress == nil {
		opts.ClientAddress = httpapi.PeerAddress
	}
	s := &Server{
		svc:        opts.Service,
		keys:       opts.Keys,
		publicHost: publicHostname(opts.PublicURL),
		logger:     opts.Logger,
		errs:       httpapi.ErrorWriter{Logger: opts.Logger, ClientAddr: opts.ClientAddress},
		clientAddr: opts.ClientAddress,
		upstream:   opts.Upstream,
		now:        opts.Now,
		pingEvery:  opts.PingInterval,
		timeout:    opts.ClientTimeout,
		upgrader: websocket.Upgrader{
			ReadBufferSize:   256,
			WriteBufferPool:  &sync.Pool{},
			HandshakeTimeout: 10 * time.Second,
			// SignalR authorises with tokens, not origins: browsers of any site may connect.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		pending:  newPendingConns(connectionTokenLifetime, maxPendingConns),
		conns:    make(map[*pubsub.Conn]*session),
		stateful: make(map[string]*pubsub.Conn),
		http:     httpTransports{conns: make(map[string]*httpConn)},
	}
	s.httpTransport = withCORS(s.errs.Handler(s.serveHTTPTransport))
	return s
}

// Register adds the negotiate endpoint to mux. The client endpoint shares /client/ with Web
// PubSub's; the app routes its GETs with [IsClientRequest] and every other method to
// [Server.ServeClient].
func (s *Server) Register(mux *http.ServeMux) {
	negotiate := withCORS(s.errs.Handler(s.negotiate))
	mux.Handle("POST /client/negotiate", negotiate)
	mux.Handle("OPTIONS /client/negotiate", negotiate)
}

// IsClientRequest tells a SignalR client's GET on /client/?hub= (a WebSocket, an event stream
// or a poll) from a Web PubSub client's: a SignalR client names the connection it negotiated
// (id) and asks for no subprotocol, while a Web PubSub client never sends id.
func IsClientRequest(r *http.Request) bool {
	return r.URL.Query().Has("id") && r.Header.Get("Sec-WebSocket-Protocol") == ""
}

// Run pings every SignalR client until ctx ends: the clients' timeout counts hub messages, not
// WebSocket pings.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		for c, sess := range s.conns {
			c.Send(sess.proto.ping(), isBinary(sess.proto))
		}
		s.mu.Unlock()
	}
}

func isBinary(p protocol) bool { return p.Format() == pubsub.FormatSignalRMessagePack }

// client reads a client request's hub and checks its access token for that hub: the hub, the
// user the token names ("" for none) and its claims, or the error to answer.
func (s *Server) client(r *http.Request) (hub, userID string, claims *accesskey.Claims, err error) {
	if hub, err = hubParam(r.URL.Query().Get("hub")); err != nil {
		return "", "", nil, err
	}
	if userID, claims, err = s.verifyClientToken(r, hub); err != nil {
		return "", "", nil, unauthorized(err)
	}
	return hub, userID, claims, nil
}

// verifyClientToken checks a client's access token for hub and returns its claims and the user
// it names, "" for none. The token is signed with a key, unexpired, and its aud is this service's client
// endpoint of hub, {scheme}://{host}/client/?hub={hub}, the host without its port, as the
// server SDK signs it (Microsoft.Azure.SignalR ServiceEndpoint.BuildAudienceBaseUrlEndWithSlash).
func (s *Server) verifyClientToken(r *http.Request, hub string) (userID string, claims *accesskey.Claims, err error) {
	token := bearerToken(r)
	if token == "" {
		// Browsers cannot set headers on a WebSocket and pass the token in the query.
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		return "", nil, errMissingToken
	}
	claims, err = s.keys.Verify(token, clientAudience(hub, trustedHostnames(r, s.publicHost)), s.now())
	if err != nil {
		return "", nil, err
	}
	// The server SDK writes asrs.s.uid, hand-written and Functions tokens nameid, and the
	// emulator reads sub as a user id too.
	for _, name := range []string{"asrs.s.uid", "nameid", "sub"} {
		if v := claims.Strings(name); len(v) > 0 && v[0] != "" {
			return v[0], claims, nil
		}
	}
	return "", claims, nil
}

// clientAudience accepts an aud naming the client endpoint of hub on one of hosts: path /client
// or /client/, hub in the query (case-insensitively, the SDK lower-cases it), the port ignored
// since the SDK leaves it out; other query parameters (asrs.op, app parameters) are ignored.
func clientAudience(hub string, hosts []string) func(aud string) bool {
	return func(aud string) bool {
		u, err := url.Parse(aud)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return false
		}
		if !hostIn(u.Hostname(), hosts) || strings.TrimSuffix(u.Path, "/") != "/client" {
			return false
		}
		return strings.EqualFold(u.Query().Get("hub"), hub)
	}
}

// ClientConnectionInfo is what an app's negotiate function returns to a SignalR client, as
// Azure Functions' SignalRConnectionInfo binding does: the client endpoint of hub and a token
// for it, signed with the primary key, naming userID (nameid) unless it is empty. The aud leaves
// out the port, as the server SDK signs it.
func ClientConnectionInfo(keys accesskey.Keys, publicURL, hub, userID string, expires, now time.Time) (clientURL, token string, err error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("public URL %q is not an absolute URL", publicURL)
	}
	hub = strings.ToLower(hub)
	clientURL = strings.TrimRight(publicURL, "/") + "/client/?hub=" + url.QueryEscape(hub)
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	aud := u.Scheme + "://" + host + "/client/?hub=" + url.QueryEscape(hub)
	c := accesskey.ClientClaims{Expires: expires}
	if userID != "" {
		c.Extra = map[string]any{"nameid": userID}
	}
	if token, err = keys.SignClientToken(aud, c, now); err != nil {
		return "", "", fmt.Errorf("SignalR client token for hub %s: %w", hub, err)
	}
	return clientURL, token, nil
}
