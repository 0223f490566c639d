package signalr

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// errMissingToken is the 401 for a request that carries no token at all.
var errMissingToken = errors.New("an access token is required: pass an Authorization: Bearer header (a client may pass access_token in the query)")

func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// unauthorized is the 401 for a rejected token: the client is told the reason, without the
// detail that goes to the log.
func unauthorized(err error) error {
	msg := "the access token is invalid"
	var te *accesskey.TokenError
	switch {
	case errors.As(err, &te):
		msg = te.Error()
	case errors.Is(err, errMissingToken):
		msg = err.Error()
	}
	return httpapi.AzureError(http.StatusUnauthorized, "Unauthorized", msg, fmt.Errorf("token rejected: %w", err))
}

// trustedHostnames are the host names (no ports: the server SDK signs without them) a token may
// have been signed for: the request's Host, a proxy's forwarded host, the public URL's, and for a
// loopback request loopback spelt any way (an SDK configured with localhost reaches 127.0.0.1 and
// the other way round).
func trustedHostnames(r *http.Request, publicHost string) []string {
	own := hostname(r.Host)
	names := []string{own, hostname(r.Header.Get("X-Forwarded-Host")), publicHost}
	if ip := net.ParseIP(own); strings.EqualFold(own, "localhost") || (ip != nil && ip.IsLoopback()) {
		names = append(names, "localhost", "127.0.0.1", "::1")
	}
	return names
}

func hostIn(host string, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// hostname is host without its port or IPv6 brackets.
func hostname(hostport string) string {
	return (&url.URL{Host: hostport}).Hostname()
}

// publicHostname is the host name of the public URL, "" if it has none.
func publicHostname(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
