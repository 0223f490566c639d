package dashboard

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
)

// Store is the SQL database dashboards are kept in; *store.Store satisfies it. Queries are
// written with ? placeholders and passed through Rebind. It is declared beside its consumer
// rather than shared with package auth's identical one: each package states what it uses of
// the store, and today both use these three methods.
type Store interface {
	DB() *sql.DB
	Rebind(query string) string
	Tx(ctx context.Context, fn func(*sql.Tx) error) error
}

// Notifier delivers a change to the viewers of a dashboard, through the hub: data is one JSON
// [Event], sent to the dashboard's metrics group (collab.MetricsGroup), where only the server
// may send. It is called after the change is committed; an error is logged, not returned to the
// writer, because the change is saved and clients resync by version after a reconnect.
type Notifier interface {
	SendToGroup(ctx context.Context, group string, data []byte) error
}

// Access tells what a principal may do on a dashboard; *auth.Service satisfies it. Routes check
// the role on the dashboard a path names; Access answers for the dashboards a request body or a
// query names.
type Access interface {
	DashboardRole(ctx context.Context, p auth.Principal, dashboardUID string) (roles.Role, error)
}

// Options configure a Service. Zero values mean the defaults in the comments.
type Options struct {
	Store  Store  // required
	Access Access // required
	// Notifier tells viewers about changes; nil sends nothing (a server without a hub, a CLI).
	Notifier Notifier
	// Series is where query variables find their options; nil leaves them without options,
	// each saying so.
	Series Series
	Logger *slog.Logger // default: discard
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service keeps dashboards and annotations and serves their HTTP API. It is safe for concurrent
// use.
type Service struct {
	store    Store
	access   Access
	notifier Notifier
	series   Series
	logger   *slog.Logger
	now      func() time.Time
}

// New checks opts and builds a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("dashboard: Options.Store is required")
	}
	if opts.Access == nil {
		return nil, errors.New("dashboard: Options.Access is required")
	}
	s := &Service{store: opts.Store, access: opts.Access, notifier: opts.Notifier, series: opts.Series, logger: opts.Logger, now: opts.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Author is who makes a change, as recorded beside it.
type Author struct {
	UserID string
	Login  string
}

// Summary is a dashboard in a list, with what it is to the person listing it.
type Summary struct {
	UID     string   `json:"uid"`
	Title   string   `json:"title"`
	Tags    []string `json:"tags"`
	Version int64    `json:"version"`
	Updated int64    `json:"updated"` // unix ms
	Starred bool     `json:"starred"`
	// ViewedAt is when the person last opened it (unix ms), 0 if not among their latest views.
	ViewedAt int64 `json:"viewedAt"`
}

// Meta is what the server knows about a stored dashboard besides its model.
type Meta struct {
	Created   int64  `json:"created"` // unix ms
	Updated   int64  `json:"updated"` // unix ms
	CreatedBy string `json:"createdBy"`
	UpdatedBy string `json:"updatedBy"`
	// AnnotationSeq is the number of the dashboard's latest annotation change: a client that
	// has seen it asks for changes after it (since=) when it reconnects.
	AnnotationSeq int64 `json:"annotationSeq"`
	// CanEdit says whether the caller may save the dashboard and annotate it.
	CanEdit bool `json:"canEdit"`
}

// Stored is a dashboard as the API answers it, in Grafana's shape.
type Stored struct {
	Dashboard Dashboard `json:"dashboard"`
	Meta      Meta      `json:"meta"`
}

// The types of [Event].
const (
	EventDashboardUpdated  = "dashboard.updated"
	EventDashboardDeleted  = "dashboard.deleted"
	EventAnnotationCreated = "annotation.created"
	EventAnnotationUpdated = "annotation.updated"
	EventAnnotationDeleted = "annotation.deleted"
)

// Event is what viewers of a dashboard receive when it or its annotations change. A viewer
// whose dashboard version is older than Version reloads the dashboard; annotation events carry
// the annotation (for a deletion: its id, seq and deleted: true).
type Event struct {
	Type      string `json:"type"`
	Dashboard string `json:"dashboard"`
	// Version is the dashboard's version after the change (0 once deleted).
	Version int64 `json:"version"`
	// By is the login of who made the change.
	By         string      `json:"by,omitempty"`
	Annotation *Annotation `json:"annotation,omitempty"`
}

// notifyTimeout bounds the hand-over of one event to the hub.
const notifyTimeout = 5 * time.Second

// notify sends ev to the dashboard's viewers. It runs after the commit, so a failure is only
// logged, and it is not cut short by the end of the request that made the change.
func (s *Service) notify(ctx context.Context, ev Event) {
	if s.notifier == nil {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		s.logger.Error("encode dashboard event", "type", ev.Type, "dashboard", ev.Dashboard, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	if err := s.notifier.SendToGroup(ctx, collab.MetricsGroup(ev.Dashboard), data); err != nil {
		s.logger.Warn("change saved but viewers not notified", "type", ev.Type, "dashboard", ev.Dashboard,
			"version", ev.Version, "err", err)
	}
}

func (s *Service) q(query string) string { return s.store.Rebind(query) }

// List returns every dashboard's summary, by title, with the stars and views of the user whose
// id is userID ("": nobody's).
func (s *Service) List(ctx context.Context, userID string) ([]Summary, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.q(`SELECT d.uid, d.title, d.tags, d.version, d.updated_at,
		s.dashboard_uid IS NOT NULL, COALESCE(v.viewed_at, 0)
		FROM dashboards d
		LEFT JOIN dashboard_stars s ON s.dashboard_uid = d.uid AND s.user_id = ?
		LEFT JOIN dashboard_views v ON v.dashboard_uid = d.uid AND v.user_id = ?
		ORDER BY d.title, d.uid`), userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var (
			d    Summary
			tags string
		)
		if err := rows.Scan(&d.UID, &d.Title, &tags, &d.Version, &d.Updated, &d.Starred, &d.ViewedAt); err != nil {
			return nil, fmt.Errorf("list dashboards: %w", err)
		}
		if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
			return nil, fmt.Errorf("list dashboards: tags of %s: %w", d.UID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	return out, nil
}

// Get returns a dashboard, or an error matching collab.ErrNoDashboard. Meta.CanEdit is left false.
func (s *Service) Get(ctx context.Context, uid string) (Stored, error) {
	var (
		st    Stored
		model string
	)
	err := s.store.DB().QueryRowContext(ctx, s.q(`SELECT model, version, annotation_seq, created_by, updated_by,
		created_at, updated_at FROM dashboards WHERE uid = ?`), uid).Scan(&model, &st.Dashboard.Version,
		&st.Meta.AnnotationSeq, &st.Meta.CreatedBy, &st.Meta.UpdatedBy, &st.Meta.Created, &st.Meta.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, dashboardNotFound(uid)
	}
	if err != nil {
		return Stored{}, fmt.Errorf("get dashboard %s: %w", uid, err)
	}
	version := st.Dashboard.Version
	if err := json.Unmarshal([]byte(model), &st.Dashboard); err != nil {
		return Stored{}, fmt.Errorf("get dashboard %s: decode model: %w", uid, err)
	}
	st.Dashboard.Version = version // the column is the truth; the model's copy is informative
	return st, nil
}

func dashboardNotFound(uid string) error {
	return collab.ErrNoDashboard.Withf("dashboard %q not found", httpapi.Truncate(uid, 64))
}

// Create stores a new dashboard at version 1; an empty uid gets a generated one. A uid in use
// is a conflict.
func (s *Service) Create(ctx context.Context, by Author, d Dashboard) (Stored, error) {
	if d.UID == "" {
		d.UID = NewUID()
	}
	if err := d.normalize(); err != nil {
		return Stored{}, err
	}
	d.Version = 1
	now := s.now().UnixMilli()
	err := s.store.Tx(ctx, func(tx *sql.Tx) error { return s.insert(ctx, tx, by, d, now) })
	if store.IsUniqueViolation(err) {
		return Stored{}, &httpapi.Error{Code: httpapi.CodeConflict, Field: "uid",
			Msg: fmt.Sprintf("a dashboard with uid %q exists: choose another uid, or import with overwrite", d.UID)}
	}
	if err != nil {
		return Stored{}, err
	}
	return Stored{Dashboard: d, Meta: Meta{Created: now, Updated: now, CreatedBy: by.Login, UpdatedBy: by.Login}}, nil
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, by Author, d Dashboard, now int64) error {
	model, tags, err := encode(d)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO dashboards (uid, title, tags, model, version, created_by, updated_by,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), d.UID, d.Title, tags, model, d.Version, by.Login, by.Login, now, now)
	if err != nil {
		return fmt.Errorf("insert dashboard %s: %w", d.UID, err)
	}
	return nil
}

// encode returns the stored forms of a normalized dashboard: its model and its tags.
func encode(d Dashboard) (model, tags string, err error) {
	m, err := json.Marshal(d)
	if err != nil {
		return "", "", fmt.Errorf("encode dashboard %s: %w", d.UID, err)
	}
	t, err := json.Marshal(d.Tags)
	if err != nil {
		return "", "", fmt.Errorf("encode dashboard %s tags: %w", d.UID, err)
	}
	return string(m), string(t), nil
}

// Update saves d over the stored dashboard if d.Version is the stored version, and returns it
// with the next version. A save based on another version is refused with a conflict naming the
// current one, so that concurrent editors never overwrite each other's changes unseen.
func (s *Service) Update(ctx context.Context, by Author, d Dashboard) (Stored, error) {
	if d.Version < 1 {
		return Stored{}, invalid("version", "is required: send the version of the dashboard this save is based on")
	}
	if err := d.normalize(); err != nil {
		return Stored{}, err
	}
	base := d.Version
	d.Version++
	now := s.now().UnixMilli()
	var meta Meta
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		model, tags, err := encode(d)
		if err != nil {
			return err
		}
		// Compare and set in one statement, so two saves of one version cannot both win.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE dashboards SET title = ?, tags = ?, model = ?, version = ?,
			updated_by = ?, updated_at = ? WHERE uid = ? AND version = ?`), d.Title, tags, model, d.Version, by.Login, now, d.UID, base)
		if err != nil {
			return fmt.Errorf("update dashboard %s: %w", d.UID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update dashboard %s: %w", d.UID, err)
		} else if n == 0 {
			return s.staleOrMissing(ctx, tx, d.UID, base)
		}
		return tx.QueryRowContext(ctx, s.q(`SELECT created_by, created_at, annotation_seq FROM dashboards WHERE uid = ?`), d.UID).
			Scan(&meta.CreatedBy, &meta.Created, &meta.AnnotationSeq)
	})
	if err != nil {
		return Stored{}, err
	}
	meta.Updated, meta.UpdatedBy = now, by.Login
	s.notify(ctx, Event{Type: EventDashboardUpdated, Dashboard: d.UID, Version: d.Version, By: by.Login})
	return Stored{Dashboard: d, Meta: meta}, nil
}

// staleOrMissing explains why no row matched uid at version base.
func (s *Service) staleOrMissing(ctx context.Context, tx *sql.Tx, uid string, base int64) error {
	var current int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT version FROM dashboards WHERE uid = ?`), uid).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return dashboardNotFound(uid)
	}
	if err != nil {
		return fmt.Errorf("update dashboard %s: %w", uid, err)
	}
	return &httpapi.Error{Code: httpapi.CodeConflict, Field: "version", Msg: fmt.Sprintf(
		"dashboard %q was changed by someone else: it is at version %d, this save is based on version %d; reload it and apply your change again",
		uid, current, base)}
}

