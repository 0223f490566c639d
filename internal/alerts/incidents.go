package alerts

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/rules"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Person is who did something to an incident, named as they were named then.
type Person struct {
	Login string `json:"login"`
	Name  string `json:"name"`
}

// Incident states, the rule's view of its alert instance.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Incident is one firing episode of one alert instance: from the evaluation that found it
// firing to the one that found it gone, and what people did about it meanwhile.
type Incident struct {
	ID             string            `json:"id"`
	Rule           string            `json:"rule"`
	Group          string            `json:"group"`
	Fingerprint    string            `json:"fingerprint"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Severity       int               `json:"severity"`
	Value          string            `json:"value"`
	State          string            `json:"state"`
	FiredAt        time.Time         `json:"firedAt"`
	ResolvedAt     *time.Time        `json:"resolvedAt"`
	TakenBy        *Person           `json:"takenBy"`
	AcknowledgedBy *Person           `json:"acknowledgedBy"`
	AcknowledgedAt *time.Time        `json:"acknowledgedAt"`
	ClosedBy       *Person           `json:"closedBy"`
	ClosedAt       *time.Time        `json:"closedAt"`
	Comments       int               `json:"comments"`
}

// Timeline entry kinds.
const (
	EntryFired        = "fired"
	EntryNotified     = "notified"
	EntryTaken        = "taken"
	EntryReleased     = "released"
	EntryComment      = "comment"
	EntryAcknowledged = "acknowledged"
	EntryResolved     = "resolved"
	EntryClosed       = "closed"
)

// Entry is one line of an incident's timeline.
type Entry struct {
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	User *Person   `json:"user"`
	Text string    `json:"text"`
}

// MaxCommentLength bounds a comment, in characters.
const MaxCommentLength = 4000

// ErrNoIncident answers an incident id that does not exist.
var ErrNoIncident = httpapi.ErrNotFound.Withf("no such incident")

// Store is the SQL the alerts keep rule groups and incidents in (*store.Store).
type Store interface {
	DB() *sql.DB
	Rebind(query string) string
	Tx(ctx context.Context, fn func(*sql.Tx) error) error
}

// Publisher carries live changes to everyone watching alerts: the hub's alerts group.
type Publisher interface {
	SendToGroup(ctx context.Context, group string, data []byte) error
}

// Incidents keeps incidents and their timelines in SQL and tells the alerts group of every
// change, after its transaction commits (write, then notify).
type Incidents struct {
	store  Store
	pub    Publisher
	group  string
	now    func() time.Time
	logger *slog.Logger
}

// NewIncidents returns incidents on st, announcing changes to group through pub (nil: nobody).
func NewIncidents(st Store, pub Publisher, group string, now func() time.Time, logger *slog.Logger) *Incidents {
	if now == nil {
		now = time.Now
	}
	return &Incidents{store: st, pub: pub, group: group, now: now, logger: logger}
}

// instanceKey names an alert instance across evaluations and restarts.
type instanceKey struct{ group, rule, fingerprint string }

// firingInstance is an alert instance that fires, as the rule engine has it.
type firingInstance struct {
	key      instanceKey
	alert    rules.Alert
	severity int
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:16]) }

var lastEntry atomic.Int64

// newEntryID orders entries written in the same millisecond by this process as they were
// written: a timeline sorts by time, then id.
func newEntryID() string {
	now := time.Now().UnixNano()
	for {
		last := lastEntry.Load()
		next := max(now, last+1)
		if lastEntry.CompareAndSwap(last, next) {
			return fmt.Sprintf("ev_%016x%s", next, strings.ToLower(rand.Text()[:4]))
		}
	}
}

const incidentColumns = `id, group_name, rule, fingerprint, labels, annotations, severity, value, state, fired_at,
	resolved_at, taken_by, taken_by_name, acknowledged_by, acknowledged_by_name, acknowledged_at, closed_by,
	closed_by_name, closed_at, comments`

type rowScanner interface{ Scan(dest ...any) error }

func scanIncident(row rowScanner) (Incident, error) {
	var (
		in                                             Incident
		labels, annotations                            string
		fired, resolved, acked, closed                 int64
		taken, takenName, ackBy, ackName, closedBy, cn string
	)
	err := row.Scan(&in.ID, &in.Group, &in.Rule, &in.Fingerprint, &labels, &annotations, &in.Severity, &in.Value,
		&in.State, &fired, &resolved, &taken, &takenName, &ackBy, &ackName, &acked, &closedBy, &cn, &closed, &in.Comments)
	if err != nil {
		return in, err
	}
	if err := json.Unmarshal([]byte(labels), &in.Labels); err != nil {
		return in, fmt.Errorf("incident %s labels: %w", in.ID, err)
	}
	if err := json.Unmarshal([]byte(annotations), &in.Annotations); err != nil {
		return in, fmt.Errorf("incident %s annotations: %w", in.ID, err)
	}
	in.FiredAt = time.UnixMilli(fired).UTC()
	in.ResolvedAt = optionalTime(resolved)
	in.TakenBy = optionalPerson(taken, takenName)
	in.AcknowledgedBy = optionalPerson(ackBy, ackName)
	in.AcknowledgedAt = optionalTime(acked)
	in.ClosedBy = optionalPerson(closedBy, cn)
	in.ClosedAt = optionalTime(closed)
	return in, nil
}

func optionalTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func optionalPerson(login, name string) *Person {
	if login == "" {
		return nil
	}
	return &Person{Login: login, Name: name}
}

// Get returns an incident and its timeline, oldest entry first.
func (s *Incidents) Get(ctx context.Context, id string) (Incident, []Entry, error) {
	in, err := scanIncident(s.store.DB().QueryRowContext(ctx,
		s.store.Rebind(`SELECT `+incidentColumns+` FROM alert_incidents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, nil, ErrNoIncident
	}
	if err != nil {
		return in, nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(
		`SELECT id, at, kind, login, name, text FROM alert_incident_events WHERE incident_id = ? ORDER BY at, id`), id)
	if err != nil {
		return in, nil, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	defer rows.Close()
	timeline := []Entry{}
	for rows.Next() {
		var (
			e           Entry
			at          int64
			login, name string
		)
		if err := rows.Scan(&e.ID, &at, &e.Kind, &login, &name, &e.Text); err != nil {
			return in, nil, fmt.Errorf("read timeline of incident %s: %w", id, err)
		}
		e.At = time.UnixMilli(at).UTC()
		e.User = optionalPerson(login, name)
		timeline = append(timeline, e)
	}
	return in, timeline, rows.Err()
}

