package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testApp is the app's handler in front of a stand-in for the service's REST endpoint.
type testApp struct {
	url  string
	rest *restRecorder
}

func startApp(t *testing.T) *testApp {
	t.Helper()
	rr := &restRecorder{}
	sender, _ := newTestSender(t, rr)
	srv := &Server{
		store:  openTestStore(t),
		svc:    sender.svc,
		hub:    "tasklist",
		notify: sender,
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:    time.Now,
	}
	app := httptest.NewServer(srv.Handler())
	t.Cleanup(app.Close)
	return &testApp{url: app.URL, rest: rr}
}

// person is a browser: a cookie jar, signed in as name unless name is "".
func (a *testApp) person(t *testing.T, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if name != "" {
		if status, body := call(t, c, "POST", a.url+"/api/signin", `{"name":"`+name+`"}`, nil); status != 200 {
			t.Fatalf("sign in as %s: %d %s", name, status, body)
		}
	}
	return c
}

// call makes a request and decodes a JSON answer into out when out is not nil.
func call(t *testing.T, c *http.Client, method, url, body string, out any) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// The app's negotiate endpoint, where the SignalR client's withUrl("/api") sends
// POST /api/negotiate?negotiateVersion=1 (@microsoft/signalr dist/esm/HttpConnection.js,
// _getNegotiationResponse), answers {url, accessToken} for the signed-in person; on a
// reconnection the client also sends the previous service token as a Bearer header, which must
// not be refused.
func TestNegotiate(t *testing.T) {
	a := startApp(t)
	ada := a.person(t, "ada")
	var access ClientAccess
	if status, body := call(t, ada, "POST", a.url+"/api/negotiate?negotiateVersion=1", "", &access); status != 200 {
		t.Fatalf("negotiate: %d %s", status, body)
	}
	if !strings.HasSuffix(access.URL, "/client/?hub=tasklist") {
		t.Errorf("url %s", access.URL)
	}
	if c := parseToken(t, access.AccessToken); c["nameid"] != "ada" || c["aud"] != access.URL {
		t.Errorf("claims %v, want nameid ada and aud %s", c, access.URL)
	}

	req, _ := http.NewRequest("POST", a.url+"/api/negotiate?negotiateVersion=1", nil)
	req.Header.Set("Authorization", "Bearer "+access.AccessToken)
	resp, err := ada.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("negotiate with the previous token: %d", resp.StatusCode)
	}

	if status, _ := call(t, a.person(t, ""), "POST", a.url+"/api/negotiate?negotiateVersion=1", "", nil); status != 401 {
		t.Errorf("negotiate without signing in: %d, want 401", status)
	}
}

