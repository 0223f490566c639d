package pubsub

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a [Service]. Zero values mean the defaults in the comments.
type Options struct {
	Limits Limits
	// Broker carries every hub operation to the connections (default: a MemoryBroker).
	Broker Broker
	// ParseFilter compiles REST filters; nil rejects filtered operations.
	ParseFilter FilterParser
	// EphemeralGroup names the groups of a hub whose client messages are ephemeral (see
	// [Message.Ephemeral]); nil names none. The hub is named as first used: hub names are
	// case-insensitive.
	EphemeralGroup func(hub, group string) bool
	// GroupChanged, when set, is told each time a group of a hub gains or loses a connection
	// (a join, a leave, or the connection's end), once per change. It is called with the hub's
	// lock held, so it must return at once and must not call the hub: an observer notes the
	// group and does its work later, on its own goroutine.
	GroupChanged func(hub, group string)
	Logger       *slog.Logger          // default: slog.Default()
	Registerer   prometheus.Registerer // default: metrics are not exported
}

// Service owns a set of hubs, each created on first use. Hub names are case-insensitive.
type Service struct {
	limits      Limits
	broker      Broker
	parseFilter FilterParser
	ephemeral   func(hub, group string) bool
	changed     func(hub, group string)
	logger      *slog.Logger
	metrics     *metrics
	flusher     *flusher
	// caps count client connections per user and address across every protocol's front.
	caps *connCaps

	mu   sync.Mutex
	hubs map[string]*Hub
}

// NewService builds a service; [Service.Start] subscribes it to the broker and [Service.Run]
// keeps its connections alive.
func NewService(opts Options) (*Service, error) {
	if opts.Broker == nil {
		opts.Broker = NewMemoryBroker()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register pubsub metrics: %w", err)
	}
	limits := opts.Limits.withDefaults()
	return &Service{
		limits:      limits,
		caps:        newConnCaps(limits.MaxConnsPerUser, limits.MaxConnsPerAddress),
		broker:      opts.Broker,
		parseFilter: opts.ParseFilter,
		ephemeral:   opts.EphemeralGroup,
		changed:     opts.GroupChanged,
		logger:      opts.Logger,
		metrics:     m,
		flusher:     newFlusher(),
		hubs:        make(map[string]*Hub),
	}, nil
}

// Limits returns the limits in force, defaults filled in.
func (s *Service) Limits() Limits { return s.limits }

// Start subscribes to the broker until ctx ends. Once it returns, whatever is published reaches
// the connections, so a server starts it before it accepts a publish: a message accepted
// earlier would have nowhere to go.
func (s *Service) Start(ctx context.Context) error {
	if err := s.broker.Subscribe(ctx, s.apply); err != nil {
		return fmt.Errorf("subscribe to broker: %w", err)
	}
	return nil
}

// Run pings idle connections until ctx ends; call it after Start.
func (s *Service) Run(ctx context.Context) error {
	s.keepAlive(ctx)
	return nil
}

// Hub returns the hub called name, creating it on first use.
func (s *Service) Hub(name string) *Hub {
	key := strings.ToLower(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hubs[key]
	if h == nil {
		h = &Hub{
			name:   name,
			svc:    s,
			conns:  make(map[string]*Conn),
			users:  make(map[string]map[*Conn]struct{}),
			groups: make(map[string]map[*Conn]struct{}),

			memberships: make(map[string]map[string]*membership),
		}
		s.hubs[key] = h
	}
	return h
}

// LookupHub returns the hub called name if it has been used. Requests not yet authorised use
// it, so that they cannot fill the service with hubs.
func (s *Service) LookupHub(name string) (*Hub, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hubs[strings.ToLower(name)]
	return h, ok
}

func (s *Service) apply(e *Envelope) { s.Hub(e.Hub).apply(e) }

// CountInbound records one message received from a client.
func (s *Service) CountInbound(bytes int) {
	s.metrics.messagesIn.Inc()
	s.metrics.bytesIn.Add(float64(bytes))
}

// Shutdown closes every connection with reason and code 1001 (the server is going away, so
// clients may come back) and waits, until ctx ends, for what was queued to
// them to be written: a message the service accepted is not lost to a restart. Clients hear why
// they were closed, and reliable ones start afresh elsewhere instead of waiting for a session
// that is gone.
func (s *Service) Shutdown(ctx context.Context, reason string) error {
	conns := s.allConns()
	for _, c := range conns {
		c.Close(CloseGoingAway, reason)
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for _, c := range conns {
		for c.flushing() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("flush connections: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}

// KeepAliveInterval is how often every client is pinged; readers should give up on a client that
// has been silent for a few intervals.
const KeepAliveInterval = 30 * time.Second

// keepAlive pings every connection so that dead peers, which never send FIN, are noticed by their
// readers' deadlines instead of lingering forever.
func (s *Service) keepAlive(ctx context.Context) {
	t := time.NewTicker(KeepAliveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range s.allConns() {
			c.ping()
		}
	}
}

func (s *Service) allConns() []*Conn {
	s.mu.Lock()
	hubs := make([]*Hub, 0, len(s.hubs))
	for _, h := range s.hubs {
		hubs = append(hubs, h)
	}
	s.mu.Unlock()
	var conns []*Conn
	for _, h := range hubs {
		h.mu.RLock()
		for _, c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.RUnlock()
	}
	return conns
}
