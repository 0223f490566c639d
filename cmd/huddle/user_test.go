package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// runWithStdin is run() with a standard input, which `user add|passwd --password-stdin` read.
func runWithStdin(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(func(k string) string { return env[k] }, &out, &errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestUserCommands(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{}
			cfg := store.Config{DataDir: dir}
			if engine == "postgres" {
				cfg = store.Config{PostgresURL: storetest.PostgresURL(t)}
				env["HUDDLE_POSTGRES_URL"] = cfg.PostgresURL
			}
			user := func(stdin string, args ...string) (string, error) {
				t.Helper()
				return runWithStdin(t, env, stdin, append([]string{"user"}, append(args, "--data-dir", dir)...)...)
			}
			// signIn checks a password against the database the CLI wrote.
			signIn := func(login, password string) error {
				t.Helper()
				st, err := store.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = st.Close() }()
				svc, err := auth.New(auth.Options{Store: st})
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = svc.Login(t.Context(), auth.LoginInput{Login: login, Password: password})
				return err
			}

			out, err := user("first admin password\n", "add", "--login", "Alice", "--role", "admin", "--password-stdin", "--name", "Alice A.")
			if err != nil || out != "created alice (admin)\n" {
				t.Fatalf("add: %q %v", out, err)
			}
			if err := signIn("alice", "first admin password"); err != nil {
				t.Fatalf("the added user cannot sign in: %v", err)
			}
			if out, err := user("viewer password!\r\n", "add", "--login", "bob", "--password-stdin"); err != nil || out != "created bob (viewer)\n" {
				t.Fatalf("add with the default role: %q %v", out, err)
			}
			if err := signIn("bob", "viewer password!"); err != nil {
				t.Fatalf("a CRLF line ending became part of the password: %v", err)
			}

			for _, tc := range []struct {
				stdin string
				args  []string
				want  string
			}{
				{"another password", []string{"add", "--login", "ALICE", "--password-stdin"}, `"alice" is taken`},
				{"", []string{"add", "--login", "carol", "--password-stdin"}, "no password on standard input"},
				{"password", []string{"add", "--login", "carol"}, "--password-stdin is required"},
				{"short", []string{"add", "--login", "carol", "--password-stdin"}, "at least 12 characters"},
				{"long enough password", []string{"add", "--login", "carol", "--role", "root", "--password-stdin"}, `role "root"`},
				{"long enough password", []string{"add", "--password-stdin"}, `"login" not set`},
				{"", []string{"role", "--login", "alice", "--role", "viewer"}, "at least one enabled admin"},
				{"", []string{"role", "--login", "nobody", "--role", "viewer"}, `no user with login "nobody"`},
				{"", []string{"rm", "--login", "alice"}, "at least one enabled admin"},
				{"", []string{"rm", "--login", "nobody"}, `no user with login "nobody"`},
				{"a new password!", []string{"passwd", "--login", "nobody", "--password-stdin"}, `no user with login "nobody"`},
			} {
				if _, err := user(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v: %v, want an error mentioning %q", tc.args, err, tc.want)
				}
			}

			if out, err := user("a new password for bob\n", "passwd", "--login", "bob", "--password-stdin"); err != nil || !strings.Contains(out, "password of bob changed") {
				t.Fatalf("passwd: %q %v", out, err)
			}
			if signIn("bob", "viewer password!") == nil || signIn("bob", "a new password for bob") != nil {
				t.Fatal("passwd did not replace the password")
			}
			if out, err := user("", "role", "--login", "bob", "--role", "Editor"); err != nil || out != "bob is now editor (was viewer)\n" {
				t.Fatalf("role: %q %v", out, err)
			}

			out, err = user("", "list")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "LOGIN") ||
				!strings.Contains(lines[1], "alice") || !strings.Contains(lines[1], "Alice A.") ||
				!strings.Contains(lines[2], "bob") || !strings.Contains(lines[2], "editor") || !strings.Contains(lines[2], " - ") {
				t.Fatalf("list:\n%s", out)
			}

			if out, err := user("", "rm", "--login", "bob"); err != nil || out != "deleted bob\n" {
				t.Fatalf("rm: %q %v", out, err)
			}
			if out, _ := user("", "list"); strings.Contains(out, "bob") {
				t.Fatalf("bob still listed:\n%s", out)
			}

			// Every change is in the audit log, by the CLI.
			st, err := store.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			svc, err := auth.New(auth.Options{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			entries, err := svc.Audit(t.Context(), auth.AuditQuery{Actor: auth.ActorCLI})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range entries {
				actions = append(actions, e.Action)
			}
			if got := strings.Join(actions, " "); got != "user.deleted user.role_changed user.password_changed user.created user.created" {
				t.Fatalf("audit by the CLI: %s", got)
			}
		})
	}
}
