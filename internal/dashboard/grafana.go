package dashboard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// ConvertGrafana converts a Grafana dashboard JSON, bare or in the {"dashboard": …} shape of
// Grafana's exports and API, into a normalized Dashboard, and lists what it did not convert, one
// line each, naming the panel, query or variable (empty, not nil, when everything converted).
//
// Converted: uid (a new one when Grafana's is not valid here), title, tags, time, refresh;
// timeseries, stat, gauge, bargauge and table panels, graph and singlestat as the timeseries and stat that
// replaced them, with their gridPos, Prometheus queries (expr, refId, legendFormat, instant),
// unit, decimals, min, max and thresholds; panels of rows, placed without the rows; variables of
// type query, custom, constant and interval, with their current values (current: {} is the
// first option), multi-value, includeAll and allValue, hide, refresh, and the regex and sort of
// query variables.
//
// Listed: other panel and variable types, queries of other datasources and hidden ones, rows,
// annotation queries, links, transformations, field overrides, alert rules, repeats, time
// overrides, and every value the model refuses (it is left out, and the rest of its panel kept).
// Display options without an equivalent here (legend, tooltip, series colors) are dropped
// without a line: they change how a panel looks, not what it shows.
//
// Only JSON that is not a dashboard is an error (a 400 naming the request's dashboard field):
// fields of unexpected types in one panel, query or variable skip that part only.
func ConvertGrafana(raw []byte) (Dashboard, []string, error) {
	var g grafanaDashboard
	if err := decodeGrafana(unwrapGrafana(raw), &g); err != nil {
		return Dashboard{}, nil, invalid("dashboard", "not a Grafana dashboard: %v", err)
	}
	c := &converter{skipped: []string{}, ids: map[int64]bool{}}
	d := c.dashboard(g)
	// Every part was checked as it was converted; this is the guarantee that what is returned
	// can be stored, whatever the input.
	if err := d.normalize(); err != nil {
		return Dashboard{}, nil, err
	}
	if c.more > 0 {
		c.skipped = append(c.skipped, fmt.Sprintf("… and %d more", c.more))
	}
	return d, c.skipped, nil
}

// looksLikeGrafana tells a Grafana dashboard from huddle's model by what only Grafana writes:
// schemaVersion (every save since Grafana 4), templating, or the "dashboard" its exports and API
// answers hold the model in.
func looksLikeGrafana(raw []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return false
	}
	for _, name := range []string{"schemaVersion", "templating", "dashboard"} {
		if _, ok := fields[name]; ok {
			return true
		}
	}
	return false
}

// unwrapGrafana returns the dashboard of {"dashboard": {…}, "meta": …}, or raw itself.
func unwrapGrafana(raw []byte) []byte {
	var w struct {
		Dashboard json.RawMessage `json:"dashboard"`
	}
	if json.Unmarshal(raw, &w) == nil && bytes.HasPrefix(w.Dashboard, []byte("{")) {
		return w.Dashboard
	}
	return raw
}

// The types below declare only the fields of Grafana's JSON that convert or are listed as not
// converted; the hundreds of others are ignored. Fields whose JSON type differs between Grafana
// versions are kept raw and read by the functions that need them. Panels, queries and variables
// are kept raw too, and decoded one by one, so that one of an unexpected shape is skipped alone.

