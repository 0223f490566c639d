package webpubsub

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// webPubSubScope is what @azure/web-pubsub asks a TokenCredential for (hubClient.js,
// credentialScopes), and so the audience Entra ID writes is https://webpubsub.azure.com.
const webPubSubScope = "https://webpubsub.azure.com/.default"

// identityServer is a test server whose REST API also takes access tokens of a real provider.
func identityServer(t *testing.T) (*testServer, *oidctest.Provider) {
	t.Helper()
	op, err := oidctest.New(oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	v, err := oidc.NewAccessTokenVerifier(oidc.AccessTokenConfig{Issuer: op.URL, Audience: "https://webpubsub.azure.com"})
	if err != nil {
		t.Fatal(err)
	}
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) { o.Identities = v })
	return ts, op
}

// servicePrincipal registers a client at op and gets its access token for scope, as an app
// server's TokenCredential does.
func servicePrincipal(t *testing.T, op *oidctest.Provider, c oidctest.Client, scope string) string {
	t.Helper()
	c.Secret = "secret-of-" + c.ID
	op.AddClient(c)
	tok, err := (&clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: op.URL + "/token",
		Scopes: []string{scope}}).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// callWith makes a REST request with token as its Bearer and returns the status and the error
// body, if any.
func (ts *testServer) callWith(token, method, pathAndQuery string) (int, apiErrorBody) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+pathAndQuery, strings.NewReader("hi"))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body apiErrorBody
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && method != http.MethodHead {
		if err := json.Unmarshal(b, &body); err != nil {
			ts.t.Fatalf("%s %s: %d %s is not the service's error shape", method, pathAndQuery, resp.StatusCode, b)
		}
		if resp.Header.Get("X-Ms-Error-Code") != body.Code {
			ts.t.Errorf("x-ms-error-code %q, body code %q", resp.Header.Get("X-Ms-Error-Code"), body.Code)
		}
	}
	if resp.StatusCode == http.StatusOK && strings.HasSuffix(strings.Split(pathAndQuery, "?")[0], ":generateToken") {
		var tok struct{ Token string }
		if err := json.Unmarshal(b, &tok); err != nil || tok.Token == "" {
			ts.t.Fatalf("generateToken answered %s", b)
		}
		body.Message = tok.Token
	}
	return resp.StatusCode, body
}

type apiErrorBody struct{ Code, Message string }

func TestRESTIdentityRoles(t *testing.T) {
	ts, op := identityServer(t)
	const v = "?api-version=2024-12-01"
	owner := servicePrincipal(t, op, oidctest.Client{ID: "owner", Roles: []string{"WebPubSubServiceOwner"}}, webPubSubScope)
	reader := servicePrincipal(t, op, oidctest.Client{ID: "reader", Roles: []string{"Web PubSub Service Reader"}}, webPubSubScope)
	nobody := servicePrincipal(t, op, oidctest.Client{ID: "nobody", Roles: []string{"Contributor"}}, webPubSubScope)
	ada := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "ada"})

	cases := []struct {
		name, token, method, path string
		status                    int
		code                      string
	}{
		{"owner sends", owner, "POST", "/api/hubs/chat/:send" + v, 202, ""},
		{"owner adds to a group", owner, "PUT", "/api/hubs/chat/groups/g1/connections/" + ada.connectionID + v, 200, ""},
		{"owner closes", owner, "POST", "/api/hubs/chat/users/nobody/:closeConnections" + v, 204, ""},
		{"reader checks a connection", reader, "HEAD", "/api/hubs/chat/connections/" + ada.connectionID + v, 200, ""},
		{"reader checks a user", reader, "HEAD", "/api/hubs/chat/users/bob" + v, 404, ""},
		{"reader lists a group", reader, "GET", "/api/hubs/chat/groups/g1/connections" + v, 200, ""},
		{"reader may not send", reader, "POST", "/api/hubs/chat/:send" + v, 403, "Forbidden"},
		{"reader may not mint client tokens", reader, "POST", "/api/hubs/chat/:generateToken" + v, 403, "Forbidden"},
		{"no role may not read", nobody, "GET", "/api/hubs/chat/groups/g1/connections" + v, 403, "Forbidden"},
		{"no role may not send", nobody, "POST", "/api/hubs/chat/:send" + v, 403, "Forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ts.callWith(tc.token, tc.method, tc.path)
			if status != tc.status || body.Code != tc.code {
				t.Fatalf("got %d %+v, want %d %s", status, body, tc.status, tc.code)
			}
			if tc.code == "Forbidden" && !strings.Contains(body.Message, "WebPubSubServiceOwner") {
				t.Fatalf("message %q does not name the role needed", body.Message)
			}
		})
	}
	if got := ada.next(); got["type"] != "message" || got["data"] != "hi" {
		t.Fatalf("ada got %v, want the owner's message", got)
	}
}

