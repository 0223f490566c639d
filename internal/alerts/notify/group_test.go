package notify

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// evaluate calls Notify every 15 s, as an evaluator would, for d, starting now.
func evaluate(d *Dispatcher, span time.Duration, alerts ...Alert) {
	for end := time.Now().Add(span); time.Now().Before(end); {
		d.Notify(alerts...)
		time.Sleep(15 * time.Second)
	}
}

func resolvedAt(a Alert, at time.Time) Alert {
	a.EndsAt = at
	return a
}

type sentSummary struct {
	at       time.Duration
	status   string
	firing   []string
	resolved []string
}

func summarize(t *testing.T, start time.Time, sent []hubMessage) []sentSummary {
	t.Helper()
	var out []sentSummary
	for _, s := range sent {
		m := s.message(t)
		sum := sentSummary{at: s.at.Sub(start), status: m.Status}
		for _, a := range m.Alerts {
			if a.Status == "firing" {
				sum.firing = append(sum.firing, a.Fingerprint)
			} else {
				sum.resolved = append(sum.resolved, a.Fingerprint)
			}
		}
		slices.Sort(sum.firing)
		slices.Sort(sum.resolved)
		out = append(out, sum)
	}
	return out
}

// TestGrouping follows one group through Alertmanager's timing: the first notification after
// group_wait, changes at the next group_interval, nothing when nothing changed, a repeat after
// repeat_interval, resolved alerts once, and the group's end.
func TestGrouping(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	synctest.Test(t, func(t *testing.T) {
		hub := &hubRecorder{}
		d, _ := newDispatcher(t, st, Options{Hub: hub})
		cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"})
		setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupBy: []string{"alertname"}, GroupWait: "30s", GroupInterval: "1m", RepeatInterval: "10m"})
		start := time.Now()
		a1, a2, a3 := firing("DiskFull", "fp1"), firing("DiskFull", "fp2"), firing("DiskFull", "fp3")
		a2.Labels["instance"], a3.Labels["instance"] = "db2:9100", "db3:9100"

		evaluate(d, 15*time.Second, a1)
		evaluate(d, 165*time.Second, a1, a2) // until 3m
		evaluate(d, 11*time.Minute, a1, a2, a3)
		d.Notify(resolvedAt(a1, time.Now()), a2, a3) // 14m
		evaluate(d, time.Minute, a2, a3)
		d.Notify(resolvedAt(a2, time.Now()), resolvedAt(a3, time.Now())) // 15m
		time.Sleep(time.Minute)
		synctest.Wait()

		want := []sentSummary{
			{30 * time.Second, "firing", []string{"fp1", "fp2"}, nil},
			{3*time.Minute + 30*time.Second, "firing", []string{"fp1", "fp2", "fp3"}, nil},
			{13*time.Minute + 30*time.Second, "firing", []string{"fp1", "fp2", "fp3"}, nil}, // repeat_interval after the last
			{14*time.Minute + 30*time.Second, "firing", []string{"fp2", "fp3"}, []string{"fp1"}},
			{15*time.Minute + 30*time.Second, "resolved", nil, []string{"fp2", "fp3"}},
		}
		got := summarize(t, start, hub.take())
		if len(got) != len(want) {
			t.Fatalf("sent %+v\nwant %+v", got, want)
		}
		for i := range want {
			if got[i].at != want[i].at || got[i].status != want[i].status || !slices.Equal(got[i].firing, want[i].firing) ||
				!slices.Equal(got[i].resolved, want[i].resolved) {
				t.Errorf("notification %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		d.mu.Lock()
		groups := len(d.groups)
		d.mu.Unlock()
		if groups != 0 {
			t.Errorf("%d groups left after every alert resolved", groups)
		}
	})
}

// TestStaleAlertResolves: a firing alert the evaluator stops sending (its rule deleted) is
// resolved after the resolve timeout, as Alertmanager does.
func TestStaleAlertResolves(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	synctest.Test(t, func(t *testing.T) {
		hub := &hubRecorder{}
		d, _ := newDispatcher(t, st, Options{Hub: hub, ResolveTimeout: 5 * time.Minute})
		cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"})
		setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupWait: "0s", GroupInterval: "1m", RepeatInterval: "1h"})
		start := time.Now()
		d.Notify(firing("DiskFull", "fp1"))
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		got := summarize(t, start, hub.take())
		if len(got) != 2 || got[0].status != "firing" || got[1].status != "resolved" || got[1].at != 6*time.Minute {
			t.Fatalf("sent %+v", got)
		}
	})
}

