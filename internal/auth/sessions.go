package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// SessionCookie is the cookie that carries a session token.
const SessionCookie = "huddle_session"

// touchInterval is how stale last_seen_at (sessions) and last_used_at (API keys) may get before a
// request writes them: often enough for sliding expiry and reports, rare enough that reading
// pages does not turn into a write per request.
const touchInterval = time.Minute

// tokenLen is the length of a session token: 32 random bytes (256 bits) in unpadded base64url.
const tokenLen = 43

// newSessionToken returns a token for the cookie and the hash stored in its place: a copy of
// the sessions table does not let anyone sign in.
func newSessionToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashSecret(token)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// client describes who opens a session, for the sessions table and the audit log.
type client struct {
	addr, userAgent string
}

// createSession starts a session for userID in tx and returns its token. previousToken, the
// session the client had (if any), is deleted: a login always replaces the token, so a token
// planted before login (session fixation) is worth nothing after it.
func (s *Service) createSession(ctx context.Context, tx *sql.Tx, userID string, c client, previousToken string) (string, error) {
	if previousToken != "" {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), hashSecret(previousToken)); err != nil {
			return "", fmt.Errorf("end previous session: %w", err)
		}
	}
	token, hash := newSessionToken()
	now := s.now()
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at,
		user_agent, remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		hash, userID, millis(now), millis(now.Add(s.lifetime)), millis(now), httpapi.Truncate(c.userAgent, 256), c.addr)
	if err != nil {
		return "", fmt.Errorf("insert session: %w", err)
	}
	return token, nil
}

// sessionPrincipal resolves a session token. ok is false when the token names no valid session:
// unknown, expired (idle or absolute), ended by "logout everywhere", or its user is disabled.
// An expired session found is deleted.
func (s *Service) sessionPrincipal(ctx context.Context, token string) (p Principal, ok bool, err error) {
	if len(token) != tokenLen {
		return Principal{}, false, nil
	}
	hash := hashSecret(token)
	var created, expires, lastSeen, validAfter int64
	u, err := scanUser(s.store.DB().QueryRowContext(ctx, s.q(`SELECT s.created_at, s.expires_at, s.last_seen_at,
		u.sessions_valid_after, `+userColumns+` FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`), hash),
		&created, &expires, &lastSeen, &validAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, fmt.Errorf("look up session: %w", err)
	}
	now := millis(s.now())
	if now >= expires || now >= lastSeen+s.idleTimeout.Milliseconds() || created < validAfter || u.Disabled {
		if _, err := s.store.DB().ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), hash); err != nil {
			return Principal{}, false, fmt.Errorf("delete expired session: %w", err)
		}
		return Principal{}, false, nil
	}
	if now-lastSeen >= touchInterval.Milliseconds() {
		if _, err := s.store.DB().ExecContext(ctx, s.q(`UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`), now, hash); err != nil {
			return Principal{}, false, fmt.Errorf("touch session: %w", err)
		}
	}
	return Principal{User: u, Role: u.Role, sessionHash: hash}, true, nil
}

// endSessions deletes every session of a user, makes any session created before now invalid
// even if a concurrent login was inserting one, and revokes the hub tokens issued from them.
func (s *Service) endSessions(ctx context.Context, tx *sql.Tx, u User) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET sessions_valid_after = ? WHERE id = ?`), millis(s.now()), u.ID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), u.ID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return s.revokeTokens(ctx, tx, u.Login)
}

// RevokeSessions ends every session of a user: "logout everywhere" when actor is the user, a
// revocation when an admin does it. The user's hub connections close. API keys are not
// sessions and stay valid.
func (s *Service) RevokeSessions(ctx context.Context, actor Actor, userID string) error {
	var login string
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userBy(ctx, tx, "u.id = ?", userID)
		if err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, u); err != nil {
			return err
		}
		login = u.Login
		return s.audit(ctx, tx, actor, ActionSessionsRevoked, "user:"+u.Login, nil)
	})
	if err != nil {
		return err
	}
	s.tokensEnded(ctx, login)
	return nil
}

// logout ends the session p was authenticated with.
func (s *Service) logout(ctx context.Context, p Principal, actor Actor) error {
	return s.store.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), p.sessionHash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return s.audit(ctx, tx, actor, ActionLogout, "user:"+p.User.Login, nil)
	})
}

// StartSession signs user in on the client of r: it sets a new session cookie, replacing the
// session the client had. It is for logins that are not a password, such as the OIDC callback,
// after the identity has been verified. A disabled user is refused with an error matching
// httpapi.ErrForbidden.
func (s *Service) StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, user User) error {
	method := "external"
	if user.OIDCIssuer != "" {
		method = "oidc"
	}
	return s.startSession(ctx, w, r, user.ID, method)
}

// startSession is StartSession with the login method to record in the audit log.
func (s *Service) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID, method string) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.Disabled {
		return httpapi.Forbidden("this account is disabled")
	}
	c := s.client(r)
	var token string
	err = s.store.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if token, err = s.createSession(ctx, tx, u.ID, c, cookieToken(r)); err != nil {
			return err
		}
		return s.audit(ctx, tx, Actor{Login: u.Login, RemoteAddr: c.addr}, ActionLogin, "user:"+u.Login,
			map[string]any{"method": method})
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, r, token)
	return nil
}

// purgeSchedule spaces out deletions of expired sessions. A session found expired is deleted
// when presented; this catches the ones never presented again.
type purgeSchedule struct {
	mu   sync.Mutex
	next time.Time
}

// purgeExpiredSessions deletes expired sessions at most once an hour. Failing to is logged, not
// returned: it only delays the cleanup.
func (s *Service) purgeExpiredSessions(ctx context.Context) {
	now := s.now()
	s.purge.mu.Lock()
	due := !now.Before(s.purge.next)
	if due {
		s.purge.next = now.Add(time.Hour)
	}
	s.purge.mu.Unlock()
	if !due {
		return
	}
	_, err := s.store.DB().ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`),
		millis(now), millis(now.Add(-s.idleTimeout)))
	if err != nil {
		s.logger.Warn("delete expired sessions", "err", err)
	}
}

// cookieToken is the session token the request carries, if any.
func cookieToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie hands a token to the browser. It is Secure when the public URL is https or
// the request came over HTTPS, directly or through a proxy that says so, and lives as long as the session could; idle expiry is enforced
// by the server.
func (s *Service) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.lifetime / time.Second),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// secure reports whether the session cookie must be Secure for r.
func (s *Service) secure(r *http.Request) bool {
	return s.secureCookies || r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
