package store_test

import (
	"testing"

	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

func TestOpenMigrates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var n int
		if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
			t.Fatal(err)
		}
	})
}
