package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testKey = "test-access-key"

// parseToken checks tok's HS256 signature with testKey and returns its claims.
func parseToken(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(testKey), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("token %s: %v", tok, err)
	}
	return claims
}

// The negotiate answer is {"url","accessToken"}, the url {endpoint}/client/?hub={hub}, the
// token's aud "the same as url" and the user in nameid (Microsoft Learn, "Azure SignalR Service
// data-plane REST API reference", Implement the negotiation endpoint; and
// azure-sdk-for-net Microsoft.Azure.WebJobs.Extensions.SignalRService, SignalRConnectionInfo).
func TestClientAccess(t *testing.T) {
	svc, err := ParseConnectionString("Endpoint=http://127.0.0.1:8080;AccessKey=" + testKey + ";Version=1.0;")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	access, err := svc.ClientAccess("TaskList", "ada", now)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://127.0.0.1:8080/client/?hub=tasklist"; access.URL != want {
		t.Errorf("url = %s, want %s", access.URL, want)
	}
	c := parseToken(t, access.AccessToken)
	if c["aud"] != access.URL {
		t.Errorf("aud = %v, want the url %s", c["aud"], access.URL)
	}
	if c["nameid"] != "ada" {
		t.Errorf("nameid = %v, want ada", c["nameid"])
	}
	if exp, _ := c.GetExpirationTime(); exp == nil || !exp.After(now) {
		t.Errorf("exp = %v, want after now", exp)
	}
	b, _ := json.Marshal(access)
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	if len(fields) != 2 || fields["url"] == nil || fields["accessToken"] == nil {
		t.Errorf("negotiate answer %s, want exactly url and accessToken", b)
	}
}

func TestClientAccessUsesClientEndpoint(t *testing.T) {
	svc, err := ParseConnectionString("Endpoint=http://internal;ClientEndpoint=https://public.example;AccessKey=k;Version=1.0;")
	if err != nil {
		t.Fatal(err)
	}
	access, err := svc.ClientAccess("tasklist", "ada", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://public.example/client/?hub=tasklist"; access.URL != want {
		t.Errorf("url = %s, want %s", access.URL, want)
	}
}

// captured is one request the stand-in for the service's REST endpoint received.
type captured struct {
	method, path, rawPath, query, contentType string
	claims                                    jwt.MapClaims
	body                                      map[string]any
}

// restRecorder stands in for the service's REST endpoint: it records each request and answers
// with status (202, as the 2022-06-01 send operations do) and body.
type restRecorder struct {
	mu     sync.Mutex
	got    []captured
	status int
	body   string
	header http.Header
}

func (rr *restRecorder) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := captured{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery, contentType: r.Header.Get("Content-Type")}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			t.Errorf("%s %s: no Bearer token", r.Method, r.URL)
		} else {
			c.claims = parseToken(t, tok)
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &c.body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		rr.mu.Lock()
		rr.got = append(rr.got, c)
		status, body := rr.status, rr.body
		for k, v := range rr.header {
			w.Header()[k] = v
		}
		rr.mu.Unlock()
		if status == 0 {
			status = http.StatusAccepted
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (rr *restRecorder) requests() []captured {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]captured(nil), rr.got...)
}

func newTestSender(t *testing.T, rr *restRecorder) (*Sender, string) {
	t.Helper()
	srv := rr.start(t)
	svc, err := ParseConnectionString("Endpoint=" + srv.URL + ";AccessKey=" + testKey + ";Version=1.0;")
	if err != nil {
		t.Fatal(err)
	}
	return NewSender(svc, "TaskList", srv.Client()), srv.URL
}

// The 2022-06-01 send operations: POST /api/hubs/{hub}/:send and
// /api/hubs/{hub}/users/{user}/:send with ?api-version=2022-06-01, a JSON body
// {"target","arguments"}, and a Bearer JWT (HS256 with the access key) whose aud is the request
// URL without the query (Azure/azure-signalr docs/swagger/V20220601.json; Microsoft Learn,
// "Azure SignalR Service data-plane REST API reference", Authenticate via AccessKey).
func TestSenderRequests(t *testing.T) {
	var rr restRecorder
	s, base := newTestSender(t, &rr)
	ctx := context.Background()
	if err := s.Broadcast(ctx, "taskUpdate", map[string]any{"id": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SendToUser(ctx, "ada.l", "notify", "hello", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Broadcast(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	got := rr.requests()
	want := []struct {
		path string
		body string
	}{
		{"/api/hubs/tasklist/:send", `{"arguments":[{"id":1}],"target":"taskUpdate"}`},
		{"/api/hubs/tasklist/users/ada.l/:send", `{"arguments":["hello",2],"target":"notify"}`},
		{"/api/hubs/tasklist/:send", `{"arguments":[],"target":"ping"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.method != http.MethodPost || g.path != w.path || g.query != "api-version=2022-06-01" {
			t.Errorf("request %d: %s %s?%s, want POST %s?api-version=2022-06-01", i, g.method, g.path, g.query, w.path)
		}
		if g.contentType != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, g.contentType)
		}
		if b, _ := json.Marshal(g.body); string(b) != w.body {
			t.Errorf("request %d: body %s, want %s", i, b, w.body)
		}
		if aud := base + w.path; g.claims["aud"] != aud {
			t.Errorf("request %d: aud %v, want %s", i, g.claims["aud"], aud)
		}
	}
}

func TestSendToUserEscapesTheUser(t *testing.T) {
	var rr restRecorder
	s, base := newTestSender(t, &rr)
	if err := s.SendToUser(context.Background(), "a b/c", "notify"); err != nil {
		t.Fatal(err)
	}
	g := rr.requests()[0]
	if want := "/api/hubs/tasklist/users/a%20b%2Fc/:send"; g.rawPath != want {
		t.Errorf("path %s, want %s", g.rawPath, want)
	}
	if want := base + "/api/hubs/tasklist/users/a%20b%2Fc/:send"; g.claims["aud"] != want {
		t.Errorf("aud %v, want %s", g.claims["aud"], want)
	}
}

// A refusal is reported with the service's error form, {"code","message"} and x-ms-error-code
// (Azure/azure-signalr docs/swagger/V20220601.json, ErrorDetail).
func TestSenderReportsServiceErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		header http.Header
		want   string
	}{
		{"error body", 400, `{"code":"InvalidArgument","message":"target is required"}`, nil, "400 Bad Request InvalidArgument: target is required"},
		{"header only", 401, "", http.Header{"X-Ms-Error-Code": {"Unauthorized"}}, "401 Unauthorized Unauthorized"},
		{"nothing", 503, "not json", nil, "503 Service Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := restRecorder{status: tc.status, body: tc.body, header: tc.header}
			s, _ := newTestSender(t, &rr)
			err := s.Broadcast(context.Background(), "taskUpdate")
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("err = %v, want one ending %q", err, tc.want)
			}
		})
	}
}
