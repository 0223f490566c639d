package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
)

// maxPointsPerSeries is Prometheus's limit on a range query's resolution.
const maxPointsPerSeries = 11000

// minTime and maxTime are the widest instants whose millisecond timestamps
// fit an int64, the defaults of the optional start and end parameters.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// APIOptions configures an [API]. The zero value means the documented
// defaults.
type APIOptions struct {
	// Logger receives the remote-write receiver's errors and, for routes
	// served by Register, every error answered. Default: discard.
	Logger *slog.Logger
	// Registerer receives the remote-write receiver's metrics. Default:
	// none registered.
	Registerer prometheus.Registerer
	// Appendable, when set, enables the remote-write 1.0 receiver
	// POST /api/v1/write, appending to it (usually the [Store]).
	Appendable storage.Appendable
	// Now is the clock behind default query times. Default time.Now.
	Now func() time.Time
}

// API serves Prometheus's HTTP query API (the subset Grafana's Prometheus
// data source uses) over a [Source], and optionally the remote-write
// receiver.
type API struct {
	src    Source
	logger *slog.Logger
	now    func() time.Time
	write  http.Handler // nil without an Appendable
}

// NewAPI returns the API over src.
func NewAPI(src Source, opts APIOptions) *API {
	a := &API{src: src, logger: opts.Logger, now: opts.Now}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if opts.Appendable != nil {
		// Prometheus's own receiver: it decodes snappy protobuf, and rejects
		// out-of-order, duplicate and too-old samples with 400 exactly as a
		// Prometheus server does, so senders retry or drop alike.
		a.write = remote.NewWriteHandler(a.logger, opts.Registerer, opts.Appendable,
			remoteapi.MessageTypes{remoteapi.WriteV1MessageType}, false, false, false)
	}
	return a
}

// Route is one endpoint, for the accounts' route table: every route but the
// write route needs scope metrics:read; the write route needs metrics:write.
// Its errors are *httpapi.ProtocolError in Prometheus's shape, for an
// httpapi.ErrorWriter to answer.
type Route struct {
	Method  string
	Pattern string // http.ServeMux pattern without the method
	Write   bool   // true for the remote-write receiver
	Handler httpapi.HandlerFunc
}

// Routes lists the endpoints: GET and POST of each query endpoint, and
// POST /api/v1/write when an Appendable was given.
func (a *API) Routes() []Route {
	query := []struct {
		pattern string
		h       func(*http.Request) (any, error)
	}{
		{"/api/v1/query", a.query},
		{"/api/v1/query_range", a.queryRange},
		{"/api/v1/series", a.series},
		{"/api/v1/labels", a.labelNames},
		{"/api/v1/label/{name}/values", a.labelValues},
		{"/api/v1/metadata", a.metadata},
	}
	var rs []Route
	for _, q := range query {
		h := a.handle(q.h)
		rs = append(rs, Route{Method: http.MethodGet, Pattern: q.pattern, Handler: h},
			Route{Method: http.MethodPost, Pattern: q.pattern, Handler: h})
	}
	if a.write != nil {
		rs = append(rs, Route{Method: http.MethodPost, Pattern: "/api/v1/write", Write: true, Handler: httpapi.FromHTTP(a.write)})
	}
	return rs
}

// Register adds every route to mux, unauthenticated: for tests and for a
// listener that is private by other means.
func (a *API) Register(mux *http.ServeMux) {
	errs := httpapi.ErrorWriter{Logger: a.logger}
	for _, r := range a.Routes() {
		mux.Handle(r.Method+" "+r.Pattern, errs.Handler(r.Handler))
	}
}

// response is Prometheus's JSON envelope.
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// withNotes is returned by the query handlers to carry the engine's
// warnings and infos beside the data.
type withNotes struct {
	data            any
	warnings, infos []string
}

// handle adapts a handler that returns its data or an error to the
// envelope.
func (a *API) handle(h func(*http.Request) (any, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := r.ParseForm(); err != nil {
			return protocolError(&Error{Kind: KindBadData, Err: fmt.Errorf("error parsing form values: %w", err)})
		}
		data, err := h(r)
		if err != nil {
			return protocolError(err)
		}
		resp := response{Status: "success", Data: data}
		if n, ok := data.(withNotes); ok {
			resp = response{Status: "success", Data: n.data, Warnings: n.warnings, Infos: n.infos}
		}
		httpapi.WriteJSON(w, http.StatusOK, resp)
		return nil
	}
}

