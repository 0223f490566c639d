package accesskey

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// ClockSkew is how far exp and nbf may be off, as in the official emulator: app servers
	// that sign tokens rarely share our clock exactly.
	ClockSkew = 5 * time.Minute
	// DefaultClientTokenLifetime is the lifetime of a client token without an explicit
	// expiry, the @azure/web-pubsub default.
	DefaultClientTokenLifetime = time.Hour
	// ReconnectionTokenLifetime bounds how long a reliable connection can be recovered with
	// one token; the client spec gives about a week.
	ReconnectionTokenLifetime = 7 * 24 * time.Hour

	// reconnectionIssuer is what the service team's emulator puts in reconnection tokens; it
	// also tells them apart from anything an app server could sign.
	reconnectionIssuer = "https://webpubsub.azure.com"

	// maxTokenLen bounds the work an unauthenticated request can cause. It is far above any
	// real token (one with hundreds of groups) and below common header size limits.
	maxTokenLen = 64 << 10
)

// TokenError is why a token was rejected. Its text is written for the client (the HTTP 401
// body); detail for logs is in the error that wraps it.
type TokenError struct{ reason string }

func (e *TokenError) Error() string { return e.reason }

// Reasons a token is rejected; compare with errors.Is.
var (
	ErrMalformed            = &TokenError{"the access token is malformed"}
	ErrUnsupportedAlgorithm = &TokenError{"the access token must be signed with HS256"}
	ErrSignature            = &TokenError{"the access token signature is invalid for this service's access keys"}
	ErrExpired              = &TokenError{"the access token has expired"}
	ErrNotYetValid          = &TokenError{"the access token is not valid yet (nbf is in the future)"}
	ErrMissingExpiry        = &TokenError{"the access token has no expiry (exp claim)"}
	ErrAudience             = &TokenError{"the access token audience (aud) does not match this endpoint"}
)

func reject(reason *TokenError, detail any) error {
	return fmt.Errorf("verify access token: %w (%v)", reason, detail)
}

// Verify checks a token the service did not sign itself (client tokens, REST tokens) and
// returns its claims. The token must be HS256, signed by one of the keys, carry exp, and have
// at least one aud accepted by audienceOK (see [ClientAudience] and [RESTAudience]); a nil
// audienceOK accepts nothing. now is the time to check exp and nbf against.
func (k Keys) Verify(token string, audienceOK func(aud string) bool, now time.Time) (*Claims, error) {
	keys := k.list()
	if len(keys) == 0 {
		return nil, errors.New("verify access token: no access key configured")
	}
	if len(token) > maxTokenLen {
		return nil, reject(ErrMalformed, fmt.Sprintf("token is %d bytes, more than %d", len(token), maxTokenLen))
	}
	set := jwt.VerificationKeySet{}
	for _, key := range keys {
		set.Keys = append(set.Keys, key)
	}
	p := jwt.NewParser(
		jwt.WithJSONNumber(), // numbers are forwarded to the connect event as written
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(ClockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	m := jwt.MapClaims{}
	_, err := p.ParseWithClaims(token, m, func(t *jwt.Token) (any, error) {
		// Checked here because WithValidMethods reports a wrong alg as a bad signature.
		if alg := t.Method.Alg(); alg != jwt.SigningMethodHS256.Alg() {
			return nil, fmt.Errorf("alg is %q", alg)
		}
		return set, nil
	})
	if err == nil || errors.Is(err, jwt.ErrTokenInvalidClaims) {
		// The signature holds; the library has read exp and nbf, wrapping out-of-range values.
		if err := checkTimes(m); err != nil {
			return nil, reject(ErrMalformed, err)
		}
	}
	if err != nil {
		r := reason(err)
		return nil, reject(r, timeDetail(r, err, m, now))
	}
	c := &Claims{m: m}
	if err := c.check(); err != nil {
		return nil, reject(ErrMalformed, err)
	}
	auds := c.Audiences()
	if len(auds) == 0 {
		return nil, reject(ErrAudience, "no aud claim")
	}
	if audienceOK == nil || !slices.ContainsFunc(auds, audienceOK) {
		return nil, reject(ErrAudience, fmt.Sprintf("aud %q", auds))
	}
	return c, nil
}

// maxNumericDate is the latest exp or nbf a token may name, the last second of year 9999. A later
// one is no lifetime but garbage, and the library turns such seconds into a time by overflowing
// int64 (1e300 becomes a date before 1970), so the token would be called expired.
const maxNumericDate = 253402300799

// checkTimes refuses exp and nbf values that are not seconds between 1970 and maxNumericDate.
func checkTimes(m jwt.MapClaims) error {
	for _, name := range []string{"exp", "nbf"} {
		v, ok := m[name]
		if !ok {
			continue
		}
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("claim %q is not a number", name)
		}
		f, err := n.Float64()
		if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
			return fmt.Errorf("claim %q is %.32s, outside 0 to %d", name, string(n), maxNumericDate)
		}
	}
	return nil
}

// reason maps the JWT library's errors to ours. Malformed claims come before time checks so
// that a token with a garbage exp is not reported as expired.
func reason(err error) *TokenError {
	switch {
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Our keyfunc refused the alg, or the library does not know it, or it is missing.
		return ErrUnsupportedAlgorithm
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrInvalidType):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrMissingExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	}
	return ErrMalformed
}

