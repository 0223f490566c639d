// Package roles names what a caller may do: the roles of users (viewer < editor < admin) and the
// scopes that limit an API key on top of its role. It only compares and parses them; who holds
// which role is the business of package auth.
package roles

import (
	"slices"
	"strings"
)

// Role is what a user may do. Each role grants everything the lower ones do:
// viewer (see dashboards, metrics, presence, cursors) < editor (plus dashboards, annotations and
// remote write of metrics) < admin (plus users, the audit log, everyone's API keys,
// per-dashboard roles and the connection string).
type Role string

// The roles, lowest first. Anonymous is never a user's role: a route whose least role is
// Anonymous is public.
const (
	Anonymous Role = "anonymous"
	Viewer    Role = "viewer"
	Editor    Role = "editor"
	Admin     Role = "admin"
)

// rank orders the roles; -1 marks a string that is no role, which grants nothing.
func (r Role) rank() int {
	switch r {
	case Anonymous:
		return 0
	case Viewer:
		return 1
	case Editor:
		return 2
	case Admin:
		return 3
	}
	return -1
}

// Valid reports whether r is one of the roles, Anonymous included.
func (r Role) Valid() bool { return r.rank() >= 0 }

// AtLeast reports whether r grants everything min grants. An unknown role grants nothing and is
// granted by nothing.
func (r Role) AtLeast(min Role) bool {
	return min.rank() >= 0 && r.rank() >= min.rank()
}

// Lower returns the lesser of two roles: what an API key may do is capped by its owner's role.
func Lower(a, b Role) Role {
	if a.rank() < b.rank() {
		return a
	}
	return b
}

// Parse accepts the role of a user: viewer, editor or admin, in any case. Anonymous is not a
// user's role and is refused.
func Parse(s string) (Role, bool) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() < Viewer.rank() {
		return "", false
	}
	return r, true
}

// Scope limits what an API key may do, on top of its role. Sessions are not limited by scopes.
type Scope string

// Scopes an API key may hold. ScopeAdmin implies every other scope and each write scope implies
// its read scope, so a key never needs a list of every lesser scope.
const (
	ScopeMetricsRead     Scope = "metrics:read"
	ScopeMetricsWrite    Scope = "metrics:write"
	ScopeDashboardsRead  Scope = "dashboards:read"
	ScopeDashboardsWrite Scope = "dashboards:write"
	ScopeAlertsRead      Scope = "alerts:read"
	ScopeAlertsWrite     Scope = "alerts:write"
	ScopeAdmin           Scope = "admin"
)

// Values of a route's Scope that no key holds. SessionOnly, the zero value, keeps API keys out:
// a route declared without a scope is therefore closed to automation rather than open to it.
const (
	SessionOnly Scope = ""
	AnyScope    Scope = "*"
)

// grantable are the scopes a key may be created with, in the order they are documented.
var grantable = []Scope{ScopeMetricsRead, ScopeMetricsWrite, ScopeDashboardsRead, ScopeDashboardsWrite, ScopeAlertsRead, ScopeAlertsWrite, ScopeAdmin}

// GrantableScopes are the scopes a key may be created with, in the order they are documented.
func GrantableScopes() []Scope { return slices.Clone(grantable) }

// Grantable reports whether a key may be created with s.
func (s Scope) Grantable() bool { return slices.Contains(grantable, s) }

// Covers reports whether a key holding have may call a route that requires need.
func Covers(have []Scope, need Scope) bool {
	switch need {
	case SessionOnly:
		return false
	case AnyScope:
		return true
	}
	for _, h := range have {
		if h == need || h == ScopeAdmin || (h == ScopeDashboardsWrite && need == ScopeDashboardsRead) ||
			(h == ScopeMetricsWrite && need == ScopeMetricsRead) || (h == ScopeAlertsWrite && need == ScopeAlertsRead) {
			return true
		}
	}
	return false
}
