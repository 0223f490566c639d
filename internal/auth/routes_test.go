package auth

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	keyWithScope    // a key whose scopes cover the route's Scope
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
		admin := e.user("root", RoleAdmin)
		e.user("vera", RoleViewer)
		e.user("ed", RoleEditor)
		sessions := map[int]string{viewerSession: e.login("vera"), editorSession: e.login("ed"), adminSession: e.login("root")}
		keys := map[Scope]string{}
		for _, sc := range grantableScopes {
			keys[sc] = e.key(admin, RoleAdmin, sc)
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
			with, without := ScopeAdmin, ScopeMetricsRead
			if slices.Contains(grantableScopes, rt.Scope) {
				with = rt.Scope
				for _, sc := range grantableScopes {
					if !covers([]Scope{sc}, rt.Scope) {
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
		root := e.user("root", RoleAdmin)
		vera := e.user("vera", RoleViewer)
		ed := e.user("ed", RoleEditor)
		if err := e.s.SetDashboardRole(t.Context(), Actor{Login: "root"}, "ops", vera.ID, RoleEditor); err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetDashboardRole(t.Context(), Actor{Login: "root"}, "secret", ed.ID, RoleViewer); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		err := e.s.register(mux, []Route{{
			Method: "POST", Pattern: "/api/dashboards/{uid}/annotations", MinRole: RoleEditor,
			Scope: ScopeDashboardsWrite, DashboardParam: "uid",
			Handler: func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusCreated); return nil },
		}})
		if err != nil {
			t.Fatal(err)
		}
		vs, es, rs := e.login("vera"), e.login("ed"), e.login("root")
		veraKey := e.key(vera, RoleViewer, ScopeDashboardsWrite)
		rootKey := e.key(root, RoleEditor, ScopeDashboardsWrite)
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

func TestRegisterRefusesIncompleteRoutes(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	for _, rt := range []Route{
		{Method: "GET", Pattern: "/api/x", Handler: h}, // no MinRole
		{Method: "GET", Pattern: "/api/x", MinRole: "root", Handler: h},
		{Method: "GET", Pattern: "/api/x", MinRole: RoleViewer, Scope: "metrics:delete", Handler: h},
		{Method: "GET", Pattern: "/api/x", MinRole: RoleViewer},
		{Pattern: "/api/x", MinRole: RoleViewer, Handler: h},
		{Method: "GET", Pattern: "api/x", MinRole: RoleViewer, Handler: h},
		{Method: "GET", Pattern: "/api/x/{id}", MinRole: RoleViewer, DashboardParam: "uid", Handler: h},
	} {
		if err := e.s.Register(http.NewServeMux(), rt); err == nil {
			t.Errorf("registered %+v", rt)
		}
	}
	ok := Route{Method: "GET", Pattern: "/api/negotiate", MinRole: RoleViewer, Scope: ScopeDashboardsRead, Handler: h}
	if err := e.s.Register(http.NewServeMux(), ok); err != nil {
		t.Fatal(err)
	}
}
