package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/huddle-dev/huddle/internal/roles"
)

// HandlerFunc is a handler that returns its error instead of writing it; an [ErrorWriter]
// answers the error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// FromHTTP adapts a handler that answers everything itself, its errors included (a file server,
// a protocol's own receiver), to a route.
func FromHTTP(h http.Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// Route declares one endpoint and who may call it. Every route of the API is declared in a table
// of Routes, so authorization is read in one place and tested for every route and role.
type Route struct {
	Method  string // GET, POST, …
	Pattern string // a net/http ServeMux path pattern, e.g. /api/users/{id}
	// MinRole is the least role a caller needs; roles.Anonymous makes the route public. There is
	// no default: Check refuses a route without one.
	MinRole roles.Role
	// Scope is what an API key must hold to call the route; roles.SessionOnly (the zero value)
	// refuses API keys and roles.AnyScope accepts every key. Sessions are not limited by scopes.
	Scope roles.Scope
	// DashboardParam, if set, names the pattern's wildcard holding a dashboard uid: MinRole is
	// then checked against the caller's role on that dashboard.
	DashboardParam string
	Handler        HandlerFunc
}

func (rt Route) String() string { return rt.Method + " " + rt.Pattern }

// Check refuses a route declared without a complete rule.
func (rt Route) Check() error {
	switch {
	case rt.Method == "" || strings.ContainsAny(rt.Method, " /"):
		return fmt.Errorf("route %q: Method is required", rt)
	case !strings.HasPrefix(rt.Pattern, "/"):
		return fmt.Errorf("route %q: Pattern must be a path", rt)
	case !rt.MinRole.Valid():
		return fmt.Errorf("route %q: MinRole %q is not anonymous, viewer, editor or admin", rt, rt.MinRole)
	case rt.Scope != roles.SessionOnly && rt.Scope != roles.AnyScope && !rt.Scope.Grantable():
		return fmt.Errorf("route %q: unknown Scope %q", rt, rt.Scope)
	case rt.DashboardParam != "" && !strings.Contains(rt.Pattern, "{"+rt.DashboardParam+"}"):
		return fmt.Errorf("route %q: DashboardParam %q is not a wildcard of the pattern", rt, rt.DashboardParam)
	case rt.Handler == nil:
		return fmt.Errorf("route %q: Handler is required", rt)
	}
	return nil
}
