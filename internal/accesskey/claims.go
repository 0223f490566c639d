package accesskey

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a verified token, custom ones included.
type Claims struct{ m jwt.MapClaims }

// check enforces the shapes the rest of the service relies on, so that a token with, say, a
// numeric role is rejected as malformed instead of granting a permission named "1".
func (c *Claims) check() error {
	for _, name := range []string{"aud", "sub", "role", "webpubsub.group"} {
		v, ok := c.m[name]
		if !ok {
			continue
		}
		n, ok := stringCount(v)
		if !ok {
			return fmt.Errorf("claim %q is not a string or an array of strings", name)
		}
		if name == "sub" && n > 1 {
			return fmt.Errorf("claim \"sub\" has %d values, at most one is allowed", n)
		}
	}
	return nil
}

func stringCount(v any) (int, bool) {
	switch v := v.(type) {
	case string:
		return 1, true
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return 0, false
			}
		}
		return len(v), true
	}
	return 0, false
}

// Subject is the sub claim: the user id of a Web PubSub connection, "" when anonymous.
func (c *Claims) Subject() string { return c.first("sub") }

// IssuedAt is the iat claim, and false when the token has none or it is not a number.
func (c *Claims) IssuedAt() (time.Time, bool) {
	n, ok := c.m["iat"].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	sec, err := n.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// Roles are the role claim's values.
func (c *Claims) Roles() []string { return c.Strings("role") }

// Groups are the webpubsub.group claim's values: groups to join on connect.
func (c *Claims) Groups() []string { return c.Strings("webpubsub.group") }

// Audiences are the aud claim's values.
func (c *Claims) Audiences() []string { return c.Strings("aud") }

func (c *Claims) first(name string) string {
	if v := c.Strings(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Strings returns a claim as strings: one value for a scalar, one per element for an array,
// nil when absent. Non-string values are written as JSON (numbers exactly as in the token).
func (c *Claims) Strings(name string) []string {
	v, ok := c.m[name]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return []string{claimText(v)}
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		out = append(out, claimText(e))
	}
	return out
}

// Forward returns every claim, in the shape of the connect event's "claims" field: each value
// an array of strings ({"sub":["u1"],"role":["a","b"],"exp":["1700000000"]}).
func (c *Claims) Forward() map[string][]string {
	out := make(map[string][]string, len(c.m))
	for name := range c.m {
		out[name] = c.Strings(name)
	}
	return out
}

func claimText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	// Objects and nested arrays: they came from JSON, so they always encode again.
	b, _ := json.Marshal(v)
	return string(b)
}
