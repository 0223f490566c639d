package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// maxPoints bounds the points of one series in a range: a range is queried at a step coarse
// enough for it.
const maxPoints = 720

// Step is the step of a range query over span on a dashboard refreshing every refresh: the
// refresh interval (at least a second), or coarser, in whole seconds, so that a series has at
// most 720 points. $__interval is this step.
func Step(span, refresh time.Duration) time.Duration {
	wanted := (span + maxPoints - 1) / maxPoints
	wanted = (wanted + time.Second - 1).Truncate(time.Second)
	return max(refresh, time.Second, wanted)
}

// Expansion is a dashboard's queries for one time range with its variables resolved: what
// history loads and live pushes evaluate.
type Expansion struct {
	// Version is the version of the dashboard expanded.
	Version int64 `json:"version"`
	// Start and End are the range to query in unix ms: Start is the first multiple of Step in
	// the range, so that every range query and live push lands on the same instants.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Step is the range queries' step in ms, the value of $__interval.
	Step int64 `json:"step"`
	// Key identifies the step and the expanded queries: live pushes carry the key of the
	// expansion they evaluate, so a viewer adds them only to a history of the same queries.
	Key       string          `json:"key"`
	Variables []VariableState `json:"variables"`
	Panels    []PanelQueries  `json:"panels"`
}

// VariableState is a variable resolved for one time range.
type VariableState struct {
	Name string `json:"name"`
	// Options are the values to choose from, the All option aside.
	Options []string `json:"options"`
	// Current is the selection in effect: [$__all], values among the options, or empty when
	// there is nothing to choose.
	Current []string `json:"current"`
	// Error says why a query variable has no options.
	Error string `json:"error,omitempty"`
}

// PanelQueries are one panel's targets, their expressions expanded.
type PanelQueries struct {
	ID      int64    `json:"id"`
	Targets []Target `json:"targets"`
}

