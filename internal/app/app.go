// Package app builds every part of huddle from its configuration, by hand and in one place, and
// runs them: the listener is bound first so that every part is built with the one public URL,
// and the parts stop in the reverse order of their start (see lifecycle), so that none is closed
// while another still uses it. If one part ends by itself, the others are stopped.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/alerts/notify"
	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/live"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/signalr"
	srupstream "github.com/huddle-dev/huddle/internal/signalr/upstream"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/webpubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// ShutdownTimeout bounds how long a shutdown waits for queued messages to reach clients.
const ShutdownTimeout = 15 * time.Second

// App is a configured huddle server: its listener is bound and its parts are built, and Run
// serves until it is told to stop.
type App struct {
	cfg    config.Config
	logger *slog.Logger
	keys   accesskey.Keys
	// keyCreated is set when this start generated the access key.
	keyCreated bool
	listener   net.Listener
	publicURL  string
	registry   *prometheus.Registry
	sql        *store.Store
	metrics    *metricsPart
	// parts stops what New and Run started, in the reverse order.
	parts      *lifecycle
	dashboards *dashboard.Service
	live       *live.Scheduler
	presence   *collab.PresenceFeed
	dashHub    dashboardHub
	rules      *alerts.Engine
	notify     *notify.Dispatcher
	accounts   *auth.Service
	pubsub     *pubsub.Service
	wps        *webpubsub.Server
	signalR    *signalr.Server
	signalREST *signalr.REST
	handler    http.Handler
	ready      atomic.Bool
	// ownRoutes are the app's endpoints in the accounts' route table (beside auth's own).
	ownRoutes []httpapi.Route
}

// startTimeout bounds what New does before serving: opening and migrating the store, and the
// first administrator.
const startTimeout = 30 * time.Second

