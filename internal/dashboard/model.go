package dashboard

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Dashboard is the JSON model of a dashboard, close to Grafana's so that its shapes are familiar:
// panels on a 24-column grid, each with PromQL targets. It is stored whole, as decoded and
// normalized by [Dashboard.normalize], so every field a client may send is declared here and an
// unknown one is refused.
type Dashboard struct {
	UID   string   `json:"uid"`
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
	// Time is the range a viewer opens the dashboard with.
	Time TimeRange `json:"time"`
	// Refresh is how often panels are updated ("10s", "1m"); empty means never.
	Refresh   string     `json:"refresh"`
	Variables []Variable `json:"variables"`
	Panels    []Panel    `json:"panels"`
	// Version counts saves. A save must carry the version it was based on; the server answers
	// with the new one.
	Version int64 `json:"version"`
}

// TimeRange is Grafana's: "now-6h" to "now", or absolute times (RFC 3339 or unix milliseconds).
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Variable is a dashboard variable, referred to as $name or ${name} in queries, with Grafana's
// semantics (see [Dashboard.Expand]).
type Variable struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Type is query (Query finds the options: label_values(label), label_values(selector,
	// label), label_names(), metrics(regex) or query_result(expr)), custom (Query is a
	// comma-separated list), constant (Query is the value) or interval (a list of durations).
	Type  string `json:"type"`
	Query string `json:"query"`
	// Regex keeps the options of a query variable that it matches, each as the text of its
	// first group (or of the group named value or text) when it has one. Grafana writes it as
	// /pattern/flags or as a bare pattern.
	Regex string `json:"regex,omitempty"`
	// Sort orders a query variable's options, with Grafana's numbers: 0 as found, 1 and 2
	// alphabetical, 3 and 4 by the first number in each, 5 and 6 alphabetical ignoring case, 7
	// and 8 natural (odd ascending, even descending).
	Sort  int  `json:"sort,omitempty"`
	Multi bool `json:"multi,omitempty"`
	// IncludeAll adds the option All ($__all), which stands for every option, or for AllValue
	// when it is set.
	IncludeAll bool   `json:"includeAll,omitempty"`
	AllValue   string `json:"allValue,omitempty"`
	// Hide is 0 to show the variable, 1 to show it without its label, 2 not to show it.
	Hide int `json:"hide,omitempty"`
	// Refresh says over which time range a query variable's options are found: 2 ("on time
	// range change") over the range being viewed; 0 and 1 ("on dashboard load") over the
	// dashboard's own time range, whatever range a viewer picks.
	Refresh int `json:"refresh,omitempty"`
	// Current is the selection everyone on the dashboard sees: values, or [$__all]. Empty, or
	// none of the options, means the first option (All when there is one), as in Grafana.
	Current []string `json:"current,omitempty"`
}

// Panel is one chart, stat, gauge or table.
type Panel struct {
	// ID is unique within the dashboard; annotations name it. 0 in a request means "assign one".
	ID          int64    `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	GridPos     GridPos  `json:"gridPos"`
	Targets     []Target `json:"targets"`
	// Unit formats values, in Grafana's unit names (percent, bytes, Bps, s, short, …).
	Unit     string `json:"unit,omitempty"`
	Decimals *int   `json:"decimals,omitempty"`
	// Min and Max are the ends of a chart's value axis and of a gauge, when set (Grafana's
	// standard options); SoftMin and SoftMax are where a chart's value axis reaches at least,
	// further when the data do (Grafana's axis soft min and max).
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	SoftMin *float64 `json:"softMin,omitempty"`
	SoftMax *float64 `json:"softMax,omitempty"`
	// LineWidth is a chart's series lines' width in pixels, 0 to 10 (Grafana's line width);
	// unset is 1, Grafana's default.
	LineWidth *int `json:"lineWidth,omitempty"`
	// Thresholds color values: the first step has no value (the base color), the others start
	// at their value, in increasing order.
	Thresholds []Threshold `json:"thresholds,omitempty"`
}

// GridPos places a panel on the 24-column grid; y and h count rows.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat,omitempty"`
	// Instant asks for the latest value only (stat, gauge and table panels usually do).
	Instant bool `json:"instant,omitempty"`
}

// Threshold is one step of a panel's thresholds.
type Threshold struct {
	Value *float64 `json:"value"`
	Color string   `json:"color"`
}

// The panel types the dashboard can draw.
const (
	PanelTimeSeries = "timeseries"
	PanelStat       = "stat"
	PanelGauge      = "gauge"
	PanelTable      = "table"
	// PanelBarGauge draws the latest value of every series as a bar from min to max.
	PanelBarGauge = "bargauge"
)

var panelTypes = []string{PanelTimeSeries, PanelStat, PanelGauge, PanelBarGauge, PanelTable}

var variableTypes = []string{"query", "custom", "constant", "interval"}

// Limits of the model, so that one dashboard cannot exhaust the store, the live scheduler (one
// query per target per interval) or a browser.
const (
	GridColumns      = 24
	maxGridRows      = 5000
	maxPanelHeight   = 100
	MaxPanels        = 300
	MaxTargets       = 10
	MaxLineWidth     = 10 // the widest series line, the end of Grafana's slider
	maxVariables     = 50
	maxTags          = 20
	maxTagLen        = 50
	maxTitleLen      = 200
	maxDescription   = 2000
	maxExprLen       = 4000
	maxShortText     = 100
	maxThresholds    = 20
	maxCurrentValues = 100
	// MinRefresh is the shortest refresh interval: a panel refreshing faster would cost a
	// query per target per interval for nothing a person can read.
	MinRefresh = time.Second
)

var (
	identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// unitPattern accepts Grafana's unit names (percent, bytes, Bps, currencyUSD, …).
	unitPattern  = regexp.MustCompile(`^[A-Za-z0-9_.:/%()-]{1,32}$`)
	colorPattern = regexp.MustCompile(`^(#[0-9A-Fa-f]{3,8}|[a-z][a-z-]{0,31})$`)
)

// invalid is the 400 for a field of a request, named as a path (panels[2].gridPos.w).
func invalid(field, format string, args ...any) error {
	return httpapi.Invalid(field, "%s: %s", field, fmt.Sprintf(format, args...))
}

// normalize validates d and puts it in its stored form: tags trimmed, sorted and deduplicated,
// nil lists made empty, and panels without an id given the next free one. Its errors name the
// field at fault.
func (d *Dashboard) normalize() error {
	if !collab.ValidUID(d.UID) {
		return invalid("uid", "must be %s", collab.UIDRule)
	}
	d.Title = strings.TrimSpace(d.Title)
	if err := checkText("title", d.Title, 1, maxTitleLen); err != nil {
		return err
	}
	var err error
	if d.Tags, err = normalizeTags("tags", d.Tags); err != nil {
		return err
	}
	if d.Time == (TimeRange{}) {
		d.Time = TimeRange{From: "now-6h", To: "now"}
	}
	if err := d.Time.check(); err != nil {
		return err
	}
	if d.Refresh != "" {
		r, err := parseDuration(d.Refresh)
		if err != nil {
			return invalid("refresh", "%v", err)
		}
		if r < MinRefresh {
			return invalid("refresh", "must be at least %v or empty (no refresh)", MinRefresh)
		}
	}
	if len(d.Variables) > maxVariables {
		return invalid("variables", "at most %d variables", maxVariables)
	}
	names := map[string]bool{}
	for i := range d.Variables {
		v := &d.Variables[i]
		if err := v.check(fmt.Sprintf("variables[%d]", i)); err != nil {
			return err
		}
		if names[v.Name] {
			return invalid(fmt.Sprintf("variables[%d].name", i), "%q is used twice", v.Name)
		}
		names[v.Name] = true
	}
	return d.normalizePanels()
}

func (d *Dashboard) normalizePanels() error {
	if len(d.Panels) > MaxPanels {
		return invalid("panels", "at most %d panels", MaxPanels)
	}
	ids := map[int64]bool{}
	var maxID int64
	for i := range d.Panels {
		p := &d.Panels[i]
		field := fmt.Sprintf("panels[%d]", i)
		if err := p.check(field); err != nil {
			return err
		}
		if p.ID != 0 && ids[p.ID] {
			return invalid(field+".id", "%d is used by another panel", p.ID)
		}
		ids[p.ID] = true
		maxID = max(maxID, p.ID)
	}
	for i := range d.Panels {
		if d.Panels[i].ID == 0 {
			maxID++
			d.Panels[i].ID = maxID
		}
	}
	if d.Variables == nil {
		d.Variables = []Variable{}
	}
	if d.Panels == nil {
		d.Panels = []Panel{}
	}
	return nil
}

func (p *Panel) check(field string) error {
	if !slices.Contains(panelTypes, p.Type) {
		return invalid(field+".type", "unknown panel type %q: use %s", httpapi.Truncate(p.Type, 32), strings.Join(panelTypes, ", "))
	}
	if p.ID < 0 || p.ID > math.MaxInt32 {
		return invalid(field+".id", "must be a positive integer, or 0 to assign one")
	}
	if err := checkText(field+".title", p.Title, 0, maxTitleLen); err != nil {
		return err
	}
	if err := checkText(field+".description", p.Description, 0, maxDescription); err != nil {
		return err
	}
	g := p.GridPos
	switch {
	case g.W < 1 || g.W > GridColumns:
		return invalid(field+".gridPos.w", "must be 1 to %d columns", GridColumns)
	case g.X < 0 || g.X+g.W > GridColumns:
		return invalid(field+".gridPos.x", "the panel must fit in %d columns (x + w ≤ %d)", GridColumns, GridColumns)
	case g.H < 1 || g.H > maxPanelHeight:
		return invalid(field+".gridPos.h", "must be 1 to %d rows", maxPanelHeight)
	case g.Y < 0 || g.Y > maxGridRows:
		return invalid(field+".gridPos.y", "must be 0 to %d", maxGridRows)
	}
	if len(p.Targets) > MaxTargets {
		return invalid(field+".targets", "at most %d queries per panel", MaxTargets)
	}
	refIDs := map[string]bool{}
	for j := range p.Targets {
		t := &p.Targets[j]
		tf := fmt.Sprintf("%s.targets[%d]", field, j)
		if t.RefID == "" {
			t.RefID = string(rune('A' + j)) // as Grafana names them
		}
		if !identPattern.MatchString(t.RefID) || refIDs[t.RefID] {
			return invalid(tf+".refId", "must be a unique name of letters, digits and _")
		}
		refIDs[t.RefID] = true
		if err := t.check(tf); err != nil {
			return err
		}
	}
	if p.Targets == nil {
		p.Targets = []Target{}
	}
	if p.Unit != "" && !unitPattern.MatchString(p.Unit) {
		return invalid(field+".unit", "must be a unit name such as percent, bytes or s")
	}
	if p.Decimals != nil && (*p.Decimals < 0 || *p.Decimals > 10) {
		return invalid(field+".decimals", "must be 0 to 10")
	}
	if p.Min != nil && p.Max != nil && *p.Min >= *p.Max {
		return invalid(field+".max", "must be greater than min")
	}
	if p.SoftMin != nil && p.SoftMax != nil && *p.SoftMin >= *p.SoftMax {
		return invalid(field+".softMax", "must be greater than softMin")
	}
	if p.LineWidth != nil && (*p.LineWidth < 0 || *p.LineWidth > MaxLineWidth) {
		return invalid(field+".lineWidth", "must be 0 to %d", MaxLineWidth)
	}
	return checkThresholds(field+".thresholds", p.Thresholds)
}

// check validates the query of a target; its refId is the panel's business (unique among its
// targets).
func (t *Target) check(field string) error {
	if strings.TrimSpace(t.Expr) == "" {
		return invalid(field+".expr", "a PromQL expression is required")
	}
	if err := checkText(field+".expr", t.Expr, 0, maxExprLen); err != nil {
		return err
	}
	return checkText(field+".legendFormat", t.LegendFormat, 0, maxTitleLen)
}

func checkThresholds(field string, steps []Threshold) error {
	if len(steps) > maxThresholds {
		return invalid(field, "at most %d steps", maxThresholds)
	}
	for i, s := range steps {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !colorPattern.MatchString(s.Color) {
			return invalid(f+".color", "must be a color name or #rgb[a] / #rrggbb[aa]")
		}
		switch {
		case i == 0 && s.Value != nil:
			return invalid(f+".value", "the first step is the base color: its value must be null")
		case i > 0 && s.Value == nil:
			return invalid(f+".value", "a number is required after the first step")
		case i > 1 && *s.Value <= *steps[i-1].Value:
			return invalid(f+".value", "steps must increase")
		}
	}
	return nil
}

func (v *Variable) check(field string) error {
	if !identPattern.MatchString(v.Name) {
		return invalid(field+".name", "must be letters, digits and _, not starting with a digit")
	}
	if !slices.Contains(variableTypes, v.Type) {
		return invalid(field+".type", "unknown variable type %q: use %s", httpapi.Truncate(v.Type, 32), strings.Join(variableTypes, ", "))
	}
	if err := checkText(field+".label", v.Label, 0, maxShortText); err != nil {
		return err
	}
	if err := checkText(field+".query", v.Query, 0, maxExprLen); err != nil {
		return err
	}
	if err := checkText(field+".regex", v.Regex, 0, maxExprLen); err != nil {
		return err
	}
	if _, err := optionRegex(v.Regex); err != nil {
		return invalid(field+".regex", "%v", err)
	}
	if err := checkText(field+".allValue", v.AllValue, 0, maxExprLen); err != nil {
		return err
	}
	switch {
	case v.Sort < 0 || v.Sort > 8:
		return invalid(field+".sort", "must be 0 (none) to 8, as Grafana numbers its orders")
	case v.Hide < 0 || v.Hide > 2:
		return invalid(field+".hide", "must be 0 (shown), 1 (without its label) or 2 (hidden)")
	case v.Refresh < 0 || v.Refresh > 2:
		return invalid(field+".refresh", "must be 0 or 1 (options over the dashboard's time range) or 2 (over the range viewed)")
	}
	if len(v.Current) > maxCurrentValues {
		return invalid(field+".current", "at most %d values", maxCurrentValues)
	}
	for i, c := range v.Current {
		if err := checkText(fmt.Sprintf("%s.current[%d]", field, i), c, 0, maxTitleLen); err != nil {
			return err
		}
	}
	return nil
}

func (tr TimeRange) check() error {
	from, err := parseTime(tr.From)
	if err != nil {
		return invalid("time.from", "%v", err)
	}
	to, err := parseTime(tr.To)
	if err != nil {
		return invalid("time.to", "%v", err)
	}
	if from.absolute && to.absolute && from.ms >= to.ms {
		return invalid("time.from", "must be before time.to")
	}
	return nil
}

// timePoint is a parsed end of a time range: absolute (ms) or relative to now.
type timePoint struct {
	absolute bool
	ms       int64
}

// relativeTime is Grafana's relative syntax: now, now-6h, now/d, now-1d/d, now-7d+1h.
var relativeTime = regexp.MustCompile(`^now([+-][0-9]{1,6}[smhdwMy])*(/[smhdwMy])?$`)

func parseTime(s string) (timePoint, error) {
	if relativeTime.MatchString(s) {
		return timePoint{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms >= 0 {
		return timePoint{absolute: true, ms: ms}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return timePoint{absolute: true, ms: t.UnixMilli()}, nil
	}
	return timePoint{}, fmt.Errorf("%q is not a time: use now, now-6h, now/d, an RFC 3339 time or unix milliseconds", httpapi.Truncate(s, 40))
}

// parseDuration reads Grafana's durations: a whole number and a unit of s, m, h, d or w.
func parseDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	bad := fmt.Errorf("%q is not a duration such as 10s, 1m or 1h", httpapi.Truncate(s, 40))
	if len(s) < 2 {
		return 0, bad
	}
	unit, ok := units[s[len(s)-1]]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 32)
	if !ok || err != nil || n < 0 || s[0] == '+' {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}

// checkText bounds a text field and keeps control characters (other than tab and newlines,
// which descriptions may hold) out of it.
func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return invalid(field, "must be UTF-8 text")
	case n < minLen:
		return invalid(field, "is required")
	case n > maxLen:
		return invalid(field, "must be at most %d characters long", maxLen)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }):
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// normalizeTags trims, checks, sorts and deduplicates tags; the result is never nil.
func normalizeTags(field string, tags []string) ([]string, error) {
	if len(tags) > maxTags {
		return nil, invalid(field, "at most %d tags", maxTags)
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if err := checkTag(fmt.Sprintf("%s[%d]", field, i), t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkTag checks one trimmed tag.
func checkTag(field, t string) error {
	if err := checkText(field, t, 1, maxTagLen); err != nil {
		return err
	}
	if strings.ContainsAny(t, "\t\r\n") {
		return invalid(field, "must be on one line")
	}
	return nil
}
