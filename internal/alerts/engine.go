package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Querier answers the rules' instant queries: the metrics source, embedded or remote.
type Querier interface {
	Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error)
}

// Gate tells whether this node evaluates rules now. Alone a node always does; in a cluster the
// holder of a lease does, so that every rule is evaluated once and every alert notified once.
type Gate interface {
	Evaluating(ctx context.Context) bool
}

// Alone is the Gate of a single node.
type Alone struct{}

// Evaluating is always true: nobody else evaluates.
func (Alone) Evaluating(context.Context) bool { return true }

// Notification is an alert to deliver: firing (resent while it fires, every ResendDelay) or
// resolved (sent while the rule remembers it, 15 minutes), as Prometheus sends to Alertmanager.
type Notification struct {
	IncidentID string
	// Fingerprint is the alert's, as [Fingerprint] computes it from its labels.
	Fingerprint string
	Group       string
	Severity    int
	Alert       rules.Alert
}

// Annotator writes an annotation, tagged tags, at at, on every dashboard whose queries use one of
// the metrics.
type Annotator interface {
	AnnotateMetrics(ctx context.Context, metrics []string, at time.Time, text string, tags []string)
}

// Options configure an [Engine].
type Options struct {
	Querier Querier
	// Storage receives recording rules' samples and the ALERTS and ALERTS_FOR_STATE series, and
	// is read back to restore `for` state after a restart; nil when the metrics source is remote,
	// which then keeps no rule output (recording rules are refused).
	Storage interface {
		storage.Appendable
		storage.Queryable
	}
	Incidents *Incidents
	// Annotator, when set, marks each incident's firing and resolution on the dashboards that
	// chart its rule's metrics.
	Annotator Annotator
	// Notify gets each evaluation's alerts to deliver; it must not block.
	Notify func(ctx context.Context, n []Notification)
	Gate   Gate
	// ExternalURL is this server as people reach it: alert templates' $externalURL.
	ExternalURL string
	Registerer  prometheus.Registerer
	Logger      *slog.Logger
	Now         func() time.Time
	// IncidentRetention is how long an incident is kept after it ended, resolved by its rule
	// (default 90 days).
	IncidentRetention time.Duration
	// OutageTolerance, ForGracePeriod and ResendDelay are Prometheus's flags of the same names,
	// with its defaults (1h, 10m, 1m).
	OutageTolerance, ForGracePeriod, ResendDelay time.Duration
}

// Engine evaluates rule groups with Prometheus's own rule evaluation: each group at its
// interval, on slots aligned as Prometheus aligns them, one evaluation of a group at a time (a
// slow group skips slots and counts them as missed, and never delays another group).
type Engine struct {
	opts    Options
	manager *rules.ManagerOptions
	store   *RuleStore

	mu     sync.Mutex
	groups map[string]*group
	// firing maps each firing alert instance to its incident.
	firing map[instanceKey]string
	// restoring is true until the first groups are loaded: those restore their `for` state
	// from storage, as Prometheus does at start; groups added later start afresh.
	restoring bool

	wg sync.WaitGroup
}

// group is a rule group and its evaluation state.
type group struct {
	spec   GroupSpec
	source string // "file", "provisioned" or "api"
	file   string
	prom   *rules.Group
	// evaluating is held through each evaluation, and by whoever replaces or removes the group,
	// so that the rule library's state is never copied or dropped while an evaluation writes it.
	evaluating sync.Mutex
	evals      int
	restore    bool
	lastSlot   time.Time
	running    atomic.Bool
	// metrics are the metric names each alerting rule's expression selects, by rule name.
	metrics map[string][]string
	// severity is each alerting rule's level, by its severity label and name.
	severity map[string]int
}

type collectorKey struct{}

// collected gathers what the rule library hands to NotifyFunc during one group's evaluation.
type collected struct {
	mu     sync.Mutex
	alerts []*rules.Alert
}

