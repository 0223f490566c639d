package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/huddle-dev/huddle/internal/auth"
)

// MaxRecent is how many of a person's latest dashboard views are kept.
const MaxRecent = 20

// Star marks dashboard uid as one of the user's favourites; starring it again changes nothing.
func (s *Service) Star(ctx context.Context, userID, uid string) error {
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustExist(ctx, tx, uid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO dashboard_stars (user_id, dashboard_uid, starred_at)
			VALUES (?, ?, ?) ON CONFLICT (user_id, dashboard_uid) DO NOTHING`), userID, uid, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("star dashboard %s: %w", uid, err)
	}
	return nil
}

// Unstar takes dashboard uid out of the user's favourites, if it was there.
func (s *Service) Unstar(ctx context.Context, userID, uid string) error {
	_, err := s.store.DB().ExecContext(ctx, s.q(`DELETE FROM dashboard_stars WHERE user_id = ? AND dashboard_uid = ?`), userID, uid)
	if err != nil {
		return fmt.Errorf("unstar dashboard %s: %w", uid, err)
	}
	return nil
}

// RecordView records that the user opened dashboard uid now, keeping their MaxRecent latest views.
func (s *Service) RecordView(ctx context.Context, userID, uid string) error {
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustExist(ctx, tx, uid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO dashboard_views (user_id, dashboard_uid, viewed_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id, dashboard_uid) DO UPDATE SET viewed_at = excluded.viewed_at`),
			userID, uid, s.now().UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM dashboard_views WHERE user_id = ? AND dashboard_uid NOT IN (
			SELECT dashboard_uid FROM dashboard_views WHERE user_id = ? ORDER BY viewed_at DESC, dashboard_uid LIMIT ?)`),
			userID, userID, MaxRecent)
		return err
	})
	if err != nil {
		return fmt.Errorf("record a view of dashboard %s: %w", uid, err)
	}
	return nil
}

// mustExist returns an error matching collab.ErrNoDashboard unless dashboard uid exists.
func (s *Service) mustExist(ctx context.Context, tx *sql.Tx, uid string) error {
	var one int
	err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM dashboards WHERE uid = ?`), uid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return dashboardNotFound(uid)
	}
	return err
}

func (s *Service) handleStar(w http.ResponseWriter, r *http.Request) error {
	p, _ := caller(r)
	if err := s.Star(r.Context(), p.User.ID, r.PathValue("uid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleUnstar(w http.ResponseWriter, r *http.Request) error {
	p, _ := caller(r)
	if err := s.Unstar(r.Context(), p.User.ID, r.PathValue("uid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recordView notes that p opened dashboard uid, when p is a person at the app: an API key's
// reads (Grafana, scripts) are not someone looking. A failure is logged, not answered: the
// dashboard was read all the same.
func (s *Service) recordView(ctx context.Context, p auth.Principal, uid string) {
	if p.Key != nil {
		return
	}
	if err := s.RecordView(ctx, p.User.ID, uid); err != nil {
		s.logger.Warn("could not record a dashboard view", "dashboard", uid, "login", p.User.Login, "err", err)
	}
}
