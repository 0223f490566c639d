// Package apptest starts a whole huddle for tests: on a free loopback port, in a data directory of
// its own, logging into a buffer the test can read (and that is shown when it fails), and stopped
// when the test ends.
package apptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/app"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// Key is the access key test servers use unless the config names one.
const Key = "apptest-key-0123456789abcdefghijklmnopqrstu"

// AdminPassword is the password of the first administrator, "admin", unless the config names one.
const AdminPassword = "apptest-admin-password"

// Server is a running huddle.
type Server struct {
	URL string // http://127.0.0.1:port, or https:// when cfg.TLS is set
	Key string
	// Log holds what the server logged at the config's level (default warn), as text records.
	Log *testkit.LogBuffer

	stopOnce sync.Once
	stopErr  error
	stop     func() error
}

// Start runs huddle with cfg, filling in a free loopback port, a temporary data directory and
// Key where cfg leaves them empty, and returns once it accepts connections.
func Start(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.AccessKey == "" {
		cfg.AccessKey = Key
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = AdminPassword
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	log := &testkit.LogBuffer{}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: cfg.SlogLevel()})), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func() { close(ready) }) }()
	scheme := "http://"
	if cfg.TLS.Enabled() {
		scheme = "https://"
	}
	s := &Server{URL: scheme + a.Addr(), Key: cfg.AccessKey, Log: log}
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(app.ShutdownTimeout + 5*time.Second):
			return errors.New("huddle did not stop after its shutdown timeout")
		}
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("huddle stopped with: %v", err)
		}
		if t.Failed() {
			t.Logf("huddle's log:\n%s", log)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("huddle did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("huddle not ready after 10 s")
	}
	return s
}

// Stop shuts the server down gracefully and returns what Run returned; later calls return the
// same.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}
