package accesskey

import (
	"net/url"
	"strings"
)

// The audience checks below compare hosts against a list the caller trusts (the request's Host
// header and the configured public endpoint), because a loopback server is reached as
// localhost, 127.0.0.1 or through a proxy, and an SDK signs whichever name its connection string
// uses. The scheme is not compared: TLS is often terminated in front of the service. Paths
// compare case-insensitively because hub names do.

// ClientAudience accepts the aud of a Web PubSub client token for hub: an http(s) URL whose
// host is one of hosts and whose path is /client/hubs/{hub}. @azure/web-pubsub writes the hub
// as is and the .NET SDK percent-encodes it; both are accepted. A query or trailing slash in the
// aud is ignored.
func ClientAudience(hub string, hosts ...string) func(aud string) bool {
	want := "/client/hubs/" + hub
	return func(aud string) bool {
		host, rest, ok := splitURL(aud)
		if !ok || !hostIn(host, hosts) {
			return false
		}
		return strings.EqualFold(strings.TrimSuffix(unescape(pathOf(rest)), "/"), want)
	}
}

// RESTAudience accepts the aud of a Web PubSub REST token for a request whose target (the
// request line's URI, as in http.Request.RequestURI) is requestURI: the absolute request URL
// with or without its query, compared case-insensitively, as written or percent-decoded, on one
// of hosts. @azure/web-pubsub signs the URL exactly as it sends it, query included.
func RESTAudience(requestURI string, hosts ...string) func(aud string) bool {
	// An absolute-form request target (sent to proxies) carries its own host; only the
	// path and query matter here.
	if _, rest, ok := splitURL(requestURI); ok {
		requestURI = rest
	}
	targets := []string{requestURI, pathOf(requestURI)}
	return func(aud string) bool {
		host, rest, ok := splitURL(aud)
		if !ok || !hostIn(host, hosts) {
			return false
		}
		for _, t := range targets {
			if strings.EqualFold(rest, t) || strings.EqualFold(unescape(rest), unescape(t)) {
				return true
			}
		}
		return false
	}
}

// splitURL splits an absolute http(s) URL into its host and the rest ("/path?query", at least
// "/"), keeping the rest's escaping exactly as written. The fragment is dropped.
func splitURL(s string) (host, rest string, ok bool) {
	scheme, after, ok := strings.Cut(s, "://")
	if !ok || !(strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")) {
		return "", "", false
	}
	after, _, _ = strings.Cut(after, "#")
	i := strings.IndexAny(after, "/?")
	if i < 0 {
		i = len(after)
	}
	host, rest = after[:i], after[i:]
	if host == "" {
		return "", "", false
	}
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return host, rest, true
}

func pathOf(s string) string {
	p, _, _ := strings.Cut(s, "?")
	return p
}

// unescape percent-decodes s, or returns it unchanged when it is not valid escaping (then
// only the literal comparison can match).
func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// hostIn reports whether host is one of hosts, ignoring case and default ports.
func hostIn(host string, hosts []string) bool {
	h := hostKey(host)
	for _, c := range hosts {
		if c != "" && hostKey(c) == h {
			return true
		}
	}
	return false
}

func hostKey(host string) string {
	u := url.URL{Host: strings.ToLower(host)}
	name, port := u.Hostname(), u.Port()
	if port == "80" || port == "443" || port == "" {
		return name
	}
	return name + ":" + port
}
