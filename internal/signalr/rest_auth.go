package signalr

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
)

var errMissingToken = errors.New("the request has no access token: send Authorization: Bearer <token>")

// authorize checks the request's Bearer token: HS256, signed with one of the access keys, with
// exp, and an aud naming this request (see [restAudience]).
func (s *REST) authorize(r *http.Request) error {
	token := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	if token == "" {
		return unauthorized(errMissingToken)
	}
	if _, err := s.keys.Verify(token, restAudience(r.URL.Path, s.trustedHostnames(r)), time.Now()); err != nil {
		return unauthorized(err)
	}
	return nil
}

func unauthorized(err error) error {
	msg := "the access token is invalid"
	var te *accesskey.TokenError
	switch {
	case errors.As(err, &te):
		msg = te.Error()
	case errors.Is(err, errMissingToken):
		msg = err.Error()
	}
	return apiError(http.StatusUnauthorized, "Unauthorized", msg, fmt.Errorf("SignalR REST token rejected: %w", err))
}

// restAudience accepts the aud of a REST token for a request to path. The documentation asks
// for the request URL without query or trailing slash; the Management SDK signs
// {scheme}://{host}/… without the port even when it calls one, and with the query
// (?application=…&api-version=…) but without excluded and reason, which it adds afterwards
// (shared/protocols/signalr-serverless.md §2, §9.1). So the host is compared without its port,
// the query and a trailing slash are ignored, and host and path compare case-insensitively,
// the path also percent-decoded.
func restAudience(path string, hostnames []string) func(aud string) bool {
	want := strings.TrimSuffix(path, "/")
	return func(aud string) bool {
		u, err := url.Parse(aud)
		if err != nil || !(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
			return false
		}
		known := false
		for _, h := range hostnames {
			known = known || (h != "" && strings.EqualFold(u.Hostname(), h))
		}
		return known && strings.EqualFold(strings.TrimSuffix(u.Path, "/"), want)
	}
}

// trustedHostnames are the host names a token may have been signed for: the request's Host, a
// proxy's forwarded host, the public URL's, and for a loopback request loopback spelt any way
// (an SDK configured with localhost reaches 127.0.0.1 and the other way round).
func (s *REST) trustedHostnames(r *http.Request) []string {
	own := hostname(r.Host)
	names := []string{own, hostname(r.Header.Get("X-Forwarded-Host")), s.publicHost}
	if ip := net.ParseIP(own); own == "localhost" || (ip != nil && ip.IsLoopback()) {
		names = append(names, "localhost", "127.0.0.1", "::1")
	}
	return names
}

// hostname is host without its port or IPv6 brackets.
func hostname(host string) string {
	return (&url.URL{Host: host}).Hostname()
}

// urlHost is the host of an absolute URL, "" if it is none.
func urlHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}
