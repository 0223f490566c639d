package oidc

import (
	"fmt"
	"strings"
)

// Identity is who the provider vouched for, and the role this huddle gives them.
type Identity struct {
	// Issuer and Subject (iss and sub) together are the stable, unique key of the person.
	Issuer  string
	Subject string
	// Login is the suggested login name: Config.LoginClaim, else email, else sub. It is neither
	// unique nor stable, and may collide with a local account.
	Login string
	// Name is the display name (name, else Login).
	Name string
	// Email is the email claim as the provider sent it; it may be unverified.
	Email string
	// Role is viewer, editor or admin; empty when Callback returns ErrDenied.
	Role string
}

// identity maps verified ID token claims to an Identity. It returns ErrDenied, with the
// Identity filled in but for its role, when the user gets no role.
func (p *Provider) identity(claims map[string]any) (Identity, error) {
	str := func(name string) string {
		s, _ := claims[name].(string)
		return s
	}
	id := Identity{
		Issuer:  str("iss"),
		Subject: str("sub"),
		Email:   str("email"),
		Name:    str("name"),
	}
	login, _ := lookupClaim(claims, p.cfg.LoginClaim).(string)
	for _, candidate := range []string{login, id.Email, id.Subject} {
		if candidate = strings.TrimSpace(candidate); candidate != "" {
			id.Login = candidate
			break
		}
	}
	if id.Name == "" {
		id.Name = id.Login
	}
	if id.Subject == "" {
		// go-oidc does not insist on sub, and without it there is no account to find.
		return Identity{}, fmt.Errorf("ID token has no sub: %w", ErrInvalidToken)
	}

	for _, value := range claimStrings(lookupClaim(claims, p.cfg.RoleClaim)) {
		if role, ok := p.cfg.RoleMapping[value]; ok && roleRank(role) > roleRank(id.Role) {
			id.Role = role
		}
	}
	if id.Role == "" && p.cfg.DefaultRole != roleNone {
		id.Role = p.cfg.DefaultRole
	}
	if id.Role == "" {
		return id, fmt.Errorf("%s/%s: claim %q matches no role mapping and the default role is none: %w",
			id.Issuer, id.Subject, p.cfg.RoleClaim, ErrDenied)
	}
	return id, nil
}

// lookupClaim finds a claim by its name or, failing that, by a dotted path into nested objects.
// The name comes first because some claim names contain dots themselves (Auth0 requires
// namespaced custom claims such as "https://example.com/roles").
func lookupClaim(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[part]
	}
	return cur
}

// claimStrings reads a claim that is a string or an array of strings; anything else is no
// values at all.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// roleRank orders roles so the highest mapping wins; 0 means not a role.
func roleRank(role string) int {
	switch role {
	case "viewer":
		return 1
	case "editor":
		return 2
	case "admin":
		return 3
	}
	return 0
}