// NewEngine returns an engine with no groups; Load gives it its groups.
func NewEngine(opts Options, st *RuleStore) *Engine {
	opts.Gate = cmp.Or[Gate](opts.Gate, Alone{})
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.OutageTolerance = cmp.Or(opts.OutageTolerance, time.Hour)
	opts.ForGracePeriod = cmp.Or(opts.ForGracePeriod, 10*time.Minute)
	opts.ResendDelay = cmp.Or(opts.ResendDelay, time.Minute)
	opts.IncidentRetention = cmp.Or(opts.IncidentRetention, 90*24*time.Hour)
	e := &Engine{opts: opts, store: st, groups: map[string]*group{}, firing: map[instanceKey]string{}, restoring: true}
	external, _ := url.Parse(opts.ExternalURL)
	e.manager = &rules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		ExternalURL:          external,
		QueryFunc:            e.query,
		NotifyFunc: func(ctx context.Context, _ string, alerts ...*rules.Alert) {
			if c, ok := ctx.Value(collectorKey{}).(*collected); ok {
				c.mu.Lock()
				c.alerts = append(c.alerts, alerts...)
				c.mu.Unlock()
			}
		},
		Context:         context.Background(),
		Logger:          opts.Logger,
		OutageTolerance: opts.OutageTolerance,
		ForGracePeriod:  opts.ForGracePeriod,
		ResendDelay:     opts.ResendDelay,
		Metrics:         rules.NewGroupMetrics(opts.Registerer),
	}
	if opts.Storage != nil {
		e.manager.Appendable = opts.Storage
		e.manager.Queryable = opts.Storage
	} else {
		e.manager.Appendable = discard{}
	}
	return e
}

// query runs one rule's instant query on the source, as Prometheus's EngineQueryFunc does on its
// engine: a scalar result becomes a one-sample vector, anything else is an error.
func (e *Engine) query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	res, err := e.opts.Querier.Query(ctx, expr, ts)
	if err != nil {
		return nil, err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	}
	return nil, errors.New("rule result is not a vector or scalar")
}

// Load builds every group: those of the rule files, then those in SQL (a stored group with the
// name of a file's group is refused at start, since names identify groups). It also reads which
// incidents are firing, so that evaluation continues them.
func (e *Engine) Load(ctx context.Context, files []FileGroup) error {
	stored, err := e.store.List(ctx)
	if err != nil {
		return err
	}
	firing, err := e.opts.Incidents.firing(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.firing = firing
	for _, f := range files {
		if err := e.install(f.Group, "file", f.File); err != nil {
			return fmt.Errorf("rule file %s: %w", f.File, err)
		}
	}
	for _, s := range stored {
		if g, dup := e.groups[s.Spec.Name]; dup {
			return fmt.Errorf("rule group %q is in %s and in the database: rename one", s.Spec.Name, g.file)
		}
		if err := e.install(s.Spec, s.Source, ""); err != nil {
			return fmt.Errorf("stored rule group %q: %w", s.Spec.Name, err)
		}
	}
	e.restoring = false
	return nil
}

// install builds spec's rules and puts the group in place of any group of that name, keeping
// the state of the rules both have (active alerts and their `for` timers), as Prometheus does
// when it reloads rule files. The caller holds e.mu.
func (e *Engine) install(spec GroupSpec, source, file string) error {
	if err := spec.Normalize(); err != nil {
		return err
	}
	restored := !e.restoring || e.opts.Storage == nil
	rs := make([]rules.Rule, 0, len(spec.Rules))
	for i, r := range spec.Rules {
		expr, err := parser.ParseExpr(r.Expr)
		if err != nil {
			return fmt.Errorf("rule %d (%s): %w", i+1, r.Name(), err)
		}
		lbls := rules.FromMaps(spec.Labels, r.Labels)
		if r.Record != "" {
			if e.opts.Storage == nil {
				return fmt.Errorf("rule %d (%s): recording rules need the embedded metrics store; the remote source keeps rule output", i+1, r.Name())
			}
			rs = append(rs, rules.NewRecordingRule(r.Record, expr, lbls))
			continue
		}
		rs = append(rs, rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
			lbls, labels.FromMap(r.Annotations), labels.EmptyLabels(), e.opts.ExternalURL, restored,
			e.opts.Logger.With("alert", r.Alert)))
	}
	var offset *time.Duration
	if spec.QueryOffset != 0 {
		d := time.Duration(spec.QueryOffset)
		offset = &d
	}
	g := &group{spec: spec, source: source, file: file, restore: !restored, metrics: map[string][]string{},
		severity: severities(spec)}
	for _, r := range rs {
		if ar, ok := r.(*rules.AlertingRule); ok {
			g.metrics[ar.Name()] = append(g.metrics[ar.Name()], selectedMetrics(ar.Query())...)
		}
	}
	g.prom = rules.NewGroup(rules.GroupOptions{Name: spec.Name, File: file, Interval: time.Duration(spec.Interval),
		Limit: spec.Limit, Rules: rs, ShouldRestore: !restored, Opts: e.manager, QueryOffset: offset})
	if old, ok := e.groups[spec.Name]; ok {
		g.prom.CopyState(old.prom)
		g.evals, g.lastSlot = old.evals, old.lastSlot
	}
	e.groups[spec.Name] = g
	return nil
}

