package main

import (
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app"
	"github.com/huddle-dev/huddle/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "huddle",
		Short:         "A self-hosted real-time service and collaborative monitoring dashboard",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var flags config.Flags
	addFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&flags.ConfigFile, "config", "", "YAML configuration file (env HUDDLE_CONFIG)")
		c.Flags().StringVar(&flags.Addr, "addr", "", "listen address (env HUDDLE_ADDR, default 127.0.0.1:8080)")
		c.Flags().StringVar(&flags.DataDir, "data-dir", "", "data directory (env HUDDLE_DATA_DIR, default ./data)")
	}

	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the real-time service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(flags, getenv)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
			a, err := app.New(cfg, logger, stdout)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context(), func() {
				fmt.Fprintf(stdout, "huddle %s is serving on %s\n", version, a.PublicURL())
				// The key is shown whole once, when it is made; afterwards it stays out of logs
				// that collect stdout, and `huddle connection-string` prints it on demand.
				if a.AccessKeyCreated() {
					fmt.Fprintf(stdout, "connection string: %s\n", a.ConnectionString())
				} else {
					fmt.Fprintln(stdout, "connection string: printed by `huddle connection-string`")
				}
			})
		},
	}
	addFlags(serve)

	connStr := &cobra.Command{
		Use:   "connection-string",
		Short: "Print the connection string app servers and SDKs use",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := config.Load(flags, getenv)
			if err != nil {
				return err
			}
			keys, _, err := accesskey.LoadOrCreate(cfg.DataDir, cfg.AccessKey)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, accesskey.ConnectionString(app.PublicURL(cfg, cfg.Addr), keys.Primary))
			return nil
		},
	}
	addFlags(connStr)

	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			goVersion := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			fmt.Fprintf(stdout, "huddle %s (%s)\n", version, goVersion)
		},
	}
	root.AddCommand(serve, connStr, versionCmd, newTokenCommand(getenv, stdout, addFlags, &flags),
		newBenchCommand(stdout, stderr), newUserCommand(getenv, stdout, stderr), newRulesCommand(stdout))
	return root
}
