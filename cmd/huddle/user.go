package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
)

// maxStdinPassword bounds what --password-stdin reads; auth refuses passwords over 1 KiB anyway.
const maxStdinPassword = 4096

// newUserCommand is `huddle user`: local accounts managed on the database the server uses, with
// the same rules and audit log as the HTTP API. Whoever can read the data dir (or the PostgreSQL
// URL) is trusted with it, as with the server itself.
func newUserCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var flags config.Flags
	user := &cobra.Command{
		Use:   "user",
		Short: "Manage local accounts: add, passwd, role, rm, list",
		Long: `user manages the accounts of the database huddle serve uses (SQLite in --data-dir, or
postgres.url). Changes are recorded in the audit log with the actor "cli". Passwords are read
from standard input so that they stay out of the shell history and the process list.`,
		Example: `  echo "$PASSWORD" | huddle user add --login alice --role admin --password-stdin --name "Alice A."
  huddle user passwd --login alice --password-stdin < password.txt
  huddle user role --login bob --role editor
  huddle user list`,
		Args: cobra.NoArgs,
	}
	user.PersistentFlags().StringVar(&flags.ConfigFile, "config", "", "YAML configuration file (env HUDDLE_CONFIG)")
	user.PersistentFlags().StringVar(&flags.DataDir, "data-dir", "", "data directory (env HUDDLE_DATA_DIR, default ./data)")

	// withService opens the server's store and runs fn with an auth service on it.
	withService := func(cmd *cobra.Command, fn func(ctx context.Context, svc *auth.Service) error) error {
		cfg, err := config.Load(flags, getenv)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		ctx := cmd.Context()
		st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, PostgresURL: cfg.Postgres.URL}, logger)
		if err != nil {
			return err
		}
		defer func() { _ = st.Close() }()
		svc, err := auth.New(auth.Options{Store: st, Logger: logger})
		if err != nil {
			return err
		}
		return fn(ctx, svc)
	}
	cli := auth.Actor{Login: auth.ActorCLI}
	var (
		login, addRole, newRole, name, email string
		passwordStdin                        bool
	)
	loginFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&login, "login", "", "the user's login (required)")
		_ = c.MarkFlagRequired("login") // the flag exists: MarkFlagRequired cannot fail
	}
	passwordFlag := func(c *cobra.Command) {
		c.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	}
	readPassword := func(cmd *cobra.Command) (string, error) {
		if !passwordStdin {
			return "", errors.New("--password-stdin is required: pipe the password in, e.g. echo \"$PASSWORD\" | huddle user " + cmd.Name() + " … --password-stdin")
		}
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxStdinPassword))
		if err != nil {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		// One line is expected; its line ending is not part of the password.
		password := strings.TrimRight(string(b), "\r\n")
		if password == "" {
			return "", errors.New("no password on standard input")
		}
		return password, nil
	}
	lookup := func(ctx context.Context, svc *auth.Service) (auth.User, error) {
		u, err := svc.UserByLogin(ctx, login)
		if errors.Is(err, auth.ErrUserNotFound) {
			return u, fmt.Errorf("no user with login %q", login)
		}
		return u, err
	}

	add := &cobra.Command{
		Use:   "add",
		Short: "Create a local account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			return withService(cmd, func(ctx context.Context, svc *auth.Service) error {
				u, err := svc.CreateUser(ctx, cli, auth.NewUser{
					Login: login, Name: name, Email: email, Role: roles.Role(addRole), Password: password,
				})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "created %s (%s)\n", u.Login, u.Role)
				return err
			})
		},
	}
	loginFlag(add)
	passwordFlag(add)
	add.Flags().StringVar(&addRole, "role", "viewer", "viewer, editor or admin")
	add.Flags().StringVar(&name, "name", "", "display name")
	add.Flags().StringVar(&email, "email", "", "e-mail address")

	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Set a user's password; ends their sessions and any lockout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			return withService(cmd, func(ctx context.Context, svc *auth.Service) error {
				u, err := lookup(ctx, svc)
				if err != nil {
					return err
				}
				if _, err := svc.UpdateUser(ctx, cli, u.ID, auth.UserUpdate{Password: &password}); err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "password of %s changed; their sessions have ended\n", u.Login)
				return err
			})
		},
	}
	loginFlag(passwd)
	passwordFlag(passwd)

	roleCmd := &cobra.Command{
		Use:   "role",
		Short: "Change a user's role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, func(ctx context.Context, svc *auth.Service) error {
				u, err := lookup(ctx, svc)
				if err != nil {
					return err
				}
				r := roles.Role(newRole)
				updated, err := svc.UpdateUser(ctx, cli, u.ID, auth.UserUpdate{Role: &r})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "%s is now %s (was %s)\n", updated.Login, updated.Role, u.Role)
				return err
			})
		},
	}
	loginFlag(roleCmd)
	roleCmd.Flags().StringVar(&newRole, "role", "", "viewer, editor or admin (required)")
	_ = roleCmd.MarkFlagRequired("role")

	rm := &cobra.Command{
		Use:   "rm",
		Short: "Delete a user with their sessions, API keys and dashboard roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, func(ctx context.Context, svc *auth.Service) error {
				u, err := lookup(ctx, svc)
				if err != nil {
					return err
				}
				if err := svc.DeleteUser(ctx, cli, u.ID); err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "deleted %s\n", u.Login)
				return err
			})
		},
	}
	loginFlag(rm)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, func(ctx context.Context, svc *auth.Service) error {
				users, err := svc.Users(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "LOGIN\tROLE\tNAME\tSIGN-IN\tSTATUS\tCREATED")
				for _, u := range users {
					signIn, status := "password", "active"
					if u.OIDCIssuer != "" {
						signIn = "oidc"
					}
					if u.Disabled {
						status = "disabled"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Login, u.Role, orDash(u.Name), signIn, status,
						u.CreatedAt.UTC().Format("2006-01-02"))
				}
				return tw.Flush()
			})
		},
	}

	user.AddCommand(add, passwd, roleCmd, rm, list)
	return user
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
