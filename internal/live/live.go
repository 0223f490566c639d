// Package live keeps open dashboards current without polling: for every dashboard that has at
// least one viewer it evaluates each panel query once per refresh interval, whatever the number
// of viewers, and pushes the new points to the dashboard's metrics group, where they are encoded
// once and fanned out to every viewer.
//
// Guarantees: at most one evaluation of a dashboard is in flight; evaluation instants are
// aligned to the refresh interval (a 10 s dashboard is evaluated at :00, :10, …), so every
// viewer, a reconnecting one included, agrees on the points' timestamps; a dashboard loses its worker
// within one scan after its last viewer leaves. A newcomer loads history with a range query over
// HTTP and then applies the pushes that carry its history's key (Plan.Key), deduplicating by
// timestamp.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
)

// Plan is what to evaluate for one dashboard.
type Plan struct {
	// Refresh is the interval between evaluations; values under MinRefresh are raised to it.
	Refresh time.Duration
	// Version is the dashboard's version, echoed in every push so a viewer on an older layout
	// knows to reload it.
	Version int64
	// Key identifies the queries as expanded, echoed in every push so that a viewer adds the
	// points only to a history loaded from the same expansion.
	Key     string
	Queries []Query
}

// Query is one panel query.
type Query struct {
	Panel int64  `json:"panel"`
	RefID string `json:"refId"`
	Expr  string `json:"-"`
}

// Plans reads a dashboard's plan; an error matching collab.ErrNoDashboard when it does not exist.
type Plans interface {
	Plan(ctx context.Context, uid string) (Plan, error)
}

// Querier evaluates an instant query; metrics.Source is one.
type Querier interface {
	Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error)
}

// Audience says which dashboards have viewers now and delivers a push to them.
type Audience interface {
	Watched() []string
	Push(ctx context.Context, uid string, data []byte) error
}

// MinRefresh bounds how often one dashboard is evaluated.
const MinRefresh = time.Second

// Options configures a [Scheduler]. Plans, Querier and Audience are required.
type Options struct {
	Plans    Plans
	Querier  Querier
	Audience Audience
	// Scan is how often the audience is checked for dashboards gaining or losing viewers
	// (default 1 s).
	Scan time.Duration
	// QueryTimeout bounds one panel query (default 30 s, and never more than the refresh).
	QueryTimeout time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time
}

// Scheduler runs one worker per watched dashboard.
type Scheduler struct {
	opts    Options
	queries prometheus.Counter
	pushes  prometheus.Counter
	failed  prometheus.Counter
	active  prometheus.Gauge
}

