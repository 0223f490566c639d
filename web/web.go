// Package web serves the browser UI that Vite builds into web/dist, embedded in the binary.
//
// Hashed assets (dist/assets) are cached as immutable; every page of the single-page app gets
// dist/index.html, uncached, so a new build takes effect on the next load.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// UI serves the embedded build.
type UI struct {
	assets http.Handler
	index  []byte // nil when the UI was not built into this binary
}

// New loads the embedded build.
func New() *UI {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	index, _ := fs.ReadFile(sub, "index.html")
	return &UI{assets: http.FileServerFS(sub), index: index}
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

// ServePage answers a page of the app with index.html.
func (u *UI) ServePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if u.index == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("The web UI was not built into this binary: build it with `make build`.\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(u.index)
}
