package webpubsub

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
	"github.com/huddle-dev/huddle/internal/testkit"
	"github.com/huddle-dev/huddle/internal/webpubsub/upstream"
)

// call makes a REST request signed the way @azure/web-pubsub signs it: aud is the request URL.
func (ts *testServer) call(method, pathAndQuery, contentType, body string) *http.Response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+pathAndQuery, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	tok, err := ts.keys.SignClientToken(ts.url+pathAndQuery, accesskey.ClientClaims{}, time.Now())
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRESTErrors(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxMessageBytes: 1024})
	const v = "?api-version=2024-12-01"
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"missing api-version", "POST", "/api/hubs/chat/:send", "text/plain", "hi", 400, "UnsupportedApiVersion"},
		{"unknown api-version", "POST", "/api/hubs/chat/:send?api-version=1999-01-01", "text/plain", "hi", 400, "UnsupportedApiVersion"},
		{"bad hub name", "POST", "/api/hubs/1chat/:send" + v, "text/plain", "hi", 400, "InvalidRequest"},
		{"bad filter", "POST", "/api/hubs/chat/:send" + v + "&filter=userId%20eq", "text/plain", "hi", 400, "InvalidRequest"},
		{"sql-ish filter", "POST", "/api/hubs/chat/:send" + v + "&filter=userId%20eq%20'x'%3B%20DROP%20TABLE%20users", "text/plain", "hi", 400, "InvalidRequest"},
		{"unknown field in filter", "POST", "/api/hubs/chat/:send" + v + "&filter=password%20eq%20'x'", "text/plain", "hi", 400, "InvalidRequest"},
		{"bad ttl", "POST", "/api/hubs/chat/:send" + v + "&messageTtlSeconds=301", "text/plain", "hi", 400, "InvalidRequest"},
		{"unsupported content type", "POST", "/api/hubs/chat/:send" + v, "application/xml", "<a/>", 415, "UnsupportedMediaType"},
		{"broken JSON", "POST", "/api/hubs/chat/:send" + v, "application/json", "{\"a\":", 400, "InvalidRequest"},
		{"too large", "POST", "/api/hubs/chat/:send" + v, "text/plain", strings.Repeat("x", 2000), 413, "PayloadTooLarge"},
		{"huge group name", "POST", "/api/hubs/chat/groups/" + strings.Repeat("g", 1100) + "/:send" + v, "text/plain", "hi", 400, "InvalidRequest"},
		{"unknown permission", "PUT", "/api/hubs/chat/permissions/admin/connections/c1" + v, "", "", 400, "InvalidRequest"},
		{"add unknown connection to group", "PUT", "/api/hubs/chat/groups/g/connections/nobody" + v, "", "", 404, "NotFound"},
		{"addToGroups without groups", "POST", "/api/hubs/chat/:addToGroups" + v, "application/json", `{"filter":"userId eq 'a'"}`, 400, "InvalidRequest"},
		{"addToGroups broken body", "POST", "/api/hubs/chat/:addToGroups" + v, "application/json", `{"groups":`, 400, "InvalidRequest"},
		{"bad page size", "GET", "/api/hubs/chat/groups/g/connections" + v + "&maxpagesize=0", "", "", 400, "InvalidRequest"},
		{"bad token lifetime", "POST", "/api/hubs/chat/:generateToken" + v + "&minutesToExpire=0", "", "", 400, "InvalidRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ts.call(tc.method, tc.path, tc.contentType, tc.body)
			var body struct{ Code, Message string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || body.Code != tc.code || body.Message == "" {
				t.Fatalf("got %d %+v, want %d %s with a message", resp.StatusCode, body, tc.status, tc.code)
			}
			if resp.Header.Get("x-ms-error-code") != tc.code {
				t.Fatalf("x-ms-error-code %q, want %q", resp.Header.Get("x-ms-error-code"), tc.code)
			}
			if tc.code == "UnsupportedApiVersion" && resp.Header.Get("api-supported-versions") == "" {
				t.Fatal("no api-supported-versions header")
			}
		})
	}
}