// Filter selects incidents to list.
type Filter struct {
	// State is firing, resolved, open (firing, or resolved but not closed by a person) or all.
	State string
	// Severities, when not empty, keeps those levels only.
	Severities []int
	// Text, when set, keeps incidents whose rule, labels or annotations contain it.
	Text  string
	Limit int
}

// MaxListed bounds one listing.
const MaxListed = 1000

// List returns incidents, newest first.
func (s *Incidents) List(ctx context.Context, f Filter) ([]Incident, error) {
	var (
		where []string
		args  []any
	)
	switch f.State {
	case "", "open":
		where = append(where, "(state = ? OR closed_at = 0)")
		args = append(args, StateFiring)
	case StateFiring, StateResolved:
		where = append(where, "state = ?")
		args = append(args, f.State)
	case "all":
	default:
		return nil, httpapi.Invalid("state", "state must be firing, resolved, open or all")
	}
	if len(f.Severities) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(f.Severities)), ", ")
		where = append(where, "severity IN ("+marks+")")
		for _, sev := range f.Severities {
			args = append(args, sev)
		}
	}
	if f.Text != "" {
		// The text is a bound parameter; only LIKE's own wildcards need escaping.
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Text)) + "%"
		where = append(where, `(LOWER(rule) LIKE ? ESCAPE '\' OR LOWER(labels) LIKE ? ESCAPE '\' OR LOWER(annotations) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxListed {
		limit = MaxListed
	}
	q := `SELECT ` + incidentColumns + ` FROM alert_incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY fired_at DESC, id LIMIT " + strconv.Itoa(limit)
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	out := []Incident{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Prune deletes the incidents resolved by their rule before before, with their timelines, and
// says how many.
func (s *Incidents) Prune(ctx context.Context, before time.Time) (int64, error) {
	// Their timelines go with them: the foreign key cascades, enforced on both engines.
	res, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`DELETE FROM alert_incidents WHERE state = ? AND resolved_at < ?`),
		StateResolved, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune incidents: %w", err)
	}
	return res.RowsAffected()
}

