// Package app builds every component of huddle from its configuration and runs their lifecycles
// under one supervisor: if one part fails the others are stopped, and a shutdown drains client
// connections before the process exits.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/live"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/webpubsub"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// ShutdownTimeout bounds how long a shutdown waits for queued messages to reach clients.
const ShutdownTimeout = 15 * time.Second

// App is a configured, not yet running huddle server.
type App struct {
	cfg        config.Config
	logger     *slog.Logger
	keys       accesskey.Keys
	registry   *prometheus.Registry
	store      *store.Store
	metrics    *metricsPart
	dashboards *dashboard.Service
	live       *live.Scheduler
	accounts   *auth.Service
	pubsub     *pubsub.Service
	wps        *webpubsub.Server
	handler    http.Handler
	ready      atomic.Bool
	bound      atomic.Value // string: the address Run listens on
	// ownRoutes are the app's endpoints in the accounts' route table (beside auth's own).
	ownRoutes []httpapi.Route
}

// startTimeout bounds what New does before serving: opening and migrating the store, and the
// first administrator.
const startTimeout = 30 * time.Second

// New builds every component; nothing listens until Run. On first start it creates the
// administrator and writes a one-time password to console (unless HUDDLE_ADMIN_PASSWORD chose
// it).
func New(cfg config.Config, logger *slog.Logger, console io.Writer) (*App, error) {
	keys, err := accesskey.LoadOrCreate(cfg.DataDir, cfg.AccessKey)
	if err != nil {
		return nil, fmt.Errorf("access key: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, PostgresURL: cfg.Postgres.URL}, logger)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mp, err := openMetrics(cfg, logger, reg)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if cfg.SecondaryAccessKey != "" {
		keys.Secondary = cfg.SecondaryAccessKey
	}
	a := &App{cfg: cfg, logger: logger, keys: keys, registry: reg, store: st, metrics: mp}
	if err := a.build(ctx, console); err != nil {
		_ = st.Close()
		_ = mp.close()
		return nil, err
	}
	return a, nil
}

// build makes the parts that need the stores: the hub, the accounts, the dashboards and the
// live scheduler, and the route table over them all.
func (a *App) build(ctx context.Context, console io.Writer) error {
	cfg, logger, keys := a.cfg, a.logger, a.keys
	svc, err := pubsub.NewService(pubsub.Options{
		Limits:      cfg.Limits,
		ParseFilter: webpubsub.ParseFilter,
		Logger:      logger,
		Registerer:  a.registry,
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
	a.wps = webpubsub.New(webpubsub.Options{
		Service:       svc,
		Keys:          keys,
		PublicURL:     cfg.PublicURL,
		EventHandlers: handlers,
		Logger:        logger,
	})
	sso, err := newOIDC(cfg, PublicURL(cfg, cfg.Addr), keys.Primary)
	if err != nil {
		return err
	}
	accountOpts := auth.Options{Store: a.store, Logger: logger}
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
	if err := a.accounts.Bootstrap(ctx, cfg.AdminPassword, console); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if err := a.buildDashboards(ctx); err != nil {
		return err
	}
	extra := append(a.uiRoutes(),
		negotiateRoute(&collab.Negotiator{Keys: keys, Access: dashboardAccess{a.accounts, a.dashboards}, PublicURL: cfg.PublicURL}))
	if sso != nil {
		extra = append(extra, oidcRoutes(sso, a.accounts, logger)...)
	}
	extra = append(extra, a.metrics.routes(logger, a.registry)...)
	extra = append(extra, a.dashboards.Routes()...)
	a.ownRoutes = extra
	a.handler, err = a.routes(extra)
	return err
}

// buildDashboards makes the dashboards, provisioned on first start, and the live scheduler
// that keeps the watched ones current, both speaking to viewers through the hub.
func (a *App) buildDashboards(ctx context.Context) error {
	dashHub := newDashboardHub(a.pubsub)
	var err error
	if a.dashboards, err = dashboard.New(dashboard.Options{Store: a.store, Access: a.accounts, Notifier: dashHub, Logger: a.logger}); err != nil {
		return fmt.Errorf("dashboards: %w", err)
	}
	if err := a.dashboards.Provision(ctx); err != nil {
		return fmt.Errorf("provision dashboards: %w", err)
	}
	a.live, err = live.New(live.Options{Plans: livePlans{a.dashboards}, Querier: a.metrics.source, Audience: dashHub,
		Logger: a.logger.With("component", "live"), Registerer: a.registry})
	return err
}

// addr is the address Run listens on, once it does.
func (a *App) addr() string {
	if s, ok := a.bound.Load().(string); ok {
		return s
	}
	return a.cfg.Addr
}

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

// ConnectionString is what app servers and SDKs use to reach this server listening on addr.
func (a *App) ConnectionString(addr string) string {
	return accesskey.ConnectionString(PublicURL(a.cfg, addr), a.keys.Primary)
}

// PublicURL is the configured public URL or, by default, the URL of the address listened on.
func PublicURL(cfg config.Config, addr string) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	mux.HandleFunc("GET /client/{$}", a.wps.ServeClientQuery)
	mux.HandleFunc("GET /client", a.wps.ServeClientQuery)
	a.wps.Register(mux)
	// The Web PubSub endpoints authenticate with access-key tokens of their own; everything a
	// person or an automation key uses goes through the accounts' route table.
	if err := a.accounts.Register(mux, accountRoutes...); err != nil {
		return nil, err
	}
	return mux, nil
}

// Run serves until ctx ends, then shuts down gracefully. ready, if not nil, receives the bound
// address once the server accepts connections.
func (a *App) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	a.bound.Store(ln.Addr().String())
	// Unless configured, the public URL is the bound address, which the connection string names.
	a.wps.SetDefaultPublicURL(PublicURL(a.cfg, ln.Addr().String()))
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribed before the listener serves, so that no publish is accepted with nowhere to go.
	if err := a.pubsub.Start(runCtx); err != nil {
		_ = ln.Close()
		return err
	}
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return a.pubsub.Run(gctx) })
	// The collector writes to the metrics store and the live scheduler queries it: the store
	// closes after both have stopped.
	var storeUsers sync.WaitGroup
	storeUsers.Add(2)
	g.Go(func() error { defer storeUsers.Done(); return a.metrics.run(gctx) })
	g.Go(func() error { defer storeUsers.Done(); return a.live.Run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		a.ready.Store(false)
		a.logger.Info("shutting down")
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer scancel()
		// Stop taking requests first so nothing new is accepted while the hub drains.
		herr := srv.Shutdown(sctx)
		perr := a.pubsub.Shutdown(sctx, "the server is shutting down")
		werr := a.wps.Close(sctx)
		serr := a.store.Close()
		storeUsers.Wait()
		merr := a.metrics.close()
		return errors.Join(herr, perr, werr, serr, merr)
	})
	addr := ln.Addr().String()
	a.ready.Store(true)
	a.logger.Info("huddle is serving", "addr", addr, "url", PublicURL(a.cfg, addr))
	if ready != nil {
		ready(addr)
	}
	return g.Wait()
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
