// Package config loads huddle's configuration from a YAML file, the environment and flags, in
// that order of precedence (flags win), and validates it once at start with errors that name the
// field and the fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/signalr/upstream"
)

// Config is everything `huddle serve` needs. Zero values mean the defaults in the comments.
type Config struct {
	// Addr is the HTTP listen address (HUDDLE_ADDR, --addr; default 127.0.0.1:8080).
	Addr string `yaml:"addr"`
	// DataDir keeps the access key and, later, the stores (HUDDLE_DATA_DIR, --data-dir; default ./data).
	DataDir string `yaml:"dataDir"`
	// PublicURL is the base URL clients and app servers use to reach this server, written into
	// connection strings (HUDDLE_PUBLIC_URL; default http://<the address listened on>).
	PublicURL string `yaml:"publicURL"`
	// TrustedProxies are the reverse proxies in front of huddle, as CIDR prefixes or single
	// addresses (e.g. [10.0.0.0/8, 127.0.0.1]); their X-Forwarded-For names the client for the
	// login limits and the audit log. Default: none, the header is ignored.
	TrustedProxies []string `yaml:"trustedProxies"`
	// TLS serves HTTPS and wss:// itself; without it huddle serves plain HTTP, for a proxy in
	// front of it to terminate TLS.
	TLS TLS `yaml:"tls"`
	// AccessKey signs and verifies every token (HUDDLE_ACCESS_KEY; default: generated once and
	// kept in the data dir). A secondary key may be added for rotation.
	AccessKey          string `yaml:"accessKey"`
	SecondaryAccessKey string `yaml:"secondaryAccessKey"`
	// AdminPassword is the first administrator's password, used only when there is no user yet
	// (HUDDLE_ADMIN_PASSWORD only; default: a one-time password printed at first start).
	AdminPassword string `yaml:"-"`
	// LogLevel is debug, info, warn or error (HUDDLE_LOG_LEVEL; default info).
	LogLevel string `yaml:"logLevel"`
	// Limits bound what one connection may cost; see pubsub.Limits for defaults.
	Limits pubsub.Limits `yaml:"limits"`
	// Hubs configure hubs by name (case-insensitive); hubs not listed work with no event handler.
	Hubs map[string]Hub `yaml:"hubs"`
	// WebPubSub configures how the Web PubSub REST API authenticates app servers.
	WebPubSub WebPubSub `yaml:"webpubsub"`
	// SignalR configures the SignalR Service (serverless) front.
	SignalR SignalR `yaml:"signalr"`
	// Postgres keeps state in PostgreSQL instead of SQLite in the data dir.
	Postgres Postgres `yaml:"postgres"`
	// OIDC enables single sign-on with an OpenID Connect provider.
	OIDC OIDC `yaml:"oidc"`
	// Metrics chooses where time series are kept and what is collected.
	Metrics Metrics `yaml:"metrics"`
}

// The metrics sources.
const (
	// SourceEmbedded keeps time series in a TSDB in the data dir, filled by the collector.
	SourceEmbedded = "embedded"
	// SourcePrometheus sends every query to an external Prometheus-compatible server.
	SourcePrometheus = "prometheus"
)

// Metrics configures collection, storage and the query source.
type Metrics struct {
	// Source is embedded (default) or prometheus (HUDDLE_METRICS_SOURCE). With prometheus, the
	// embedded store, the collector and the remote-write receiver are off: the external server
	// scrapes this host and huddle's /metrics itself.
	Source string `yaml:"source"`
	// Retention is how long the embedded store keeps samples, e.g. 30d or 12h (default 30d).
	Retention model.Duration `yaml:"retention"`
	// QueryTimeout bounds one query's evaluation (default 2m).
	QueryTimeout time.Duration `yaml:"queryTimeout"`
	// MaxSamples bounds the samples one query may hold in memory (default 50,000,000).
	MaxSamples int `yaml:"maxSamples"`
	// Interval is how often every job collects unless it sets its own (default 10s).
	Interval time.Duration `yaml:"interval"`
	// Host collects this machine as node_exporter does, as job "node".
	Host HostJob `yaml:"host"`
	// Self collects huddle's own /metrics in-process as job "huddle".
	Self CollectJob `yaml:"self"`
	// ProtectSelf makes GET /metrics, huddle's own metrics, need what the query API needs (a
	// signed-in viewer, or an API key with metrics:read) instead of answering anyone (default
	// false, as exporters do).
	ProtectSelf bool `yaml:"protectSelf"`
	// Scrape lists Prometheus scrape jobs, like Prometheus's scrape_configs.
	Scrape []ScrapeJob `yaml:"scrape"`
	// Prometheus is the external server queried when Source is prometheus.
	Prometheus RemotePrometheus `yaml:"prometheus"`
	// RuleFiles are globs of Prometheus rule files, loaded unchanged at start (like Prometheus's
	// rule_files); their groups are read-only in huddle, their files being their source.
	RuleFiles []string `yaml:"ruleFiles"`
}

