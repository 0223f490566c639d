package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/web"
)

// Signed-in people get the app's page on every app path; its assets are served to anyone and
// cached for good, since their names change with their content.
func TestUIServed(t *testing.T) {
	if !web.New("").Built() {
		if os.Getenv("CI") != "" {
			t.Fatal("the web UI is not built into this test binary: make test builds it first")
		}
		t.Skip("the web UI is not built: run make web")
	}
	srv := apptest.Start(t, config.Config{})
	anon := newBrowser(t, srv.URL)
	if code, _, h := anon.do("GET", "/d/this-host", ""); code != 303 || h.Get("Location") != "/login?next=%2Fd%2Fthis-host" {
		t.Fatalf("anonymous dashboard page: %d to %q", code, h.Get("Location"))
	}
	b := newBrowser(t, srv.URL)
	b.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	for _, path := range []string{"/", "/d/this-host", "/settings", "/alerts", "/alerts/rules", "/alerts/inc_1"} {
		code, body, h := b.do("GET", path, "")
		if code != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d %q %q", path, code, h.Get("Content-Type"), h.Get("Cache-Control"))
		}
		// The hub is reached at the public URL, here the listener's own.
		hub := "ws://" + strings.TrimPrefix(srv.URL, "http://")
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") ||
			!strings.Contains(csp, "connect-src 'self' "+hub+";") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: X-Frame-Options %q, Referrer-Policy %q", path, h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
		}
		// The policy runs no inline script or style: the build must not inline any.
		if inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`).FindString(body); inline != "" {
			t.Errorf("%s: the page has inline code the policy refuses: %q", path, inline)
		}
		asset := regexp.MustCompile(`/assets/[^"]+\.js`).FindString(body)
		if asset == "" {
			t.Fatalf("%s names no script: %s", path, body)
		}
		code, _, h = anon.do("GET", asset, "")
		if code != 200 || h.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("%s: %d %q", asset, code, h.Get("Cache-Control"))
		}
	}
	if code, _, _ := anon.do("GET", "/assets/", ""); code != 404 {
		t.Fatalf("asset directory listing: %d", code)
	}
}
