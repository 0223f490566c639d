package auth

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

func TestAPIKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		root := e.user("root", roles.Admin)
		ed := e.user("ed", roles.Editor)

		k, secret, err := e.s.CreateAPIKey(ctx, Actor{Login: "ed"}, ed, NewAPIKey{
			Name: "grafana", Scopes: []string{"metrics:read", "dashboards:read"}, ExpiresIn: 24 * time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^hud_[a-z2-7]{12}_[a-z2-7]{52}$`).MatchString(secret) || !strings.HasPrefix(secret, "hud_"+k.Prefix+"_") {
			t.Fatalf("key %q (prefix %q)", secret, k.Prefix)
		}
		if k.Role != roles.Editor || k.Login != "ed" || !k.ExpiresAt.Equal(k.CreatedAt.Add(24*time.Hour)) {
			t.Fatalf("created %+v", k)
		}
		var stored string
		if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT secret_hash FROM api_keys WHERE id = ?`), k.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(secret, stored) || len(stored) != 64 {
			t.Fatalf("secret stored as %q", stored)
		}

		for _, tc := range []struct {
			in   NewAPIKey
			code httpapi.Code
		}{
			{NewAPIKey{Name: "", Scopes: []string{"admin"}}, httpapi.CodeBadRequest},
			{NewAPIKey{Name: "x", Scopes: nil}, httpapi.CodeBadRequest},
			{NewAPIKey{Name: "x", Scopes: []string{"root"}}, httpapi.CodeBadRequest},
			{NewAPIKey{Name: "x", Role: "root", Scopes: []string{"admin"}}, httpapi.CodeBadRequest},
			{NewAPIKey{Name: "x", Role: roles.Admin, Scopes: []string{"admin"}}, httpapi.CodeForbidden}, // above the owner
			{NewAPIKey{Name: "x", Scopes: []string{"admin"}, ExpiresIn: -time.Hour}, httpapi.CodeBadRequest},
		} {
			if _, _, err := e.s.CreateAPIKey(ctx, cliActor, ed, tc.in); errorCode(err) != tc.code {
				t.Errorf("create %+v: %v, want %s", tc.in, err, tc.code)
			}
		}

		p, err := e.s.keyPrincipal(ctx, secret)
		if err != nil || p.User.ID != ed.ID || p.Role != roles.Editor || p.Key == nil || p.Key.ID != k.ID {
			t.Fatalf("principal %+v %v", p, err)
		}

		// last_used_at is written at most once a minute.
		lastUsed := func() time.Time {
			got, err := e.s.APIKey(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.LastUsedAt
		}
		first := lastUsed()
		if !first.Equal(e.clock.Now()) {
			t.Fatalf("last used %v, want %v", first, e.clock.Now())
		}
		e.clock.Advance(30 * time.Second)
		_, _ = e.s.keyPrincipal(ctx, secret)
		if !lastUsed().Equal(first) {
			t.Fatal("last_used_at written twice in a minute")
		}
		e.clock.Advance(31 * time.Second)
		_, _ = e.s.keyPrincipal(ctx, secret)
		if !lastUsed().Equal(e.clock.Now()) {
			t.Fatal("last_used_at not updated after a minute")
		}

		// The key's role follows its owner's down.
		viewer := roles.Viewer
		if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, ed.ID, UserUpdate{Role: &viewer}); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.s.keyPrincipal(ctx, secret); p.Role != roles.Viewer {
			t.Fatalf("after the owner's demotion the key acts as %s", p.Role)
		}

		for _, bad := range []string{"", "hud_", secret[:len(secret)-1], secret + "a", "hud_" + k.Prefix + "_" + strings.Repeat("a", 52),
			strings.Replace(secret, k.Prefix, "aaaaaaaaaaaa", 1), "Bearer " + secret, "hud_' OR 1=1 --_x"} {
			if _, err := e.s.keyPrincipal(ctx, bad); !errors.Is(err, httpapi.ErrUnauthenticated) {
				t.Errorf("key %q: %v", bad, err)
			}
		}

		// Disabled owner, expiry, revocation.
		yes, no := true, false
		_, _ = e.s.UpdateUser(ctx, Actor{Login: "root"}, ed.ID, UserUpdate{Disabled: &yes})
		if _, err := e.s.keyPrincipal(ctx, secret); !errors.Is(err, httpapi.ErrUnauthenticated) {
			t.Fatalf("disabled owner's key: %v", err)
		}
		_, _ = e.s.UpdateUser(ctx, Actor{Login: "root"}, ed.ID, UserUpdate{Disabled: &no})
		e.clock.Advance(24 * time.Hour)
		if _, err := e.s.keyPrincipal(ctx, secret); !errors.Is(err, httpapi.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired key: %v", err)
		}
		forever := e.key(ed, roles.Viewer, roles.ScopeMetricsRead)
		keys, err := e.s.APIKeys(ctx, ed.ID)
		if err != nil || len(keys) != 2 || keys[1].ID != k.ID || !keys[0].ExpiresAt.IsZero() {
			t.Fatalf("ed's keys: %+v %v", keys, err)
		}
		if err := e.s.RevokeAPIKey(ctx, Actor{Login: "ed"}, keys[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RevokeAPIKey(ctx, Actor{Login: "ed"}, keys[0].ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if _, err := e.s.keyPrincipal(ctx, forever); !errors.Is(err, httpapi.ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("revoked key: %v", err)
		}
		if err := e.s.RevokeAPIKey(ctx, cliActor, "nope"); !errors.Is(err, ErrAPIKeyNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		e.key(root, roles.Admin, roles.ScopeAdmin)
		if all, _ := e.s.APIKeys(ctx, ""); len(all) != 3 {
			t.Fatalf("all keys: %d", len(all))
		}
		if n := strings.Count(strings.Join(e.auditActions(), " "), ActionKeyCreated); n != 3 {
			t.Fatalf("%d key creations audited", n)
		}

		// Deleting the owner deletes the keys.
		if err := e.s.DeleteUser(ctx, cliActor, ed.ID); err != nil {
			t.Fatal(err)
		}
		if keys, _ := e.s.APIKeys(ctx, ed.ID); len(keys) != 0 {
			t.Fatalf("keys of a deleted user: %+v", keys)
		}
	})
}

func TestAPIKeyHTTPAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		viewer := e.user("vera", roles.Viewer)
		key := e.key(viewer, roles.Viewer, roles.ScopeMetricsRead)
		for name, opt := range map[string]reqOpt{
			"bearer":          bearer(key),
			"basic":           basic("grafana", key),
			"basic, no user":  basic("", key),
			"lower-case auth": header("Authorization", "bearer "+key),
		} {
			if w := e.do("GET", "/api/me", nil, opt); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"login":"vera"`) {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			}
		}
		for name, opt := range map[string]reqOpt{
			"wrong key":        bearer(key + "x"),
			"basic password":   basic("vera", testPassword),
			"malformed basic":  header("Authorization", "Basic !!!"),
			"unknown scheme":   header("Authorization", "Digest abc"),
			"session as token": bearer(e.login("vera")),
		} {
			w := e.do("GET", "/api/me", nil, opt)
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			}
		}
		// An invalid key is refused even with a valid cookie: credentials are not mixed.
		if w := e.do("GET", "/api/me", nil, bearer("hud_bad"), cookie(e.login("vera"))); w.Code != http.StatusUnauthorized {
			t.Errorf("bad key plus cookie: %d", w.Code)
		}
	})
}

func TestEffectiveRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		root := e.user("root", roles.Admin)
		vera := e.user("vera", roles.Viewer)
		ed := e.user("ed", roles.Editor)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "ops", vera.ID, roles.Editor))
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "secret", ed.ID, roles.Viewer))
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "secret", root.ID, roles.Viewer))
		for _, tc := range []struct {
			u    User
			dash string
			want roles.Role
		}{
			{vera, "ops", roles.Editor}, {vera, "other", roles.Viewer},
			{ed, "secret", roles.Viewer}, {ed, "ops", roles.Editor},
			{root, "secret", roles.Admin},
		} {
			if got, err := e.s.EffectiveRole(ctx, tc.u, tc.dash); got != tc.want || err != nil {
				t.Errorf("%s on %s: %s %v, want %s", tc.u.Login, tc.dash, got, err, tc.want)
			}
		}
		// A key is capped by its own role on every dashboard.
		key := e.key(vera, roles.Viewer, roles.ScopeDashboardsWrite)
		p, err := e.s.keyPrincipal(ctx, key)
		must(err)
		if got, _ := e.s.DashboardRole(ctx, p, "ops"); got != roles.Viewer {
			t.Errorf("viewer key on ops: %s", got)
		}
		// Changing and removing overrides.
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "ops", vera.ID, roles.Admin))
		if got, _ := e.s.EffectiveRole(ctx, vera, "ops"); got != roles.Admin {
			t.Errorf("after change: %s", got)
		}
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "ops", vera.ID, ""))
		if got, _ := e.s.EffectiveRole(ctx, vera, "ops"); got != roles.Viewer {
			t.Errorf("after removal: %s", got)
		}
		must(e.s.SetDashboardRole(ctx, Actor{Login: "root"}, "ops", vera.ID, "")) // removing nothing
		if err := e.s.SetDashboardRole(ctx, cliActor, "", vera.ID, roles.Viewer); errorCode(err) != httpapi.CodeBadRequest {
			t.Errorf("empty uid: %v", err)
		}
		if err := e.s.SetDashboardRole(ctx, cliActor, "ops", vera.ID, "owner"); errorCode(err) != httpapi.CodeBadRequest {
			t.Errorf("bad role: %v", err)
		}
		if err := e.s.SetDashboardRole(ctx, cliActor, "ops", "nobody", roles.Viewer); !errors.Is(err, ErrUserNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		entries, _ := e.s.Audit(ctx, AuditQuery{Action: ActionDashboardRole})
		if len(entries) != 5 || entries[0].Target != "dashboard:ops/user:vera" {
			t.Errorf("audit %+v", entries)
		}
	})
}

func TestUpsertOIDCUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		e.user("root", roles.Admin)
		e.user("alice", roles.Viewer) // a local account the OIDC user must not take over
		const iss = "https://idp.example.com"

		u, err := e.s.UpsertOIDCUser(ctx, iss, "sub-1", "Alice", "Alice A.", "alice@example.com", "")
		if err != nil {
			t.Fatal(err)
		}
		if u.Login == "alice" || !strings.HasPrefix(u.Login, "alice-") || u.Role != roles.Viewer || u.HasPassword || u.OIDCSubject != "sub-1" {
			t.Fatalf("created %+v", u)
		}
		again, err := e.s.UpsertOIDCUser(ctx, iss, "sub-1", "renamed", "Alice Again", "not-an-email", roles.Editor)
		if err != nil || again.ID != u.ID || again.Login != u.Login || again.Name != "Alice Again" || again.Email != "" || again.Role != roles.Editor {
			t.Fatalf("second login %+v %v", again, err)
		}
		if kept, _ := e.s.UpsertOIDCUser(ctx, iss, "sub-1", "", "Alice Again", "", ""); kept.Role != roles.Editor {
			t.Fatalf("an empty role changed the role to %s", kept.Role)
		}
		odd, err := e.s.UpsertOIDCUser(ctx, iss, "sub-2", "!!!", "bad\x00name", "zed@example.com", roles.Viewer)
		if err != nil || odd.Login != "zed" || odd.Name != "badname" {
			t.Fatalf("odd claims: %+v %v", odd, err)
		}
		same, err := e.s.UpsertOIDCUser(ctx, "https://other.example.com", "sub-1", "Alice", "", "", "")
		if err != nil || same.ID == u.ID {
			t.Fatalf("the same subject of another issuer: %+v %v", same, err)
		}
		if _, err := e.s.UpsertOIDCUser(ctx, iss, "", "x", "", "", ""); err == nil {
			t.Fatal("no subject accepted")
		}
		if _, err := e.s.UpsertOIDCUser(ctx, iss, "sub-3", "x", "", "", "root"); errorCode(err) != httpapi.CodeBadRequest {
			t.Fatalf("bad role: %v", err)
		}
		// An OIDC user has no password to log in with.
		if _, _, err := e.s.Login(ctx, LoginInput{Login: u.Login, Password: ""}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("password login of an OIDC user: %v", err)
		}

		// StartSession signs the browser in, replacing its session.
		old := e.login("alice")
		req := newRequest(t, "GET", "/login/oidc/callback", cookie(old))
		w := newRecorder()
		if err := e.s.StartSession(ctx, w, req, again); err != nil {
			t.Fatal(err)
		}
		c := sessionCookie(t, w)
		if !e.valid(c.Value) || e.valid(old) || !c.HttpOnly {
			t.Fatalf("StartSession cookie %+v", c)
		}
		if w := e.do("GET", "/api/me", nil, cookie(c.Value)); !strings.Contains(w.Body.String(), `"role":"editor"`) {
			t.Fatalf("me: %s", w.Body)
		}
		yes := true
		if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, u.ID, UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.StartSession(ctx, newRecorder(), req, again); !errors.Is(err, httpapi.ErrForbidden) {
			t.Fatalf("disabled user: %v", err)
		}
	})
}
