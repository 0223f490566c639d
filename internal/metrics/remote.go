package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	"golang.org/x/net/http/httpguts"
)

// RemoteOptions configures a [Remote]. The zero value is not usable: URL is
// required; every other field has a documented default.
type RemoteOptions struct {
	// URL is the server's base URL, under which /api/v1/query is found:
	// http://prometheus:9090, http://mimir/prometheus,
	// http://victoriametrics:8428.
	URL string
	// BasicAuth, when its Username is set, is sent with every request.
	// Mutually exclusive with BearerToken.
	BasicAuth BasicAuth
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// Headers are added to every request, for instance X-Scope-OrgID for a
	// multi-tenant Mimir, Cortex or Thanos. Authorization is not allowed
	// here: use BasicAuth or BearerToken.
	Headers map[string]string
	// Timeout bounds each request to the server. Default 2 minutes, as the
	// embedded store's query timeout.
	Timeout time.Duration
	// MaxResponseBytes bounds the body of one answer, so that a huge result
	// cannot exhaust our memory. Default 256 MiB.
	MaxResponseBytes int64
	// Client sends the requests, for TLS settings or a proxy. Default: a
	// client of its own with Go's default transport settings. It is not
	// modified.
	Client *http.Client
}

// BasicAuth is a username and password for HTTP basic authentication.
type BasicAuth struct {
	Username string
	Password string
}

// Remote is a [Source] that sends every query to a Prometheus-compatible
// server (Prometheus, VictoriaMetrics, Mimir, Thanos) through its /api/v1
// HTTP API, so that huddle can read a store that is already running instead of
// its embedded one.
//
// The remote's answers to bad queries (bad_data, execution, timeout,
// canceled) keep their kind and words, so clients of our [API] cannot tell
// the sources apart. A server that cannot be reached, refuses the request or
// answers with something other than Prometheus's JSON gives an error of kind
// [KindUnavailable] naming the URL, never the credentials. Native histogram
// samples are refused with an error: the remote API's JSON does not carry
// their bucket layout.
type Remote struct {
	api     v1.API
	url     string // for error messages; it never holds credentials
	timeout time.Duration
}

// NewRemote validates opts and returns the remote source. Nothing is sent
// until the first query.
func NewRemote(opts RemoteOptions) (*Remote, error) {
	u, err := validateRemote(opts)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = 256 << 20
	}
	header := make(http.Header, len(opts.Headers)+1)
	for k, v := range opts.Headers {
		header.Set(k, v)
	}
	switch {
	case opts.BasicAuth.Username != "":
		r := &http.Request{Header: make(http.Header)}
		r.SetBasicAuth(opts.BasicAuth.Username, opts.BasicAuth.Password)
		header.Set("Authorization", r.Header.Get("Authorization"))
	case opts.BearerToken != "":
		header.Set("Authorization", "Bearer "+opts.BearerToken)
	}
	client := http.Client{}
	if opts.Client != nil {
		client = *opts.Client
	}
	next := client.Transport
	if next == nil {
		// A transport of our own rather than http.DefaultTransport, whose
		// connections other parts of the process may hold.
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	client.Transport = &remoteTransport{next: next, header: header, maxBytes: opts.MaxResponseBytes}
	c, err := api.NewClient(api.Config{Address: u.String(), Client: &client})
	if err != nil {
		return nil, fmt.Errorf("metrics.prometheus.url %q: %w", u, err)
	}
	return &Remote{api: v1.NewAPI(c), url: u.String(), timeout: opts.Timeout}, nil
}

func validateRemote(opts RemoteOptions) (*url.URL, error) {
	if opts.URL == "" {
		return nil, errors.New("metrics.prometheus.url is required with metrics.source: prometheus: set it to the server's base URL, such as http://prometheus:9090")
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("metrics.prometheus.url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("metrics.prometheus.url %q is not an absolute http or https URL: write it as http://host:port[/path]", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("metrics.prometheus.url %q holds credentials: move them to metrics.prometheus.username and password", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("metrics.prometheus.url %q has a query or fragment: give only the base URL, such as http://prometheus:9090", u.Redacted())
	}
	if opts.BasicAuth.Username == "" && opts.BasicAuth.Password != "" {
		return nil, errors.New("metrics.prometheus.password is set without a username: set metrics.prometheus.username")
	}
	if opts.BasicAuth.Username != "" && opts.BearerToken != "" {
		return nil, errors.New("metrics.prometheus.username and metrics.prometheus.bearerToken are mutually exclusive: set only one")
	}
	for k, v := range opts.Headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("metrics.prometheus.headers: %q is not a valid HTTP header name and value", k)
		}
		if http.CanonicalHeaderKey(k) == "Authorization" {
			return nil, errors.New("metrics.prometheus.headers must not set Authorization: use metrics.prometheus.username and password, or bearerToken")
		}
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("metrics.prometheus.timeout %s is negative: leave it unset for 2m or give a positive duration", opts.Timeout)
	}
	if opts.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("metrics.prometheus.maxResponseBytes %d is negative: leave it unset for 256 MiB or give a positive size", opts.MaxResponseBytes)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// remoteTransport adds the configured headers to every request and bounds
