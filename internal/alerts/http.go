package alerts

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/rules"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// maxGroupBody bounds a rule group's request body: maxRulesPerGroup rules of long expressions
// and annotations fit.
const (
	maxGroupBody  = 4 << 20
	maxActionBody = 64 << 10
)

// API is the alerting HTTP API: rules (read by viewers, written by editors) and incidents
// (handled by anyone who can view).
type API struct {
	Engine    *Engine
	Incidents *Incidents
}

// Routes is the API's route table, for auth.Service.Register.
func (a *API) Routes() []httpapi.Route {
	const viewer, editor = roles.Viewer, roles.Editor
	read, write := roles.ScopeAlertsRead, roles.ScopeAlertsWrite
	in := a.Incidents
	take := a.act(func(ctx context.Context, id string, by Person, _ string) (Incident, error) {
		return in.Take(ctx, id, by)
	})
	release := a.act(func(ctx context.Context, id string, by Person, _ string) (Incident, error) {
		return in.Release(ctx, id, by)
	})
	acknowledge := a.act(func(ctx context.Context, id string, by Person, _ string) (Incident, error) {
		return in.Acknowledge(ctx, id, by)
	})
	return []httpapi.Route{
		{Method: "GET", Pattern: "/api/alerting/rules", MinRole: viewer, Scope: read, Handler: a.listGroups},
		{Method: "POST", Pattern: "/api/alerting/rules/check", MinRole: editor, Scope: write, Handler: a.checkGroup},
		{Method: "GET", Pattern: "/api/alerting/rules/{group}", MinRole: viewer, Scope: read, Handler: a.getGroup},
		{Method: "PUT", Pattern: "/api/alerting/rules/{group}", MinRole: editor, Scope: write, Handler: a.putGroup},
		{Method: "DELETE", Pattern: "/api/alerting/rules/{group}", MinRole: editor, Scope: write, Handler: a.deleteGroup},
		{Method: "GET", Pattern: "/api/alerting/incidents", MinRole: viewer, Scope: read, Handler: a.listIncidents},
		{Method: "GET", Pattern: "/api/alerting/incidents/{id}", MinRole: viewer, Scope: read, Handler: a.getIncident},
		{Method: "POST", Pattern: "/api/alerting/incidents/{id}/take", MinRole: viewer, Scope: write, Handler: take},
		{Method: "POST", Pattern: "/api/alerting/incidents/{id}/release", MinRole: viewer, Scope: write, Handler: release},
		{Method: "POST", Pattern: "/api/alerting/incidents/{id}/acknowledge", MinRole: viewer, Scope: write, Handler: acknowledge},
		{Method: "POST", Pattern: "/api/alerting/incidents/{id}/resolve", MinRole: viewer, Scope: write, Handler: a.act(in.Close)},
		{Method: "POST", Pattern: "/api/alerting/incidents/{id}/comments", MinRole: viewer, Scope: write, Handler: a.comment},
	}
}

// GroupView is a group as the rules page shows it: its spec and how its evaluation goes.
type GroupView struct {
	GroupSpec
	Source         string     `json:"source"`
	File           string     `json:"file,omitempty"`
	Editable       bool       `json:"editable"`
	LastEvaluation *time.Time `json:"lastEvaluation"`
	EvaluationTime float64    `json:"evaluationTime"`
	Rules          []RuleView `json:"rules"`
}

// RuleView is one rule with its state.
type RuleView struct {
	RuleSpec
	// Severity is the alerting rule's level, given or read from its label; none for recording rules.
	Severity       *int        `json:"severity,omitempty"`
	Kind           string      `json:"kind"`
	Name           string      `json:"name"`
	State          string      `json:"state,omitempty"`
	Health         string      `json:"health"`
	LastError      string      `json:"lastError"`
	LastEvaluation *time.Time  `json:"lastEvaluation"`
	EvaluationTime float64     `json:"evaluationTime"`
	Alerts         []AlertView `json:"alerts"`
}

// AlertView is an active alert of a rule: pending or firing (or resolved, for a while).
type AlertView struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	FiredAt     *time.Time        `json:"firedAt"`
	Value       string            `json:"value"`
}

func optional(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Groups lists every group's view, in name order.
func (e *Engine) Groups() []GroupView {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]GroupView, 0, len(e.groups))
	for _, name := range sortedKeys(e.groups) {
		out = append(out, e.groups[name].view())
	}
	return out
}

// Group is one group's view.
func (e *Engine) Group(name string) (GroupView, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.groups[name]
	if !ok {
		return GroupView{}, ErrNoGroup
	}
	return g.view(), nil
}

