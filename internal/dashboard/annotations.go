package dashboard

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/store"
)

// ErrNoAnnotation is the error for an annotation id that names none on the dashboard, answered
// with 404.
var ErrNoAnnotation = httpapi.ErrNotFound.Withf("annotation not found")

// Annotation marks a moment (Time == TimeEnd) or a range on a dashboard's charts, in Grafana's
// fields. Text is stored and answered as written: it is plain text, which the UI must render as
// text, never as HTML.
type Annotation struct {
	ID           int64  `json:"id"`
	DashboardUID string `json:"dashboardUID"`
	// PanelID is the panel the annotation was made on; 0 shows it on every panel.
	PanelID int64    `json:"panelId"`
	Time    int64    `json:"time"`    // unix ms
	TimeEnd int64    `json:"timeEnd"` // unix ms; equal to Time for a point
	Tags    []string `json:"tags"`
	Text    string   `json:"text"`
	// UserID and Login are the author's.
	UserID  string `json:"userId"`
	Login   string `json:"login"`
	Created int64  `json:"created"` // unix ms
	Updated int64  `json:"updated"` // unix ms
	// Seq is the number of the annotation's latest change among its dashboard's annotation
	// changes: clients resync by asking for the changes after the last one they saw.
	Seq int64 `json:"seq"`
	// Deleted marks a tombstone, listed only to clients that resync (since=).
	Deleted bool `json:"deleted,omitempty"`
}

// AnnotationInput is what a client sends to create or replace an annotation.
type AnnotationInput struct {
	PanelID int64 `json:"panelId"`
	// Time defaults to now; TimeEnd defaults to Time (a point).
	Time    int64    `json:"time"`
	TimeEnd int64    `json:"timeEnd"`
	Tags    []string `json:"tags"`
	Text    string   `json:"text"`
}

// MaxAnnotationText bounds an annotation's text, in characters.
const MaxAnnotationText = 10_000

func (in *AnnotationInput) normalize(nowMS int64) error {
	if in.PanelID < 0 {
		return invalid("panelId", "must be a panel's id, or 0 for every panel")
	}
	if in.Time < 0 || in.TimeEnd < 0 {
		return invalid("time", "must be unix milliseconds")
	}
	if in.Time == 0 {
		in.Time = nowMS
	}
	if in.TimeEnd == 0 {
		in.TimeEnd = in.Time
	}
	if in.TimeEnd < in.Time {
		return invalid("timeEnd", "must not be before time")
	}
	if strings.TrimSpace(in.Text) == "" {
		return invalid("text", "is required")
	}
	if err := checkText("text", in.Text, 1, MaxAnnotationText); err != nil {
		return err
	}
	var err error
	in.Tags, err = normalizeTags("tags", in.Tags)
	return err
}

// AnnotationQuery selects annotations. Zero fields do not restrict.
type AnnotationQuery struct {
	DashboardUID string
	// From and To (unix ms) select the annotations that overlap [From, To].
	From, To int64
	// Tags the annotations must all have, or at least one of with MatchAny.
	Tags     []string
	MatchAny bool
	// Since, with DashboardUID, selects the changes after change number Since, deletions
	// included, oldest first; otherwise annotations come newest first.
	Since *int64
	// Limit defaults to 100 and is at most 1,000.
	Limit int
}

const (
	defaultAnnotationLimit = 100
	maxAnnotationLimit     = 1000
)

const annotationColumns = `a.id, a.dashboard_uid, a.panel_id, a.time_start, a.time_end, a.text, a.user_id, a.login,
	a.created_at, a.updated_at, a.seq, a.deleted_at`

