package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Service is an Azure SignalR Service instance as a connection string describes it.
type Service struct {
	// server is where the REST API is called: ServerEndpoint, or Endpoint with Port.
	server *url.URL
	// client is what browsers are sent to: ClientEndpoint, or Endpoint with Port.
	client *url.URL
	// key signs every token; the service takes the UTF-8 bytes of the AccessKey string as the
	// HMAC key, not its base64 decoding.
	key []byte
}

// validVersion is the SDKs' rule: any 1.x service version.
var validVersion = regexp.MustCompile(`^1\.\d+(?:[\w-.]+)?$`)

// ParseConnectionString reads "Endpoint=…;AccessKey=…;Version=1.0;" with the optional Port,
// ClientEndpoint and ServerEndpoint fields. It follows the service's SDKs: field names
// are case-insensitive and may not repeat, a field without '=' and unknown fields are ignored,
// Version (when given) must be 1.x and Port is 1 to 65535.
func ParseConnectionString(s string) (*Service, error) {
	fields := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			continue // as the service's SDKs do
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("connection string: %s is given twice", name)
		}
		fields[name] = strings.TrimSpace(value)
	}
	if v, ok := fields["version"]; ok && !validVersion.MatchString(v) {
		return nil, fmt.Errorf("connection string: Version %q is not supported, only 1.x", v)
	}
	key := fields["accesskey"]
	if key == "" {
		return nil, errors.New("connection string: AccessKey is required (Microsoft Entra ID sign-in is not supported by this app)")
	}
	endpoint, err := parseEndpoint("Endpoint", fields["endpoint"])
	if err != nil {
		return nil, err
	}
	if p, ok := fields["port"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("connection string: Port %q is not a number from 1 to 65535", p)
		}
		endpoint.Host = net.JoinHostPort(endpoint.Hostname(), p)
	}
	svc := &Service{server: endpoint, client: endpoint, key: []byte(key)}
	if v := fields["clientendpoint"]; v != "" {
		if svc.client, err = parseEndpoint("ClientEndpoint", v); err != nil {
			return nil, err
		}
	}
	if v := fields["serverendpoint"]; v != "" {
		if svc.server, err = parseEndpoint("ServerEndpoint", v); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

func parseEndpoint(field, v string) (*url.URL, error) {
	if v == "" {
		return nil, fmt.Errorf("connection string: %s is required", field)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("connection string: %s %q is not an http(s) URL", field, v)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}