// Put creates or replaces a stored group and puts it to work at once.
func (e *Engine) Put(ctx context.Context, spec GroupSpec, by string) error {
	if err := spec.Normalize(); err != nil {
		return err
	}
	unlock, err := e.lockGroup(spec.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if g, ok := e.groups[spec.Name]; ok && g.source == "file" {
		return errFileGroup(spec.Name, g.file)
	}
	source := "api"
	if g, ok := e.groups[spec.Name]; ok {
		source = g.source
	}
	// Built first, so that a group the engine refuses is not stored either.
	old, had := e.groups[spec.Name]
	if err := e.install(spec, source, ""); err != nil {
		return err
	}
	if err := e.store.Put(ctx, spec, source, by, e.opts.Now()); err != nil {
		if had {
			e.groups[spec.Name] = old
		} else {
			delete(e.groups, spec.Name)
		}
		return err
	}
	return nil
}

// Delete removes a stored group; its firing incidents resolve at the next evaluation of nothing,
// that is at once.
func (e *Engine) Delete(ctx context.Context, name string) error {
	unlock, err := e.lockGroup(name)
	if err != nil {
		return err
	}
	g, ok := e.groups[name]
	if !ok {
		unlock()
		return ErrNoGroup
	}
	if g.source == "file" {
		unlock()
		return errFileGroup(name, g.file)
	}
	if err := e.store.Delete(ctx, name); err != nil {
		unlock()
		return err
	}
	delete(e.groups, name)
	e.forgetMetrics(rules.GroupKey(g.file, name))
	var gone []string
	for k, id := range e.firing {
		if k.group == name {
			gone = append(gone, id)
			delete(e.firing, k)
		}
	}
	unlock()
	now := e.opts.Now()
	for _, id := range gone {
		if err := e.opts.Incidents.resolve(ctx, id, now); err != nil {
			e.opts.Logger.Warn("could not resolve an incident of a deleted rule group", "incident", id, "err", err)
		}
	}
	return nil
}

// forgetMetrics drops a removed group's series from /metrics, as Prometheus's rule manager does.
func (e *Engine) forgetMetrics(key string) {
	m := e.manager.Metrics
	for _, vec := range []interface{ DeleteLabelValues(...string) bool }{m.IterationsMissed, m.IterationsScheduled,
		m.EvalTotal, m.EvalFailures, m.GroupInterval, m.GroupLastEvalTime, m.GroupLastDuration,
		m.GroupLastRuleDurationSum, m.GroupLastRestoreDuration, m.GroupRules, m.GroupSamples} {
		vec.DeleteLabelValues(key)
	}
}

// lockGroup waits for an evaluation of the group name under way, if any, then holds both it and
// e.mu until the returned unlock: the order evaluations take them in, so neither waits on the
// other. It refuses when the group changed meanwhile, which a caller's retry resolves.
func (e *Engine) lockGroup(name string) (unlock func(), err error) {
	e.mu.Lock()
	g := e.groups[name]
	e.mu.Unlock()
	if g == nil {
		e.mu.Lock()
		return e.mu.Unlock, nil
	}
	g.evaluating.Lock()
	e.mu.Lock()
	if e.groups[name] != g {
		e.mu.Unlock()
		g.evaluating.Unlock()
		return nil, httpapi.Conflict("rule group %q changed meanwhile: try again", name)
	}
	return func() { e.mu.Unlock(); g.evaluating.Unlock() }, nil
}

// Run evaluates each group at its interval until ctx ends, then waits for evaluations under way.
func (e *Engine) Run(ctx context.Context) error {
	tick := time.NewTicker(minInterval)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	defer e.wg.Wait()
	e.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			e.dispatch(ctx, e.opts.Now())
		case <-prune.C:
			e.prune(ctx)
		}
	}
}

