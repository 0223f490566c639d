package dashboard

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// routeRules is the status each caller gets from each route once authorization is done (204 is
// the stub handler: allowed): anonymous, viewer, editor, admin, a viewer with an editor override
// on dashboard d1 (the dashboard every path names), an editor with a viewer override there, an
// admin's key with dashboards:read, and one with dashboards:write. Written out by hand, so that a
// route added without a line here, or a rule that changes, fails the test.
var routeRules = map[string][8]int{
	"GET /api/dashboards":                           {401, 204, 204, 204, 204, 204, 204, 204},
	"POST /api/dashboards":                          {401, 403, 204, 204, 403, 204, 403, 204},
	"POST /api/dashboards/import":                   {401, 403, 204, 204, 403, 204, 403, 204},
	"GET /api/dashboards/{uid}":                     {401, 204, 204, 204, 204, 204, 204, 204},
	"PUT /api/dashboards/{uid}":                     {401, 403, 204, 204, 204, 403, 403, 204},
	"DELETE /api/dashboards/{uid}":                  {401, 403, 204, 204, 204, 403, 403, 204},
	"PUT /api/dashboards/{uid}/star":                {401, 204, 204, 204, 204, 204, 403, 204},
	"DELETE /api/dashboards/{uid}/star":             {401, 204, 204, 204, 204, 204, 403, 204},
	"GET /api/dashboards/{uid}/export":              {401, 204, 204, 204, 204, 204, 204, 204},
	"GET /api/dashboards/{uid}/queries":             {401, 204, 204, 204, 204, 204, 204, 204},
	"GET /api/dashboards/{uid}/annotations":         {401, 204, 204, 204, 204, 204, 204, 204},
	"POST /api/dashboards/{uid}/annotations":        {401, 403, 204, 204, 204, 403, 403, 204},
	"PUT /api/dashboards/{uid}/annotations/{id}":    {401, 403, 204, 204, 204, 403, 403, 204},
	"DELETE /api/dashboards/{uid}/annotations/{id}": {401, 403, 204, 204, 204, 403, 403, 204},
	"GET /api/annotations":                          {401, 204, 204, 204, 204, 204, 204, 204},
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

func TestRouteRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.user("root", roles.Admin)
		raised := e.user("vic", roles.Viewer)
		raised.grant("d1", roles.Editor)
		lowered := e.user("ella", roles.Editor)
		lowered.grant("d1", roles.Viewer)
		callers := []*client{
			{e: e}, e.user("vera", roles.Viewer), e.user("ed", roles.Editor), admin, raised, lowered,
			admin.apiKey(roles.ScopeDashboardsRead), admin.apiKey(roles.ScopeDashboardsWrite),
		}

		routes := e.svc.Routes()
		// The real handlers are replaced by a stub: this test is about who gets through.
		for i := range routes {
			routes[i].Handler = func(w http.ResponseWriter, _ *http.Request) error {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
		}
		e.mux = http.NewServeMux()
		if err := e.auth.Register(e.mux, routes...); err != nil {
			t.Fatal(err)
		}
		if len(routes) != len(routeRules) {
			t.Errorf("%d routes, %d rules", len(routes), len(routeRules))
		}
		for _, rt := range routes {
			want, ok := routeRules[rt.String()]
			if !ok {
				t.Errorf("route %s has no line in routeRules", rt)
				continue
			}
			path := wildcard.ReplaceAllString(rt.Pattern, "d1")
			for i, c := range callers {
				if w := c.do(rt.Method, path, nil); w.Code != want[i] {
					t.Errorf("%s as caller %d (%s): %d, want %d: %s", rt, i, c.user.Login, w.Code, want[i], w.Body)
				}
			}
		}
	})
}