// firing returns the firing incidents by instance, so that an evaluation after a restart
// continues them rather than opening new ones.
func (s *Incidents) firing(ctx context.Context) (map[instanceKey]string, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(
		`SELECT id, group_name, rule, fingerprint FROM alert_incidents WHERE state = ?`), StateFiring)
	if err != nil {
		return nil, fmt.Errorf("list firing incidents: %w", err)
	}
	defer rows.Close()
	out := map[instanceKey]string{}
	for rows.Next() {
		var (
			id string
			k  instanceKey
		)
		if err := rows.Scan(&id, &k.group, &k.rule, &k.fingerprint); err != nil {
			return nil, fmt.Errorf("list firing incidents: %w", err)
		}
		out[k] = id
	}
	return out, rows.Err()
}

// open records a newly firing instance.
func (s *Incidents) open(ctx context.Context, f firingInstance) (string, error) {
	labels, _ := json.Marshal(f.alert.Labels.Map())
	annotations, _ := json.Marshal(f.alert.Annotations.Map())
	value, firedAt := FormatValue(f.alert.Value), f.alert.FiredAt
	id := newID("inc_")
	var e Entry
	err := s.store.Tx(ctx, func(tx *sql.Tx) (err error) {
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO alert_incidents (id, group_name, rule, fingerprint,
			labels, annotations, severity, value, state, fired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			id, f.key.group, f.key.rule, f.key.fingerprint, string(labels), string(annotations), f.severity, value,
			StateFiring, firedAt.UnixMilli()); err != nil {
			return fmt.Errorf("insert incident: %w", err)
		}
		e, err = s.addEntry(ctx, tx, id, Entry{At: firedAt, Kind: EntryFired, Text: value})
		return err
	})
	if err != nil {
		return "", err
	}
	s.announce(ctx, id, e)
	return id, nil
}

