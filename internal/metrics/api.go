package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
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
	// POST /api/v1/write, appending to it and keeping the metadata senders
	// send (usually the [Store]).
	Appendable WriteStore
	// TSDB, when set, answers /api/v1/status/tsdb and the store's part of
	// /api/v1/status/flags and runtimeinfo (usually the [Store]; nil with a
	// remote source).
	TSDB TSDB
	// Targets, when set, lists the collection targets for /api/v1/targets
	// and /api/v1/status/config (usually the collector).
	Targets TargetLister
	// Gatherer, when set, gives the head chunk count of
	// /api/v1/status/tsdb, read from the TSDB's own metrics as Prometheus
	// does.
	Gatherer prometheus.Gatherer
	// Rules, when set, answers /api/v1/rules and /api/v1/alerts (the alerting engine); without
	// it they answer that no rule exists.
	Rules RuleGroups
	// Ready says whether the server takes requests, for /-/ready. Default:
	// always.
	Ready func() bool
	// Now is the clock behind default query times. Default time.Now.
	Now func() time.Time
}

// API serves Prometheus's HTTP API over a [Source]: the queries, the listings
// and metadata, the status endpoints that Grafana and promtool read, and the
// health and readiness probes, in Prometheus's shapes and words; and
// optionally the remote-write receiver.
type API struct {
	src     Source
	logger  *slog.Logger
	now     func() time.Time
	started time.Time
	write   http.Handler // nil without an Appendable
	opts    APIOptions
}

// NewAPI returns the API over src.
func NewAPI(src Source, opts APIOptions) *API {
	a := &API{src: src, logger: opts.Logger, now: opts.Now, opts: opts}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.started = a.now()
	if opts.Appendable != nil {
		// Prometheus's own receiver: it decodes snappy protobuf, and rejects
		// out-of-order, duplicate and too-old samples with 400 exactly as a
		// Prometheus server does, so senders retry or drop alike. It drops
		// the metadata of remote write 1.0, which remoteWrite keeps.
		a.write = remote.NewWriteHandler(a.logger, opts.Registerer, opts.Appendable,
			remoteapi.MessageTypes{remoteapi.WriteV1MessageType}, false, false, false)
	}
	return a
}

// Route is one endpoint, for the accounts' route table: every route but the
// write and public routes needs scope metrics:read; the write route needs
// metrics:write. Its errors are *httpapi.ProtocolError in Prometheus's
// shape, for an httpapi.ErrorWriter to answer.
type Route struct {
	Method  string
	Pattern string // http.ServeMux pattern without the method
	Write   bool   // true for the remote-write receiver
	// Public is true for the health and readiness probes, which, as in
	// Prometheus, need no credentials and tell nothing about the data.
	Public  bool
	Handler httpapi.HandlerFunc
}

