package accesskey

import "testing"

func TestAudience(t *testing.T) {
	restURI := "/api/hubs/Hub_1/users/user%201%2F%C3%A9/:send?api-version=2024-12-01&filter=userId%20eq%20%27x%27"
	tests := []struct {
		name  string
		check func(string) bool
		aud   string
		want  bool
	}{
		{"client: js sdk", ClientAudience("Hub_1", "localhost:18080"), "http://localhost:18080/client/hubs/Hub_1", true},
		{"client: https scheme behind a proxy", ClientAudience("Hub_1", "localhost:18080"), "https://localhost:18080/client/hubs/Hub_1", true},
		{"client: hub case differs", ClientAudience("hub_1", "localhost:18080"), "http://localhost:18080/CLIENT/HUBS/Hub_1", true},
		{"client: escaped hub (.NET)", ClientAudience("a.b[1]", "h"), "http://h/client/hubs/a.b%5B1%5D", true},
		{"client: trailing slash", ClientAudience("chat", "h"), "http://h/client/hubs/chat/", true},
		{"client: public endpoint host", ClientAudience("chat", "127.0.0.1:8080", "localhost:8080"), "http://localhost:8080/client/hubs/chat", true},
		{"client: default port", ClientAudience("chat", "example.com:443"), "https://example.com/client/hubs/chat", true},
		{"client: other host", ClientAudience("chat", "127.0.0.1:8080"), "http://localhost:8080/client/hubs/chat", false},
		{"client: other port", ClientAudience("chat", "localhost:8080"), "http://localhost:8081/client/hubs/chat", false},
		{"client: other hub", ClientAudience("chat", "h"), "http://h/client/hubs/chat2", false},
		{"client: hub prefix", ClientAudience("chat", "h"), "http://h/client/hubs/cha", false},
		{"client: ws scheme", ClientAudience("chat", "h"), "ws://h/client/hubs/chat", false},
		{"client: not a url", ClientAudience("chat", "h"), "chat", false},
		{"client: no hosts", ClientAudience("chat"), "http://h/client/hubs/chat", false},
		{"client: ipv6", ClientAudience("chat", "[::1]:8080"), "http://[::1]:8080/client/hubs/chat", true},

		{"rest: exact", RESTAudience(restURI, "localhost:18080"), "http://localhost:18080" + restURI, true},
		{"rest: case-insensitive", RESTAudience(restURI, "localhost:18080"), "HTTP://LOCALHOST:18080/API/HUBS/HUB_1/USERS/USER%201%2f%c3%a9/:SEND?API-VERSION=2024-12-01&FILTER=USERID%20EQ%20%27X%27", true},
		{"rest: without query", RESTAudience(restURI, "localhost:18080"), "http://localhost:18080/api/hubs/Hub_1/users/user%201%2F%C3%A9/:send", true},
		{"rest: percent-decoded aud", RESTAudience(restURI, "localhost:18080"), "http://localhost:18080/api/hubs/Hub_1/users/user 1/é/:send?api-version=2024-12-01&filter=userId eq 'x'", true},
		{"rest: other query", RESTAudience(restURI, "localhost:18080"), "http://localhost:18080/api/hubs/Hub_1/users/user%201%2F%C3%A9/:send?api-version=2024-12-01", false},
		{"rest: other user", RESTAudience(restURI, "localhost:18080"), "http://localhost:18080/api/hubs/Hub_1/users/user%202/:send", false},
		{"rest: reverse proxy keeps the connection-string host", RESTAudience("/api/hubs/h/:send", "127.0.0.1:18085", "example.invalid:18085"), "http://example.invalid:18085/api/hubs/h/:send", true},
		{"rest: other host", RESTAudience("/api/hubs/h/:send", "127.0.0.1:18085"), "http://example.invalid:18085/api/hubs/h/:send", false},
		{"rest: absolute-form request target", RESTAudience("http://proxy.example/api/hubs/h/:send?api-version=1", "localhost"), "http://localhost/api/hubs/h/:send", true},
		{"rest: bad escape in aud", RESTAudience("/api/hubs/h/:send", "h"), "http://h/api/hubs/h/%zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.aud); got != tt.want {
				t.Errorf("check(%q) = %v, want %v", tt.aud, got, tt.want)
			}
		})
	}
}
