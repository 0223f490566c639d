package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// Principal is who a request is authenticated as.
type Principal struct {
	User User
	// Role is what route checks use: the user's role, capped by the key's role for an API key.
	Role roles.Role
	// Key is the API key the request was authenticated with; nil for a session.
	Key *APIKey

	// sessionHash identifies the session a cookie-authenticated request came with, for logout.
	sessionHash string
}

// Actor is the principal as the audit log records it, with the request's client address.
func (s *Service) actor(r *http.Request) Actor {
	a := Actor{RemoteAddr: s.ClientAddr(r)}
	if p, ok := PrincipalFrom(r.Context()); ok {
		a.Login = p.User.Login
	}
	return a
}

type principalKey struct{}

// PrincipalFrom returns the principal Authenticate found for the request, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// EffectiveRole is the user's role on one dashboard. An override in dashboard_permissions
// replaces the user's role there, raising it (a viewer who edits one dashboard) or lowering it (an
// editor who may only watch a sensitive one); admins are admins everywhere, so that no dashboard
// can be locked away from administration.
func (s *Service) EffectiveRole(ctx context.Context, user User, dashboardUID string) (roles.Role, error) {
	if user.Role == roles.Admin {
		return roles.Admin, nil
	}
	var role roles.Role
	err := s.store.DB().QueryRowContext(ctx, s.q(`SELECT role FROM dashboard_permissions
		WHERE dashboard_uid = ? AND user_id = ?`), dashboardUID, user.ID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return user.Role, nil
	}
	if err != nil {
		return "", fmt.Errorf("look up dashboard role: %w", err)
	}
	return role, nil
}

// DashboardRole is what p may do on one dashboard: the user's EffectiveRole there, capped by the
// API key's role when p is a key.
func (s *Service) DashboardRole(ctx context.Context, p Principal, dashboardUID string) (roles.Role, error) {
	role, err := s.EffectiveRole(ctx, p.User, dashboardUID)
	if err != nil {
		return "", err
	}
	if p.Key != nil {
		role = roles.Lower(role, p.Key.Role)
	}
	return role, nil
}

// SetDashboardRole gives a user a role on one dashboard that replaces their own there (see
// EffectiveRole); an empty role removes the override.
func (s *Service) SetDashboardRole(ctx context.Context, actor Actor, dashboardUID, userID string, role roles.Role) error {
	if !collab.ValidUID(dashboardUID) {
		return httpapi.BadRequest("dashboard uid must be %s", collab.UIDRule)
	}
	if role != "" {
		var err error
		if role, err = parseRole(string(role)); err != nil {
			return err
		}
	}
	return s.store.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userBy(ctx, tx, "u.id = ?", userID)
		if err != nil {
			return err
		}
		var previous roles.Role
		err = tx.QueryRowContext(ctx, s.q(`SELECT role FROM dashboard_permissions WHERE dashboard_uid = ? AND user_id = ?`),
			dashboardUID, userID).Scan(&previous)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up dashboard role: %w", err)
		}
		if previous == role {
			return nil
		}
		if role == "" {
			_, err = tx.ExecContext(ctx, s.q(`DELETE FROM dashboard_permissions WHERE dashboard_uid = ? AND user_id = ?`),
				dashboardUID, userID)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO dashboard_permissions (dashboard_uid, user_id, role) VALUES (?, ?, ?)
				ON CONFLICT (dashboard_uid, user_id) DO UPDATE SET role = excluded.role`), dashboardUID, userID, role)
		}
		if err != nil {
			return fmt.Errorf("set dashboard role: %w", err)
		}
		return s.audit(ctx, tx, actor, ActionDashboardRole, "dashboard:"+dashboardUID+"/user:"+u.Login,
			map[string]any{"from": previous, "to": role})
	})
}

// DashboardGrant is one user's role override on a dashboard.
type DashboardGrant struct {
	UserID string     `json:"userId"`
	Login  string     `json:"login"`
	Role   roles.Role `json:"role"`
}

// DashboardRoles lists a dashboard's role overrides, by login.
func (s *Service) DashboardRoles(ctx context.Context, dashboardUID string) ([]DashboardGrant, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.q(`SELECT p.user_id, u.login, p.role FROM dashboard_permissions p
		JOIN users u ON u.id = p.user_id WHERE p.dashboard_uid = ? ORDER BY u.login`), dashboardUID)
	if err != nil {
		return nil, fmt.Errorf("list dashboard roles: %w", err)
	}
	defer rows.Close()
	grants := []DashboardGrant{}
	for rows.Next() {
		var g DashboardGrant
		if err := rows.Scan(&g.UserID, &g.Login, &g.Role); err != nil {
			return nil, fmt.Errorf("list dashboard roles: %w", err)
		}
		grants = append(grants, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dashboard roles: %w", err)
	}
	return grants, nil
}