// Annotations lists the annotations q selects, with their tags.
func (s *Service) Annotations(ctx context.Context, q AnnotationQuery) ([]Annotation, error) {
	var (
		where []string
		args  []any
	)
	if q.DashboardUID != "" {
		where, args = append(where, "a.dashboard_uid = ?"), append(args, q.DashboardUID)
	}
	if q.From > 0 {
		where, args = append(where, "a.time_end >= ?"), append(args, q.From)
	}
	if q.To > 0 {
		where, args = append(where, "a.time_start <= ?"), append(args, q.To)
	}
	if tags, err := normalizeTags("tags", q.Tags); err != nil {
		return nil, err
	} else if len(tags) > 0 {
		cond := `a.id IN (SELECT annotation_id FROM annotation_tags WHERE tag IN (?` + strings.Repeat(", ?", len(tags)-1) + `)`
		for _, t := range tags {
			args = append(args, t)
		}
		if !q.MatchAny {
			cond += ` GROUP BY annotation_id HAVING COUNT(*) = ?`
			args = append(args, len(tags))
		}
		where = append(where, cond+`)`)
	}
	order := "a.time_start DESC, a.id DESC"
	if q.Since != nil {
		if q.DashboardUID == "" {
			return nil, invalid("since", "needs a dashboard: change numbers count one dashboard's changes")
		}
		where, args = append(where, "a.seq > ?"), append(args, *q.Since)
		order = "a.seq"
	} else {
		where = append(where, "a.deleted_at = 0")
	}
	switch {
	case q.Limit == 0:
		q.Limit = defaultAnnotationLimit
	case q.Limit < 0 || q.Limit > maxAnnotationLimit:
		return nil, invalid("limit", "must be 1 to %d", maxAnnotationLimit)
	}
	query := `SELECT ` + annotationColumns + ` FROM annotations a`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + order + ` LIMIT ?`
	args = append(args, q.Limit)
	return s.queryAnnotations(ctx, s.store.DB(), query, args...)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAnnotations runs a query selecting annotationColumns and fills in the tags.
func (s *Service) queryAnnotations(ctx context.Context, db querier, query string, args ...any) ([]Annotation, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list annotations: %w", err)
	}
	out := []Annotation{}
	byID := map[int64]int{}
	for rows.Next() {
		var (
			a       Annotation
			deleted int64
		)
		if err := rows.Scan(&a.ID, &a.DashboardUID, &a.PanelID, &a.Time, &a.TimeEnd, &a.Text, &a.UserID, &a.Login,
			&a.Created, &a.Updated, &a.Seq, &deleted); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("list annotations: %w", err)
		}
		a.Deleted, a.Tags = deleted != 0, []string{}
		byID[a.ID] = len(out)
		out = append(out, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("list annotations: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, a := range out {
		ids = append(ids, a.ID)
	}
	rows, err = db.QueryContext(ctx, s.q(`SELECT annotation_id, tag FROM annotation_tags
		WHERE annotation_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY tag`), ids...)
	if err != nil {
		return nil, fmt.Errorf("list annotation tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			tag string
		)
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, fmt.Errorf("list annotation tags: %w", err)
		}
		a := &out[byID[id]]
		a.Tags = append(a.Tags, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list annotation tags: %w", err)
	}
	return out, nil
}

// CreateAnnotation adds an annotation to a dashboard and tells its viewers.
func (s *Service) CreateAnnotation(ctx context.Context, by Author, uid string, in AnnotationInput) (Annotation, error) {
	now := s.now().UnixMilli()
	if err := in.normalize(now); err != nil {
		return Annotation{}, err
	}
	a := Annotation{DashboardUID: uid, PanelID: in.PanelID, Time: in.Time, TimeEnd: in.TimeEnd, Tags: in.Tags,
		Text: in.Text, UserID: by.UserID, Login: by.Login, Created: now, Updated: now}
	var version int64
	// Ids are random, so a collision is only ever a fluke: try again with another id.
	for attempt := 0; ; attempt++ {
		a.ID = newAnnotationID()
		err := s.store.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if a.Seq, version, err = s.nextChange(ctx, tx, uid, in.PanelID); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO annotations (id, dashboard_uid, panel_id, time_start, time_end,
				text, user_id, login, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				a.ID, uid, a.PanelID, a.Time, a.TimeEnd, a.Text, a.UserID, a.Login, a.Seq, now, now)
			if err != nil {
				return fmt.Errorf("insert annotation: %w", err)
			}
			return s.setTags(ctx, tx, a.ID, a.Tags)
		})
		if store.IsUniqueViolation(err) && attempt < 2 {
			continue
		}
		if err != nil {
			return Annotation{}, err
		}
		break
	}
	s.notify(ctx, Event{Type: EventAnnotationCreated, Dashboard: uid, Version: version, By: by.Login, Annotation: &a})
	return a, nil
}