// New binds the listener, so that the public URL is known, then builds every part with that one
// URL; nothing is served until Run, which must be called to release what New opened. On first
// start it creates the administrator and writes a one-time password to console (unless
// HUDDLE_ADMIN_PASSWORD chose it).
func New(cfg config.Config, logger *slog.Logger, console io.Writer) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger, parts: newLifecycle(), registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.parts.stopAll(context.Background()))
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	a.listener = ln
	// Serve closes the listener; this closes it when New fails or Run never served.
	a.parts.onStop("listener", func(context.Context) error {
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	if cfg.TLS.Enabled() {
		cert, err := loadCertificate(cfg.TLS.CertFile, cfg.TLS.KeyFile, logger)
		if err != nil {
			return nil, err
		}
		a.listener = tlsListener(ln, cert)
	}
	a.publicURL = PublicURL(cfg, ln.Addr().String())
	if ip := ln.Addr().(*net.TCPAddr).IP; cfg.PublicURL == "" && !ip.IsLoopback() {
		logger.Warn("publicURL is not set: connection strings, dashboards and sign-in redirects name "+a.publicURL+
			", which other machines cannot reach; set publicURL to the URL they use", "addr", ln.Addr().String())
	}
	if a.keys, a.keyCreated, err = accesskey.LoadOrCreate(cfg.DataDir, cfg.AccessKey); err != nil {
		return nil, fmt.Errorf("access key: %w", err)
	}
	if cfg.SecondaryAccessKey != "" {
		a.keys.Secondary = cfg.SecondaryAccessKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if a.sql, err = store.Open(ctx, store.Config{DataDir: cfg.DataDir, PostgresURL: cfg.Postgres.URL}, logger); err != nil {
		return nil, err
	}
	a.parts.onStop("sql store", func(context.Context) error { return a.sql.Close() })
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.metrics, err = openMetrics(cfg, ln.Addr().String(), logger, a.registry); err != nil {
		return nil, err
	}
	a.parts.onStop("metrics store", func(context.Context) error { return a.metrics.close() })
	if err := a.build(ctx, console); err != nil {
		return nil, err
	}
	return a, nil
}

// build makes the parts that need the stores: the hub, the accounts, the dashboards and the
// live scheduler, and the route table over them all.
func (a *App) build(ctx context.Context, console io.Writer) error {
	cfg, logger, keys := a.cfg, a.logger, a.keys
	a.presence = collab.NewPresenceFeed(logger.With("component", "presence"))
	svc, err := pubsub.NewService(pubsub.Options{
		Limits:      cfg.Limits,
		ParseFilter: webpubsub.ParseFilter,
		Logger:      logger,
		Registerer:  a.registry,
		// Dashboard viewers' pointers and presence go first when a viewer lags behind.
		EphemeralGroup: collab.IsCollabGroup,
		// Who arrives on or leaves a dashboard is announced to every open page.
		GroupChanged: a.presence.GroupChanged,
	})
	if err != nil {
		return err
	}
	a.pubsub = svc
	handlers := make(map[string][]upstream.Handler)
	for hub, h := range cfg.Hubs {
		for _, eh := range h.EventHandlers {
			handlers[hub] = append(handlers[hub], upstream.Handler{
				URLTemplate:  eh.URLTemplate,
				UserEvents:   eh.UserEvents,
				SystemEvents: eh.SystemEvents,
			})
		}
	}
	dashHub := newDashboardHub(svc, logger)
	sso, err := newOIDC(cfg, a.publicURL, keys.Primary)
	if err != nil {
		return err
	}
	accountOpts := auth.Options{Store: a.sql, Logger: logger, Sessions: dashHub,
		SecureCookies: strings.HasPrefix(a.publicURL, "https://"), TrustedProxies: cfg.TrustedProxyPrefixes()}
	if cfg.PublicURL != "" {
		accountOpts.TrustedOrigins = []string{cfg.PublicURL}
	}
	if sso != nil {
		accountOpts.OIDCName = cfg.OIDC.Name
		if accountOpts.OIDCName == "" {
			accountOpts.OIDCName = "single sign-on"
		}
	}
	if a.accounts, err = auth.New(accountOpts); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	wpsOpts := webpubsub.Options{
		Service:       svc,
		Keys:          keys,
		PublicURL:     a.publicURL,
		EventHandlers: handlers,
		Logger:        logger,
		Revocations:   dashboardRevocations{a.accounts},
		ClientAddress: a.accounts.ClientAddr,
	}
	if id := cfg.WebPubSub.Identity; id.Issuer != "" {
		v, err := oidc.NewAccessTokenVerifier(oidc.AccessTokenConfig{Issuer: id.Issuer, DiscoveryURL: id.DiscoveryURL,
			Audience: id.Audience, RolesClaim: id.RolesClaim})
		if err != nil {
			return fmt.Errorf("webpubsub.identity: %w", err)
		}
		wpsOpts.Identities = v
	}
	a.wps = webpubsub.New(wpsOpts)
	// SignalR clients share the hubs, the access keys and the listener with Web PubSub's.
	srOpts := signalr.Options{Service: svc, Keys: keys, PublicURL: a.publicURL, Logger: logger,
		ClientAddress: a.accounts.ClientAddr}
	// Without templates there is no upstream: clients only listen, and their invocations are
	// refused at once, in order with the rest of what the connection is sent.
	var srUpstream *srupstream.Client
	if templates := cfg.SignalR.Upstream.Templates; len(templates) > 0 {
		srUpstream = srupstream.New(srupstream.Options{Templates: templates, Sign: keys.Signature, Logger: logger})
		srOpts.Upstream = srUpstream
	}
	a.signalR = signalr.New(srOpts)
	a.signalREST = signalr.NewREST(signalr.RESTOptions{Service: svc, Keys: keys, PublicURL: a.publicURL,
		Logger: logger, ClientAddress: a.accounts.ClientAddr})
	// Event deliveries still running, the disconnected events of the hub's drain among them,
	// finish before the stores close, on both fronts.
	a.parts.onStop("webpubsub events", a.wps.Close)
	if srUpstream != nil {
		a.parts.onStop("signalr upstream", srUpstream.Close)
	}
	if err := a.accounts.Bootstrap(ctx, cfg.AdminPassword, console); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if err := a.buildDashboards(ctx, dashHub); err != nil {
		return err
	}
	access := dashboardAccess{a.accounts, a.dashboards}
	directory := &collab.Directory{Access: access, Present: dashHub, People: accountNames{a.accounts}}
	a.dashHub = dashHub
	extra := append(a.uiRoutes(),
		negotiateRoute(&collab.Negotiator{Keys: keys, Access: access, PublicURL: a.publicURL}),
		viewersRoute(directory), presenceRoute(directory))
	if sso != nil {
		extra = append(extra, oidcRoutes(sso, a.accounts, logger)...)
	}
	alertRoutes, err := a.buildAlerts(ctx, dashHub)
	if err != nil {
		return err
	}
	extra = append(extra, alertRoutes...)
	extra = append(extra, selfMetricsRoute(a.registry, cfg.Metrics.ProtectSelf))
	extra = append(extra, a.metrics.routes(logger, a.registry, a.ready.Load, a.rules)...)
	extra = append(extra, a.dashboards.Routes()...)
	a.ownRoutes = extra
	a.handler, err = a.routes(extra)
	return err
}

// buildDashboards makes the dashboards, provisioned on first start, and the live scheduler
// that keeps the watched ones current, both speaking to viewers through the hub.
func (a *App) buildDashboards(ctx context.Context, dashHub dashboardHub) error {
	var err error
	if a.dashboards, err = dashboard.New(dashboard.Options{Store: a.sql, Access: a.accounts, Notifier: dashHub,
		Series: a.metrics.source, Logger: a.logger}); err != nil {
		return fmt.Errorf("dashboards: %w", err)
	}
	if err := a.dashboards.Provision(ctx); err != nil {
		return fmt.Errorf("provision dashboards: %w", err)
	}
	a.live, err = live.New(live.Options{Plans: livePlans{a.dashboards}, Querier: a.metrics.source, Audience: dashHub,
		Logger: a.logger.With("component", "live"), Registerer: a.registry})
	return err
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// PublicURL is how browsers, SDKs and app servers reach this server.
func (a *App) PublicURL() string { return a.publicURL }

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

// ConnectionString is what app servers and SDKs use to reach this server.
func (a *App) ConnectionString() string {
	return accesskey.ConnectionString(a.publicURL, a.keys.Primary)
}

// AccessKeyCreated reports whether this start generated the access key, the data directory
// having none: the one start at which the whole key may be shown without being asked for.
func (a *App) AccessKeyCreated() bool { return a.keyCreated }

// PublicURL is the configured public URL or, by default, the URL of the address listened on.
func PublicURL(cfg config.Config, addr string) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	if cfg.TLS.Enabled() {
		return "https://" + hostForURL(addr)
	}
	return "http://" + hostForURL(addr)
}

func (a *App) routes(accountRoutes []httpapi.Route) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	// Web PubSub and SignalR clients share GET /client/?hub=: a SignalR client names the
	// connection it negotiated.
	client := func(w http.ResponseWriter, r *http.Request) {
		if signalr.IsClientRequest(r) {
			a.signalR.ServeClient(w, r)
			return
		}
		a.wps.ServeClientQuery(w, r)
	}
	mux.HandleFunc("GET /client/{$}", client)
	mux.HandleFunc("GET /client", client)
	// Only SignalR's HTTP transports send, stop and preflight on the client endpoint.
	for _, method := range []string{http.MethodPost, http.MethodDelete, http.MethodOptions} {
		mux.HandleFunc(method+" /client/{$}", a.signalR.ServeClient)
		mux.HandleFunc(method+" /client", a.signalR.ServeClient)
	}
	a.wps.Register(mux)
	a.signalR.Register(mux)
	a.signalREST.Register(mux)
	// The Web PubSub and SignalR endpoints authenticate with access-key tokens of their own; everything a
	// person or an automation key uses goes through the accounts' route table.
	if err := a.accounts.Register(mux, accountRoutes...); err != nil {
		return nil, err
	}
	// SignalR's versioned REST API shares Web PubSub's paths; its api-version tells them apart.
	return a.signalREST.Versioned(mux), nil
}

// Run serves until ctx ends or a part fails, then stops every part in the reverse order of
// start-up: HTTP first (in-flight requests finish), then the live scheduler and the collector,
// then the hub, which writes out what it accepted, then event deliveries and the stores. ready,
// if not nil, is called once the server accepts connections. Run is called once.
func (a *App) Run(ctx context.Context, ready func()) error {
	// The hub subscribes to its broker before the listener serves, so that no publish is
	// accepted with nowhere to go, and stays subscribed until it has drained.
	subscription, unsubscribe := context.WithCancel(context.Background())
	if err := a.pubsub.Start(subscription); err != nil {
		unsubscribe()
		return errors.Join(err, a.parts.stopAll(ctx))
	}
	a.parts.onStop("hub", func(ctx context.Context) error {
		defer unsubscribe()
		return a.pubsub.Shutdown(ctx, "the server is shutting down")
	})
	a.parts.run("hub keep-alive", a.pubsub.Run)
	a.parts.run("signalr keep-alive", a.signalR.Run)
	if a.metrics.collector != nil { // a remote source collects nothing here
		a.parts.run("collector", a.metrics.collector.Run)
	}
	a.parts.run("live", a.live.Run)
	a.parts.run("presence", func(ctx context.Context) error { return a.presence.Run(ctx, a.dashHub) })
	// Notifications stop after the rules that feed them, and the hub after both.
	a.parts.start("notify", func() error { return a.notify.Run(context.Background()) }, a.notify.Stop)
	a.parts.run("rules", a.rules.Run)
	// Event handlers are validated from now on, not at the first client's connect, which would
	// otherwise be refused while a handler that was down at start has not been validated again.
	// The validations stop with the Web PubSub front ("webpubsub events").
	a.wps.Start()
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	// SignalR's event streams and polls are requests in progress, which the HTTP server's
	// shutdown would wait for: they end first, telling their clients to come back.
	srv.RegisterOnShutdown(func() { a.signalR.EndHTTPTransports("the server is shutting down") })
	a.parts.start("http", func() error {
		if err := srv.Serve(a.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	}, srv.Shutdown)
	a.ready.Store(true)
	a.logger.Info("huddle is serving", "addr", a.Addr(), "url", a.publicURL)
	if ready != nil {
		ready()
	}
	select {
	case <-ctx.Done():
	case <-a.parts.failed:
	}
	a.ready.Store(false)
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	return a.parts.stopAll(sctx)
}

// hostForURL turns a listen address into one a browser can open.
func hostForURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}
