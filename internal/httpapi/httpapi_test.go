package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/roles"
)

func TestErrorStatus(t *testing.T) {
	for code, want := range map[Code]int{
		CodeBadRequest:         400,
		CodeInvalidCredentials: 401,
		CodeUnauthenticated:    401,
		CodeForbidden:          403,
		CodeNotFound:           404,
		CodeConflict:           409,
		CodeLocked:             429,
		CodeRateLimited:        429,
		"something else":       500,
	} {
		if got := (&Error{Code: code}).Status(); got != want {
			t.Errorf("%s: status %d, want %d", code, got, want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	noDashboard := ErrNotFound.Withf("no such dashboard")
	noUser := ErrNotFound.Withf("no such user")
	dashboard := fmt.Errorf("load: %w", noDashboard.Withf("dashboard %q not found", "ops"))
	for _, tc := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"instance of its domain", dashboard, noDashboard, true},
		{"instance of the generic kind", dashboard, ErrNotFound, true},
		{"not another domain's", dashboard, noUser, false},
		{"not another code's", dashboard, ErrConflict, false},
		{"literal of a code", &Error{Code: CodeConflict, Field: "uid"}, ErrConflict, true},
		{"constructor of a code", Forbidden("no"), ErrForbidden, true},
		{"retry keeps the kind", ErrRateLimited.RetryIn(time.Second), ErrRateLimited, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Fatalf("errors.Is(%v, %v) = %v", tc.err, tc.target, got)
			}
		})
	}
	var e *Error
	if !errors.As(dashboard, &e) || e.Msg != `dashboard "ops" not found` || e.Status() != 404 {
		t.Fatalf("the instance answers %v", e)
	}
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		method  string
		err     error
		status  int
		body    string
		headers map[string]string
		level   string
	}{
		{name: "error with a field", err: fmt.Errorf("save: %w", Invalid("uid", "uid: bad")),
			status: 400, body: `{"error":"uid: bad","field":"uid"}`, level: "INFO"},
		{name: "retry after", err: ErrRateLimited.RetryIn(1500 * time.Millisecond),
			status: 429, body: `{"error":"too many requests"}`, headers: map[string]string{"Retry-After": "2"}, level: "INFO"},
		{name: "unauthenticated", err: ErrUnauthenticated, status: 401, body: `{"error":"sign in first"}`, level: "DEBUG"},
		{name: "internal", err: errors.New("dial tcp 10.1.2.3:5432: refused"), status: 500, body: `{"error":"internal error"}`, level: "ERROR"},
		{name: "too large", err: &http.MaxBytesError{Limit: 10}, status: 413, body: `{"error":"request body larger than 10 bytes"}`, level: "INFO"},
		{name: "prometheus shape", err: &ProtocolError{Status: 422, Body: map[string]string{"status": "error", "errorType": "execution", "error": "boom"}, Err: errors.New("boom")},
			status: 422, body: `{"error":"boom","errorType":"execution","status":"error"}`, level: "INFO"},
		{name: "azure shape", err: &ProtocolError{Status: 404, Header: http.Header{"X-Ms-Error-Code": {"NotFound"}},
			Body: map[string]string{"code": "NotFound", "message": "no group"}},
			status: 404, body: `{"code":"NotFound","message":"no group"}`, headers: map[string]string{"x-ms-error-code": "NotFound"}, level: "INFO"},
		{name: "azure shape to HEAD", method: "HEAD", err: &ProtocolError{Status: 404, Header: http.Header{"X-Ms-Error-Code": {"NotFound"}},
			Body: map[string]string{"code": "NotFound", "message": "no group"}},
			status: 404, headers: map[string]string{"x-ms-error-code": "NotFound"}, level: "INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			ew := ErrorWriter{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			w := httptest.NewRecorder()
			ew.WriteError(w, httptest.NewRequest(cmpOr(tc.method, "GET"), "/x", nil), tc.err)
			if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.body {
				t.Fatalf("answered %d %s, want %d %s", w.Code, w.Body, tc.status, tc.body)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
				if w.Header().Get(k) != v {
					t.Errorf("%s = %q, want %q", k, w.Header().Get(k), v)
				}
			}
			for k, v := range tc.headers {
				if w.Header().Get(k) != v {
					t.Errorf("%s = %q, want %q", k, w.Header().Get(k), v)
				}
			}
			if n := strings.Count(logs.String(), "request failed"); n != 1 || !strings.Contains(logs.String(), "level="+tc.level) {
				t.Errorf("logged %d times, want once at %s:\n%s", n, tc.level, logs.String())
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Count int      `json:"count"`
	}
	for _, tc := range []struct {
		in, want, field string
		status          int
	}{
		{in: `{"name":"a","tags":["x"],"count":1}`},
		{in: ``, want: "must be a JSON object", status: 400},
		{in: `["a"]`, want: "must be a JSON object", status: 400},
		{in: `{"name":`, want: "malformed JSON", status: 400},
		{in: `{"name":"a"}{}`, want: "one JSON object and nothing after it", status: 400},
		{in: `{"name":1}`, want: `field "name" must be a JSON string`, field: "name", status: 400},
		{in: `{"tags":"x"}`, want: `field "tags" must be a JSON array`, field: "tags", status: 400},
		{in: `{"count":1.5}`, want: `field "count" must be a JSON number`, field: "count", status: 400},
		{in: `{"nmae":"a"}`, want: `unknown field "nmae"`, field: "nmae", status: 400},
		{in: `{"name":"` + strings.Repeat("a", 64) + `"}`, want: "request body larger than 48 bytes", status: 413},
		{in: `{"name":"a"}` + strings.Repeat(" ", 64), want: "request body larger than 48 bytes", status: 413},
	} {
		t.Run(tc.in, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tc.in))
			var b body
			err := DecodeJSON(w, r, &b, 48)
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ErrorWriter{}.WriteError(w, r, err)
			var got struct{ Error, Field string }
			if jerr := json.Unmarshal(w.Body.Bytes(), &got); jerr != nil || w.Code != tc.status ||
				!strings.Contains(got.Error, tc.want) || got.Field != tc.field {
				t.Fatalf("answered %d %s, want %d mentioning %q with field %q", w.Code, w.Body, tc.status, tc.want, tc.field)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // é is two bytes: the cut moves back to a character boundary
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestRouteCheck(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	for _, rt := range []Route{
		{Method: "GET", Pattern: "/api/x", Handler: h}, // no MinRole
		{Method: "GET", Pattern: "/api/x", MinRole: "root", Handler: h},
		{Method: "GET", Pattern: "/api/x", MinRole: roles.Viewer, Scope: "metrics:delete", Handler: h},
		{Method: "GET", Pattern: "/api/x", MinRole: roles.Viewer},
		{Pattern: "/api/x", MinRole: roles.Viewer, Handler: h},
		{Method: "GET", Pattern: "api/x", MinRole: roles.Viewer, Handler: h},
		{Method: "GET", Pattern: "/api/x/{id}", MinRole: roles.Viewer, DashboardParam: "uid", Handler: h},
	} {
		if err := rt.Check(); err == nil {
			t.Errorf("accepted %+v", rt)
		}
	}
	for _, rt := range []Route{
		{Method: "GET", Pattern: "/api/negotiate", MinRole: roles.Viewer, Scope: roles.ScopeDashboardsRead, Handler: h},
		{Method: "GET", Pattern: "/login", MinRole: roles.Anonymous, Handler: h},
		{Method: "PUT", Pattern: "/api/dashboards/{uid}", MinRole: roles.Editor, Scope: roles.ScopeDashboardsWrite, DashboardParam: "uid", Handler: h},
	} {
		if err := rt.Check(); err != nil {
			t.Error(err)
		}
	}
}