func TestTasksPushUpdatesAndNotifyTheOwner(t *testing.T) {
	a := startApp(t)
	ada, bob := a.person(t, "ada"), a.person(t, "bob")

	var milk Task
	if status, body := call(t, ada, "POST", a.url+"/api/tasks", `{"title":"  Buy milk "}`, &milk); status != 201 {
		t.Fatalf("add: %d %s", status, body)
	}
	if milk.Title != "Buy milk" || milk.Owner != "ada" || milk.Done {
		t.Errorf("added %+v", milk)
	}
	var own Task
	call(t, ada, "POST", a.url+"/api/tasks", `{"title":"Call mum"}`, &own)

	// bob completes ada's task: ada is told, then everyone gets the update.
	var done Task
	if status, body := call(t, bob, "POST", a.url+"/api/tasks/"+itoa(milk.ID)+"/complete", "", &done); status != 200 {
		t.Fatalf("complete: %d %s", status, body)
	}
	if !done.Done || done.CompletedBy != "bob" {
		t.Errorf("completed %+v", done)
	}
	// Completing it again, or ada completing her own task, tells nobody but the list.
	call(t, ada, "POST", a.url+"/api/tasks/"+itoa(milk.ID)+"/complete", "", nil)
	call(t, ada, "POST", a.url+"/api/tasks/"+itoa(own.ID)+"/complete", "", nil)

	var list []Task
	call(t, bob, "GET", a.url+"/api/tasks", "", &list)
	if len(list) != 2 || !list[0].Done || !list[1].Done || list[1].CompletedBy != "ada" {
		t.Errorf("list %+v", list)
	}

	type push struct{ path, target, args string }
	var got []push
	for _, r := range a.rest.requests() {
		args, _ := json.Marshal(r.body["arguments"])
		got = append(got, push{r.path, r.body["target"].(string), string(args)})
	}
	byID := map[int64]Task{}
	for _, t := range list {
		byID[t.ID] = t
	}
	want := []push{
		{"/api/hubs/tasklist/:send", "taskUpdate", canon(t, []any{milk})},
		{"/api/hubs/tasklist/:send", "taskUpdate", canon(t, []any{own})},
		{"/api/hubs/tasklist/users/ada/:send", "notify", canon(t, []any{Notification{Text: `bob completed your task "Buy milk"`, Task: byID[milk.ID]}})},
		{"/api/hubs/tasklist/:send", "taskUpdate", canon(t, []any{byID[milk.ID]})},
		{"/api/hubs/tasklist/:send", "taskUpdate", canon(t, []any{byID[own.ID]})},
	}
	if len(got) != len(want) {
		t.Fatalf("pushes:\n%v\nwant\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("push %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// canon is v's JSON with object keys sorted, as the captured bodies are re-encoded.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(generic)
	return string(b)
}

func itoa(id int64) string { b, _ := json.Marshal(id); return string(b) }

// A push that fails does not fail the change: the task is stored and pages load the list again
// when they reconnect.
func TestChangeSucceedsWhenThePushFails(t *testing.T) {
	a := startApp(t)
	a.rest.status = http.StatusServiceUnavailable
	ada := a.person(t, "ada")
	if status, body := call(t, ada, "POST", a.url+"/api/tasks", `{"title":"Buy milk"}`, nil); status != 201 {
		t.Fatalf("add: %d %s", status, body)
	}
	var list []Task
	call(t, ada, "GET", a.url+"/api/tasks", "", &list)
	if len(list) != 1 {
		t.Errorf("list %+v, want the task", list)
	}
}

func TestBadRequests(t *testing.T) {
	a := startApp(t)
	ada, nobody := a.person(t, "ada"), a.person(t, "")
	tests := []struct {
		name         string
		c            *http.Client
		method, path string
		body         string
		status       int
		err          string
	}{
		{"list without signing in", nobody, "GET", "/api/tasks", "", 401, "sign in first"},
		{"add without signing in", nobody, "POST", "/api/tasks", `{"title":"x"}`, 401, "sign in first"},
		{"me without signing in", nobody, "GET", "/api/me", "", 401, "sign in first"},
		{"bad name", nobody, "POST", "/api/signin", `{"name":"a/b"}`, 400, "a name is"},
		{"empty name", nobody, "POST", "/api/signin", `{"name":""}`, 400, "a name is"},
		{"empty title", ada, "POST", "/api/tasks", `{"title":"   "}`, 400, "a title is"},
		{"long title", ada, "POST", "/api/tasks", `{"title":"` + strings.Repeat("é", maxTitleLength+1) + `"}`, 400, "a title is"},
		{"not JSON", ada, "POST", "/api/tasks", `title=x`, 400, "invalid JSON body"},
		{"unknown field", ada, "POST", "/api/tasks", `{"title":"x","owner":"bob"}`, 400, "invalid JSON body"},
		{"too big", ada, "POST", "/api/tasks", `{"title":"` + strings.Repeat("x", 5000) + `"}`, 400, "invalid JSON body"},
		{"missing task", ada, "POST", "/api/tasks/42/complete", "", 404, "no such task"},
		{"bad id", ada, "POST", "/api/tasks/x/complete", "", 404, "no such task"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, tc.c, tc.method, a.url+tc.path, tc.body, nil)
			var e struct{ Error string }
			_ = json.Unmarshal([]byte(body), &e)
			if status != tc.status || !strings.HasPrefix(e.Error, tc.err) {
				t.Errorf("%d %s, want %d and an error starting %q", status, body, tc.status, tc.err)
			}
		})
	}
	if n := len(a.rest.requests()); n != 0 {
		t.Errorf("%d pushes after refused requests, want none", n)
	}
}

func TestPageIsServed(t *testing.T) {
	a := startApp(t)
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		status, body := call(t, a.person(t, ""), "GET", a.url+p, "", nil)
		if status != 200 || body == "" {
			t.Errorf("GET %s: %d", p, status)
		}
	}
}

func TestSignInAndOut(t *testing.T) {
	a := startApp(t)
	ada := a.person(t, "ada")
	var me struct{ Name string }
	if status, _ := call(t, ada, "GET", a.url+"/api/me", "", &me); status != 200 || me.Name != "ada" {
		t.Errorf("me: %d %+v", status, me)
	}
	if status, _ := call(t, ada, "POST", a.url+"/api/signout", "", nil); status != 204 {
		t.Errorf("sign out: %d", status)
	}
	if status, _ := call(t, ada, "GET", a.url+"/api/me", "", nil); status != 401 {
		t.Errorf("me after signing out: %d, want 401", status)
	}
}