type grafanaDashboard struct {
	UID     string            `json:"uid"`
	Title   string            `json:"title"`
	Tags    []string          `json:"tags"`
	Time    TimeRange         `json:"time"`
	Refresh json.RawMessage   `json:"refresh"` // "1m", or "" or false for none
	Panels  []json.RawMessage `json:"panels"`
	// Rows is the layout before Grafana 5 (rows of panels sized in spans), which Grafana itself
	// migrates when it opens a dashboard.
	Rows       []json.RawMessage `json:"rows"`
	Templating struct {
		List []json.RawMessage `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			// BuiltIn marks Grafana's own annotations and alerts, which huddle's annotations
			// replace; the others are queries of a datasource.
			BuiltIn any `json:"builtIn"`
		} `json:"list"`
	} `json:"annotations"`
	Links []json.RawMessage `json:"links"`
}

type grafanaPanel struct {
	ID          int64             `json:"id"`
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	GridPos     GridPos           `json:"gridPos"`
	Datasource  json.RawMessage   `json:"datasource"`
	Targets     []json.RawMessage `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string   `json:"unit"`
			Decimals   *float64 `json:"decimals"`
			Min        *float64 `json:"min"`
			Max        *float64 `json:"max"`
			Thresholds struct {
				Mode  string        `json:"mode"`
				Steps []grafanaStep `json:"steps"`
			} `json:"thresholds"`
			// The time series panel's own options (GraphFieldConfig and its parts in grafana/grafana,
			// packages/grafana-schema/src/common/common.gen.ts).
			Custom struct {
				LineWidth   *float64 `json:"lineWidth"`
				AxisSoftMin *float64 `json:"axisSoftMin"`
				AxisSoftMax *float64 `json:"axisSoftMax"`
				DrawStyle   string   `json:"drawStyle"`
				FillOpacity float64  `json:"fillOpacity"`
				Stacking    struct {
					Mode string `json:"mode"`
				} `json:"stacking"`
			} `json:"custom"`
		} `json:"defaults"`
		Overrides []json.RawMessage `json:"overrides"`
	} `json:"fieldConfig"`
	Transformations []json.RawMessage `json:"transformations"`
	Links           []json.RawMessage `json:"links"`
	Alert           json.RawMessage   `json:"alert"`
	Repeat          string            `json:"repeat"`
	TimeFrom        string            `json:"timeFrom"`
	TimeShift       string            `json:"timeShift"`
	LibraryPanel    json.RawMessage   `json:"libraryPanel"`
	// Panels are a row's, while it is collapsed.
	Panels []json.RawMessage `json:"panels"`

	// A graph panel's line width, and how else it drew its series. Its fill is 1 when left out
	// (panelDefaults in grafana/grafana, public/app/plugins/panel/graph/module.ts).
	LineWidth *float64 `json:"linewidth"`
	Fill      *float64 `json:"fill"`
	Stack     bool     `json:"stack"`
	Bars      bool     `json:"bars"`
	// Where graph panels kept their unit, decimals, min and max: the first (left) axis.
	YAxes []struct {
		Format   string          `json:"format"`
		Decimals *float64        `json:"decimals"`
		Min      json.RawMessage `json:"min"` // a number, or a number in a string
		Max      json.RawMessage `json:"max"`
	} `json:"yaxes"`
	// Where singlestat panels kept them: thresholds is "50,80", colors the base color and one
	// per threshold.
	Format     string          `json:"format"`
	Decimals   *float64        `json:"decimals"`
	Thresholds json.RawMessage `json:"thresholds"`
	Colors     []string        `json:"colors"`
}

type grafanaStep struct {
	Value *float64 `json:"value"`
	Color string   `json:"color"`
}

type grafanaTarget struct {
	RefID        string          `json:"refId"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
	Instant      bool            `json:"instant"`
	Range        bool            `json:"range"`
	Hide         bool            `json:"hide"`
	Datasource   json.RawMessage `json:"datasource"`
}

type grafanaVariable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Query      json.RawMessage `json:"query"` // a string, or since Grafana 10 {"query": "…", …}
	Datasource json.RawMessage `json:"datasource"`
	Current    struct {
		Value json.RawMessage `json:"value"` // a string, or a list for multi-value variables
	} `json:"current"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
	Regex      string `json:"regex"`
	// Sort, Hide and Refresh are numbers, but for refresh some versions wrote booleans.
	Sort    json.RawMessage `json:"sort"`
	Hide    json.RawMessage `json:"hide"`
	Refresh json.RawMessage `json:"refresh"`
	Auto    bool            `json:"auto"` // interval variables' auto option
}

// decodeGrafana decodes one part of a Grafana dashboard, with an error that names the field of
// an unexpected type (as Grafana names it) but not Go's types.
func decodeGrafana(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Errorf("%s: unexpected JSON %s", httpapi.Truncate(typeErr.Field, 64), typeErr.Value)
	case errors.As(err, &typeErr), err == nil && bytes.Equal(bytes.TrimSpace(raw), []byte("null")):
		return errors.New("not a JSON object")
	case err != nil:
		return errors.New("malformed JSON")
	}
	return nil
}

// maxSkipped bounds the list of what was not converted: a 4 MiB body of empty panels would
// otherwise be answered with a million lines.
const maxSkipped = 200

// defaultGrafanaTitle names a dashboard whose title cannot be kept: the model requires one.
const defaultGrafanaTitle = "Imported from Grafana"

