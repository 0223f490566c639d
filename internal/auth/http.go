package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HandlerFunc is a handler that returns its error instead of writing it: errors of type *Error
// are answered with their status and message, anything else with 500 and a generic message.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route declares one endpoint and who may call it. Every route of the API is declared in a table
// of Routes, so authorization is read in one place and tested for every route and role.
type Route struct {
	Method  string // GET, POST, …
	Pattern string // a net/http ServeMux path pattern, e.g. /api/users/{id}
	// MinRole is the least role a caller needs; RoleAnonymous makes the route public. There is
	// no default: Register refuses a route without one.
	MinRole Role
	// Scope is what an API key must hold to call the route; SessionOnly (the zero value) refuses
	// API keys and AnyScope accepts every key. Sessions are not limited by scopes.
	Scope Scope
	// DashboardParam, if set, names the pattern's wildcard holding a dashboard uid: MinRole is
	// then checked against the caller's role on that dashboard (see DashboardRole).
	DashboardParam string
	Handler        HandlerFunc
}

func (rt Route) String() string { return rt.Method + " " + rt.Pattern }

// check refuses a route declared without a complete rule.
func (rt Route) check() error {
	switch {
	case rt.Method == "" || strings.ContainsAny(rt.Method, " /"):
		return fmt.Errorf("route %q: Method is required", rt)
	case !strings.HasPrefix(rt.Pattern, "/"):
		return fmt.Errorf("route %q: Pattern must be a path", rt)
	case rt.MinRole.rank() < 0:
		return fmt.Errorf("route %q: MinRole %q is not anonymous, viewer, editor or admin", rt, rt.MinRole)
	case rt.Scope != SessionOnly && rt.Scope != AnyScope && !slices.Contains(grantableScopes, rt.Scope):
		return fmt.Errorf("route %q: unknown Scope %q", rt, rt.Scope)
	case rt.DashboardParam != "" && !strings.Contains(rt.Pattern, "{"+rt.DashboardParam+"}"):
		return fmt.Errorf("route %q: DashboardParam %q is not a wildcard of the pattern", rt, rt.DashboardParam)
	case rt.Handler == nil:
		return fmt.Errorf("route %q: Handler is required", rt)
	}
	return nil
}

// Register installs the service's routes and extra ones (other packages' endpoints, such as
// /api/negotiate) on mux, each behind Authenticate and its route's rule. It panics, as ServeMux
// does, when two patterns conflict.
func (s *Service) Register(mux *http.ServeMux, extra ...Route) error {
	return s.register(mux, append(s.Routes(), extra...))
}

func (s *Service) register(mux *http.ServeMux, routes []Route) error {
	for _, rt := range routes {
		if err := rt.check(); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	for _, rt := range routes {
		mux.Handle(rt.String(), s.Authenticate(s.authorize(rt)))
	}
	return nil
}

// Authenticate finds who sends a request and makes it available through PrincipalFrom; an
// anonymous request goes on without a principal, for the next handler to accept or refuse.
//
//   - Authorization: Bearer <API key>, or Basic with an API key as the password (any user name),
//     authenticates with that key only; an invalid key is refused with 401 at once.
//   - Otherwise the session cookie, if valid, authenticates; an invalid one is cleared.
//   - Unsafe requests (POST, PUT, PATCH, DELETE) that do not carry a Bearer key pass
//     http.CrossOriginProtection: a browser cannot add a Bearer header to a cross-site request,
//     but it does send cookies, and cached Basic credentials, on its own.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, credentials, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			if err := s.csrf.Check(r); err != nil {
				s.writeError(w, r, forbidden("cross-origin request refused: use this site's own pages, or an API key"))
				return
			}
		}
		p, ok, err := s.authenticate(r, scheme, strings.TrimSpace(credentials))
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="huddle"`)
			}
			s.writeError(w, r, err)
			return
		}
		if ok {
			r = r.WithContext(withPrincipal(r.Context(), p))
		} else if cookieToken(r) != "" {
			clearSessionCookie(w, r)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) authenticate(r *http.Request, scheme, credentials string) (Principal, bool, error) {
	switch {
	case scheme == "":
		if token := cookieToken(r); token != "" {
			return s.sessionPrincipal(r.Context(), token)
		}
		return Principal{}, false, nil
	case strings.EqualFold(scheme, "Bearer"):
		p, err := s.keyPrincipal(r.Context(), credentials)
		return p, err == nil, err
	case strings.EqualFold(scheme, "Basic"):
		// Only API keys are accepted as Basic passwords: account passwords go through the
		// login endpoint, where lockout and rate limits apply.
		raw, err := base64.StdEncoding.DecodeString(credentials)
		_, password, found := strings.Cut(string(raw), ":")
		if err != nil || !found {
			return Principal{}, false, &Error{Code: CodeUnauthenticated, Msg: "malformed Basic credentials"}
		}
		p, err := s.keyPrincipal(r.Context(), password)
		return p, err == nil, err
	}
	return Principal{}, false, &Error{Code: CodeUnauthenticated, Msg: "unsupported Authorization scheme: use Bearer <API key>"}
}

// authorize applies rt's rule to the principal Authenticate found, then calls rt.Handler.
func (s *Service) authorize(rt Route) http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		if rt.MinRole != RoleAnonymous {
			if err := s.allowed(r, rt); err != nil {
				if errors.Is(err, ErrUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="huddle"`)
				}
				return err
			}
		}
		return rt.Handler(w, r)
	})
}

