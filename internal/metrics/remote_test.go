package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// promServer is a second huddle acting as the Prometheus server: the API
// over a filled store, behind wrap when it is not nil. Besides fill's data
// it has a gauge, temperature_celsius, whose rate draws an info annotation.
func promServer(t *testing.T, wrap func(http.Handler) http.Handler) (*httptest.Server, *Store) {
	t.Helper()
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	fill(t, s)
	app := s.Appender(context.Background())
	for i := 0; i <= 40; i++ {
		ts := t0.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		if _, err := app.Append(0, labels.FromStrings("__name__", "temperature_celsius", "room", "a"), ts, float64(20+i%3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return serveAPI(t, s, wrap), s
}

// serveAPI serves the API over src with the clock the API tests use.
func serveAPI(t *testing.T, src Source, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	api := NewAPI(src, APIOptions{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return t0.Add(5 * time.Minute) },
	})
	mux := http.NewServeMux()
	api.Register(mux)
	var h http.Handler = mux
	if wrap != nil {
		h = wrap(mux)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newRemote(t *testing.T, opts RemoteOptions) *Remote {
	t.Helper()
	r, err := NewRemote(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(t *testing.T, base, path string, params url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestRemoteMatchesStore asks the same questions of the API over the store
// and of the API over a Remote pointed at it: the answers must be the same
// bytes.
func TestRemoteMatchesStore(t *testing.T) {
	prom, _ := promServer(t, nil)
	viaRemote := serveAPI(t, newRemote(t, RemoteOptions{URL: prom.URL}), nil)
	at := func(d time.Duration) []string { return []string{unix(d)} }
	rng := func(q string, step string) url.Values {
		return url.Values{"query": {q}, "start": at(time.Minute), "end": at(10 * time.Minute), "step": {step}}
	}
	tests := []struct {
		name   string
		path   string
		params url.Values
		// want is a substring of the answer, so that a case cannot pass by
		// both sides failing alike.
		want string
	}{
		{"instant", "/api/v1/query", url.Values{"query": {"requests_total"}}, `"value":[1700000300,"600"]`},
		{"not equal matcher", "/api/v1/query", url.Values{"query": {`requests_total{code!="200"}`}, "time": at(time.Minute)}, `"code":"500"`},
		{"regex matchers", "/api/v1/query", url.Values{"query": {`{__name__=~"latency_.*",le=~"0\\.1|\\+Inf"}`}}, `"le":"+Inf"`},
		{"rate by code", "/api/v1/query", url.Values{"query": {`sum by (code) (rate(requests_total[1m]))`}}, `{"metric":{"code":"200"},"value":[1700000300,"1.9999999999999998"]}`},
		{"histogram_quantile", "/api/v1/query", url.Values{"query": {`histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[2m])))`}}, `"value":[1700000300,"`},
		{"scalar", "/api/v1/query", url.Values{"query": {`scalar(sum(requests_total))`}, "time": {"1700000060.5"}}, `"result":[1700000060.5,"132"]`},
		{"infinity and NaN", "/api/v1/query", url.Values{"query": {`vector(1/0) or label_replace(vector(0/0), "x", "y", "", "")`}}, `"NaN"`},
		{"string", "/api/v1/query", url.Values{"query": {`"hello"`}}, `"resultType":"string","result":[1700000300,"hello"]`},
		{"string in parentheses", "/api/v1/query", url.Values{"query": {"( `raw` )"}, "time": at(time.Minute)}, `"result":[1700000060,"raw"]`},
		{"string in range", "/api/v1/query_range", url.Values{"query": {`"hello"`}, "start": at(0), "end": at(time.Minute), "step": {"15s"}}, `"errorType":"bad_data"`},
		{"empty vector", "/api/v1/query", url.Values{"query": {"nothing_here"}}, `"result":[]`},
		{"warning", "/api/v1/query", url.Values{"query": {`histogram_quantile(2, rate(latency_seconds_bucket[1m]))`}}, `"warnings":["PromQL warning: quantile value should be between 0 and 1`},
		{"info", "/api/v1/query", url.Values{"query": {`rate(temperature_celsius[1m])`}}, `"infos":["PromQL info: metric might not be a counter`},
		{"range rate", "/api/v1/query_range", rng(`rate(requests_total[1m])`, "30s"), `[1700000090,"1.9999999999999998"]`},
		{"range histogram_quantile", "/api/v1/query_range", rng(`histogram_quantile(0.5, rate(latency_seconds_bucket[1m]))`, "15"), `"resultType":"matrix"`},
		{"range empty", "/api/v1/query_range", rng(`nothing_here`, "1m"), `"result":[]`},
		{"range info", "/api/v1/query_range", rng(`rate(temperature_celsius[1m])`, "1m"), `"infos":[`},
		{"series", "/api/v1/series", url.Values{"match[]": {`requests_total`, `latency_seconds_bucket{le="0.1"}`}}, `{"__name__":"latency_seconds_bucket","job":"api","le":"0.1"}`},
		{"series in range", "/api/v1/series", url.Values{"match[]": {`{job="api"}`}, "start": at(0), "end": at(time.Hour)}, `"code":"500"`},
		{"series none", "/api/v1/series", url.Values{"match[]": {`nothing_here`}}, `[]`},
		{"labels", "/api/v1/labels", url.Values{}, `["__name__","code","job","le","room"]`},
		{"labels matched", "/api/v1/labels", url.Values{"match[]": {"requests_total"}, "start": at(0), "end": at(time.Hour)}, `["__name__","code","job"]`},
		{"label values", "/api/v1/label/le/values", url.Values{}, `["+Inf","0.1","0.5"]`},
		{"label values matched", "/api/v1/label/__name__/values", url.Values{"match[]": {`{job="api"}`}}, `["latency_seconds_bucket","requests_total"]`},
		{"label values none", "/api/v1/label/nope/values", url.Values{}, `[]`},
		{"metadata", "/api/v1/metadata", url.Values{}, `{"requests_total":[{"type":"counter","help":"Requests served.","unit":""}]}`},
		{"metadata of metric", "/api/v1/metadata", url.Values{"metric": {"requests_total"}, "limit": {"1"}}, `"counter"`},
		{"metadata unknown metric", "/api/v1/metadata", url.Values{"metric": {"nothing_here"}}, `{}`},
		{"invalid promql", "/api/v1/query", url.Values{"query": {`sum(`}}, `"errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"`},
		{"invalid promql in range", "/api/v1/query_range", rng(`rate(x[1m]`, "1m"), `"errorType":"bad_data"`},
		{"execution error", "/api/v1/query", url.Values{"query": {`label_replace(requests_total, "x", "y", "code", "(")`}}, `"errorType":"execution","error":"invalid regular expression`},
		{"bad selector", "/api/v1/series", url.Values{"match[]": {`{`}}, `"errorType":"bad_data"`},
		{"bad label selector", "/api/v1/labels", url.Values{"match[]": {`up{`}}, `"errorType":"bad_data"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, direct := get(t, prom.URL, tc.path, tc.params)
			rcode, remote := get(t, viaRemote.URL, tc.path, tc.params)
			if !strings.Contains(direct, tc.want) {
				t.Fatalf("the store's answer %s does not contain %s", direct, tc.want)
			}
			if rcode != code || remote != direct {
				t.Fatalf("through the remote: %d %s\nfrom the store: %d %s", rcode, remote, code, direct)
			}
		})
	}
}

// recorder records the requests a wrapped handler receives.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (rec *recorder) count(path string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, r := range rec.reqs {
		if r.URL.Path == path {
			n++
		}
	}
	return n
}

// requireAuth answers 401 unless the request carries want as Authorization.
func requireAuth(want string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != want {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestRemoteSendsCredentials(t *testing.T) {
	tests := []struct {
		name   string
		opts   RemoteOptions
		want   string // the Authorization header the server expects
		secret string // must not appear in any error
	}{
		{"basic auth", RemoteOptions{BasicAuth: BasicAuth{Username: "grafana", Password: "s3cret-pw"}}, "Basic Z3JhZmFuYTpzM2NyZXQtcHc=", "s3cret-pw"},
		{"bearer token", RemoteOptions{BearerToken: "tok-123456"}, "Bearer tok-123456", "tok-123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			prom, _ := promServer(t, func(h http.Handler) http.Handler { return rec.wrap(requireAuth(tc.want)(h)) })
			opts := tc.opts
			opts.URL = prom.URL
			opts.Headers = map[string]string{"X-Scope-OrgID": "team-a"}
			r := newRemote(t, opts)
			ctx := context.Background()
			res, err := r.Query(ctx, `sum(requests_total)`, t0.Add(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if v := scalarOf(t, res); v != 660 {
				t.Fatalf("sum = %v, want 660", v)
			}
			if _, err := r.LabelValues(ctx, "code", nil, minTime, maxTime); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			for _, req := range rec.reqs {
				if req.Header.Get("X-Scope-OrgID") != "team-a" {
					t.Errorf("%s %s without X-Scope-OrgID", req.Method, req.URL.Path)
				}
			}
			if m := rec.reqs[0].Method; m != http.MethodPost {
				t.Errorf("query sent with %s, want POST so that long expressions fit", m)
			}
			rec.mu.Unlock()

			// The same server with the wrong credentials: a clear error
			// that names the server and not the secret.
			opts.BasicAuth, opts.BearerToken = BasicAuth{}, "wrong-"+tc.secret
			_, err = newRemote(t, opts).Query(ctx, "up", t0)
			if kindOf(err) != KindUnavailable || !strings.Contains(err.Error(), prom.URL) || !strings.Contains(err.Error(), "401") {
				t.Fatalf("got %v (%s), want an unavailable error naming %s and 401", err, kindOf(err), prom.URL)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error %q leaks the credentials", err)
			}
		})
	}
}

func TestRemoteFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	answer := func(code int, contentType, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(code)
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hang, _ := hangServer(t)
	prom, _ := promServer(t, nil)
	const nativeHistogram = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"h"},"histogram":[1700000000,{"count":"2","sum":"3","buckets":[[0,"0.5","1","2"]]}]}]}}`
	tests := []struct {
		name string
		opts RemoteOptions
		kind ErrorKind
		want []string // substrings of the error
		code int      // of our API over the remote
	}{
		{"unreachable", RemoteOptions{URL: closed.URL}, KindUnavailable, []string{closed.URL, "connection refused"}, 503},
		{"HTML page", RemoteOptions{URL: answer(200, "text/html", "<html><body>Login</body></html>")}, KindUnavailable, []string{"not a Prometheus API answer", "invalid character '<'"}, 503},
		{"HTML error page", RemoteOptions{URL: answer(502, "text/html", "<html>Bad Gateway</html>")}, KindUnavailable, []string{"server error: 502"}, 503},
		{"truncated JSON", RemoteOptions{URL: answer(200, "application/json", `{"status":"success","data":{"resultType":"vector","result":[{"metric":`)}, KindUnavailable, []string{"not a Prometheus API answer"}, 503},
		{"not found", RemoteOptions{URL: answer(404, "text/plain", "404 page not found")}, KindUnavailable, []string{"client error: 404"}, 503},
		{"remote timeout", RemoteOptions{URL: answer(503, "application/json", `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)}, KindTimeout, []string{"query timed out in expression evaluation"}, 503},
		{"remote canceled", RemoteOptions{URL: answer(499, "application/json", `{"status":"error","errorType":"canceled","error":"query was canceled in query queue"}`)}, KindCanceled, []string{"query was canceled"}, 499},
		{"remote internal", RemoteOptions{URL: answer(500, "application/json", `{"status":"error","errorType":"internal","error":"open /data/chunks: no space left"}`)}, KindInternal, []string{"no space left"}, 500},
		{"remote unavailable", RemoteOptions{URL: answer(503, "application/json", `{"status":"error","errorType":"unavailable","error":"TSDB not ready"}`)}, KindUnavailable, []string{"TSDB not ready"}, 503},
		{"our timeout", RemoteOptions{URL: hang.URL, Timeout: 50 * time.Millisecond}, KindTimeout, []string{hang.URL, "deadline exceeded"}, 503},
		{"native histograms", RemoteOptions{URL: answer(200, "application/json", nativeHistogram)}, KindExecution, []string{"native histograms", "histogram_quantile"}, 422},
		{"answer too large", RemoteOptions{URL: prom.URL, MaxResponseBytes: 100}, KindExecution, []string{"larger than 100 bytes", "metrics.prometheus.maxResponseBytes"}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRemote(t, tc.opts)
			_, err := r.Query(context.Background(), "requests_total", t0)
			if err == nil || kindOf(err) != tc.kind {
				t.Fatalf("got %v (%s), want a %s error", err, kindOf(err), tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			code, body := get(t, serveAPI(t, r, nil).URL, "/api/v1/query", url.Values{"query": {"requests_total"}})
			if code != tc.code || !strings.Contains(body, `"errorType":"`+string(tc.kind)+`"`) {
				t.Fatalf("our API answered %d %s, want %d with errorType %s", code, body, tc.code, tc.kind)
			}
		})
	}
}

// hangServer never answers; its handlers return when the test ends. arrived is signalled when a
// request has reached a handler.
func hangServer(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	in := make(chan struct{}, 1)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case in <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first
	return srv, in
}

// The caller's cancel ends a request that the source has received and not answered.
func TestRemoteCallerCancels(t *testing.T) {
	hang, arrived := hangServer(t)
	r := newRemote(t, RemoteOptions{URL: hang.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := r.QueryRange(ctx, "up", t0, t0.Add(time.Hour), time.Minute)
	if kindOf(err) != KindCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v (%s), want canceled", err, kindOf(err))
	}
}

func TestRemoteUnderCache(t *testing.T) {
	rec := &recorder{}
	prom, s := promServer(t, rec.wrap)
	c := NewCache(newRemote(t, RemoteOptions{URL: prom.URL + "/"}), CacheOptions{Now: func() time.Time { return t0.Add(time.Hour) }})
	ctx := context.Background()
	const expr = `rate(requests_total[1m])`
	start, end := t0.Add(time.Minute), t0.Add(10*time.Minute)
	want, err := s.QueryRange(ctx, expr, start, end, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := c.QueryRange(ctx, expr, start, end, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("cached remote result\n%s\nwant\n%s", got, want)
		}
	}
	if n := rec.count("/api/v1/query_range"); n != 1 {
		t.Fatalf("%d range queries reached the remote, want 1", n)
	}
	m, err := c.QueryRange(ctx, expr, start, end, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Value.(promql.Matrix); !ok || c.Len() != 1 {
		t.Fatalf("got %T with %d entries, want a cached matrix", m.Value, c.Len())
	}
}

func TestNewRemoteValidation(t *testing.T) {
	tests := []struct {
		name string
		opts RemoteOptions
		want string // substring of the error; empty for a valid configuration
	}{
		{"valid", RemoteOptions{URL: "http://prometheus:9090"}, ""},
		{"valid with path and basic auth", RemoteOptions{URL: "https://mimir.example/prometheus/", BasicAuth: BasicAuth{Username: "u", Password: "p"}}, ""},
		{"valid with bearer and tenant", RemoteOptions{URL: "http://vm:8428", BearerToken: "t", Headers: map[string]string{"X-Scope-OrgID": "a"}}, ""},
		{"missing", RemoteOptions{}, "metrics.prometheus.url is required"},
		{"relative", RemoteOptions{URL: "prometheus:9090"}, "not an absolute http or https URL"},
		{"no host", RemoteOptions{URL: "http:///api"}, "not an absolute http or https URL"},
		{"other scheme", RemoteOptions{URL: "ftp://prometheus"}, "not an absolute http or https URL"},
		{"unparsable", RemoteOptions{URL: "http://[::1"}, "metrics.prometheus.url"},
		{"credentials in url", RemoteOptions{URL: "http://u:hunter2@prometheus:9090"}, "move them to metrics.prometheus.username and password"},
		{"query in url", RemoteOptions{URL: "http://prometheus:9090/?x=1"}, "has a query or fragment"},
		{"both auths", RemoteOptions{URL: "http://p", BasicAuth: BasicAuth{Username: "u"}, BearerToken: "t"}, "mutually exclusive"},
		{"password alone", RemoteOptions{URL: "http://p", BasicAuth: BasicAuth{Password: "p"}}, "metrics.prometheus.username"},
		{"authorization header", RemoteOptions{URL: "http://p", Headers: map[string]string{"authorization": "x"}}, "must not set Authorization"},
		{"bad header name", RemoteOptions{URL: "http://p", Headers: map[string]string{"X Org": "a"}}, "not a valid HTTP header"},
		{"bad header value", RemoteOptions{URL: "http://p", Headers: map[string]string{"X-Org": "a\nb"}}, "not a valid HTTP header"},
		{"negative timeout", RemoteOptions{URL: "http://p", Timeout: -time.Second}, "metrics.prometheus.timeout"},
		{"negative size", RemoteOptions{URL: "http://p", MaxResponseBytes: -1}, "metrics.prometheus.maxResponseBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRemote(tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q leaks the password", err)
			}
		})
	}
}
