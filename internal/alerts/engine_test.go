package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/metrics"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// messages records what the engine announces on the alerts group.
type messages struct {
	mu   sync.Mutex
	list []map[string]any
	raw  [][]byte // as encoded for the hub
}

func (m *messages) SendToGroup(_ context.Context, group string, data []byte) error {
	var msg map[string]any
	if err := json.Unmarshal(data, &msg); err != nil {
		return err
	}
	msg["_group"] = group
	m.mu.Lock()
	m.list = append(m.list, msg)
	m.raw = append(m.raw, data)
	m.mu.Unlock()
	return nil
}

func (m *messages) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.list {
		kind := msg["type"].(string)
		if e, ok := msg["entry"].(map[string]any); ok {
			kind += ":" + e["kind"].(string)
		}
		out = append(out, kind)
	}
	return out
}

// env is an engine over an embedded metrics store and a SQL store, on a settable clock.
type env struct {
	t         *testing.T
	metrics   *metrics.Store
	sql       *store.Store
	dir       string
	clock     *testkit.Clock
	incidents *alerts.Incidents
	engine    *alerts.Engine
	news      *messages
	notified  []alerts.Notification
}

// t0 is a minute boundary an hour ago: the head of a new TSDB takes samples from then on.
var t0 = time.Now().Truncate(time.Minute).Add(-time.Hour)

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	e := &env{t: t, sql: st, dir: t.TempDir(), clock: testkit.NewClock(t0)}
	e.openMetrics()
	e.start(alerts.Options{})
	return e
}