// Expand resolves d's variables and expands its queries for the range from–to. ownFrom and
// ownTo are the dashboard's own time range, over which variables that are not refreshed on
// time range changes find their options. A query variable whose options cannot be found keeps
// its saved selection and says why in its Error; the queries are expanded all the same.
func (d *Dashboard) Expand(ctx context.Context, src Series, from, to, ownFrom, ownTo time.Time) Expansion {
	step := Step(to.Sub(from), d.RefreshInterval())
	sc := builtins(step, to.Sub(from))
	states := d.resolveVariables(ctx, src, sc, [2]time.Time{from, to}, [2]time.Time{ownFrom, ownTo})
	stepMs := step.Milliseconds()
	x := Expansion{
		Version:   d.Version,
		Start:     (from.UnixMilli() + stepMs - 1) / stepMs * stepMs,
		End:       to.UnixMilli(),
		Step:      stepMs,
		Variables: states,
		Panels:    make([]PanelQueries, len(d.Panels)),
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", stepMs)
	for i, p := range d.Panels {
		pq := PanelQueries{ID: p.ID, Targets: make([]Target, len(p.Targets))}
		for j, t := range p.Targets {
			t.Expr = sc.expand(t.Expr)
			pq.Targets[j] = t
			fmt.Fprintf(h, "%d %s %q\n", p.ID, t.RefID, t.Expr)
		}
		x.Panels[i] = pq
	}
	x.Key = hex.EncodeToString(h.Sum(nil)[:12])
	return x
}

// resolveVariables resolves every variable into sc, each after those it refers to (Grafana
// orders them by their dependencies too), and returns their states in the dashboard's order.
// Variables that refer to each other are resolved in the dashboard's order, each with the
// references to those not yet resolved left as written.
func (d *Dashboard) resolveVariables(ctx context.Context, src Series, sc scope, viewed, own [2]time.Time) []VariableState {
	names := make(map[string]bool, len(d.Variables))
	for _, v := range d.Variables {
		names[v.Name] = true
	}
	states := make([]VariableState, len(d.Variables))
	done := make([]bool, len(d.Variables))
	ready := func(v Variable) bool {
		for _, n := range slices.Concat(refNames(v.Query), refNames(v.Regex), refNames(v.AllValue)) {
			if _, resolved := sc[n]; names[n] && n != v.Name && !resolved {
				return false
			}
		}
		return true
	}
	for range d.Variables {
		next := -1
		for i, v := range d.Variables {
			if !done[i] && ready(v) {
				next = i
				break
			}
		}
		if next < 0 {
			next = slices.Index(done, false)
		}
		v := d.Variables[next]
		window := own
		if v.Refresh == 2 {
			window = viewed
		}
		var b binding
		states[next], b = v.resolve(ctx, src, sc, window)
		sc[v.Name] = b
		done[next] = true
	}
	return states
}

// resolve finds v's options, its selection among them, and what it stands for in queries.
func (v Variable) resolve(ctx context.Context, src Series, sc scope, window [2]time.Time) (VariableState, binding) {
	st := VariableState{Name: v.Name, Options: []string{}}
	var err error
	switch v.Type {
	case "constant":
		st.Options = []string{v.Query}
	case "custom", "interval":
		st.Options = listOptions(v.Query)
	case "query":
		st.Options, err = v.queryOptions(ctx, src, sc, window)
	}
	if err != nil {
		st.Error = err.Error()
		st.Options, st.Current = []string{}, slices.Clone(v.Current)
	} else {
		st.Current = v.selection(st.Options)
	}
	if st.Current == nil {
		st.Current = []string{}
	}
	b := binding{values: st.Current, regex: v.Multi || v.IncludeAll}
	if len(st.Current) == 1 && st.Current[0] == AllValue {
		if v.AllValue != "" {
			// Grafana substitutes a custom All value as written, its variables expanded
			// (TemplateSrv.replace in public/app/features/templating/template_srv.ts).
			return st, binding{raw: sc.expand(v.AllValue), isRaw: true}
		}
		b.values = st.Options
	}
	return st, b
}

func (v Variable) queryOptions(ctx context.Context, src Series, sc scope, window [2]time.Time) ([]string, error) {
	found, err := findOptions(ctx, src, sc.expand(v.Query), window[0], window[1])
	if err != nil {
		return nil, err
	}
	filter, err := optionRegex(sc.expand(v.Regex))
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	if filter != nil {
		found = filter.apply(found)
	}
	var options []string
	for _, o := range found {
		if !slices.Contains(options, o) {
			options = append(options, o)
		}
	}
	sortOptions(options, v.Sort)
	if options == nil {
		options = []string{} // JSON's [], not null
	}
	return options, nil
}

// selection is v's selection among options as Grafana validates it
// (validateVariableSelectionState in grafana/grafana public/app/features/variables/state/actions.ts):
// the saved values that are options, All alone when it is one of them, one value unless the
// variable is multi-value, and the first option (All when there is one) when none is left. No
// options at all is Grafana's None: an empty selection.
func (v Variable) selection(options []string) []string {
	all := options
	if v.IncludeAll {
		all = append([]string{AllValue}, options...)
	}
	var kept []string
	for _, c := range v.Current {
		if slices.Contains(all, c) && !slices.Contains(kept, c) {
			kept = append(kept, c)
		}
	}
	switch {
	case len(all) == 0:
		return []string{}
	case len(kept) == 0:
		return all[:1]
	case slices.Contains(kept, AllValue):
		return []string{AllValue}
	case !v.Multi:
		return kept[:1]
	}
	return kept
}

// Resolve is the range tr stands for at now, in UTC: relative times count from now and round
// (now/d) down for from and up for to, as Grafana's dateMath does.
func (tr TimeRange) Resolve(now time.Time) (from, to time.Time, err error) {
	if from, err = resolveTime(tr.From, now, false); err != nil {
		return from, to, invalid("time.from", "%v", err)
	}
	if to, err = resolveTime(tr.To, now, true); err != nil {
		return from, to, invalid("time.to", "%v", err)
	}
	return from, to, nil
}

func resolveTime(s string, now time.Time, roundUp bool) (time.Time, error) {
	p, err := parseTime(s)
	if err != nil {
		return time.Time{}, err
	}
	if p.absolute {
		return time.UnixMilli(p.ms), nil
	}
	t := now.UTC()
	rest := s[len("now"):]
	for rest != "" && rest[0] != '/' {
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		i := 1
		for rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, _ := strconv.Atoi(rest[1:i]) // at most 6 digits, as relativeTime checked
		t = addUnit(t, sign*n, rest[i])
		rest = rest[i+1:]
	}
	if rest != "" {
		t = startOf(t, rest[1])
		if roundUp {
			t = addUnit(t, 1, rest[1]).Add(-time.Millisecond)
		}
	}
	return t, nil
}

func addUnit(t time.Time, n int, unit byte) time.Time {
	switch unit {
	case 's':
		return t.Add(time.Duration(n) * time.Second)
	case 'm':
		return t.Add(time.Duration(n) * time.Minute)
	case 'h':
		return t.Add(time.Duration(n) * time.Hour)
	case 'd':
		return t.AddDate(0, 0, n)
	case 'w':
		return t.AddDate(0, 0, 7*n)
	case 'M':
		return t.AddDate(0, n, 0)
	}
	return t.AddDate(n, 0, 0)
}

// startOf rounds t down to its second, minute, hour, day, week (from Sunday), month or year.
func startOf(t time.Time, unit byte) time.Time {
	y, m, d := t.Date()
	switch unit {
	case 's':
		return t.Truncate(time.Second)
	case 'm':
		return t.Truncate(time.Minute)
	case 'h':
		return t.Truncate(time.Hour)
	case 'd':
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case 'w':
		return time.Date(y, m, d-int(t.Weekday()), 0, 0, 0, 0, time.UTC)
	case 'M':
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
}
