package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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

// ParseConnectionString reads "Endpoint=…;AccessKey=…;Version=1.0;" with the optional Port,
// ClientEndpoint and ServerEndpoint fields. Field names are case-insensitive, as in the
// service's own SDKs; unknown fields are ignored so that strings made for newer SDKs still work.
func ParseConnectionString(s string) (*Service, error) {
	fields := map[string]string{}
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			// The field is not quoted: it may be a mistyped key.
			return nil, fmt.Errorf("connection string: field %d is not name=value", i+1)
		}
		fields[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	if v, ok := fields["version"]; ok && !strings.HasPrefix(v, "1.") {
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
