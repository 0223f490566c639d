package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
)

const (
	clientID     = "huddle"
	clientSecret = "s3cret/with+reserved=chars" // basic auth must form-encode it
	redirectURI  = "http://app.test/callback"
	verifier     = "a-verifier-that-is-long-enough-for-rfc-7636-0123456789"
)

// testClock is the provider's clock, moved by tests instead of sleeping.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func start(t *testing.T) (*oidctest.Provider, *testClock) {
	t.Helper()
	clock := &testClock{}
	p, err := oidctest.New(oidctest.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.AddClient(oidctest.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}})
	p.SetNextUser(oidctest.Claims{
		Subject: "u1", Email: "ada@example.com", Name: "Ada", PreferredUsername: "ada",
		Groups: []string{"ops"}, Extra: map[string]any{"roles": []string{"reader"}},
	})
	return p, clock
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authParams() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid email"},
		"state":                 {"st"},
		"nonce":                 {"n0"},
		"code_challenge":        {challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
}

// authorize sends an authorization request and returns the status and, on a redirect, the query
// it redirects with.
func authorize(t *testing.T, p *oidctest.Provider, params url.Values) (int, url.Values) {
	t.Helper()
	resp, err := noRedirects().Get(p.URL + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	return resp.StatusCode, loc.Query()
}

func code(t *testing.T, p *oidctest.Provider) string {
	t.Helper()
	_, q := authorize(t, p, authParams())
	if q.Get("code") == "" || q.Get("state") != "st" {
		t.Fatalf("authorization answered %v", q)
	}
	return q.Get("code")
}

type tokenReply struct {
	Status      int
	Error       string `json:"error"`
	Description string `json:"error_description"`
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// exchange posts form to the token endpoint, with basic credentials when basic is set.
func exchange(t *testing.T, p *oidctest.Provider, form url.Values, basic bool) tokenReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := tokenReply{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func tokenForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
}

func TestDiscoveryAndKeys(t *testing.T) {
	p, _ := start(t)
	var meta map[string]any
	getJSON(t, p.URL+"/.well-known/openid-configuration", &meta)
	for field, want := range map[string]string{
		"issuer":                 p.URL,
		"authorization_endpoint": p.URL + "/authorize",
		"token_endpoint":         p.URL + "/token",
		"jwks_uri":               p.URL + "/jwks",
	} {
		if meta[field] != want {
			t.Errorf("%s = %v, want %s", field, meta[field], want)
		}
	}
	var keys jose.JSONWebKeySet
	getJSON(t, p.URL+"/jwks", &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].KeyID == "" || !keys.Keys[0].IsPublic() {
		t.Fatalf("jwks = %+v, want one public key with a kid", keys)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name       string
		change     func(url.Values)
		setup      func(*oidctest.Provider)
		wantStatus int
		wantError  string // the error the provider redirects with; "" for a code
	}{
		{name: "code", wantStatus: http.StatusFound},
		{name: "unknown client gets no redirect", change: func(v url.Values) { v.Set("client_id", "evil") }, wantStatus: http.StatusBadRequest},
		{name: "unregistered redirect_uri gets no redirect", change: func(v url.Values) { v.Set("redirect_uri", "http://evil.test/callback") }, wantStatus: http.StatusBadRequest},
		{name: "openid scope is required", change: func(v url.Values) { v.Set("scope", "email") }, wantStatus: http.StatusFound, wantError: "invalid_scope"},
		{name: "only response_type code", change: func(v url.Values) { v.Set("response_type", "token") }, wantStatus: http.StatusFound, wantError: "unsupported_response_type"},
		{name: "plain PKCE is refused", change: func(v url.Values) { v.Set("code_challenge_method", "plain") }, wantStatus: http.StatusFound, wantError: "invalid_request"},
		{name: "chosen error", setup: func(p *oidctest.Provider) { p.SetNextError("access_denied") }, wantStatus: http.StatusFound, wantError: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := start(t)
			if tt.setup != nil {
				tt.setup(p)
			}
			params := authParams()
			if tt.change != nil {
				tt.change(params)
			}
			status, q := authorize(t, p, params)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			if status != http.StatusFound {
				return
			}
			if q.Get("state") != "st" {
				t.Errorf("state = %q, want it echoed", q.Get("state"))
			}
			if q.Get("error") != tt.wantError || (tt.wantError == "") != (q.Get("code") != "") {
				t.Fatalf("redirected with %v, want error %q", q, tt.wantError)
			}
		})
	}

	t.Run("an error is one-shot", func(t *testing.T) {
		p, _ := start(t)
		p.SetNextError("access_denied")
		authorize(t, p, authParams())
		code(t, p)
	})
	t.Run("no user chosen", func(t *testing.T) {
		p, err := oidctest.New(oidctest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		p.AddClient(oidctest.Client{ID: clientID, RedirectURIs: []string{redirectURI}})
		if _, q := authorize(t, p, authParams()); q.Get("error") != "login_required" {
			t.Fatalf("redirected with %v, want login_required", q)
		}
	})
}

func TestToken(t *testing.T) {
	tests := []struct {
		name       string
		basic      bool
		change     func(v url.Values, clock *testClock)
		wantStatus int
		wantError  string
	}{
		{name: "basic auth", basic: true, wantStatus: http.StatusOK},
		{name: "form auth", change: func(v url.Values, _ *testClock) { v.Set("client_id", clientID); v.Set("client_secret", clientSecret) }, wantStatus: http.StatusOK},
		{name: "two auth methods", basic: true, change: func(v url.Values, _ *testClock) { v.Set("client_secret", clientSecret) }, wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "no client auth", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong secret", change: func(v url.Values, _ *testClock) { v.Set("client_id", clientID); v.Set("client_secret", "guess") }, wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong grant type", basic: true, change: func(v url.Values, _ *testClock) { v.Set("grant_type", "password") }, wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "unknown code", basic: true, change: func(v url.Values, _ *testClock) { v.Set("code", "nope") }, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "wrong verifier", basic: true, change: func(v url.Values, _ *testClock) { v.Set("code_verifier", verifier+"x") }, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "missing verifier", basic: true, change: func(v url.Values, _ *testClock) { v.Del("code_verifier") }, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "other redirect_uri", basic: true, change: func(v url.Values, _ *testClock) { v.Set("redirect_uri", "http://app.test/other") }, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "expired code", basic: true, change: func(_ url.Values, c *testClock) { c.Advance(2 * time.Minute) }, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, clock := start(t)
			form := tokenForm(code(t, p))
			if tt.change != nil {
				tt.change(form, clock)
			}
			r := exchange(t, p, form, tt.basic)
			if r.Status != tt.wantStatus || r.Error != tt.wantError {
				t.Fatalf("got %d %q (%s), want %d %q", r.Status, r.Error, r.Description, tt.wantStatus, tt.wantError)
			}
			if r.Status == http.StatusOK && (r.IDToken == "" || r.AccessToken == "" || r.TokenType != "Bearer") {
				t.Fatalf("token response %+v lacks tokens", r)
			}
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	p, _ := start(t)
	c := code(t, p)
	if r := exchange(t, p, tokenForm(c), true); r.Status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", r.Status, r.Description)
	}
	if r := exchange(t, p, tokenForm(c), true); r.Error != "invalid_grant" || !strings.Contains(r.Description, "already used") {
		t.Fatalf("second exchange: %d %q %q, want invalid_grant already used", r.Status, r.Error, r.Description)
	}
}

func TestFailedPKCESpendsTheCode(t *testing.T) {
	p, _ := start(t)
	c := code(t, p)
	bad := tokenForm(c)
	bad.Set("code_verifier", verifier+"x")
	exchange(t, p, bad, true)
	if r := exchange(t, p, tokenForm(c), true); r.Error != "invalid_grant" {
		t.Fatalf("exchange after a wrong verifier: %d %q, want invalid_grant", r.Status, r.Error)
	}
}

func TestWrongSecretDoesNotSpendTheCode(t *testing.T) {
	p, _ := start(t)
	c := code(t, p)
	bad := tokenForm(c)
	bad.Set("client_id", clientID)
	bad.Set("client_secret", "guess")
	exchange(t, p, bad, false)
	if r := exchange(t, p, tokenForm(c), true); r.Status != http.StatusOK {
		t.Fatalf("exchange after a wrong secret: %d %q, want 200", r.Status, r.Error)
	}
}

func TestVerifierWithoutChallengeIsRefused(t *testing.T) {
	p, _ := start(t)
	params := authParams()
	params.Del("code_challenge")
	params.Del("code_challenge_method")
	_, q := authorize(t, p, params)
	if r := exchange(t, p, tokenForm(q.Get("code")), true); r.Error != "invalid_grant" {
		t.Fatalf("got %d %q, want invalid_grant (PKCE downgrade)", r.Status, r.Error)
	}
}

func TestIDToken(t *testing.T) {
	p, _ := start(t)
	r := exchange(t, p, tokenForm(code(t, p)), true)
	claims := verifiedClaims(t, p, r.IDToken)
	for name, want := range map[string]any{
		"iss": p.URL, "aud": clientID, "sub": "u1", "nonce": "n0", "email": "ada@example.com",
		"name": "Ada", "preferred_username": "ada", "email_verified": true,
	} {
		if claims[name] != want {
			t.Errorf("%s = %v, want %v", name, claims[name], want)
		}
	}
	if g, _ := claims["groups"].([]any); len(g) != 1 || g[0] != "ops" {
		t.Errorf("groups = %v, want [ops]", claims["groups"])
	}
	if r, _ := claims["roles"].([]any); len(r) != 1 || r[0] != "reader" {
		t.Errorf("extra claim roles = %v, want [reader]", claims["roles"])
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp-iat != time.Hour.Seconds() {
		t.Errorf("exp - iat = %v s, want one hour", exp-iat)
	}
}

// verifiedClaims checks raw's signature with the provider's published key and returns its claims.
func verifiedClaims(t *testing.T, p *oidctest.Provider, raw string) map[string]any {
	t.Helper()
	var keys jose.JSONWebKeySet
	getJSON(t, p.URL+"/jwks", &keys)
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	if len(keys.Key(kid)) != 1 {
		t.Fatalf("kid %q is not in the JWKS", kid)
	}
	payload, err := jws.Verify(keys.Key(kid)[0])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestClientCredentials(t *testing.T) {
	const resource = "https://webpubsub.azure.com"
	tests := []struct {
		name       string
		form       url.Values
		client     oidctest.Client
		wantStatus int
		wantError  string
		want       map[string]any // claims of the access token
		wantRoles  []any
		wantTTL    time.Duration
	}{
		{
			name:       "scope names the resource, as Entra ID's v2 endpoint",
			form:       url.Values{"scope": {resource + "/.default"}},
			client:     oidctest.Client{Roles: []string{"WebPubSubServiceOwner"}},
			wantStatus: http.StatusOK,
			want:       map[string]any{"aud": resource, "sub": "svc", "azp": "svc"},
			wantRoles:  []any{"WebPubSubServiceOwner"},
			wantTTL:    time.Hour,
		},
		{
			name:       "resource parameter, as its v1 endpoint",
			form:       url.Values{"resource": {"api://other"}},
			wantStatus: http.StatusOK,
			want:       map[string]any{"aud": "api://other"},
			wantTTL:    time.Hour,
		},
		{
			name:       "another tenant's client and lifetime",
			form:       url.Values{"scope": {resource + "/.default"}},
			client:     oidctest.Client{Issuer: "https://other.test/tenant", TokenTTL: -time.Minute},
			wantStatus: http.StatusOK,
			want:       map[string]any{"iss": "https://other.test/tenant"},
			wantTTL:    -time.Minute,
		},
		{name: "scope without /.default", form: url.Values{"scope": {resource}}, wantStatus: http.StatusBadRequest, wantError: "invalid_scope"},
		{name: "two scopes", form: url.Values{"scope": {resource + "/.default api://x/.default"}}, wantStatus: http.StatusBadRequest, wantError: "invalid_scope"},
		{name: "no resource", form: url.Values{}, wantStatus: http.StatusBadRequest, wantError: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := start(t)
			c := tt.client
			c.ID, c.Secret = "svc", "svc-secret"
			p.AddClient(c)
			form := tt.form
			form.Set("grant_type", "client_credentials")
			form.Set("client_id", c.ID)
			form.Set("client_secret", c.Secret)
			r := exchange(t, p, form, false)
			if r.Status != tt.wantStatus || r.Error != tt.wantError {
				t.Fatalf("token endpoint answered %d %q (%s), want %d %q", r.Status, r.Error, r.Description, tt.wantStatus, tt.wantError)
			}
			if tt.wantError != "" {
				return
			}
			if r.TokenType != "Bearer" || r.IDToken != "" {
				t.Errorf("token_type %q and id_token %q, want Bearer and none", r.TokenType, r.IDToken)
			}
			claims := verifiedClaims(t, p, r.AccessToken)
			want := map[string]any{"iss": p.URL}
			maps.Copy(want, tt.want)
			for name, v := range want {
				if claims[name] != v {
					t.Errorf("%s = %v, want %v", name, claims[name], v)
				}
			}
			if got, _ := claims["roles"].([]any); !slices.Equal(got, tt.wantRoles) {
				t.Errorf("roles = %v, want %v", claims["roles"], tt.wantRoles)
			}
			iat, _ := claims["iat"].(float64)
			exp, _ := claims["exp"].(float64)
			if exp-iat != tt.wantTTL.Seconds() {
				t.Errorf("exp - iat = %v s, want %v", exp-iat, tt.wantTTL)
			}
		})
	}
}

func TestClientCredentialsNeedTheSecret(t *testing.T) {
	p, _ := start(t)
	p.AddClient(oidctest.Client{ID: "svc", Secret: "svc-secret"})
	r := exchange(t, p, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {"guess"},
		"scope": {"https://webpubsub.azure.com/.default"},
	}, false)
	if r.Status != http.StatusUnauthorized || r.Error != "invalid_client" || r.AccessToken != "" {
		t.Fatalf("token endpoint answered %d %q with token %q, want 401 invalid_client", r.Status, r.Error, r.AccessToken)
	}
}