// Routes lists the endpoints: GET and POST of each endpoint Prometheus
// serves on both (GET alone for the others), POST /api/v1/write when an
// Appendable was given, the probes, and GET and POST /api/v1/ for every
// other path under it, answered with Prometheus's not_found error.
func (a *API) Routes() []Route {
	endpoints := []struct {
		pattern  string
		h        func(*http.Request) (any, error)
		withPost bool
	}{
		{"/api/v1/query", a.query, true},
		{"/api/v1/query_range", a.queryRange, true},
		{"/api/v1/query_exemplars", a.queryExemplars, true},
		{"/api/v1/format_query", formatQuery, true},
		{"/api/v1/series", a.series, true},
		{"/api/v1/labels", a.labelNames, true},
		{"/api/v1/label/{name}/values", a.labelValues, true},
		{"/api/v1/metadata", a.metadata, true},
		{"/api/v1/targets", a.targets, false},
		{"/api/v1/rules", a.rules, false},
		{"/api/v1/alerts", a.alerts, false},
		{"/api/v1/status/buildinfo", buildInfo, false},
		{"/api/v1/status/runtimeinfo", a.runtimeInfo, false},
		{"/api/v1/status/flags", a.flags, false},
		{"/api/v1/status/config", a.config, false},
		{"/api/v1/status/tsdb", a.tsdbStatus, false},
		{"/api/v1/", notFound, true},
	}
	var rs []Route
	for _, e := range endpoints {
		h := a.handle(e.h)
		rs = append(rs, Route{Method: http.MethodGet, Pattern: e.pattern, Handler: h})
		if e.withPost {
			rs = append(rs, Route{Method: http.MethodPost, Pattern: e.pattern, Handler: h})
		}
	}
	if a.write != nil {
		rs = append(rs, Route{Method: http.MethodPost, Pattern: "/api/v1/write", Write: true, Handler: a.remoteWrite})
	}
	return append(rs,
		Route{Method: http.MethodGet, Pattern: "/-/healthy", Public: true, Handler: healthy},
		Route{Method: http.MethodGet, Pattern: "/-/ready", Public: true, Handler: a.ready})
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
		if data == nil {
			// Prometheus's rule for a success without data (web/api/v1/api.go, Register).
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		resp := response{Status: "success", Data: data}
		if n, ok := data.(withNotes); ok {
			resp = response{Status: "success", Data: n.data, Warnings: n.warnings, Infos: n.infos}
		}
		return writeOK(w, resp)
	}
}

// writeOK answers resp with status 200.
func writeOK(w http.ResponseWriter, resp response) error {
	if b, ok, err := resp.encodeMatrix(); ok {
		if err != nil {
			return err
		}
		httpapi.WriteEncodedJSON(w, http.StatusOK, b)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
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
	case KindNotFound:
		code = http.StatusNotFound
	case KindInternal:
		// Storage errors may carry paths and other internals: only the log sees them.
		code, msg = http.StatusInternalServerError, "internal error"
	}
	return &httpapi.ProtocolError{Status: code, Body: response{Status: "error", ErrorType: string(kind), Error: msg}, Err: err}
}

func badData(format string, args ...any) error {
	return &Error{Kind: KindBadData, Err: fmt.Errorf(format, args...)}
}

// parseTime reads unix seconds (fractions allowed) or RFC 3339, and the
// RFC 3339 forms of minTime and maxTime, whose years time.Parse cannot read.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTime.Format(time.RFC3339Nano):
		return minTime, nil
	case maxTime.Format(time.RFC3339Nano):
		return maxTime, nil
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

// invalidParam is a bad_data error about parameter name, in the words of
// Prometheus's invalidParamError (web/api/v1/api.go).
func invalidParam(name string, err error) error {
	return badData("invalid parameter %q: %w", name, err)
}

// timeParam reads the optional time parameter name, or def when it is
// absent, with Prometheus's parseTimeParam's error text.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.FormValue(name)
	if s == "" {
		return def, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, invalidParam(name, fmt.Errorf("invalid time value for '%s': %w", name, err))
	}
	return t, nil
}

// limitParam reads the optional limit parameter of the query and listing
// endpoints; 0, its default, means no limit.
func limitParam(r *http.Request) (int, error) {
	s := r.FormValue("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, invalidParam("limit", err)
	}
	if n < 0 {
		return 0, invalidParam("limit", errors.New("limit must be non-negative"))
	}
	return n, nil
}

// truncatedWarning is Prometheus's warning on an answer cut to limit.
const truncatedWarning = "results truncated due to limit"

// limited cuts a listing to limit items (0: no limit), with Prometheus's
// warning when it does.
func limited[T any](items []T, limit int) any {
	if limit > 0 && len(items) > limit {
		return withNotes{data: items[:limit], warnings: []string{truncatedWarning}}
	}
	return items
}

