package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// Register installs the service's routes and extra ones (other packages' endpoints, such as
// /api/negotiate) on mux, each behind Authenticate and its route's rule. It panics, as ServeMux
// does, when two patterns conflict.
func (s *Service) Register(mux *http.ServeMux, extra ...httpapi.Route) error {
	return s.register(mux, append(s.Routes(), extra...))
}

func (s *Service) register(mux *http.ServeMux, routes []httpapi.Route) error {
	for _, rt := range routes {
		if err := rt.Check(); err != nil {
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
				s.errs.WriteError(w, r, httpapi.Forbidden("cross-origin request refused: use this site's own pages, or an API key"))
				return
			}
		}
		p, ok, err := s.authenticate(r, scheme, strings.TrimSpace(credentials))
		if err != nil {
			if errors.Is(err, httpapi.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="huddle"`)
			}
			s.errs.WriteError(w, r, err)
			return
		}
		if ok {
			r = r.WithContext(withPrincipal(r.Context(), p))
		} else if cookieToken(r) != "" {
			s.clearSessionCookie(w, r)
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
			return Principal{}, false, httpapi.ErrUnauthenticated.Withf("malformed Basic credentials")
		}
		p, err := s.keyPrincipal(r.Context(), password)
		return p, err == nil, err
	}
	return Principal{}, false, httpapi.ErrUnauthenticated.Withf("unsupported Authorization scheme: use Bearer <API key>")
}

// authorize applies rt's rule to the principal Authenticate found, then calls rt.Handler.
func (s *Service) authorize(rt httpapi.Route) http.Handler {
	return s.errs.Handler(func(w http.ResponseWriter, r *http.Request) error {
		if rt.MinRole != roles.Anonymous {
			if err := s.allowed(r, rt); err != nil {
				if errors.Is(err, httpapi.ErrUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="huddle"`)
				}
				return err
			}
		}
		return rt.Handler(w, r)
	})
}

func (s *Service) allowed(r *http.Request, rt httpapi.Route) error {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return httpapi.ErrUnauthenticated
	}
	if p.Key != nil && !roles.Covers(p.Key.Scopes, rt.Scope) {
		if rt.Scope == roles.SessionOnly {
			return httpapi.Forbidden("API keys cannot be used here: sign in")
		}
		return httpapi.Forbidden("this API key lacks the %s scope", rt.Scope)
	}
	role := p.Role
	if rt.DashboardParam != "" {
		var err error
		if role, err = s.DashboardRole(r.Context(), p, r.PathValue(rt.DashboardParam)); err != nil {
			return err
		}
	}
	if !role.AtLeast(rt.MinRole) {
		return httpapi.Forbidden("this needs the %s role", rt.MinRole)
	}
	return nil
}

// maxBodyBytes bounds request bodies: the largest legitimate one is a user with a password.
const maxBodyBytes = 64 << 10

func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return httpapi.DecodeJSON(w, r, dst, maxBodyBytes)
}
