package accesskey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	primaryKey   = "primary-key-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123"
	secondaryKey = "secondary-key-abcdefghijklmnopqrstuvwxyz"
)

var (
	testKeys = Keys{Primary: primaryKey, Secondary: secondaryKey}
	testNow  = time.Unix(1_700_000_000, 0)
)

// hs256 builds a token from raw JSON, signing it independently of the JWT library so the
// tests pin the wire format the SDKs produce rather than what the library happens to do.
func hs256(key, header, payload string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

const (
	jsHeader     = `{"alg":"HS256","typ":"JWT"}`
	dotnetHeader = `{"alg":"HS256","kid":"-1473473582","typ":"JWT"}`
)

// at formats a Unix time relative to testNow for payload templates.
func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

func TestVerify(t *testing.T) {
	clientAud := ClientAudience("Hub_1", "localhost:18080")
	restURI := "/api/hubs/Hub_1/:send?api-version=2024-12-01&excluded=a&excluded=b&filter=userId%20eq%20%27x%27&messageTtlSeconds=10"
	restAud := RESTAudience(restURI, "localhost:18080")

	tests := []struct {
		name     string
		token    string
		aud      func(string) bool
		now      time.Time // zero means testNow
		want     *TokenError
		check    func(t *testing.T, c *Claims)
		notToken bool // the error is a server problem, not a TokenError
	}{
		{
			// @azure/web-pubsub 1.2.0 getClientAccessToken({userId, roles, groups}): jsonwebtoken
			// puts the payload first, then iat, exp, aud, sub.
			name: "js sdk client token",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(
				`{"role":["webpubsub.joinLeaveGroup","webpubsub.sendToGroup.g1"],"webpubsub.group":["g1","g2"],"iat":%d,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","sub":"user1"}`,
				at(0), at(time.Hour))),
			aud: clientAud,
			check: func(t *testing.T, c *Claims) {
				if got := c.Subject(); got != "user1" {
					t.Errorf("Subject() = %q", got)
				}
				if got := c.Roles(); !reflect.DeepEqual(got, []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g1"}) {
					t.Errorf("Roles() = %q", got)
				}
				if got := c.Groups(); !reflect.DeepEqual(got, []string{"g1", "g2"}) {
					t.Errorf("Groups() = %q", got)
				}
			},
		},
		{
			name:  "js sdk anonymous client token",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"iat":%d,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(0), at(time.Hour))),
			aud:   clientAud,
			check: func(t *testing.T, c *Claims) {
				if c.Subject() != "" || c.Roles() != nil || c.Groups() != nil {
					t.Errorf("anonymous token has sub %q, roles %q, groups %q", c.Subject(), c.Roles(), c.Groups())
				}
			},
		},
		{
			// .NET WebPubSubServiceClient: kid header, nbf, single values as strings, hub
			// percent-encoded in aud.
			name: "dotnet sdk client token with string claims",
			token: hs256(primaryKey, dotnetHeader, fmt.Sprintf(
				`{"sub":"user1","role":"webpubsub.joinLeaveGroup","webpubsub.group":"g1","nbf":%d,"exp":%d,"iat":%d,"aud":"http://LOCALHOST:18080/client/hubs/Hub%%5F1"}`,
				at(0), at(time.Hour), at(0))),
			aud: clientAud,
			check: func(t *testing.T, c *Claims) {
				if got := c.Roles(); !reflect.DeepEqual(got, []string{"webpubsub.joinLeaveGroup"}) {
					t.Errorf("Roles() = %q", got)
				}
				if got := c.Groups(); !reflect.DeepEqual(got, []string{"g1"}) {
					t.Errorf("Groups() = %q", got)
				}
			},
		},
		{
			name: "custom claims are kept",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(
				`{"custom":"x","multi":["a","b"],"n":12.50,"flag":true,"obj":{"k":[1,"v"]},"nothing":null,"empty":[],"iat":%d,"exp":%d,"aud":["http://other/x","http://localhost:18080/client/hubs/hub_1"],"sub":["user1"]}`,
				at(0), at(time.Hour))),
			aud: clientAud,
			check: func(t *testing.T, c *Claims) {
				want := map[string][]string{
					"custom":  {"x"},
					"multi":   {"a", "b"},
					"n":       {"12.50"},
					"flag":    {"true"},
					"obj":     {`{"k":[1,"v"]}`},
					"nothing": {""},
					"empty":   {},
					"iat":     {fmt.Sprint(at(0))},
					"exp":     {fmt.Sprint(at(time.Hour))},
					"aud":     {"http://other/x", "http://localhost:18080/client/hubs/hub_1"},
					"sub":     {"user1"},
				}
				if got := c.Forward(); !reflect.DeepEqual(got, want) {
					t.Errorf("Forward() = %q\nwant %q", got, want)
				}
				if b, _ := json.Marshal(c.Forward()["empty"]); string(b) != "[]" {
					t.Errorf("empty claim encodes as %s, want []", b)
				}
				if c.Subject() != "user1" {
					t.Errorf("Subject() = %q", c.Subject())
				}
			},
		},
		{
			// @azure/web-pubsub 1.2.0 REST call: aud is the full URL as sent, query included.
			name:  "js sdk rest token",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"iat":%d,"exp":%d,"aud":"http://localhost:18080%s"}`, at(0), at(time.Hour), restURI)),
			aud:   restAud,
		},
		{
			name:  "rest token without query",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"iat":%d,"exp":%d,"aud":"http://localhost:18080/api/hubs/Hub_1/:send"}`, at(0), at(time.Hour))),
			aud:   restAud,
		},
		{
			name:  "rest token for another operation",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"iat":%d,"exp":%d,"aud":"http://localhost:18080/api/hubs/Hub_1/:closeConnections"}`, at(0), at(time.Hour))),
			aud:   restAud,
			want:  ErrAudience,
		},
		{
			name:  "secondary key",
			token: hs256(secondaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
		},
		{
			name:  "wrong key",
			token: hs256("some-other-key", jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrSignature,
		},
		{
			name:  "base64-decoded key is not the key",
			token: hs256(string(mustB64(t, "c2VjcmV0")), jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrSignature,
		},
		{
			name:  "tampered payload",
			token: tamper(hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","role":"a"}`, at(time.Hour)))),
			aud:   clientAud,
			want:  ErrSignature,
		},
		{
			name:  "expired beyond clock skew",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(-ClockSkew-time.Second))),
			aud:   clientAud,
			want:  ErrExpired,
		},
		{
			name:  "exp overflowing int64 seconds",
			token: hs256(primaryKey, jsHeader, `{"exp":1e300,"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "exp past year 9999",
			token: hs256(primaryKey, jsHeader, `{"exp":253402300800,"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "exp beyond float64",
			token: hs256(primaryKey, jsHeader, `{"exp":1e400,"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "negative exp",
			token: hs256(primaryKey, jsHeader, `{"exp":-9223372036854775808,"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "nbf overflowing int64 seconds",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"nbf":1e300,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "far but sane exp",
			token: hs256(primaryKey, jsHeader, `{"exp":253402300799,"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
		},
		{
			name:  "expired within clock skew",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(-ClockSkew+time.Second))),
			aud:   clientAud,
		},
		{
			name:  "not yet valid",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"nbf":%d,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(ClockSkew+time.Second), at(time.Hour))),
			aud:   clientAud,
			want:  ErrNotYetValid,
		},
		{
			name:  "nbf within clock skew",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"nbf":%d,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(ClockSkew-time.Second), at(time.Hour))),
			aud:   clientAud,
		},
		{
			name:  "iat in the future is not checked",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"iat":%d,"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour), at(2*time.Hour))),
			aud:   clientAud,
		},
		{
			name:  "no exp",
			token: hs256(primaryKey, jsHeader, `{"aud":"http://localhost:18080/client/hubs/Hub_1"}`),
			aud:   clientAud,
			want:  ErrMissingExpiry,
		},
		{
			name:  "exp is a string",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":"%d","aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "alg none",
			token: unsigned(`{"alg":"none","typ":"JWT"}`, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrUnsupportedAlgorithm,
		},
		{
			// Algorithm confusion: an HMAC signature presented as RS256.
			name:  "RS256 header",
			token: hs256(primaryKey, `{"alg":"RS256","typ":"JWT"}`, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrUnsupportedAlgorithm,
		},
		{
			name:  "HS512 header",
			token: hs256(primaryKey, `{"alg":"HS512","typ":"JWT"}`, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrUnsupportedAlgorithm,
		},
		{
			name:  "unknown alg",
			token: hs256(primaryKey, `{"alg":"XYZ"}`, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrUnsupportedAlgorithm,
		},
		{
			name:  "no alg",
			token: hs256(primaryKey, `{"typ":"JWT"}`, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrUnsupportedAlgorithm,
		},
		{name: "empty", token: "", aud: clientAud, want: ErrMalformed},
		{name: "garbage", token: "not a token", aud: clientAud, want: ErrMalformed},
		{name: "two segments", token: "eyJhbGciOiJIUzI1NiJ9.e30", aud: clientAud, want: ErrMalformed},
		{name: "four segments", token: "a.b.c.d", aud: clientAud, want: ErrMalformed},
		{name: "bad base64", token: "!!!.???.***", aud: clientAud, want: ErrMalformed},
		{name: "payload not json", token: hs256(primaryKey, jsHeader, "hello"), aud: clientAud, want: ErrMalformed},
		{name: "payload is an array", token: hs256(primaryKey, jsHeader, "[1]"), aud: clientAud, want: ErrMalformed},
		{
			name:  "too long",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","pad":"%s"}`, at(time.Hour), strings.Repeat("x", maxTokenLen))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "wrong hub",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_2"}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrAudience,
		},
		{
			name:  "no aud",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrAudience,
		},
		{
			name:  "nil audience check",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			want:  ErrAudience,
		},
		{
			name:  "aud is a number",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":1}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "role array with a number",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","role":["a",1]}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "group is an object",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","webpubsub.group":{"g":1}}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:  "two subjects",
			token: hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1","sub":["a","b"]}`, at(time.Hour))),
			aud:   clientAud,
			want:  ErrMalformed,
		},
		{
			name:     "no keys configured",
			token:    hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"http://localhost:18080/client/hubs/Hub_1"}`, at(time.Hour))),
			aud:      clientAud,
			notToken: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := testKeys
			if tt.notToken {
				keys = Keys{}
			}
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			c, err := keys.Verify(tt.token, tt.aud, now)
			if tt.notToken {
				if _, ok := errors.AsType[*TokenError](err); err == nil || ok {
					t.Fatalf("Verify() error = %v, want a non-token error", err)
				}
				return
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify() error = %v, want %v", err, tt.want)
				}
				if te, ok := errors.AsType[*TokenError](err); !ok || te != tt.want {
					t.Fatalf("AsType[*TokenError] = %v, want the sentinel %v", te, tt.want)
				}
				if c != nil {
					t.Fatalf("Verify() returned claims with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "."
}

// tamper replaces the payload of a signed token and keeps the old signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"role":"a"`, `"role":"b"`, 1)))
	return strings.Join(parts, ".")
}