// CollectJob is a built-in collection job.
type CollectJob struct {
	Disabled bool `yaml:"disabled"`
	// Interval overrides metrics.interval for this job.
	Interval time.Duration `yaml:"interval"`
}

// HostJob is the job that collects this machine.
type HostJob struct {
	CollectJob `yaml:",inline"`
	// Job is the job label (default node); many dashboards select job="node-exporter".
	Job string `yaml:"job"`
	// Instance is the instance label (default the host name).
	Instance string `yaml:"instance"`
}

// ScrapeJob scrapes Prometheus exposition endpoints.
type ScrapeJob struct {
	// Job is the job label of every series scraped (required, unique).
	Job string `yaml:"job"`
	// Targets are host:port pairs or full URLs.
	Targets []string `yaml:"targets"`
	// MetricsPath is the path on host:port targets (default /metrics).
	MetricsPath string `yaml:"metricsPath"`
	// Scheme is http (default) or https for host:port targets.
	Scheme string `yaml:"scheme"`
	// Interval overrides metrics.interval; Timeout defaults to, and may not exceed, the interval.
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// Labels are added to every series of the job.
	Labels      map[string]string `yaml:"labels"`
	Username    string            `yaml:"username"`
	Password    string            `yaml:"password"`
	BearerToken string            `yaml:"bearerToken"`
}

// RemotePrometheus locates an external Prometheus-compatible server (Prometheus,
// VictoriaMetrics, Mimir, Thanos) and how to authenticate to it.
type RemotePrometheus struct {
	// URL is the server's base URL, the one /api/v1/query hangs off
	// (HUDDLE_METRICS_PROMETHEUS_URL).
	URL string `yaml:"url"`
	// Username and Password send HTTP basic auth (HUDDLE_METRICS_PROMETHEUS_PASSWORD).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// BearerToken sends Authorization: Bearer (HUDDLE_METRICS_PROMETHEUS_TOKEN).
	BearerToken string `yaml:"bearerToken"`
	// Headers are sent with every request, e.g. X-Scope-OrgID for Mimir's tenants.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one request (default 2m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes bounds one answer (default 256 MiB).
	MaxResponseBytes int64 `yaml:"maxResponseBytes"`
}

// Postgres locates the shared database of a cluster.
type Postgres struct {
	// URL is a postgres:// connection URL (HUDDLE_POSTGRES_URL); empty means SQLite.
	URL string `yaml:"url"`
}

