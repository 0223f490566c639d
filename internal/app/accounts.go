package app

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// dashboardAccess lets a signed-in user onto an existing dashboard when their role there,
// per-dashboard overrides and API key caps included, is at least viewer.
type dashboardAccess struct {
	auth       *auth.Service
	dashboards *dashboard.Service
}

func (d dashboardAccess) DashboardMember(r *http.Request, uid string) (collab.Member, error) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return collab.Member{}, httpapi.ErrUnauthenticated
	}
	role, err := d.auth.DashboardRole(r.Context(), p, uid)
	if err != nil {
		return collab.Member{}, fmt.Errorf("dashboard role: %w", err)
	}
	if !role.AtLeast(roles.Viewer) {
		return collab.Member{}, collab.ErrForbidden
	}
	// Checked after the role, so that nobody learns which dashboards exist that they may not see.
	if _, err := d.dashboards.Get(r.Context(), uid); err != nil {
		return collab.Member{}, fmt.Errorf("dashboard %s: %w", uid, err)
	}
	return member(p, role), nil
}

// Caller is the signed-in user with their own role, for pages on no dashboard.
func (d dashboardAccess) Caller(r *http.Request) (collab.Member, error) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return collab.Member{}, httpapi.ErrUnauthenticated
	}
	return member(p, p.Role), nil
}

func member(p auth.Principal, role roles.Role) collab.Member {
	name := p.User.Name
	if name == "" {
		name = p.User.Login
	}
	return collab.Member{Login: p.User.Login, Name: name, Role: string(role)}
}

// newOIDC builds the OpenID Connect relying party, or nil when single sign-on is off. Its flow
// cookies are sealed with a key derived from the access key, so every node of a cluster can
// finish a login another node started.
func newOIDC(cfg config.Config, publicURL string, accessKey string) (*oidc.Provider, error) {
	o := cfg.OIDC
	if o.Issuer == "" {
		return nil, nil
	}
	mac := hmac.New(sha256.New, []byte(accessKey))
	mac.Write([]byte("huddle oidc flow cookies"))
	p, err := oidc.New(oidc.Config{
		Issuer:       o.Issuer,
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		Scopes:       o.Scopes,
		RoleClaim:    o.RoleClaim,
		RoleMapping:  o.RoleMapping,
		DefaultRole:  o.DefaultRole,
		LoginClaim:   o.LoginClaim,
	}, oidc.Options{PublicURL: publicURL, CookieKey: mac.Sum(nil)})
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return p, nil
}

// oidcRoutes start a single sign-on and finish it with a session of the user the provider
// vouched for, created on first login with the role the claims map to.
func oidcRoutes(p *oidc.Provider, accounts *auth.Service, logger *slog.Logger) []httpapi.Route {
	start := func(w http.ResponseWriter, r *http.Request) error {
		if err := p.Start(w, r); err != nil {
			logger.Warn("single sign-on could not start", "err", err)
			http.Redirect(w, r, "/login?error=oidc", http.StatusSeeOther)
		}
		return nil
	}
	callback := func(w http.ResponseWriter, r *http.Request) error {
		id, err := p.Callback(w, r)
		if err != nil {
			var pe *oidc.ProviderError
			if errors.As(err, &pe) || errors.Is(err, oidc.ErrDenied) {
				logger.Info("single sign-on refused", "login", id.Login, "err", err)
			} else {
				logger.Warn("single sign-on failed", "err", err)
			}
			http.Redirect(w, r, "/login?error=oidc", http.StatusSeeOther)
			return nil
		}
		user, err := accounts.UpsertOIDCUser(r.Context(), id.Issuer, id.Subject, id.Login, id.Name, id.Email, roles.Role(id.Role))
		if err != nil {
			return fmt.Errorf("provision single sign-on user: %w", err)
		}
		if err := accounts.StartSession(r.Context(), w, r, user); err != nil {
			if errors.Is(err, httpapi.ErrForbidden) {
				http.Redirect(w, r, "/login?error=session", http.StatusSeeOther)
				return nil
			}
			return err
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return []httpapi.Route{
		{Method: "GET", Pattern: "/login/oidc", MinRole: roles.Anonymous, Handler: start},
		{Method: "GET", Pattern: "/login/oidc/callback", MinRole: roles.Anonymous, Handler: callback},
	}
}

// viewersRoute serves who is watching a dashboard, with the names of their accounts.
func viewersRoute(d *collab.Directory) httpapi.Route {
	return httpapi.Route{
		Method: "GET", Pattern: "/api/dashboards/{uid}/viewers", MinRole: roles.Viewer, Scope: roles.ScopeDashboardsRead,
		DashboardParam: "uid", Handler: d.Viewers,
	}
}

// presenceRoute serves every dashboard the caller may see with the people on it.
func presenceRoute(d *collab.Directory) httpapi.Route {
	return httpapi.Route{
		Method: "GET", Pattern: "/api/presence", MinRole: roles.Viewer, Scope: roles.ScopeDashboardsRead, Handler: d.Presence,
	}
}

// accountNames names a dashboard's viewers by their accounts; a login whose account was deleted
// meanwhile is shown as itself.
type accountNames struct{ accounts *auth.Service }

func (a accountNames) DisplayName(ctx context.Context, login string) (string, error) {
	u, err := a.accounts.UserByLogin(ctx, login)
	switch {
	case errors.Is(err, auth.ErrUserNotFound):
		return login, nil
	case err != nil:
		return "", err
	}
	return cmp.Or(u.Name, u.Login), nil
}

// negotiateRoute serves the dashboard's client URL through the route table, so it is
// authenticated and role-checked like every other endpoint.
func negotiateRoute(n *collab.Negotiator) httpapi.Route {
	return httpapi.Route{
		Method: "GET", Pattern: "/api/negotiate", MinRole: roles.Viewer, Scope: roles.ScopeDashboardsRead,
		Handler: n.Negotiate,
	}
}