func TestRESTIdentityGeneratesClientTokens(t *testing.T) {
	ts, op := identityServer(t)
	owner := servicePrincipal(t, op, oidctest.Client{ID: "owner", Roles: []string{"WebPubSubServiceOwner"}}, webPubSubScope)
	status, body := ts.callWith(owner, "POST", "/api/hubs/chat/:generateToken?api-version=2024-12-01&userId=ada&role=webpubsub.joinLeaveGroup")
	if status != http.StatusOK {
		t.Fatalf("generateToken: %d %+v", status, body)
	}
	claims, err := ts.keys.Verify(body.Message, func(aud string) bool { return aud == ts.url+"/client/hubs/chat" }, time.Now())
	if err != nil {
		t.Fatalf("the generated token does not verify as a client token of hub chat: %v", err)
	}
	if claims.Subject() != "ada" || len(claims.Roles()) != 1 {
		t.Fatalf("claims sub %q roles %q, want ada with one role", claims.Subject(), claims.Roles())
	}
}

func TestRESTIdentityRefused(t *testing.T) {
	ts, op := identityServer(t)
	const path = "/api/hubs/chat/:send?api-version=2024-12-01"
	owner := []string{"WebPubSubServiceOwner"}
	cases := []struct {
		name, token, message string
	}{
		{"another audience", servicePrincipal(t, op, oidctest.Client{ID: "a", Roles: owner}, "https://management.azure.com/.default"), oidc.ErrTokenAudience.Error()},
		{"another tenant", servicePrincipal(t, op, oidctest.Client{ID: "b", Roles: owner, Issuer: op.URL + "/tenant-2"}, webPubSubScope), oidc.ErrTokenIssuer.Error()},
		{"expired", servicePrincipal(t, op, oidctest.Client{ID: "c", Roles: owner, TokenTTL: -time.Minute}, webPubSubScope), oidc.ErrTokenExpired.Error()},
		{"signature altered", tamper(servicePrincipal(t, op, oidctest.Client{ID: "d", Roles: owner}, webPubSubScope)), oidc.ErrTokenInvalid.Error()},
		{"sql-ish garbage", "' OR 1=1; DROP TABLE users; --", "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ts.callWith(tc.token, "POST", path)
			if status != http.StatusUnauthorized || body.Code != "Unauthorized" || !strings.Contains(body.Message, tc.message) {
				t.Fatalf("got %d %+v, want 401 Unauthorized saying %q", status, body, tc.message)
			}
		})
	}
	// Access keys keep working beside identities.
	if resp := ts.call("POST", path, "text/plain", "hi"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a key-signed token got %d, want 202", resp.StatusCode)
	}
}

func TestRESTIdentityProviderDown(t *testing.T) {
	down := httptest.NewServer(nil)
	down.Close()
	v, err := oidc.NewAccessTokenVerifier(oidc.AccessTokenConfig{Issuer: down.URL, Audience: "https://webpubsub.azure.com"})
	if err != nil {
		t.Fatal(err)
	}
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) { o.Identities = v })
	op, err := oidctest.New(oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	tok := servicePrincipal(t, op, oidctest.Client{ID: "owner", Roles: []string{"WebPubSubServiceOwner"}}, webPubSubScope)
	status, body := ts.callWith(tok, "POST", "/api/hubs/chat/:send?api-version=2024-12-01")
	if status != http.StatusServiceUnavailable || body.Code != "ServiceUnavailable" {
		t.Fatalf("got %d %+v, want 503 ServiceUnavailable", status, body)
	}
	if resp := ts.call("POST", "/api/hubs/chat/:send?api-version=2024-12-01", "text/plain", "hi"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a key-signed token got %d while the provider is down, want 202", resp.StatusCode)
	}
}

// tamper changes the first character of a token's signature (the last one may hold only
// padding bits).
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	swap := byte('A')
	if token[i] == 'A' {
		swap = 'B'
	}
	return token[:i] + string(swap) + token[i+1:]
}