// OIDC configures login through an OpenID Connect provider (Microsoft Entra ID, Keycloak, Google,
// Dex, …). It is off while Issuer is empty.
type OIDC struct {
	// Name is shown on the login button (default "single sign-on").
	Name         string `yaml:"name"`
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"clientID"`
	ClientSecret string `yaml:"clientSecret"` // HUDDLE_OIDC_CLIENT_SECRET
	// Scopes requested (default openid, profile, email).
	Scopes []string `yaml:"scopes"`
	// RoleClaim names the claim whose values RoleMapping maps to roles (default "groups").
	RoleClaim string `yaml:"roleClaim"`
	// RoleMapping maps claim values to viewer, editor or admin; the highest match wins.
	RoleMapping map[string]string `yaml:"roleMapping"`
	// DefaultRole is given to users no mapping matches (default viewer); "none" refuses them.
	DefaultRole string `yaml:"defaultRole"`
	// LoginClaim names the claim used as the huddle login (default preferred_username, then
	// email, then sub).
	LoginClaim string `yaml:"loginClaim"`
}

// DefaultIdentityAudience is the aud Microsoft Entra ID writes into tokens for the scope the
// Azure Web PubSub SDKs ask for with a TokenCredential, https://webpubsub.azure.com/.default.
const DefaultIdentityAudience = "https://webpubsub.azure.com"

// WebPubSub configures the Web PubSub front.
type WebPubSub struct {
	// Identity lets app servers call the REST API with access tokens from an OpenID Connect
	// provider, as the Azure SDKs do with a TokenCredential (Microsoft Entra ID), beside tokens
	// signed with the access key. Off while its issuer is empty.
	Identity Identity `yaml:"identity"`
}

// Identity is the OpenID Connect provider whose access tokens the REST API accepts.
type Identity struct {
	// Issuer is the provider's issuer URL, exactly as its discovery document and its tokens'
	// iss state it; for Entra ID's access tokens, https://sts.windows.net/<tenant id>/.
	Issuer string `yaml:"issuer"`
	// DiscoveryURL is where the provider's discovery document is, when not under Issuer; for
	// Entra ID, https://login.microsoftonline.com/<tenant id>. Default: Issuer.
	DiscoveryURL string `yaml:"discoveryURL"`
	// Audience is the aud the tokens must carry (default https://webpubsub.azure.com).
	Audience string `yaml:"audience"`
	// RolesClaim names the claim that holds the caller's roles (default roles), a string or an
	// array of strings; see the README for the roles the REST API knows.
	RolesClaim string `yaml:"rolesClaim"`
}

// SignalR configures the SignalR Service (serverless) front.
type SignalR struct {
	// Upstream is where client events and hub method invocations are sent, as Azure SignalR
	// Service's upstream settings (serverless mode). Default: nowhere; a client's invocation
	// that waits for a result gets an error Completion.
	Upstream SignalRUpstream `yaml:"upstream"`
}

// SignalRUpstream is Azure SignalR Service's upstream setting (ARM properties.upstream).
type SignalRUpstream struct {
	// Templates are tried in order for each event; the first that matches takes it.
	Templates []upstream.Template `yaml:"templates"`
}

// Hub is one hub's settings.
type Hub struct {
	// EventHandlers are the app's CloudEvents endpoints, tried in order for each event.
	EventHandlers []EventHandler `yaml:"eventHandlers"`
}

// EventHandler is one upstream endpoint of a hub, as in the Azure portal's hub settings.
type EventHandler struct {
	// URLTemplate may contain {hub} and {event}, e.g. http://localhost:3000/eventhandler/{event}.
	URLTemplate string `yaml:"urlTemplate"`
	// UserEvents is "*" for every user event, a comma-separated list of names, or empty for none.
	UserEvents string `yaml:"userEvents"`
	// SystemEvents lists which of connect, connected and disconnected the app wants.
	SystemEvents []string `yaml:"systemEvents"`
}

// TLS names the PEM files of the server's certificate (its chain after it) and private key
// (HUDDLE_TLS_CERT_FILE, HUDDLE_TLS_KEY_FILE). The files are read again when they change.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Enabled reports whether huddle serves HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Flags are the command-line values that override the file and the environment; empty ones do not.
type Flags struct {
	ConfigFile string
	Addr       string
	DataDir    string
}

// Load reads the file named by flags or HUDDLE_CONFIG, applies the environment and flags, fills
// defaults and validates the result.
func Load(flags Flags, getenv func(string) string) (Config, error) {
	var c Config
	path := flags.ConfigFile
	if path == "" {
		path = getenv("HUDDLE_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		// io.EOF is an empty file: no settings, not an error.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	setFrom := func(dst *string, values ...string) {
		for _, v := range values {
			if v != "" {
				*dst = v
			}
		}
	}
	setFrom(&c.Addr, getenv("HUDDLE_ADDR"), flags.Addr)
	setFrom(&c.DataDir, getenv("HUDDLE_DATA_DIR"), flags.DataDir)
	setFrom(&c.PublicURL, getenv("HUDDLE_PUBLIC_URL"))
	setFrom(&c.TLS.CertFile, getenv("HUDDLE_TLS_CERT_FILE"))
	setFrom(&c.TLS.KeyFile, getenv("HUDDLE_TLS_KEY_FILE"))
	setFrom(&c.AccessKey, getenv("HUDDLE_ACCESS_KEY"))
	setFrom(&c.LogLevel, getenv("HUDDLE_LOG_LEVEL"))
	setFrom(&c.Postgres.URL, getenv("HUDDLE_POSTGRES_URL"))
	setFrom(&c.AdminPassword, getenv("HUDDLE_ADMIN_PASSWORD"))
	setFrom(&c.OIDC.ClientSecret, getenv("HUDDLE_OIDC_CLIENT_SECRET"))
	setFrom(&c.Metrics.Source, getenv("HUDDLE_METRICS_SOURCE"))
	setFrom(&c.Metrics.Prometheus.URL, getenv("HUDDLE_METRICS_PROMETHEUS_URL"))
	setFrom(&c.Metrics.Prometheus.Password, getenv("HUDDLE_METRICS_PROMETHEUS_PASSWORD"))
	setFrom(&c.Metrics.Prometheus.BearerToken, getenv("HUDDLE_METRICS_PROMETHEUS_TOKEN"))
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) fillDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Metrics.Source == "" {
		c.Metrics.Source = SourceEmbedded
	}
	if c.Metrics.Interval == 0 {
		c.Metrics.Interval = 10 * time.Second
	}
	if id := &c.WebPubSub.Identity; id.Issuer != "" {
		if id.Audience == "" {
			id.Audience = DefaultIdentityAudience
		}
		if id.RolesClaim == "" {
			id.RolesClaim = "roles"
		}
	}
}

// Validate reports every problem at once, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port (for example 127.0.0.1:8080 or :8080)", c.Addr)
	}
	if c.PublicURL != "" && !absoluteHTTP(c.PublicURL) {
		bad("publicURL", "%q must be an absolute http:// or https:// URL", c.PublicURL)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "certFile and keyFile go together: set both or neither")
	}
	for i, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			bad(fmt.Sprintf("trustedProxies[%d]", i), "%q is not a CIDR prefix or an IP address (for example 10.0.0.0/8 or 127.0.0.1)", p)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.LogLevel)) {
		bad("logLevel", "%q must be debug, info, warn or error", c.LogLevel)
	}
	if strings.ContainsAny(c.AccessKey, ";\n") || strings.ContainsAny(c.SecondaryAccessKey, ";\n") {
		bad("accessKey", "must not contain ';' or a newline: it is written into connection strings")
	}
	l := c.Limits
	for name, v := range map[string]int64{
		"limits.maxMessageBytes": l.MaxMessageBytes, "limits.maxQueuedFrames": int64(l.MaxQueuedFrames),
		"limits.maxQueuedBytes": int64(l.MaxQueuedBytes), "limits.maxGroupsPerConnection": int64(l.MaxGroupsPerConn),
		"limits.maxInboundPerSecond": int64(l.MaxInboundPerSecond), "limits.maxUnacked": int64(l.MaxUnacked),
		"limits.maxUnackedBytes": int64(l.MaxUnackedBytes), "limits.reconnectWindow": int64(l.ReconnectWindow),
		"limits.writeTimeout": int64(l.WriteTimeout), "limits.maxInboundBurst": int64(l.MaxInboundBurst),
		"limits.maxConnectionsPerUser": int64(l.MaxConnsPerUser), "limits.maxConnectionsPerAddress": int64(l.MaxConnsPerAddress),
		"limits.maxStreamsPerConnection": int64(l.MaxStreamsPerConn),
	} {
		if v < 0 {
			bad(name, "must not be negative (0 means the default)")
		}
	}
	for name, h := range c.Hubs {
		for i, eh := range h.EventHandlers {
			field := fmt.Sprintf("hubs.%s.eventHandlers[%d]", name, i)
			probe := strings.NewReplacer("{hub}", "h", "{event}", "e", "{Hub}", "h", "{Event}", "e").Replace(eh.URLTemplate)
			if !absoluteHTTP(probe) {
				bad(field+".urlTemplate", "%q must be an absolute http:// or https:// URL", eh.URLTemplate)
			}
			for _, e := range eh.SystemEvents {
				if !slices.Contains([]string{"connect", "connected", "disconnected"}, strings.ToLower(e)) {
					bad(field+".systemEvents", "unknown event %q: use connect, connected or disconnected", e)
				}
			}
		}
	}
	for i, t := range c.SignalR.Upstream.Templates {
		if err := t.Check(); err != nil {
			errs = append(errs, fmt.Errorf("signalr.upstream.templates[%d].%w", i, err))
		}
	}
	if u := c.Postgres.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("postgres.url", "must be a postgres:// URL, e.g. postgres://huddle@db:5432/huddle")
	}
	if o := c.OIDC; o.Issuer != "" {
		if !absoluteHTTP(o.Issuer) {
			bad("oidc.issuer", "%q must be the provider's absolute https:// URL", o.Issuer)
		}
		if o.ClientID == "" {
			bad("oidc.clientID", "is required when oidc.issuer is set")
		}
		roles := []string{"viewer", "editor", "admin"}
		for value, role := range o.RoleMapping {
			if !slices.Contains(roles, role) {
				bad("oidc.roleMapping", "%q maps to %q: use viewer, editor or admin", value, role)
			}
		}
		if o.DefaultRole != "" && o.DefaultRole != "none" && !slices.Contains(roles, o.DefaultRole) {
			bad("oidc.defaultRole", "%q must be viewer, editor, admin or none", o.DefaultRole)
		}
	}
	if id := c.WebPubSub.Identity; id.Issuer != "" {
		if !absoluteHTTP(id.Issuer) {
			bad("webpubsub.identity.issuer", "%q must be the provider's absolute https:// URL", id.Issuer)
		}
		if id.DiscoveryURL != "" && !absoluteHTTP(id.DiscoveryURL) {
			bad("webpubsub.identity.discoveryURL", "%q must be an absolute https:// URL", id.DiscoveryURL)
		}
	} else if id != (Identity{}) {
		bad("webpubsub.identity.issuer", "is required when webpubsub.identity is set: it names the provider whose tokens the REST API accepts")
	}
	c.Metrics.validate(bad)
	return errors.Join(errs...)
}

func (m *Metrics) validate(bad func(field, format string, args ...any)) {
	switch m.Source {
	case SourceEmbedded:
		if m.Prometheus.URL != "" {
			bad("metrics.prometheus.url", "is set but metrics.source is %q: set metrics.source to prometheus to use it", m.Source)
		}
	case SourcePrometheus:
		// The remote source checks its own settings when it is built, naming the same fields.
	default:
		bad("metrics.source", "%q must be embedded or prometheus", m.Source)
	}
	for name, v := range map[string]time.Duration{
		"metrics.retention": time.Duration(m.Retention), "metrics.queryTimeout": m.QueryTimeout,
		"metrics.interval": m.Interval, "metrics.host.interval": m.Host.Interval, "metrics.self.interval": m.Self.Interval,
	} {
		if v < 0 {
			bad(name, "must not be negative (0 means the default)")
		}
	}
	if m.MaxSamples < 0 {
		bad("metrics.maxSamples", "must not be negative (0 means the default)")
	}
	// Scrape jobs are checked by the collector that runs them, with the same field names.
}

// SlogLevel is LogLevel as a slog level; Validate has checked that it parses.
func (c *Config) SlogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// TrustedProxyPrefixes is TrustedProxies parsed, a single address as a prefix of its full length;
// Validate has checked that each parses.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, p := range c.TrustedProxies {
		if prefix, err := parsePrefix(p); err == nil {
			out = append(out, prefix)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("parse trusted proxy: %w", err)
	}
	return p.Masked(), nil
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
