package alerts

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/metrics"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

type switchGate struct{ on atomic.Bool }

func (g *switchGate) Evaluating(context.Context) bool { return g.on.Load() }

// Groups are evaluated on their interval's slots, from the slot after start, and only while the
// gate lets this node evaluate (in a cluster, while it holds the lease).
func TestDispatchFollowsSlotsAndGate(t *testing.T) {
	ms, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	st := storetest.SQLite(t)
	gate := &switchGate{}
	e := NewEngine(Options{Querier: ms, Storage: ms, Gate: gate,
		Incidents: NewIncidents(st, nil, "alerts", nil, slog.New(slog.DiscardHandler))}, NewRuleStore(st))
	if err := e.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	spec, err := DecodeGroup([]byte("name: g\ninterval: 10s\nrules:\n- alert: A\n  expr: vector(1)\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Put(context.Background(), spec, "t"); err != nil {
		t.Fatal(err)
	}
	evaluated := func() time.Time {
		g, err := e.Group("g")
		if err != nil {
			t.Fatal(err)
		}
		if g.Rules[0].LastEvaluation == nil {
			return time.Time{}
		}
		return *g.Rules[0].LastEvaluation
	}
	ctx := context.Background()
	// Slots are offset within the interval by a hash of the group, as Prometheus spreads groups.
	start := e.groups["g"].prom.EvalTimestamp(time.Now().UnixNano())
	step := func(at time.Time) {
		e.dispatch(ctx, at)
		e.wg.Wait()
	}
	gate.on.Store(true)
	step(start)
	if !evaluated().IsZero() {
		t.Fatal("evaluated at start; the first slot is the one after it")
	}
	gate.on.Store(false)
	step(start.Add(10 * time.Second))
	if !evaluated().IsZero() {
		t.Fatal("evaluated while the gate was closed")
	}
	gate.on.Store(true)
	step(start.Add(11 * time.Second))
	first := evaluated()
	if first.IsZero() {
		t.Fatal("not evaluated once the gate opened")
	}
	step(start.Add(15 * time.Second)) // the same slot
	if !evaluated().Equal(first) {
		t.Fatal("evaluated twice in one slot")
	}
	step(start.Add(21 * time.Second))
	if !evaluated().After(first) {
		t.Fatal("not evaluated at the next slot")
	}
}
