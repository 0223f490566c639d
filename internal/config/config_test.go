package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "huddle.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "addr: 127.0.0.1:1000\ndataDir: /from/file\nlogLevel: debug\nlimits:\n  reconnectWindow: 45s\n")
	cases := []struct {
		name     string
		flags    Flags
		env      map[string]string
		wantAddr string
		wantDir  string
	}{
		{"defaults", Flags{}, nil, "127.0.0.1:8080", "./data"},
		{"file", Flags{ConfigFile: path}, nil, "127.0.0.1:1000", "/from/file"},
		{"env over file", Flags{ConfigFile: path}, map[string]string{"HUDDLE_ADDR": "127.0.0.1:2000"}, "127.0.0.1:2000", "/from/file"},
		{"flags over env", Flags{ConfigFile: path, Addr: "127.0.0.1:3000", DataDir: "/flag"}, map[string]string{"HUDDLE_ADDR": "127.0.0.1:2000"}, "127.0.0.1:3000", "/flag"},
		{"file named by env", Flags{}, map[string]string{"HUDDLE_CONFIG": path}, "127.0.0.1:1000", "/from/file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.flags, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr != tc.wantAddr || c.DataDir != tc.wantDir {
				t.Fatalf("addr %q dir %q, want %q %q", c.Addr, c.DataDir, tc.wantAddr, tc.wantDir)
			}
		})
	}
	c, _ := Load(Flags{ConfigFile: path}, env(nil))
	if c.Limits.ReconnectWindow != 45*time.Second || c.LogLevel != "debug" {
		t.Fatalf("limits %+v level %q", c.Limits, c.LogLevel)
	}
}