// protocolError is the one place query errors get their status: err in
// Prometheus's envelope, with the status Prometheus answers its kind with.
func protocolError(err error) error {
	kind := kindOf(err)
	msg := err.Error()
	code := http.StatusUnprocessableEntity
	switch kind {
	case KindBadData:
		code = http.StatusBadRequest
	case KindTimeout, KindUnavailable:
		code = http.StatusServiceUnavailable
	case KindCanceled:
		code = 499 // Prometheus's "client closed connection"
	case KindInternal:
		// Storage errors may carry paths and other internals: only the log sees them.
		code, msg = http.StatusInternalServerError, "internal error"
	}
	return &httpapi.ProtocolError{Status: code, Body: response{Status: "error", ErrorType: string(kind), Error: msg}, Err: err}
}

func badData(format string, args ...any) error {
	return &Error{Kind: KindBadData, Err: fmt.Errorf(format, args...)}
}

// parseTime reads unix seconds (fractions allowed) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads seconds (fractions allowed) or a Prometheus duration
// such as 15s or 1h30m.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
		d := f * float64(time.Second)
		if d > math.MaxInt64 || d < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// timeParam reads the time parameter name, or def when it is absent.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.FormValue(name)
	if s == "" {
		return def, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, badData("invalid parameter %q: %w", name, err)
	}
	return t, nil
}

// queryContext applies the optional timeout parameter.
func queryContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	s := r.FormValue("timeout")
	if s == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return nil, nil, badData("invalid parameter %q: %w", "timeout", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func (a *API) query(r *http.Request) (any, error) {
	ts, err := timeParam(r, "time", a.now())
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	expr := r.FormValue("query")
	res, err := a.src.Query(ctx, expr, ts)
	if err != nil {
		return nil, err
	}
	return resultData(expr, res), nil
}

func (a *API) queryRange(r *http.Request) (any, error) {
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return nil, badData("invalid parameter %q: %w", "start", err)
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return nil, badData("invalid parameter %q: %w", "end", err)
	}
	if end.Before(start) {
		return nil, badData("end timestamp must not be before start time")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return nil, badData("invalid parameter %q: %w", "step", err)
	}
	if step <= 0 {
		return nil, badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return nil, badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	expr := r.FormValue("query")
	res, err := a.src.QueryRange(ctx, expr, start, end, step)
	if err != nil {
		return nil, err
	}
	return resultData(expr, res), nil
}

// resultData shapes a query result as Prometheus does, with at most ten
// warnings and ten infos, and an empty matrix or vector as [] (the engine
// may return nil; Prometheus's JSON codec writes an array regardless).
func resultData(expr string, res *promql.Result) any {
	warnings, infos := res.Warnings.AsStrings(expr, 10, 10)
	value := res.Value
	switch v := value.(type) {
	case promql.Matrix:
		if v == nil {
			value = promql.Matrix{}
		}
	case promql.Vector:
		if v == nil {
			value = promql.Vector{}
		}
	}
	return withNotes{data: queryData{ResultType: value.Type(), Result: value}, warnings: warnings, infos: infos}
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

// rangeParams reads the optional start and end of the metadata endpoints.
func rangeParams(r *http.Request) (time.Time, time.Time, error) {
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return start, start, err
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, badData("end timestamp must not be before start time")
	}
	return start, end, nil
}

func (a *API) series(r *http.Request) (any, error) {
	sel := r.Form["match[]"]
	if len(sel) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	start, end, err := rangeParams(r)
	if err != nil {
		return nil, err
	}
	out, err := a.src.Series(r.Context(), sel, start, end)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return []any{}, nil
	}
	return out, nil
}

func (a *API) labelNames(r *http.Request) (any, error) {
	start, end, err := rangeParams(r)
	if err != nil {
		return nil, err
	}
	out, err := a.src.LabelNames(r.Context(), r.Form["match[]"], start, end)
	return nonNil(out), err
}

func (a *API) labelValues(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, badData("invalid label name: %q", name)
	}
	start, end, err := rangeParams(r)
	if err != nil {
		return nil, err
	}
	out, err := a.src.LabelValues(r.Context(), name, r.Form["match[]"], start, end)
	return nonNil(out), err
}

func (a *API) metadata(r *http.Request) (any, error) {
	limit := -1
	if s := r.FormValue("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, badData("limit must be a number")
		}
		limit = n
	}
	md, err := a.src.Metadata(r.Context(), r.FormValue("metric"), limit)
	if err != nil {
		return nil, err
	}
	// Prometheus writes the fields in this order; model/metadata does not.
	type entry struct {
		Type string `json:"type"`
		Help string `json:"help"`
		Unit string `json:"unit"`
	}
	out := make(map[string][]entry, len(md))
	for name, ms := range md {
		for _, m := range ms {
			out[name] = append(out[name], entry{Type: string(m.Type), Help: m.Help, Unit: m.Unit})
		}
	}
	return out, nil
}

// nonNil makes an empty list encode as [] as Prometheus's does, not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
