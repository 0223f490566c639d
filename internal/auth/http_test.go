package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

type errorJSON struct {
	Error string `json:"error"`
}

func TestHTTPSessionFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		e.user("vera", roles.Viewer)

		w := e.do("POST", "/api/login", map[string]string{"user": "Vera", "password": testPassword})
		me := decode[meJSON](t, w, http.StatusOK)
		if me.Login != "vera" || me.Role != roles.Viewer || me.Name != "Name of vera" || me.ID == "" {
			t.Fatalf("login answer %+v", me)
		}
		c := sessionCookie(t, w)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 7*24*3600 {
			t.Fatalf("cookie %+v", c)
		}
		behindTLS := e.do("POST", "/api/login", map[string]string{"user": "vera", "password": testPassword},
			header("X-Forwarded-Proto", "https"))
		if !sessionCookie(t, behindTLS).Secure {
			t.Fatal("cookie not Secure behind an HTTPS proxy")
		}
		httpsPublic := newEnv(t, sameEngine(t, st), func(o *Options) { o.SecureCookies = true })
		httpsPublic.user("vera", roles.Viewer)
		if c := sessionCookie(t, httpsPublic.do("POST", "/api/login", map[string]string{"user": "vera", "password": testPassword})); !c.Secure {
			t.Fatal("cookie not Secure with SecureCookies")
		}

		if got := decode[meJSON](t, e.do("GET", "/api/me", nil, cookie(c.Value)), http.StatusOK); got != me {
			t.Fatalf("me %+v, want %+v", got, me)
		}

		// Wrong password and locked account.
		for range 4 {
			w := e.do("POST", "/api/login", map[string]string{"user": "root", "password": "wrong password"})
			if body := decode[errorJSON](t, w, http.StatusUnauthorized); body.Error != "invalid login or password" {
				t.Fatalf("bad password answer %q", body.Error)
			}
		}
		w = e.do("POST", "/api/login", map[string]string{"user": "root", "password": "wrong password"})
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "900" {
			t.Fatalf("locked: %d %v %s", w.Code, w.Header(), w.Body)
		}
		w = e.do("POST", "/api/login", map[string]string{"user": "nobody", "password": "wrong password"})
		if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
			t.Fatalf("unknown login: %d %v", w.Code, w.Result().Cookies())
		}

		// Password change: a new cookie for this client, every other session gone.
		other := e.login("vera")
		w = e.do("POST", "/api/me/password", map[string]string{"currentPassword": testPassword, "newPassword": "a whole new password"}, cookie(c.Value))
		if w.Code != http.StatusNoContent {
			t.Fatalf("change password: %d %s", w.Code, w.Body)
		}
		renewed := sessionCookie(t, w).Value
		if e.valid(c.Value) || e.valid(other) || !e.valid(renewed) {
			t.Fatal("password change did not replace the sessions")
		}
		w = e.do("POST", "/api/me/password", map[string]string{"currentPassword": "not it at all", "newPassword": "whatever it is now"}, cookie(renewed))
		if w.Code != http.StatusForbidden {
			t.Fatalf("wrong current password: %d %s", w.Code, w.Body)
		}

		// Logout ends this session only; logout everywhere ends all.
		second := e.loginWith("vera", "a whole new password")
		w = e.do("POST", "/api/logout", nil, cookie(renewed))
		if w.Code != http.StatusNoContent || sessionCookie(t, w).MaxAge >= 0 {
			t.Fatalf("logout: %d %v", w.Code, w.Header())
		}
		if e.valid(renewed) || !e.valid(second) {
			t.Fatal("logout ended the wrong sessions")
		}
		w = e.do("GET", "/api/me", nil, cookie(renewed))
		if w.Code != http.StatusUnauthorized || sessionCookie(t, w).MaxAge >= 0 {
			t.Fatalf("me after logout: %d; the stale cookie must be cleared", w.Code)
		}
		third := e.loginWith("vera", "a whole new password")
		if w := e.do("POST", "/api/logout/all", nil, cookie(second)); w.Code != http.StatusNoContent {
			t.Fatalf("logout all: %d %s", w.Code, w.Body)
		}
		if e.valid(second) || e.valid(third) {
			t.Fatal("logout everywhere left a session")
		}
		got := e.auditActions()
		if !slices.Contains(got, ActionLogout) || got[len(got)-1] != ActionSessionsRevoked {
			t.Fatalf("audit %v", got)
		}
	})
}

func TestHTTPUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		admin := cookie(e.login("root"))

		w := e.do("POST", "/api/users", map[string]string{"login": "Vera", "name": "Vera V.", "email": "vera@example.com",
			"role": "viewer", "password": testPassword}, admin)
		vera := decode[userJSON](t, w, http.StatusCreated)
		if vera.Login != "vera" || vera.Provider != "local" || w.Header().Get("Location") != "/api/users/"+vera.ID {
			t.Fatalf("created %+v %v", vera, w.Header())
		}
		if w := e.do("POST", "/api/users", map[string]string{"login": "vera", "role": "viewer", "password": testPassword}, admin); w.Code != http.StatusConflict {
			t.Fatalf("duplicate: %d %s", w.Code, w.Body)
		}
		if list := decode[[]userJSON](t, e.do("GET", "/api/users", nil, admin), http.StatusOK); len(list) != 2 {
			t.Fatalf("list %+v", list)
		}
		if got := decode[userJSON](t, e.do("GET", "/api/users/"+vera.ID, nil, admin), http.StatusOK); got.Email != "vera@example.com" {
			t.Fatalf("get %+v", got)
		}
		if w := e.do("GET", "/api/users/nope", nil, admin); w.Code != http.StatusNotFound {
			t.Fatalf("get unknown: %d", w.Code)
		}

		veraSession := e.login("vera")
		got := decode[userJSON](t, e.do("PATCH", "/api/users/"+vera.ID, map[string]any{"role": "editor", "name": "V"}, admin), http.StatusOK)
		if got.Role != roles.Editor || got.Name != "V" {
			t.Fatalf("patched %+v", got)
		}
		if me := decode[meJSON](t, e.do("GET", "/api/me", nil, cookie(veraSession)), http.StatusOK); me.Role != roles.Editor {
			t.Fatalf("a role change is not seen at the next request: %+v", me)
		}
		var rootID string
		for _, u := range decode[[]userJSON](t, e.do("GET", "/api/users", nil, admin), http.StatusOK) {
			if u.Login == "root" {
				rootID = u.ID
			}
		}
		w = e.do("PATCH", "/api/users/"+rootID, map[string]any{"role": "viewer"}, admin)
		if body := decode[errorJSON](t, w, http.StatusConflict); body.Error != ErrLastAdmin.Msg {
			t.Fatalf("demote the last admin: %s", body.Error)
		}

		// Locked users show when the lock ends; an admin can unlock them.
		for range 5 {
			e.do("POST", "/api/login", map[string]string{"user": "vera", "password": "wrong password"})
		}
		if u := decode[userJSON](t, e.do("GET", "/api/users/"+vera.ID, nil, admin), http.StatusOK); u.LockedUntil == nil {
			t.Fatal("a locked user is not shown as locked")
		}
		if u := decode[userJSON](t, e.do("PATCH", "/api/users/"+vera.ID, map[string]any{"unlock": true}, admin), http.StatusOK); u.LockedUntil != nil {
			t.Fatal("unlock did not unlock")
		}

		if w := e.do("DELETE", "/api/users/"+vera.ID+"/sessions", nil, admin); w.Code != http.StatusNoContent {
			t.Fatalf("revoke sessions: %d %s", w.Code, w.Body)
		}
		if e.valid(veraSession) {
			t.Fatal("an admin's revocation left the session")
		}
		if w := e.do("PATCH", "/api/users/"+vera.ID, map[string]any{"password": "set by the admin"}, admin); w.Code != http.StatusOK {
			t.Fatalf("password reset: %d %s", w.Code, w.Body)
		}
		if w := e.do("POST", "/api/login", map[string]string{"user": "vera", "password": "set by the admin"}); w.Code != http.StatusOK {
			t.Fatalf("login with the reset password: %d", w.Code)
		}
		if w := e.do("DELETE", "/api/users/"+vera.ID, nil, admin); w.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", w.Code, w.Body)
		}
		if w := e.do("DELETE", "/api/users/"+vera.ID, nil, admin); w.Code != http.StatusNotFound {
			t.Fatalf("delete twice: %d", w.Code)
		}
	})
}

func TestHTTPKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		e.user("vera", roles.Viewer)
		admin, vera := cookie(e.login("root")), cookie(e.login("vera"))

		w := e.do("POST", "/api/keys", map[string]any{"name": "grafana", "scopes": []string{"metrics:read"}, "expiresInDays": 30}, vera)
		created := decode[keyJSON](t, w, http.StatusCreated)
		if !strings.HasPrefix(created.Key, "hud_"+created.Prefix+"_") || created.Role != roles.Viewer || created.Owner != "vera" ||
			created.ExpiresAt == nil || !created.ExpiresAt.Equal(created.CreatedAt.Add(30*24*time.Hour)) {
			t.Fatalf("created %+v", created)
		}
		if w := e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "admin", "scopes": []string{"admin"}}, vera); w.Code != http.StatusForbidden {
			t.Fatalf("key above the owner's role: %d %s", w.Code, w.Body)
		}
		for _, days := range []int{-1, 3651} {
			if w := e.do("POST", "/api/keys", map[string]any{"name": "x", "scopes": []string{"admin"}, "expiresInDays": days}, vera); w.Code != http.StatusBadRequest {
				t.Fatalf("expiresInDays %d: %d", days, w.Code)
			}
		}
		list := decode[[]keyJSON](t, e.do("GET", "/api/keys", nil, vera), http.StatusOK)
		if len(list) != 1 || list[0].Key != "" || list[0].ID != created.ID {
			t.Fatalf("list %+v: the secret must not be listed", list)
		}
		if w := e.do("GET", "/api/keys", nil, bearer(created.Key)); w.Code != http.StatusForbidden {
			t.Fatalf("a key listing keys: %d", w.Code)
		}
		if w := e.do("GET", "/api/keys?all=true", nil, vera); w.Code != http.StatusForbidden {
			t.Fatalf("a viewer listing every key: %d", w.Code)
		}
		if w := e.do("GET", "/api/keys?all=maybe", nil, admin); w.Code != http.StatusBadRequest {
			t.Fatalf("all=maybe: %d", w.Code)
		}
		e.do("POST", "/api/keys", map[string]any{"name": "ci", "scopes": []string{"admin"}}, admin)
		if all := decode[[]keyJSON](t, e.do("GET", "/api/keys?all=true", nil, admin), http.StatusOK); len(all) != 2 {
			t.Fatalf("admin lists %d keys", len(all))
		}
		if own := decode[[]keyJSON](t, e.do("GET", "/api/keys", nil, admin), http.StatusOK); len(own) != 1 || own[0].Owner != "root" {
			t.Fatalf("admin's own keys %+v", own)
		}

		// The key reaches what its scope allows, nothing else.
		if w := e.do("GET", "/api/me", nil, basic("grafana", created.Key)); w.Code != http.StatusOK {
			t.Fatalf("me with the key: %d", w.Code)
		}
		rootKey := decode[keyJSON](t, e.do("POST", "/api/keys", map[string]any{"name": "ops", "scopes": []string{"metrics:read"}}, admin), http.StatusCreated)
		if w := e.do("GET", "/api/users", nil, bearer(rootKey.Key)); w.Code != http.StatusForbidden {
			t.Fatalf("metrics key on users: %d", w.Code)
		}

		// Another user's key is not found for a non-admin; the owner and admins revoke.
		if w := e.do("DELETE", "/api/keys/"+rootKey.ID, nil, vera); w.Code != http.StatusNotFound {
			t.Fatalf("vera revoking root's key: %d", w.Code)
		}
		if w := e.do("DELETE", "/api/keys/"+created.ID, nil, vera); w.Code != http.StatusNoContent {
			t.Fatalf("revoke own: %d %s", w.Code, w.Body)
		}
		if w := e.do("GET", "/api/me", nil, bearer(created.Key)); w.Code != http.StatusUnauthorized {
			t.Fatalf("revoked key: %d", w.Code)
		}
		if w := e.do("DELETE", "/api/keys/"+rootKey.ID, nil, admin); w.Code != http.StatusNoContent {
			t.Fatalf("admin revoke: %d", w.Code)
		}
		if after := decode[[]keyJSON](t, e.do("GET", "/api/keys", nil, vera), http.StatusOK); after[0].RevokedAt == nil {
			t.Fatalf("revoked key listed as %+v", after[0])
		}
	})
}

func TestHTTPAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		e.user("vera", roles.Viewer)
		start := e.clock.Now()
		e.clock.Advance(time.Hour)
		admin := cookie(e.login("root"))
		e.clock.Advance(time.Hour)
		e.do("POST", "/api/login", map[string]string{"user": "vera", "password": "wrong password"})

		all := decode[[]AuditEntry](t, e.do("GET", "/api/audit", nil, admin), http.StatusOK)
		if len(all) != 4 || all[0].Action != ActionLoginFailed || all[3].Action != ActionUserCreated {
			t.Fatalf("audit %+v", all)
		}
		if all[0].RemoteAddr != "192.0.2.1" || string(all[0].Detail) != `{"failures":1,"reason":"wrong password"}` {
			t.Fatalf("failed login entry %+v", all[0])
		}
		q := func(query string) []AuditEntry {
			return decode[[]AuditEntry](t, e.do("GET", "/api/audit?"+query, nil, admin), http.StatusOK)
		}
		if got := q("action=login"); len(got) != 1 || got[0].Actor != "root" {
			t.Fatalf("action=login: %+v", got)
		}
		if got := q("actor=cli"); len(got) != 2 {
			t.Fatalf("actor=cli: %+v", got)
		}
		if got := q("limit=1"); len(got) != 1 || got[0].Action != ActionLoginFailed {
			t.Fatalf("limit=1: %+v", got)
		}
		window := fmt.Sprintf("from=%s&to=%s", start.Add(30*time.Minute).Format(time.RFC3339), start.Add(90*time.Minute).Format(time.RFC3339))
		if got := q(window); len(got) != 1 || got[0].Action != ActionLogin {
			t.Fatalf("%s: %+v", window, got)
		}
		for _, bad := range []string{"from=yesterday", "to=1", "limit=0", "limit=1001", "limit=x"} {
			if w := e.do("GET", "/api/audit?"+bad, nil, admin); w.Code != http.StatusBadRequest {
				t.Errorf("%s: %d", bad, w.Code)
			}
		}
		if got := q("actor=" + "x'%20OR%20'1'='1"); len(got) != 0 {
			t.Fatalf("SQL-ish actor matched %+v", got)
		}
	})
}

func TestCSRF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, func(o *Options) { o.TrustedOrigins = []string{"https://huddle.example.com"} })
		root := e.user("root", roles.Admin)
		session := cookie(e.login("root"))
		key := e.key(root, roles.Admin, roles.ScopeAdmin)
		newUser := func(login string) map[string]string {
			return map[string]string{"login": login, "role": "viewer", "password": testPassword}
		}
		crossSite := header("Sec-Fetch-Site", "cross-site")
		for i, tc := range []struct {
			name string
			opts []reqOpt
			want int
		}{
			{"cookie, cross-site", []reqOpt{session, crossSite}, 403},
			{"cookie, foreign Origin", []reqOpt{session, header("Origin", "https://evil.example")}, 403},
			{"cookie, same-origin", []reqOpt{session, header("Sec-Fetch-Site", "same-origin")}, 201},
			{"cookie, matching Origin", []reqOpt{session, header("Origin", "http://example.com")}, 201},
			{"cookie, trusted Origin", []reqOpt{session, header("Origin", "https://huddle.example.com")}, 201},
			{"cookie, no browser headers (curl)", []reqOpt{session}, 201},
			{"bearer, cross-site", []reqOpt{bearer(key), crossSite}, 201},
			// Browsers send cached Basic credentials by themselves, so Basic is checked like cookies.
			{"basic, cross-site", []reqOpt{basic("x", key), crossSite}, 403},
			{"basic, no browser headers", []reqOpt{basic("x", key)}, 201},
		} {
			w := e.do("POST", "/api/users", newUser(fmt.Sprintf("user%d", i)), tc.opts...)
			if w.Code != tc.want {
				t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
			}
		}
		// Login CSRF: a foreign site cannot sign a browser in to an account of its choosing.
		w := e.do("POST", "/api/login", map[string]string{"user": "root", "password": testPassword}, crossSite)
		if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Fatalf("cross-site login: %d", w.Code)
		}
		// Safe methods are not refused.
		if w := e.do("GET", "/api/me", nil, session, crossSite); w.Code != http.StatusOK {
			t.Fatalf("cross-site GET: %d", w.Code)
		}
	})
}

func TestBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.user("root", roles.Admin)
		admin := cookie(e.login("root"))
		huge := `{"login":"` + strings.Repeat("a", maxBodyBytes) + `"}`
		for _, tc := range []struct {
			method, path, body string
			want               int
			msg                string
		}{
			{"POST", "/api/login", `{"user":"root","password":`, 400, "malformed JSON"},
			{"POST", "/api/login", `{"user":"root","password":"x","remember":true}`, 400, `unknown field "remember"`},
			{"POST", "/api/login", `{"user":"root"}{"user":"root"}`, 400, "one JSON object"},
			{"POST", "/api/login", `["root"]`, 400, "must be a JSON object"},
			{"POST", "/api/login", ``, 400, "must be a JSON object"},
			{"POST", "/api/login", `{"user":1,"password":"x"}`, 400, `"user" must be a JSON string`},
			{"POST", "/api/login", huge, 413, "larger than 65536 bytes"},
			{"POST", "/api/login", `{"user":"root' OR '1'='1","password":"' OR '1'='1"}`, 401, "invalid login or password"},
			{"POST", "/api/users", `{"login":"x'; DROP TABLE users; --","role":"viewer","password":"correct horse battery"}`, 400, "may only contain"},
			{"POST", "/api/users", `{"login":"ok","role":"viewer","password":"correct horse battery","admin":true}`, 400, `unknown field "admin"`},
			{"POST", "/api/users", huge, 413, "larger than"},
			{"PATCH", "/api/users/x", `{}`, 400, "nothing to change"},
			{"PATCH", "/api/users/x", `{"disabled":"yes"}`, 400, `"disabled" must be a JSON boolean`},
			{"POST", "/api/keys", `{"name":"k","scopes":"admin"}`, 400, `"scopes" must be a JSON array`},
			{"POST", "/api/keys", `{"name":"k","scopes":["admin"],"expiresInDays":1.5}`, 400, `"expiresInDays" must be a JSON number`},
		} {
			e.logs.Reset()
			w := e.do(tc.method, tc.path, tc.body, admin)
			body := decode[errorJSON](t, w, tc.want)
			if !strings.Contains(body.Error, tc.msg) {
				t.Errorf("%s %s %.40q: error %q, want it to mention %q", tc.method, tc.path, tc.body, body.Error, tc.msg)
			}
			if n := strings.Count(e.logs.String(), "request failed"); n != 1 {
				t.Errorf("%s %s %.40q logged %d times, want once:\n%s", tc.method, tc.path, tc.body, n, e.logs)
			}
		}
		var n int
		if err := st.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("users after bad input: %d %v", n, err)
		}
	})
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	mux := http.NewServeMux()
	err := e.s.Register(mux, httpapi.Route{Method: "GET", Pattern: "/api/boom", MinRole: roles.Anonymous,
		Handler: func(http.ResponseWriter, *http.Request) error {
			return fmt.Errorf("query: %w", errors.New("dial tcp 10.1.2.3:5432: connection refused"))
		}})
	if err != nil {
		t.Fatal(err)
	}
	w := serve(t, mux, "GET", "/api/boom", nil)
	if body := decode[errorJSON](t, w, http.StatusInternalServerError); body.Error != "internal error" {
		t.Fatalf("leaked %q", body.Error)
	}
	if !strings.Contains(e.logs.String(), "10.1.2.3") || !strings.Contains(e.logs.String(), "level=ERROR") {
		t.Fatalf("the cause is not logged: %s", e.logs)
	}
}

func TestLoginPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, func(o *Options) { o.OIDCName = "Contoso <SSO>" })
		e.user("vera", roles.Viewer)

		w := e.do("GET", "/login?next=/d/ops%3Ftab%3D1&error=oidc", nil)
		page := w.Body.String()
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%d %v", w.Code, w.Header())
		}
		for _, want := range []string{
			`<label for="user">Login</label>`, `<label for="password">Password</label>`, `autocomplete="current-password"`,
			`role="alert"`, `data-next="/d/ops?tab=1"`, "Single sign-on did not complete",
			`Sign in with Contoso &lt;SSO&gt;`, `href="/login/oidc?next=%2Fd%2Fops%3Ftab%3D1"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		nonce := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(page)
		csp := w.Header().Get("Content-Security-Policy")
		if nonce == nil || !strings.Contains(csp, "script-src 'nonce-"+nonce[1]+"'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("CSP %q does not allow exactly the page's script", csp)
		}
		if strings.Contains(page, "src=") || strings.Contains(page, "<link") {
			t.Error("the page loads an external asset")
		}

		for next, want := range map[string]string{
			"/ok/path?x=1#y":       "/ok/path?x=1#y",
			"":                     "/",
			"//evil.example/x":     "/",
			"https://evil.example": "/",
			"/\\evil.example":      "/",
			"javascript:alert(1)":  "/",
			"/a\r\nSet-Cookie: x":  "/",
			"relative":             "/",
		} {
			if got := localPath(next); got != want {
				t.Errorf("next %q became %q, want %q", next, got, want)
			}
		}
		if page := e.do("GET", "/login?next="+url.QueryEscape(`/"><script>alert(1)</script>`), nil).Body.String(); !strings.Contains(page, `data-next="/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
			t.Error("next is not escaped in the page")
		}
		if page := e.do("GET", "/login?error=<b>owned</b>", nil).Body.String(); strings.Contains(page, "owned") {
			t.Error("the page shows text from the URL")
		}
		if page := newEnv(t, sameEngine(t, st)).do("GET", "/login", nil).Body.String(); strings.Contains(page, "Sign in with") {
			t.Error("the OIDC button shows without OIDC")
		}

		// A signed-in browser goes straight on, but never off-site.
		session := cookie(e.login("vera"))
		if w := e.do("GET", "/login?next=/d/ops", nil, session); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/d/ops" {
			t.Fatalf("signed in: %d %v", w.Code, w.Header())
		}
		if w := e.do("GET", "/login?next=//evil.example", nil, session); w.Header().Get("Location") != "/" {
			t.Fatalf("signed in, off-site next: %v", w.Header())
		}
	})
}

func TestClientAddr(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	trusting := newEnv(t, storetest.SQLite(t), func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	for _, c := range []struct{ name, peer, xff, plain, trusted string }{
		{"no header", "127.0.0.1:5555", "", "127.0.0.1", "127.0.0.1"},
		{"one proxy", "127.0.0.1:5555", "10.9.9.9, 203.0.113.5", "127.0.0.1", "203.0.113.5"},
		{"two trusted proxies", "127.0.0.1:5555", "198.51.100.1, 203.0.113.5, 10.1.1.1", "127.0.0.1", "203.0.113.5"},
		{"header from an untrusted peer", "192.0.2.7:5555", "203.0.113.5", "192.0.2.7", "192.0.2.7"},
		{"garbage", "127.0.0.1:5555", "garbage", "127.0.0.1", "127.0.0.1"},
		{"mapped IPv4 peer", "[::ffff:127.0.0.1]:5555", "203.0.113.5", "127.0.0.1", "203.0.113.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRequest(t, "GET", "/")
			r.RemoteAddr = c.peer
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := e.s.ClientAddr(r); got != c.plain {
				t.Errorf("without trusted proxies: %s, want %s", got, c.plain)
			}
			if got := trusting.s.ClientAddr(r); got != c.trusted {
				t.Errorf("with trusted proxies: %s, want %s", got, c.trusted)
			}
		})
	}
}
