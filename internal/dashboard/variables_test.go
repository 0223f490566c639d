package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// fakeSeries answers label values from a fixed set of series and records the windows asked.
type fakeSeries struct {
	series []labels.Labels
	mu     sync.Mutex
	asked  []string // "label start end"
}

func newFakeSeries(sets ...string) *fakeSeries {
	f := &fakeSeries{}
	for _, s := range sets {
		m, err := parser.ParseMetric(s)
		if err != nil {
			panic(err)
		}
		f.series = append(f.series, m)
	}
	return f
}

func (f *fakeSeries) matching(selectors []string) ([]labels.Labels, error) {
	if len(selectors) == 0 {
		return f.series, nil
	}
	ms, err := parser.ParseMetricSelector(selectors[0])
	if err != nil {
		return nil, err
	}
	var out []labels.Labels
	for _, s := range f.series {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(s.Get(m.Name)) }) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeSeries) LabelValues(_ context.Context, name string, selectors []string, start, end time.Time) ([]string, error) {
	f.mu.Lock()
	f.asked = append(f.asked, fmt.Sprintf("%s %d %d", name, start.Unix(), end.Unix()))
	f.mu.Unlock()
	series, err := f.matching(selectors)
	var out []string
	for _, s := range series {
		if v := s.Get(name); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, err
}

func (f *fakeSeries) LabelNames(context.Context, []string, time.Time, time.Time) ([]string, error) {
	return []string{"__name__", "instance", "job"}, nil
}

func (f *fakeSeries) Query(_ context.Context, expr string, ts time.Time) (*promql.Result, error) {
	return &promql.Result{Value: promql.Vector{{Metric: labels.FromStrings("__name__", "up", "job", "a"), F: 1, T: ts.UnixMilli()}}}, nil
}

var (
	t0  = time.Unix(1_800_000_000, 0)
	day = 24 * time.Hour
)

// expand expands one expression of a dashboard made of vars, over the day before t0.
func expand(t *testing.T, src Series, expr string, vars ...Variable) (string, []VariableState) {
	t.Helper()
	d := Dashboard{Refresh: "10s", Variables: vars, Panels: []Panel{{ID: 1, Targets: []Target{{RefID: "A", Expr: expr}}}}}
	x := d.Expand(context.Background(), src, t0.Add(-day), t0, t0.Add(-day), t0)
	return x.Panels[0].Targets[0].Expr, x.Variables
}

// The text a variable stands for, written as Grafana's Prometheus datasource writes it
// (grafana/grafana public/app/plugins/datasource/prometheus/datasource.ts, interpolateQueryExpr,
// prometheusRegularEscape and prometheusSpecialRegexEscape; custom All values in
// public/app/features/templating/template_srv.ts).
func TestExpandFormatsAsGrafana(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Variable
		expr string
		want string
	}{
		{"single value", Variable{Name: "v", Type: "custom", Query: "web-1,b", Current: []string{"web-1"}},
			`up{instance="$v"}`, `up{instance="web-1"}`},
		{"single value, escaped for a PromQL string", Variable{Name: "v", Type: "constant", Query: `C:\x'y`},
			`up{path="${v}"}`, `up{path="C:\\x\\'y"}`},
		{"multi-value", Variable{Name: "v", Type: "custom", Query: "eth0, lo.1, x", Multi: true, Current: []string{"eth0", "lo.1"}},
			`x{device=~"$v"}`, `x{device=~"(eth0|lo\\.1)"}`},
		{"multi-value, one chosen", Variable{Name: "v", Type: "custom", Query: "a+b,c", Multi: true, Current: []string{"a+b"}},
			`x{l=~"$v"}`, `x{l=~"a\\+b"}`},
		{"include all, a single value is a regex", Variable{Name: "v", Type: "custom", Query: "a.b,c", IncludeAll: true, Current: []string{"a.b"}},
			`x{l=~"$v"}`, `x{l=~"a\\.b"}`},
		{"all: every option", Variable{Name: "v", Type: "custom", Query: "a,b,c", IncludeAll: true, Current: []string{AllValue}},
			`x{l=~"$v"}`, `x{l=~"(a|b|c)"}`},
		{"all with a custom value, as written", Variable{Name: "v", Type: "custom", Query: "a,b", IncludeAll: true, AllValue: ".+", Current: []string{AllValue}},
			`x{l=~"$v"}`, `x{l=~".+"}`},
		{"current {} with include all is All", Variable{Name: "v", Type: "custom", Query: "a,b", IncludeAll: true, AllValue: ".*"},
			`x{l=~"[[v]]"}`, `x{l=~".*"}`},
		{"current {} is the first option", Variable{Name: "v", Type: "custom", Query: "prod, dev"},
			`x{env="$v"}`, `x{env="prod"}`},
		{"a saved value no longer offered is the first option", Variable{Name: "v", Type: "custom", Query: "a,b", Current: []string{"gone"}},
			`x{l="$v"}`, `x{l="a"}`},
		{"named formats", Variable{Name: "v", Type: "custom", Query: "a.b,c", Multi: true, Current: []string{"a.b", "c"}},
			`${v:pipe} ${v:csv} ${v:regex} ${v:raw}`, `a.b|c a.b,c (a\.b|c) a.b,c`},
		{"unknown names stay", Variable{Name: "v", Type: "constant", Query: "x"},
			`x{a="$unknown"} $`, `x{a="$unknown"} $`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := expand(t, nil, tc.expr, tc.v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// A multi-value selection reads back, through Prometheus's own PromQL parser, as a regular
// expression that matches exactly the values chosen, whatever characters they hold.
func TestMultiValueMatchesTheValuesChosen(t *testing.T) {
	values := []string{`a.b`, `c|d`, `e\f`, `(g)`, `h*`, `$i^`, `[j]`, `{k}`, `l?`, `m'n`}
	v := Variable{Name: "v", Type: "custom", Query: strings.Join(values, ","), Multi: true, Current: values}
	got, _ := expand(t, nil, `x{l=~"$v"}`, v)
	e, err := parser.ParseExpr(got)
	if err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	m := e.(*parser.VectorSelector).LabelMatchers[0]
	for _, s := range values {
		if !m.Matches(s) {
			t.Errorf("%s does not match %q", got, s)
		}
	}
	for _, s := range []string{"axb", "c", "d", "ef", "g", "hh", "j", "k", "l", "mn"} {
		if m.Matches(s) {
			t.Errorf("%s matches %q", got, s)
		}
	}
}

// $__interval is the step of the range (24 h / 720 = 2 m), and $__rate_interval Grafana's
// max($__interval + scrape interval, 4 × scrape interval).
func TestBuiltins(t *testing.T) {
	got, _ := expand(t, nil, `rate(x[$__rate_interval]) $__interval $__interval_ms $__range $__range_s`)
	if want := `rate(x[130s]) 2m 120000 86400s 86400`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, tc := range []struct {
		span, refresh, want time.Duration
	}{
		{time.Hour, 10 * time.Second, 10 * time.Second},
		{day, 10 * time.Second, 2 * time.Minute},
		{6 * time.Hour, 0, 30 * time.Second},
		{time.Minute, 0, time.Second},
		{7*day + time.Second, time.Minute, 841 * time.Second},
	} {
		if got := Step(tc.span, tc.refresh); got != tc.want {
			t.Errorf("Step(%v, %v) = %v, want %v", tc.span, tc.refresh, got, tc.want)
		}
	}
}

// A query variable using another is resolved after it, whatever their order, and follows it:
// another job offers other nodes, and a node of the old job gives way to the first of the new.
func TestChainedQueryVariables(t *testing.T) {
	src := newFakeSeries(`node_uname_info{job="a",nodename="a-1"}`, `node_uname_info{job="a",nodename="a-2"}`,
		`node_uname_info{job="b",nodename="b-1"}`)
	node := Variable{Name: "node", Type: "query", Query: `label_values(node_uname_info{job="$job"}, nodename)`, Current: []string{"a-2"}}
	job := Variable{Name: "job", Type: "query", Query: `label_values(node_uname_info, job)`}
	expr := `up{job="$job",nodename="$node"}`
	got, states := expand(t, src, expr, node, job)
	if want := `up{job="a",nodename="a-2"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if fmt.Sprint(states[0]) != "{node [a-1 a-2] [a-2] }" || fmt.Sprint(states[1]) != "{job [a b] [a] }" {
		t.Errorf("states %v", states)
	}
	job.Current = []string{"b"}
	if got, _ := expand(t, src, expr, node, job); got != `up{job="b",nodename="b-1"}` {
		t.Errorf("after choosing job b: %s", got)
	}
}

func TestQueryVariableRegexAndSort(t *testing.T) {
	src := newFakeSeries(`x{i="node10:9100"}`, `x{i="node9:9100"}`, `x{i="node2:9100"}`, `x{i="Node1:9100"}`, `x{i="db:5432"}`)
	for _, tc := range []struct {
		regex string
		sort  int
		want  string
	}{
		{"", 0, "[Node1:9100 db:5432 node10:9100 node2:9100 node9:9100]"},
		{`/node(\d+)/`, 3, "[2 9 10]"},
		{`/node(\d+)/`, 4, "[10 9 2]"},
		{`/(?<value>[^:]+):9100/i`, 7, "[Node1 node2 node9 node10]"},
		{`/(?<value>[^:]+):9100/i`, 8, "[node10 node9 node2 Node1]"},
		{`/^[nN]ode/`, 5, "[node10:9100 Node1:9100 node2:9100 node9:9100]"},
		{`/^[nN]ode/`, 1, "[Node1:9100 node10:9100 node2:9100 node9:9100]"},
		{`/^[nN]ode/`, 2, "[node9:9100 node2:9100 node10:9100 Node1:9100]"},
		{`node.*`, 0, "[node10:9100 node2:9100 node9:9100]"}, // a bare pattern matches whole values
		{`ode`, 0, "[]"},
	} {
		v := Variable{Name: "v", Type: "query", Query: "label_values(x, i)", Regex: tc.regex, Sort: tc.sort}
		if _, st := expand(t, src, "$v", v); fmt.Sprint(st[0].Options) != tc.want {
			t.Errorf("regex %s sort %d: %v, want %s", tc.regex, tc.sort, st[0].Options, tc.want)
		}
	}
}

func TestQueryForms(t *testing.T) {
	src := newFakeSeries(`up{job="a"}`, `node_load1{job="b"}`, `node_load5{job="b"}`)
	for _, tc := range []struct{ query, want string }{
		{"label_values(job)", "[a b]"},
		{`label_values(node_load1{job=~"a|b"}, job)`, "[b]"},
		{"label_names()", "[__name__ instance job]"},
		{"metrics(node_load.*)", "[node_load1 node_load5]"},
		{"query_result(up)", `[up{job="a"} 1 1800000000000]`},
	} {
		_, st := expand(t, src, "$v", Variable{Name: "v", Type: "query", Query: tc.query})
		if fmt.Sprint(st[0].Options) != tc.want || st[0].Error != "" {
			t.Errorf("%s: %v %q, want %s", tc.query, st[0].Options, st[0].Error, tc.want)
		}
	}
	// Without a metrics source, or with a query of no known form, a variable keeps its saved
	// selection and says why it has no options.
	v := Variable{Name: "v", Type: "query", Query: "label_values(job)", Current: []string{"x"}}
	if got, st := expand(t, nil, `up{job="$v"}`, v); got != `up{job="x"}` || st[0].Error == "" || st[0].Options == nil {
		t.Errorf("no source: %s %v", got, st)
	}
	v.Query = "up"
	if _, st := expand(t, src, "$v", v); !strings.HasPrefix(st[0].Error, "use label_values") {
		t.Errorf("unknown form: %v", st)
	}
	// No options found is an empty list, never null, for the browser to iterate.
	v.Query = "label_values(nothing)"
	if _, st := expand(t, src, "$v", v); st[0].Options == nil || st[0].Current == nil {
		t.Errorf("nothing found: %#v", st[0])
	}
}

// Refresh 2 ("on time range change") finds options over the range viewed; 0 and 1 over the
// dashboard's own range.
func TestRefreshChoosesTheWindow(t *testing.T) {
	src := newFakeSeries(`up{job="a"}`)
	d := Dashboard{Variables: []Variable{
		{Name: "onload", Type: "query", Query: "label_values(job)", Refresh: 1},
		{Name: "ontime", Type: "query", Query: "label_values(instance)", Refresh: 2},
	}}
	viewedFrom, viewedTo := t0.Add(-7*day), t0.Add(-6*day)
	d.Expand(context.Background(), src, viewedFrom, viewedTo, t0.Add(-time.Hour), t0)
	want := []string{
		fmt.Sprintf("job %d %d", t0.Add(-time.Hour).Unix(), t0.Unix()),
		fmt.Sprintf("instance %d %d", viewedFrom.Unix(), viewedTo.Unix()),
	}
	if !slices.Equal(src.asked, want) {
		t.Errorf("asked %v, want %v", src.asked, want)
	}
}

// The key names the step and the expanded queries: the same for the same expansion, another
// for another step or another selection.
func TestExpansionKey(t *testing.T) {
	d := Dashboard{Refresh: "10s", Variables: []Variable{{Name: "v", Type: "custom", Query: "a,b"}},
		Panels: []Panel{{ID: 1, Targets: []Target{{RefID: "A", Expr: `rate(x{l="$v"}[$__rate_interval])`}}}}}
	key := func(span time.Duration) string {
		return d.Expand(context.Background(), nil, t0.Add(-span), t0, t0.Add(-span), t0).Key
	}
	k := key(time.Hour)
	if k != key(time.Hour) || k == key(day) {
		t.Errorf("keys: %s %s %s", k, key(time.Hour), key(day))
	}
	d.Variables[0].Current = []string{"b"}
	if k == key(time.Hour) {
		t.Error("another selection, the same key")
	}
	x := d.Expand(context.Background(), nil, t0.Add(-time.Hour+time.Millisecond), t0, t0, t0)
	if x.Start != t0.Add(-time.Hour+10*time.Second).UnixMilli() || x.End != t0.UnixMilli() || x.Step != 10_000 {
		t.Errorf("range %d %d %d", x.Start, x.End, x.Step)
	}
}

func TestTimeRangeResolve(t *testing.T) {
	now := time.Date(2027, 3, 10, 15, 4, 5, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		from, to, want string
	}{
		{"now-6h", "now", "2027-03-10T09:04:05Z 2027-03-10T15:04:05Z"},
		{"now/d", "now/d", "2027-03-10T00:00:00Z 2027-03-10T23:59:59.999Z"},
		{"now-1d/d", "now-1d/d", "2027-03-09T00:00:00Z 2027-03-09T23:59:59.999Z"},
		{"now-7d+1h", "now/w", "2027-03-03T16:04:05Z 2027-03-13T23:59:59.999Z"},
		{"now-1M/M", "now-1y", "2027-02-01T00:00:00Z 2026-03-10T15:04:05Z"},
		{"1800000000000", "2027-03-10T00:00:00Z", "2027-01-15T08:00:00Z 2027-03-10T00:00:00Z"},
	} {
		from, to, err := TimeRange{From: tc.from, To: tc.to}.Resolve(now)
		if got := from.UTC().Format(time.RFC3339Nano) + " " + to.UTC().Format(time.RFC3339Nano); err != nil || got != tc.want {
			t.Errorf("%s to %s: %s %v, want %s", tc.from, tc.to, got, err, tc.want)
		}
	}
	if r := (&Dashboard{Refresh: "30s"}).RefreshInterval(); r != 30*time.Second {
		t.Errorf("RefreshInterval = %v", r)
	}
	if r := (&Dashboard{}).RefreshInterval(); r != 0 {
		t.Errorf("no refresh: %v", r)
	}
}
