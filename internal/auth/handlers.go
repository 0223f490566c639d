package auth

import (
	"net/http"
	"strconv"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// Routes is the service's route table: its whole HTTP API and who may call each endpoint.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Pattern: "/login", MinRole: roles.Anonymous, Handler: s.handleLoginPage},
		{Method: "POST", Pattern: "/api/login", MinRole: roles.Anonymous, Handler: s.handleLogin},
		{Method: "POST", Pattern: "/api/logout", MinRole: roles.Viewer, Handler: s.handleLogout},
		{Method: "POST", Pattern: "/api/logout/all", MinRole: roles.Viewer, Handler: s.handleLogoutAll},
		{Method: "GET", Pattern: "/api/me", MinRole: roles.Viewer, Scope: roles.AnyScope, Handler: s.handleMe},
		{Method: "POST", Pattern: "/api/me/password", MinRole: roles.Viewer, Handler: s.handleChangePassword},

		{Method: "GET", Pattern: "/api/users", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleListUsers},
		{Method: "POST", Pattern: "/api/users", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleCreateUser},
		{Method: "GET", Pattern: "/api/users/{id}", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleGetUser},
		{Method: "PATCH", Pattern: "/api/users/{id}", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleUpdateUser},
		{Method: "DELETE", Pattern: "/api/users/{id}", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleDeleteUser},
		{Method: "DELETE", Pattern: "/api/users/{id}/sessions", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleRevokeSessions},

		// Keys are managed from a session only: a leaked key must not be able to mint keys
		// that outlive its own revocation.
		{Method: "GET", Pattern: "/api/keys", MinRole: roles.Viewer, Handler: s.handleListKeys},
		{Method: "POST", Pattern: "/api/keys", MinRole: roles.Viewer, Handler: s.handleCreateKey},
		{Method: "DELETE", Pattern: "/api/keys/{id}", MinRole: roles.Viewer, Handler: s.handleRevokeKey},

		{Method: "GET", Pattern: "/api/audit", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleAudit},

		// Per-dashboard role overrides are administration, whatever the dashboard role.
		{Method: "GET", Pattern: "/api/dashboards/{uid}/permissions", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleListDashboardRoles},
		{Method: "PUT", Pattern: "/api/dashboards/{uid}/permissions/{userId}", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleSetDashboardRole},
		{Method: "DELETE", Pattern: "/api/dashboards/{uid}/permissions/{userId}", MinRole: roles.Admin, Scope: roles.ScopeAdmin, Handler: s.handleSetDashboardRole},
	}
}

// handleListDashboardRoles is GET /api/dashboards/{uid}/permissions.
func (s *Service) handleListDashboardRoles(w http.ResponseWriter, r *http.Request) error {
	grants, err := s.DashboardRoles(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, grants)
	return nil
}

// handleSetDashboardRole is PUT (body {"role":"editor"}) or DELETE of one user's override.
func (s *Service) handleSetDashboardRole(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Role roles.Role `json:"role"`
	}
	if r.Method == http.MethodPut {
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		if body.Role == "" {
			return httpapi.BadRequest("role is required: viewer, editor or admin (DELETE removes the override)")
		}
	}
	if err := s.SetDashboardRole(r.Context(), s.actor(r), r.PathValue("uid"), r.PathValue("userId"), body.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// meJSON is GET /api/me: who the caller is and the role requests are checked against.
type meJSON struct {
	ID    string     `json:"id"`
	Login string     `json:"login"`
	Name  string     `json:"name"`
	Email string     `json:"email"`
	Role  roles.Role `json:"role"`
}

// userJSON is a user as admins see it.
type userJSON struct {
	ID       string     `json:"id"`
	Login    string     `json:"login"`
	Name     string     `json:"name"`
	Email    string     `json:"email"`
	Role     roles.Role `json:"role"`
	Disabled bool       `json:"disabled"`
	// Provider is "local" (password) or "oidc".
	Provider string `json:"provider"`
	// LockedUntil is when the last lockout of the login ends, from the addresses (on this node)
	// that failed too often; other addresses may still sign in.
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

func (s *Service) userJSON(u User) userJSON {
	j := userJSON{
		ID: u.ID, Login: u.Login, Name: u.Name, Email: u.Email, Role: u.Role, Disabled: u.Disabled,
		Provider: "local", CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
	if u.OIDCIssuer != "" {
		j.Provider = "oidc"
	}
	if until := s.lockouts.latest(u.Login, s.now()); !until.IsZero() {
		t := until.UTC()
		j.LockedUntil = &t
	}
	return j
}

// keyJSON is an API key as listed; Key is set only in the answer that creates it.
type keyJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Prefix     string        `json:"prefix"`
	Owner      string        `json:"owner"`
	Role       roles.Role    `json:"role"`
	Scopes     []roles.Scope `json:"scopes"`
	CreatedAt  time.Time     `json:"createdAt"`
	ExpiresAt  *time.Time    `json:"expiresAt"`
	RevokedAt  *time.Time    `json:"revokedAt"`
	LastUsedAt *time.Time    `json:"lastUsedAt"`
	Key        string        `json:"key,omitempty"`
}

func toKeyJSON(k APIKey) keyJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []roles.Scope{}
	}
	return keyJSON{
		ID: k.ID, Name: k.Name, Prefix: k.Prefix, Owner: k.Login, Role: k.Role, Scopes: scopes,
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: opt(k.ExpiresAt), RevokedAt: opt(k.RevokedAt), LastUsedAt: opt(k.LastUsedAt),
	}
}

