package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// ErrNoGroup answers a rule group name that does not exist.
var ErrNoGroup = httpapi.ErrNotFound.Withf("no such rule group")

func errFileGroup(name, file string) error {
	return httpapi.Conflict("rule group %q comes from the rule file %s: change it there", name, file)
}

// RuleStore keeps the rule groups managed over HTTP (and those provisioned on first start) in SQL.
type RuleStore struct{ store Store }

// NewRuleStore returns the groups of st.
func NewRuleStore(st Store) *RuleStore { return &RuleStore{store: st} }

// StoredGroup is a group as stored.
type StoredGroup struct {
	Spec   GroupSpec
	Source string
}

// List returns every stored group.
func (s *RuleStore) List(ctx context.Context) ([]StoredGroup, error) {
	rows, err := s.store.DB().QueryContext(ctx, `SELECT name, spec, source FROM alert_rule_groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list rule groups: %w", err)
	}
	defer rows.Close()
	var out []StoredGroup
	for rows.Next() {
		var name, spec, source string
		if err := rows.Scan(&name, &spec, &source); err != nil {
			return nil, fmt.Errorf("list rule groups: %w", err)
		}
		g := StoredGroup{Source: source}
		if err := json.Unmarshal([]byte(spec), &g.Spec); err != nil {
			return nil, fmt.Errorf("rule group %q: stored spec: %w", name, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Put creates or replaces a group.
func (s *RuleStore) Put(ctx context.Context, spec GroupSpec, source, by string, at time.Time) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode rule group %q: %w", spec.Name, err)
	}
	return s.store.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE alert_rule_groups SET spec = ?, updated_by = ?, updated_at = ?
			WHERE name = ?`), string(data), by, at.UnixMilli(), spec.Name)
		if err != nil {
			return fmt.Errorf("update rule group %q: %w", spec.Name, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO alert_rule_groups (name, spec, source, updated_by,
			updated_at) VALUES (?, ?, ?, ?, ?)`), spec.Name, string(data), source, by, at.UnixMilli()); err != nil {
			return fmt.Errorf("insert rule group %q: %w", spec.Name, err)
		}
		return nil
	})
}

// Delete removes a group.
func (s *RuleStore) Delete(ctx context.Context, name string) error {
	res, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`DELETE FROM alert_rule_groups WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("delete rule group %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoGroup
	}
	return nil
}

// Provision stores each group the first time huddle starts on a database, and never again: a
// team's edits are kept and a deleted group stays deleted. A marker row in the same transaction
// remembers it, so nodes of a cluster starting together provision once. It returns the names
// of the groups it stored.
func (s *RuleStore) Provision(ctx context.Context, groups []GroupSpec, at time.Time) ([]string, error) {
	var stored []string
	for _, g := range groups {
		if err := g.Normalize(); err != nil {
			return stored, fmt.Errorf("provisioned rule group: %w", err)
		}
		data, err := json.Marshal(g)
		if err != nil {
			return stored, fmt.Errorf("encode rule group %q: %w", g.Name, err)
		}
		created := false
		err = s.store.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO provisioning (name, done_at) VALUES (?, ?)
				ON CONFLICT (name) DO NOTHING`), "alert-rules:"+g.Name, at.UnixMilli())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // provisioned before
			}
			// DO NOTHING keeps a group someone created with this name before the marker existed.
			res, err = tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO alert_rule_groups (name, spec, source, updated_by,
				updated_at) VALUES (?, ?, 'provisioned', '', ?) ON CONFLICT (name) DO NOTHING`), g.Name, string(data), at.UnixMilli())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			created = n == 1
			return err
		})
		if err != nil {
			return stored, fmt.Errorf("provision rule group %q: %w", g.Name, err)
		}
		if created {
			stored = append(stored, g.Name)
		}
	}
	return stored, nil
}
