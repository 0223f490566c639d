// Package webpubsub speaks the Azure Web PubSub protocols on top of the pubsub hub: the client
// WebSocket endpoint with its client kinds (simple, JSON, reliable JSON, protobuf, reliable
// protobuf), the data-plane REST API, and CloudEvents calls to the app's event handlers (package
// upstream).
//
// The official SDKs are the contract: @azure/web-pubsub-client, @azure/web-pubsub and
// @azure/web-pubsub-express work against this server unchanged.
package webpubsub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/odata"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// Options configure a [Server].
type Options struct {
	Service *pubsub.Service
	Keys    accesskey.Keys
	// PublicURL is how clients reach this server; tokens signed for its host are accepted beside
	// those signed for the request's own Host.
	PublicURL string
	// EventHandlers per hub name (case-insensitive).
	EventHandlers map[string][]upstream.Handler
	// HTTPClient calls event handlers (default: upstream's own).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock client message rates are measured by (default time.Now).
	Now func() time.Time
	// ClientAddress names the client behind a request, for the per-address connection cap and
	// the log (default: the peer's address); behind a proxy, the app's trusted-proxy rule.
	ClientAddress func(*http.Request) string
	// Revocations, when set, refuses client tokens revoked after they were issued.
	Revocations Revocations
	// Identities, when set, lets the REST API accept access tokens of an identity provider,
	// authorized by their roles (see rest.go), beside tokens signed with an access key.
	Identities Identities
}

// Identities verifies the access tokens an identity provider issued for this service: an
// app server's token from Microsoft Entra ID, got with a TokenCredential. A refusal wraps one of
// the oidc.ErrToken… sentinels, or oidc.ErrUnavailable when the provider cannot be reached.
type Identities interface {
	Verify(ctx context.Context, token string) (oidc.AccessToken, error)
}

// Revocations knows which client tokens were revoked before they expire: those of a user whose
// rights the app withdrew. issuedAt is the token's iat, the zero time when it has none.
type Revocations interface {
	TokenRevoked(ctx context.Context, hub, userID string, issuedAt time.Time) (bool, error)
}

// Server serves the Web PubSub endpoints.
type Server struct {
	svc        *pubsub.Service
	keys       accesskey.Keys
	publicURL  string
	publicHost string
	logger     *slog.Logger
	errs       httpapi.ErrorWriter
	revoked    Revocations
	identities Identities
	clientAddr func(*http.Request) string
	upgrader   websocket.Upgrader
	now        func() time.Time

	handlers   map[string]hubHandlers // by lower-cased hub name
	httpClient *http.Client
	eventsMu   sync.Mutex
	eventsBy   map[string]*upstream.Client

	// bg tracks fire-and-forget event deliveries so that shutdown can wait for them; bgClosed,
	// under bgMu, stops new ones once Close waits, since a WaitGroup may not grow from zero then.
	bg       sync.WaitGroup
	bgMu     sync.Mutex
	bgClosed bool
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// New builds a server from opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientAddress == nil {
		opts.ClientAddress = httpapi.PeerAddress
	}
	handlers := make(map[string]hubHandlers, len(opts.EventHandlers))
	for hub, hs := range opts.EventHandlers {
		handlers[strings.ToLower(hub)] = hubHandlers{hub: hub, list: hs}
	}
	publicHost := ""
	if u, err := url.Parse(opts.PublicURL); err == nil {
		publicHost = u.Host
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		svc:        opts.Service,
		keys:       opts.Keys,
		revoked:    opts.Revocations,
		identities: opts.Identities,
		clientAddr: opts.ClientAddress,
		publicURL:  strings.TrimRight(opts.PublicURL, "/"),
		publicHost: publicHost,
		logger:     opts.Logger,
		errs:       httpapi.ErrorWriter{Logger: opts.Logger, ClientAddr: opts.ClientAddress},
		now:        opts.Now,
		upgrader: websocket.Upgrader{
			// A small read buffer keeps idle connections cheap: it only has to hold frame
			// headers, since payloads larger than it are read straight into the message.
			ReadBufferSize: 256,
			// The hub writes frames itself; the pool only serves the library's rare own writes
			// and lets it drop the HTTP server's write buffer after the hijack.
			WriteBufferPool:  &sync.Pool{},
			HandshakeTimeout: 10 * time.Second,
			// Web PubSub authorises with tokens, not origins: browsers of any site may connect.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		handlers:   handlers,
		httpClient: opts.HTTPClient,
		eventsBy:   make(map[string]*upstream.Client),
		bgCtx:      ctx,
		bgCancel:   cancel,
	}
}

