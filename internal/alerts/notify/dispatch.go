package notify

import (
	"cmp"
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is the SQL store the dispatcher keeps its configuration and delivery log in
// (*store.Store).
type Store interface {
	DB() *sql.DB
	Rebind(query string) string
	Tx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

// Options configure a Dispatcher. Zero values mean the documented defaults.
type Options struct {
	Store Store // required
	// Hub is what hub contact points send with; nil refuses them.
	Hub    HubPublisher
	Logger *slog.Logger // nil discards
	// OnDelivery hears of every delivery once it is recorded, from the contact point's worker
	// or a group's timer: it must return quickly.
	OnDelivery func(Delivery)
	// ExternalURL is huddle's public URL, linked from messages.
	ExternalURL string
	// RootCAs verifies receivers' TLS certificates (HTTPS and SMTP); nil uses the system's.
	RootCAs *x509.CertPool
	// RetryBackoff is the wait after a first failed attempt, doubled after each next one up to
	// 30 times it (default 1s).
	RetryBackoff time.Duration
	// QueueSize bounds the notifications waiting per contact point (default 64).
	QueueSize int
	// MaxGroups bounds the alert groups held at once; alerts that would open one more are
	// dropped and logged (default 10,000).
	MaxGroups int
	// ResolveTimeout is how long a firing alert that the evaluator stopped sending stays firing
	// before it is taken as resolved (default 5m, as Alertmanager's resolve_timeout).
	ResolveTimeout time.Duration
	// DeliveryRetention is how long the delivery log is kept (default 30 days).
	DeliveryRetention time.Duration
	// Registerer takes the dispatcher's metrics; nil exports none.
	Registerer prometheus.Registerer
}

// Dispatcher routes alerts to contact points and records every delivery. It is safe for
// concurrent use.
type Dispatcher struct {
	store      Store
	hub        HubPublisher
	logger     *slog.Logger
	onDelivery func(Delivery)
	external   string
	rootCAs    *x509.CertPool
	backoff    time.Duration
	queueSize  int
	maxGroups  int
	resolveAt  time.Duration
	retention  time.Duration
	client     *http.Client
	delivered  *prometheus.CounterVec

	// cfgMu serialises configuration changes, so that memory follows SQL in commit order.
	cfgMu sync.Mutex

	// mu guards what Notify changes: the groups and the policy that makes them. It is taken
	// before a group's own lock.
	mu       sync.Mutex
	policy   *compiled
	groups   map[string]*group
	stopped  bool
	overflow bool // groups are at MaxGroups; logged once until one closes

	silences atomic.Pointer[[]*Silence]

	// wmu guards workers; it is taken alone, never with mu or a group's lock held.
	wmu     sync.Mutex
	workers map[string]*worker

	// stopping is closed by Stop: no more flushes, retries or new work. hard is cancelled when
	// Stop's context ends, which cancels attempts under way.
	stopping   chan struct{}
	stopOnce   sync.Once
	hard       context.Context
	cancelHard context.CancelFunc
	wg         sync.WaitGroup
}

// New loads the contact points, policy and silences from the store. Nothing is sent before
// the first Notify.
func New(ctx context.Context, opts Options) (*Dispatcher, error) {
	if opts.Store == nil {
		return nil, errors.New("notify: Options.Store is required")
	}
	d := &Dispatcher{
		store:      opts.Store,
		hub:        opts.Hub,
		logger:     cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		onDelivery: opts.OnDelivery,
		external:   opts.ExternalURL,
		rootCAs:    opts.RootCAs,
		backoff:    cmp.Or(opts.RetryBackoff, time.Second),
		queueSize:  cmp.Or(opts.QueueSize, 64),
		maxGroups:  cmp.Or(opts.MaxGroups, 10_000),
		resolveAt:  cmp.Or(opts.ResolveTimeout, 5*time.Minute),
		retention:  cmp.Or(opts.DeliveryRetention, 30*24*time.Hour),
		workers:    map[string]*worker{},
		groups:     map[string]*group{},
		stopping:   make(chan struct{}),
	}
	d.hard, d.cancelHard = context.WithCancel(context.Background())
	d.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "huddle_alert_deliveries_total",
		Help: "Entries of the alert delivery log: one per alert per attempt, silencing or drop."}, []string{"kind", "status"})
	groups := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_alert_groups",
		Help: "Alert groups held, each waiting for its next flush."}, func() float64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		return float64(len(d.groups))
	})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{d.delivered, groups} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("notify: register metrics: %w", err)
			}
		}
	}
	d.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     d.tlsConfig(""),
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		// A redirect would carry a signed body, or a secret URL's request, elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cps, err := d.listContactPoints(ctx)
	if err != nil {
		return nil, err
	}
	for i := range cps {
		d.startWorker(&cps[i])
	}
	pol, err := d.loadPolicy(ctx)
	if err != nil {
		return nil, err
	}
	if pol != nil {
		c, err := pol.compile(d.hasContactPoint)
		if err != nil {
			return nil, fmt.Errorf("notify: stored policy: %w", err)
		}
		d.policy = c
	}
	sils, err := d.listSilences(ctx, true)
	if err != nil {
		return nil, err
	}
	d.silences.Store(&sils)
	return d, nil
}

