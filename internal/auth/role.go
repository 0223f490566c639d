package auth

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Role is what a user may do. Each role grants everything the lower ones do:
// viewer (see dashboards, presence, cursors) < editor (plus annotations, layouts, dashboards) <
// admin (plus users, alert rules, hub and key settings).
type Role string

// The roles, lowest first. RoleAnonymous is never a user's role: a [Route] whose MinRole is
// RoleAnonymous is public.
const (
	RoleAnonymous Role = "anonymous"
	RoleViewer    Role = "viewer"
	RoleEditor    Role = "editor"
	RoleAdmin     Role = "admin"
)

// rank orders the roles; -1 marks a string that is no role, which grants nothing.
func (r Role) rank() int {
	switch r {
	case RoleAnonymous:
		return 0
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return -1
}

// AtLeast reports whether r grants everything min grants. An unknown role grants nothing and is
// granted by nothing.
func (r Role) AtLeast(min Role) bool {
	return min.rank() >= 0 && r.rank() >= min.rank()
}

// lower returns the lesser of two roles: what an API key may do is capped by its owner's role.
func lower(a, b Role) Role {
	if a.rank() < b.rank() {
		return a
	}
	return b
}

// ParseRole accepts the role of a user: viewer, editor or admin, in any case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() < RoleViewer.rank() {
		return "", badRequest("role %q is not viewer, editor or admin", Truncate(s, 32))
	}
	return r, nil
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
	ScopeAdmin           Scope = "admin"
)

// Values of a Route's Scope that no key holds. SessionOnly, the zero value, keeps API keys out:
// a route declared without a scope is therefore closed to automation rather than open to it.
const (
	SessionOnly Scope = ""
	AnyScope    Scope = "*"
)

// grantableScopes are the scopes a key may be created with, in the order they are documented.
var grantableScopes = []Scope{ScopeMetricsRead, ScopeMetricsWrite, ScopeDashboardsRead, ScopeDashboardsWrite, ScopeAdmin}

// parseScopes validates the scopes asked for a new key and returns them sorted and deduplicated.
func parseScopes(in []string) ([]Scope, error) {
	if len(in) == 0 {
		return nil, badRequest("scopes: name at least one of metrics:read, metrics:write, dashboards:read, dashboards:write, admin")
	}
	out := make([]Scope, 0, len(in))
	for _, s := range in {
		sc := Scope(strings.TrimSpace(s))
		if !slices.Contains(grantableScopes, sc) {
			return nil, badRequest("scopes: %q is not one of metrics:read, metrics:write, dashboards:read, dashboards:write, admin", Truncate(s, 32))
		}
		out = append(out, sc)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// covers reports whether a key holding have may call a route that requires need.
func covers(have []Scope, need Scope) bool {
	switch need {
	case SessionOnly:
		return false
	case AnyScope:
		return true
	}
	for _, h := range have {
		if h == need || h == ScopeAdmin || (h == ScopeDashboardsWrite && need == ScopeDashboardsRead) ||
			(h == ScopeMetricsWrite && need == ScopeMetricsRead) {
			return true
		}
	}
	return false
}

// encodeScopes and decodeScopes store scopes space-separated, as OAuth does.
func encodeScopes(s []Scope) string {
	parts := make([]string, len(s))
	for i, sc := range s {
		parts[i] = string(sc)
	}
	return strings.Join(parts, " ")
}

func decodeScopes(s string) []Scope {
	var out []Scope
	for _, f := range strings.Fields(s) {
		out = append(out, Scope(f))
	}
	return out
}

// Truncate bounds user input echoed in error messages and logs, cutting at a character
// boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