// UpdateAnnotation replaces the fields of an annotation of dashboard uid and tells its viewers.
// Who may do it is the route's rule: an editor of the dashboard, the author included.
func (s *Service) UpdateAnnotation(ctx context.Context, by Author, uid string, id int64, in AnnotationInput) (Annotation, error) {
	now := s.now().UnixMilli()
	if err := in.normalize(now); err != nil {
		return Annotation{}, err
	}
	var (
		a       Annotation
		version int64
	)
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		seq, v, err := s.nextChange(ctx, tx, uid, in.PanelID)
		if err != nil {
			return err
		}
		version = v
		res, err := tx.ExecContext(ctx, s.q(`UPDATE annotations SET panel_id = ?, time_start = ?, time_end = ?, text = ?,
			seq = ?, updated_at = ? WHERE id = ? AND dashboard_uid = ? AND deleted_at = 0`),
			in.PanelID, in.Time, in.TimeEnd, in.Text, seq, now, id, uid)
		if err := affectedOne(res, err, id); err != nil {
			return err
		}
		if err := s.setTags(ctx, tx, id, in.Tags); err != nil {
			return err
		}
		got, err := s.queryAnnotations(ctx, tx, `SELECT `+annotationColumns+` FROM annotations a WHERE a.id = ?`, id)
		if err != nil {
			return err
		}
		a = got[0]
		return nil
	})
	if err != nil {
		return Annotation{}, err
	}
	s.notify(ctx, Event{Type: EventAnnotationUpdated, Dashboard: uid, Version: version, By: by.Login, Annotation: &a})
	return a, nil
}

// DeleteAnnotation deletes an annotation of dashboard uid and tells its viewers. Its row stays as
// a tombstone, without its text, for clients that resync.
func (s *Service) DeleteAnnotation(ctx context.Context, by Author, uid string, id int64) error {
	now := s.now().UnixMilli()
	a := Annotation{ID: id, DashboardUID: uid, Tags: []string{}, Updated: now, Deleted: true}
	var version int64
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a.Seq, version, err = s.nextChange(ctx, tx, uid, 0); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE annotations SET text = '', seq = ?, updated_at = ?, deleted_at = ?
			WHERE id = ? AND dashboard_uid = ? AND deleted_at = 0`), a.Seq, now, now, id, uid)
		return affectedOne(res, err, id)
	})
	if err != nil {
		return err
	}
	s.notify(ctx, Event{Type: EventAnnotationDeleted, Dashboard: uid, Version: version, By: by.Login, Annotation: &a})
	return nil
}

// affectedOne turns a statement's result on one annotation into its error: not found when no
// row matched.
func affectedOne(res sql.Result, err error, id int64) error {
	if err != nil {
		return fmt.Errorf("change annotation %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("change annotation %d: %w", id, err)
	}
	if n == 0 {
		return ErrNoAnnotation.Withf("annotation %d not found on this dashboard", id)
	}
	return nil
}

// nextChange numbers an annotation change of dashboard uid and returns that number and the
// dashboard's version. Taking the number locks the dashboard's row until the commit, so changes
// commit in the order of their numbers and a client resyncing from number n misses none. A
// panelID other than 0 must name a panel of the dashboard.
func (s *Service) nextChange(ctx context.Context, tx *sql.Tx, uid string, panelID int64) (seq, version int64, err error) {
	var model string
	err = tx.QueryRowContext(ctx, s.q(`UPDATE dashboards SET annotation_seq = annotation_seq + 1 WHERE uid = ?
		RETURNING annotation_seq, version, model`), uid).Scan(&seq, &version, &model)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, dashboardNotFound(uid)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("number annotation change on %s: %w", uid, err)
	}
	if panelID == 0 {
		return seq, version, nil
	}
	var d Dashboard
	if err := json.Unmarshal([]byte(model), &d); err != nil {
		return 0, 0, fmt.Errorf("decode dashboard %s: %w", uid, err)
	}
	if !slices.ContainsFunc(d.Panels, func(p Panel) bool { return p.ID == panelID }) {
		return 0, 0, invalid("panelId", "the dashboard has no panel %d", panelID)
	}
	return seq, version, nil
}

// setTags replaces an annotation's tags.
func (s *Service) setTags(ctx context.Context, tx *sql.Tx, id int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM annotation_tags WHERE annotation_id = ?`), id); err != nil {
		return fmt.Errorf("set annotation tags: %w", err)
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO annotation_tags (annotation_id, tag) VALUES (?, ?)`), id, t); err != nil {
			return fmt.Errorf("set annotation tags: %w", err)
		}
	}
	return nil
}

// newAnnotationID is a random positive id below 2^53, so that JavaScript reads it exactly.
func newAnnotationID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return int64(binary.BigEndian.Uint64(b[:])%(1<<53-1)) + 1
}