// SetDefaultPublicURL sets the public URL when Options left it empty. A server started on port 0
// learns its address, and so the endpoint its connection string names, only once it listens;
// without this, tokens signed for that endpoint fail when the request's Host differs (a proxy)
// and event handlers that allow only that endpoint refuse the service. Call it before serving.
func (s *Server) SetDefaultPublicURL(publicURL string) {
	if s.publicURL != "" {
		return
	}
	s.publicURL = strings.TrimRight(publicURL, "/")
	if u, err := url.Parse(publicURL); err == nil {
		s.publicHost = u.Host
	}
}

// Register adds the client endpoint and the REST API to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /client/hubs/{hub}", func(w http.ResponseWriter, r *http.Request) {
		s.serveClient(w, r, r.PathValue("hub"))
	})
	s.registerREST(mux)
}

// ServeClientQuery serves the `/client/?hub=` form of the client endpoint.
func (s *Server) ServeClientQuery(w http.ResponseWriter, r *http.Request) {
	s.serveClient(w, r, r.URL.Query().Get("hub"))
}

// Close waits, until ctx ends, for event deliveries under way, then abandons the rest.
func (s *Server) Close(ctx context.Context) error {
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.bgCancel()
	s.eventsMu.Lock()
	for _, c := range s.eventsBy {
		c.Close()
	}
	s.eventsMu.Unlock()
	return ctx.Err()
}

// background runs a fire-and-forget event delivery that shutdown waits for.
func (s *Server) background(fn func(ctx context.Context)) {
	s.track(func() {
		ctx, cancel := context.WithTimeout(s.bgCtx, eventTimeout)
		defer cancel()
		fn(ctx)
	})
}

// track runs fn in a goroutine that shutdown waits for; it reports false, and runs nothing, once
// shutdown has begun.
func (s *Server) track(fn func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return false
	}
	s.bg.Go(fn)
	return true
}

// hubHandlers are a hub's event handlers, with the hub named as the configuration spells it.
type hubHandlers struct {
	hub  string
	list []upstream.Handler
}

// Start validates every configured event handler now and keeps them validated in the
// background until Close, so that a handler that was down when the server started is trusted
// as soon as it is up, before the first client needs it. Call it once the public URL is final:
// it is the origin validations name.
func (s *Server) Start() {
	for key := range s.handlers {
		s.events(key).Start()
	}
}

// events returns the event-handler client of a hub, or nil when the hub has no handler.
func (s *Server) events(hub string) *upstream.Client {
	key := strings.ToLower(hub)
	hs := s.handlers[key]
	if len(hs.list) == 0 {
		return nil
	}
	s.eventsMu.Lock()
	defer s.eventsMu.Unlock()
	c := s.eventsBy[key]
	if c == nil {
		c = upstream.New(hs.hub, hs.list, upstream.Options{
			HTTPClient: s.httpClient,
			Origin:     s.publicHost,
			Sign:       s.keys.Signature,
			Logger:     s.logger,
		})
		s.eventsBy[key] = c
	}
	return c
}

// errMissingToken is the 401 for a request that carries no token at all.
var errMissingToken = errors.New("an access token is required: pass access_token in the query or an Authorization: Bearer header")

// verifyClientToken checks a client's access token: signed with a key, unexpired, and meant for
// this hub's client endpoint at this server.
func (s *Server) verifyClientToken(r *http.Request, hub string) (*accesskey.Claims, error) {
	token := r.URL.Query().Get("access_token")
	if token == "" {
		token = bearerToken(r)
	}
	if token == "" {
		return nil, errMissingToken
	}
	return s.keys.Verify(token, accesskey.ClientAudience(hub, s.trustedHosts(r)...), time.Now())
}

// tokenProblem is what a client is told about a rejected token: the reason, without the detail
// that goes to the log.
func tokenProblem(err error) string {
	var te *accesskey.TokenError
	if errors.As(err, &te) {
		return te.Error()
	}
	if errors.Is(err, errMissingToken) {
		return err.Error()
	}
	for _, p := range identityProblems {
		if errors.Is(err, p) {
			return p.Error()
		}
	}
	return "the access token is invalid"
}

func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// trustedHosts are the hosts a token may have been signed for: the request's Host, a proxy's
// forwarded host, the public URL's host, and for a loopback request loopback spelt any way (an SDK
// configured with localhost reaches 127.0.0.1 and the other way round).
func (s *Server) trustedHosts(r *http.Request) []string {
	hosts := []string{r.Host, r.Header.Get("X-Forwarded-Host"), s.publicHost}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
	}
	if isLoopback(host) {
		for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
			if port != "" {
				h += ":" + port
			}
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// ParseFilter compiles a REST filter for the hub: the OData subset of the Web PubSub API.
func ParseFilter(expr string) (func(*pubsub.Conn) bool, error) {
	f, err := odata.Parse(expr)
	if err != nil {
		return nil, err
	}
	return func(c *pubsub.Conn) bool { return f.Match(c) }, nil
}
