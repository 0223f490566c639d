// Package storetest gives tests a fresh, migrated [store.Store] on SQLite or PostgreSQL, removed
// when the test ends, so that tests run in parallel and repeat (-count=N) without sharing state.
//
// PostgreSQL is the server at $HUDDLE_TEST_POSTGRES (default [DefaultPostgresURL]); each test gets
// a database of its own there. When that server is unreachable, tests that need it fail if $CI is
// set and are skipped with the reason otherwise.
package storetest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huddle-dev/huddle/internal/store"
)

// DefaultPostgresURL is the server used when $HUDDLE_TEST_POSTGRES is empty: a local PostgreSQL
// with trust authentication. The database in it is only connected to, to create and drop others.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a store on a new SQLite file in t.TempDir(), closed when the test ends.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, store.Config{DataDir: t.TempDir()})
}

// Postgres returns a store on a new PostgreSQL database (see [PostgresURL]), closed and dropped
// when the test ends.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, store.Config{PostgresURL: PostgresURL(t)})
}

// PostgresURL creates an empty database named after the test, plus a random suffix, and returns
// its URL, for tests that open the store themselves (a whole server, a reopen). The database is
// dropped when the test ends, after the cleanups registered later (such as closing the store).
func PostgresURL(t testing.TB) string {
	t.Helper()
	adminURL := cmp.Or(os.Getenv("HUDDLE_TEST_POSTGRES"), DefaultPostgresURL)
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("HUDDLE_TEST_POSTGRES must be a postgres:// URL, got %q", adminURL)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := connect(ctx, adminURL)
	if err != nil {
		reason := fmt.Sprintf("PostgreSQL at %s unreachable (set HUDDLE_TEST_POSTGRES): %v", u.Redacted(), err)
		if os.Getenv("CI") != "" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	defer func() { _ = admin.Close(context.Background()) }()

	name := databaseName(t.Name())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer func() { _ = admin.Close(context.Background()) }()
		// FORCE ends sessions a test left open, so that one leak does not leave databases behind.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}

func connect(ctx context.Context, rawURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	cfg.ConnectTimeout = 5 * time.Second
	return pgx.ConnectConfig(ctx, cfg)
}

// databaseName turns a test name into a PostgreSQL identifier of at most 63 bytes, unique thanks
// to a random suffix.
func databaseName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	const maxLen = 63 - len("huddle__") - 8
	base := b.String()
	if len(base) > maxLen {
		base = base[:maxLen]
	}
	return "huddle_" + base + "_" + hex.EncodeToString(suffix)
}

func open(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := store.Open(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