// Import stores a dashboard exported from here or elsewhere. A new uid is created at version 1;
// an existing one is replaced only when overwrite is set, and then gets the next version of the
// stored one (the imported model's version is ignored), so viewers see it as a newer save. It
// reports whether the dashboard was created.
func (s *Service) Import(ctx context.Context, by Author, d Dashboard, overwrite bool) (Stored, bool, error) {
	if d.UID == "" {
		d.UID = NewUID()
	}
	if err := d.normalize(); err != nil {
		return Stored{}, false, err
	}
	now := s.now().UnixMilli()
	meta := Meta{Created: now, Updated: now, CreatedBy: by.Login, UpdatedBy: by.Login}
	created := false
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT version, created_by, created_at, annotation_seq FROM dashboards WHERE uid = ?`), d.UID).
			Scan(&d.Version, &meta.CreatedBy, &meta.Created, &meta.AnnotationSeq)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created, d.Version = true, 1
			return s.insert(ctx, tx, by, d, now)
		case err != nil:
			return fmt.Errorf("import dashboard %s: %w", d.UID, err)
		case !overwrite:
			return &httpapi.Error{Code: httpapi.CodeConflict, Field: "overwrite", Msg: fmt.Sprintf(
				"a dashboard with uid %q exists (version %d): set overwrite to replace it, or change the uid", d.UID, d.Version)}
		}
		d.Version++
		model, tags, err := encode(d)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE dashboards SET title = ?, tags = ?, model = ?, version = ?,
			updated_by = ?, updated_at = ? WHERE uid = ?`), d.Title, tags, model, d.Version, by.Login, now, d.UID)
		if err != nil {
			return fmt.Errorf("import dashboard %s: %w", d.UID, err)
		}
		return nil
	})
	if store.IsUniqueViolation(err) {
		// Another import or create of the same new uid committed first.
		return Stored{}, false, &httpapi.Error{Code: httpapi.CodeConflict, Field: "uid",
			Msg: fmt.Sprintf("a dashboard with uid %q was just created: import again to replace it", d.UID)}
	}
	if err != nil {
		return Stored{}, false, err
	}
	if !created {
		s.notify(ctx, Event{Type: EventDashboardUpdated, Dashboard: d.UID, Version: d.Version, By: by.Login})
	}
	return Stored{Dashboard: d, Meta: meta}, created, nil
}