// principal is the caller of a route that is not public; authorize has checked there is one.
func principal(r *http.Request) Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c := s.client(r)
	u, token, err := s.Login(r.Context(), LoginInput{
		Login: req.User, Password: req.Password, RemoteAddr: c.addr, UserAgent: c.userAgent, PreviousToken: cookieToken(r),
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, r, token)
	httpapi.WriteJSON(w, http.StatusOK, meJSON{ID: u.ID, Login: u.Login, Name: u.Name, Email: u.Email, Role: u.Role})
	return nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if p := principal(r); p.sessionHash != "" {
		if err := s.logout(r.Context(), p, s.actor(r)); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleLogoutAll(w http.ResponseWriter, r *http.Request) error {
	if err := s.RevokeSessions(r.Context(), s.actor(r), principal(r).User.ID); err != nil {
		return err
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	httpapi.WriteJSON(w, http.StatusOK, meJSON{ID: p.User.ID, Login: p.User.Login, Name: p.User.Name, Email: p.User.Email, Role: p.Role})
	return nil
}

// handleChangePassword ends every session of the user, including this one, and signs this
// client in again with a new token, so a password change also throws out whoever else was in.
func (s *Service) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p := principal(r)
	if err := s.ChangePassword(r.Context(), s.actor(r), p.User.ID, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	if err := s.startSession(r.Context(), w, r, p.User.ID, "password change"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.Users(r.Context())
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = s.userJSON(u)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Login    string     `json:"login"`
		Name     string     `json:"name"`
		Email    string     `json:"email"`
		Role     roles.Role `json:"role"`
		Password string     `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.CreateUser(r.Context(), s.actor(r), NewUser{
		Login: req.Login, Name: req.Name, Email: req.Email, Role: req.Role, Password: req.Password,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/users/"+u.ID)
	httpapi.WriteJSON(w, http.StatusCreated, s.userJSON(u))
	return nil
}

func (s *Service) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.userJSON(u))
	return nil
}

func (s *Service) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     *string     `json:"name"`
		Email    *string     `json:"email"`
		Role     *roles.Role `json:"role"`
		Disabled *bool       `json:"disabled"`
		Password *string     `json:"password"`
		Unlock   bool        `json:"unlock"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.UpdateUser(r.Context(), s.actor(r), r.PathValue("id"), UserUpdate{
		Name: req.Name, Email: req.Email, Role: req.Role, Disabled: req.Disabled, Password: req.Password, Unlock: req.Unlock,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.userJSON(u))
	return nil
}

func (s *Service) handleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.DeleteUser(r.Context(), s.actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleRevokeSessions(w http.ResponseWriter, r *http.Request) error {
	if err := s.RevokeSessions(r.Context(), s.actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleListKeys lists the caller's keys; ?all=true lists everyone's, for admins.
func (s *Service) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	owner := p.User.ID
	if all := r.URL.Query().Get("all"); all != "" {
		b, err := strconv.ParseBool(all)
		if err != nil {
			return httpapi.BadRequest("all must be true or false")
		}
		if b && !p.Role.AtLeast(roles.Admin) {
			return httpapi.Forbidden("only admins may list every user's keys")
		}
		if b {
			owner = ""
		}
	}
	keys, err := s.APIKeys(r.Context(), owner)
	if err != nil {
		return err
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = toKeyJSON(k)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// maxKeyDays bounds expiresInDays so that the duration cannot overflow.
const maxKeyDays = 3650

func (s *Service) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name          string     `json:"name"`
		Role          roles.Role `json:"role"`
		Scopes        []string   `json:"scopes"`
		ExpiresInDays int        `json:"expiresInDays"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > maxKeyDays {
		return httpapi.BadRequest("expiresInDays must be 0 (never) to %d", maxKeyDays)
	}
	k, secret, err := s.CreateAPIKey(r.Context(), s.actor(r), principal(r).User, NewAPIKey{
		Name: req.Name, Role: req.Role, Scopes: req.Scopes, ExpiresIn: time.Duration(req.ExpiresInDays) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	out := toKeyJSON(k)
	out.Key = secret
	httpapi.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// handleRevokeKey revokes one of the caller's keys, or anyone's for an admin. Another user's key
// is "not found" to a non-admin, so ids cannot be probed.
func (s *Service) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	k, err := s.APIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if k.UserID != p.User.ID && !p.Role.AtLeast(roles.Admin) {
		return ErrAPIKeyNotFound
	}
	if err := s.RevokeAPIKey(r.Context(), s.actor(r), k.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var (
		aq  = AuditQuery{Actor: q.Get("actor"), Action: q.Get("action")}
		err error
	)
	for name, dst := range map[string]*time.Time{"from": &aq.From, "to": &aq.To} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return httpapi.BadRequest("%s must be an RFC 3339 time such as 2025-01-31T12:00:00Z", name)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if aq.Limit, err = strconv.Atoi(v); err != nil || aq.Limit < 1 || aq.Limit > maxAuditLimit {
			return httpapi.BadRequest("limit must be a number from 1 to %d", maxAuditLimit)
		}
	}
	entries, err := s.Audit(r.Context(), aq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, entries)
	return nil
}
