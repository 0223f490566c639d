package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// tables are those the migrations create.
var tables = []string{"users", "sessions", "api_keys", "audit_log", "dashboard_permissions",
	"dashboards", "annotations", "annotation_tags", "provisioning"}

func TestOpenMigratesFreshDatabase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p, err := store.Migrator(s)
		if err != nil {
			t.Fatal(err)
		}
		current, target, err := p.GetVersions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if current != target || current == 0 {
			t.Errorf("schema version %d, want the latest migration %d", current, target)
		}
		for _, table := range tables {
			var n int
			if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

func TestSQLiteSettings(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.Open(t.Context(), store.Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.Dialect() != store.SQLite {
		t.Fatalf("dialect %q, want %q", s.Dialect(), store.SQLite)
	}
	// Every connection must carry the pragmas, so ask several at once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			conn, err := s.DB().Conn(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			for pragma, want := range map[string]string{
				"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "5000",
			} {
				var got string
				if err := conn.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Error(err)
				} else if got != want {
					t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
				}
			}
		})
	}
	wg.Wait()

	// Force the WAL file into existence: it must be as private as the database.
	if _, err := s.DB().ExecContext(t.Context(), "INSERT INTO audit_log (id, at, actor, action) VALUES ('1', 1, 'a', 'b')"); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{dir, filepath.Join(dir, "huddle.db"), filepath.Join(dir, "huddle.db-wal")} {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", file, perm)
		}
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	t.Parallel()
	engines := []struct {
		name string
		cfg  func(t *testing.T) store.Config
	}{
		{"sqlite", func(t *testing.T) store.Config { return store.Config{DataDir: t.TempDir()} }},
		{"postgres", func(t *testing.T) store.Config { return store.Config{PostgresURL: storetest.PostgresURL(t)} }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			cfg := e.cfg(t)
			var log bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&log, nil))

			s, err := store.Open(t.Context(), cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			insertUser(t, s.DB(), s, "u1", "alice")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), "store migration applied") {
				t.Errorf("first open logged no migration:\n%s", log.String())
			}

			log.Reset()
			s, err = store.Open(t.Context(), cfg, logger)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if strings.Contains(log.String(), "store migration applied") || !strings.Contains(log.String(), "migrations_applied=0") {
				t.Errorf("reopen applied migrations again:\n%s", log.String())
			}
			var login string
			if err := s.DB().QueryRowContext(t.Context(), s.Rebind("SELECT login FROM users WHERE id = ?"), "u1").Scan(&login); err != nil || login != "alice" {
				t.Errorf("after reopen: login %q, err %v; want alice", login, err)
			}
		})
	}
}

func TestMigrationsDownAndUpAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p, err := store.Migrator(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(t.Context(), 0); err != nil {
			t.Fatalf("down: %v", err)
		}
		for _, table := range tables {
			if _, err := s.DB().ExecContext(t.Context(), "SELECT 1 FROM "+table); err == nil {
				t.Errorf("table %s survived the down migrations", table)
			}
		}
		if _, err := p.Up(t.Context()); err != nil {
			t.Fatalf("up again: %v", err)
		}
		insertUser(t, s.DB(), s, "u1", "alice")
	})
}

func TestRebindRunsOnBothEngines(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		insertUser(t, s.DB(), s, "u1", "who?")
		var id string
		err := s.DB().QueryRowContext(t.Context(),
			s.Rebind("SELECT id FROM users WHERE login = 'who?' AND role = ? AND created_at = ?"), "viewer", 1).Scan(&id)
		if err != nil || id != "u1" {
			t.Errorf("got id %q, err %v; want u1", id, err)
		}
	})
}

func TestTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.Tx(ctx, func(tx *sql.Tx) error {
			insertUser(t, tx, s, "committed", "committed")
			return nil
		}); err != nil {
			t.Fatalf("commit: %v", err)
		}

		errFn := errors.New("fn failed")
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			insertUser(t, tx, s, "rolled-back", "rolled-back")
			return fmt.Errorf("wrapped: %w", errFn)
		})
		if !errors.Is(err, errFn) {
			t.Errorf("Tx returned %v, want fn's error", err)
		}

		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v, want the panic of fn", p)
				}
			}()
			_ = s.Tx(ctx, func(tx *sql.Tx) error {
				insertUser(t, tx, s, "panicked", "panicked")
				panic("boom")
			})
		}()

		if got := userIDs(t, s); strings.Join(got, ",") != "committed" {
			t.Errorf("users %v, want only the committed one", got)
		}
		if inUse := s.DB().Stats().InUse; inUse != 0 {
			t.Errorf("%d connections still in use after the transactions", inUse)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		insertUser(t, s.DB(), s, "u1", "alice")
		insertUser(t, s.DB(), s, "u2", "bob")
		const oidc = "UPDATE users SET oidc_issuer = 'https://idp', oidc_subject = ? WHERE id = ?"
		if _, err := s.DB().ExecContext(t.Context(), s.Rebind(oidc), "sub-1", "u1"); err != nil {
			t.Fatal(err)
		}
		insert := "INSERT INTO users (id, login, role, created_at, updated_at) VALUES (?, ?, ?, 1, 1)"
		exec := func(query string, args ...any) error {
			_, err := s.DB().ExecContext(t.Context(), s.Rebind(query), args...)
			return err
		}
		tests := []struct {
			name string
			err  error
			want bool
		}{
			{"duplicate primary key", exec(insert, "u1", "carol", "viewer"), true},
			{"duplicate unique column", exec(insert, "u3", "alice", "viewer"), true},
			{"duplicate in partial unique index", exec(oidc, "sub-1", "u2"), true},
			{"wrapped", fmt.Errorf("create user: %w", exec(insert, "u3", "bob", "viewer")), true},
			{"check constraint", exec(insert, "u4", "dave", "owner"), false},
			{"foreign key", exec("INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES ('h', 'nobody', 1, 1, 1)"), false},
			{"syntax", exec("INSERT INTO"), false},
			{"not a database error", errors.New("duplicate"), false},
			{"nil", nil, false},
		}
		for _, tc := range tests {
			if tc.want && tc.err == nil {
				t.Errorf("%s: statement succeeded, want an error", tc.name)
				continue
			}
			if got := store.IsUniqueViolation(tc.err); got != tc.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
			}
		}
		// Users without an OIDC identity share the empty subject: the index must ignore them.
		if err := exec(insert, "u5", "erin", "viewer"); err != nil {
			t.Errorf("second local user: %v", err)
		}
	})
}

func TestForeignKeysCascade(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		insertUser(t, s.DB(), s, "u1", "alice")
		insertUser(t, s.DB(), s, "u2", "bob")
		for _, user := range []string{"u1", "u2"} {
			for _, q := range []string{
				"INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, 1, 2, 1)",
				"INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, role, created_at) VALUES (?, ?, 'k', ?, 'x', 'viewer', 1)",
				"INSERT INTO dashboard_permissions (dashboard_uid, user_id, role) VALUES (?, ?, 'editor')",
			} {
				args := []any{"x-" + user, user}
				if strings.Count(q, "?") == 3 {
					args = append(args, "prefix-"+user)
				}
				if _, err := s.DB().ExecContext(t.Context(), s.Rebind(q), args...); err != nil {
					t.Fatal(err)
				}
			}
		}
		orphan := "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES ('orphan', 'nobody', 1, 2, 1)"
		if _, err := s.DB().ExecContext(t.Context(), orphan); err == nil {
			t.Error("a session of a user that does not exist was inserted: foreign keys are not enforced")
		}
		if _, err := s.DB().ExecContext(t.Context(), s.Rebind("DELETE FROM users WHERE id = ?"), "u1"); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"sessions", "api_keys", "dashboard_permissions"} {
			var left []string
			rows, err := s.DB().QueryContext(t.Context(), "SELECT user_id FROM "+table)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				left = append(left, id)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(left, ",") != "u2" {
				t.Errorf("%s after deleting u1: rows of %v, want only u2's", table, left)
			}
		}
	})
}

// TestConcurrentWriters runs writers at once, as HTTP handlers do: on SQLite they must queue for
// the write lock rather than fail with SQLITE_BUSY, including transactions that read before they
// write (which a deferred BEGIN would fail).
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const writers, rowsEach = 20, 10
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range rowsEach {
					id := fmt.Sprintf("%d-%d", w, i)
					insert := s.Rebind("INSERT INTO audit_log (id, at, actor, action) VALUES (?, ?, 'test', 'write')")
					var err error
					if i%2 == 0 {
						_, err = s.DB().ExecContext(t.Context(), insert, id, time.Now().UnixMilli())
					} else {
						err = s.Tx(t.Context(), func(tx *sql.Tx) error {
							var n int
							if err := tx.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
								return err
							}
							_, err := tx.ExecContext(t.Context(), insert, id, int64(n))
							return err
						})
					}
					if err != nil {
						t.Errorf("writer %d row %d: %v", w, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		var n int
		if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != writers*rowsEach {
			t.Errorf("%d rows, want %d", n, writers*rowsEach)
		}
	})
}

