package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo)
)

// SQLite settings. SQLite lets one connection write at a time; WAL lets any number read meanwhile.
const (
	// sqliteBusyTimeout is how long a write waits for the write lock before it fails. Writes are
	// short (a row or a few), so a wait this long means a stuck writer or an overload, not a
	// burst.
	sqliteBusyTimeout = 5 * time.Second
	// sqliteMaxConns bounds the pool. Transactions queue for the one writer in Go
	// (acquireWriter) and take a connection only when their turn comes, so the rest of the pool
	// serves readers, which WAL runs in parallel. modernc's SQLite is CPU-bound Go code, so many
	// more readers than a small server's cores add nothing. Idle connections are kept (no
	// lifetime) because each new one re-reads the schema and reruns the pragmas.
	sqliteMaxConns = 8
)

// openSQLite opens <dataDir>/huddle.db, creating the directory (0700) and file (0600) if needed.
// It returns the Store and the file's path.
func openSQLite(ctx context.Context, dataDir string) (*Store, string, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, "", fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create data dir: %w (the data dir must be a directory this process can write)", err)
	}
	path := filepath.Join(dir, "huddle.db")
	// SQLite would create the file 0644; password and session hashes are nobody else's business.
	// SQLite gives the -wal and -shm files the mode of the database file, so they follow.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite database: %w (the data dir and huddle.db must be writable by this process)", err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("open SQLite database: %w", err)
	}

	// modernc.org/sqlite runs each _pragma on every new connection, busy_timeout first.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	// SQLite leaves foreign keys unenforced unless each connection asks.
	q.Add("_pragma", "foreign_keys(1)")
	// WAL: readers do not block the writer nor the writer them.
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable against a crash of the process and consistent after power loss in WAL
	// mode (the last commits may be lost), and saves an fsync per commit.
	q.Add("_pragma", "synchronous(NORMAL)")
	// BEGIN IMMEDIATE: see Store.Tx.
	q.Set("_txlock", "immediate")
	// A file: URI escapes the path, so a data dir containing ? or # still works.
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(sqliteMaxConns)
	db.SetMaxIdleConns(sqliteMaxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, "", fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	return &Store{db: db, dialect: SQLite, writer: make(chan struct{}, 1)}, path, nil
}

// acquireWriter queues for the right to write, on SQLite. Transactions queue here, in Go, rather
// than in SQLite's busy handler, because a connection in the busy handler sleeps and polls while
// it holds one of the pool's few connections: a burst of writers would take them all and stall
// every reader, and polling serves waiters in no particular order. Waiting here holds no
// connection and serves waiters about in turn. The wait is bounded like the busy timeout, so that
// a nested Tx fails instead of hanging. On PostgreSQL (writer is nil) it does nothing.
func (s *Store) acquireWriter(ctx context.Context) (release func(), err error) {
	if s.writer == nil {
		return func() {}, nil
	}
	timer := time.NewTimer(sqliteBusyTimeout)
	defer timer.Stop()
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the SQLite writer: %w", context.Cause(ctx))
	case <-timer.C:
		return nil, fmt.Errorf("wait for the SQLite writer: another transaction has held it for %v (a Tx inside a Tx?)", sqliteBusyTimeout)
	}
}
