package app

import (
	"net/http"
	"net/url"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/web"
)

// uiRoutes serve the browser app: its pages to signed-in people (anyone else is sent to the
// login page and brought back), its hashed assets, service worker, manifest and icons to anyone
// (a browser fetches the manifest and icons without credentials), and the connection string to
// administrators.
func (a *App) uiRoutes() []httpapi.Route {
	ui := web.New(a.publicURL)
	page := func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := auth.PrincipalFrom(r.Context()); !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return nil
		}
		ui.ServePage(w, r)
		return nil
	}
	fixed := httpapi.FromHTTP(http.HandlerFunc(ui.ServeFixed))
	return []httpapi.Route{
		{Method: "GET", Pattern: "/{$}", MinRole: roles.Anonymous, Handler: page},
		{Method: "GET", Pattern: "/d/{uid}", MinRole: roles.Anonymous, Handler: page},
		{Method: "GET", Pattern: "/settings", MinRole: roles.Anonymous, Handler: page},
		{Method: "GET", Pattern: "/alerts", MinRole: roles.Anonymous, Handler: page},
		{Method: "GET", Pattern: "/alerts/{page}", MinRole: roles.Anonymous, Handler: page},
		{Method: "GET", Pattern: "/assets/{file...}", MinRole: roles.Anonymous, Handler: httpapi.FromHTTP(http.HandlerFunc(ui.ServeAsset))},
		{Method: "GET", Pattern: "/sw.js", MinRole: roles.Anonymous, Handler: fixed},
		{Method: "GET", Pattern: "/manifest.webmanifest", MinRole: roles.Anonymous, Handler: fixed},
		{Method: "GET", Pattern: "/icons/{file}", MinRole: roles.Anonymous, Handler: fixed},
		{Method: "GET", Pattern: "/api/connection-string", MinRole: roles.Admin, Scope: roles.ScopeAdmin,
			Handler: func(w http.ResponseWriter, _ *http.Request) error {
				httpapi.WriteJSON(w, http.StatusOK, map[string]string{"connectionString": a.ConnectionString()})
				return nil
			}},
	}
}
