package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// Request body limits: real dashboards fit many times over (a Grafana export of 125 panels is
// about half a MiB), so this bound, before the model's, is what stops a body of MaxPanels panels
// each of MaxTargets queries of the longest length; an annotation is MaxAnnotationText
// characters and a few fields.
const (
	maxDashboardBody  = 4 << 20
	maxAnnotationBody = 128 << 10
)

// Routes is the dashboard API, each route with its rule, for auth.Service.Register. Routes that
// name a dashboard in their path check the caller's role on that dashboard, per-dashboard
// overrides included; those that name it in their body or query check it in the handler.
func (s *Service) Routes() []httpapi.Route {
	const (
		viewer, editor = roles.Viewer, roles.Editor
		read, write    = roles.ScopeDashboardsRead, roles.ScopeDashboardsWrite
	)
	return []httpapi.Route{
		{Method: "GET", Pattern: "/api/dashboards", MinRole: viewer, Scope: read, Handler: s.handleList},
		{Method: "POST", Pattern: "/api/dashboards", MinRole: editor, Scope: write, Handler: s.handleCreate},
		{Method: "POST", Pattern: "/api/dashboards/import", MinRole: editor, Scope: write, Handler: s.handleImport},
		{Method: "GET", Pattern: "/api/dashboards/{uid}", MinRole: viewer, Scope: read, DashboardParam: "uid", Handler: s.handleGet},
		{Method: "PUT", Pattern: "/api/dashboards/{uid}", MinRole: editor, Scope: write, DashboardParam: "uid", Handler: s.handleUpdate},
		{Method: "DELETE", Pattern: "/api/dashboards/{uid}", MinRole: editor, Scope: write, DashboardParam: "uid", Handler: s.handleDelete},
		{Method: "PUT", Pattern: "/api/dashboards/{uid}/star", MinRole: viewer, Scope: write, DashboardParam: "uid", Handler: s.handleStar},
		{Method: "DELETE", Pattern: "/api/dashboards/{uid}/star", MinRole: viewer, Scope: write, DashboardParam: "uid", Handler: s.handleUnstar},
		{Method: "GET", Pattern: "/api/dashboards/{uid}/queries", MinRole: viewer, Scope: read, DashboardParam: "uid", Handler: s.handleQueries},
		{Method: "GET", Pattern: "/api/dashboards/{uid}/export", MinRole: viewer, Scope: read, DashboardParam: "uid", Handler: s.handleExport},
		{Method: "GET", Pattern: "/api/dashboards/{uid}/annotations", MinRole: viewer, Scope: read, DashboardParam: "uid", Handler: s.handleDashboardAnnotations},
		{Method: "POST", Pattern: "/api/dashboards/{uid}/annotations", MinRole: editor, Scope: write, DashboardParam: "uid", Handler: s.handleCreateAnnotation},
		{Method: "PUT", Pattern: "/api/dashboards/{uid}/annotations/{id}", MinRole: editor, Scope: write, DashboardParam: "uid", Handler: s.handleUpdateAnnotation},
		{Method: "DELETE", Pattern: "/api/dashboards/{uid}/annotations/{id}", MinRole: editor, Scope: write, DashboardParam: "uid", Handler: s.handleDeleteAnnotation},
		{Method: "GET", Pattern: "/api/annotations", MinRole: viewer, Scope: read, Handler: s.handleAnnotations},
	}
}

// caller is the principal the route table authenticated; every route here needs one.
func caller(r *http.Request) (auth.Principal, Author) {
	p, _ := auth.PrincipalFrom(r.Context())
	return p, Author{UserID: p.User.ID, Login: p.User.Login}
}

// role is p's role on dashboard uid.
func (s *Service) role(ctx context.Context, p auth.Principal, uid string) (roles.Role, error) {
	role, err := s.access.DashboardRole(ctx, p, uid)
	if err != nil {
		return "", fmt.Errorf("dashboard role on %s: %w", uid, err)
	}
	return role, nil
}

