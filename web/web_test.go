package web

import (
	"strings"
	"testing"
)

// The pages may connect to the hub at the public URL's WebSocket origin, and to nothing else
// but their own origin.
func TestContentSecurityPolicyConnect(t *testing.T) {
	for _, tc := range []struct{ hubURL, want string }{
		{"https://huddle.example.com", "connect-src 'self' wss://huddle.example.com;"},
		{"http://10.0.0.5:8080/", "connect-src 'self' ws://10.0.0.5:8080;"},
		{"", "connect-src 'self';"},
		{"ftp://elsewhere", "connect-src 'self';"},
	} {
		if csp := contentSecurityPolicy(tc.hubURL); !strings.Contains(csp, tc.want) {
			t.Errorf("%q: %q, want %q", tc.hubURL, csp, tc.want)
		}
	}
}
