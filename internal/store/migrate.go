package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds the schema's history: goose SQL files (-- +goose Up / Down) numbered in the
// order they apply, each written in SQL both engines accept. A released file is never edited; a
// change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// newMigrator returns a goose provider for the embedded migrations on s. It uses no goose global
// state, so stores in one process (tests) migrate independently.
func newMigrator(s *Store, logger *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("embedded migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSlog(logger), goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		// The nodes of a cluster start together: a session advisory lock lets one migrate
		// while the others wait (polling each second, for up to 5 minutes). The lock is per
		// database, so test databases do not wait for one another.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// migrate applies pending migrations, logging each, and returns the schema version reached and
// how many migrations were applied.
func migrate(ctx context.Context, s *Store, logger *slog.Logger) (version int64, applied int, err error) {
	p, err := newMigrator(s, logger)
	if err != nil {
		return 0, 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, 0, err // goose names the migration that failed
	}
	for _, r := range results {
		logger.Info("store migration applied", "file", r.Source.Path, "version", r.Source.Version, "duration", r.Duration)
	}
	version, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, len(results), nil
}
