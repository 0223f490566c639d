package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"gopkg.in/yaml.v3"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Severity follows Azure Monitor's scale: 0 is the most severe.
const (
	SevCritical = iota
	SevError
	SevWarning
	SevInformational
	SevVerbose
)

// severityNames are the values of a `severity` label that mean each level, the first being the
// one huddle writes. Prometheus rule files name severities rather than number them, and
// Alertmanager routes match on those names, so both directions use this table.
var severityNames = [...][]string{
	SevCritical:      {"critical", "page", "sev0", "0"},
	SevError:         {"error", "high", "major", "sev1", "1"},
	SevWarning:       {"warning", "warn", "medium", "sev2", "2"},
	SevInformational: {"info", "informational", "low", "minor", "sev3", "3"},
	SevVerbose:       {"verbose", "debug", "none", "sev4", "4"},
}

// severityOf reads a rule's severity from its `severity` label; Azure's default for metric
// alerts, informational, when the label is absent or unknown.
func severityOf(labels map[string]string) int {
	v := strings.ToLower(strings.TrimSpace(labels["severity"]))
	for sev, names := range severityNames {
		for _, n := range names {
			if v == n {
				return sev
			}
		}
	}
	return SevInformational
}

// Limits of what one group may hold, so that a request cannot make evaluation unbounded.
const (
	maxRulesPerGroup = 1000
	maxExprLen       = 16 << 10
	minInterval      = time.Second
	// DefaultInterval is a group's interval when it names none: the recipe's "checked every minute".
	DefaultInterval = time.Minute
)

var groupNameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// GroupSpec is a rule group as people write it: Prometheus's rule-group format (the same keys in
// YAML) plus each alerting rule's severity.
type GroupSpec struct {
	Name        string            `json:"name" yaml:"name"`
	Interval    model.Duration    `json:"interval,omitempty" yaml:"interval,omitempty"`
	QueryOffset model.Duration    `json:"queryOffset,omitempty" yaml:"query_offset,omitempty"`
	Limit       int               `json:"limit,omitempty" yaml:"limit,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Rules       []RuleSpec        `json:"rules" yaml:"rules"`
}

// RuleSpec is one alerting (Alert set) or recording (Record set) rule.
type RuleSpec struct {
	Alert         string            `json:"alert,omitempty" yaml:"alert,omitempty"`
	Record        string            `json:"record,omitempty" yaml:"record,omitempty"`
	Expr          string            `json:"expr" yaml:"expr"`
	For           model.Duration    `json:"for,omitempty" yaml:"for,omitempty"`
	KeepFiringFor model.Duration    `json:"keepFiringFor,omitempty" yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	// Severity, when set, is the alerting rule's level, and gives it a matching `severity`
	// label if it has none; when left out, the rule's `severity` label decides ([RuleSpec.Level])
	// and the rule is left as Prometheus would run it.
	Severity *int `json:"severity,omitempty" yaml:"severity,omitempty"`
	// NoDataState and ErrorState, "ok" (the default, as Prometheus) or "alerting", make an
	// alerting rule whose selectors find no series, or whose evaluation fails, open an incident
	// of its own (label huddle_state="nodata" or "error"), as Grafana's rules can.
	NoDataState string `json:"noDataState,omitempty" yaml:"no_data_state,omitempty"`
	ErrorState  string `json:"errorState,omitempty" yaml:"error_state,omitempty"`
}

// States of NoDataState and ErrorState.
const (
	StateOK       = "ok"
	StateAlerting = "alerting"
)

// Level is an alerting rule's severity: its Severity, or else read from its `severity` label.
func (r RuleSpec) Level() int {
	if r.Severity != nil {
		return *r.Severity
	}
	return severityOf(r.Labels)
}

