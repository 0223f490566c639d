package metrics

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
)

// apiServer serves the API over a filled store, with remote write enabled
// and the targets of testTargets.
func apiServer(t *testing.T) (*httptest.Server, *Store) {
	t.Helper()
	mux, s := apiMux(t)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// apiMux is apiServer's handler, for tests that call it directly.
func apiMux(t *testing.T) (*http.ServeMux, *Store) {
	t.Helper()
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	fill(t, s)
	api := NewAPI(s, APIOptions{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: prometheus.NewRegistry(),
		Appendable: s,
		TSDB:       s,
		Targets:    testTargets,
		Now:        func() time.Time { return t0.Add(5 * time.Minute) },
	})
	mux := http.NewServeMux()
	api.Register(mux)
	return mux, s
}

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// call sends params by GET query string or POST form and decodes the reply.
func call(t *testing.T, srv *httptest.Server, method, path string, params url.Values) (int, apiResponse) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = http.Get(srv.URL + path + "?" + params.Encode())
	} else {
		resp, err = http.PostForm(srv.URL+path, params)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return resp.StatusCode, r
}

func unix(d time.Duration) string { return strconv.FormatInt(t0.Add(d).Unix(), 10) }

func TestAPI(t *testing.T) {
	srv, _ := apiServer(t)
	tests := []struct {
		name   string
		path   string
		params url.Values
		code   int
		// want is a substring of the data (success) or the error (failure).
		want    string
		errType string
	}{
		{"instant", "/api/v1/query", url.Values{"query": {`sum(requests_total{code=~"200|500"})`}},
			200, `{"resultType":"vector","result":[{"metric":{},"value":[1700000300,"660"]}]}`, ""},
		{"instant rfc3339 time", "/api/v1/query", url.Values{"query": {`requests_total{code="500"}`}, "time": {t0.Add(time.Minute).Format(time.RFC3339)}},
			200, `"value":[1700000060,"12"]`, ""},
		{"instant float time", "/api/v1/query", url.Values{"query": {`scalar(count(requests_total))`}, "time": {"1700000060.5"}},
			200, `{"resultType":"scalar","result":[1700000060.5,"2"]}`, ""},
		{"range", "/api/v1/query_range", url.Values{"query": {`irate(requests_total{code="200"}[1m])`}, "start": {unix(time.Minute)}, "end": {unix(2 * time.Minute)}, "step": {"30s"}},
			200, `"values":[[1700000060,"2"],[1700000090,"2"],[1700000120,"2"]]`, ""},
		{"range step seconds", "/api/v1/query_range", url.Values{"query": {`histogram_quantile(0.5, rate(latency_seconds_bucket[1m]))`}, "start": {unix(time.Minute)}, "end": {unix(time.Minute)}, "step": {"15"}},
			200, `"values":[[1700000060,"0.2999999`, ""},
		{"invalid promql", "/api/v1/query", url.Values{"query": {`sum(`}}, 400, "unclosed left parenthesis", "bad_data"},
		{"empty query", "/api/v1/query", url.Values{}, 400, "no expression found in input", "bad_data"},
		// Prometheus 3.x's words; 2.x capitalized "Invalid time value".
		{"bad time", "/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}, 400, `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`, "bad_data"},
		{"execution", "/api/v1/query", url.Values{"query": {`label_replace(requests_total, "x", "y", "code", "(")`}}, 422, "invalid regular expression", "execution"},
		{"timeout", "/api/v1/query", url.Values{"query": {`count_over_time(requests_total[1h:1ms])`}, "timeout": {"0.000001"}}, 503, "", "timeout"},
		{"missing start", "/api/v1/query_range", url.Values{"query": {"up"}, "end": {unix(0)}, "step": {"15s"}}, 400, `invalid parameter "start": cannot parse "" to a valid timestamp`, "bad_data"},
		{"inverted", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(time.Hour)}, "end": {unix(0)}, "step": {"15s"}}, 400, "end timestamp must not be before start time", "bad_data"},
		{"step 0", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(0)}, "end": {unix(time.Hour)}, "step": {"0"}}, 400, "zero or negative query resolution step widths are not accepted. Try a positive integer", "bad_data"},
		{"bad step", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(0)}, "end": {unix(time.Hour)}, "step": {"fast"}}, 400, `invalid parameter "step": cannot parse "fast" to a valid duration`, "bad_data"},
		{"11,000 points", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(0)}, "end": {unix(11001 * time.Second)}, "step": {"1"}}, 400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", "bad_data"},
		{"11,000 points allowed", "/api/v1/query_range", url.Values{"query": {"vector(1)"}, "start": {unix(0)}, "end": {unix(11000 * time.Second)}, "step": {"1"}}, 200, `"resultType":"matrix"`, ""},
		{"series", "/api/v1/series", url.Values{"match[]": {`requests_total{code="500"}`}}, 200, `[{"__name__":"requests_total","code":"500","job":"api"}]`, ""},
		{"series no match", "/api/v1/series", url.Values{}, 400, "no match[] parameter provided", "bad_data"},
		{"series bad match", "/api/v1/series", url.Values{"match[]": {`{`}}, 400, "unexpected end of input", "bad_data"},
		{"labels", "/api/v1/labels", url.Values{}, 200, `["__name__","code","job","le"]`, ""},
		{"labels matched", "/api/v1/labels", url.Values{"match[]": {"requests_total"}, "start": {unix(0)}, "end": {unix(time.Hour)}}, 200, `["__name__","code","job"]`, ""},
		{"label values", "/api/v1/label/le/values", url.Values{}, 200, `["+Inf","0.1","0.5"]`, ""},
		{"label values none", "/api/v1/label/nope/values", url.Values{}, 200, `[]`, ""},
		{"metadata", "/api/v1/metadata", url.Values{}, 200, `{"requests_total":[{"type":"counter","help":"Requests served.","unit":""}]}`, ""},
		{"metadata bad limit", "/api/v1/metadata", url.Values{"limit": {"x"}}, 400, "limit must be a number", "bad_data"},

		// The answers below were compared with Prometheus 2.42's on the same requests, and
		// with web/api/v1/api.go of the Prometheus version in go.mod where 3.x differs.
		{"empty instant", "/api/v1/query", url.Values{"query": {"nonexistent"}}, 200, `{"resultType":"vector","result":[]}`, ""},
		{"empty range", "/api/v1/query_range", url.Values{"query": {"sum(nonexistent)"}, "start": {unix(0)}, "end": {unix(time.Minute)}, "step": {"30s"}},
			200, `{"resultType":"matrix","result":[]}`, ""},
		{"series none", "/api/v1/series", url.Values{"match[]": {"nonexistent"}}, 200, `[]`, ""},
		{"series end before start", "/api/v1/series", url.Values{"match[]": {"requests_total"}, "start": {unix(time.Hour)}, "end": {unix(0)}}, 200, `[]`, ""},
		{"series empty matcher", "/api/v1/series", url.Values{"match[]": {`{code=""}`}}, 400, `invalid parameter "match[]": match[] must contain at least one non-empty matcher`, "bad_data"},
		{"series bad match named", "/api/v1/series", url.Values{"match[]": {`{`}}, 400, `invalid parameter "match[]": 1:2: parse error: unexpected end of input inside braces`, "bad_data"},
		{"labels bad match", "/api/v1/labels", url.Values{"match[]": {`{`}}, 400, `1:2: parse error: unexpected end of input inside braces`, "bad_data"},
		{"labels bad start", "/api/v1/labels", url.Values{"start": {"yesterday"}}, 400, `invalid parameter "start": invalid time value for 'start': cannot parse "yesterday" to a valid timestamp`, "bad_data"},
		{"labels bad limit", "/api/v1/labels", url.Values{"limit": {"x"}}, 400, `invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax`, "bad_data"},
		{"label values negative limit", "/api/v1/label/job/values", url.Values{"limit": {"-1"}}, 400, `invalid parameter "limit": limit must be non-negative`, "bad_data"},
		{"label values none", "/api/v1/label/job/values", url.Values{"match[]": {"nonexistent"}}, 200, `[]`, ""},
		{"inverted prefixed", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(time.Hour)}, "end": {unix(0)}, "step": {"15s"}}, 400, `invalid parameter "end": end timestamp must not be before start time`, "bad_data"},
		{"step 0 prefixed", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {unix(0)}, "end": {unix(time.Hour)}, "step": {"0"}}, 400, `invalid parameter "step": zero or negative`, "bad_data"},
		{"exemplars", "/api/v1/query_exemplars", url.Values{"query": {"requests_total"}}, 200, `[]`, ""},
		{"exemplars bad query", "/api/v1/query_exemplars", url.Values{"query": {"sum("}}, 400, "unclosed left parenthesis", "bad_data"},
		{"exemplars inverted", "/api/v1/query_exemplars", url.Values{"query": {"up"}, "start": {unix(time.Hour)}, "end": {unix(0)}}, 400, "end timestamp must not be before start timestamp", "bad_data"},
		{"format query", "/api/v1/format_query", url.Values{"query": {"sum(rate(up[5m]))by(job)"}}, 200, `"sum by (job) (rate(up[5m]))"`, ""},
		{"format bad query", "/api/v1/format_query", url.Values{"query": {"sum("}}, 400, `invalid parameter "query": 1:5: parse error: unclosed left parenthesis`, "bad_data"},
		{"metadata limit 0", "/api/v1/metadata", url.Values{"limit": {"0"}}, 200, `{}`, ""},
		{"metadata one metric", "/api/v1/metadata", url.Values{"metric": {"requests_total"}}, 200, `{"requests_total":[{"type":"counter"`, ""},
		{"metadata unknown metric", "/api/v1/metadata", url.Values{"metric": {"nonexistent"}}, 200, `{}`, ""},
		{"metadata bad limit_per_metric", "/api/v1/metadata", url.Values{"limit_per_metric": {"x"}}, 400, "limit_per_metric must be a number", "bad_data"},
		// Prometheus answers unknown paths in plain text; this is its envelope and not_found type.
		{"unknown endpoint", "/api/v1/nope", url.Values{}, 404, "unknown API endpoint /api/v1/nope", "not_found"},
	}
	for _, tc := range tests {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tc.name+" "+method, func(t *testing.T) {
				code, r := call(t, srv, method, tc.path, tc.params)
				if code != tc.code {
					t.Fatalf("status %d, want %d (%+v)", code, tc.code, r)
				}
				if tc.errType == "" {
					if r.Status != "success" || !strings.Contains(string(r.Data), tc.want) || r.Warnings != nil {
						t.Fatalf("got %s %s, want data containing %s", r.Status, r.Data, tc.want)
					}
					return
				}
				if r.Status != "error" || r.ErrorType != tc.errType || !strings.Contains(r.Error, tc.want) {
					t.Fatalf("got %+v, want %s error containing %q", r, tc.errType, tc.want)
				}
			})
		}
	}
}

