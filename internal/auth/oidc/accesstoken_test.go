package oidc_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
)

const webPubSubAudience = "https://webpubsub.azure.com"

// clientToken gets an access token from op the way a service principal does: client
// credentials, with the API named by its /.default scope.
func clientToken(t *testing.T, op *oidctest.Provider, c oidctest.Client, resource string) string {
	t.Helper()
	c.Secret = "svc-secret"
	op.AddClient(c)
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: op.URL + "/token",
		Scopes: []string{resource + "/.default"}}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func newVerifier(t *testing.T, cfg oidc.AccessTokenConfig) *oidc.AccessTokenVerifier {
	t.Helper()
	v, err := oidc.NewAccessTokenVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAccessTokenAccepted(t *testing.T) {
	op, err := oidctest.New(oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	tok := clientToken(t, op, oidctest.Client{ID: "app-server", Roles: []string{"WebPubSubServiceOwner", "other"}}, webPubSubAudience)

	got, err := newVerifier(t, oidc.AccessTokenConfig{Issuer: op.URL, Audience: webPubSubAudience}).Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "app-server" || !slices.Equal(got.Roles, []string{"WebPubSubServiceOwner", "other"}) {
		t.Fatalf("got %+v, want subject app-server with both roles", got)
	}

	// The roles come from the configured claim only.
	got, err = newVerifier(t, oidc.AccessTokenConfig{Issuer: op.URL, Audience: webPubSubAudience, RolesClaim: "groups"}).Verify(t.Context(), tok)
	if err != nil || len(got.Roles) != 0 {
		t.Fatalf("with rolesClaim groups: %+v, %v; want no roles", got, err)
	}
}

func TestAccessTokenRefused(t *testing.T) {
	clock := &testClock{}
	op, err := oidctest.New(oidctest.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	// A provider with keys of its own that writes the first one's issuer: a forgery.
	forger, err := oidctest.New(oidctest.Options{IDTokenIssuer: op.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(forger.Close)

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  error
	}{
		{"another audience", func(t *testing.T) string {
			return clientToken(t, op, oidctest.Client{ID: "a", Roles: []string{"WebPubSubServiceOwner"}}, "api://another")
		}, oidc.ErrTokenAudience},
		{"another tenant of the same provider", func(t *testing.T) string {
			return clientToken(t, op, oidctest.Client{ID: "b", Issuer: op.URL + "/other-tenant"}, webPubSubAudience)
		}, oidc.ErrTokenIssuer},
		{"expired", func(t *testing.T) string {
			return clientToken(t, op, oidctest.Client{ID: "c", TokenTTL: -time.Second}, webPubSubAudience)
		}, oidc.ErrTokenExpired},
		{"not valid yet", func(t *testing.T) string {
			clock.Advance(time.Hour)
			defer clock.Advance(-time.Hour)
			return clientToken(t, op, oidctest.Client{ID: "d", TokenTTL: 2 * time.Hour}, webPubSubAudience)
		}, oidc.ErrTokenNotYetValid},
		{"signed with other keys", func(t *testing.T) string {
			return clientToken(t, forger, oidctest.Client{ID: "e"}, webPubSubAudience)
		}, oidc.ErrTokenInvalid},
		{"HS256 with the public key's owner's claims", func(t *testing.T) string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"iss": op.URL, "aud": webPubSubAudience, "sub": "f", "exp": time.Now().Add(time.Hour).Unix(),
			}).SignedString([]byte("a guessed secret"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, oidc.ErrTokenInvalid},
		{"garbage", func(*testing.T) string { return "' OR 1=1; --" }, oidc.ErrTokenInvalid},
	}
	v := newVerifier(t, oidc.AccessTokenConfig{Issuer: op.URL, Audience: webPubSubAudience})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// Entra ID's v1 access tokens name https://sts.windows.net/<tenant>/ as their issuer, which the
// discovery document they are verified with does not: DiscoveryURL fetches it elsewhere while
// the tokens' iss is still checked against Issuer.
func TestAccessTokenDiscoveredElsewhere(t *testing.T) {
	op, err := oidctest.New(oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	target, err := url.Parse(op.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The same documents and keys under another address, whose document names op.URL as issuer.
	elsewhere := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(elsewhere.Close)

	tok := clientToken(t, op, oidctest.Client{ID: "svc", Roles: []string{"WebPubSubServiceOwner"}}, webPubSubAudience)
	v := newVerifier(t, oidc.AccessTokenConfig{Issuer: op.URL, DiscoveryURL: elsewhere.URL, Audience: webPubSubAudience})
	if got, err := v.Verify(t.Context(), tok); err != nil || got.Subject != "svc" {
		t.Fatalf("Verify = %+v, %v; want svc's token accepted", got, err)
	}
	other := clientToken(t, op, oidctest.Client{ID: "other", Issuer: elsewhere.URL}, webPubSubAudience)
	if _, err := v.Verify(t.Context(), other); !errors.Is(err, oidc.ErrTokenIssuer) {
		t.Fatalf("a token naming the discovery URL as issuer: %v, want ErrTokenIssuer", err)
	}
	// Without DiscoveryURL, a document naming another issuer than its address is refused.
	wrong := newVerifier(t, oidc.AccessTokenConfig{Issuer: elsewhere.URL, Audience: webPubSubAudience})
	if _, err := wrong.Verify(t.Context(), tok); !errors.Is(err, oidc.ErrUnavailable) {
		t.Fatalf("discovery naming another issuer: %v, want ErrUnavailable", err)
	}
}

func TestAccessTokenProviderDown(t *testing.T) {
	down := httptest.NewServer(nil)
	down.Close()
	v := newVerifier(t, oidc.AccessTokenConfig{Issuer: down.URL, Audience: webPubSubAudience})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := v.Verify(ctx, "a.b.c"); !errors.Is(err, oidc.ErrUnavailable) {
		t.Fatalf("Verify = %v, want ErrUnavailable", err)
	}
}

func TestNewAccessTokenVerifierValidates(t *testing.T) {
	_, err := oidc.NewAccessTokenVerifier(oidc.AccessTokenConfig{Issuer: "not a url", DiscoveryURL: "/relative"})
	if err == nil {
		t.Fatal("no error for a bad issuer and discovery URL and no audience")
	}
	for _, field := range []string{"Issuer", "DiscoveryURL", "Audience"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}
