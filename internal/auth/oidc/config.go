package oidc

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the provider registration, as an operator writes it. Zero values mean the defaults
// in the comments.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery document states it (a
	// trailing slash matters). Required.
	Issuer string
	// ClientID is huddle's client id at the provider. Required.
	ClientID string
	// ClientSecret authenticates huddle at the token endpoint. Empty means a public client,
	// which sends only its client id and relies on PKCE.
	ClientSecret string
	// RedirectURL is the callback URL registered at the provider
	// (default Options.PublicURL + "/login/oidc/callback").
	RedirectURL string
	// Scopes requested (default openid, profile, email). openid is added when missing. Some
	// providers (Dex, some Keycloak setups) send a groups claim only when "groups" is asked for.
	Scopes []string
	// RoleClaim names the ID token claim whose values RoleMapping maps (default "groups"). It may
	// be a string or an array of strings. A name that is not a claim as it stands is tried as a
	// dotted path into nested objects, as in Keycloak's "realm_access.roles".
	RoleClaim string
	// RoleMapping maps claim values to roles (viewer, editor or admin), for example
	// {"huddle-admins": "admin", "ops": "editor"}. When several values match, the highest role
	// wins.
	RoleMapping map[string]string
	// DefaultRole is the role of users no mapping matches (default viewer). "none" refuses them
	// with ErrDenied.
	DefaultRole string
	// LoginClaim names the claim that suggests the user's login (default preferred_username).
	// When it is missing or empty, email and then sub are used.
	LoginClaim string
}

// Options are what huddle itself supplies, as opposed to the operator's Config.
type Options struct {
	// PublicURL is the base URL browsers use to reach huddle, such as https://huddle.example.com.
	// Required unless Config.RedirectURL is set.
	PublicURL string
	// CookieKey seals the login-flow cookie. It must hold at least 32 secret random bytes and be
	// the same on every node of a cluster, since the callback may land on another node. Required.
	CookieKey []byte
	// HTTPClient makes the requests to the provider: discovery, keys and code exchange
	// (default: a client with a 10-second timeout).
	HTTPClient *http.Client
	// Now is the clock for flow and ID token expiry (default time.Now).
	Now func() time.Time
}

const (
	defaultCallbackPath = "/login/oidc/callback"
	roleNone            = "none"
	minCookieKey        = 32
)

// normalize fills in defaults and checks everything New can check without the network. Errors
// name the field and the fix.
func normalize(cfg Config, opts Options) (Config, Options, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("oidc: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !absoluteHTTP(cfg.Issuer) {
		bad("Issuer", "%q must be the provider's absolute https:// URL", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		bad("ClientID", "is required")
	}
	if cfg.RedirectURL == "" && opts.PublicURL != "" {
		cfg.RedirectURL = strings.TrimSuffix(opts.PublicURL, "/") + defaultCallbackPath
	}
	if !absoluteHTTP(cfg.RedirectURL) {
		bad("RedirectURL", "%q must be an absolute http(s) URL; set it or Options.PublicURL", cfg.RedirectURL)
	}
	// Clone what the caller may still hold, so that the Provider never shares mutable state.
	cfg.Scopes, cfg.RoleMapping = slices.Clone(cfg.Scopes), maps.Clone(cfg.RoleMapping)
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile", "email"}
	} else if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	for value, role := range cfg.RoleMapping {
		if roleRank(role) == 0 {
			bad("RoleMapping", "%q maps to %q: use viewer, editor or admin", value, role)
		}
	}
	if cfg.DefaultRole == "" {
		cfg.DefaultRole = "viewer"
	}
	if cfg.DefaultRole != roleNone && roleRank(cfg.DefaultRole) == 0 {
		bad("DefaultRole", "%q must be viewer, editor, admin or none", cfg.DefaultRole)
	}
	if cfg.LoginClaim == "" {
		cfg.LoginClaim = "preferred_username"
	}
	if len(opts.CookieKey) < minCookieKey {
		bad("Options.CookieKey", "has %d bytes; it needs at least %d random bytes", len(opts.CookieKey), minCookieKey)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return cfg, opts, errors.Join(errs...)
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