// converter converts one dashboard and keeps the list of what it did not.
type converter struct {
	skipped []string
	more    int // lines beyond maxSkipped
	// ids are the panel ids kept, so that a duplicate is given a new one.
	ids map[int64]bool
}

func (c *converter) skip(format string, args ...any) {
	if len(c.skipped) == maxSkipped {
		c.more++
		return
	}
	c.skipped = append(c.skipped, fmt.Sprintf(format, args...))
}

func (c *converter) dashboard(g grafanaDashboard) Dashboard {
	d := Dashboard{UID: g.UID, Title: strings.TrimSpace(g.Title), Time: g.Time}
	if !collab.ValidUID(d.UID) {
		if d.UID != "" {
			c.skip("uid %q: not a uid here (%s); a new one is given", httpapi.Truncate(d.UID, 64), collab.UIDRule)
		}
		d.UID = NewUID()
	}
	if err := checkText("title", d.Title, 1, maxTitleLen); err != nil {
		c.skip("%v; the dashboard is named %q", err, defaultGrafanaTitle)
		d.Title = defaultGrafanaTitle
	}
	d.Tags = c.tags(g.Tags)
	if d.Time != (TimeRange{}) {
		if err := d.Time.check(); err != nil {
			c.skip("%v; the dashboard opens on the last 6 hours", err)
			d.Time = TimeRange{} // normalize's default
		}
	}
	d.Refresh = c.refresh(g.Refresh)
	if len(g.Rows) > 0 {
		c.skip("rows: the layout of Grafana before 5.0 is not imported; open and save the dashboard in a recent Grafana, then import it again")
	}
	for _, a := range g.Annotations.List {
		if a.BuiltIn != 1.0 && a.BuiltIn != true {
			c.skip("annotation %q: Grafana annotation queries are not imported", httpapi.Truncate(a.Name, 64))
		}
	}
	if len(g.Links) > 0 {
		c.skip("links: dashboard links are not imported (%d)", len(g.Links))
	}
	d.Variables = c.variables(g.Templating.List)
	d.Panels = c.panels(g.Panels)
	return d
}

// refresh reads Grafana's refresh: a duration, or "" or false for none.
func (c *converter) refresh(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return ""
	}
	if r, err := parseDuration(s); err != nil || r < MinRefresh {
		c.skip("refresh %q: not a duration of at least %v; the dashboard does not refresh by itself", httpapi.Truncate(s, 32), MinRefresh)
		return ""
	}
	return s
}

func (c *converter) tags(tags []string) []string {
	out := []string{}
	for i, t := range tags {
		t = strings.TrimSpace(t)
		switch err := checkTag(fmt.Sprintf("tags[%d]", i), t); {
		case err != nil:
			c.skip("%v; left out", err)
		case slices.Contains(out, t):
		case len(out) == maxTags:
			c.skip("tag %q: more than %d tags; left out", httpapi.Truncate(t, maxTagLen), maxTags)
		default:
			out = append(out, t)
		}
	}
	return out
}

