package auth

import (
	"slices"
	"strings"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// parseRole accepts the role of a user, refusing anything else with a bad request.
func parseRole(s string) (roles.Role, error) {
	r, ok := roles.Parse(s)
	if !ok {
		return "", httpapi.BadRequest("role %q is not viewer, editor or admin", httpapi.Truncate(s, 32))
	}
	return r, nil
}

// parseScopes validates the scopes asked for a new key and returns them sorted and deduplicated.
func parseScopes(in []string) ([]roles.Scope, error) {
	if len(in) == 0 {
		return nil, httpapi.BadRequest("scopes: name at least one of metrics:read, metrics:write, dashboards:read, dashboards:write, admin")
	}
	out := make([]roles.Scope, 0, len(in))
	for _, s := range in {
		sc := roles.Scope(strings.TrimSpace(s))
		if !sc.Grantable() {
			return nil, httpapi.BadRequest("scopes: %q is not one of metrics:read, metrics:write, dashboards:read, dashboards:write, admin", httpapi.Truncate(s, 32))
		}
		out = append(out, sc)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// encodeScopes and decodeScopes store scopes space-separated, as OAuth does.
func encodeScopes(s []roles.Scope) string {
	parts := make([]string, len(s))
	for i, sc := range s {
		parts[i] = string(sc)
	}
	return strings.Join(parts, " ")
}

func decodeScopes(s string) []roles.Scope {
	var out []roles.Scope
	for _, f := range strings.Fields(s) {
		out = append(out, roles.Scope(f))
	}
	return out
}