// Run prunes the delivery log, and forgets expired silences, once an hour until ctx ends or
// Stop is called.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := d.pruneDeliveries(ctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("prune alert delivery log", "err", err)
		}
		d.cfgMu.Lock()
		err := d.reloadSilences(ctx)
		d.cfgMu.Unlock()
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("reload silences", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.stopping:
			return nil
		case <-t.C:
		}
	}
}

// Stop ends the dispatcher: groups flush no more, workers take no new notification and retry
// nothing; attempts under way finish, or are cancelled when ctx ends. Stop returns once every
// goroutine of the dispatcher has ended; it may be called more than once.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.stopped = true
		d.mu.Unlock()
		close(d.stopping)
	})
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.cancelHard()
		<-done
		return fmt.Errorf("notify: attempts cancelled at shutdown: %w", ctx.Err())
	}
}

// Notify takes the alerts of an evaluation: those firing and those just resolved. It never
// waits for a delivery. The alerts' maps are kept, not copied: the caller does not change them
// afterwards.
func (d *Dispatcher) Notify(alerts ...Alert) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.policy == nil {
		return
	}
	for _, a := range alerts {
		if a.Fingerprint == "" {
			d.logger.Warn("alert without fingerprint ignored", "labels", a.Labels)
			continue
		}
		ls := a.matchLabels()
		for _, r := range d.policy.match(toLabelSet(ls)) {
			glabels, key := r.groupLabels(ls)
			g := d.groups[key]
			if g == nil {
				if len(d.groups) >= d.maxGroups {
					if !d.overflow {
						d.overflow = true
						d.logger.Warn("alert groups at their limit: alerts of new groups are dropped", "max_groups", d.maxGroups)
					}
					continue
				}
				g = &group{d: d, key: key, route: r, labels: glabels, alerts: map[string]*entry{},
					lastFiring: map[string]bool{}, silencedLogged: map[string]string{}}
				d.groups[key] = g
				// The alert is in before the timer starts: a group_wait of zero flushes it.
				g.add(a, now)
				d.wg.Add(1)
				go g.run()
				continue
			}
			g.add(a, now)
		}
	}
}

// silencedBy returns the silence that mutes an alert with labels ls at now, if any.
func (d *Dispatcher) silencedBy(ls map[string]string, now time.Time) *Silence {
	set := toLabelSet(ls)
	for _, s := range *d.silences.Load() {
		if !now.Before(s.StartsAt) && now.Before(s.EndsAt) && s.matchers.Matches(set) {
			return s
		}
	}
	return nil
}

// group is Alertmanager's aggregation group: the alerts one route gathers under the same group
// labels, notified together after group_wait, then every group_interval when something changed,
// and every repeat_interval while some fire.
type group struct {
	d      *Dispatcher
	key    string
	route  *route
	labels map[string]string

	mu             sync.Mutex
	alerts         map[string]*entry
	lastFiring     map[string]bool   // fingerprints notified as firing by the last notification
	lastSent       time.Time         // of the last notification
	silencedLogged map[string]string // fingerprint → silence whose delivery is recorded
}

type entry struct {
	alert Alert
	seen  time.Time
}

func (g *group) add(a Alert, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.alerts[a.Fingerprint] = &entry{a, now}
}

func (g *group) run() {
	defer g.d.wg.Done()
	t := time.NewTimer(g.route.wait)
	defer t.Stop()
	for {
		select {
		case <-g.d.stopping:
			return
		case <-t.C:
		}
		if !g.flush() {
			return
		}
		t.Reset(g.route.interval)
	}
}