// timeDetail adds the times to an expiry error for the log, since wrong clocks are the usual
// cause and the library does not say by how much a token missed.
func timeDetail(r *TokenError, err error, m jwt.MapClaims, now time.Time) any {
	var (
		name string
		d    *jwt.NumericDate
	)
	switch r {
	case ErrExpired:
		name = "exp"
		d, _ = m.GetExpirationTime() // it parsed, or the error would not be ErrExpired
	case ErrNotYetValid:
		name = "nbf"
		d, _ = m.GetNotBefore()
	}
	if d == nil {
		return err
	}
	return fmt.Sprintf("%v: %s is %s, now is %s, allowed clock skew %s", err, name,
		d.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), ClockSkew)
}

// ClientClaims are the claims of a Web PubSub client token.
type ClientClaims struct {
	UserID string   // sub; omitted when empty (anonymous connection)
	Roles  []string // role, written as an array like @azure/web-pubsub
	Groups []string // webpubsub.group: groups joined on connect
	// Expires is exp; zero means DefaultClientTokenLifetime from now.
	Expires time.Time
	// Extra holds custom claims, forwarded to the connect event. It may not set the claims
	// above, nor aud, iat or nbf.
	Extra map[string]any
}

// SignClientToken signs a client token the way @azure/web-pubsub's getClientAccessToken does:
// HS256 with the primary key; aud, iat and exp; sub, role and webpubsub.group when set.
// audience is the client URL with an http(s) scheme, e.g.
// "http://localhost:8080/client/hubs/chat".
func (k Keys) SignClientToken(audience string, c ClientClaims, now time.Time) (string, error) {
	exp := c.Expires
	if exp.IsZero() {
		exp = now.Add(DefaultClientTokenLifetime)
	}
	if !exp.After(now) {
		return "", fmt.Errorf("sign client token: expiry %v is not after %v", exp, now)
	}
	m := jwt.MapClaims{}
	for name, v := range c.Extra {
		switch name {
		case "aud", "iat", "nbf", "exp", "sub", "role", "webpubsub.group":
			return "", fmt.Errorf("sign client token: custom claim %q is reserved", name)
		}
		m[name] = v
	}
	m["aud"] = audience
	m["iat"] = now.Unix()
	m["exp"] = exp.Unix()
	if c.UserID != "" {
		m["sub"] = c.UserID
	}
	if len(c.Roles) > 0 {
		m["role"] = c.Roles
	}
	if len(c.Groups) > 0 {
		m["webpubsub.group"] = c.Groups
	}
	tok, err := k.sign(m)
	if err != nil {
		return "", fmt.Errorf("sign client token: %w", err)
	}
	return tok, nil
}

// SignReconnectionToken returns the reconnectionToken of a reliable connection's connected
// message. It only recovers connectionID (its aud), expires after ReconnectionTokenLifetime
// and carries a random jti so that two tokens for one connection differ.
func (k Keys) SignReconnectionToken(connectionID string, now time.Time) (string, error) {
	if connectionID == "" {
		return "", errors.New("sign reconnection token: empty connection id")
	}
	tok, err := k.sign(jwt.MapClaims{
		"iss": reconnectionIssuer,
		"aud": connectionID,
		"jti": rand.Text(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ReconnectionTokenLifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("sign reconnection token for %s: %w", connectionID, err)
	}
	return tok, nil
}

// VerifyReconnectionToken checks that token was issued by SignReconnectionToken (with any of
// the keys) for connectionID and has not expired. Connection ids compare exactly. A client
// token can never pass, nor this token as a client token, because their audiences differ.
func (k Keys) VerifyReconnectionToken(token, connectionID string, now time.Time) error {
	c, err := k.Verify(token, func(aud string) bool { return connectionID != "" && aud == connectionID }, now)
	if err != nil {
		return fmt.Errorf("reconnection token for %q: %w", connectionID, err)
	}
	if iss := c.Strings("iss"); len(iss) != 1 || iss[0] != reconnectionIssuer {
		return fmt.Errorf("reconnection token for %q: %w", connectionID, reject(ErrAudience, fmt.Sprintf("issuer %q", iss)))
	}
	return nil
}

func (k Keys) sign(m jwt.MapClaims) (string, error) {
	if k.Primary == "" {
		return "", errors.New("no primary access key configured")
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(k.Primary))
	if err != nil {
		return "", fmt.Errorf("sign with primary key: %w", err)
	}
	return tok, nil
}

// SignedWithKey reports whether token says it is signed with HS256, the one algorithm of the
// access keys, or is no token whose header can be read (only [Keys.Verify] explains those). A
// service that also accepts tokens of an identity provider, which signs with its own asymmetric
// keys, sends the others there. Nothing is verified here.
func SignedWithKey(token string) bool {
	header, _, ok := strings.Cut(token, ".")
	if !ok || len(header) > maxTokenLen {
		return true
	}
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return true
	}
	var h struct {
		Alg *string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || h.Alg == nil {
		return true
	}
	return *h.Alg == jwt.SigningMethodHS256.Alg()
}
