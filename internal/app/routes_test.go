package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/huddle-dev/huddle/internal/config"
)

// ownRouteRules is the status an anonymous caller gets from each of the app's own routes (the
// accounts' routes are checked in package auth). A route added without a line here fails the
// test, so no endpoint goes in without someone deciding who may call it.
var ownRouteRules = map[string]int{
	"GET /{$}":                          http.StatusSeeOther, // to the login page
	"GET /settings":                     http.StatusSeeOther,
	"GET /d/{uid}":                      http.StatusSeeOther,
	"GET /alerts":                       http.StatusSeeOther,
	"GET /alerts/{page}":                http.StatusSeeOther,
	"GET /assets/{file...}":             http.StatusNotFound, // public, and no such file
	"GET /sw.js":                        http.StatusOK,       // public (test-go builds the UI first)
	"GET /manifest.webmanifest":         http.StatusOK,       // public: fetched without credentials
	"GET /icons/{file}":                 http.StatusNotFound, // public, and no such file
	"GET /api/connection-string":        http.StatusUnauthorized,
	"GET /api/negotiate":                http.StatusUnauthorized,
	"GET /api/dashboards/{uid}/viewers": http.StatusUnauthorized,
	"GET /api/presence":                 http.StatusUnauthorized,
	"GET /login/oidc":                   http.StatusSeeOther, // to the provider (or back with an error)
	"GET /login/oidc/callback":          http.StatusSeeOther, // back to the login page with an error
	"GET /metrics":                      http.StatusOK,       // public unless metrics.protectSelf

	"GET /api/v1/query":                http.StatusUnauthorized,
	"POST /api/v1/query":               http.StatusUnauthorized,
	"GET /api/v1/query_range":          http.StatusUnauthorized,
	"POST /api/v1/query_range":         http.StatusUnauthorized,
	"GET /api/v1/series":               http.StatusUnauthorized,
	"POST /api/v1/series":              http.StatusUnauthorized,
	"GET /api/v1/labels":               http.StatusUnauthorized,
	"POST /api/v1/labels":              http.StatusUnauthorized,
	"GET /api/v1/label/{name}/values":  http.StatusUnauthorized,
	"POST /api/v1/label/{name}/values": http.StatusUnauthorized,
	"GET /api/v1/metadata":             http.StatusUnauthorized,
	"POST /api/v1/metadata":            http.StatusUnauthorized,
	"GET /api/v1/query_exemplars":      http.StatusUnauthorized,
	"POST /api/v1/query_exemplars":     http.StatusUnauthorized,
	"GET /api/v1/format_query":         http.StatusUnauthorized,
	"POST /api/v1/format_query":        http.StatusUnauthorized,
	"GET /api/v1/targets":              http.StatusUnauthorized,
	"GET /api/v1/rules":                http.StatusUnauthorized,
	"GET /api/v1/alerts":               http.StatusUnauthorized,
	"GET /api/v1/status/buildinfo":     http.StatusUnauthorized,
	"GET /api/v1/status/runtimeinfo":   http.StatusUnauthorized,
	"GET /api/v1/status/flags":         http.StatusUnauthorized,
	"GET /api/v1/status/config":        http.StatusUnauthorized,
	"GET /api/v1/status/tsdb":          http.StatusUnauthorized,
	"GET /api/v1/":                     http.StatusUnauthorized, // every other path under it
	"POST /api/v1/":                    http.StatusUnauthorized,
	"POST /api/v1/write":               http.StatusUnauthorized,
	"GET /-/healthy":                   http.StatusOK,
	"GET /-/ready":                     http.StatusServiceUnavailable, // public; never Run here

	"GET /api/dashboards":                           http.StatusUnauthorized,
	"POST /api/dashboards":                          http.StatusUnauthorized,
	"POST /api/dashboards/import":                   http.StatusUnauthorized,
	"GET /api/dashboards/{uid}":                     http.StatusUnauthorized,
	"PUT /api/dashboards/{uid}":                     http.StatusUnauthorized,
	"DELETE /api/dashboards/{uid}":                  http.StatusUnauthorized,
	"PUT /api/dashboards/{uid}/star":                http.StatusUnauthorized,
	"DELETE /api/dashboards/{uid}/star":             http.StatusUnauthorized,
	"GET /api/dashboards/{uid}/export":              http.StatusUnauthorized,
	"GET /api/dashboards/{uid}/queries":             http.StatusUnauthorized,
	"GET /api/dashboards/{uid}/annotations":         http.StatusUnauthorized,
	"POST /api/dashboards/{uid}/annotations":        http.StatusUnauthorized,
	"PUT /api/dashboards/{uid}/annotations/{id}":    http.StatusUnauthorized,
	"DELETE /api/dashboards/{uid}/annotations/{id}": http.StatusUnauthorized,
	"GET /api/annotations":                          http.StatusUnauthorized,

	"GET /api/alerting/rules":                       http.StatusUnauthorized,
	"POST /api/alerting/rules/check":                http.StatusUnauthorized,
	"GET /api/alerting/rules/{group}":               http.StatusUnauthorized,
	"PUT /api/alerting/rules/{group}":               http.StatusUnauthorized,
	"DELETE /api/alerting/rules/{group}":            http.StatusUnauthorized,
	"GET /api/alerting/incidents":                   http.StatusUnauthorized,
	"GET /api/alerting/incidents/{id}":              http.StatusUnauthorized,
	"POST /api/alerting/incidents/{id}/take":        http.StatusUnauthorized,
	"POST /api/alerting/incidents/{id}/release":     http.StatusUnauthorized,
	"POST /api/alerting/incidents/{id}/acknowledge": http.StatusUnauthorized,
	"POST /api/alerting/incidents/{id}/resolve":     http.StatusUnauthorized,
	"POST /api/alerting/incidents/{id}/comments":    http.StatusUnauthorized,
	"GET /api/alerting/contact-points":              http.StatusUnauthorized,
	"POST /api/alerting/contact-points":             http.StatusUnauthorized,
	"GET /api/alerting/contact-points/{id}":         http.StatusUnauthorized,
	"PUT /api/alerting/contact-points/{id}":         http.StatusUnauthorized,
	"DELETE /api/alerting/contact-points/{id}":      http.StatusUnauthorized,
	"POST /api/alerting/contact-points/{id}/test":   http.StatusUnauthorized,
	"GET /api/alerting/policies":                    http.StatusUnauthorized,
	"PUT /api/alerting/policies":                    http.StatusUnauthorized,
	"GET /api/alerting/silences":                    http.StatusUnauthorized,
	"POST /api/alerting/silences":                   http.StatusUnauthorized,
	"DELETE /api/alerting/silences/{id}":            http.StatusUnauthorized,
	"GET /api/alerting/deliveries":                  http.StatusUnauthorized,
}

func TestOwnRoutesHaveRules(t *testing.T) {
	cfg := config.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AccessKey: "routes-test-key-0123456789",
		AdminPassword: "routes-test-admin-password", PublicURL: "http://127.0.0.1:9",
		OIDC: config.OIDC{Issuer: "http://127.0.0.1:9/unreachable", ClientID: "huddle"}}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Never run: what New opened is stopped as Run would stop it.
	t.Cleanup(func() {
		if err := a.parts.stopAll(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if len(a.ownRoutes) < len(ownRouteRules) {
		t.Fatalf("%d routes registered, %d expected: is single sign-on configured?", len(a.ownRoutes), len(ownRouteRules))
	}
	for _, rt := range a.ownRoutes {
		want, ok := ownRouteRules[rt.String()]
		if !ok {
			t.Errorf("route %s has no line in ownRouteRules", rt)
			continue
		}
		path := rt.Pattern
		if path == "/{$}" {
			path = "/"
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(rt.Method, path, nil))
		if rec.Code != want {
			t.Errorf("anonymous %s: %d, want %d", rt, rec.Code, want)
		}
	}
}