// flush notifies the group's contact point if something changed since the last notification
// or repeat_interval has passed, and drops resolved alerts. It reports false when the group was
// empty and has been closed.
func (g *group) flush() bool {
	d := g.d
	now := time.Now()
	var (
		firing, resolved []Alert
		silenced         []Delivery
		// Alertmanager keeps its own state, timing and repeats, and resolves what is not
		// sent again: it is told every firing alert at every flush, as Prometheus tells it at
		// every evaluation.
		resend bool
	)
	if w := d.worker(g.route.contactPoint); w != nil {
		resend = w.cp.Load().cp.Kind == KindAlertmanager
	}
	g.mu.Lock()
	for fp, e := range g.alerts {
		a := e.alert
		if !a.Resolved() && now.Sub(e.seen) > d.resolveAt {
			a.EndsAt = e.seen.Add(d.resolveAt)
		}
		if a.Resolved() {
			delete(g.alerts, fp)
		}
		if s := d.silencedBy(a.matchLabels(), now); s != nil {
			if g.silencedLogged[fp] != s.ID && !a.Resolved() {
				g.silencedLogged[fp] = s.ID
				silenced = append(silenced, Delivery{IncidentID: a.IncidentID, Fingerprint: fp,
					ContactPointID: g.route.contactPoint, At: now, Status: StatusSilenced,
					Error: fmt.Sprintf("silenced by %s (%s)", s.ID, s.CreatedBy)})
			}
			delete(g.lastFiring, fp)
			continue
		}
		delete(g.silencedLogged, fp)
		switch {
		case !a.Resolved():
			firing = append(firing, a)
		case g.lastFiring[fp]:
			resolved = append(resolved, a)
		}
	}
	send := len(resolved) > 0 || (len(firing) > 0 && (resend || now.Sub(g.lastSent) >= g.route.repeat))
	for _, a := range firing {
		send = send || !g.lastFiring[a.Fingerprint]
	}
	empty := len(g.alerts) == 0
	g.mu.Unlock()
	slices.SortFunc(firing, byStart)
	slices.SortFunc(resolved, byStart)

	// Only this goroutine changes lastFiring and lastSent, so they can be set after the lock is
	// let go: Notify never waits for a queue or the delivery log.
	m := newMessage(g.key, g.labels, firing, resolved, d.external)
	m.resendEvery = g.route.interval
	if send && d.enqueue(g.route.contactPoint, m) {
		g.mu.Lock()
		g.lastSent = now
		clear(g.lastFiring)
		for _, a := range firing {
			g.lastFiring[a.Fingerprint] = true
		}
		g.mu.Unlock()
	}
	if w := d.worker(g.route.contactPoint); w != nil {
		cp := w.cp.Load().cp
		for i := range silenced {
			silenced[i].ContactPointName, silenced[i].Kind = cp.Name, cp.Kind
		}
	}
	d.record(silenced)
	if !empty {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.alerts) > 0 { // an alert came between the two locks
		return true
	}
	if d.groups[g.key] == g { // not if a policy change let go of it
		delete(d.groups, g.key)
	}
	d.overflow = false
	return false
}

// byStart orders alerts by when they started, then by fingerprint, so a message lists them in the
// same order every time.
func byStart(a, b Alert) int {
	return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Fingerprint, b.Fingerprint))
}

// worker delivers the notifications of one contact point, one at a time, in order.
type worker struct {
	d     *Dispatcher
	cp    atomic.Pointer[deliverer]
	queue chan *Message
	quit  chan struct{} // closed when the contact point is deleted
	// dropping is set from the first notification dropped for a full queue until one fits.
	dropping atomic.Bool
}

// deliverer is a contact point with its sender, swapped whole when the contact point changes.
type deliverer struct {
	cp   ContactPoint
	send sender
}

func (d *Dispatcher) startWorker(cp *ContactPoint) {
	w := &worker{d: d, queue: make(chan *Message, d.queueSize), quit: make(chan struct{})}
	w.cp.Store(&deliverer{*cp, d.senderFor(cp)})
	d.wmu.Lock()
	d.workers[cp.ID] = w
	d.wmu.Unlock()
	d.wg.Add(1)
	go w.run()
}

func (d *Dispatcher) worker(id string) *worker {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.workers[id]
}

func (d *Dispatcher) hasContactPoint(id string) bool { return d.worker(id) != nil }

// enqueue queues m for contact point id without waiting; it reports false, and records the
// drop, when the queue is full.
func (d *Dispatcher) enqueue(id string, m *Message) bool {
	w := d.worker(id)
	if w == nil {
		d.logger.Warn("notification for a deleted contact point dropped", "contact_point", id, "group", m.GroupKey)
		return false
	}
	select {
	case w.queue <- m:
		if w.dropping.Swap(false) {
			d.logger.Info("contact point queue has room again", "contact_point", w.cp.Load().cp.Name)
		}
		return true
	default:
	}
	cp := w.cp.Load().cp
	if !w.dropping.Swap(true) {
		d.logger.Warn("contact point queue full: notifications dropped until it has room", "contact_point", cp.Name,
			"queue_size", d.queueSize)
	}
	d.record(deliveries(m, &cp, 0, StatusDropped, 0, errors.New("the contact point's queue was full")))
	return false
}

func (w *worker) run() {
	defer w.d.wg.Done()
	for {
		select {
		case <-w.d.stopping:
			w.dropQueued()
			return
		case <-w.quit:
			w.dropQueued()
			return
		case m := <-w.queue:
			w.deliver(m)
		}
	}
}