// the size of every answer.
type remoteTransport struct {
	next     http.RoundTripper
	header   http.Header
	maxBytes int64
}

func (t *remoteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the request it is given.
	req = req.Clone(req.Context())
	for k, v := range t.header {
		req.Header[k] = v
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.maxBytes, max: t.maxBytes}
	return resp, nil
}

// errResponseTooLarge is returned by a body read past RemoteOptions.MaxResponseBytes.
type errResponseTooLarge struct{ max int64 }

func (e errResponseTooLarge) Error() string {
	return fmt.Sprintf("answer larger than %d bytes (metrics.prometheus.maxResponseBytes): narrow the query or raise the limit", e.max)
}

type limitedBody struct {
	io.ReadCloser
	left int64
	max  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte past the limit tells an answer of exactly the limit
		// from a larger one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errResponseTooLarge{b.max}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// Query implements [Source].
func (r *Remote) Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error) {
	if s, ok := stringLiteral(expr); ok {
		// The client cannot decode a string result, and the answer is the
		// literal itself, as Prometheus evaluates it.
		return &promql.Result{Value: promql.String{T: timestamp.FromTime(ts), V: s}}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	v, warnings, infos, err := r.api.Query(ctx, expr, ts)
	if err != nil {
		return nil, r.error("query", err)
	}
	return r.result(v, warnings, infos)
}

// QueryRange implements [Source].
func (r *Remote) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	v, warnings, infos, err := r.api.QueryRange(ctx, expr, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, r.error("range query", err)
	}
	return r.result(v, warnings, infos)
}

// Series implements [Source]. The remote's warnings are dropped: Source has
// no place for them outside query results.
func (r *Remote) Series(ctx context.Context, selectors []string, start, end time.Time) ([]labels.Labels, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start, end = openRange(start, end)
	sets, _, _, err := r.api.Series(ctx, selectors, start, end)
	if err != nil {
		return nil, r.error("series", err)
	}
	out := make([]labels.Labels, 0, len(sets))
	for _, s := range sets {
		out = append(out, labelsOf(model.Metric(s)))
	}
	// The embedded store sorts; not every remote does.
	slices.SortFunc(out, labels.Compare)
	return out, nil
}