func TestSignClientToken(t *testing.T) {
	aud := "http://localhost:8080/client/hubs/chat"
	tok, err := testKeys.SignClientToken(aud, ClientClaims{
		UserID: "u1",
		Roles:  []string{"webpubsub.joinLeaveGroup"},
		Groups: []string{"g1", "g2"},
		Extra:  map[string]any{"custom": "x"},
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(header) != jsHeader {
		t.Errorf("header = %s, want %s", header, jsHeader)
	}
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"aud":             aud,
		"iat":             float64(testNow.Unix()),
		"exp":             float64(testNow.Add(DefaultClientTokenLifetime).Unix()),
		"sub":             "u1",
		"role":            []any{"webpubsub.joinLeaveGroup"},
		"webpubsub.group": []any{"g1", "g2"},
		"custom":          "x",
	}
	if !reflect.DeepEqual(payload, want) {
		t.Errorf("payload = %v\nwant %v", payload, want)
	}
	if tok != hs256(primaryKey, string(header), string(raw)) {
		t.Errorf("token is not HS256 over its header and payload with the primary key")
	}

	c, err := testKeys.Verify(tok, ClientAudience("chat", "localhost:8080"), testNow.Add(59*time.Minute))
	if err != nil {
		t.Fatalf("Verify(signed token) error = %v", err)
	}
	if c.Subject() != "u1" || len(c.Groups()) != 2 || c.Strings("custom")[0] != "x" {
		t.Errorf("round trip claims = %v", c.Forward())
	}
	if iat, ok := c.IssuedAt(); !ok || !iat.Equal(testNow.Truncate(time.Second)) {
		t.Errorf("IssuedAt() = %v, %v, want %v", iat, ok, testNow.Truncate(time.Second))
	}

	anon, err := testKeys.SignClientToken(aud, ClientClaims{Expires: testNow.Add(time.Minute)}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = base64.RawURLEncoding.DecodeString(strings.Split(anon, ".")[1])
	if got := string(raw); got != fmt.Sprintf(`{"aud":%q,"exp":%d,"iat":%d}`, aud, at(time.Minute), at(0)) {
		t.Errorf("anonymous payload = %s", got)
	}
}

func TestSignClientTokenErrors(t *testing.T) {
	tests := []struct {
		name string
		keys Keys
		c    ClientClaims
	}{
		{"reserved custom claim", testKeys, ClientClaims{Extra: map[string]any{"role": "x"}}},
		{"already expired", testKeys, ClientClaims{Expires: testNow}},
		{"no primary key", Keys{Secondary: secondaryKey}, ClientClaims{}},
		{"unencodable custom claim", testKeys, ClientClaims{Extra: map[string]any{"c": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := tt.keys.SignClientToken("http://h/client/hubs/x", tt.c, testNow); err == nil {
				t.Fatalf("SignClientToken() = %q, want an error", tok)
			}
		})
	}
}

func TestReconnectionToken(t *testing.T) {
	tok, err := testKeys.SignReconnectionToken("conn-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	other, err := testKeys.SignReconnectionToken("conn-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if tok == other {
		t.Error("two reconnection tokens for one connection are equal; jti should differ")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["aud"] != "conn-1" || payload["iss"] != "https://webpubsub.azure.com" || payload["jti"] == "" ||
		payload["exp"] != float64(testNow.Add(7*24*time.Hour).Unix()) {
		t.Errorf("payload = %s", raw)
	}

	rotated := Keys{Primary: "new-key", Secondary: primaryKey}
	clientTok := hs256(primaryKey, jsHeader, fmt.Sprintf(`{"exp":%d,"aud":"conn-1"}`, at(time.Hour)))
	tests := []struct {
		name  string
		keys  Keys
		token string
		id    string
		now   time.Time
		want  error
	}{
		{name: "valid", keys: testKeys, token: tok, id: "conn-1", now: testNow.Add(time.Minute)},
		{name: "valid after key rotation", keys: rotated, token: tok, id: "conn-1", now: testNow.Add(24 * time.Hour)},
		{name: "another connection", keys: testKeys, token: tok, id: "conn-2", want: ErrAudience},
		{name: "connection id case differs", keys: testKeys, token: tok, id: "CONN-1", want: ErrAudience},
		{name: "empty connection id", keys: testKeys, token: tok, id: "", want: ErrAudience},
		{name: "expired", keys: testKeys, token: tok, id: "conn-1", now: testNow.Add(ReconnectionTokenLifetime + ClockSkew + time.Second), want: ErrExpired},
		{name: "unknown key", keys: Keys{Primary: "other"}, token: tok, id: "conn-1", want: ErrSignature},
		{name: "no issuer", keys: testKeys, token: clientTok, id: "conn-1", want: ErrAudience},
		{name: "garbage", keys: testKeys, token: "x", id: "conn-1", want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			err := tt.keys.VerifyReconnectionToken(tt.token, tt.id, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyReconnectionToken() error = %v, want %v", err, tt.want)
			}
		})
	}

	if _, err := testKeys.Verify(tok, ClientAudience("conn-1", "localhost"), testNow); !errors.Is(err, ErrAudience) {
		t.Errorf("reconnection token accepted as a client token: %v", err)
	}
	if _, err := testKeys.SignReconnectionToken("", testNow); err == nil {
		t.Error("SignReconnectionToken(\"\") succeeded")
	}
}

func TestSignature(t *testing.T) {
	// Known answers computed with Python: hmac.new(key, b"conn-1", hashlib.sha256).hexdigest().
	const (
		primary   = "sha256=ea3372f76dfb886582f00d2bfb3b2348187b927e86e8a9a85357089185efba2f"
		secondary = "sha256=83e4539b4b54046f82358a2756701bf60b3f82a33d9f8284084fa3584667651f"
	)
	tests := []struct {
		keys Keys
		want string
	}{
		{Keys{Primary: "primary-key"}, primary},
		{Keys{Primary: "primary-key", Secondary: "secondary-key"}, primary + "," + secondary},
		{Keys{}, ""},
	}
	for _, tt := range tests {
		if got := tt.keys.Signature("conn-1"); got != tt.want {
			t.Errorf("%+v.Signature(conn-1) = %q, want %q", tt.keys, got, tt.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	aud := "http://localhost:8080/client/hubs/chat"
	valid, err := testKeys.SignClientToken(aud, ClientClaims{UserID: "u", Roles: []string{"r"}}, testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(hs256(primaryKey, dotnetHeader, fmt.Sprintf(`{"exp":%d,"aud":[%q],"role":"r","x":{"y":[null,1e999]}}`, at(time.Hour), aud)))
	f.Add(hs256(primaryKey, jsHeader, `{"exp":1e400,"nbf":-1e400,"aud":"`+aud+`"}`))
	f.Add(unsigned(`{"alg":"none"}`, `{}`))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := testKeys.Verify(token, func(string) bool { return true }, testNow)
		if err != nil {
			if _, ok := errors.AsType[*TokenError](err); !ok {
				t.Fatalf("Verify() error %v is not a *TokenError", err)
			}
			return
		}
		c.Forward()
		c.Subject()
		c.Roles()
		c.Groups()
	})
}

func TestSignedWithKey(t *testing.T) {
	keys := Keys{Primary: "test-key-0123456789abcdefghijklmnopqrstuvwx"}
	signed, err := keys.SignClientToken("http://h/client/hubs/chat", ClientClaims{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	header := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) + ".e30.sig" }
	for token, want := range map[string]bool{
		signed:                                true,
		header(`{"alg":"RS256","typ":"JWT"}`): false,
		header(`{"alg":"none"}`):              false,
		header(`{"alg":"HS512"}`):             false,
		header(`{"typ":"JWT"}`):               true, // no alg: Verify says why it is refused
		header(`not json`):                    true,
		"' OR 1=1; --":                        true,
		"%%%.e30.sig":                         true,
	} {
		if got := SignedWithKey(token); got != want {
			t.Errorf("SignedWithKey(%.40q) = %v, want %v", token, got, want)
		}
	}
}