func TestSignalRUpstream(t *testing.T) {
	c, err := Load(Flags{ConfigFile: writeFile(t, `signalr:
  upstream:
    templates:
      - urlTemplate: http://localhost:7071/runtime/webhooks/signalr
        hubPattern: chat
        categoryPattern: "connections, messages"
        eventPattern: "*"
      - urlTemplate: https://app.example/{hub}/api/{category}/{event}
`)}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := c.SignalR.Upstream.Templates
	if len(got) != 2 || got[0].HubPattern != "chat" || got[0].CategoryPattern != "connections, messages" || got[1].URLTemplate != "https://app.example/{hub}/api/{category}/{event}" {
		t.Fatalf("templates %+v", got)
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"unknown field", "adress: x\n", "field adress not found"},
		{"broken YAML", "addr: [\n", "config file"},
		{"bad addr", "addr: nowhere\n", "addr:"},
		{"bad public URL", "publicURL: ftp://x\n", "publicURL"},
		{"bad level", "logLevel: loud\n", "logLevel"},
		{"TLS certificate without key", "tls:\n  certFile: /etc/huddle/cert.pem\n", "tls: certFile and keyFile go together"},
		{"bad trusted proxy", "trustedProxies: [10.0.0.0/8, proxy.lan]\n", "trustedProxies[1]"},
		{"negative limit", "limits:\n  maxQueuedFrames: -1\n", "limits.maxQueuedFrames"},
		{"negative connection cap", "limits:\n  maxConnectionsPerAddress: -1\n", "limits.maxConnectionsPerAddress"},
		{"negative burst", "limits:\n  maxInboundBurst: -5\n", "limits.maxInboundBurst"},
		{"negative stream cap", "limits:\n  maxStreamsPerConnection: -1\n", "limits.maxStreamsPerConnection"},
		{"bad handler URL", "hubs:\n  chat:\n    eventHandlers:\n      - urlTemplate: /relative/{event}\n", "hubs.chat.eventHandlers[0].urlTemplate"},
		{"bad postgres URL", "postgres:\n  url: mysql://x\n", "postgres.url"},
		{"OIDC without client", "oidc:\n  issuer: https://id.example\n", "oidc.clientID"},
		{"OIDC bad role", "oidc:\n  issuer: https://id.example\n  clientID: huddle\n  roleMapping:\n    ops: root\n", "oidc.roleMapping"},
		{"bad identity issuer", "webpubsub:\n  identity:\n    issuer: login.example/tenant\n", "webpubsub.identity.issuer"},
		{"bad discovery URL", "webpubsub:\n  identity:\n    issuer: https://sts.windows.net/t/\n    discoveryURL: login.microsoftonline.com/t\n", "webpubsub.identity.discoveryURL"},
		{"identity without issuer", "webpubsub:\n  identity:\n    audience: api://huddle\n", "webpubsub.identity.issuer: is required"},
		{"bad metrics source", "metrics:\n  source: influx\n", "metrics.source"},
		{"URL without remote source", "metrics:\n  prometheus:\n    url: http://prom:9090\n", "set metrics.source to prometheus"},
		{"bad retention", "metrics:\n  retention: forever\n", "forever"},
		{"negative interval", "metrics:\n  interval: -1s\n", "metrics.interval"},
		{"bad SignalR upstream URL", "signalr:\n  upstream:\n    templates:\n      - urlTemplate: localhost:7071/runtime/webhooks/signalr\n", "signalr.upstream.templates[0].urlTemplate"},
		{"SignalR upstream Key Vault reference", "signalr:\n  upstream:\n    templates:\n      - urlTemplate: http://x/api?code={@Microsoft.KeyVault(SecretUri=https://v/secrets/s/)}\n", "Key Vault references are not supported"},
		{"bad SignalR upstream category", "signalr:\n  upstream:\n    templates:\n      - urlTemplate: http://x/{event}\n      - urlTemplate: http://y/\n        categoryPattern: connection\n", "signalr.upstream.templates[1].categoryPattern"},
		{"bad system event", "hubs:\n  chat:\n    eventHandlers:\n      - urlTemplate: http://x/{event}\n        systemEvents: [boom]\n", `unknown event "boom"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Flags{ConfigFile: writeFile(t, tc.file)}, env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Load(Flags{ConfigFile: writeFile(t, "")}, env(nil)); err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	if _, err := Load(Flags{ConfigFile: "/does/not/exist.yaml"}, env(nil)); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestMetrics(t *testing.T) {
	c, err := Load(Flags{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Source != SourceEmbedded || c.Metrics.Interval != 10*time.Second || c.Metrics.Retention != 0 {
		t.Fatalf("defaults %+v", c.Metrics)
	}
	path := writeFile(t, "metrics:\n  retention: 7d\n  host: { job: node-exporter, instance: web1, interval: 15s }\n"+
		"  scrape:\n    - job: app\n      targets: [localhost:9100]\n      interval: 30s\n")
	if c, err = Load(Flags{ConfigFile: path}, env(nil)); err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Metrics.Retention) != 7*24*time.Hour || c.Metrics.Scrape[0].Interval != 30*time.Second {
		t.Fatalf("file %+v", c.Metrics)
	}
	if h := c.Metrics.Host; h.Job != "node-exporter" || h.Instance != "web1" || h.Interval != 15*time.Second {
		t.Fatalf("metrics.host %+v", h)
	}
	c, err = Load(Flags{}, env(map[string]string{
		"HUDDLE_METRICS_SOURCE":           "prometheus",
		"HUDDLE_METRICS_PROMETHEUS_URL":   "http://prom:9090",
		"HUDDLE_METRICS_PROMETHEUS_TOKEN": "secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Source != SourcePrometheus || c.Metrics.Prometheus.URL != "http://prom:9090" || c.Metrics.Prometheus.BearerToken != "secret" {
		t.Fatalf("environment %+v", c.Metrics)
	}
}

func TestTrustedProxyPrefixes(t *testing.T) {
	c := Config{TrustedProxies: []string{"10.1.2.3/8", "127.0.0.1", "::1", "fd00::/8"}}
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxyPrefixes() {
		got = append(got, p.String())
	}
	if want := []string{"10.0.0.0/8", "127.0.0.1/32", "::1/128", "fd00::/8"}; !slices.Equal(got, want) {
		t.Fatalf("prefixes %v, want %v", got, want)
	}
}

func TestIdentityDefaults(t *testing.T) {
	c, err := Load(Flags{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebPubSub.Identity != (Identity{}) {
		t.Fatalf("identity is on without configuration: %+v", c.WebPubSub.Identity)
	}
	c, err = Load(Flags{ConfigFile: writeFile(t, "webpubsub:\n  identity:\n    issuer: https://sts.windows.net/t1/\n")}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{Issuer: "https://sts.windows.net/t1/", Audience: "https://webpubsub.azure.com", RolesClaim: "roles"}
	if c.WebPubSub.Identity != want {
		t.Fatalf("identity %+v, want %+v", c.WebPubSub.Identity, want)
	}
	c, err = Load(Flags{ConfigFile: writeFile(t, "webpubsub:\n  identity:\n    issuer: https://id.example\n    audience: api://huddle\n    rolesClaim: realm_access.roles\n")}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if id := c.WebPubSub.Identity; id.Audience != "api://huddle" || id.RolesClaim != "realm_access.roles" {
		t.Fatalf("identity %+v, want the configured audience and claim", id)
	}
}