// LabelNames implements [Source].
func (r *Remote) LabelNames(ctx context.Context, selectors []string, start, end time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start, end = openRange(start, end)
	names, _, _, err := r.api.LabelNames(ctx, selectors, start, end)
	if err != nil {
		return nil, r.error("label names", err)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out, nil
}

// LabelValues implements [Source].
func (r *Remote) LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start, end = openRange(start, end)
	vals, _, _, err := r.api.LabelValues(ctx, name, selectors, start, end)
	if err != nil {
		return nil, r.error("label values", err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out, nil
}

// Metadata implements [Source].
func (r *Remote) Metadata(ctx context.Context, metric string, limit int) (map[string][]metadata.Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	lim := ""
	if limit > 0 {
		lim = strconv.Itoa(limit)
	}
	md, err := r.api.Metadata(ctx, metric, lim)
	if err != nil {
		return nil, r.error("metadata", err)
	}
	out := make(map[string][]metadata.Metadata, len(md))
	for name, ms := range md {
		for _, m := range ms {
			out[name] = append(out[name], metadata.Metadata{Type: model.MetricType(m.Type), Help: m.Help, Unit: m.Unit})
		}
	}
	return out, nil
}

// openRange turns the API's "no bound" instants into zero times, which the
// client leaves out of the request: the remote applies its own defaults
// instead of parsing timestamps near the limits of int64 milliseconds,
// which some servers reject.
func openRange(start, end time.Time) (time.Time, time.Time) {
	if !start.After(minTime) {
		start = time.Time{}
	}
	if !end.Before(maxTime) {
		end = time.Time{}
	}
	return start, end
}

// error classifies err from the client. The remote's own verdicts on a
// query keep its message untouched, so clients see the same text from
// either source; failures to talk to it name the URL.
func (r *Remote) error(op string, err error) error {
	var tooLarge errResponseTooLarge
	if errors.As(err, &tooLarge) {
		return &Error{Kind: KindExecution, Err: fmt.Errorf("%s on metrics source %s: %w", op, r.url, err)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Kind: kindOf(err), Err: fmt.Errorf("%s on metrics source %s: %w", op, r.url, err)}
	}
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) {
		return &Error{Kind: KindUnavailable, Err: fmt.Errorf("%s on metrics source %s: %w", op, r.url, err)}
	}
	typ, msg := apiErr.Type, apiErr.Msg
	if typ == v1.ErrServer || typ == v1.ErrClient {
		// The client decodes Prometheus's error envelope only for 400 and
		// 422; timeouts (503), cancellations (499) and internal errors
		// (500) keep it in Detail.
		var env struct {
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if json.Unmarshal([]byte(apiErr.Detail), &env) == nil && env.Status == "error" && env.ErrorType != "" {
			typ, msg = v1.ErrorType(env.ErrorType), env.Error
		}
	}
	switch kind := ErrorKind(typ); kind {
	case KindBadData, KindExecution, KindTimeout, KindCanceled:
		return &Error{Kind: kind, Err: errors.New(msg)}
	case KindInternal, KindUnavailable:
		return &Error{Kind: kind, Err: fmt.Errorf("%s on metrics source %s: %s", op, r.url, msg)}
	case ErrorKind(v1.ErrBadResponse):
		return &Error{Kind: KindUnavailable, Err: fmt.Errorf("%s on metrics source %s: not a Prometheus API answer: %s", op, r.url, msg)}
	}
	return &Error{Kind: KindUnavailable, Err: fmt.Errorf("%s on metrics source %s: %s: %s", op, r.url, typ, msg)}
}

// result converts the client's value into the engine's, which the API
// encodes and the Cache sizes.
func (r *Remote) result(v model.Value, warnings v1.Warnings, infos v1.Infos) (*promql.Result, error) {
	res := &promql.Result{}
	for _, w := range warnings {
		res.Warnings.Add(remoteNote{msg: w, kind: annotations.PromQLWarning})
	}
	for _, i := range infos {
		res.Warnings.Add(remoteNote{msg: i, kind: annotations.PromQLInfo})
	}
	switch v := v.(type) {
	case model.Vector:
		out := make(promql.Vector, 0, len(v))
		for _, s := range v {
			if s.Histogram != nil {
				return nil, r.histogramError()
			}
			out = append(out, promql.Sample{T: int64(s.Timestamp), F: float64(s.Value), Metric: labelsOf(s.Metric)})
		}
		res.Value = out
	case model.Matrix:
		out := make(promql.Matrix, 0, len(v))
		for _, s := range v {
			if len(s.Histograms) > 0 {
				return nil, r.histogramError()
			}
			fs := make([]promql.FPoint, len(s.Values))
			for i, p := range s.Values {
				fs[i] = promql.FPoint{T: int64(p.Timestamp), F: float64(p.Value)}
			}
			out = append(out, promql.Series{Metric: labelsOf(s.Metric), Floats: fs})
		}
		res.Value = out
	case *model.Scalar:
		res.Value = promql.Scalar{T: int64(v.Timestamp), V: float64(v.Value)}
	case *model.String:
		res.Value = promql.String{T: int64(v.Timestamp), V: v.Value}
	default:
		return nil, &Error{Kind: KindUnavailable, Err: fmt.Errorf("metrics source %s answered with a result of unknown type %T", r.url, v)}
	}
	return res, nil
}

// stringLiteral returns the value of expr when it is a string literal,
// perhaps in parentheses: the only PromQL whose result is a string.
func stringLiteral(expr string) (string, bool) {
	// A look at the first character spares parsing every other query.
	rest := strings.TrimLeft(expr, " \t\r\n(")
	if rest == "" || !strings.ContainsRune("\"'`", rune(rest[0])) {
		return "", false
	}
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return "", false
	}
	for {
		switch x := e.(type) {
		case *parser.ParenExpr:
			e = x.Expr
		case *parser.StringLiteral:
			return x.Val, true
		default:
			return "", false
		}
	}
}

func (r *Remote) histogramError() error {
	return &Error{Kind: KindExecution, Err: fmt.Errorf("metrics source %s returned native histograms, which huddle cannot read from a remote source: reduce them to floats with histogram_quantile, histogram_count or histogram_sum", r.url)}
}

func labelsOf(m model.Metric) labels.Labels {
	b := labels.NewScratchBuilder(len(m))
	for k, v := range m {
		b.Add(string(k), string(v))
	}
	b.Sort()
	return b.Labels()
}

// remoteNote is a warning or info from the remote, already in its final
// words: it does not implement the engine's position-adding annotation
// interface, so it is shown as received.
type remoteNote struct {
	msg  string
	kind error // annotations.PromQLWarning or annotations.PromQLInfo
}

func (n remoteNote) Error() string { return n.msg }
func (n remoteNote) Unwrap() error { return n.kind }
