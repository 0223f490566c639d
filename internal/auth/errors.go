package auth

import "github.com/huddle-dev/huddle/internal/httpapi"

// The errors of accounts and credentials, for errors.Is; the errors returned may carry more
// specific messages.
var (
	ErrInvalidCredentials = &httpapi.Error{Code: httpapi.CodeInvalidCredentials, Msg: "invalid login or password"}
	ErrLocked             = &httpapi.Error{Code: httpapi.CodeLocked, Msg: "too many failed logins: the account is locked for a while"}
	ErrLoginRateLimited   = httpapi.ErrRateLimited.Withf("too many login attempts from this address")
	// ErrLastAdmin refuses a change that would leave no enabled admin to administer huddle.
	ErrLastAdmin = httpapi.ErrConflict.Withf("at least one enabled admin must remain")
	// ErrUserNotFound is the answer for a user id or login that names nobody.
	ErrUserNotFound = httpapi.ErrNotFound.Withf("user not found")
	// ErrAPIKeyNotFound is the answer for an API key id that names no key the caller may see.
	ErrAPIKeyNotFound = httpapi.ErrNotFound.Withf("API key not found")
)
