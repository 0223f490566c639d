package auth

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

//go:embed login.html
var loginHTML string

func parseLoginPage() (*template.Template, error) {
	t, err := template.New("login").Parse(loginHTML)
	if err != nil {
		return nil, fmt.Errorf("parse login page: %w", err)
	}
	return t, nil
}

// pageError is the message /login shows for ?error=<code>: codes, not text, travel in the URL
// so that nobody can make the page display words of their choosing.
func pageError(code string) string {
	switch code {
	case "oidc":
		return "Single sign-on did not complete. Try again, or sign in with a password."
	case "session":
		return "Your session has ended. Please sign in again."
	}
	return ""
}

// handleLoginPage serves the sign-in form. It sends a browser that is already signed in straight
// on to ?next=, which is followed only when it is a path on this site (never another origin).
func (s *Service) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if p, ok := PrincipalFrom(r.Context()); ok && p.Key == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	nonce := rand.Text()
	data := struct {
		Next, Error, OIDCName, Nonce string
		OIDCURL                      string
	}{
		Next: next, Error: pageError(r.URL.Query().Get("error")), OIDCName: s.oidcName, Nonce: nonce,
		OIDCURL: "/login/oidc?next=" + url.QueryEscape(next),
	}
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, data); err != nil {
		return fmt.Errorf("render login page: %w", err)
	}
	h := w.Header()
	// Only our own inline script and style run, and the page cannot be framed (clickjacking).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w) // a write error means the client went away
	return nil
}

// localPath returns next when it is a path on this site, else "/". "//host" and "/\host" are
// refused: browsers read both as another origin.
func localPath(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return "/"
	}
	return next
}
