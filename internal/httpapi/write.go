package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"time"
)

// ProtocolError is an error answered with the status and body a protocol prescribes, for APIs
// whose error shape is not huddle's own (Prometheus's, Azure Web PubSub's).
type ProtocolError struct {
	Status int
	// Header is added to the answer's headers.
	Header http.Header
	// Body is answered as JSON; nil answers the status and headers alone.
	Body any
	// Err is what went wrong, for the log; the client sees only Body.
	Err error
}

func (e *ProtocolError) Error() string {
	if e.Err == nil {
		return http.StatusText(e.Status)
	}
	return e.Err.Error()
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// ErrorWriter is the one place errors become answers. The zero value logs nowhere.
type ErrorWriter struct {
	Logger *slog.Logger
	// ClientAddr names the client in the log (default: the connection's remote address), for
	// a server that knows better, behind a proxy it trusts.
	ClientAddr func(*http.Request) string
}

// Handler adapts h, answering its error.
func (ew ErrorWriter) Handler(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			ew.WriteError(w, r, err)
		}
	})
}

// StatusHandler adapts an operation that answers with a status alone (0 when it wrote its own
// answer), as a protocol's REST calls do: its [*ProtocolError] is answered as it is, and any
// other error as internal(err), the protocol's own form of a failure of ours.
func (ew ErrorWriter) StatusHandler(serve func(http.ResponseWriter, *http.Request) (int, error), internal func(error) error) http.Handler {
	return ew.Handler(func(w http.ResponseWriter, r *http.Request) error {
		status, err := serve(w, r)
		var pe *ProtocolError
		switch {
		case err == nil:
			if status != 0 {
				w.WriteHeader(status)
			}
			return nil
		case errors.As(err, &pe):
			return err
		}
		return internal(err)
	})
}

// WriteError answers err and logs it once: failures of ours as errors, clients' mistakes at
// info (a request without credentials, the normal state of a signed-out browser, at debug).
//
//   - An [*Error] is {"error": "…", "field": "…"} with its code's status, and Retry-After when
//     it sets one.
//   - A [*ProtocolError] is its own status, headers and body.
//   - An [*http.MaxBytesError] is 413, stating the limit.
//   - Anything else is 500 {"error": "internal error"}.
//
// A HEAD request is answered with the status and headers alone.
func (ew ErrorWriter) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := http.StatusInternalServerError, any(map[string]string{"error": "internal error"})
	var (
		e        *Error
		pe       *ProtocolError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &e):
		b := map[string]string{"error": e.Msg}
		if e.Field != "" {
			b["field"] = e.Field
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
		status, body = e.Status(), b
	case errors.As(err, &pe):
		maps.Copy(w.Header(), pe.Header)
		status, body = pe.Status, pe.Body
	case errors.As(err, &tooLarge):
		status, body = http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)}
	}
	ew.log(r, status, err)
	if body == nil || r.Method == http.MethodHead {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		return
	}
	WriteJSON(w, status, body)
}

func (ew ErrorWriter) log(r *http.Request, status int, err error) {
	if ew.Logger == nil {
		return
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case errors.Is(err, ErrUnauthenticated):
		level = slog.LevelDebug
	}
	remote := r.RemoteAddr
	if ew.ClientAddr != nil {
		remote = ew.ClientAddr(r)
	}
	ew.Logger.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path,
		"status", status, "remote", remote, "err", err)
}

// WriteJSON answers v as JSON with status. Answers are never cached (they hold one user's view)
// nor sniffed as another type (they may hold text users wrote, markup included).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeJSONHeader(w, status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// WriteEncodedJSON answers b, JSON encoded already, as [WriteJSON] answers: for answers too large
// to pass through encoding/json, which checks and copies what a MarshalJSON method returns.
func WriteEncodedJSON(w http.ResponseWriter, status int, b []byte) {
	writeJSONHeader(w, status)
	_, _ = w.Write(b) // the client went away; nothing to do
}

func writeJSONHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
}