// Delete removes a dashboard and its annotations.
func (s *Service) Delete(ctx context.Context, by Author, uid string) error {
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM dashboards WHERE uid = ?`), uid)
		if err != nil {
			return fmt.Errorf("delete dashboard %s: %w", uid, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete dashboard %s: %w", uid, err)
		} else if n == 0 {
			return dashboardNotFound(uid)
		}
		// Per-dashboard roles die with the dashboard, so that a new one under the same uid does
		// not inherit who could do what on the old one.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM dashboard_permissions WHERE dashboard_uid = ?`), uid); err != nil {
			return fmt.Errorf("delete roles on dashboard %s: %w", uid, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.logger.Info("dashboard deleted", "dashboard", uid, "by", by.Login)
	s.notify(ctx, Event{Type: EventDashboardDeleted, Dashboard: uid, By: by.Login})
	return nil
}

// Expand resolves d's variables and expands its queries for the range from–to, as a viewer of
// that range sees them (see [Dashboard.Expand]).
func (s *Service) Expand(ctx context.Context, d Dashboard, from, to time.Time) (Expansion, error) {
	ownFrom, ownTo, err := d.Time.Resolve(s.now())
	if err != nil {
		return Expansion{}, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	return d.Expand(ctx, s.series, from, to, ownFrom, ownTo), nil
}

// ExpandOwnRange expands d's queries for its own time range as of now: what the live scheduler
// evaluates, and what a viewer of that range loads as history.
func (s *Service) ExpandOwnRange(ctx context.Context, d Dashboard) (Expansion, error) {
	from, to, err := d.Time.Resolve(s.now())
	if err != nil {
		return Expansion{}, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	return d.Expand(ctx, s.series, from, to, from, to), nil
}

// NewUID returns a random dashboard uid: 12 lower-case letters and digits (60 bits).
func NewUID() string { return strings.ToLower(rand.Text()[:12]) }

// UsingMetrics lists the dashboards that have a panel query naming one of metrics, as a whole
// metric name (letters, digits, '_' and ':' on neither side), whatever variables the query holds.
func (s *Service) UsingMetrics(ctx context.Context, metrics []string) ([]string, error) {
	if len(metrics) == 0 {
		return nil, nil
	}
	quoted := make([]string, len(metrics))
	for i, m := range metrics {
		quoted[i] = regexp.QuoteMeta(m)
	}
	named := regexp.MustCompile(`(^|[^A-Za-z0-9_:])(` + strings.Join(quoted, "|") + `)($|[^A-Za-z0-9_:])`)
	list, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range list {
		st, err := s.Get(ctx, d.UID)
		if errors.Is(err, collab.ErrNoDashboard) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(st.Dashboard.Panels, func(p Panel) bool {
			return slices.ContainsFunc(p.Targets, func(t Target) bool { return named.MatchString(t.Expr) })
		}) {
			out = append(out, d.UID)
		}
	}
	return out, nil
}
