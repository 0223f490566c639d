package accesskey

import "testing"

func TestConnectionStringRoundTrip(t *testing.T) {
	tests := []struct{ endpoint, wantEndpoint string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"https://huddle.example.com", "https://huddle.example.com/"},
		{"http://[::1]:8080", "http://[::1]:8080/"},
	}
	for _, tt := range tests {
		key := "k3y+/with=padding=="
		cs := ConnectionString(tt.endpoint, key)
		ep, k, err := ParseConnectionString(cs)
		if err != nil || ep != tt.wantEndpoint || k != key {
			t.Errorf("ParseConnectionString(%q) = %q, %q, %v; want %q, %q", cs, ep, k, err, tt.wantEndpoint, key)
		}
	}
	if got := ConnectionString("http://127.0.0.1:8080/", "abc"); got != "Endpoint=http://127.0.0.1:8080;AccessKey=abc;Version=1.0;" {
		t.Errorf("ConnectionString() = %q", got)
	}
}

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name, in, endpoint, key string
		wantErr                 bool
	}{
		{name: "azure", in: "Endpoint=https://x.webpubsub.azure.com;AccessKey=abc=;Version=1.0;", endpoint: "https://x.webpubsub.azure.com/", key: "abc="},
		{name: "port field", in: "Endpoint=http://localhost;AccessKey=k;Version=1.0;Port=18080", endpoint: "http://localhost:18080/", key: "k"},
		{name: "port field replaces endpoint port", in: "Endpoint=http://localhost:1;Port=2;AccessKey=k", endpoint: "http://localhost:2/", key: "k"},
		{name: "empty port removes it", in: "Endpoint=http://localhost:8080;Port=;AccessKey=k", endpoint: "http://localhost/", key: "k"},
		{name: "default port dropped", in: "Endpoint=https://h:443;AccessKey=k", endpoint: "https://h/", key: "k"},
		{name: "port 80 on https kept", in: "Endpoint=https://h;Port=80;AccessKey=k", endpoint: "https://h:80/", key: "k"},
		{name: "no scheme gets https", in: "Endpoint=x.service.signalr.net;AccessKey=k", endpoint: "https://x.service.signalr.net/", key: "k"},
		{name: "names case-insensitive", in: "ENDPOINT=http://h;accesskey=k", endpoint: "http://h/", key: "k"},
		{name: "host lower-cased", in: "Endpoint=http://LocalHost:8080;AccessKey=k", endpoint: "http://localhost:8080/", key: "k"},
		{name: "last field wins", in: "Endpoint=http://a;Endpoint=http://b;AccessKey=1;AccessKey=2", endpoint: "http://b/", key: "2"},
		{name: "path kept", in: "Endpoint=http://h/base;AccessKey=k", endpoint: "http://h/base", key: "k"},
		{name: "signalr fields ignored", in: "Endpoint=http://h;AccessKey=k;ClientEndpoint=http://c;Version=1.0;junk", endpoint: "http://h/", key: "k"},
		{name: "missing endpoint", in: "AccessKey=k;Version=1.0;", wantErr: true},
		{name: "empty endpoint", in: "Endpoint=;AccessKey=k", wantErr: true},
		{name: "missing key", in: "Endpoint=http://h;Version=1.0;", wantErr: true},
		{name: "empty key", in: "Endpoint=http://h;AccessKey=", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "port not a number", in: "Endpoint=http://h;AccessKey=k;Port=abc", wantErr: true},
		{name: "port too large", in: "Endpoint=http://h;AccessKey=k;Port=70000", wantErr: true},
		{name: "http prefix but no scheme", in: "Endpoint=httpbin.org;AccessKey=k", wantErr: true},
		{name: "other scheme", in: "Endpoint=httpx://h;AccessKey=k", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, key, err := ParseConnectionString(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseConnectionString(%q) = %q, %q; want an error", tt.in, ep, key)
				}
				return
			}
			if err != nil || ep != tt.endpoint || key != tt.key {
				t.Fatalf("ParseConnectionString(%q) = %q, %q, %v; want %q, %q", tt.in, ep, key, err, tt.endpoint, tt.key)
			}
		})
	}
}