// requireRole refuses p unless its role on dashboard uid is at least min: for dashboards a
// request names in its body or query, where the route table cannot look.
func (s *Service) requireRole(ctx context.Context, p auth.Principal, uid string, min roles.Role) error {
	role, err := s.role(ctx, p, uid)
	if err != nil {
		return err
	}
	if !role.AtLeast(min) {
		return httpapi.Forbidden("this needs the %s role on dashboard %q", min, httpapi.Truncate(uid, 64))
	}
	return nil
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	p, _ := caller(r)
	list, err := s.List(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	if list, err = keepVisible(r.Context(), s, p, list, func(d Summary) string { return d.UID }); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

// keepVisible returns the items of list that are on dashboards p may see, asking once per
// dashboard.
func keepVisible[T any](ctx context.Context, s *Service, p auth.Principal, list []T, uid func(T) string) ([]T, error) {
	seen := map[string]bool{}
	out := list[:0]
	for _, item := range list {
		u := uid(item)
		ok, known := seen[u]
		if !known {
			role, err := s.role(ctx, p, u)
			if err != nil {
				return nil, err
			}
			ok = role.AtLeast(roles.Viewer)
			seen[u] = ok
		}
		if ok {
			out = append(out, item)
		}
	}
	return out, nil
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("uid")
	st, err := s.Get(r.Context(), uid)
	if err != nil {
		return err
	}
	p, _ := caller(r)
	role, err := s.role(r.Context(), p, uid)
	if err != nil {
		return err
	}
	st.Meta.CanEdit = role.AtLeast(roles.Editor)
	s.recordView(r.Context(), p, uid)
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("uid")
	st, err := s.Get(r.Context(), uid)
	if err != nil {
		return err
	}
	// The uid is a safe file name: ValidUID allows letters, digits, '-' and '_' only.
	w.Header().Set("Content-Disposition", `attachment; filename="`+uid+`.json"`)
	httpapi.WriteJSON(w, http.StatusOK, st.Dashboard)
	return nil
}

// maxQueriesSpan bounds the range a dashboard's queries are expanded for.
const maxQueriesSpan = 5 * 366 * 24 * time.Hour

// handleQueries answers a dashboard's queries expanded for the range from–to (unix ms): its
// variables resolved, the step, and every panel's targets, which the browser then evaluates.
func (s *Service) handleQueries(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	for name := range v {
		if name != "from" && name != "to" {
			return invalid(httpapi.Truncate(name, 32), "unknown query parameter: use from and to")
		}
	}
	from, err := intParam(v, "from")
	if err != nil {
		return err
	}
	to, err := intParam(v, "to")
	if err != nil {
		return err
	}
	if !v.Has("from") || !v.Has("to") || to <= from || to-from > maxQueriesSpan.Milliseconds() {
		return invalid("from", "from and to are unix milliseconds, from before to, at most %d days apart", maxQueriesSpan/(24*time.Hour))
	}
	st, err := s.Get(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	x, err := s.Expand(r.Context(), st.Dashboard, time.UnixMilli(from), time.UnixMilli(to))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, x)
	return nil
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var d Dashboard
	if err := httpapi.DecodeJSON(w, r, &d, maxDashboardBody); err != nil {
		return err
	}
	p, by := caller(r)
	// A role override may already name the uid (a dashboard deleted and made again).
	if d.UID != "" {
		if err := s.requireRole(r.Context(), p, d.UID, roles.Editor); err != nil {
			return err
		}
	}
	st, err := s.Create(r.Context(), by, d)
	if err != nil {
		return err
	}
	st.Meta.CanEdit = true
	httpapi.WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	var d Dashboard
	if err := httpapi.DecodeJSON(w, r, &d, maxDashboardBody); err != nil {
		return err
	}
	uid := r.PathValue("uid")
	switch d.UID {
	case "":
		d.UID = uid
	case uid:
	default:
		return invalid("uid", "must be the uid in the path, %q: a dashboard's uid does not change (create a copy instead)", httpapi.Truncate(uid, 64))
	}
	_, by := caller(r)
	st, err := s.Update(r.Context(), by, d)
	if err != nil {
		return err
	}
	st.Meta.CanEdit = true
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	_, by := caller(r)
	if err := s.Delete(r.Context(), by, r.PathValue("uid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ImportRequest is the body of POST /api/dashboards/import, in Grafana's shape.
type ImportRequest struct {
	// Dashboard is huddle's model (an export from here) or a Grafana dashboard JSON, bare or as
	// Grafana exports it ({"dashboard": …, "meta": …}), converted by [ConvertGrafana].
	Dashboard json.RawMessage `json:"dashboard"`
	// Overwrite replaces a dashboard with the same uid; without it that is a conflict.
	Overwrite bool `json:"overwrite"`
	// Format is "huddle" or "grafana". Empty, the default, tells them apart by the fields only
	// Grafana writes (schemaVersion, templating, or its export's "dashboard").
	Format string `json:"format,omitempty"`
}

// ImportResponse answers an import: the stored dashboard and, one line each, what of a Grafana
// dashboard was not converted (empty for huddle's model and for complete conversions).
type ImportResponse struct {
	Stored
	Skipped []string `json:"skipped"`
}

func (s *Service) handleImport(w http.ResponseWriter, r *http.Request) error {
	// The body is read whole because huddle's model is decoded from it a second time, once a
	// first look has told which format it holds.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDashboardBody))
	if err != nil {
		return fmt.Errorf("read import request: %w", err) // 413 when too large
	}
	var req ImportRequest
	if err := httpapi.DecodeJSONFrom(bytes.NewReader(body), &req); err != nil {
		return err
	}
	d, skipped, err := importedDashboard(body, req)
	if err != nil {
		return err
	}
	p, by := caller(r)
	if d.UID != "" {
		if err := s.requireRole(r.Context(), p, d.UID, roles.Editor); err != nil {
			return err
		}
	}
	st, created, err := s.Import(r.Context(), by, d, req.Overwrite)
	if err != nil {
		return err
	}
	st.Meta.CanEdit = true
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, ImportResponse{Stored: st, Skipped: skipped})
	return nil
}

// importedDashboard reads the dashboard of an import request, body, in its format, with what
// was not converted.
func importedDashboard(body []byte, req ImportRequest) (Dashboard, []string, error) {
	grafana := req.Format == "grafana"
	switch req.Format {
	case "":
		grafana = looksLikeGrafana(req.Dashboard)
	case "grafana", "huddle":
	default:
		return Dashboard{}, nil, invalid("format", "must be huddle or grafana, or left out to tell them apart")
	}
	if grafana {
		return ConvertGrafana(req.Dashboard)
	}
	// Huddle's model is decoded from the whole body, strictly, so that its errors name fields
	// as the request has them (dashboard.panels.gridPos.w); the outer Dashboard field wins over
	// the raw one.
	var own struct {
		ImportRequest
		Dashboard Dashboard `json:"dashboard"`
	}
	if err := httpapi.DecodeJSONFrom(bytes.NewReader(body), &own); err != nil {
		return Dashboard{}, nil, err
	}
	return own.Dashboard, []string{}, nil
}

func (s *Service) handleDashboardAnnotations(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAnnotationQuery(r.URL.Query(), "from", "to", "tags", "matchAny", "limit", "since")
	if err != nil {
		return err
	}
	q.DashboardUID = r.PathValue("uid")
	list, err := s.Annotations(r.Context(), q)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

// handleAnnotations is Grafana's GET /api/annotations: annotations across dashboards, of those
// the caller may see.
func (s *Service) handleAnnotations(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAnnotationQuery(r.URL.Query(), "from", "to", "tags", "matchAny", "limit", "since", "dashboardUID")
	if err != nil {
		return err
	}
	q.DashboardUID = r.URL.Query().Get("dashboardUID")
	list, err := s.Annotations(r.Context(), q)
	if err != nil {
		return err
	}
	p, _ := caller(r)
	if list, err = keepVisible(r.Context(), s, p, list, func(a Annotation) string { return a.DashboardUID }); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

// parseAnnotationQuery reads the query parameters of an annotation list, refusing others, so
// that a misspelt filter is an error rather than a silently wider answer.
func parseAnnotationQuery(v url.Values, allowed ...string) (AnnotationQuery, error) {
	for name := range v {
		if !slices.Contains(allowed, name) {
			return AnnotationQuery{}, invalid(httpapi.Truncate(name, 32), "unknown query parameter: use %s", strings.Join(allowed, ", "))
		}
	}
	var (
		q   AnnotationQuery
		err error
	)
	if q.From, err = intParam(v, "from"); err != nil {
		return q, err
	}
	if q.To, err = intParam(v, "to"); err != nil {
		return q, err
	}
	limit, err := intParam(v, "limit")
	if err != nil {
		return q, err
	}
	q.Limit = int(min(limit, maxAnnotationLimit+1)) // beyond the maximum: refused by Annotations
	if v.Has("since") {
		since, err := intParam(v, "since")
		if err != nil {
			return q, err
		}
		q.Since = &since
	}
	if m := v.Get("matchAny"); m != "" {
		if q.MatchAny, err = strconv.ParseBool(m); err != nil {
			return q, invalid("matchAny", "must be true or false")
		}
	}
	q.Tags = v["tags"]
	return q, nil
}

// intParam reads a non-negative integer query parameter; absent is 0.
func intParam(v url.Values, name string) (int64, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(name, "must be a non-negative integer")
	}
	return n, nil
}

func (s *Service) handleCreateAnnotation(w http.ResponseWriter, r *http.Request) error {
	var in AnnotationInput
	if err := httpapi.DecodeJSON(w, r, &in, maxAnnotationBody); err != nil {
		return err
	}
	_, by := caller(r)
	a, err := s.CreateAnnotation(r.Context(), by, r.PathValue("uid"), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Service) handleUpdateAnnotation(w http.ResponseWriter, r *http.Request) error {
	id, err := annotationID(r)
	if err != nil {
		return err
	}
	var in AnnotationInput
	if err := httpapi.DecodeJSON(w, r, &in, maxAnnotationBody); err != nil {
		return err
	}
	_, by := caller(r)
	a, err := s.UpdateAnnotation(r.Context(), by, r.PathValue("uid"), id, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (s *Service) handleDeleteAnnotation(w http.ResponseWriter, r *http.Request) error {
	id, err := annotationID(r)
	if err != nil {
		return err
	}
	_, by := caller(r)
	if err := s.DeleteAnnotation(r.Context(), by, r.PathValue("uid"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func annotationID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, ErrNoAnnotation.Withf("annotation not found: its id is a positive integer")
	}
	return id, nil
}