func (s *Service) allowed(r *http.Request, rt Route) error {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return ErrUnauthenticated
	}
	if p.Key != nil && !covers(p.Key.Scopes, rt.Scope) {
		if rt.Scope == SessionOnly {
			return forbidden("API keys cannot be used here: sign in")
		}
		return forbidden("this API key lacks the %s scope", rt.Scope)
	}
	role := p.Role
	if rt.DashboardParam != "" {
		var err error
		if role, err = s.DashboardRole(r.Context(), p, r.PathValue(rt.DashboardParam)); err != nil {
			return err
		}
	}
	if !role.AtLeast(rt.MinRole) {
		return forbidden("this needs the %s role", rt.MinRole)
	}
	return nil
}

// serve adapts a HandlerFunc, answering its error.
func (s *Service) serve(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError is the one place errors become responses: {"error": "…"} with the error's status.
// It logs each error once: failures of ours as errors, clients' mistakes at info (a request
// without a session, the normal state of a signed-out browser, at debug).
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := http.StatusInternalServerError, map[string]string{"error": "internal error"}
	var (
		e        *Error
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &e):
		status, body["error"] = e.Status(), e.Msg
		if e.Field != "" {
			body["field"] = e.Field
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
	case errors.As(err, &tooLarge):
		status, body["error"] = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case errors.Is(err, ErrUnauthenticated):
		level = slog.LevelDebug
	}
	s.logger.Log(r.Context(), level, "auth request failed", "method", r.Method, "path", r.URL.Path,
		"status", status, "remote", s.clientAddr(r), "err", err)
	WriteJSON(w, status, body)
}

// WriteJSON answers v as JSON with status. Answers are never cached (they hold one user's view)
// nor sniffed as another type (they may hold text users wrote, markup included).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// maxBodyBytes bounds request bodies: the largest legitimate one is a user with a password.
const maxBodyBytes = 64 << 10

func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return DecodeJSON(w, r, dst, maxBodyBytes)
}

// DecodeJSON reads exactly one JSON object of at most maxBytes into dst, refusing unknown fields,
// so that a typo in a field name is an error rather than a silently ignored setting. Its errors
// are *Error (400, naming the field at fault) or *http.MaxBytesError (413, stating the limit).
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) error {
	return DecodeJSONFrom(http.MaxBytesReader(w, r.Body, maxBytes), dst)
}

// DecodeJSONFrom is DecodeJSON for a body the caller has bounded or already read: a handler that
// decodes one body twice (a first look deciding its shape) answers the same errors both times.
func DecodeJSONFrom(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case err == nil:
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("the request body must be a JSON object")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON in the request body")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("the request body must be a JSON object")
		}
		return &Error{Code: CodeBadRequest, Field: typeErr.Field,
			Msg: fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type))}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := Truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 64)
		return &Error{Code: CodeBadRequest, Field: strings.Trim(name, `"`), Msg: "unknown field " + name}
	default:
		return badRequest("malformed JSON in the request body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return badRequest("the request body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "number"
}
