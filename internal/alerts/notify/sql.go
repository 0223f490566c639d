package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/store"
)

// The not-founds of this package, each answered 404.
var (
	ErrNoContactPoint = &httpapi.Error{Code: httpapi.CodeNotFound, Msg: "no such contact point"}
	ErrNoSilence      = &httpapi.Error{Code: httpapi.CodeNotFound, Msg: "no such silence"}
)

func newID() string { return strings.ToLower(rand.Text()[:16]) }

const contactPointColumns = "id, name, kind, settings, timeout_ms, attempts, updated_by, updated_at"

func scanContactPoint(row interface{ Scan(...any) error }) (ContactPoint, error) {
	var (
		cp        ContactPoint
		raw       string
		timeoutMS int64
		updatedAt int64
	)
	if err := row.Scan(&cp.ID, &cp.Name, &cp.Kind, &raw, &timeoutMS, &cp.Attempts, &cp.UpdatedBy, &updatedAt); err != nil {
		return cp, err
	}
	s, err := newSettings(cp.Kind)
	if err != nil {
		return cp, fmt.Errorf("contact point %s: %w", cp.ID, err)
	}
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		return cp, fmt.Errorf("contact point %s settings: %w", cp.ID, err)
	}
	cp.Settings = s
	cp.timeout = time.Duration(timeoutMS) * time.Millisecond
	cp.Timeout = durationOf(cp.timeout)
	cp.UpdatedAt = time.UnixMilli(updatedAt).UTC()
	return cp, nil
}