func TestSilences(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	synctest.Test(t, func(t *testing.T) {
		hub := &hubRecorder{}
		d, _ := newDispatcher(t, st, Options{Hub: hub})
		cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"})
		setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupBy: []string{"alertname"}, GroupWait: "0s", GroupInterval: "1m", RepeatInterval: "1h"})
		ctx := context.Background()
		start := time.Now()
		short, err := d.CreateSilence(ctx, Silence{Matchers: []string{`alertname="DiskFull"`}, EndsAt: start.Add(2 * time.Minute),
			CreatedBy: "ann", Comment: "maintenance"})
		if err != nil {
			t.Fatal(err)
		}
		long, err := d.CreateSilence(ctx, Silence{Matchers: []string{`alertname="CPU"`, `severity=~"0|1"`}, EndsAt: start.Add(time.Hour),
			CreatedBy: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateSilence(ctx, Silence{Matchers: []string{`alertname="Mem"`}, StartsAt: start.Add(time.Hour),
			EndsAt: start.Add(2 * time.Hour), CreatedBy: "bob"}); err != nil {
			t.Fatal(err)
		}

		all := []Alert{firing("DiskFull", "fp-disk"), firing("CPU", "fp-cpu"), firing("Mem", "fp-mem")}
		evaluate(d, 5*time.Minute+30*time.Second, all...)
		if err := d.ExpireSilence(ctx, long.ID); err != nil {
			t.Fatal(err)
		}
		evaluate(d, 2*time.Minute, all...)
		synctest.Wait()

		var disk, cpu, mem []time.Duration
		for _, s := range summarize(t, start, hub.take()) {
			for _, fp := range s.firing {
				switch fp {
				case "fp-disk":
					disk = append(disk, s.at)
				case "fp-cpu":
					cpu = append(cpu, s.at)
				case "fp-mem":
					mem = append(mem, s.at)
				}
			}
		}
		// DiskFull once its silence ended (flushes fall on whole minutes), CPU at the first
		// flush after its silence was expired by hand, Mem (silenced only later) at once.
		if !slices.Equal(disk, []time.Duration{2 * time.Minute}) || !slices.Equal(cpu, []time.Duration{6 * time.Minute}) ||
			!slices.Equal(mem, []time.Duration{0}) {
			t.Errorf("sent DiskFull at %v, CPU at %v, Mem at %v", disk, cpu, mem)
		}
		for fp, sil := range map[string]*Silence{"fp-disk": short, "fp-cpu": long} {
			dls, err := d.Deliveries(ctx, DeliveryFilter{Fingerprint: fp})
			if err != nil {
				t.Fatal(err)
			}
			var silenced []Delivery
			for _, dl := range dls {
				if dl.Status == StatusSilenced {
					silenced = append(silenced, dl)
				}
			}
			if len(silenced) != 1 || !strings.Contains(silenced[0].Error, sil.ID) || silenced[0].IncidentID != "inc-"+fp ||
				silenced[0].ContactPointName != "apps" || silenced[0].Kind != KindHub {
				t.Errorf("%s: silenced deliveries %+v, want one naming %s", fp, silenced, sil.ID)
			}
		}
		states := map[string]string{}
		list, err := d.Silences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			states[s.CreatedBy+" "+s.Matchers[0]] = s.State
		}
		want := map[string]string{`ann alertname="DiskFull"`: "expired", `bob alertname="CPU"`: "expired", `bob alertname="Mem"`: "pending"}
		if len(states) != 3 || states[`ann alertname="DiskFull"`] != want[`ann alertname="DiskFull"`] ||
			states[`bob alertname="CPU"`] != "expired" || states[`bob alertname="Mem"`] != "pending" {
			t.Errorf("states %v, want %v", states, want)
		}
	})
}