// TestSQLiteReadsGoOnWhileWritersQueue holds the write lock in one transaction while more
// transactions than the pool has connections queue behind it: a read must still get through. It
// runs in a synctest bubble, so that synctest.Wait says when every writer is queued, and the
// read's one-second bound is fake time that passes only if the read is stuck too.
func TestSQLiteReadsGoOnWhileWritersQueue(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := storetest.SQLite(t)
		holding, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			err := s.Tx(t.Context(), func(tx *sql.Tx) error {
				insertUser(t, tx, s, "holder", "holder")
				close(holding)
				<-release
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
		<-holding
		for i := range 20 {
			wg.Go(func() {
				if err := s.Tx(t.Context(), func(tx *sql.Tx) error {
					insertUser(t, tx, s, fmt.Sprint("queued-", i), fmt.Sprint("queued-", i))
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait() // every writer is queued

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		var n int
		err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
		close(release)
		wg.Wait()
		if err != nil {
			t.Fatalf("read while writers queue: %v", err)
		}
		if n != 0 {
			t.Errorf("read saw %d users before any commit, want 0", n)
		}
		if got := len(userIDs(t, s)); got != 21 {
			t.Errorf("%d users after the queue drained, want 21", got)
		}
	})
}

// TestSQLiteNestedTxFails checks that a Tx inside a Tx, which SQLite cannot run, fails after the
// busy timeout rather than hanging.
func TestSQLiteNestedTxFails(t *testing.T) {
	t.Parallel()
	s := storetest.SQLite(t)
	var inner error
	outer := s.Tx(t.Context(), func(*sql.Tx) error {
		inner = s.Tx(t.Context(), func(*sql.Tx) error { return nil })
		return nil
	})
	if outer != nil {
		t.Errorf("outer Tx: %v", outer)
	}
	if inner == nil || !strings.Contains(inner.Error(), "a Tx inside a Tx?") {
		t.Errorf("inner Tx returned %v, want the writer wait to time out", inner)
	}
}

// TestPostgresContextEndsStatement checks that a context deadline acts as a statement timeout:
// the statement stops on the server, and the connection survives for the pool.
func TestPostgresContextEndsStatement(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	conn, err := s.DB().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	backend := func() (pid int) {
		t.Helper()
		if err := conn.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := backend()

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := conn.ExecContext(ctx, "SELECT pg_sleep(30)"); err == nil {
		t.Fatal("pg_sleep(30) finished within a 200 ms context")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("statement returned after %v, want soon after the 200 ms deadline", elapsed)
	}
	if after := backend(); after != before {
		t.Errorf("backend %d after the timeout, want the same connection (%d)", after, before)
	}
	var running int
	err = s.DB().QueryRowContext(t.Context(),
		"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(30)' AND state = 'active'").Scan(&running)
	if err != nil || running != 0 {
		t.Errorf("%d pg_sleep(30) still running on the server (err %v), want 0", running, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cfg      store.Config
		want     []string // substrings of the error
		skipRoot bool     // root writes anywhere
	}{
		{"nothing configured", store.Config{}, []string{"no database configured", "data dir", "PostgreSQL URL"}, false},
		{"data dir is a file", store.Config{DataDir: filepath.Join(notADir, "data")}, []string{"create data dir", notADir, "not a directory", "must be a directory this process can write"}, false},
		{"data dir read-only", store.Config{DataDir: readOnly}, []string{"open SQLite database", "permission denied", "writable"}, true},
		{"malformed PostgreSQL URL", store.Config{PostgresURL: "postgres://huddle:s3cret@db:notaport/huddle"}, []string{"PostgreSQL URL", "want postgres://"}, false},
		{"PostgreSQL unreachable", store.Config{PostgresURL: "postgres://huddle:s3cret@127.0.0.1:1/huddle?connect_timeout=2"}, []string{"connect to PostgreSQL 127.0.0.1:1/huddle", "check the PostgreSQL URL"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.skipRoot && os.Geteuid() == 0 {
				t.Skip("permissions do not stop root")
			}
			s, err := store.Open(t.Context(), tc.cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertUser(t *testing.T, db execer, s *store.Store, id, login string) {
	t.Helper()
	_, err := db.ExecContext(t.Context(),
		s.Rebind("INSERT INTO users (id, login, role, created_at, updated_at) VALUES (?, ?, 'viewer', 1, 1)"), id, login)
	if err != nil {
		t.Fatalf("insert user %s: %v", id, err)
	}
}

func userIDs(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), "SELECT id FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