// parseMatchers reads match[] selectors as Prometheus's parseMatchersParam
// does, refusing a selector that every series matches.
func parseMatchers(selectors []string) ([][]*labels.Matcher, error) {
	sets, err := parser.ParseMetricSelectors(selectors)
	if err != nil {
		return nil, err
	}
	for _, ms := range sets {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") }) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
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
		return nil, nil, invalidParam("timeout", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func (a *API) query(r *http.Request) (any, error) {
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
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
	return resultData(expr, res, limit), nil
}

func (a *API) queryRange(r *http.Request) (any, error) {
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return nil, invalidParam("start", err)
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return nil, invalidParam("end", err)
	}
	if end.Before(start) {
		return nil, invalidParam("end", errors.New("end timestamp must not be before start time"))
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return nil, invalidParam("step", err)
	}
	if step <= 0 {
		return nil, invalidParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
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
	return resultData(expr, res, limit), nil
}

// resultData shapes a query result as Prometheus does: at most ten warnings
// and ten infos, at most limit series when limit > 0, and an empty vector or
// matrix as [] rather than null. res may be shared with a cache, so it is
// never modified.
func resultData(expr string, res *promql.Result, limit int) any {
	warnings, infos := res.Warnings.AsStrings(expr, 10, 10)
	v := res.Value
	switch s := v.(type) {
	case promql.Vector:
		if s == nil {
			v = promql.Vector{}
		} else if limit > 0 && len(s) > limit {
			v, warnings = s[:limit], append(warnings, truncatedWarning)
		}
	case promql.Matrix:
		if s == nil {
			v = promql.Matrix{}
		} else if limit > 0 && len(s) > limit {
			v, warnings = s[:limit], append(warnings, truncatedWarning)
		}
	}
	var result any = v
	if m, ok := v.(promql.Matrix); ok {
		result = asJSON(m)
	}
	return withNotes{data: queryData{ResultType: v.Type(), Result: result}, warnings: warnings, infos: infos}
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     any              `json:"result"` // a parser.Value, or a floatMatrix
}

// rangeParams reads the optional start and end of the listing endpoints.
// As in Prometheus, an end before start is no error: nothing lies between.
func rangeParams(r *http.Request) (time.Time, time.Time, error) {
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return start, start, err
	}
	end, err := timeParam(r, "end", maxTime)
	return start, end, err
}

// listParams reads the parameters the listing endpoints share: limit, start
// and end, and match[] (checked here, so that every source refuses the same
// selectors with the same words). Like Prometheus, only the series endpoint
// (nameMatch) names match[] in a selector's error.
func listParams(r *http.Request, nameMatch bool) (limit int, start, end time.Time, err error) {
	if limit, err = limitParam(r); err != nil {
		return 0, start, end, err
	}
	if start, end, err = rangeParams(r); err != nil {
		return 0, start, end, err
	}
	if _, err = parseMatchers(r.Form["match[]"]); err != nil {
		if nameMatch {
			return 0, start, end, invalidParam("match[]", err)
		}
		return 0, start, end, &Error{Kind: KindBadData, Err: err}
	}
	return limit, start, end, nil
}

func (a *API) series(r *http.Request) (any, error) {
	sel := r.Form["match[]"]
	if len(sel) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	limit, start, end, err := listParams(r, true)
	if err != nil {
		return nil, err
	}
	out, err := a.src.Series(r.Context(), sel, start, end)
	if err != nil {
		return nil, err
	}
	return limited(nonNil(out), limit), nil
}

func (a *API) labelNames(r *http.Request) (any, error) {
	limit, start, end, err := listParams(r, false)
	if err != nil {
		return nil, err
	}
	out, err := a.src.LabelNames(r.Context(), r.Form["match[]"], start, end)
	if err != nil {
		return nil, err
	}
	return limited(nonNil(out), limit), nil
}

func (a *API) labelValues(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, badData("invalid label name: %q", name)
	}
	limit, start, end, err := listParams(r, false)
	if err != nil {
		return nil, err
	}
	out, err := a.src.LabelValues(r.Context(), name, r.Form["match[]"], start, end)
	if err != nil {
		return nil, err
	}
	return limited(nonNil(out), limit), nil
}

// nonNil makes an empty list encode as [] as Prometheus's does, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
