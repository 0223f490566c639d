package accesskey

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ConnectionString returns the connection string apps paste into the official SDKs, e.g.
// "Endpoint=http://127.0.0.1:8080;AccessKey=...;Version=1.0;". The port stays inside Endpoint
// because both SDK families accept it there and it keeps the string short.
func ConnectionString(endpoint, key string) string {
	return "Endpoint=" + strings.TrimSuffix(endpoint, "/") + ";AccessKey=" + key + ";Version=1.0;"
}

// ParseConnectionString reads a connection string the way @azure/web-pubsub 1.2.0 does, so a
// string that works with the SDK works here: fields split on ';' and at their first '=', names
// case-insensitive, the last of a repeated field wins, other fields (Version, ClientEndpoint…)
// ignored. Endpoint and AccessKey are required; an Endpoint not starting with "http" gets
// "https://"; Port replaces the endpoint's port (an empty Port removes it). The endpoint comes
// back normalised like a WHATWG URL: lower-case scheme and host, no default port, "/" as the
// path when there is none ("http://localhost:18080/").
//
// Unlike the SDK, which silently ignores them, a Port that is not a number from 0 to 65535 and
// an endpoint that is not an http(s) URL are errors, because they are always a typo.
func ParseConnectionString(s string) (endpoint, key string, err error) {
	fields := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		if ok {
			fields[strings.ToLower(name)] = value
		}
	}
	ep := fields["endpoint"]
	if ep == "" {
		return "", "", errors.New("connection string has no Endpoint")
	}
	key = fields["accesskey"]
	if key == "" {
		return "", "", errors.New("connection string has no AccessKey")
	}
	if !strings.HasPrefix(ep, "http") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("connection string Endpoint %q is not an http or https URL", fields["endpoint"])
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if p, ok := fields["port"]; ok {
		if p != "" {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil {
				return "", "", fmt.Errorf("connection string Port %q is not a number from 0 to 65535", p)
			}
			p = strconv.FormatUint(n, 10)
		}
		port = p
	}
	if port == defaultPort(u.Scheme) {
		port = ""
	}
	u.Host = host
	if port != "" {
		u.Host += ":" + port
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), key, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}
