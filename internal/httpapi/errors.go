package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
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

// Error is an error whose message is safe to show to a client, answered as
// {"error": Msg, "field": Field} with its code's status. Anything else a handler returns is
// answered with 500 and a generic message, so internal text never reaches clients.
type Error struct {
	Code Code
	Msg  string
	// Field, when set, names the request field at fault (a JSON field, or a path such as
	// panels[2].type); it is answered as "field" beside "error", so a form can point at it.
	Field string
	// RetryAfter is set on locked and rate-limited answers (HTTP Retry-After).
	RetryAfter time.Duration

	// kind is the error this one is an instance of (see Withf), for errors.Is.
	kind *Error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the error e is an instance of, if any: a domain's sentinel such as "no such
// dashboard", so that errors.Is tells one domain's "not found" from another's.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return nil
	}
	return e.kind
}

// Is matches the generic sentinel of e's code, so errors.Is(err, ErrNotFound) holds for every
// "… not found" whatever its domain and message.
func (e *Error) Is(target error) bool {
	g, ok := generic[e.Code]
	return ok && target == g
}

// Withf returns an error of e's code saying its own message, that errors.Is matches to e: a
// domain declares its sentinel once and answers each case in words of its own.
func (e *Error) Withf(format string, args ...any) *Error {
	return &Error{Code: e.Code, Msg: fmt.Sprintf(format, args...), kind: e}
}

// RetryIn returns e answered with Retry-After: after; errors.Is matches it to e.
func (e *Error) RetryIn(after time.Duration) *Error {
	return &Error{Code: e.Code, Msg: e.Msg, Field: e.Field, RetryAfter: after, kind: e}
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

// The generic sentinels, for errors.Is; the errors returned carry more specific messages.
var (
	ErrBadRequest      = &Error{Code: CodeBadRequest, Msg: "bad request"}
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated, Msg: "sign in first"}
	ErrForbidden       = &Error{Code: CodeForbidden, Msg: "forbidden"}
	ErrNotFound        = &Error{Code: CodeNotFound, Msg: "not found"}
	ErrConflict        = &Error{Code: CodeConflict, Msg: "conflict"}
	ErrRateLimited     = &Error{Code: CodeRateLimited, Msg: "too many requests"}
)

// generic maps each code that has a generic sentinel to it.
var generic = map[Code]*Error{
	CodeBadRequest:      ErrBadRequest,
	CodeUnauthenticated: ErrUnauthenticated,
	CodeForbidden:       ErrForbidden,
	CodeNotFound:        ErrNotFound,
	CodeConflict:        ErrConflict,
	CodeRateLimited:     ErrRateLimited,
}

// BadRequest is a 400 saying what is wrong with the request.
func BadRequest(format string, args ...any) error {
	return &Error{Code: CodeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 naming the request field at fault.
func Invalid(field, format string, args ...any) error {
	return &Error{Code: CodeBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden is a 403 saying what the caller lacks.
func Forbidden(format string, args ...any) error {
	return &Error{Code: CodeForbidden, Msg: fmt.Sprintf(format, args...)}
}

// Conflict is a 409 saying what stands in the way.
func Conflict(format string, args ...any) error {
	return &Error{Code: CodeConflict, Msg: fmt.Sprintf(format, args...)}
}

// Truncate bounds user input echoed in error messages and logs, cutting at a character
// boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// AzureError is a failure in the error shape of Azure's real-time services' REST and client
// endpoints: {"code", "message"}, with the code in x-ms-error-code too, where their SDKs look for
// it. cause, if not nil, is logged and never shown.
func AzureError(status int, code, msg string, cause error) *ProtocolError {
	if cause == nil {
		cause = errors.New(msg)
	}
	return &ProtocolError{
		Status: status,
		Header: http.Header{"X-Ms-Error-Code": {code}},
		Body: struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}{code, msg},
		Err: cause,
	}
}
