package auth

import (
	"fmt"
	"net/http"
	"time"
)

// Code classifies an [Error]; each code has one HTTP status.
type Code string

// The codes of errors meant for clients.
const (
	CodeBadRequest         Code = "bad_request"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeUnauthenticated    Code = "unauthenticated"
	CodeForbidden          Code = "forbidden"
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeLocked             Code = "locked"
	CodeRateLimited        Code = "rate_limited"
)

// Error is an error whose message is safe to show to a client. Anything else a handler returns
// is answered with 500 and a generic message, so internal text never reaches clients.
type Error struct {
	Code Code
	Msg  string
	// Field, when set, names the request field at fault (a JSON field, or a path such as
	// panels[2].type); it is answered as "field" beside "error", so a form can point at it.
	Field string
	// RetryAfter is set on locked and rate-limited answers (HTTP Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// Is matches errors of the same code, so errors.Is(err, ErrNotFound) holds for every "… not
// found" whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Status is the HTTP status of the error's code.
func (e *Error) Status() int {
	switch e.Code {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeInvalidCredentials, CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeLocked, CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// Sentinels for errors.Is; the errors returned carry more specific messages.
var (
	ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials, Msg: "invalid login or password"}
	ErrUnauthenticated    = &Error{Code: CodeUnauthenticated, Msg: "sign in first"}
	ErrForbidden          = &Error{Code: CodeForbidden, Msg: "forbidden"}
	ErrNotFound           = &Error{Code: CodeNotFound, Msg: "not found"}
	ErrConflict           = &Error{Code: CodeConflict, Msg: "conflict"}
	ErrLocked             = &Error{Code: CodeLocked, Msg: "too many failed logins: the account is locked for a while"}
	ErrRateLimited        = &Error{Code: CodeRateLimited, Msg: "too many login attempts from this address"}
	// ErrLastAdmin refuses a change that would leave no enabled admin to administer huddle.
	ErrLastAdmin = &Error{Code: CodeConflict, Msg: "at least one enabled admin must remain"}
)

func badRequest(format string, args ...any) error {
	return &Error{Code: CodeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &Error{Code: CodeForbidden, Msg: fmt.Sprintf(format, args...)}
}

func notFound(what string) error {
	return &Error{Code: CodeNotFound, Msg: what + " not found"}
}

func conflict(format string, args ...any) error {
	return &Error{Code: CodeConflict, Msg: fmt.Sprintf(format, args...)}
}

func retryLater(base *Error, after time.Duration) error {
	return &Error{Code: base.Code, Msg: base.Msg, RetryAfter: after}
}