// writeRequest encodes series as a remote-write 1.0 body.
func writeRequest(t *testing.T, ts []prompb.TimeSeries) []byte {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func postWrite(t *testing.T, srv *httptest.Server, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/write", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func TestRemoteWrite(t *testing.T) {
	srv, _ := apiServer(t)
	ms := t0.Add(6 * time.Minute).UnixMilli()
	series := func(v float64, at int64) []prompb.TimeSeries {
		return []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "pushed"}, {Name: "agent", Value: "alloy"}},
			Samples: []prompb.Sample{{Value: v, Timestamp: at}},
		}}
	}
	tests := []struct {
		name string
		body []byte
		code int
		msg  string
	}{
		{"good", writeRequest(t, series(42, ms)), http.StatusNoContent, ""},
		{"same sample again", writeRequest(t, series(42, ms)), http.StatusNoContent, ""},
		{"duplicate timestamp, other value", writeRequest(t, series(7, ms)), http.StatusBadRequest, "duplicate sample for timestamp"},
		{"out of order", writeRequest(t, series(1, ms-60_000)), http.StatusBadRequest, "out of order sample"},
		{"not snappy", []byte("definitely not snappy"), http.StatusBadRequest, "corrupt input"},
		{"not protobuf", snappy.Encode(nil, []byte("\xff\xff\xff garbage")), http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := postWrite(t, srv, tc.body)
			if code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", code, msg, tc.code, tc.msg)
			}
		})
	}
	code, r := call(t, srv, http.MethodGet, "/api/v1/query", url.Values{"query": {"pushed"}, "time": {unix(6 * time.Minute)}})
	if code != 200 || !strings.Contains(string(r.Data), `"agent":"alloy"},"value":[1700000360,"42"]`) {
		t.Fatalf("pushed sample not queryable: %d %s", code, r.Data)
	}
}
