package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
)

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
		return BadRequest("the request body must be a JSON object")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed JSON in the request body")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return BadRequest("the request body must be a JSON object")
		}
		return Invalid(typeErr.Field, "field %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := Truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 64)
		return Invalid(strings.Trim(name, `"`), "unknown field %s", name)
	default:
		return BadRequest("malformed JSON in the request body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errors.As(err, &tooLarge) {
			return err
		}
		return BadRequest("the request body must hold one JSON object and nothing after it")
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
