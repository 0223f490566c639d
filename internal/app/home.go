package app

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/huddle-dev/huddle/internal/auth"
)

//go:embed home.html
var homeHTML string

var homePage = template.Must(template.New("home").Parse(homeHTML))

// homeRoute greets a signed-in user and shows administrators the connection string their apps
// need; anyone else is sent to the login page.
func (a *App) homeRoute() auth.Route {
	return auth.Route{
		Method: "GET", Pattern: "/{$}", MinRole: auth.RoleAnonymous,
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			p, ok := auth.PrincipalFrom(r.Context())
			if !ok {
				http.Redirect(w, r, "/login?next=/", http.StatusSeeOther)
				return nil
			}
			data := struct{ Name, Login, Role, ConnectionString string }{
				Name: p.User.Name, Login: p.User.Login, Role: string(p.Role),
			}
			if data.Name == "" {
				data.Name = p.User.Login
			}
			if p.Role == auth.RoleAdmin {
				data.ConnectionString = a.ConnectionString(a.addr())
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if err := homePage.Execute(w, data); err != nil {
				return fmt.Errorf("render home page: %w", err)
			}
			return nil
		},
	}
}
