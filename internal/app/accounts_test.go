package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// browser is an HTTP client with its own cookies, like one person's browser.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path, body string) (int, string, http.Header) {
	b.t.Helper()
	return b.doWith(method, path, body, "application/json")
}

// doWith sends body, when there is one, as contentType.
func (b *browser) doWith(method, path, body, contentType string) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

func (b *browser) expect(method, path, body string, status int) string {
	b.t.Helper()
	code, resp, _ := b.do(method, path, body)
	if code != status {
		b.t.Fatalf("%s %s: %d %s, want %d", method, path, code, resp, status)
	}
	return resp
}

// The first administrator signs in, creates a viewer; the viewer can watch a dashboard (its
// negotiated token connects to the hub) but administers nothing.
func TestAccountsEndToEnd(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			cfg := config.Config{}
			if engine == "postgres" {
				cfg.Postgres.URL = storetest.PostgresURL(t)
			}
			srv := apptest.Start(t, cfg)

			anon := newBrowser(t, srv.URL)
			if code, _, h := anon.do("GET", "/", ""); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
				t.Fatalf("anonymous home: %d to %q, want a redirect to the login page", code, h.Get("Location"))
			}
			anon.expect("GET", "/login", "", 200)
			anon.expect("GET", "/api/negotiate?dashboard=ops", "", 401)
			anon.expect("POST", "/api/login", `{"user":"admin","password":"wrong password!"}`, 401)

			admin := newBrowser(t, srv.URL)
			admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
			if conn := admin.expect("GET", "/api/connection-string", "", 200); !strings.Contains(conn, "AccessKey=") {
				t.Fatal("the administrator does not get the connection string")
			}
			var vera struct{ ID string }
			_ = json.Unmarshal([]byte(admin.expect("POST", "/api/users", `{"login":"vera","name":"Vera","role":"viewer","password":"vera's long password"}`, 201)), &vera)
			for _, uid := range []string{"ops", "db"} {
				admin.expect("POST", "/api/dashboards", `{"uid":"`+uid+`","title":"`+uid+`"}`, 201)
			}
			// Vera edits one dashboard and only watches the others.
			admin.expect("PUT", "/api/dashboards/ops/permissions/"+vera.ID, `{"role":"editor"}`, 204)

			viewer := newBrowser(t, srv.URL)
			viewer.expect("POST", "/api/login", `{"user":"vera","password":"vera's long password"}`, 200)
			var me struct{ Login, Role string }
			_ = json.Unmarshal([]byte(viewer.expect("GET", "/api/me", "", 200)), &me)
			if me.Login != "vera" || me.Role != "viewer" {
				t.Fatalf("/api/me = %+v", me)
			}
			viewer.expect("GET", "/api/connection-string", "", 403)
			viewer.expect("GET", "/api/users", "", 403)
			viewer.expect("POST", "/api/users", `{"login":"eve","role":"admin","password":"a very long password"}`, 403)

			var neg struct{ URL, UserID, Role, CollabGroup string }
			_ = json.Unmarshal([]byte(viewer.expect("GET", "/api/negotiate?dashboard=ops", "", 200)), &neg)
			if neg.UserID != "vera" || neg.Role != "editor" || neg.CollabGroup != "dash.ops.collab" {
				t.Fatalf("negotiate = %+v, want vera as editor of ops", neg)
			}
			viewer.expect("GET", "/api/negotiate?dashboard=nowhere", "", 404) // no token for groups nobody serves
			var other struct{ Role string }
			_ = json.Unmarshal([]byte(viewer.expect("GET", "/api/negotiate?dashboard=db", "", 200)), &other)
			if other.Role != "viewer" {
				t.Fatalf("vera's role on another dashboard is %q, want viewer", other.Role)
			}
			viewer.expect("PUT", "/api/dashboards/ops/permissions/"+vera.ID, `{"role":"admin"}`, 403)
			d := websocket.Dialer{Subprotocols: []string{"json.reliable.webpubsub.azure.v1"}}
			ws, _, err := d.Dial(neg.URL, nil)
			if err != nil {
				t.Fatalf("the negotiated URL does not connect: %v", err)
			}
			defer ws.Close()
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			var connected map[string]any
			if err := ws.ReadJSON(&connected); err != nil || connected["userId"] != "vera" {
				t.Fatalf("connected message %v (%v)", connected, err)
			}

			viewer.expect("POST", "/api/logout", "", 204)
			viewer.expect("GET", "/api/me", "", 401)
		})
	}
}

// A user of the identity provider lands in huddle with the role their groups map to. The server
// listens on a port of the system's choosing and sets no public URL: the redirect URL it gives
// the provider names the port it was given.
func TestOIDCLogin(t *testing.T) {
	idp, err := oidctest.New(oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	srv := apptest.Start(t, config.Config{OIDC: config.OIDC{
		Name: "Dex", Issuer: idp.URL, ClientID: "huddle", ClientSecret: "s3cret",
		RoleMapping: map[string]string{"sre": "editor"},
	}})
	idp.AddClient(oidctest.Client{ID: "huddle", Secret: "s3cret", RedirectURIs: []string{srv.URL + "/login/oidc/callback"}})
	if page := newBrowser(t, srv.URL).expect("GET", "/login", "", 200); !strings.Contains(page, "Dex") {
		t.Fatal("the login page does not offer the identity provider")
	}

	idp.SetNextUser(oidctest.Claims{Subject: "u-42", PreferredUsername: "grace", Name: "Grace", Groups: []string{"sre"}})
	b := newBrowser(t, srv.URL)
	// Follow the redirects by hand: huddle → provider → huddle's callback → home.
	next := srv.URL + "/login/oidc"
	for range 5 {
		resp, err := b.c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			break
		}
		if strings.HasPrefix(loc, "/") {
			loc = srv.URL + loc
		}
		if loc == srv.URL+"/" {
			break
		}
		if strings.Contains(loc, "/login?error") {
			t.Fatalf("single sign-on failed: redirected to %s", loc)
		}
		next = loc
	}
	var me struct{ Login, Name, Role string }
	_ = json.Unmarshal([]byte(b.expect("GET", "/api/me", "", 200)), &me)
	if me.Login != "grace" || me.Name != "Grace" || me.Role != "editor" {
		t.Fatalf("/api/me after single sign-on = %+v, want grace, Grace, editor", me)
	}
}

// An https public URL makes the session cookie Secure although the proxy in front, like nginx
// by default, does not say that the request came over HTTPS.
func TestHTTPSPublicURLMakesCookieSecure(t *testing.T) {
	for url, secure := range map[string]bool{"https://huddle.example.com": true, "http://huddle.example.lan:8080": false} {
		t.Run(url, func(t *testing.T) {
			srv := apptest.Start(t, config.Config{PublicURL: url})
			b := newBrowser(t, srv.URL)
			code, body, h := b.do("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`)
			if code != http.StatusOK {
				t.Fatalf("login: %d %s", code, body)
			}
			resp := http.Response{Header: h}
			cookies := resp.Cookies()
			if len(cookies) != 1 || cookies[0].Secure != secure {
				t.Fatalf("cookies %+v, want one with Secure %v", cookies, secure)
			}
		})
	}
}