// prune forgets incidents that ended longer than IncidentRetention ago, their timelines with them.
func (e *Engine) prune(ctx context.Context) {
	if !e.opts.Gate.Evaluating(ctx) {
		return
	}
	n, err := e.opts.Incidents.Prune(ctx, e.opts.Now().Add(-e.opts.IncidentRetention))
	switch {
	case err != nil && ctx.Err() == nil:
		e.opts.Logger.Warn("could not prune old incidents", "err", err)
	case n > 0:
		e.opts.Logger.Info("old incidents pruned", "incidents", n)
	}
}

// dispatch starts the evaluation of every group whose slot has come and that is not still
// evaluating its last one.
func (e *Engine) dispatch(ctx context.Context, now time.Time) {
	if !e.opts.Gate.Evaluating(ctx) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.groups {
		slot := g.prom.EvalTimestamp(now.UnixNano())
		if g.lastSlot.IsZero() {
			// The first slot after start, as Prometheus waits for it.
			g.lastSlot = slot
			continue
		}
		if !slot.After(g.lastSlot) || !g.running.CompareAndSwap(false, true) {
			continue
		}
		if missed := int(slot.Sub(g.lastSlot)/g.prom.Interval()) - 1; missed > 0 {
			e.manager.Metrics.IterationsMissed.WithLabelValues(rules.GroupKey(g.file, g.spec.Name)).Add(float64(missed))
		}
		g.lastSlot = slot
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer g.running.Store(false)
			e.evaluate(ctx, g, slot)
		}()
	}
}

// EvaluateAll evaluates every group at ts and returns when all are done: what a test or a
// one-off check does instead of waiting for the groups' slots.
func (e *Engine) EvaluateAll(ctx context.Context, ts time.Time) {
	e.mu.Lock()
	groups := slices.Collect(maps.Values(e.groups))
	e.mu.Unlock()
	for _, g := range groups {
		e.evaluate(ctx, g, ts)
	}
}

// evaluate runs one evaluation of g at ts, then brings incidents up to date and hands the
// alerts to deliver to Notify.
func (e *Engine) evaluate(ctx context.Context, g *group, ts time.Time) {
	g.evaluating.Lock()
	defer g.evaluating.Unlock()
	e.mu.Lock()
	current := e.groups[g.spec.Name] == g
	e.mu.Unlock()
	if !current {
		return // replaced or removed while this evaluation waited
	}
	c := &collected{}
	rules.DefaultEvalIterationFunc(context.WithValue(ctx, collectorKey{}, c), g.prom, ts)
	g.evals++
	// Prometheus restores `for` state after the second evaluation, once recording rules that
	// alerts depend on have written fresh values.
	if g.restore && g.evals >= 2 {
		g.prom.RestoreForState(ts)
		g.restore = false
	}
	resolved := e.track(ctx, g, ts)
	if e.opts.Notify != nil && len(c.alerts) > 0 {
		e.opts.Notify(ctx, e.notifications(g, c.alerts, resolved))
	}
}

