package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	// Login is the acting user's login, or ActorCLI / ActorSystem.
	Login      string
	RemoteAddr string
}

// Actors that are not users.
const (
	// ActorCLI is the `huddle user` command line, run by whoever can read the data dir.
	ActorCLI = "cli"
	// ActorSystem is huddle itself (the first-start bootstrap, OIDC sign-ups).
	ActorSystem = "system"
)

// Audit actions. A change and its audit entry are written in one transaction.
const (
	ActionLogin           = "login"
	ActionLoginFailed     = "login.failed"
	ActionAccountLocked   = "account.locked"
	ActionLogout          = "logout"
	ActionSessionsRevoked = "sessions.revoked"
	ActionUserCreated     = "user.created"
	ActionUserUpdated     = "user.updated"
	ActionUserDeleted     = "user.deleted"
	ActionRoleChanged     = "user.role_changed"
	ActionPasswordChanged = "user.password_changed"
	ActionKeyCreated      = "key.created"
	ActionKeyRevoked      = "key.revoked"
	ActionDashboardRole   = "dashboard.role_changed"
)

// AuditEntry is one security-relevant event.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Target     string    `json:"target,omitempty"`
	RemoteAddr string    `json:"remoteAddr,omitempty"`
	// Detail is a JSON object whose fields depend on the action (e.g. from and to of a role
	// change).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// AuditQuery selects entries; zero fields do not filter.
type AuditQuery struct {
	From, To      time.Time // From inclusive, To exclusive
	Actor, Action string
	// Limit is the most entries returned, newest first (default 100, at most 1000).
	Limit int
}

const maxAuditLimit = 1000

// audit records an event through q, which is the transaction of the change when there is one.
func (s *Service) audit(ctx context.Context, q querier, actor Actor, action, target string, detail map[string]any) error {
	var d []byte
	if len(detail) > 0 {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
	}
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO audit_log (id, at, actor, action, target, remote_addr, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`),
		s.auditID(), millis(s.now()), actor.Login, action, target, actor.RemoteAddr, string(d))
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// auditID makes ids that sort like the entries were written, also within one millisecond (a
// failed login and the lock it causes): the time, then this process's sequence number, then
// randomness so that nodes of a cluster never collide.
func (s *Service) auditID() string {
	return fmt.Sprintf("%012x%08x%s", s.now().UnixMilli(), uint32(s.auditSeq.Add(1)), newID()[:8])
}

// Audit returns the entries q selects, newest first.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if !q.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.To.UnixMilli())
	}
	if q.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, q.Actor)
	}
	if q.Action != "" {
		where, args = append(where, "action = ?"), append(args, q.Action)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxAuditLimit)
	query := `SELECT id, at, actor, action, target, remote_addr, detail FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.store.DB().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	defer rows.Close()
	entries := []AuditEntry{}
	for rows.Next() {
		var (
			e      AuditEntry
			at     int64
			detail string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.RemoteAddr, &detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = fromMillis(at).UTC()
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return entries, nil
}
