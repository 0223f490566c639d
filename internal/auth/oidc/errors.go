package oidc

import (
	"errors"
	"fmt"
)

// Errors of Start and Callback. Each is wrapped with context for logs; test with errors.Is and
// pick the page to show from the sentinel, never from the text.
var (
	// ErrUnavailable: discovery failed, because the provider is down or answers with another
	// issuer than Config.Issuer (a misconfiguration). Retried as the package doc describes.
	ErrUnavailable = errors.New("oidc provider unavailable")
	// ErrBadState: the callback carries no state, or the browser has no valid flow cookie for
	// it: the login was started in another browser, was already completed, or the cookie was
	// forged. The user should start again.
	ErrBadState = errors.New("login state does not match")
	// ErrFlowExpired: the flow cookie is older than ten minutes. The user should start again.
	ErrFlowExpired = errors.New("login flow expired")
	// ErrExchange: the token endpoint refused the code (reused, expired, PKCE mismatch) or
	// huddle's client credentials, or could not be reached. The wrapped *oauth2.RetrieveError,
	// when there is one, says which.
	ErrExchange = errors.New("authorization code exchange failed")
	// ErrInvalidToken: the ID token is missing or fails verification (signature, issuer,
	// audience, expiry, nonce).
	ErrInvalidToken = errors.New("ID token rejected")
	// ErrDenied: the user is authenticated but no RoleMapping entry matches and DefaultRole is
	// "none". Callback returns the Identity (without a role) alongside, for the audit log.
	ErrDenied = errors.New("no huddle role for this user")
)

// ProviderError is the provider's own refusal, sent back to the callback as ?error=…, such as
// access_denied when the user declines consent. It is returned before the state is checked, so
// anyone can make a link that produces one: show a page chosen by Code and never render
// Description as trusted text.
type ProviderError struct {
	Code        string // RFC 6749 §4.1.2.1 error code
	Description string // error_description, as the provider (or a crafted link) wrote it
}

func (e *ProviderError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("oidc provider refused the login: %s", e.Code)
	}
	return fmt.Sprintf("oidc provider refused the login: %s: %s", e.Code, e.Description)
}