// track opens an incident for every instance that fires and has none, and resolves those whose
// instance no longer fires (or whose rule is gone from the group), which it returns.
func (e *Engine) track(ctx context.Context, g *group, ts time.Time) map[instanceKey]string {
	severity := g.severity
	type firing struct {
		rule  string
		alert rules.Alert
	}
	var active []firing
	for _, ar := range g.prom.AlertingRules() {
		ar.ForEachActiveAlert(func(a *rules.Alert) {
			if a.State == rules.StateFiring {
				active = append(active, firing{ar.Name(), *a})
			}
		})
	}
	seen := map[instanceKey]bool{}
	var opened []firingInstance
	add := func(rule string, a rules.Alert) {
		k := instanceKey{group: g.spec.Name, rule: rule, fingerprint: Fingerprint(a.Labels)}
		seen[k] = true
		opened = append(opened, firingInstance{key: k, alert: a, severity: severity[a.Labels.Get("severity")+"\xff"+rule]})
	}
	for _, f := range active {
		add(f.rule, f.alert)
	}
	for _, st := range e.stateAlerts(ctx, g, ts) {
		add(st.Labels.Get(labels.AlertName), st)
	}
	e.mu.Lock()
	resolved := map[instanceKey]string{}
	for k, id := range e.firing {
		if k.group == g.spec.Name && !seen[k] {
			resolved[k] = id
			delete(e.firing, k)
		}
	}
	opened = slices.DeleteFunc(opened, func(f firingInstance) bool { _, known := e.firing[f.key]; return known })
	e.mu.Unlock()
	var marks marks
	for k, id := range resolved {
		if err := e.opts.Incidents.resolve(ctx, id, ts); err != nil {
			e.opts.Logger.Warn("could not resolve an incident", "incident", id, "err", err)
			continue
		}
		marks.add(k.rule, StateResolved, ts, "")
	}
	for _, f := range opened {
		id, err := e.opts.Incidents.open(ctx, f)
		if err != nil {
			e.opts.Logger.Warn("could not open an incident", "rule", f.key.rule, "err", err)
			continue
		}
		e.mu.Lock()
		e.firing[f.key] = id
		e.mu.Unlock()
		marks.add(f.key.rule, StateFiring, f.alert.FiredAt, f.alert.Annotations.Get("summary"))
	}
	slices.SortFunc(marks, func(a, b *mark) int { return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.state, b.state)) })
	for _, m := range marks {
		e.annotate(ctx, g, m.rule, m.at, m.text(), m.state)
	}
	if len(opened) > 0 || len(resolved) > 0 {
		e.opts.Incidents.AnnounceRules(ctx)
	}
	return resolved
}

// stateAlerts are the alerts of g's rules that fire on their own state rather than their
// expression's: a failed evaluation (errorState alerting) or selectors that find no series
// (noDataState alerting, asked of the source as absent(selector)).
func (e *Engine) stateAlerts(ctx context.Context, g *group, ts time.Time) []rules.Alert {
	var out []rules.Alert
	prom := g.prom.Rules()
	for i, spec := range g.spec.Rules {
		if spec.Alert == "" || (spec.ErrorState != StateAlerting && spec.NoDataState != StateAlerting) {
			continue
		}
		ar := prom[i].(*rules.AlertingRule)
		state, text := "", ""
		switch err := ar.LastError(); {
		case err != nil && spec.ErrorState == StateAlerting:
			state, text = "error", "evaluation failed: "+err.Error()
		case err == nil && spec.NoDataState == StateAlerting:
			if missing := e.absent(ctx, ar.Query(), ts); missing != "" {
				state, text = "nodata", "no series for "+missing
			}
		}
		if state == "" {
			continue
		}
		b := labels.NewBuilder(ar.Labels())
		b.Set(labels.AlertName, spec.Alert)
		b.Set("huddle_state", state)
		out = append(out, rules.Alert{State: rules.StateFiring, Labels: b.Labels(), ActiveAt: ts, FiredAt: ts,
			Annotations: labels.FromStrings("summary", spec.Alert+": "+text), Value: math.NaN()})
	}
	return out
}

// absent is the first selector of expr that finds no series at ts, or "".
func (e *Engine) absent(ctx context.Context, expr parser.Expr, ts time.Time) string {
	var missing string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || missing != "" {
			return nil
		}
		v, err := e.query(ctx, "absent("+vs.String()+")", ts)
		if err == nil && len(v) > 0 {
			missing = vs.String()
		}
		return nil
	})
	return missing
}

// annotate marks a rule's incident on the dashboards that chart its metrics, tagged "alert",
// the rule's name and the state.
func (e *Engine) annotate(ctx context.Context, g *group, rule string, at time.Time, text, state string) {
	if e.opts.Annotator != nil && len(g.metrics[rule]) > 0 {
		e.opts.Annotator.AnnotateMetrics(ctx, g.metrics[rule], at, text, []string{"alert", rule, state})
	}
}

// mark is what one evaluation says on dashboards about one rule in one state: all its instances
// that fired (or resolved) in it become one annotation, so that a rule firing for a hundred hosts
// marks each dashboard once, and the dashboards are looked up once, not once per host.
type mark struct {
	rule, state string
	at          time.Time // the earliest instance's
	instances   int
	summaries   []string // distinct
}

// marks are an evaluation's marks, in the order their rules were first met.
type marks []*mark