func (d *Dispatcher) listContactPoints(ctx context.Context) ([]ContactPoint, error) {
	rows, err := d.store.DB().QueryContext(ctx, "SELECT "+contactPointColumns+" FROM contact_points ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list contact points: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []ContactPoint
	for rows.Next() {
		cp, err := scanContactPoint(rows)
		if err != nil {
			return nil, fmt.Errorf("list contact points: %w", err)
		}
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contact points: %w", err)
	}
	return out, nil
}

func (d *Dispatcher) getContactPoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (ContactPoint, error) {
	cp, err := scanContactPoint(q.QueryRowContext(ctx, d.store.Rebind("SELECT "+contactPointColumns+" FROM contact_points WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return cp, ErrNoContactPoint.Withf("no contact point %q", httpapi.Truncate(id, 64))
	}
	if err != nil {
		return cp, fmt.Errorf("get contact point %s: %w", id, err)
	}
	return cp, nil
}

// ContactPoints lists the contact points, secrets masked.
func (d *Dispatcher) ContactPoints(ctx context.Context) ([]ContactPoint, error) {
	cps, err := d.listContactPoints(ctx)
	for i := range cps {
		cps[i] = cps[i].masked()
	}
	return cps, err
}

// ContactPoint returns one contact point, secrets masked.
func (d *Dispatcher) ContactPoint(ctx context.Context, id string) (ContactPoint, error) {
	cp, err := d.getContactPoint(ctx, d.store.DB(), id)
	if err != nil {
		return cp, err
	}
	return cp.masked(), nil
}

// SaveContactPoint creates cp (when its ID is empty) or replaces the one of its ID; a secret sent
// as Mask keeps the stored one. It returns the contact point as saved, secrets masked.
func (d *Dispatcher) SaveContactPoint(ctx context.Context, cp ContactPoint, by string) (ContactPoint, error) {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	create := cp.ID == ""
	if create {
		cp.ID = newID()
	}
	cp.UpdatedBy, cp.UpdatedAt = by, time.Now().UTC().Truncate(time.Millisecond)
	err := d.store.Tx(ctx, func(tx *sql.Tx) error {
		if !create {
			old, err := d.getContactPoint(ctx, tx, cp.ID)
			if err != nil {
				return err
			}
			if old.Kind == cp.Kind {
				cp.Settings.keep(old.Settings)
			}
		}
		if err := cp.normalize(d.hub); err != nil {
			return err
		}
		raw, err := json.Marshal(cp.Settings)
		if err != nil {
			return err
		}
		args := []any{cp.Name, cp.Kind, string(raw), cp.timeout.Milliseconds(), cp.Attempts, by, cp.UpdatedAt.UnixMilli(), cp.ID}
		if create {
			_, err = tx.ExecContext(ctx, d.store.Rebind(`INSERT INTO contact_points
				(name, kind, settings, timeout_ms, attempts, updated_by, updated_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		} else {
			_, err = tx.ExecContext(ctx, d.store.Rebind(`UPDATE contact_points SET name = ?, kind = ?, settings = ?,
				timeout_ms = ?, attempts = ?, updated_by = ?, updated_at = ? WHERE id = ?`), args...)
		}
		if store.IsUniqueViolation(err) {
			return httpapi.Conflict("a contact point named %q exists", httpapi.Truncate(cp.Name, 64))
		}
		return err
	})
	if err != nil {
		return ContactPoint{}, err
	}
	if w := d.worker(cp.ID); w != nil {
		w.cp.Store(&deliverer{cp, d.senderFor(&cp)})
	} else {
		d.startWorker(&cp)
	}
	return cp.masked(), nil
}

// DeleteContactPoint removes a contact point no policy names.
func (d *Dispatcher) DeleteContactPoint(ctx context.Context, id string) error {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	pol, err := d.loadPolicy(ctx)
	if err != nil {
		return err
	}
	if pol != nil && pol.names(id) {
		return httpapi.Conflict("the notification policy sends to this contact point: change the policy first")
	}
	res, err := d.store.DB().ExecContext(ctx, d.store.Rebind("DELETE FROM contact_points WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("delete contact point %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoContactPoint.Withf("no contact point %q", httpapi.Truncate(id, 64))
	}
	d.wmu.Lock()
	if w := d.workers[id]; w != nil {
		close(w.quit)
		delete(d.workers, id)
	}
	d.wmu.Unlock()
	return nil
}

// names reports whether p sends to contact point id.
func (p *Policy) names(id string) bool {
	if p.ContactPoint == id {
		return true
	}
	for _, r := range p.Routes {
		if r.ContactPoint == id {
			return true
		}
	}
	return false
}

// loadPolicy returns the stored policy, or nil when none was ever saved.
func (d *Dispatcher) loadPolicy(ctx context.Context) (*Policy, error) {
	var (
		raw       string
		by        string
		updatedAt int64
	)
	err := d.store.DB().QueryRowContext(ctx, "SELECT policy, updated_by, updated_at FROM notification_policy WHERE id = 1").
		Scan(&raw, &by, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load notification policy: %w", err)
	}
	var p Policy
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("load notification policy: %w", err)
	}
	p.UpdatedBy, p.UpdatedAt = by, time.UnixMilli(updatedAt).UTC()
	return &p, nil
}

// Policy returns the notification policy; before one is saved, a default policy without a
// contact point, which sends nothing.
func (d *Dispatcher) Policy(ctx context.Context) (Policy, error) {
	p, err := d.loadPolicy(ctx)
	if err != nil || p == nil {
		return Policy{GroupBy: []string{"alertname"}, GroupWait: durationOf(defaultGroupWait), GroupInterval: durationOf(defaultGroupInterval),
			RepeatInterval: durationOf(defaultRepeatInterval), Routes: []Route{}}, err
	}
	return *p, nil
}

// SetPolicy validates and saves p, then routes new alerts by it. Groups of routes it keeps
// unchanged go on; the others end without another notification.
func (d *Dispatcher) SetPolicy(ctx context.Context, p Policy, by string) (Policy, error) {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	c, err := p.compile(d.hasContactPoint)
	if err != nil {
		return Policy{}, err
	}
	if p.Routes == nil {
		p.Routes = []Route{}
	}
	p.UpdatedBy, p.UpdatedAt = by, time.Now().UTC().Truncate(time.Millisecond)
	stored := p
	stored.UpdatedBy, stored.UpdatedAt = "", time.Time{}
	raw, err := json.Marshal(stored)
	if err != nil {
		return Policy{}, err
	}
	err = d.store.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM notification_policy WHERE id = 1"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, d.store.Rebind("INSERT INTO notification_policy (id, policy, updated_by, updated_at) VALUES (1, ?, ?, ?)"),
			string(raw), by, p.UpdatedAt.UnixMilli())
		return err
	})
	if err != nil {
		return Policy{}, fmt.Errorf("save notification policy: %w", err)
	}
	d.mu.Lock()
	d.policy = c
	kept := map[string]bool{}
	for _, r := range append(c.routes, c.def) {
		kept[r.id] = true
	}
	for key, g := range d.groups {
		if !kept[g.route.id] {
			// Its goroutine finds it empty at its next flush and closes it.
			g.mu.Lock()
			clear(g.alerts)
			g.mu.Unlock()
			delete(d.groups, key)
		}
	}
	d.mu.Unlock()
	return p, nil
}

const silenceColumns = "id, matchers, starts_at, ends_at, created_by, comment"

// listSilences returns the silences, newest first; only those not expired when current.
func (d *Dispatcher) listSilences(ctx context.Context, current bool) ([]*Silence, error) {
	q := "SELECT " + silenceColumns + " FROM silences"
	var args []any
	if current {
		q += " WHERE ends_at > ?"
		args = append(args, time.Now().UnixMilli())
	}
	rows, err := d.store.DB().QueryContext(ctx, d.store.Rebind(q+" ORDER BY created_at DESC LIMIT 1000"), args...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []*Silence{}
	for rows.Next() {
		var (
			s          Silence
			raw        string
			start, end int64
		)
		if err := rows.Scan(&s.ID, &raw, &start, &end, &s.CreatedBy, &s.Comment); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		if err := json.Unmarshal([]byte(raw), &s.Matchers); err != nil {
			return nil, fmt.Errorf("silence %s: %w", s.ID, err)
		}
		if err := s.compile(); err != nil {
			return nil, fmt.Errorf("silence %s: %w", s.ID, err)
		}
		s.StartsAt, s.EndsAt = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC()
		out = append(out, &s)
	}
	return out, rows.Err()
}

// Silences lists the silences, newest first, each with its state.
func (d *Dispatcher) Silences(ctx context.Context) ([]*Silence, error) {
	list, err := d.listSilences(ctx, false)
	now := time.Now()
	for _, s := range list {
		s.State = s.state(now)
	}
	return list, err
}

// maxSilenceComment bounds a silence's comment.
const maxSilenceComment = 4096

// CreateSilence validates and saves s; it applies from its start.
func (d *Dispatcher) CreateSilence(ctx context.Context, s Silence) (*Silence, error) {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	if err := s.compile(); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	s.StartsAt, s.EndsAt = s.StartsAt.UTC().Truncate(time.Millisecond), s.EndsAt.UTC().Truncate(time.Millisecond)
	switch {
	case !s.EndsAt.After(s.StartsAt):
		return nil, httpapi.Invalid("endsAt", "endsAt must be after startsAt")
	case !s.EndsAt.After(now):
		return nil, httpapi.Invalid("endsAt", "endsAt must be in the future")
	case len(s.Comment) > maxSilenceComment:
		return nil, httpapi.Invalid("comment", "comment: at most %d bytes", maxSilenceComment)
	}
	s.ID = newID()
	raw, _ := json.Marshal(s.Matchers)
	_, err := d.store.DB().ExecContext(ctx, d.store.Rebind(`INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), s.ID, string(raw), s.StartsAt.UnixMilli(), s.EndsAt.UnixMilli(), s.CreatedBy, s.Comment, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("save silence: %w", err)
	}
	if err := d.reloadSilences(ctx); err != nil {
		return nil, err
	}
	s.State = s.state(now)
	return &s, nil
}

// ExpireSilence ends silence id now; an expired one stays as it is.
func (d *Dispatcher) ExpireSilence(ctx context.Context, id string) error {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	now := time.Now().UnixMilli()
	var ends int64
	err := d.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, d.store.Rebind("SELECT ends_at FROM silences WHERE id = ?"), id).Scan(&ends); err != nil {
			return err
		}
		if ends <= now {
			return nil
		}
		// A pending silence ends before it starts: starts_at moves back so the range stays valid.
		_, err := tx.ExecContext(ctx, d.store.Rebind("UPDATE silences SET ends_at = ?, starts_at = CASE WHEN starts_at > ? THEN ? ELSE starts_at END WHERE id = ?"),
			now, now, now, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoSilence.Withf("no silence %q", httpapi.Truncate(id, 64))
	}
	if err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	return d.reloadSilences(ctx)
}

func (d *Dispatcher) reloadSilences(ctx context.Context) error {
	list, err := d.listSilences(ctx, true)
	if err != nil {
		return err
	}
	d.silences.Store(&list)
	return nil
}

// seq orders delivery log entries: unix nanoseconds, made strictly increasing.
var lastSeq atomic.Int64

func nextSeq() int64 {
	for {
		last, now := lastSeq.Load(), time.Now().UnixNano()
		next := max(now, last+1)
		if lastSeq.CompareAndSwap(last, next) {
			return next
		}
	}
}

func (d *Dispatcher) insertDeliveries(ctx context.Context, ds []Delivery) error {
	q := d.store.Rebind(`INSERT INTO alert_deliveries (id, seq, incident_id, fingerprint, contact_point_id, contact_point_name,
		kind, attempt, at, status, error, http_status, test) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	return d.store.Tx(ctx, func(tx *sql.Tx) error {
		for i := range ds {
			dl := &ds[i]
			dl.ID = newID()
			test := 0
			if dl.Test {
				test = 1
			}
			if _, err := tx.ExecContext(ctx, q, dl.ID, nextSeq(), dl.IncidentID, dl.Fingerprint, dl.ContactPointID, dl.ContactPointName,
				dl.Kind, dl.Attempt, dl.At.UnixMilli(), dl.Status, httpapi.Truncate(dl.Error, 1024), dl.HTTPStatus, test); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeliveryFilter selects entries of the delivery log; empty fields select all.
type DeliveryFilter struct {
	IncidentID  string
	Fingerprint string
	Limit       int // default 100
}

// Deliveries returns the newest entries of the delivery log that f selects, newest first.
func (d *Dispatcher) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	q := `SELECT id, incident_id, fingerprint, contact_point_id, contact_point_name, kind, attempt, at, status, error,
		http_status, test FROM alert_deliveries WHERE 1 = 1`
	var args []any
	if f.IncidentID != "" {
		q += " AND incident_id = ?"
		args = append(args, f.IncidentID)
	}
	if f.Fingerprint != "" {
		q += " AND fingerprint = ?"
		args = append(args, f.Fingerprint)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, limit)
	rows, err := d.store.DB().QueryContext(ctx, d.store.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []Delivery{}
	for rows.Next() {
		var (
			dl   Delivery
			at   int64
			test int
		)
		if err := rows.Scan(&dl.ID, &dl.IncidentID, &dl.Fingerprint, &dl.ContactPointID, &dl.ContactPointName, &dl.Kind,
			&dl.Attempt, &at, &dl.Status, &dl.Error, &dl.HTTPStatus, &test); err != nil {
			return nil, fmt.Errorf("list alert deliveries: %w", err)
		}
		dl.At, dl.Test = time.UnixMilli(at).UTC(), test == 1
		out = append(out, dl)
	}
	return out, rows.Err()
}

func (d *Dispatcher) pruneDeliveries(ctx context.Context) error {
	_, err := d.store.DB().ExecContext(ctx, d.store.Rebind("DELETE FROM alert_deliveries WHERE at < ?"),
		time.Now().Add(-d.retention).UnixMilli())
	return err
}
