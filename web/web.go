// Package web serves the browser UI that Vite builds into web/dist, embedded in the binary.
//
// Hashed assets (dist/assets) are cached as immutable; every page of the single-page app gets
// dist/index.html, uncached, so a new build takes effect on the next load. The service worker
// (dist/sw.js), the web app manifest and the icons keep their names from build to build, so
// they are revalidated on every use: a new deploy's worker is seen at the next visit. Pages carry a
// Content-Security-Policy that runs only the app's own files (no inline script or style
// element, no eval) and lets the page connect only to its own origin and the hub's, and they
// cannot be framed.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// UI serves the embedded build.
type UI struct {
	assets http.Handler
	index  []byte // nil when the UI was not built into this binary
	csp    string
}

// New loads the embedded build. hubURL is the URL the app's WebSocket is given by the
// negotiation (the server's public URL): the pages may connect to its ws or wss origin, which
// differs from the page's own when people reach the server by another name.
func New(hubURL string) *UI {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	index, _ := fs.ReadFile(sub, "index.html")
	return &UI{assets: http.FileServerFS(sub), index: index, csp: contentSecurityPolicy(hubURL)}
}

// contentSecurityPolicy allows the app's own scripts, styles and fonts, images of its own or
// inline in its stylesheet (data:), and connections to its own origin and hubURL's WebSocket
// origin; nothing may frame a page, change its base or take a form elsewhere.
func contentSecurityPolicy(hubURL string) string {
	connect := "'self'"
	if u, err := url.Parse(hubURL); err == nil && u.Host != "" {
		switch u.Scheme {
		case "https":
			connect += " wss://" + u.Host
		case "http":
			connect += " ws://" + u.Host
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src " +
		connect + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// Built reports whether the UI was built before the binary.
func (u *UI) Built() bool { return u.index != nil }

// ServeAsset serves a file under /assets/, cached for a year: its name changes with its content.
func (u *UI) ServeAsset(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	u.assets.ServeHTTP(w, r)
}

// ServeFixed serves a file whose name does not change with its content (the service worker,
// the manifest, the icons): browsers revalidate it each time, so a new build replaces it.
func (u *UI) ServeFixed(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(r.URL.Path, ".webmanifest") {
		// Go's MIME table does not know the extension; the manifest's own type is registered.
		w.Header().Set("Content-Type", "application/manifest+json")
	}
	u.assets.ServeHTTP(w, r)
}

// ServePage answers a page of the app with index.html, under the UI's Content-Security-Policy;
// the page cannot be framed (clickjacking) and sends other sites no referrer.
func (u *UI) ServePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", u.csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if u.index == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("The web UI was not built into this binary: build it with `make build`.\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(u.index)
}