func (g *group) view() GroupView {
	v := GroupView{GroupSpec: g.spec, Source: g.source, File: g.file, Editable: g.source != "file",
		LastEvaluation: optional(g.prom.GetLastEvaluation()), EvaluationTime: g.prom.GetEvaluationTime().Seconds()}
	for i, r := range g.prom.Rules() {
		rv := RuleView{RuleSpec: g.spec.Rules[i], Name: r.Name(), Health: string(r.Health()),
			LastEvaluation: optional(r.GetEvaluationTimestamp()), EvaluationTime: r.GetEvaluationDuration().Seconds(),
			Alerts: []AlertView{}}
		if err := r.LastError(); err != nil {
			rv.LastError = err.Error()
		}
		switch r := r.(type) {
		case *rules.AlertingRule:
			level := rv.RuleSpec.Level()
			rv.Kind, rv.State, rv.Severity = "alerting", r.State().String(), &level
			for _, a := range r.ActiveAlerts() {
				rv.Alerts = append(rv.Alerts, AlertView{Labels: a.Labels.Map(), Annotations: a.Annotations.Map(),
					State: a.State.String(), ActiveAt: a.ActiveAt.UTC(), FiredAt: optional(a.FiredAt), Value: FormatValue(a.Value)})
			}
		default:
			rv.Kind = "recording"
		}
		v.Rules = append(v.Rules, rv)
	}
	return v
}

func (a *API) listGroups(w http.ResponseWriter, _ *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"groups": a.Engine.Groups()})
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.Engine.Group(r.PathValue("group"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, g)
	return nil
}

// readGroup decodes a group from the body, as JSON or, with a YAML media type, as Prometheus's
// YAML of one group.
func readGroup(w http.ResponseWriter, r *http.Request) (GroupSpec, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxGroupBody))
	if err != nil {
		return GroupSpec{}, httpapi.BadRequest("rule group body: at most %d bytes are accepted", maxGroupBody)
	}
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isYAML := media == "application/yaml" || media == "application/x-yaml" || media == "text/yaml"
	return DecodeGroup(body, isYAML)
}

func (a *API) checkGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := readGroup(w, r)
	if err != nil {
		return err
	}
	if err := g.Normalize(); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "group": g})
	return nil
}

func (a *API) putGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := readGroup(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("group")
	switch {
	case g.Name == "":
		g.Name = name
	case g.Name != name:
		return httpapi.Invalid("name", "the group's name %q differs from the path's %q", httpapi.Truncate(g.Name, 128), httpapi.Truncate(name, 128))
	}
	p, _ := auth.PrincipalFrom(r.Context())
	if err := a.Engine.Put(r.Context(), g, p.User.Login); err != nil {
		return err
	}
	a.Incidents.AnnounceRules(r.Context())
	view, err := a.Engine.Group(name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, view)
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.Engine.Delete(r.Context(), r.PathValue("group")); err != nil {
		return err
	}
	a.Incidents.AnnounceRules(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := Filter{State: q.Get("state"), Text: q.Get("q")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return httpapi.Invalid("limit", "limit must be a positive number")
		}
		f.Limit = n
	}
	if s := q.Get("severity"); s != "" {
		for part := range strings.SplitSeq(s, ",") {
			sev, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || sev < SevCritical || sev > SevVerbose {
				return httpapi.Invalid("severity", "severity must be a list of levels 0 to 4, such as 0,1")
			}
			f.Severities = append(f.Severities, sev)
		}
	}
	list, err := a.Incidents.List(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"incidents": list})
	return nil
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request) error {
	in, timeline, err := a.Incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, struct {
		Incident
		Timeline []Entry `json:"timeline"`
	}{in, timeline})
	return nil
}

// actionBody is what an action on an incident may carry: a note, for resolve and comments.
type actionBody struct {
	Text string `json:"text"`
}

func readAction(w http.ResponseWriter, r *http.Request) (actionBody, error) {
	var b actionBody
	if r.ContentLength == 0 {
		return b, nil
	}
	return b, httpapi.DecodeJSON(w, r, &b, maxActionBody)
}

func person(r *http.Request) Person {
	p, _ := auth.PrincipalFrom(r.Context())
	return Person{Login: p.User.Login, Name: p.User.Name}
}

// act answers an action that changes an incident with the incident as it is afterwards.
func (a *API) act(do func(ctx context.Context, id string, by Person, text string) (Incident, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := readAction(w, r)
		if err != nil {
			return err
		}
		in, err := do(r.Context(), r.PathValue("id"), person(r), body.Text)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, in)
		return nil
	}
}

func (a *API) comment(w http.ResponseWriter, r *http.Request) error {
	body, err := readAction(w, r)
	if err != nil {
		return err
	}
	e, err := a.Incidents.Comment(r.Context(), r.PathValue("id"), person(r), body.Text)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, e)
	return nil
}
