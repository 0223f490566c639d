package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// watcher records whose sessions ended.
type watcher struct{ ended []string }

func (w *watcher) SessionsEnded(_ context.Context, login string) { w.ended = append(w.ended, login) }

// Each change that withdraws a user's rights revokes the hub tokens issued to them until then,
// tokens issued in that second included, and tells the watcher once it is committed; a change
// that fails tells nobody and revokes nothing.
func TestTokenRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		w := &watcher{}
		e := newEnv(t, st, func(o *Options) { o.Sessions = w })
		ctx := t.Context()
		root := e.user("root", roles.Admin)
		yes, editor := true, roles.Editor
		pw := "another long password"
		for _, tc := range []struct {
			login  string
			change func(u User) error
		}{
			{"disabled", func(u User) error {
				_, err := e.s.UpdateUser(ctx, cliActor, u.ID, UserUpdate{Disabled: &yes})
				return err
			}},
			{"deleted", func(u User) error { return e.s.DeleteUser(ctx, cliActor, u.ID) }},
			{"promoted", func(u User) error {
				_, err := e.s.UpdateUser(ctx, cliActor, u.ID, UserUpdate{Role: &editor})
				return err
			}},
			{"reset", func(u User) error {
				_, err := e.s.UpdateUser(ctx, cliActor, u.ID, UserUpdate{Password: &pw})
				return err
			}},
			{"changed", func(u User) error { return e.s.ChangePassword(ctx, Actor{Login: u.Login}, u.ID, testPassword, pw) }},
			{"everywhere", func(u User) error { return e.s.RevokeSessions(ctx, Actor{Login: u.Login}, u.ID) }},
		} {
			u := e.user(tc.login, roles.Viewer)
			before := e.clock.Now()
			if revoked(t, e, tc.login, before) {
				t.Fatalf("%s: a token is revoked before any change", tc.login)
			}
			e.clock.Advance(1500 * time.Millisecond)
			if err := tc.change(u); err != nil {
				t.Fatalf("%s: %v", tc.login, err)
			}
			if w.ended[len(w.ended)-1] != tc.login {
				t.Fatalf("%s: the watcher was told %v", tc.login, w.ended)
			}
			if !revoked(t, e, tc.login, before) || !revoked(t, e, tc.login, e.clock.Now().Truncate(time.Second)) {
				t.Fatalf("%s: a token issued before the change or in its second still works", tc.login)
			}
			if revoked(t, e, tc.login, e.clock.Now().Truncate(time.Second).Add(time.Second)) {
				t.Fatalf("%s: a token issued the second after the change is refused", tc.login)
			}
		}

		told := slices.Clone(w.ended)
		e.clock.Advance(time.Hour)
		if err := e.s.DeleteUser(ctx, cliActor, root.ID); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("deleting the last admin: %v", err)
		}
		if !slices.Equal(w.ended, told) || revoked(t, e, "root", e.clock.Now().Add(-time.Minute)) {
			t.Fatal("a refused change revoked the user's tokens")
		}
	})
}

func revoked(t *testing.T, e *env, login string, issuedAt time.Time) bool {
	t.Helper()
	r, err := e.s.TokenRevoked(t.Context(), login, issuedAt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