// blockingHub holds every send until released or cancelled.
type blockingHub struct {
	hubRecorder
	release chan struct{}
	started chan string
}

func (h *blockingHub) SendToGroup(ctx context.Context, hub, group string, data []byte) error {
	h.started <- group
	select {
	case <-h.release:
		return h.hubRecorder.SendToGroup(ctx, hub, group, data)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestQueueFull: with one notification in flight and the queue full, the next is dropped,
// recorded as such and logged once; the queue takes notifications again once it has room.
func TestQueueFull(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	synctest.Test(t, func(t *testing.T) {
		hub := &blockingHub{release: make(chan struct{}), started: make(chan string, 10)}
		d, logs := newDispatcher(t, st, Options{Hub: hub, QueueSize: 1})
		cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"}, func(cp *ContactPoint) { cp.Timeout = "1m" })
		setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupBy: []string{"alertname"}, GroupWait: "0s", GroupInterval: "1h", RepeatInterval: "1h"})

		d.Notify(firing("A", "fp-a"))
		<-hub.started // in flight
		d.Notify(firing("B", "fp-b"))
		synctest.Wait() // queued
		d.Notify(firing("C", "fp-c"), firing("D", "fp-d"))
		synctest.Wait() // both dropped
		close(hub.release)
		synctest.Wait()
		d.Notify(firing("E", "fp-e"))
		synctest.Wait()

		status := map[string]string{}
		dls, err := d.Deliveries(context.Background(), DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range dls {
			status[dl.Fingerprint] = dl.Status
		}
		want := map[string]string{"fp-a": StatusOK, "fp-b": StatusOK, "fp-c": StatusDropped, "fp-d": StatusDropped, "fp-e": StatusOK}
		for fp, st := range want {
			if status[fp] != st {
				t.Errorf("%s: %s, want %s (all: %v)", fp, status[fp], st, status)
			}
		}
		if n := strings.Count(logs.String(), "queue full"); n != 1 {
			t.Errorf("the full queue was logged %d times, want once:\n%s", n, logs)
		}
		if !strings.Contains(logs.String(), "queue has room again") {
			t.Errorf("the queue's recovery was not logged:\n%s", logs)
		}
	})
}

// TestStop: Stop lets an attempt under way finish, and cancels it when its context ends first;
// either way no goroutine of the dispatcher is left (synctest.Test would fail otherwise).
func TestStop(t *testing.T) {
	t.Parallel()
	for _, finish := range []bool{true, false} {
		st := storetest.SQLite(t)
		synctest.Test(t, func(t *testing.T) {
			hub := &blockingHub{release: make(chan struct{}), started: make(chan string, 10)}
			d, _ := newDispatcher(t, st, Options{Hub: hub})
			cp := addContactPoint(t, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"}, func(cp *ContactPoint) { cp.Timeout = "1m" })
			setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupWait: "0s", GroupInterval: "1h", RepeatInterval: "1h"})
			d.Notify(firing("A", "fp-a"))
			<-hub.started
			if finish {
				go func() { time.Sleep(2 * time.Second); close(hub.release) }()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := d.Stop(ctx)
			took := time.Since(start)
			dls, _ := d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: "fp-a"})
			switch {
			case finish && (err != nil || took != 2*time.Second || len(dls) != 1 || dls[0].Status != StatusOK):
				t.Errorf("finishing attempt: Stop %v after %v, deliveries %+v", err, took, dls)
			case !finish && (err == nil || took != 10*time.Second || len(dls) != 1 || dls[0].Status != StatusFailed):
				t.Errorf("cancelled attempt: Stop %v after %v, deliveries %+v", err, took, dls)
			}
			d.Notify(firing("B", "fp-b")) // ignored once stopped
			synctest.Wait()
			if len(hub.started) != 0 {
				t.Error("a notification was sent after Stop")
			}
		})
	}
}