// dropQueued logs the notifications left in the queue when the worker ends.
func (w *worker) dropQueued() {
	if n := len(w.queue); n > 0 {
		w.d.logger.Warn("queued notifications dropped at stop", "contact_point", w.cp.Load().cp.Name, "count", n)
	}
}

// deliver tries m until it passes, fails for good, or its attempts run out.
func (w *worker) deliver(m *Message) {
	d := w.d
	for attempt := 1; ; attempt++ {
		dl := w.cp.Load()
		msg := *m
		msg.Receiver = dl.cp.Name
		status, err := d.attempt(dl, &msg)
		st := StatusOK
		if err != nil {
			st = StatusFailed
		}
		d.record(deliveries(&msg, &dl.cp, attempt, st, status, err))
		if err == nil {
			return
		}
		if !retryable(err) || attempt >= dl.cp.Attempts {
			d.logger.Warn("notification failed", "contact_point", dl.cp.Name, "group", m.GroupKey, "attempts", attempt, "err", err)
			return
		}
		wait := min(d.backoff<<(attempt-1), 30*d.backoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.stopping:
			t.Stop()
			return
		case <-w.quit:
			t.Stop()
			return
		}
	}
}

// attempt sends m once, bounded by the contact point's timeout.
func (d *Dispatcher) attempt(dl *deliverer, m *Message) (int, error) {
	ctx, cancel := context.WithTimeout(d.hard, dl.cp.timeout)
	defer cancel()
	return dl.send(ctx, m)
}

// Delivery statuses.
const (
	StatusOK       = "ok"
	StatusFailed   = "failed"
	StatusSilenced = "silenced"
	StatusDropped  = "dropped"
	StatusTest     = "test"
)

// Delivery is one entry of the delivery log: one alert's attempt at one contact point, or its
// being silenced or dropped.
type Delivery struct {
	ID               string    `json:"id"`
	IncidentID       string    `json:"incidentId"`
	Fingerprint      string    `json:"fingerprint"`
	ContactPointID   string    `json:"contactPointId"`
	ContactPointName string    `json:"contactPointName"`
	Kind             string    `json:"kind"`
	Attempt          int       `json:"attempt"`
	At               time.Time `json:"at"`
	// Status is ok, failed, silenced, dropped, or test (a test sent without error).
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Test       bool   `json:"test,omitempty"`
}

// deliveries is the log entries of one attempt: one per alert of m.
func deliveries(m *Message, cp *ContactPoint, attempt int, status string, httpStatus int, err error) []Delivery {
	now := time.Now()
	out := make([]Delivery, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		dl := Delivery{IncidentID: a.IncidentID, Fingerprint: a.Fingerprint, ContactPointID: cp.ID,
			ContactPointName: cp.Name, Kind: cp.Kind, Attempt: attempt, At: now, Status: status, HTTPStatus: httpStatus, Test: m.Test}
		if err != nil {
			dl.Error = err.Error()
		}
		out = append(out, dl)
	}
	return out
}

// record writes ds to the delivery log, then tells OnDelivery. A log that cannot be written is
// logged; delivery goes on.
func (d *Dispatcher) record(ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.hard), 10*time.Second)
	defer cancel()
	if err := d.insertDeliveries(ctx, ds); err != nil {
		d.logger.Error("record alert deliveries", "count", len(ds), "err", err)
		return
	}
	for _, dl := range ds {
		d.delivered.WithLabelValues(dl.Kind, dl.Status).Inc()
		if d.onDelivery != nil {
			d.onDelivery(dl)
		}
	}
}

// Test sends a test notification through contact point id now, once, and returns its delivery.
func (d *Dispatcher) Test(ctx context.Context, id string) (Delivery, error) {
	w := d.worker(id)
	if w == nil {
		return Delivery{}, ErrNoContactPoint.Withf("no contact point %q", id)
	}
	dl := w.cp.Load()
	now := time.Now()
	a := Alert{Fingerprint: "test", Labels: map[string]string{"alertname": "TestAlert", "instance": "huddle"},
		Annotations: map[string]string{"summary": "A test notification from huddle: nothing is wrong."},
		Severity:    3, StartsAt: now, IncidentID: ""}
	m := newMessage("test", map[string]string{"alertname": "TestAlert"}, []Alert{a}, nil, d.external)
	m.Receiver, m.Test = dl.cp.Name, true
	ctx, cancel := context.WithTimeout(ctx, dl.cp.timeout)
	defer cancel()
	status, err := dl.send(ctx, m)
	st := StatusTest
	if err != nil {
		st = StatusFailed
	}
	ds := deliveries(m, &dl.cp, 1, st, status, err)
	d.record(ds)
	return ds[0], nil
}