func (c *converter) variables(list []json.RawMessage) []Variable {
	out := []Variable{}
	for i, raw := range list {
		path := fmt.Sprintf("templating.list[%d]", i)
		var g grafanaVariable
		if err := decodeGrafana(raw, &g); err != nil {
			c.skip("%s: %v; not imported", path, err)
			continue
		}
		label := fmt.Sprintf("variable %q", httpapi.Truncate(g.Name, 64))
		if len(out) == maxVariables {
			c.skip("%s: more than %d variables; not imported", label, maxVariables)
			continue
		}
		v, ok := c.variable(path, label, g)
		if !ok {
			continue
		}
		if slices.ContainsFunc(out, func(o Variable) bool { return o.Name == v.Name }) {
			c.skip("%s: the name is used twice; the second is not imported", label)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (c *converter) variable(path, label string, g grafanaVariable) (Variable, bool) {
	if !slices.Contains(variableTypes, g.Type) {
		c.skip("%s (%s): not supported", label, httpapi.Truncate(g.Type, 32))
		return Variable{}, false
	}
	if ds := foreignDatasource(g.Datasource); ds != "" {
		c.skip("%s: datasource %q is not Prometheus", label, ds)
		return Variable{}, false
	}
	v := Variable{Name: g.Name, Label: g.Label, Type: g.Type, Query: variableQuery(g.Query), Multi: g.Multi,
		IncludeAll: g.IncludeAll, AllValue: g.AllValue, Hide: number(g.Hide), Refresh: number(g.Refresh)}
	if g.Type == "query" {
		v.Regex, v.Sort = g.Regex, number(g.Sort)
	}
	for _, value := range stringList(g.Current.Value) {
		// $__auto… stands for the auto option of interval variables, which is not converted;
		// an empty value is Grafana's "nothing chosen yet", as is current: {}.
		if value != "" && (value == AllValue || !strings.HasPrefix(value, "$__")) {
			v.Current = append(v.Current, value)
		}
	}
	if _, err := optionRegex(v.Regex); err != nil {
		c.skip("%s: regex %v; its options are not filtered", label, err)
		v.Regex = ""
	}
	if err := v.check(path); err != nil {
		c.skip("%s: %v; not imported", label, err)
		return Variable{}, false
	}
	if g.Auto && g.Type == "interval" {
		c.skip("%s: the auto option is not supported", label)
	}
	return v, true
}

// variableQuery reads a variable's query: a string, or an object holding it in "query".
func variableQuery(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(raw, &o) // anything else is no query
	return o.Query
}

// number reads one of Grafana's enumerations: a number, true as 1, anything else 0.
func number(raw json.RawMessage) int {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil && b {
		return 1
	}
	return 0
}

// stringList reads a string or a list of strings; anything else is no value.
func stringList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

// foreignDatasource names the datasource raw refers to when it is not Prometheus, and is ""
// for the references taken as Prometheus: none (the default datasource), a name or a variable
// such as ${DS_PROMETHEUS} (which datasource these are is only known in the Grafana they came
// from), {"type": "prometheus"}, and "-- Mixed --", under which every query names its own.
func foreignDatasource(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if name == "-- Grafana --" || name == "-- Dashboard --" {
			return name
		}
		return ""
	}
	var ref struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	switch err := json.Unmarshal(raw, &ref); {
	case err != nil:
		return httpapi.Truncate(string(raw), 32)
	case ref.Type == "" || ref.Type == "prometheus" || ref.Type == "datasource" && ref.UID == "-- Mixed --":
		return ""
	case ref.Type == "datasource": // Grafana's own: "grafana" (test data) or "-- Dashboard --"
		return httpapi.Truncate(ref.UID, 32)
	}
	return httpapi.Truncate(ref.Type, 32)
}

// grafanaPanelTypes maps the panel types that convert to ours: graph and singlestat are the ones
// timeseries and stat replaced in Grafana 7 and 8.
var grafanaPanelTypes = map[string]string{
	"timeseries": PanelTimeSeries, "graph": PanelTimeSeries,
	"stat": PanelStat, "singlestat": PanelStat,
	"gauge": PanelGauge, "bargauge": PanelBarGauge, "table": PanelTable,
}

// placed is a Grafana panel with its path in the JSON, fitted on the grid and moved to its
// place without rows.
type placed struct {
	path  string
	g     grafanaPanel
	given GridPos // as Grafana had it, but for the size of a new panel when it had none
}

func (c *converter) panels(list []json.RawMessage) []Panel {
	out := []Panel{}
	for _, pl := range c.flatten(list) {
		if len(out) == MaxPanels {
			c.skip("%s: more than %d panels; not imported", pl.g.label(), MaxPanels)
			continue
		}
		if p, ok := c.panel(pl); ok {
			out = append(out, p)
		}
	}
	return out
}

// flatten lists the panels of list and of its rows, in Grafana's order, moved up or down as if
// the rows were gone: each row's line is removed, and the panels of a collapsed row are placed
// where it was, pushing those below down as Grafana does when the row is expanded.
func (c *converter) flatten(list []json.RawMessage) []placed {
	var out []placed
	shift := 0 // how far the rows above move the next panel
	for i, raw := range list {
		row, ok := c.decodePanel(fmt.Sprintf("panels[%d]", i), raw)
		if !ok {
			continue
		}
		if row.g.Type != "row" { // a panel, in fact
			row.g.GridPos.Y += shift
			out = append(out, row)
			continue
		}
		c.skip("%s: rows are not supported; its panels are placed without it", row.g.label())
		c.unsupported(row.g.label(), row.g)
		top := row.g.GridPos.Y + shift
		shift--
		var children []placed
		for j, raw := range row.g.Panels {
			child, ok := c.decodePanel(fmt.Sprintf("%s.panels[%d]", row.path, j), raw)
			switch {
			case !ok:
			case child.g.Type == "row":
				c.skip("%s: a row inside a row is not imported", child.g.label())
			default:
				children = append(children, child)
			}
		}
		if len(children) == 0 {
			continue
		}
		first := slices.MinFunc(children, func(a, b placed) int { return cmp.Compare(a.g.GridPos.Y, b.g.GridPos.Y) }).g.GridPos.Y
		height := 0
		for i := range children {
			g := &children[i].g.GridPos
			height = max(height, g.Y-first+g.H)
			g.Y += top - first
		}
		out = append(out, children...)
		shift += height
	}
	return out
}

// decodePanel decodes one panel and fits it on the grid, so that the layout adds small numbers.
func (c *converter) decodePanel(path string, raw json.RawMessage) (placed, bool) {
	var g grafanaPanel
	if err := decodeGrafana(raw, &g); err != nil {
		c.skip("%s: %v; not imported", path, err)
		return placed{}, false
	}
	given := g.GridPos
	if given.W == 0 {
		given.W = GridColumns / 2 // the size Grafana gives a new panel
	}
	if given.H == 0 {
		given.H = 8
	}
	fit := given
	fit.W = min(max(fit.W, 1), GridColumns)
	fit.H = min(max(fit.H, 1), maxPanelHeight)
	fit.X = min(max(fit.X, 0), GridColumns-fit.W)
	fit.Y = min(max(fit.Y, 0), maxGridRows)
	g.GridPos = fit
	return placed{path: path, g: g, given: given}, true
}

func (g grafanaPanel) label() string {
	kind := "panel"
	if g.Type == "row" {
		kind = "row"
	}
	return fmt.Sprintf("%s %d %q", kind, g.ID, httpapi.Truncate(g.Title, 64))
}

func (c *converter) panel(pl placed) (Panel, bool) {
	g, label := pl.g, pl.g.label()
	if !isNull(g.LibraryPanel) {
		c.skip("%s: library panels are not imported (Grafana keeps their model apart)", label)
		return Panel{}, false
	}
	typ, ok := grafanaPanelTypes[g.Type]
	if !ok {
		c.skip("%s (%s): panel type not supported", label, httpapi.Truncate(g.Type, 32))
		return Panel{}, false
	}
	p := Panel{Type: typ, GridPos: g.GridPos}
	if fit := p.GridPos; fit.X != pl.given.X || fit.W != pl.given.W || fit.H != pl.given.H {
		c.skip("%s: gridPos x=%d w=%d h=%d does not fit the grid; placed at x=%d w=%d h=%d", label,
			pl.given.X, pl.given.W, pl.given.H, fit.X, fit.W, fit.H)
	}
	// Rows flattened can push panels below the grid's last row only on dashboards taller
	// than it; they stay at the bottom.
	p.GridPos.Y = min(max(p.GridPos.Y, 0), maxGridRows)
	if g.ID > 0 && g.ID <= math.MaxInt32 && !c.ids[g.ID] {
		p.ID = g.ID
		c.ids[g.ID] = true
	}
	if err := checkText(pl.path+".title", g.Title, 0, maxTitleLen); err != nil {
		c.skip("%s: %v; left out", label, err)
	} else {
		p.Title = g.Title
	}
	if err := checkText(pl.path+".description", g.Description, 0, maxDescription); err != nil {
		c.skip("%s: %v; left out", label, err)
	} else {
		p.Description = g.Description
	}
	p.Targets = c.targets(label, pl.path, g)
	if len(p.Targets) == 0 && len(g.Targets) > 0 {
		c.skip("%s: no Prometheus query left to show; not imported", label)
		return Panel{}, false
	}
	c.display(label, pl.path, g, &p)
	c.unsupported(label, g)
	return p, true
}

// unsupported lists the parts of a panel or row that change what it shows and have no
// equivalent here.
func (c *converter) unsupported(label string, g grafanaPanel) {
	if n := len(g.Transformations); n > 0 {
		c.skip("%s: transformations are not applied (%d)", label, n)
	}
	if n := len(g.FieldConfig.Overrides); n > 0 {
		c.skip("%s: field overrides are not applied (%d)", label, n)
	}
	if n := len(g.Links); n > 0 {
		c.skip("%s: panel links are not imported (%d)", label, n)
	}
	if !isNull(g.Alert) {
		c.skip("%s: its alert rule is not imported", label)
	}
	if g.Repeat != "" {
		c.skip("%s: repeating for each value of $%s is not supported; it is shown once", label, httpapi.Truncate(g.Repeat, 64))
	}
	if g.TimeFrom != "" {
		c.skip("%s: relative time %q is not supported; it shows the dashboard's time range", label, httpapi.Truncate(g.TimeFrom, 32))
	}
	if g.TimeShift != "" {
		c.skip("%s: time shift %q is not supported", label, httpapi.Truncate(g.TimeShift, 32))
	}
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func (c *converter) targets(label, path string, g grafanaPanel) []Target {
	out := []Target{}
	used := map[string]bool{}
	for j, raw := range g.Targets {
		tpath := fmt.Sprintf("%s.targets[%d]", path, j)
		var t grafanaTarget
		if err := decodeGrafana(raw, &t); err != nil {
			c.skip("%s: %s: %v; not imported", label, tpath, err)
			continue
		}
		tl := fmt.Sprintf("%s target %s", label, cmp.Or(httpapi.Truncate(t.RefID, 16), strconv.Itoa(j+1)))
		ds := t.Datasource
		if isNull(ds) {
			ds = g.Datasource
		}
		if t.Hide {
			c.skip("%s: hidden in Grafana; not imported", tl)
			continue
		}
		if name := foreignDatasource(ds); name != "" {
			c.skip("%s: datasource %q is not Prometheus", tl, name)
			continue
		}
		if len(out) == MaxTargets {
			c.skip("%s: more than %d queries in one panel; not imported", tl, MaxTargets)
			continue
		}
		// Grafana's "Both" (instant and range) draws the range; its "__auto" legend is the
		// series' labels, as an empty legend is here.
		tg := Target{RefID: t.RefID, Expr: t.Expr, LegendFormat: t.LegendFormat, Instant: t.Instant && !t.Range}
		if tg.LegendFormat == "__auto" {
			tg.LegendFormat = ""
		}
		if err := tg.check(tpath); err != nil {
			c.skip("%s: %v; not imported", tl, err)
			continue
		}
		if !identPattern.MatchString(tg.RefID) || used[tg.RefID] {
			tg.RefID = freeRefID(used)
		}
		used[tg.RefID] = true
		out = append(out, tg)
	}
	return out
}

// freeRefID is the first letter not used as a refId: a panel has fewer than 26 targets.
func freeRefID(used map[string]bool) string {
	for r := 'A'; ; r++ {
		if !used[string(r)] {
			return string(r)
		}
	}
}

// display reads the unit, decimals, min, max and thresholds of a panel: from
// fieldConfig.defaults (Grafana 7 and later), else from where graph and singlestat panels kept
// them. A value the model refuses is left out, with a line.
func (c *converter) display(label, path string, g grafanaPanel, p *Panel) {
	def := g.FieldConfig.Defaults
	unit, decimals, lo, hi, steps := def.Unit, def.Decimals, def.Min, def.Max, def.Thresholds.Steps
	switch {
	case g.Type == "graph" && len(g.YAxes) > 0:
		axis := g.YAxes[0]
		unit, decimals = cmp.Or(unit, axis.Format), cmp.Or(decimals, axis.Decimals)
		lo, hi = cmp.Or(lo, axisLimit(axis.Min)), cmp.Or(hi, axisLimit(axis.Max))
	case g.Type == "singlestat":
		unit, decimals = cmp.Or(unit, g.Format), cmp.Or(decimals, g.Decimals)
		if len(steps) == 0 {
			steps = singlestatSteps(g.Thresholds, g.Colors)
		}
	}
	if unit != "" && !unitPattern.MatchString(unit) {
		c.skip("%s: unit %q is not a unit name; left out", label, httpapi.Truncate(unit, 32))
	} else {
		p.Unit = unit
	}
	if decimals != nil {
		if d := *decimals; d != math.Trunc(d) || d < 0 || d > 10 {
			c.skip("%s: decimals %v is not 0 to 10; left out", label, d)
		} else {
			n := int(d)
			p.Decimals = &n
		}
	}
	if lo != nil && hi != nil && *lo >= *hi {
		c.skip("%s: min %v is not below max %v; both left out", label, *lo, *hi)
	} else {
		p.Min, p.Max = lo, hi
	}
	if p.Type == PanelTimeSeries {
		c.lines(label, g, p)
	}
	if len(steps) == 0 {
		return
	}
	if def.Thresholds.Mode == "percentage" {
		c.skip("%s: thresholds in percent are not supported; left out", label)
		return
	}
	th := make([]Threshold, len(steps))
	for i, s := range steps {
		th[i] = Threshold{Value: s.Value, Color: grafanaColor(s.Color)}
	}
	th[0].Value = nil // Grafana's base step: its value is null, or -Infinity written as null
	if err := checkThresholds(path+".thresholds", th); err != nil {
		c.skip("%s: %v; thresholds left out", label, err)
		return
	}
	p.Thresholds = th
}

// lines reads a time series' line width and its axis' soft min and max (a graph panel has a line
// width only). A value the model refuses is left out, with a line; so is every way of drawing
// series other than as lines, unstacked: charts draw them so.
func (c *converter) lines(label string, g grafanaPanel, p *Panel) {
	custom := g.FieldConfig.Defaults.Custom
	if style := custom.DrawStyle; (style != "" && style != "line") || g.Bars {
		c.skip("%s: draw style %s is not supported; drawn as lines", label, cmp.Or(style, "bars"))
	}
	if custom.FillOpacity > 0 || (g.Type == "graph" && (g.Fill == nil || *g.Fill > 0)) {
		c.skip("%s: area fill is not supported; lines only", label)
	}
	if mode := custom.Stacking.Mode; (mode != "" && mode != "none") || g.Stack {
		c.skip("%s: stacking (%s) is not supported; series drawn unstacked", label, cmp.Or(mode, "normal"))
	}
	width := custom.LineWidth
	if g.Type == "graph" {
		width = cmp.Or(width, g.LineWidth)
	}
	if width != nil {
		if w := *width; w != math.Trunc(w) || w < 0 || w > MaxLineWidth {
			c.skip("%s: line width %v is not 0 to %d; left out", label, w, MaxLineWidth)
		} else {
			n := int(w)
			p.LineWidth = &n
		}
	}
	lo, hi := custom.AxisSoftMin, custom.AxisSoftMax
	if lo != nil && hi != nil && *lo >= *hi {
		c.skip("%s: soft min %v is not below soft max %v; both left out", label, *lo, *hi)
	} else {
		p.SoftMin, p.SoftMax = lo, hi
	}
}

// axisLimit reads a graph axis' min or max: a number, or a number in a string.
func axisLimit(raw json.RawMessage) *float64 {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return nil
	}
	return &f
}

// singlestatSteps reads a singlestat's thresholds ("50,80") and colors (one more than them)
// as steps; what does not parse makes steps the model refuses, listed as such.
func singlestatSteps(raw json.RawMessage, colors []string) []grafanaStep {
	var thresholds string
	if json.Unmarshal(raw, &thresholds) != nil || strings.TrimSpace(thresholds) == "" {
		return nil
	}
	values := strings.Split(thresholds, ",")
	steps := make([]grafanaStep, len(values)+1)
	for i := range steps {
		if i < len(colors) {
			steps[i].Color = colors[i]
		}
		if i > 0 {
			if f, err := strconv.ParseFloat(strings.TrimSpace(values[i-1]), 64); err == nil {
				steps[i].Value = &f
			}
		}
	}
	return steps
}

var rgbColor = regexp.MustCompile(`^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([0-9.]+)\s*)?\)$`)

// grafanaColor writes Grafana's rgb() and rgba() colors, which older panels use, as the
// #rrggbb[aa] the model accepts; other colors (names, #hex) are kept as they are.
func grafanaColor(s string) string {
	m := rgbColor.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return s
	}
	out := "#"
	for _, part := range m[1:4] {
		n, _ := strconv.Atoi(part) // at most 3 digits
		if n > 255 {
			return s
		}
		out += fmt.Sprintf("%02x", n)
	}
	if m[4] != "" {
		a, err := strconv.ParseFloat(m[4], 64)
		if err != nil || a > 1 {
			return s
		}
		out += fmt.Sprintf("%02x", int(math.Round(a*255)))
	}
	return out
}
