package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
)

// APIKey is a credential for automation, acting for its owner with at most the owner's role and
// only on routes its scopes cover. Only a hash of its secret is stored.
type APIKey struct {
	ID     string
	UserID string
	// Login is the owner's.
	Login string
	Name  string
	// Prefix is the public part of the key (hud_<prefix>_<secret>), to recognise it in lists.
	Prefix string
	Role   roles.Role
	Scopes []roles.Scope
	// ExpiresAt, RevokedAt and LastUsedAt are zero for never.
	CreatedAt, ExpiresAt, RevokedAt, LastUsedAt time.Time
}

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	Name string
	// Role defaults to the owner's role and may not exceed it.
	Role   roles.Role
	Scopes []string
	// ExpiresIn is the key's lifetime; 0 means it does not expire.
	ExpiresIn time.Duration
}

const (
	keyPrefix       = "hud_"
	keyPrefixChars  = 12 // 60 random bits: unique enough to look keys up by
	keySecretBytes  = 32
	keySecretChars  = 52 // 32 bytes in unpadded base32
	maxKeyNameChars = 100
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// CreateAPIKey creates a key for owner and returns it with its secret, the whole
// "hud_<prefix>_<secret>" string, which is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, actor Actor, owner User, in NewAPIKey) (APIKey, string, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxKeyNameChars || checkName(name) != nil {
		return APIKey{}, "", httpapi.BadRequest("name is required: text of at most %d characters", maxKeyNameChars)
	}
	role := owner.Role
	if in.Role != "" {
		var err error
		if role, err = parseRole(string(in.Role)); err != nil {
			return APIKey{}, "", err
		}
	}
	if !owner.Role.AtLeast(role) {
		return APIKey{}, "", httpapi.Forbidden("an API key's role may not exceed its owner's (%s)", owner.Role)
	}
	scopes, err := parseScopes(in.Scopes)
	if err != nil {
		return APIKey{}, "", err
	}
	if in.ExpiresIn < 0 {
		return APIKey{}, "", httpapi.BadRequest("expiry must not be negative")
	}
	now := time.UnixMilli(s.now().UnixMilli())
	k := APIKey{
		ID: newID(), UserID: owner.ID, Login: owner.Login, Name: name, Role: role, Scopes: scopes, CreatedAt: now,
	}
	if in.ExpiresIn > 0 {
		k.ExpiresAt = now.Add(in.ExpiresIn)
	}
	random := make([]byte, keySecretBytes+8)
	_, _ = rand.Read(random) // crypto/rand.Read never fails
	k.Prefix = keyEncoding.EncodeToString(random[:8])[:keyPrefixChars]
	secret := keyEncoding.EncodeToString(random[8:])
	err = s.store.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes, role,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.UserID, k.Name, k.Prefix, hashSecret(secret), encodeScopes(k.Scopes), k.Role,
			millis(k.CreatedAt), millis(k.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert API key: %w", err)
		}
		return s.audit(ctx, tx, actor, ActionKeyCreated, "key:"+k.Prefix, map[string]any{
			"owner": owner.Login, "name": k.Name, "role": k.Role, "scopes": k.Scopes, "expiresAt": expiry(k.ExpiresAt),
		})
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, keyPrefix + k.Prefix + "_" + secret, nil
}

func expiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

const keyColumns = `k.id, k.user_id, u.login, k.name, k.prefix, k.role, k.scopes, k.created_at, k.expires_at,
	k.revoked_at, k.last_used_at`

// keyRow receives keyColumns; key converts them.
type keyRow struct {
	k                                  APIKey
	scopes                             string
	created, expires, revoked, lastUse int64
}

func (r *keyRow) dest() []any {
	return []any{&r.k.ID, &r.k.UserID, &r.k.Login, &r.k.Name, &r.k.Prefix, &r.k.Role, &r.scopes,
		&r.created, &r.expires, &r.revoked, &r.lastUse}
}

func (r *keyRow) key() APIKey {
	k := r.k
	k.Scopes = decodeScopes(r.scopes)
	k.CreatedAt, k.ExpiresAt = fromMillis(r.created), fromMillis(r.expires)
	k.RevokedAt, k.LastUsedAt = fromMillis(r.revoked), fromMillis(r.lastUse)
	return k
}

func scanKey(row scanner) (APIKey, error) {
	var r keyRow
	err := row.Scan(r.dest()...)
	return r.key(), err
}

// APIKeys lists the keys of a user, or of every user when userID is empty, newest first.
// Revoked and expired keys are listed too, until their owner is deleted.
func (s *Service) APIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	query := `SELECT ` + keyColumns + ` FROM api_keys k JOIN users u ON u.id = k.user_id`
	var args []any
	if userID != "" {
		query += ` WHERE k.user_id = ?`
		args = append(args, userID)
	}
	rows, err := s.store.DB().QueryContext(ctx, s.q(query+` ORDER BY k.created_at DESC, k.id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

// APIKey returns one key.
func (s *Service) APIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(s.store.DB().QueryRowContext(ctx,
		s.q(`SELECT `+keyColumns+` FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrAPIKeyNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	return k, nil
}

// RevokeAPIKey makes a key unusable at once. The key stays listed, marked revoked. Revoking a
// revoked key changes nothing.
func (s *Service) RevokeAPIKey(ctx context.Context, actor Actor, id string) error {
	return s.store.Tx(ctx, func(tx *sql.Tx) error {
		var prefix string
		var revoked int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT prefix, revoked_at FROM api_keys WHERE id = ?`), id).Scan(&prefix, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrAPIKeyNotFound
		}
		if err != nil {
			return fmt.Errorf("look up API key: %w", err)
		}
		if revoked != 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`), millis(s.now()), id); err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		return s.audit(ctx, tx, actor, ActionKeyRevoked, "key:"+prefix, nil)
	})
}

// keyPrincipal resolves an API key presented by a client. Every refusal is httpapi.ErrUnauthenticated
// with a message saying why (malformed, unknown, expired, revoked): the client holds the whole
// key, so telling it learns an attacker nothing.
func (s *Service) keyPrincipal(ctx context.Context, raw string) (Principal, error) {
	invalid := httpapi.ErrUnauthenticated.Withf("invalid API key")
	rest, ok := strings.CutPrefix(raw, keyPrefix)
	prefix, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(prefix) != keyPrefixChars || len(secret) != keySecretChars {
		return Principal{}, invalid
	}
	var (
		hash string
		kr   keyRow
	)
	u, err := scanUser(s.store.DB().QueryRowContext(ctx, s.q(`SELECT k.secret_hash, `+keyColumns+`, `+userColumns+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ?`), prefix),
		append([]any{&hash}, kr.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, invalid
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) != 1 || u.Disabled {
		return Principal{}, invalid
	}
	k := kr.key()
	now := s.now()
	switch {
	case !k.RevokedAt.IsZero():
		return Principal{}, httpapi.ErrUnauthenticated.Withf("this API key was revoked")
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return Principal{}, httpapi.ErrUnauthenticated.Withf("this API key has expired")
	}
	if now.Sub(k.LastUsedAt) >= touchInterval {
		if _, err := s.store.DB().ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`), millis(now), k.ID); err != nil {
			return Principal{}, fmt.Errorf("touch API key: %w", err)
		}
	}
	return Principal{User: u, Role: roles.Lower(k.Role, u.Role), Key: &k}, nil
}