func (ms *marks) add(rule, state string, at time.Time, summary string) {
	i := slices.IndexFunc(*ms, func(m *mark) bool { return m.rule == rule && m.state == state })
	if i < 0 {
		*ms = append(*ms, &mark{rule: rule, state: state, at: at})
		i = len(*ms) - 1
	}
	m := (*ms)[i]
	m.instances++
	if at.Before(m.at) {
		m.at = at
	}
	if summary != "" && !slices.Contains(m.summaries, summary) {
		m.summaries = append(m.summaries, summary)
	}
}

// text is "<rule> firing: <summary>" for one instance, and "<rule> firing for <n> instances:
// <summary>; <summary>…" for several, the summaries sorted (Prometheus keeps a rule's active alerts in
// a map, so the order they are met in means nothing).
func (m *mark) text() string {
	slices.Sort(m.summaries)
	text := m.rule + " " + m.state
	if m.instances > 1 {
		text += fmt.Sprintf(" for %d instances", m.instances)
	}
	if len(m.summaries) > 0 {
		text += ": " + strings.Join(m.summaries, "; ")
	}
	return text
}

// selectedMetrics are the metric names expr's selectors name.
func selectedMetrics(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && vs.Name != "" && !slices.Contains(names, vs.Name) {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// severities maps each alerting rule of spec, by its severity label and name, to its severity.
func severities(spec GroupSpec) map[string]int {
	out := map[string]int{}
	for _, r := range spec.Rules {
		if r.Alert != "" {
			out[r.Labels["severity"]+"\xff"+r.Alert] = r.Level()
		}
	}
	return out
}

// notifications pairs the alerts to deliver with their incidents: firing ones, or those this
// evaluation resolved. An alert resolved earlier, resent while the rule remembers it, has none.
func (e *Engine) notifications(g *group, alerts []*rules.Alert, resolved map[instanceKey]string) []Notification {
	severity := g.severity
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Notification, 0, len(alerts))
	for _, a := range alerts {
		name := a.Labels.Get(labels.AlertName)
		k := instanceKey{group: g.spec.Name, rule: name, fingerprint: Fingerprint(a.Labels)}
		id, ok := e.firing[k]
		if !ok {
			id = resolved[k]
		}
		out = append(out, Notification{IncidentID: id, Fingerprint: k.fingerprint, Group: g.spec.Name,
			Severity: severity[a.Labels.Get("severity")+"\xff"+name], Alert: *a})
	}
	return out
}

// Fingerprint identifies an alert instance by its labels as Alertmanager does, so both name it
// alike.
func Fingerprint(l labels.Labels) string {
	return model.LabelSet(modelLabels(l)).Fingerprint().String()
}

func modelLabels(l labels.Labels) model.LabelSet {
	out := make(model.LabelSet, l.Len())
	l.Range(func(lbl labels.Label) { out[model.LabelName(lbl.Name)] = model.LabelValue(lbl.Value) })
	return out
}

// FormatValue writes a sample value as Prometheus's alerts API does.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'e', -1, 64) }

// RuleGroups are the groups in name order, for the Prometheus-shaped rules API.
func (e *Engine) RuleGroups() []*rules.Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := sortedKeys(e.groups)
	out := make([]*rules.Group, len(names))
	for i, n := range names {
		out[i] = e.groups[n].prom
	}
	return out
}

// AlertingRules are every group's alerting rules, for the Prometheus-shaped alerts API.
func (e *Engine) AlertingRules() []*rules.AlertingRule {
	var out []*rules.AlertingRule
	for _, g := range e.RuleGroups() {
		out = append(out, g.AlertingRules()...)
	}
	return out
}

// discard is the rule output's destination when the metrics source is remote: huddle does not
// write to another server, so alerts are evaluated there and their series are not kept.
type discard struct{}

func (discard) Appender(context.Context) storage.Appender { return discardAppender{} }

type discardAppender struct{ storage.Appender }

func (discardAppender) SetOptions(*storage.AppendOptions) {}
func (discardAppender) Append(storage.SeriesRef, labels.Labels, int64, float64) (storage.SeriesRef, error) {
	return 0, nil
}
func (discardAppender) AppendHistogram(storage.SeriesRef, labels.Labels, int64, *histogram.Histogram, *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return 0, nil
}
func (discardAppender) Commit() error   { return nil }
func (discardAppender) Rollback() error { return nil }

func sortedKeys(groups map[string]*group) []string { return slices.Sorted(maps.Keys(groups)) }
