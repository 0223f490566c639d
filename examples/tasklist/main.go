// Command tasklist is a shared task list whose pages update live through Azure SignalR Service
// in serverless mode: the app has no SignalR hub of its own. Browsers negotiate here
// (POST /api/negotiate answers {url, accessToken}) and connect to the service; every change is
// stored in SQLite first and then pushed with the service's REST API (2022-06-01): taskUpdate to
// everyone, notify to a task's owner when someone else completes it. Only the connection string
// says which service: Azure's or huddle's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
)

// connStrEnv is the variable the connection string is read from, the name Azure Functions'
// SignalR bindings use.
const connStrEnv = "AzureSignalRConnectionString"

// validHub is the service's rule for hub names.
var validHub = regexp.MustCompile("^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tasklist:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("tasklist", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:3000", "listen address")
	dbPath := flags.String("db", "tasklist.db", "SQLite database file")
	hub := flags.String("hub", "tasklist", "SignalR hub name")
	connStr := flags.String("connection-string", "", "SignalR connection string (default: $"+connStrEnv+")")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *connStr == "" {
		*connStr = getenv(connStrEnv)
	}
	if *connStr == "" {
		return fmt.Errorf("no connection string: set %s or -connection-string (huddle prints one: `huddle connection-string`)", connStrEnv)
	}
	if !validHub.MatchString(*hub) {
		return fmt.Errorf("-hub %q: a hub name starts with a letter and has at most 128 letters, digits and _`,.[]", *hub)
	}
	if _, err := fs.Stat(webFiles, "web/signalr.min.js"); err != nil {
		return errors.New("web/signalr.min.js is not built in: run `make -C examples/tasklist web` before building")
	}
	svc, err := ParseConnectionString(*connStr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	store, err := OpenStore(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer store.Close()

	srv := &Server{store: store, svc: svc, hub: *hub, notify: NewSender(svc, *hub, nil), log: log, now: time.Now}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "tasklist is serving on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// A fresh context: the one that ended is why we stop, not how long stopping may take.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
