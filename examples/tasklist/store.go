package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo)
)

// Task is one entry of the list, as the API and the taskUpdate pushes carry it.
type Task struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Owner       string    `json:"owner"`
	Done        bool      `json:"done"`
	CompletedBy string    `json:"completedBy,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ErrNotFound is returned for a task id that does not exist.
var ErrNotFound = errors.New("task not found")

// Store keeps the tasks in SQLite.
type Store struct {
	db *sql.DB
}

// OpenStore opens (creating it if needed) the SQLite database at path.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	q := url.Values{"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)"}}
	// A file: URI escapes the path, so a path containing ? or # still works.
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// SQLite has one writer anyway; one connection keeps writers from waiting on each other.
	db.SetMaxOpenConns(1)
	const schema = `CREATE TABLE IF NOT EXISTS tasks (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		title        TEXT    NOT NULL,
		owner        TEXT    NOT NULL,
		done         INTEGER NOT NULL DEFAULT 0,
		completed_by TEXT    NOT NULL DEFAULT '',
		created_at   INTEGER NOT NULL
	)`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

const taskColumns = `id, title, owner, done, completed_by, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanTask(r scanner) (Task, error) {
	var t Task
	var created int64
	err := r.Scan(&t.ID, &t.Title, &t.Owner, &t.Done, &t.CompletedBy, &created)
	t.CreatedAt = time.UnixMilli(created).UTC()
	return t, err
}

// List returns every task, oldest first.
func (s *Store) List(ctx context.Context) ([]Task, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	tasks := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, nil
}

// Add stores a new open task of owner.
func (s *Store) Add(ctx context.Context, title, owner string, now time.Time) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx,
		`INSERT INTO tasks (title, owner, created_at) VALUES (?, ?, ?) RETURNING `+taskColumns,
		title, owner, now.UnixMilli()))
	if err != nil {
		return Task{}, fmt.Errorf("add task: %w", err)
	}
	return t, nil
}

// Complete marks task id done by user. changed is false when it was done already, in which case
// the task is returned as it was (completed by whoever did it first).
func (s *Store) Complete(ctx context.Context, id int64, user string) (t Task, changed bool, err error) {
	t, err = scanTask(s.db.QueryRowContext(ctx,
		`UPDATE tasks SET done = 1, completed_by = ? WHERE id = ? AND done = 0 RETURNING `+taskColumns, user, id))
	if err == nil {
		return t, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Task{}, false, fmt.Errorf("complete task %d: %w", id, err)
	}
	t, err = scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, false, ErrNotFound
	}
	if err != nil {
		return Task{}, false, fmt.Errorf("complete task %d: %w", id, err)
	}
	return t, false, nil
}