func (e *env) openMetrics() {
	ms, err := metrics.Open(e.dir, metrics.StoreOptions{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.metrics = ms
	e.t.Cleanup(func() { _ = ms.Close() })
}

// start builds an engine as the server does at start, with opts' tunables.
func (e *env) start(opts alerts.Options) {
	e.news = &messages{}
	e.incidents = alerts.NewIncidents(e.sql, e.news, "alerts", e.clock.Now, slog.New(slog.DiscardHandler))
	opts.Querier, opts.Storage, opts.Incidents, opts.Now = e.metrics, e.metrics, e.incidents, e.clock.Now
	opts.Notify = func(_ context.Context, n []alerts.Notification) { e.notified = append(e.notified, n...) }
	e.engine = alerts.NewEngine(opts, alerts.NewRuleStore(e.sql))
	if err := e.engine.Load(context.Background(), nil); err != nil {
		e.t.Fatal(err)
	}
}

// samples appends value for series every 15 s from from to to.
func (e *env) samples(series string, from, to time.Time, value float64) {
	e.t.Helper()
	lbls, err := labelsOf(series)
	if err != nil {
		e.t.Fatal(err)
	}
	app := e.metrics.Appender(context.Background())
	for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
		if _, err := app.Append(0, lbls, ts.UnixMilli(), value); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

func labelsOf(series string) (labels.Labels, error) {
	matchers, err := parser.ParseMetricSelector(series)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, m := range matchers {
		b.Set(m.Name, m.Value)
	}
	return b.Labels(), nil
}

func (e *env) put(yamlText string) {
	e.t.Helper()
	g, err := alerts.DecodeGroup([]byte(yamlText), true)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.engine.Put(context.Background(), g, "ada"); err != nil {
		e.t.Fatal(err)
	}
}

// at evaluates every group at t0+offset.
func (e *env) at(offset time.Duration) {
	e.clock.Set(t0.Add(offset))
	e.engine.EvaluateAll(context.Background(), t0.Add(offset))
}

func (e *env) ruleState(group, rule string) string {
	e.t.Helper()
	g, err := e.engine.Group(group)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range g.Rules {
		if r.Name == rule {
			if r.LastError != "" {
				e.t.Fatalf("rule %s: %s", rule, r.LastError)
			}
			return r.State
		}
	}
	e.t.Fatalf("no rule %s in %s", rule, group)
	return ""
}

func (e *env) list(state string) []alerts.Incident {
	e.t.Helper()
	list, err := e.incidents.List(context.Background(), alerts.Filter{State: state})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// An alert goes pending, fires after `for`, keeps firing for keep_firing_for once its condition
// is gone, then resolves; its incident opens when it fires and resolves with it.
// Semantics: prometheus/prometheus docs/configuration/alerting_rules.md ("for", "keep_firing_for").
func TestPendingFiringResolved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.samples(`load{instance="a"}`, t0.Add(-time.Minute), t0.Add(150*time.Second), 5)
		e.samples(`load{instance="a"}`, t0.Add(165*time.Second), t0.Add(10*time.Minute), 0)
		e.put(`
name: host
interval: 1m
rules:
- alert: HighLoad
  expr: load > 1
  for: 2m
  keep_firing_for: 1m
  labels: {severity: critical}
  annotations:
    summary: "{{ $labels.instance }} load is {{ $value | humanize }}"
`)
		steps := []struct {
			at        time.Duration
			state     string
			incidents int
		}{
			{0, "pending", 0},
			{time.Minute, "pending", 0},
			{2 * time.Minute, "firing", 1},
			{3 * time.Minute, "firing", 1}, // condition gone at 2m45s; kept firing for 1m
			{4 * time.Minute, "inactive", 1},
		}
		for _, s := range steps {
			e.at(s.at)
			if got := e.ruleState("host", "HighLoad"); got != s.state {
				t.Fatalf("at +%s: state %s, want %s", s.at, got, s.state)
			}
			if got := len(e.list("all")); got != s.incidents {
				t.Fatalf("at +%s: %d incidents, want %d", s.at, got, s.incidents)
			}
		}
		in := e.list("all")[0]
		if in.State != alerts.StateResolved || in.Severity != alerts.SevCritical || in.Rule != "HighLoad" ||
			!in.FiredAt.Equal(t0.Add(2*time.Minute)) || in.ResolvedAt == nil || !in.ResolvedAt.Equal(t0.Add(4*time.Minute)) {
			t.Fatalf("incident %+v", in)
		}
		if got := in.Annotations["summary"]; got != "a load is 5" {
			t.Fatalf("templated summary %q", got)
		}
		if in.Labels["alertname"] != "HighLoad" || in.Labels["instance"] != "a" || in.Fingerprint == "" {
			t.Fatalf("labels %v fingerprint %q", in.Labels, in.Fingerprint)
		}
		_, timeline, err := e.incidents.Get(context.Background(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(timeline) != 2 || timeline[0].Kind != alerts.EntryFired || timeline[1].Kind != alerts.EntryResolved {
			t.Fatalf("timeline %+v", timeline)
		}
		if got := strings.Join(e.news.kinds(), " "); !strings.Contains(got, "timeline:fired incident") ||
			!strings.Contains(got, "timeline:resolved incident") {
			t.Fatalf("announced %s", got)
		}
		// Prometheus sends firing alerts and then the resolved one (rules.Alert.needsSending).
		var firing, resolved int
		for _, n := range e.notified {
			if n.IncidentID != in.ID || n.Severity != alerts.SevCritical || n.Fingerprint != in.Fingerprint {
				t.Fatalf("notification %+v for incident %s", n, in.ID)
			}
			if n.Alert.ResolvedAt.IsZero() {
				firing++
			} else {
				resolved++
			}
		}
		if firing == 0 || resolved != 1 {
			t.Fatalf("%d firing and %d resolved notifications", firing, resolved)
		}
	})
}

// Alerts are written to the store as ALERTS and ALERTS_FOR_STATE, as Prometheus writes them, and a
// recording rule's output is a series like any other.
func TestRuleOutputSeries(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.samples(`load{instance="a"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 5)
	e.samples(`load{instance="b"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 2)
	e.put(`
name: host
interval: 1m
rules:
- record: job:load:max
  expr: max(load)
- alert: HighLoad
  expr: job:load:max > 1
  for: 1m
`)
	for m := range 4 {
		e.at(time.Duration(m) * time.Minute)
	}
	check := func(expr string, want float64) {
		t.Helper()
		res, err := e.metrics.Query(context.Background(), expr, t0.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		v, ok := res.Value.(promql.Vector)
		if !ok || len(v) != 1 || v[0].F != want {
			t.Fatalf("%s = %v, want one sample of %v", expr, res.Value, want)
		}
	}
	check(`job:load:max`, 5)
	check(`ALERTS{alertname="HighLoad", alertstate="firing"}`, 1)
	// Active since the first evaluation: the recording rule before it in the group wrote its input.
	check(`ALERTS_FOR_STATE{alertname="HighLoad"}`, float64(t0.Unix()))
}

// After a restart, a pending alert's `for` timer continues from the ALERTS_FOR_STATE series
// (Prometheus's RestoreForState), so it fires when it would have without the restart, and an
// incident that fired before the restart is continued rather than opened again.
func TestRestartKeepsForState(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st)
	e.start(alerts.Options{ForGracePeriod: time.Minute})
	e.samples(`load{instance="a"}`, t0.Add(-time.Minute), t0.Add(40*time.Minute), 5)
	e.samples(`up{instance="b"}`, t0.Add(-time.Minute), t0.Add(40*time.Minute), 0)
	e.put(`
name: host
interval: 1m
rules:
- alert: HighLoad
  expr: load > 1
  for: 15m
- alert: Down
  expr: up == 0
`)
	for m := 0; m <= 12; m++ {
		e.at(time.Duration(m) * time.Minute)
	}
	if got := e.ruleState("host", "HighLoad"); got != "pending" {
		t.Fatalf("before the restart: %s", got)
	}
	before := e.list("firing")
	if len(before) != 1 || before[0].Rule != "Down" {
		t.Fatalf("firing before the restart: %+v", before)
	}
	// Restart at +20m: 12 minutes of the 15 were pending before it, so the alert fires 3
	// minutes after its state is restored (at the second evaluation, +21m), at +24m.
	if err := e.metrics.Close(); err != nil {
		t.Fatal(err)
	}
	e.openMetrics()
	e.start(alerts.Options{ForGracePeriod: time.Minute})
	for m := 20; m <= 23; m++ {
		e.at(time.Duration(m) * time.Minute)
		if got := e.ruleState("host", "HighLoad"); got != "pending" {
			t.Fatalf("+%dm after the restart: %s", m, got)
		}
	}
	e.at(24 * time.Minute)
	if got := e.ruleState("host", "HighLoad"); got != "firing" {
		t.Fatalf("+24m: %s, want firing (its for state restored)", got)
	}
	after := e.list("firing")
	if len(after) != 2 {
		t.Fatalf("firing after the restart: %+v", after)
	}
	for _, in := range after {
		if in.Rule == "Down" && in.ID != before[0].ID {
			t.Fatalf("the Down incident was opened again: %s, before %s", in.ID, before[0].ID)
		}
	}
}

// A rule can be taken, commented on, acknowledged and closed; each is on the timeline and
// announced; bad comments are refused.
func TestHandlingTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.samples(`up{instance="b"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 0)
		e.put("name: g\nrules:\n- alert: Down\n  expr: up == 0\n  severity: 1\n")
		e.at(0)
		list := e.list("open")
		if len(list) != 1 || list[0].Severity != alerts.SevError || list[0].Labels["severity"] != "error" {
			t.Fatalf("open incidents %+v", list)
		}
		ctx, id := context.Background(), list[0].ID
		ada, bob := alerts.Person{Login: "ada", Name: "Ada"}, alerts.Person{Login: "bob", Name: "Bob"}
		if in, err := e.incidents.Take(ctx, id, ada); err != nil || in.TakenBy == nil || in.TakenBy.Login != "ada" {
			t.Fatalf("take: %+v %v", in, err)
		}
		if _, err := e.incidents.Take(ctx, id, bob); err != nil {
			t.Fatal(err)
		}
		if _, err := e.incidents.Comment(ctx, id, ada, "looking at the disk"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "   ", strings.Repeat("x", alerts.MaxCommentLength+1), "\xff"} {
			if _, err := e.incidents.Comment(ctx, id, ada, bad); err == nil {
				t.Fatalf("comment %q accepted", bad)
			}
		}
		if _, err := e.incidents.Acknowledge(ctx, id, bob); err != nil {
			t.Fatal(err)
		}
		in, err := e.incidents.Close(ctx, id, bob, "disk replaced")
		if err != nil {
			t.Fatal(err)
		}
		if in.ClosedBy == nil || in.ClosedBy.Login != "bob" || in.Comments != 1 || in.AcknowledgedAt == nil {
			t.Fatalf("closed incident %+v", in)
		}
		_, timeline, err := e.incidents.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, en := range timeline {
			kinds = append(kinds, en.Kind)
		}
		if got := strings.Join(kinds, " "); got != "fired taken taken comment acknowledged closed" {
			t.Fatalf("timeline %s", got)
		}
		if timeline[2].Text != "from Ada" {
			t.Fatalf("second take says %q", timeline[2].Text)
		}
		// Closed by a person while still firing: no longer open, still firing.
		if n := len(e.list("open")); n != 1 {
			t.Fatalf("%d open incidents after closing a firing one", n)
		}
		if _, err := e.incidents.Take(ctx, "inc_nope", ada); err == nil {
			t.Fatal("took an incident that does not exist")
		}
		if _, err := e.incidents.List(ctx, alerts.Filter{State: "open", Text: `%' OR 1=1 --`}); err != nil {
			t.Fatal(err)
		}
	})
}

// Rule groups are checked as promtool checks rule files, with every problem named.
func TestGroupValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: g\nrules:\n- alert: A\n  expr: 'up =='\n", "rule 1 (A)"},
		{"name: g\nrules:\n- alert: A\n  expr: up\n  annotations: {s: '{{ $value'}\n", "template"},
		{"name: g\nrules:\n- record: r\n  alert: A\n  expr: up\n", "only one of 'record' and 'alert' must be set"},
		{"name: g\nrules:\n- alert: A\n  expr: up\n  severity: 7\n", "severity must be 0"},
		{"name: g\nrules:\n- record: r\n  expr: up\n  severity: 1\n", "severity, noDataState and errorState are for alerting rules only"},
		{"name: g\nrules:\n- alert: A\n  expr: up\n  no_data_state: maybe\n", "noDataState and errorState are ok or alerting"},
		{"name: g\ninterval: 100ms\nrules:\n- alert: A\n  expr: up\n", "interval must be at least"},
		{"name: 'bad name!'\nrules:\n- alert: A\n  expr: up\n", "name must be"},
		{"name: g\nrules: []\n", "at least one rule"},
	} {
		g, err := alerts.DecodeGroup([]byte(tc.yaml), true)
		if err == nil {
			err = g.Normalize()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := alerts.DecodeGroup([]byte("name: g\nunknown: 1\nrules: []\n"), true); err == nil {
		t.Error("an unknown field was accepted")
	}
	if _, err := alerts.DecodeGroup([]byte(`{"name":"g","rules":[],"bogus":1}`), false); err == nil {
		t.Error("an unknown JSON field was accepted")
	}
}

// The rule files of Prometheus's own documentation load unchanged; read from the Prometheus
// module's docs (docs/configuration/alerting_rules.md and recording_rules.md), not copied.
func TestPrometheusDocumentationRuleFiles(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("find the prometheus module: %v", err)
	}
	docs := filepath.Join(strings.TrimSpace(string(out)), "docs", "configuration")
	block := regexp.MustCompile("(?s)```yaml\n(groups:\n.*?)```")
	dir := t.TempDir()
	n := 0
	for _, doc := range []string{"alerting_rules.md", "recording_rules.md"} {
		text, err := os.ReadFile(filepath.Join(docs, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(text), -1) {
			if !strings.Contains(m[1], "name:") {
				continue // the syntax outline, not a file
			}
			n++
			file := filepath.Join(dir, doc+"-"+string(rune('a'+n))+".yml")
			if err := os.WriteFile(file, []byte(m[1]), 0o600); err != nil {
				t.Fatal(err)
			}
			groups, err := alerts.CheckFile(file)
			if err != nil {
				t.Fatalf("%s example %d:\n%s\n%v", doc, n, m[1], err)
			}
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Alert != "" && r.Labels["severity"] == "page" && r.Level() != alerts.SevCritical {
						t.Errorf("severity: page read as %d", r.Level())
					}
					if r.Severity != nil || (r.Alert != "" && r.Labels["severity"] == "" && len(r.Labels) > 0) {
						t.Errorf("rule %s changed from its file: severity %v, labels %v", r.Name(), r.Severity, r.Labels)
					}
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("found %d example rule files in Prometheus's docs, expected at least 3", n)
	}
}

// A broken rule file is refused with its name and the line of the problem, as promtool says it.
func TestRuleFileErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'up =='\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := alerts.LoadFiles([]string{filepath.Join(dir, "*.yml")})
	if err == nil || !strings.Contains(err.Error(), bad+": 5:11:") {
		t.Fatalf("error %v, want one naming %s and line 5", err, bad)
	}
	dup := filepath.Join(dir, "dup.yaml")
	good := "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
	for _, f := range []string{dup, filepath.Join(dir, "dup2.yaml")} {
		if err := os.WriteFile(f, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alerts.LoadFiles([]string{filepath.Join(dir, "*.yaml")}); err == nil || !strings.Contains(err.Error(), "also defined in") {
		t.Fatalf("duplicate group names: %v", err)
	}
}

// With noDataState or errorState alerting, a rule whose selectors find nothing, or whose
// evaluation fails, opens an incident of its own, resolved when data comes back or the
// evaluation succeeds again.
func TestNoDataAndErrorStates(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.samples(`pair_a{i="1"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 1)
	e.samples(`pair_a{i="2"}`, t0.Add(-time.Minute), t0.Add(time.Minute), 1)
	e.samples(`pair_b{i="1"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 1)
	e.samples(`pair_b{i="2"}`, t0.Add(-time.Minute), t0.Add(time.Minute), 1)
	e.samples(`late{i="1"}`, t0.Add(3*time.Minute), t0.Add(5*time.Minute), 0)
	e.put(`
name: states
rules:
- alert: Late
  expr: late > 1
  no_data_state: alerting
- alert: Clash
  expr: pair_a + on() pair_b > 5
  error_state: alerting
- alert: Quiet
  expr: nothing_here > 1
`)
	e.at(0)
	byState := map[string]string{}
	for _, in := range e.list("firing") {
		byState[in.Labels["huddle_state"]] = in.Rule
	}
	// Matching on() fails while two series are on each side; Quiet has no states set.
	if len(byState) != 2 || byState["nodata"] != "Late" || byState["error"] != "Clash" {
		t.Fatalf("firing at +0: %v", byState)
	}
	// At +7m late has samples, and the i="2" series, last written at +1m, are beyond the
	// 5-minute lookback: one series a side.
	e.at(7 * time.Minute)
	if firing := e.list("firing"); len(firing) != 0 {
		t.Fatalf("still firing once data came and the evaluation succeeds: %+v", firing)
	}
	if n := len(e.list("resolved")); n != 2 {
		t.Fatalf("%d resolved incidents, want 2", n)
	}
}

// Incidents that ended before the retention go, with their timelines; firing ones stay.
func TestPruneIncidents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.samples(`up{instance="a"}`, t0.Add(-time.Minute), t0.Add(time.Minute), 0)
		e.samples(`up{instance="b"}`, t0.Add(-time.Minute), t0.Add(20*time.Minute), 0)
		e.put("name: g\nrules:\n- alert: Down\n  expr: up == 0\n")
		e.at(0)
		e.at(10 * time.Minute) // a's samples are past the lookback: its incident resolves
		resolved, firing := e.list("resolved"), e.list("firing")
		if len(resolved) != 1 || len(firing) != 1 {
			t.Fatalf("resolved %d, firing %d", len(resolved), len(firing))
		}
		ctx := context.Background()
		if n, err := e.incidents.Prune(ctx, t0.Add(10*time.Minute)); err != nil || n != 0 {
			t.Fatalf("pruned %d (%v) of those resolved at the bound", n, err)
		}
		if n, err := e.incidents.Prune(ctx, t0.Add(11*time.Minute)); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want 1", n, err)
		}
		if _, _, err := e.incidents.Get(ctx, resolved[0].ID); err == nil {
			t.Fatal("a pruned incident is still there")
		}
		var events int
		if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT COUNT(*) FROM alert_incident_events WHERE incident_id = ?`),
			resolved[0].ID).Scan(&events); err != nil || events != 0 {
			t.Fatalf("%d timeline entries left (%v)", events, err)
		}
		if got := e.list("firing"); len(got) != 1 || got[0].ID != firing[0].ID {
			t.Fatalf("firing after pruning: %+v", got)
		}
	})
}

// A group replaced or deleted while it is being evaluated is neither copied nor dropped under the
// evaluation's feet (run with -race; a concurrent map access also panics without it).
func TestReplaceWhileEvaluating(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.samples(`up{instance="a"}`, t0.Add(-time.Minute), t0.Add(10*time.Minute), 0)
	rule := "name: g\nrules:\n- alert: Down\n  expr: up == 0\n  for: %dm\n"
	e.put(fmt.Sprintf(rule, 1))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			e.engine.EvaluateAll(context.Background(), t0.Add(time.Duration(i)*time.Second))
		}
	}()
	for i := range 20 {
		g, err := alerts.DecodeGroup([]byte(fmt.Sprintf(rule, 1+i%2)), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.engine.Put(context.Background(), g, "ada"); err != nil && !strings.Contains(err.Error(), "changed meanwhile") {
			t.Fatal(err)
		}
	}
	<-done
	if err := e.engine.Delete(context.Background(), "g"); err != nil {
		t.Fatal(err)
	}
}

// marked records the annotations an engine asks for.
type marked struct {
	mu    sync.Mutex
	texts []string
}

func (m *marked) AnnotateMetrics(_ context.Context, metrics []string, at time.Time, text string, tags []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.texts = append(m.texts, fmt.Sprintf("%v %s %s %v", metrics, at.Sub(t0), text, tags))
}

func (m *marked) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.texts
	m.texts = nil
	return out
}

// A rule that fires for several instances in one evaluation marks the dashboards once, naming
// how many and each distinct summary; so does its resolution.
func TestOneAnnotationPerRuleAndEvaluation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		var marks marked
		e.start(alerts.Options{Annotator: &marks})
		for _, host := range []string{"a", "b", "c"} {
			e.samples(`load{instance="`+host+`"}`, t0.Add(-time.Minute), t0.Add(90*time.Second), 5)
		}
		e.samples(`load{instance="d"}`, t0.Add(-time.Minute), t0.Add(90*time.Second), 0)
		e.put(`
name: host
interval: 1m
rules:
- alert: HighLoad
  expr: load > 1
  annotations:
    summary: "{{ $labels.instance }} is loaded"
- alert: AnyLoad
  expr: load >= 0
  annotations:
    summary: "load is watched"
`)
		e.at(0)
		want := []string{
			"[load] 0s AnyLoad firing for 4 instances: load is watched [alert AnyLoad firing]",
			"[load] 0s HighLoad firing for 3 instances: a is loaded; b is loaded; c is loaded [alert HighLoad firing]",
		}
		if got := marks.take(); !slices.Equal(got, want) {
			t.Fatalf("firing: annotated\n%q\nwant\n%q", got, want)
		}
		e.at(time.Minute) // still firing: nothing new to mark
		if got := marks.take(); len(got) != 0 {
			t.Fatalf("still firing: annotated %q", got)
		}
		e.at(10 * time.Minute) // no samples within the lookback: everything resolves
		want = []string{
			"[load] 10m0s AnyLoad resolved for 4 instances [alert AnyLoad resolved]",
			"[load] 10m0s HighLoad resolved for 3 instances [alert HighLoad resolved]",
		}
		if got := marks.take(); !slices.Equal(got, want) {
			t.Fatalf("resolved: annotated\n%q\nwant\n%q", got, want)
		}
	})
}
