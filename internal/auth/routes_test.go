package auth

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// The callers every route is tried with. The keys belong to an admin and have the admin role, so
// that only their scopes decide.
const (
	anonymous = iota
	viewerSession
	editorSession
	adminSession
	keyWithScope    // a key whose scopes cover the route's roles.Scope
	keyWithoutScope // a key whose scopes do not
	callers
)

var callerNames = [callers]string{"anonymous", "viewer", "editor", "admin", "key with scope", "key without scope"}

// routeRules is the status each caller gets from each route once authorization is done (204 is
// the stub handler: allowed). It is written out by hand rather than derived from the table: a
// route added to Routes without a line here fails TestRouteTable, and so does a rule that
// changes without this table changing with it.
var routeRules = map[string][callers]int{
	"GET /login":                                        {204, 204, 204, 204, 204, 204},
	"POST /api/login":                                   {204, 204, 204, 204, 204, 204},
	"POST /api/logout":                                  {401, 204, 204, 204, 403, 403},
	"POST /api/logout/all":                              {401, 204, 204, 204, 403, 403},
	"GET /api/me":                                       {401, 204, 204, 204, 204, 204},
	"POST /api/me/password":                             {401, 204, 204, 204, 403, 403},
	"GET /api/users":                                    {401, 403, 403, 204, 204, 403},
	"POST /api/users":                                   {401, 403, 403, 204, 204, 403},
	"GET /api/users/{id}":                               {401, 403, 403, 204, 204, 403},
	"PATCH /api/users/{id}":                             {401, 403, 403, 204, 204, 403},
	"DELETE /api/users/{id}":                            {401, 403, 403, 204, 204, 403},
	"DELETE /api/users/{id}/sessions":                   {401, 403, 403, 204, 204, 403},
	"GET /api/keys":                                     {401, 204, 204, 204, 403, 403},
	"POST /api/keys":                                    {401, 204, 204, 204, 403, 403},
	"DELETE /api/keys/{id}":                             {401, 204, 204, 204, 403, 403},
	"GET /api/audit":                                    {401, 403, 403, 204, 204, 403},
	"GET /api/dashboards/{uid}/permissions":             {401, 403, 403, 204, 204, 403},
	"PUT /api/dashboards/{uid}/permissions/{userId}":    {401, 403, 403, 204, 204, 403},
	"DELETE /api/dashboards/{uid}/permissions/{userId}": {401, 403, 403, 204, 204, 403},
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

func TestRouteTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.user("root", roles.Admin)
		e.user("vera", roles.Viewer)
		e.user("ed", roles.Editor)
		sessions := map[int]string{viewerSession: e.login("vera"), editorSession: e.login("ed"), adminSession: e.login("root")}
		keys := map[roles.Scope]string{}
		for _, sc := range roles.GrantableScopes() {
			keys[sc] = e.key(admin, roles.Admin, sc)
		}

		routes := e.s.Routes()
		// The real handlers are replaced by a stub: this test is about who gets through.
		for i := range routes {
			routes[i].Handler = func(w http.ResponseWriter, _ *http.Request) error {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
		}
		mux := http.NewServeMux()
		if err := e.s.register(mux, routes); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, rt := range routes {
			name := rt.String()
			seen = append(seen, name)
			want, ok := routeRules[name]
			if !ok {
				t.Errorf("route %s has no line in routeRules: add the status each caller must get", name)
				continue
			}
			with, without := roles.ScopeAdmin, roles.ScopeMetricsRead
			if slices.Contains(roles.GrantableScopes(), rt.Scope) {
				with = rt.Scope
				for _, sc := range roles.GrantableScopes() {
					if !roles.Covers([]roles.Scope{sc}, rt.Scope) {
						without = sc
						break
					}
				}
			}
			path := wildcard.ReplaceAllString(rt.Pattern, "x1")
			for c := range callers {
				var opts []reqOpt
				switch c {
				case viewerSession, editorSession, adminSession:
					opts = append(opts, cookie(sessions[c]))
				case keyWithScope:
					opts = append(opts, bearer(keys[with]))
				case keyWithoutScope:
					opts = append(opts, bearer(keys[without]))
				}
				w := serve(t, mux, rt.Method, path, nil, opts...)
				if w.Code != want[c] {
					t.Errorf("%s as %s: %d, want %d (%s)", name, callerNames[c], w.Code, want[c], strings.TrimSpace(w.Body.String()))
				}
			}
		}
		for name := range routeRules {
			if !slices.Contains(seen, name) {
				t.Errorf("routeRules has %s, which is not in the table", name)
			}
		}
	})
}

// TestDashboardRoute checks a route whose role is the caller's role on one dashboard, as the
// dashboard package will declare them.
func TestDashboardRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		root := e.user("root", roles.Admin)
		vera := e.user("vera", roles.Viewer)
		ed := e.user("ed", roles.Editor)
		if err := e.s.SetDashboardRole(t.Context(), Actor{Login: "root"}, "ops", vera.ID, roles.Editor); err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetDashboardRole(t.Context(), Actor{Login: "root"}, "secret", ed.ID, roles.Viewer); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		err := e.s.register(mux, []httpapi.Route{{
			Method: "POST", Pattern: "/api/dashboards/{uid}/annotations", MinRole: roles.Editor,
			Scope: roles.ScopeDashboardsWrite, DashboardParam: "uid",
			Handler: func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusCreated); return nil },
		}})
		if err != nil {
			t.Fatal(err)
		}
		vs, es, rs := e.login("vera"), e.login("ed"), e.login("root")
		veraKey := e.key(vera, roles.Viewer, roles.ScopeDashboardsWrite)
		rootKey := e.key(root, roles.Editor, roles.ScopeDashboardsWrite)
		for _, tc := range []struct {
			dash string
			opt  reqOpt
			want int
		}{
			{"ops", cookie(vs), 201}, {"other", cookie(vs), 403},
			{"ops", cookie(es), 201}, {"secret", cookie(es), 403},
			{"secret", cookie(rs), 201},
			{"ops", bearer(veraKey), 403}, // the key's own role caps the override
			{"secret", bearer(rootKey), 201},
		} {
			if w := serve(t, mux, "POST", "/api/dashboards/"+tc.dash+"/annotations", nil, tc.opt); w.Code != tc.want {
				t.Errorf("%s: %d, want %d: %s", tc.dash, w.Code, tc.want, w.Body)
			}
		}
	})
}

// Register checks every route (httpapi's tests cover what Check refuses).
func TestRegisterRefusesIncompleteRoutes(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	if err := e.s.Register(http.NewServeMux(), httpapi.Route{Method: "GET", Pattern: "/api/x", Handler: h}); err == nil {
		t.Error("registered a route without MinRole")
	}
	ok := httpapi.Route{Method: "GET", Pattern: "/api/negotiate", MinRole: roles.Viewer, Scope: roles.ScopeDashboardsRead, Handler: h}
	if err := e.s.Register(http.NewServeMux(), ok); err != nil {
		t.Fatal(err)
	}
}