func TestRESTUnauthorized(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	path := "/api/hubs/chat/:send?api-version=2024-12-01"
	other := accesskey.Keys{Primary: "another-key-0123456789abcdefghijklmnopqrstu"}
	wrongKey, _ := other.SignClientToken(ts.url+path, accesskey.ClientClaims{}, time.Now())
	wrongPath, _ := ts.keys.SignClientToken(ts.url+"/api/hubs/other/:send", accesskey.ClientClaims{}, time.Now())
	for name, auth := range map[string]string{
		"none": "", "not bearer": "Basic abc", "wrong key": "Bearer " + wrongKey, "token for another URL": "Bearer " + wrongPath,
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader("hi"))
			req.Header.Set("Content-Type", "text/plain")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"Unauthorized"`) {
				t.Fatalf("got %d %s, want 401 Unauthorized", resp.StatusCode, b)
			}
		})
	}
}

func TestRESTSendAndMembership(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	const v = "?api-version=2024-12-01"
	ada := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "ada"})
	bob := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "bob"})

	expect := func(t *testing.T, resp *http.Response, status int) {
		t.Helper()
		if resp.StatusCode != status {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d %s, want %d", resp.StatusCode, b, status)
		}
	}
	expect(t, ts.call("PUT", "/api/hubs/chat/groups/ops/connections/"+ada.connectionID+v, "", ""), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/groups/ops"+v, "", ""), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/groups/empty"+v, "", ""), 404)
	expect(t, ts.call("HEAD", "/api/hubs/chat/users/bob"+v, "", ""), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/connections/"+bob.connectionID+v, "", ""), 200)

	expect(t, ts.call("POST", "/api/hubs/chat/groups/ops/:send"+v, "application/json", `{"alert":1}`), 202)
	if m := ada.next(); m["from"] != "group" || m["group"] != "ops" || m["dataType"] != "json" || m["data"].(map[string]any)["alert"] != float64(1) {
		t.Fatalf("ada got %v", m)
	}
	expect(t, ts.call("POST", "/api/hubs/chat/:send"+v+"&filter=userId%20eq%20'bob'", "text/plain", "only bob"), 202)
	if m := bob.next(); m["data"] != "only bob" || m["dataType"] != "text" {
		t.Fatalf("bob got %v", m)
	}
	expect(t, ts.call("POST", "/api/hubs/chat/:send"+v+"&excluded="+bob.connectionID, "application/octet-stream", "\x01\x02"), 202)
	if m := ada.next(); m["data"] != "AQI=" || m["dataType"] != "binary" {
		t.Fatalf("ada got %v", m)
	}
	// bob was excluded from the binary message, so the next thing he receives is this one.
	expect(t, ts.call("POST", "/api/hubs/chat/users/bob/:send"+v, "text/plain", "to bob"), 202)
	if m := bob.next(); m["data"] != "to bob" {
		t.Fatalf("bob got %v", m)
	}

	expect(t, ts.call("PUT", "/api/hubs/chat/permissions/sendToGroup/connections/"+bob.connectionID+v+"&targetName=ops", "", ""), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/permissions/sendToGroup/connections/"+bob.connectionID+v+"&targetName=ops", "", ""), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/permissions/sendToGroup/connections/"+bob.connectionID+v+"&targetName=other", "", ""), 404)
	bob.send(map[string]any{"type": "sendToGroup", "group": "ops", "data": "from bob", "dataType": "text", "ackId": 1})
	if m := bob.next(); m["success"] != true {
		t.Fatalf("bob's ack %v", m)
	}
	if m := ada.next(); m["data"] != "from bob" || m["fromUserId"] != "bob" || m["group"] != "ops" {
		t.Fatalf("ada got %v", m)
	}
	expect(t, ts.call("DELETE", "/api/hubs/chat/permissions/sendToGroup/connections/"+bob.connectionID+v+"&targetName=ops", "", ""), 204)
	expect(t, ts.call("HEAD", "/api/hubs/chat/permissions/sendToGroup/connections/"+bob.connectionID+v+"&targetName=ops", "", ""), 404)

	expect(t, ts.call("POST", "/api/hubs/chat/:addToGroups"+v, "application/json", `{"groups":["night"],"filter":"userId eq 'bob'"}`), 200)
	expect(t, ts.call("HEAD", "/api/hubs/chat/groups/night"+v, "", ""), 200)
	expect(t, ts.call("DELETE", "/api/hubs/chat/users/bob/groups"+v, "", ""), 204)
	expect(t, ts.call("HEAD", "/api/hubs/chat/groups/night"+v, "", ""), 404)

	expect(t, ts.call("DELETE", "/api/hubs/chat/connections/"+bob.connectionID+v+"&reason=bye", "", ""), 204)
	if m := bob.next(); m["type"] != "system" || m["event"] != "disconnected" || m["message"] != "Application server closed the connection. Reason: bye" {
		t.Fatalf("bob got %v, want the disconnected message", m)
	}
	if code := bob.closeCode(); code != pubsub.CloseNormal {
		t.Fatalf("close code %d", code)
	}
	expect(t, ts.call("HEAD", "/api/hubs/chat/users/bob"+v, "", ""), 404)
}

// An app server's message to a group reaches the members it selects as a group message without a
// sender, as the service's schema describes it: "from":"group" "could be from client pub/sub or
// from the sendToGroup REST API call", and fromUserId, when present, is a string (Azure/azure-webpubsub,
// protocols/json.webpubsub.azure.v1/webpubsub.v1.response.json).
func TestRESTGroupSendIsGroupMessage(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	const v = "?api-version=2024-12-01"
	members := map[string]*testClient{}
	for _, u := range []string{"ada", "bob", "cy"} {
		members[u] = ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: u, Groups: []string{"ops"}})
	}
	reliable := ts.dial("chat", ProtocolReliableJSON, accesskey.ClientClaims{UserID: "dee", Groups: []string{"ops"}})
	outsider := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "eve"})

	send := func(query, ct, body string) {
		t.Helper()
		if resp := ts.call("POST", "/api/hubs/chat/groups/ops/:send"+v+query, ct, body); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("group send%s: status %d", query, resp.StatusCode)
		}
	}
	send("", "text/plain", "all")
	send("&excluded="+members["bob"].connectionID, "application/json", `{"n":2}`)
	send("&filter=userId%20ne%20'ada'", "application/octet-stream", "\x03")
	// Reaches every connection, so that what came before it has been read once it is.
	if resp := ts.call("POST", "/api/hubs/chat/:send"+v, "text/plain", "fence"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("fence: status %d", resp.StatusCode)
	}

	want := map[string][]any{
		"ada": {"all", map[string]any{"n": 2.0}},
		"bob": {"all", "Aw=="},
		"cy":  {"all", map[string]any{"n": 2.0}, "Aw=="},
		"dee": {"all", map[string]any{"n": 2.0}, "Aw=="},
	}
	members["dee"] = reliable
	for u, c := range members {
		var got []any
		for {
			m := c.next()
			if m["data"] == "fence" {
				break
			}
			if m["type"] != "message" || m["from"] != "group" || m["group"] != "ops" {
				t.Errorf("%s got %v, want a message from group ops", u, m)
			}
			if _, ok := m["fromUserId"]; ok {
				t.Errorf("%s got %v, want no fromUserId", u, m)
			}
			got = append(got, m["data"])
		}
		if !jsonEqual(got, want[u]) {
			t.Errorf("%s received %v, want %v", u, got, want[u])
		}
	}
	if m := outsider.next(); m["data"] != "fence" || m["from"] != "server" {
		t.Errorf("the outsider got %v, want only the fence, from server", m)
	}
}

// A REST close tells the client and the event handler the same reason, in the service's words:
// "Application server closed the connection. Reason: <reason>" (Azure/azure-sdk-for-js,
// sdk/web-pubsub/web-pubsub/README.md, "Close connections"), and without a reason the first
// sentence alone, as Microsoft's Web PubSub emulator answers it (its RestApiTests,
// AssertAppServerCloseAsync).
func TestRESTCloseReason(t *testing.T) {
	events := make(chan string, 16)
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			return
		}
		var body struct {
			Reason string `json:"reason"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		events <- r.Header.Get("ce-eventName") + ": " + body.Reason
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(handler.Close)
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) {
		o.EventHandlers = map[string][]upstream.Handler{
			"chat": {{URLTemplate: handler.URL + "/{event}", SystemEvents: []string{"disconnected"}}},
		}
	})
	const v = "?api-version=2024-12-01"
	tests := []struct {
		name, method, path, reason, want string
	}{
		{"closeConnection", "DELETE", "/api/hubs/chat/connections/{id}", "bye",
			"Application server closed the connection. Reason: bye"},
		{"closeConnection without a reason", "DELETE", "/api/hubs/chat/connections/{id}", "",
			"Application server closed the connection."},
		{"closeAllConnections", "POST", "/api/hubs/chat/:closeConnections", "maintenance + & / 你好",
			"Application server closed the connection. Reason: maintenance + & / 你好"},
		{"closeGroupConnections", "POST", "/api/hubs/chat/groups/ops/:closeConnections", "room closed",
			"Application server closed the connection. Reason: room closed"},
		{"closeUserConnections", "POST", "/api/hubs/chat/users/ada/:closeConnections", "",
			"Application server closed the connection."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "ada", Groups: []string{"ops"}})
			q := v
			if tt.reason != "" {
				q += "&reason=" + url.QueryEscape(tt.reason)
			}
			if resp := ts.call(tt.method, strings.ReplaceAll(tt.path, "{id}", c.connectionID)+q, "", ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			if m := c.next(); m["type"] != "system" || m["event"] != "disconnected" || m["message"] != tt.want {
				t.Errorf("client got %v, want the disconnected message %q", m, tt.want)
			}
			if code := c.closeCode(); code != pubsub.CloseNormal {
				t.Errorf("close code %d, want %d", code, pubsub.CloseNormal)
			}
			select {
			case got := <-events:
				if got != "disconnected: "+tt.want {
					t.Errorf("event handler got %q, want the disconnected event with reason %q", got, tt.want)
				}
			case <-time.After(testkit.WaitTimeout):
				t.Fatal("no disconnected event")
			}
		})
	}
}

func TestRESTGroupListingPages(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	const n = 5
	for range n {
		ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Groups: []string{"g"}})
	}
	seen := map[string]bool{}
	next := "/api/hubs/chat/groups/g/connections?api-version=2024-12-01&maxpagesize=2"
	for pages := 0; next != ""; pages++ {
		if pages > n {
			t.Fatal("listing does not end")
		}
		resp := ts.call("GET", next, "", "")
		var page struct {
			Value    []pubsub.Member
			NextLink string
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		if len(page.Value) > 2 {
			t.Fatalf("page of %d, want at most 2", len(page.Value))
		}
		for _, m := range page.Value {
			if seen[m.ConnectionID] {
				t.Fatalf("%s listed twice", m.ConnectionID)
			}
			seen[m.ConnectionID] = true
		}
		next = strings.TrimPrefix(page.NextLink, ts.url)
	}
	if len(seen) != n {
		t.Fatalf("listed %d connections, want %d", len(seen), n)
	}
}
