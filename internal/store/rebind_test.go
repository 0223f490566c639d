package store

import "testing"

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, postgres string
	}{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"in order", "UPDATE users SET name = ?, role = ? WHERE id = ?", "UPDATE users SET name = $1, role = $2 WHERE id = $3"},
		{"ten and more", "VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
		{"string literal", "SELECT '?', ? WHERE a = 'it''s ?'", "SELECT '?', $1 WHERE a = 'it''s ?'"},
		{"quoted identifier", `SELECT "a?b" FROM t WHERE c = ?`, `SELECT "a?b" FROM t WHERE c = $1`},
		{"line comment", "SELECT ? -- why?\nFROM t WHERE a = ?", "SELECT $1 -- why?\nFROM t WHERE a = $2"},
		{"block comment", "SELECT /* ? */ ? FROM t", "SELECT /* ? */ $1 FROM t"},
		{"unterminated literal", "SELECT ? WHERE a = 'x?", "SELECT $1 WHERE a = 'x?"},
		{"comment at end", "SELECT ? --?", "SELECT $1 --?"},
		{"minus is not a comment", "SELECT ? - ?", "SELECT $1 - $2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&Store{dialect: Postgres}).Rebind(tc.query); got != tc.postgres {
				t.Errorf("postgres: Rebind(%q) = %q, want %q", tc.query, got, tc.postgres)
			}
			if got := (&Store{dialect: SQLite}).Rebind(tc.query); got != tc.query {
				t.Errorf("sqlite: Rebind(%q) = %q, want it unchanged", tc.query, got)
			}
		})
	}
}