// Name is the rule's alert or record name.
func (r RuleSpec) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// Normalize checks g as Prometheus checks a rule file (promtool's rules, templates included) plus
// huddle's own bounds, and fills in defaults: the interval, and the `severity` label of each
// alerting rule given a severity. Its error, a 400, lists every problem, each naming its rule, so that an
// editor shows them all at once.
func (g *GroupSpec) Normalize() error {
	var details []string
	add := func(format string, args ...any) { details = append(details, fmt.Sprintf(format, args...)) }
	if !groupNameRule.MatchString(g.Name) {
		add("name must be 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
	}
	if g.Interval == 0 {
		g.Interval = model.Duration(DefaultInterval)
	}
	if time.Duration(g.Interval) < minInterval {
		add("interval must be at least %s", minInterval)
	}
	if g.Limit < 0 {
		add("limit must not be negative")
	}
	if len(g.Rules) == 0 {
		add("a group needs at least one rule")
	}
	if len(g.Rules) > maxRulesPerGroup {
		add("a group holds at most %d rules, this one has %d", maxRulesPerGroup, len(g.Rules))
	}
	for i := range g.Rules {
		r := &g.Rules[i]
		if len(r.Expr) > maxExprLen {
			add("rule %d (%s): expr is longer than %d bytes", i+1, r.Name(), maxExprLen)
		}
		if r.Record != "" && (r.Severity != nil || r.NoDataState != "" || r.ErrorState != "") {
			add("rule %d (%s): severity, noDataState and errorState are for alerting rules only", i+1, r.Name())
		}
		for _, st := range []*string{&r.NoDataState, &r.ErrorState} {
			*st = strings.ToLower(*st)
			if *st != "" && *st != StateOK && *st != StateAlerting {
				add("rule %d (%s): noDataState and errorState are ok or alerting", i+1, r.Name())
			}
		}
		if r.Alert == "" {
			continue
		}
		if r.Severity == nil {
			continue
		}
		if *r.Severity < SevCritical || *r.Severity > SevVerbose {
			add("rule %d (%s): severity must be 0 (critical) to 4 (verbose)", i+1, r.Name())
			continue
		}
		if _, ok := r.Labels["severity"]; !ok {
			r.Labels = maps.Clone(r.Labels)
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels["severity"] = severityNames[*r.Severity][0]
		}
	}
	if len(details) == 0 {
		for _, err := range g.checkWithPrometheus() {
			add("%s", promError(err))
		}
	}
	if len(details) > 0 {
		return httpapi.BadRequest("rule group %q is invalid: %s", g.Name, strings.Join(details, "; "))
	}
	return nil
}

// checkWithPrometheus runs Prometheus's own rule-file validation on g, so that what huddle
// accepts is what Prometheus accepts.
func (g *GroupSpec) checkWithPrometheus() []error {
	content, err := yaml.Marshal(rulefmt.RuleGroups{Groups: []rulefmt.RuleGroup{g.prometheus()}})
	if err != nil {
		return []error{fmt.Errorf("encode group: %w", err)}
	}
	_, errs := rulefmt.Parse(content, false, model.UTF8Validation)
	return errs
}

// promError words a rulefmt error without the line numbers of the YAML huddle generated.
func promError(err error) string {
	var re *rulefmt.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("rule %d (%s): %v", re.Rule, re.RuleName, re.Err.Unwrap())
	}
	return err.Error()
}

// prometheus is g in Prometheus's own types, severity dropped (it lives in the labels).
func (g *GroupSpec) prometheus() rulefmt.RuleGroup {
	pg := rulefmt.RuleGroup{Name: g.Name, Interval: g.Interval, Limit: g.Limit, Labels: g.Labels}
	if g.QueryOffset != 0 {
		off := g.QueryOffset
		pg.QueryOffset = &off
	}
	for _, r := range g.Rules {
		pg.Rules = append(pg.Rules, rulefmt.Rule{Record: r.Record, Alert: r.Alert, Expr: r.Expr, For: r.For,
			KeepFiringFor: r.KeepFiringFor, Labels: r.Labels, Annotations: r.Annotations})
	}
	return pg
}

// fromPrometheus is a group read from a Prometheus rule file.
func fromPrometheus(pg rulefmt.RuleGroup) GroupSpec {
	g := GroupSpec{Name: pg.Name, Interval: pg.Interval, Limit: pg.Limit, Labels: pg.Labels}
	if pg.QueryOffset != nil {
		g.QueryOffset = *pg.QueryOffset
	}
	for _, r := range pg.Rules {
		g.Rules = append(g.Rules, RuleSpec{Record: r.Record, Alert: r.Alert, Expr: r.Expr, For: r.For,
			KeepFiringFor: r.KeepFiringFor, Labels: r.Labels, Annotations: r.Annotations})
	}
	return g
}

// DecodeGroup reads one group from a request body: JSON, or YAML (Prometheus's format of one
// group) when isYAML. Unknown fields are refused in both.
func DecodeGroup(body []byte, isYAML bool) (GroupSpec, error) {
	var g GroupSpec
	if isYAML {
		dec := yaml.NewDecoder(bytes.NewReader(body))
		dec.KnownFields(true)
		if err := dec.Decode(&g); err != nil {
			return g, httpapi.BadRequest("rule group YAML: %v", err)
		}
		return g, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, httpapi.BadRequest("rule group JSON: %v", err)
	}
	return g, nil
}