// New checks opts and returns a scheduler; nothing runs until Run.
func New(opts Options) (*Scheduler, error) {
	if opts.Plans == nil || opts.Querier == nil || opts.Audience == nil {
		return nil, errors.New("live: Plans, Querier and Audience are required")
	}
	if opts.Scan <= 0 {
		opts.Scan = time.Second
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Scheduler{
		opts: opts,
		queries: prometheus.NewCounter(prometheus.CounterOpts{Name: "huddle_live_queries_total",
			Help: "Panel queries evaluated for live dashboards."}),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{Name: "huddle_live_pushes_total",
			Help: "Evaluations of a dashboard pushed to its viewers."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "huddle_live_query_errors_total",
			Help: "Panel queries that failed; the error is pushed to the panel."}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "huddle_live_dashboards",
			Help: "Dashboards with viewers, evaluated on their refresh interval."}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.queries, s.pushes, s.failed, s.active} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("live: register metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Run evaluates watched dashboards until ctx ends, then waits for in-flight evaluations.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	workers := make(map[string]context.CancelFunc)
	defer func() {
		for _, stop := range workers {
			stop()
		}
		wg.Wait()
		s.active.Set(0)
	}()
	scan := time.NewTicker(s.opts.Scan)
	defer scan.Stop()
	for {
		watched := make(map[string]bool)
		for _, uid := range s.opts.Audience.Watched() {
			watched[uid] = true
			if workers[uid] == nil {
				wctx, stop := context.WithCancel(ctx)
				workers[uid] = stop
				wg.Go(func() { s.work(wctx, uid) })
			}
		}
		for uid, stop := range workers {
			if !watched[uid] {
				stop()
				delete(workers, uid)
			}
		}
		s.active.Set(float64(len(workers)))
		select {
		case <-ctx.Done():
			return nil
		case <-scan.C:
		}
	}
}

// work evaluates one dashboard at every multiple of its refresh interval until ctx ends. The
// plan is read again at every tick, so a saved layout takes effect at the next one.
func (s *Scheduler) work(ctx context.Context, uid string) {
	log := s.opts.Logger.With("dashboard", uid)
	var lastErr string
	for {
		plan, err := s.opts.Plans.Plan(ctx, uid)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Log a broken plan once, not at every retry. A dashboard deleted while open is no
			// fault of the server's.
			if err.Error() != lastErr {
				level := slog.LevelWarn
				if errors.Is(err, collab.ErrNoDashboard) {
					level = slog.LevelDebug
				}
				log.Log(ctx, level, "live dashboard plan", "err", err)
				lastErr = err.Error()
			}
		} else {
			lastErr = ""
		}
		refresh := max(plan.Refresh, MinRefresh)
		if len(plan.Queries) == 0 {
			// Nothing to push (no refresh, or no panels yet): look again now and then for a save.
			refresh = max(refresh, 10*MinRefresh)
		}
		now := s.opts.Now()
		at := now.Truncate(refresh).Add(refresh)
		timer := time.NewTimer(at.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if err != nil || len(plan.Queries) == 0 {
			continue
		}
		s.push(ctx, log, uid, plan, at, min(s.opts.QueryTimeout, refresh))
	}
}

// Push is what viewers receive: the value of every panel query at one instant, in the shape of
// Prometheus's instant query results so a client parses pushes and history alike.
type Push struct {
	Type      string        `json:"type"` // "points"
	Dashboard string        `json:"dashboard"`
	Version   int64         `json:"version"`
	Key       string        `json:"key"`
	Time      int64         `json:"time"` // unix ms of the evaluation instant
	Results   []QueryResult `json:"results"`
}

// QueryResult is one panel query's value at the push's instant, or its error.
type QueryResult struct {
	Query
	ResultType string        `json:"resultType,omitempty"`
	Result     promql.Vector `json:"result"`
	Error      string        `json:"error,omitempty"`
}

func (s *Scheduler) push(ctx context.Context, log *slog.Logger, uid string, plan Plan, at time.Time, timeout time.Duration) {
	msg := Push{Type: "points", Dashboard: uid, Version: plan.Version, Key: plan.Key, Time: at.UnixMilli(),
		Results: make([]QueryResult, len(plan.Queries))}
	for i, q := range plan.Queries {
		msg.Results[i] = s.evaluate(ctx, q, at, timeout)
		if ctx.Err() != nil {
			return
		}
	}
	data, err := json.Marshal(msg)
	if err != nil {
		log.Error("encode live push", "err", err)
		return
	}
	if err := s.opts.Audience.Push(ctx, uid, data); err != nil {
		if ctx.Err() == nil {
			log.Warn("push live points", "err", err)
		}
		return
	}
	s.pushes.Inc()
}

func (s *Scheduler) evaluate(ctx context.Context, q Query, at time.Time, timeout time.Duration) QueryResult {
	out := QueryResult{Query: q, Result: promql.Vector{}}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s.queries.Inc()
	res, err := s.opts.Querier.Query(qctx, q.Expr, at)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		s.failed.Inc()
		out.Error = err.Error()
		return out
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out.ResultType, out.Result = "vector", v
	case promql.Scalar:
		out.ResultType, out.Result = "vector", promql.Vector{{T: v.T, F: v.V}}
	default:
		s.failed.Inc()
		out.Error = fmt.Sprintf("a panel query must give an instant vector or a scalar, not a %s", res.Value.Type())
	}
	return out
}
