package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Why [AccessTokenVerifier.Verify] refused a token. Each is wrapped with detail for logs; the
// sentinel's own text says what the caller got wrong and may be shown to it.
var (
	ErrTokenExpired     = errors.New("the access token has expired")
	ErrTokenNotYetValid = errors.New("the access token is not valid yet (nbf is in the future)")
	ErrTokenIssuer      = errors.New("the access token was not issued by the identity provider this service trusts (iss)")
	ErrTokenAudience    = errors.New("the access token was not issued for this service (aud)")
	ErrTokenInvalid     = errors.New("the access token is malformed or not signed with the identity provider's keys")
)

// nbfLeeway is how far in the future go-oidc lets nbf be, for the same clock skew we explain.
const nbfLeeway = 5 * time.Minute

// AccessTokenConfig says which bearer tokens an [AccessTokenVerifier] accepts. Zero values mean
// the defaults in the comments.
type AccessTokenConfig struct {
	// Issuer is the provider's issuer URL, exactly as its tokens' iss states it. Required.
	Issuer string
	// DiscoveryURL is where the discovery document is, without /.well-known/openid-configuration
	// (default Issuer, whose document must then name Issuer as its issuer). Set it for a provider
	// that publishes its document elsewhere than under the issuer its tokens name: Entra ID's v1
	// access tokens, those of Azure resources such as Web PubSub, name
	// https://sts.windows.net/<tenant>/, and its document is at
	// https://login.microsoftonline.com/<tenant>. The signing keys come from that document's
	// jwks_uri; the tokens' iss is checked against Issuer whatever the document says.
	DiscoveryURL string
	// Audience is the aud the tokens must carry: the identifier of the API they were issued for.
	// Required.
	Audience string
	// RolesClaim names the claim that holds the caller's roles (default "roles"), a string or an
	// array of strings, looked up as Config.RoleClaim is.
	RolesClaim string
	// HTTPClient fetches the discovery document and the signing keys (default: a client with a
	// 10-second timeout).
	HTTPClient *http.Client
	// Now is the clock for exp and nbf (default time.Now).
	Now func() time.Time
}

// AccessToken is what a verified access token says about its bearer.
type AccessToken struct {
	// Subject is the sub claim: the application or person the token was issued to.
	Subject string
	// Roles are the values of the roles claim.
	Roles []string
}

// AccessTokenVerifier checks bearer tokens that an OpenID Connect provider issued for an API,
// such as those a service principal gets from Microsoft Entra ID with its client credentials.
// Discovery is lazy and retried as for sign-in (see the package doc); signing keys are refetched
// by go-oidc whenever a token names a key it has not seen. It is safe for concurrent use.
type AccessTokenVerifier struct {
	cfg  AccessTokenConfig
	disc discovery[*gooidc.IDTokenVerifier]
}

// NewAccessTokenVerifier checks cfg and returns a verifier. It makes no network call.
func NewAccessTokenVerifier(cfg AccessTokenConfig) (*AccessTokenVerifier, error) {
	var errs []error
	if !absoluteHTTP(cfg.Issuer) {
		errs = append(errs, fmt.Errorf("oidc: Issuer: %q must be the provider's absolute https:// URL", cfg.Issuer))
	}
	if cfg.DiscoveryURL != "" && !absoluteHTTP(cfg.DiscoveryURL) {
		errs = append(errs, fmt.Errorf("oidc: DiscoveryURL: %q must be an absolute https:// URL", cfg.DiscoveryURL))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("oidc: Audience: is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &AccessTokenVerifier{cfg: cfg}
	v.disc.fetch, v.disc.now = v.discover, cfg.Now
	return v, nil
}

func (v *AccessTokenVerifier) discover(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	ctx = gooidc.ClientContext(ctx, v.cfg.HTTPClient)
	from := v.cfg.Issuer
	if v.cfg.DiscoveryURL != "" {
		// go-oidc then takes Issuer as the issuer to check tokens against, whatever the
		// document says.
		ctx, from = gooidc.InsecureIssuerURLContext(ctx, v.cfg.Issuer), v.cfg.DiscoveryURL
	}
	op, err := gooidc.NewProvider(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", from, err)
	}
	// An access token is checked as go-oidc checks an ID token: signature with the keys the
	// issuer publishes (and only the algorithms it announces), iss, aud, exp and nbf.
	return op.Verifier(&gooidc.Config{ClientID: v.cfg.Audience, Now: v.cfg.Now}), nil
}

// Verify checks raw's signature, issuer, audience, expiry and not-before time and returns what
// it says. A refusal wraps one of the ErrToken… sentinels; a provider that cannot be discovered,
// ErrUnavailable.
func (v *AccessTokenVerifier) Verify(ctx context.Context, raw string) (AccessToken, error) {
	verifier, err := v.disc.get(ctx)
	if err != nil {
		return AccessToken{}, fmt.Errorf("verify access token: %w", err)
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return AccessToken{}, fmt.Errorf("verify access token: %w: %w", v.reason(raw, err), err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return AccessToken{}, fmt.Errorf("verify access token: decode claims: %w: %w", ErrTokenInvalid, err)
	}
	return AccessToken{Subject: tok.Subject, Roles: claimStrings(lookupClaim(claims, v.cfg.RolesClaim))}, nil
}

// reason names what is wrong with a token go-oidc refused, for the caller: go-oidc's errors but
// for expiry are text only. The claims are read unverified here, and only to explain a refusal.
func (v *AccessTokenVerifier) reason(raw string, err error) error {
	if _, ok := errors.AsType[*gooidc.TokenExpiredError](err); ok {
		return ErrTokenExpired
	}
	var claims struct {
		Issuer    string          `json:"iss"`
		Audience  json.RawMessage `json:"aud"`
		NotBefore *json.Number    `json:"nbf"`
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ErrTokenInvalid
	}
	payload, decErr := base64.RawURLEncoding.DecodeString(parts[1])
	if decErr != nil || json.Unmarshal(payload, &claims) != nil {
		return ErrTokenInvalid
	}
	var auds []string
	if json.Unmarshal(claims.Audience, &auds) != nil {
		var one string
		if json.Unmarshal(claims.Audience, &one) == nil {
			auds = []string{one}
		}
	}
	switch {
	case claims.Issuer != v.cfg.Issuer:
		return ErrTokenIssuer
	case !slices.Contains(auds, v.cfg.Audience):
		return ErrTokenAudience
	case claims.NotBefore != nil:
		if nbf, err := claims.NotBefore.Int64(); err == nil && time.Unix(nbf, 0).After(v.cfg.Now().Add(nbfLeeway)) {
			return ErrTokenNotYetValid
		}
	}
	return ErrTokenInvalid
}
