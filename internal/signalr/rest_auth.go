package signalr

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authorize checks the request's Bearer token: HS256, signed with one of the access keys, with
// exp, and an aud naming this request (see [restAudience]).
func (s *REST) authorize(r *http.Request) error {
	token := bearerToken(r)
	if token == "" {
		return unauthorized(errMissingToken)
	}
	if _, err := s.keys.Verify(token, restAudience(r.URL.Path, trustedHostnames(r, s.publicHost)), time.Now()); err != nil {
		return unauthorized(err)
	}
	return nil
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
		return hostIn(u.Hostname(), hostnames) && strings.EqualFold(strings.TrimSuffix(u.Path, "/"), want)
	}
}
