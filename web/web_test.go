package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The pages may connect to the hub at the public URL's WebSocket origin, and to nothing else
// but their own origin.
func TestContentSecurityPolicyConnect(t *testing.T) {
	for _, tc := range []struct{ hubURL, want string }{
		{"https://huddle.example.com", "connect-src 'self' wss://huddle.example.com;"},
		{"http://10.0.0.5:8080/", "connect-src 'self' ws://10.0.0.5:8080;"},
		{"", "connect-src 'self';"},
		{"ftp://elsewhere", "connect-src 'self';"},
	} {
		if csp := contentSecurityPolicy(tc.hubURL); !strings.Contains(csp, tc.want) {
			t.Errorf("%q: %q, want %q", tc.hubURL, csp, tc.want)
		}
	}
}

// The service worker, the manifest and the icons keep their names from build to build, so
// they are never cached as immutable, and the manifest has the type browsers expect of it
// (https://www.w3.org/TR/appmanifest/#media-type-registration).
func TestServeFixed(t *testing.T) {
	ui := New("")
	if !ui.Built() {
		t.Skip("the UI is not built into this binary: make web")
	}
	for _, tc := range []struct{ path, contentType string }{
		{"/sw.js", "text/javascript; charset=utf-8"},
		{"/manifest.webmanifest", "application/manifest+json"},
		{"/icons/icon-192.png", "image/png"},
		{"/icons/icon.svg", "image/svg+xml"},
	} {
		rec := httptest.NewRecorder()
		ui.ServeFixed(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", tc.path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != tc.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", tc.path, got)
		}
	}
}
