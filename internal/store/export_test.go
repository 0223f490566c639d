package store

import (
	"log/slog"

	"github.com/pressly/goose/v3"
)

// Migrator gives the tests the store's goose provider, to run the Down migrations.
func Migrator(s *Store) (*goose.Provider, error) {
	return newMigrator(s, slog.New(slog.DiscardHandler))
}