// resolve records that the rule no longer finds the instance firing.
func (s *Incidents) resolve(ctx context.Context, id string, at time.Time) error {
	var e Entry
	err := s.store.Tx(ctx, func(tx *sql.Tx) (err error) {
		res, err := tx.ExecContext(ctx, s.store.Rebind(
			`UPDATE alert_incidents SET state = ?, resolved_at = ? WHERE id = ? AND state = ?`),
			StateResolved, at.UnixMilli(), id, StateFiring)
		if err != nil {
			return fmt.Errorf("resolve incident %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		e, err = s.addEntry(ctx, tx, id, Entry{At: at, Kind: EntryResolved})
		return err
	})
	if err != nil || e.ID == "" {
		return err
	}
	s.announce(ctx, id, e)
	return nil
}

// Notified puts a delivery on the incident's timeline, e.g. "webhook ops: delivered".
func (s *Incidents) Notified(ctx context.Context, id, text string, at time.Time) error {
	_, err := s.change(ctx, id, Entry{At: at, Kind: EntryNotified, Text: text}, "")
	return err
}

// Take makes by the one handling the incident; taking it from someone else is allowed, and
// the timeline says from whom.
func (s *Incidents) Take(ctx context.Context, id string, by Person) (Incident, error) {
	return s.act(ctx, id, by, EntryTaken, "", `taken_by = ?, taken_by_name = ?`, by.Login, by.Name)
}

// Release leaves the incident to be taken by someone else.
func (s *Incidents) Release(ctx context.Context, id string, by Person) (Incident, error) {
	return s.act(ctx, id, by, EntryReleased, "", `taken_by = '', taken_by_name = ''`)
}

// Acknowledge records that by has seen the incident.
func (s *Incidents) Acknowledge(ctx context.Context, id string, by Person) (Incident, error) {
	return s.act(ctx, id, by, EntryAcknowledged, "", `acknowledged_by = ?, acknowledged_by_name = ?, acknowledged_at = ?`,
		by.Login, by.Name, s.now().UnixMilli())
}

// Close records that a person resolved the incident, with an optional closing note.
func (s *Incidents) Close(ctx context.Context, id string, by Person, text string) (Incident, error) {
	if err := checkText(text, false); err != nil {
		return Incident{}, err
	}
	return s.act(ctx, id, by, EntryClosed, text, `closed_by = ?, closed_by_name = ?, closed_at = ?`,
		by.Login, by.Name, s.now().UnixMilli())
}

// Comment adds a comment to the incident's timeline.
func (s *Incidents) Comment(ctx context.Context, id string, by Person, text string) (Entry, error) {
	if err := checkText(text, true); err != nil {
		return Entry{}, err
	}
	return s.change(ctx, id, Entry{At: s.now(), Kind: EntryComment, User: &by, Text: text}, `comments = comments + 1`)
}

func checkText(text string, required bool) error {
	n := utf8.RuneCountInString(text)
	switch {
	case !utf8.ValidString(text):
		return httpapi.Invalid("text", "text must be UTF-8")
	case required && strings.TrimSpace(text) == "":
		return httpapi.Invalid("text", "text must not be empty")
	case n > MaxCommentLength:
		return httpapi.Invalid("text", "text is %d characters long, at most %d are allowed", n, MaxCommentLength)
	}
	return nil
}

// act applies a person's action: set is the assignment list of the UPDATE, args its values.
func (s *Incidents) act(ctx context.Context, id string, by Person, kind, text, set string, args ...any) (Incident, error) {
	e := Entry{At: s.now(), Kind: kind, User: &by, Text: text}
	if kind == EntryTaken {
		in, _, err := s.Get(ctx, id)
		if err != nil {
			return Incident{}, err
		}
		if in.TakenBy != nil && in.TakenBy.Login != by.Login {
			e.Text = "from " + in.TakenBy.Name
		}
	}
	if _, err := s.change(ctx, id, e, set, args...); err != nil {
		return Incident{}, err
	}
	in, _, err := s.Get(ctx, id)
	return in, err
}

// change updates an incident (set, when not empty), adds an entry to its timeline in the same
// transaction and announces both.
func (s *Incidents) change(ctx context.Context, id string, e Entry, set string, args ...any) (Entry, error) {
	err := s.store.Tx(ctx, func(tx *sql.Tx) (err error) {
		q := `UPDATE alert_incidents SET id = id WHERE id = ?`
		if set != "" {
			q = `UPDATE alert_incidents SET ` + set + ` WHERE id = ?`
		}
		res, err := tx.ExecContext(ctx, s.store.Rebind(q), append(args, id)...)
		if err != nil {
			return fmt.Errorf("update incident %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoIncident
		}
		e, err = s.addEntry(ctx, tx, id, e)
		return err
	})
	if err != nil {
		return e, err
	}
	s.announce(ctx, id, e)
	return e, nil
}

// addEntry writes e to id's timeline and returns it with its id, for the caller to announce once
// tx commits.
func (s *Incidents) addEntry(ctx context.Context, tx *sql.Tx, id string, e Entry) (Entry, error) {
	e.ID = newEntryID()
	var login, name string
	if e.User != nil {
		login, name = e.User.Login, e.User.Name
	}
	if _, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO alert_incident_events (id, incident_id, at, kind,
		login, name, text) VALUES (?, ?, ?, ?, ?, ?, ?)`), e.ID, id, e.At.UnixMilli(), e.Kind, login, name, e.Text); err != nil {
		return e, fmt.Errorf("add %s to the timeline of incident %s: %w", e.Kind, id, err)
	}
	return e, nil
}

// announce tells the alerts group of a committed change: the timeline entry, then the incident
// as it is now.
func (s *Incidents) announce(ctx context.Context, id string, e Entry) {
	if s.pub == nil {
		return
	}
	s.publish(ctx, map[string]any{"type": "timeline", "incidentId": id, "entry": e})
	in, _, err := s.Get(ctx, id)
	if err != nil {
		s.logger.Warn("could not read a changed incident to announce it", "incident", id, "err", err)
		return
	}
	s.publish(ctx, map[string]any{"type": "incident", "incident": in})
}

// AnnounceRules tells watchers that rules or their states changed.
func (s *Incidents) AnnounceRules(ctx context.Context) {
	if s.pub != nil {
		s.publish(ctx, map[string]string{"type": "rules"})
	}
}

func (s *Incidents) publish(ctx context.Context, msg any) {
	data, err := json.Marshal(msg)
	if err == nil {
		err = s.pub.SendToGroup(ctx, s.group, data)
	}
	if err != nil {
		s.logger.Warn("could not announce an alert change", "err", err)
	}
}
