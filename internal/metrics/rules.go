package metrics

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// RuleGroups is what /api/v1/rules and /api/v1/alerts read: the rule groups being evaluated,
// as Prometheus's own API reads them from its rule manager.
type RuleGroups interface {
	RuleGroups() []*rules.Group
}

// The shapes below are Prometheus's (prometheus/prometheus web/api/v1/api.go: RuleDiscovery,
// RuleGroup, AlertingRule, RecordingRule, AlertDiscovery, Alert), which Grafana's Prometheus data
// source and alerting UI parse.
type ruleDiscovery struct {
	Groups         []ruleGroup `json:"groups"`
	GroupNextToken string      `json:"groupNextToken,omitempty"`
}

type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

type alertingRule struct {
	State          string        `json:"state"`
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Duration       float64       `json:"duration"`
	KeepFiringFor  float64       `json:"keepFiringFor"`
	Labels         labels.Labels `json:"labels"`
	Annotations    labels.Labels `json:"annotations"`
	Alerts         []apiAlert    `json:"alerts"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type recordingRule struct {
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Labels         labels.Labels `json:"labels"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type apiAlert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"`
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
}

func apiAlerts(active []*rules.Alert) []apiAlert {
	out := make([]apiAlert, len(active))
	for i, a := range active {
		out[i] = apiAlert{Labels: a.Labels, Annotations: a.Annotations, State: a.State.String(), ActiveAt: &a.ActiveAt,
			Value: strconv.FormatFloat(a.Value, 'e', -1, 64)}
		if !a.KeepFiringSince.IsZero() {
			out[i].KeepFiringSince = &a.KeepFiringSince
		}
	}
	return out
}

// groupToken names a group in group_next_token, as Prometheus derives it from file and name.
func groupToken(g *rules.Group) string {
	sum := sha1.Sum([]byte(g.File() + ";" + g.Name()))
	return hex.EncodeToString(sum[:])
}

// rules answers /api/v1/rules with Prometheus's filters: type, rule_name[], rule_group[],
// file[], match[], exclude_alerts and the group_limit/group_next_token pagination.
func (a *API) rules(r *http.Request) (any, error) {
	matchers, err := parseMatchers(r.Form["match[]"])
	if err != nil {
		return nil, &Error{Kind: KindBadData, Err: err}
	}
	typ := strings.ToLower(r.URL.Query().Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		return nil, invalidParam("type", fmt.Errorf("not supported value %q", typ))
	}
	excludeAlerts := false
	if s := r.URL.Query().Get("exclude_alerts"); s != "" {
		if excludeAlerts, err = strconv.ParseBool(strings.ToLower(s)); err != nil {
			return nil, invalidParam("exclude_alerts", fmt.Errorf("error converting exclude_alerts: %w", err))
		}
	}
	limit, next := -1, r.URL.Query().Get("group_next_token")
	if s := r.URL.Query().Get("group_limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, invalidParam("group_limit", fmt.Errorf("group_limit needs to be a valid number: %w", err))
		}
		if n <= 0 {
			return nil, invalidParam("group_limit", errors.New("group_limit needs to be greater than 0"))
		}
		limit = int(n)
	} else if next != "" {
		return nil, invalidParam("group_next_token", errors.New("group_limit needs to be present in order to paginate over the groups"))
	}
	names, groupNames, files := set(r.Form["rule_name[]"]), set(r.Form["rule_group[]"]), set(r.Form["file[]"])
	res := ruleDiscovery{Groups: []ruleGroup{}}
	if a.opts.Rules == nil {
		return res, nil
	}
	found := next == ""
	for _, g := range a.opts.Rules.RuleGroups() {
		if !found {
			if groupToken(g) != next {
				continue
			}
			found = true
		}
		if !inSet(groupNames, g.Name()) || !inSet(files, g.File()) {
			continue
		}
		rg := ruleGroup{Name: g.Name(), File: g.File(), Rules: []any{}, Interval: g.Interval().Seconds(), Limit: g.Limit(),
			EvaluationTime: g.GetEvaluationTime().Seconds(), LastEvaluation: g.GetLastEvaluation()}
		for _, rule := range g.Rules(matchers...) {
			if !inSet(names, rule.Name()) {
				continue
			}
			lastError := ""
			if err := rule.LastError(); err != nil {
				lastError = err.Error()
			}
			switch rule := rule.(type) {
			case *rules.AlertingRule:
				if typ == "record" {
					continue
				}
				var active []apiAlert
				if !excludeAlerts {
					active = apiAlerts(rule.ActiveAlerts())
				}
				rg.Rules = append(rg.Rules, alertingRule{State: rule.State().String(), Name: rule.Name(),
					Query: rule.Query().String(), Duration: rule.HoldDuration().Seconds(),
					KeepFiringFor: rule.KeepFiringFor().Seconds(), Labels: rule.Labels(), Annotations: rule.Annotations(),
					Alerts: active, Health: string(rule.Health()), LastError: lastError,
					EvaluationTime: rule.GetEvaluationDuration().Seconds(), LastEvaluation: rule.GetEvaluationTimestamp(),
					Type: "alerting"})
			case *rules.RecordingRule:
				if typ == "alert" {
					continue
				}
				rg.Rules = append(rg.Rules, recordingRule{Name: rule.Name(), Query: rule.Query().String(),
					Labels: rule.Labels(), Health: string(rule.Health()), LastError: lastError,
					EvaluationTime: rule.GetEvaluationDuration().Seconds(), LastEvaluation: rule.GetEvaluationTimestamp(),
					Type: "recording"})
			}
		}
		// A group whose rules were all filtered out is left out, as Prometheus does.
		if len(rg.Rules) == 0 {
			continue
		}
		if limit > 0 && len(res.Groups) == limit {
			res.GroupNextToken = groupToken(g)
			break
		}
		res.Groups = append(res.Groups, rg)
	}
	if !found {
		return nil, invalidParam("group_next_token", fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", next))
	}
	return res, nil
}

// alerts answers /api/v1/alerts: every active alert of every alerting rule.
func (a *API) alerts(*http.Request) (any, error) {
	out := []apiAlert{}
	if a.opts.Rules != nil {
		for _, g := range a.opts.Rules.RuleGroups() {
			for _, rule := range g.AlertingRules() {
				out = append(out, apiAlerts(rule.ActiveAlerts())...)
			}
		}
	}
	return map[string][]apiAlert{"alerts": out}, nil
}

func set(values []string) map[string]bool {
	if len(values) == 0 {
		return nil
	}
	s := make(map[string]bool, len(values))
	for _, v := range values {
		s[v] = true
	}
	return s
}

// inSet is true when s is empty (no filter) or holds v.
func inSet(s map[string]bool, v string) bool { return s == nil || s[v] }
