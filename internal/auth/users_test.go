package auth

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		admin := e.user("Alice", roles.Admin)
		if admin.Login != "alice" || admin.Role != roles.Admin || !admin.HasPassword || admin.CreatedAt.IsZero() {
			t.Fatalf("created %+v", admin)
		}
		bob := e.user("bob", roles.Viewer)

		// Logins are unique whatever their case.
		_, err := e.s.CreateUser(ctx, cliActor, NewUser{Login: "BOB", Role: roles.Viewer, Password: testPassword})
		if !errors.Is(err, httpapi.ErrConflict) || !strings.Contains(err.Error(), `"bob" is taken`) {
			t.Fatalf("duplicate login: %v", err)
		}
		for _, tc := range []struct {
			in   NewUser
			want string
		}{
			{NewUser{Login: "", Role: roles.Viewer, Password: testPassword}, "login is required"},
			{NewUser{Login: "x'; DROP TABLE users; --", Role: roles.Viewer, Password: testPassword}, "may only contain"},
			{NewUser{Login: ".dot", Role: roles.Viewer, Password: testPassword}, "start with a letter or digit"},
			{NewUser{Login: strings.Repeat("a", 65), Role: roles.Viewer, Password: testPassword}, "at most 64"},
			{NewUser{Login: "carol", Role: "root", Password: testPassword}, "not viewer, editor or admin"},
			{NewUser{Login: "carol", Role: roles.Viewer, Password: "short"}, "at least 12"},
			{NewUser{Login: "carol", Role: roles.Viewer}, "at least 12"},
			{NewUser{Login: "carol", Role: roles.Viewer, Password: testPassword, Email: "not an address"}, "not an address"},
			{NewUser{Login: "carol", Role: roles.Viewer, Password: testPassword, Name: "bell\a"}, "control characters"},
		} {
			if _, err := e.s.CreateUser(ctx, cliActor, tc.in); errorCode(err) != httpapi.CodeBadRequest || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create %+v: %v, want a bad request mentioning %q", tc.in.Login, err, tc.want)
			}
		}

		got, err := e.s.User(ctx, bob.ID)
		if err != nil || got.Login != "bob" {
			t.Fatalf("User: %+v %v", got, err)
		}
		if got, err := e.s.UserByLogin(ctx, " BOB "); err != nil || got.ID != bob.ID {
			t.Fatalf("UserByLogin: %+v %v", got, err)
		}
		if _, err := e.s.User(ctx, "nobody"); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		users, err := e.s.Users(ctx)
		if err != nil || len(users) != 2 || users[0].Login != "alice" || users[1].Login != "bob" {
			t.Fatalf("Users: %+v %v", users, err)
		}

		name, email, editor, yes := "Bob B.", "bob@example.com", roles.Editor, true
		e.clock.Advance(time.Second)
		u, err := e.s.UpdateUser(ctx, Actor{Login: "alice"}, bob.ID, UserUpdate{Name: &name, Email: &email, Role: &editor})
		if err != nil || u.Name != name || u.Email != email || u.Role != roles.Editor || !u.UpdatedAt.After(u.CreatedAt) {
			t.Fatalf("update: %+v %v", u, err)
		}
		if _, err := e.s.UpdateUser(ctx, cliActor, bob.ID, UserUpdate{}); errorCode(err) != httpapi.CodeBadRequest {
			t.Fatalf("empty update: %v", err)
		}
		bad := roles.Role("superuser")
		if _, err := e.s.UpdateUser(ctx, cliActor, bob.ID, UserUpdate{Role: &bad}); errorCode(err) != httpapi.CodeBadRequest {
			t.Fatalf("bad role: %v", err)
		}
		if _, err := e.s.UpdateUser(ctx, cliActor, "nobody", UserUpdate{Name: &name}); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("update unknown: %v", err)
		}

		// The last enabled admin can be neither demoted, disabled nor deleted.
		viewer := roles.Viewer
		if _, err := e.s.UpdateUser(ctx, cliActor, admin.ID, UserUpdate{Role: &viewer}); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("demote last admin: %v", err)
		}
		if _, err := e.s.UpdateUser(ctx, cliActor, admin.ID, UserUpdate{Disabled: &yes}); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("disable last admin: %v", err)
		}
		if err := e.s.DeleteUser(ctx, cliActor, admin.ID); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("delete last admin: %v", err)
		}
		if u, _ := e.s.User(ctx, admin.ID); u.Role != roles.Admin || u.Disabled {
			t.Fatalf("a refused change was applied: %+v", u)
		}

		if err := e.s.DeleteUser(ctx, Actor{Login: "alice"}, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.User(ctx, bob.ID); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("deleted user still there: %v", err)
		}
		if err := e.s.DeleteUser(ctx, cliActor, bob.ID); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("delete twice: %v", err)
		}

		want := []string{ActionUserCreated, ActionUserCreated, ActionUserUpdated, ActionRoleChanged, ActionUserDeleted}
		if got := e.auditActions(); !slices.Equal(got, want) {
			t.Fatalf("audit %v, want %v", got, want)
		}
		entries, _ := e.s.Audit(ctx, AuditQuery{Action: ActionRoleChanged})
		if len(entries) != 1 || entries[0].Actor != "alice" || entries[0].Target != "user:bob" ||
			string(entries[0].Detail) != `{"from":"viewer","to":"editor"}` {
			t.Fatalf("role change entry %+v", entries)
		}
	})
}

func TestPasswordChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		e.user("root", roles.Admin)
		bob := e.user("bob", roles.Viewer)
		token := e.login("bob")

		// Self-service: the current password must be right; a wrong one counts as a failure.
		err := e.s.ChangePassword(ctx, Actor{Login: "bob"}, bob.ID, "wrong password!", "a brand new password")
		if !errors.Is(err, httpapi.ErrForbidden) || !strings.Contains(err.Error(), "current password") {
			t.Fatalf("wrong current password: %v", err)
		}
		if err := e.s.ChangePassword(ctx, Actor{Login: "bob"}, bob.ID, testPassword, "short"); errorCode(err) != httpapi.CodeBadRequest {
			t.Fatalf("short new password: %v", err)
		}
		if err := e.s.ChangePassword(ctx, Actor{Login: "bob"}, bob.ID, testPassword, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := e.s.sessionPrincipal(ctx, token); ok {
			t.Fatal("a session survived the password change")
		}
		if _, _, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: testPassword}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("old password still works: %v", err)
		}
		if _, _, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: "a brand new password"}); err != nil {
			t.Fatalf("new password: %v", err)
		}

		// Admin reset: ends sessions and lockouts.
		for range 5 {
			_, _, _ = e.s.Login(ctx, LoginInput{Login: "bob", Password: "wrong password!"})
		}
		if _, _, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: "a brand new password"}); !errors.Is(err, ErrLocked) {
			t.Fatalf("not locked: %v", err)
		}
		reset := "reset by the admin"
		if _, err := e.s.UpdateUser(ctx, Actor{Login: "root"}, bob.ID, UserUpdate{Password: &reset}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.s.Login(ctx, LoginInput{Login: "bob", Password: reset}); err != nil {
			t.Fatalf("after reset: %v", err)
		}
		if got := e.auditActions(); slices.Index(got, ActionPasswordChanged) < 0 {
			t.Fatalf("no password change in the audit log: %v", got)
		}
	})
}

func TestBootstrap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Run("generated", func(t *testing.T) {
			e := newEnv(t, st)
			var out bytes.Buffer
			if err := e.s.Bootstrap(t.Context(), "", &out); err != nil {
				t.Fatal(err)
			}
			_, after, ok := strings.Cut(out.String(), "password: ")
			password, _, _ := strings.Cut(after, "\n")
			if !ok || len(password) < 20 {
				t.Fatalf("no generated password printed: %q", out.String())
			}
			u, _, err := e.s.Login(t.Context(), LoginInput{Login: "admin", Password: password})
			if err != nil || u.Role != roles.Admin {
				t.Fatalf("the printed password does not sign in as admin: %+v %v", u, err)
			}
			if strings.Contains(e.logs.String(), password) {
				t.Fatal("the generated password was logged")
			}
			// A restart finds the admin and prints nothing.
			out.Reset()
			if err := e.s.Bootstrap(t.Context(), "", &out); err != nil || out.Len() != 0 {
				t.Fatalf("second start: %q %v", out.String(), err)
			}
		})
		t.Run("env", func(t *testing.T) {
			e := newEnv(t, sameEngine(t, st))
			var out bytes.Buffer
			if err := e.s.Bootstrap(t.Context(), "from the environment", &out); err != nil {
				t.Fatal(err)
			}
			if out.Len() != 0 {
				t.Fatalf("printed %q although the password was given", out.String())
			}
			if _, _, err := e.s.Login(t.Context(), LoginInput{Login: "admin", Password: "from the environment"}); err != nil {
				t.Fatal(err)
			}
			// A later start with another password does not reset the admin's.
			if err := e.s.Bootstrap(t.Context(), "another password here", &out); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.s.Login(t.Context(), LoginInput{Login: "admin", Password: "another password here"}); err == nil {
				t.Fatal("a restart reset the admin password")
			}
		})
		t.Run("short env password", func(t *testing.T) {
			e := newEnv(t, sameEngine(t, st))
			err := e.s.Bootstrap(t.Context(), "short", &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), "at least 12") {
				t.Fatalf("short password: %v", err)
			}
		})
		t.Run("concurrent nodes", func(t *testing.T) {
			db := sameEngine(t, st)
			a, b := newEnv(t, db), newEnv(t, db)
			var outA, outB bytes.Buffer
			var wg sync.WaitGroup
			var errA, errB error
			wg.Go(func() { errA = a.s.Bootstrap(t.Context(), "", &outA) })
			wg.Go(func() { errB = b.s.Bootstrap(t.Context(), "", &outB) })
			wg.Wait()
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			if n := strings.Count(outA.String()+outB.String(), "password: "); n != 1 {
				t.Fatalf("%d passwords printed, want 1", n)
			}
		})
	})
}
