package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionWatcher is told when a user's sessions and hub tokens end (disable, delete, role
// change, password change, "log out everywhere"), after the change is committed, so that it can
// close the connections opened with them. The app wires the dashboards' hub here.
type SessionWatcher interface {
	SessionsEnded(ctx context.Context, login string)
}

// revokeTokens records that every hub token issued to login until now is void. The time is
// rounded up to the whole second, as tokens carry their issue time in seconds: a token issued in
// the second of a revocation is refused too, and the client negotiates again.
func (s *Service) revokeTokens(ctx context.Context, tx *sql.Tx, login string) error {
	at := s.now().Truncate(time.Second).Add(time.Second)
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO token_revocations (login, revoked_at) VALUES (?, ?)
		ON CONFLICT (login) DO UPDATE SET revoked_at = excluded.revoked_at`), login, millis(at))
	if err != nil {
		return fmt.Errorf("revoke hub tokens of %s: %w", login, err)
	}
	return nil
}

// TokenRevoked reports whether a hub token issued to login at issuedAt (whole seconds) was
// revoked since.
func (s *Service) TokenRevoked(ctx context.Context, login string, issuedAt time.Time) (bool, error) {
	var revokedAt int64
	err := s.store.DB().QueryRowContext(ctx, s.q(`SELECT revoked_at FROM token_revocations WHERE login = ?`), login).Scan(&revokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up token revocation of %s: %w", login, err)
	}
	return issuedAt.Before(fromMillis(revokedAt)), nil
}

// tokensEnded tells the watcher, once a transaction that revoked login's tokens committed. The
// change is made, so the watcher is told even if the caller has gone meanwhile.
func (s *Service) tokensEnded(ctx context.Context, login string) {
	if s.watcher != nil && login != "" {
		s.watcher.SessionsEnded(context.WithoutCancel(ctx), login)
	}
}
