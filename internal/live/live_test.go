package live

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/metrics"
)

// countingQuerier counts the queries that reach the real store.
type countingQuerier struct {
	*metrics.Store
	n atomic.Int64
}

func (c *countingQuerier) Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error) {
	c.n.Add(1)
	return c.Store.Query(ctx, expr, ts)
}

// wirePush is a push as a client decodes it.
type wirePush struct {
	raw       []byte
	Type      string
	Dashboard string
	Version   int64
	Time      int64
	Results   []struct {
		Panel      int
		RefID      string
		ResultType string
		Error      string
		Result     []struct {
			Metric map[string]string
			Value  [2]any // [unix seconds, "value"], as Prometheus's API writes it
		}
	}
}

// audience is a fixed set of watched dashboards whose pushes are kept.
type audience struct {
	mu      sync.Mutex
	watched []string
	pushes  chan wirePush
}

func (a *audience) Watched() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.watched
}

func (a *audience) watch(uids ...string) {
	a.mu.Lock()
	a.watched = uids
	a.mu.Unlock()
}

func (a *audience) Push(_ context.Context, uid string, data []byte) error {
	var p wirePush
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.raw = data
	if p.Dashboard != uid {
		return nil
	}
	select {
	case a.pushes <- p:
	default:
	}
	return nil
}

type plans map[string]Plan

func (p plans) Plan(_ context.Context, uid string) (Plan, error) {
	plan, ok := p[uid]
	if !ok {
		return Plan{}, collab.ErrNoDashboard
	}
	return plan, nil
}

func openStore(t *testing.T) *metrics.Store {
	t.Helper()
	st, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	app := st.Appender(context.Background())
	now := time.Now()
	for i := range 120 {
		at := now.Add(time.Duration(i-60) * time.Second).UnixMilli()
		for _, host := range []string{"a", "b"} {
			if _, err := app.Append(0, labels.FromStrings("__name__", "temp", "host", host), at, 21.5); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

func start(t *testing.T, opts Options) *Scheduler {
	t.Helper()
	opts.Scan = 50 * time.Millisecond
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

func next(t *testing.T, a *audience) wirePush {
	t.Helper()
	select {
	case p := <-a.pushes:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10 s")
		return wirePush{}
	}
}

// The scheduler runs on timers, so its tests run in synctest bubbles: time passes only when every
// goroutine waits, a minute takes no time, and synctest.Wait says when the scheduler has done all
// it can at the current instant. The TSDB, opened inside the bubble, stamps and evaluates samples
// on the same fake clock.

// Every push carries every query's value at an instant aligned to the refresh interval, each
// query evaluated once per push; a failing query reports its error without hiding the others, and
// a query that finds nothing gives an empty list, as Prometheus's instant query does.
func TestPushesEveryQueryOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &countingQuerier{Store: openStore(t)}
		aud := &audience{pushes: make(chan wirePush, 16)}
		aud.watch("ops")
		start(t, Options{Querier: q, Audience: aud, Plans: plans{"ops": {Refresh: time.Second, Version: 3, Queries: []Query{
			{Panel: 1, RefID: "A", Expr: `temp`},
			{Panel: 1, RefID: "B", Expr: `sum(temp)`},
			{Panel: 2, RefID: "A", Expr: `temp[1m]`},
			{Panel: 3, RefID: "A", Expr: `sum(`},
			{Panel: 4, RefID: "A", Expr: `sum(nonexistent_metric)`},
		}}}})

		first := next(t, aud)
		second := next(t, aud)
		for _, p := range []wirePush{first, second} {
			if p.Type != "points" || p.Version != 3 || p.Time%1000 != 0 || len(p.Results) != 5 {
				t.Fatalf("push %+v", p)
			}
		}
		if second.Time <= first.Time {
			t.Fatalf("push times %d then %d", first.Time, second.Time)
		}
		r := second.Results
		if r[0].Error != "" || len(r[0].Result) != 2 || r[0].Result[0].Value[1] != "21.5" || r[0].Result[0].Metric["host"] != "a" ||
			r[0].Result[0].Value[0] != float64(second.Time)/1000 {
			t.Errorf("temp: %+v", r[0])
		}
		if len(r[1].Result) != 1 || r[1].Result[0].Value[1] != "43" {
			t.Errorf("sum(temp): %+v", r[1])
		}
		if !strings.Contains(r[2].Error, "instant vector or a scalar") {
			t.Errorf("a range vector query: %+v", r[2])
		}
		if r[3].Error == "" || r[3].Panel != 3 {
			t.Errorf("a broken query: %+v", r[3])
		}
		// The browser reads null as no series too, but Prometheus writes [] (its
		// web/api/v1/json_codec.go, prometheus/prometheus#13997), and so does a push.
		var raw struct{ Results []map[string]json.RawMessage }
		if err := json.Unmarshal(second.raw, &raw); err != nil {
			t.Fatal(err)
		}
		if got := string(raw.Results[4]["result"]); got != "[]" || r[4].Error != "" || r[4].ResultType != "vector" {
			t.Errorf("an empty query: result %s in %+v", got, r[4])
		}
		// The clock stands still until this goroutine waits too, so no third evaluation has
		// started: exactly two pushes' worth of queries ran.
		synctest.Wait()
		if n := q.n.Load(); n != 10 {
			t.Errorf("%d queries for 2 pushes of 5 queries", n)
		}
	})
}

// A dashboard without viewers is not evaluated, and one that loses its last viewer stops within
// one scan.
func TestOnlyWatchedDashboardsAreEvaluated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &countingQuerier{Store: openStore(t)}
		aud := &audience{pushes: make(chan wirePush, 16)}
		aud.watch("ops")
		s := start(t, Options{Querier: q, Audience: aud, Plans: plans{
			"ops":  {Refresh: time.Second, Queries: []Query{{Panel: 1, RefID: "A", Expr: "temp"}}},
			"idle": {Refresh: time.Second, Queries: []Query{{Panel: 1, RefID: "A", Expr: "temp"}}},
		}})
		if p := next(t, aud); p.Dashboard != "ops" {
			t.Fatalf("push for %q", p.Dashboard)
		}
		aud.watch()
		time.Sleep(s.opts.Scan)
		synctest.Wait()
		if active := testutil.ToFloat64(s.active); active != 0 {
			t.Fatalf("%v dashboards evaluated one scan after their last viewer left", active)
		}
		before := q.n.Load()
		aud.watch("missing")
		// Long enough for many refreshes, and for the missing dashboard's plan to be retried.
		time.Sleep(time.Minute)
		synctest.Wait()
		if after := q.n.Load(); after != before {
			t.Fatalf("%d queries ran for dashboards without viewers or plans", after-before)
		}
	})
}

func TestNewRequiresItsParts(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New accepted options without Plans, Querier and Audience")
	}
}
