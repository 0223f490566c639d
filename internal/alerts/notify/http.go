package notify

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// Request body limits: a contact point or silence is a few fields; a policy of maxRoutes routes
// with their matchers fits many times over.
const (
	maxContactPointBody = 64 << 10
	maxPolicyBody       = 1 << 20
	maxSilenceBody      = 64 << 10
	maxDeliveriesLimit  = 1000
)

// Routes is the notification API, each route with its rule, for auth.Service.Register.
func (d *Dispatcher) Routes() []httpapi.Route {
	const (
		viewer, editor = roles.Viewer, roles.Editor
		read, write    = roles.ScopeAlertsRead, roles.ScopeAlertsWrite
	)
	return []httpapi.Route{
		{Method: "GET", Pattern: "/api/alerting/contact-points", MinRole: viewer, Scope: read, Handler: d.handleListContactPoints},
		{Method: "POST", Pattern: "/api/alerting/contact-points", MinRole: editor, Scope: write, Handler: d.handleSaveContactPoint},
		{Method: "GET", Pattern: "/api/alerting/contact-points/{id}", MinRole: viewer, Scope: read, Handler: d.handleGetContactPoint},
		{Method: "PUT", Pattern: "/api/alerting/contact-points/{id}", MinRole: editor, Scope: write, Handler: d.handleSaveContactPoint},
		{Method: "DELETE", Pattern: "/api/alerting/contact-points/{id}", MinRole: editor, Scope: write, Handler: d.handleDeleteContactPoint},
		{Method: "POST", Pattern: "/api/alerting/contact-points/{id}/test", MinRole: editor, Scope: write, Handler: d.handleTest},
		{Method: "GET", Pattern: "/api/alerting/policies", MinRole: viewer, Scope: read, Handler: d.handleGetPolicy},
		{Method: "PUT", Pattern: "/api/alerting/policies", MinRole: editor, Scope: write, Handler: d.handleSetPolicy},
		{Method: "GET", Pattern: "/api/alerting/silences", MinRole: viewer, Scope: read, Handler: d.handleListSilences},
		{Method: "POST", Pattern: "/api/alerting/silences", MinRole: editor, Scope: write, Handler: d.handleCreateSilence},
		{Method: "DELETE", Pattern: "/api/alerting/silences/{id}", MinRole: editor, Scope: write, Handler: d.handleExpireSilence},
		{Method: "GET", Pattern: "/api/alerting/deliveries", MinRole: viewer, Scope: read, Handler: d.handleDeliveries},
	}
}

// login names the caller in what it changes.
func login(r *http.Request) string {
	p, _ := auth.PrincipalFrom(r.Context())
	return p.User.Login
}

func (d *Dispatcher) handleListContactPoints(w http.ResponseWriter, r *http.Request) error {
	list, err := d.ContactPoints(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []ContactPoint{}
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (d *Dispatcher) handleGetContactPoint(w http.ResponseWriter, r *http.Request) error {
	cp, err := d.ContactPoint(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, cp)
	return nil
}

// handleSaveContactPoint creates (POST) or replaces (PUT …/{id}) a contact point.
func (d *Dispatcher) handleSaveContactPoint(w http.ResponseWriter, r *http.Request) error {
	// The body is read raw first: its settings' shape depends on its kind, and the errors of
	// ContactPoint.UnmarshalJSON name the field at fault.
	var raw json.RawMessage
	if err := httpapi.DecodeJSON(w, r, &raw, maxContactPointBody); err != nil {
		return err
	}
	var cp ContactPoint
	if err := cp.UnmarshalJSON(raw); err != nil {
		return err
	}
	id := r.PathValue("id")
	switch {
	case id == "" && cp.ID != "":
		return httpapi.Invalid("id", "a new contact point gets its id from the server")
	case id != "" && cp.ID != "" && cp.ID != id:
		return httpapi.Invalid("id", "the body's id differs from the path's")
	}
	cp.ID = id
	saved, err := d.SaveContactPoint(r.Context(), cp, login(r))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == "" {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, saved)
	return nil
}

func (d *Dispatcher) handleDeleteContactPoint(w http.ResponseWriter, r *http.Request) error {
	if err := d.DeleteContactPoint(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleTest answers the test's delivery, failed or not: 200 means the test was made.
func (d *Dispatcher) handleTest(w http.ResponseWriter, r *http.Request) error {
	dl, err := d.Test(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, dl)
	return nil
}

func (d *Dispatcher) handleGetPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := d.Policy(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (d *Dispatcher) handleSetPolicy(w http.ResponseWriter, r *http.Request) error {
	var p Policy
	if err := httpapi.DecodeJSON(w, r, &p, maxPolicyBody); err != nil {
		return err
	}
	saved, err := d.SetPolicy(r.Context(), p, login(r))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, saved)
	return nil
}

func (d *Dispatcher) handleListSilences(w http.ResponseWriter, r *http.Request) error {
	list, err := d.Silences(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (d *Dispatcher) handleCreateSilence(w http.ResponseWriter, r *http.Request) error {
	var s Silence
	if err := httpapi.DecodeJSON(w, r, &s, maxSilenceBody); err != nil {
		return err
	}
	switch {
	case s.ID != "":
		return httpapi.Invalid("id", "a new silence gets its id from the server")
	case s.State != "":
		return httpapi.Invalid("state", "a silence's state follows from its times")
	case s.CreatedBy != "":
		return httpapi.Invalid("createdBy", "createdBy is the caller")
	}
	s.CreatedBy = login(r)
	saved, err := d.CreateSilence(r.Context(), s)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, saved)
	return nil
}

func (d *Dispatcher) handleExpireSilence(w http.ResponseWriter, r *http.Request) error {
	if err := d.ExpireSilence(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Dispatcher) handleDeliveries(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	var f DeliveryFilter
	for name := range v {
		switch name {
		case "incident":
			f.IncidentID = v.Get(name)
		case "fingerprint":
			f.Fingerprint = v.Get(name)
		case "limit":
			n, err := strconv.Atoi(v.Get(name))
			if err != nil || n < 1 || n > maxDeliveriesLimit {
				return httpapi.Invalid("limit", "limit is a number from 1 to %d", maxDeliveriesLimit)
			}
			f.Limit = n
		default:
			return httpapi.Invalid(httpapi.Truncate(name, 32), "unknown query parameter: use incident, fingerprint and limit")
		}
	}
	list, err := d.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}
