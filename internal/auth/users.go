package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
)

// User is an account: local (with a password) or created by an OIDC login.
type User struct {
	ID string
	// Login is unique and case-insensitive (stored in lower case); it never changes.
	Login string
	Name  string
	Email string
	Role  roles.Role
	// Disabled users cannot sign in and their sessions and API keys stop working at once.
	Disabled bool
	// OIDCIssuer and OIDCSubject identify a user who signs in through OIDC; empty for local users.
	OIDCIssuer  string
	OIDCSubject string
	HasPassword bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// userColumns selects a User from the users table aliased u, in scanUser's order.
const userColumns = `u.id, u.login, u.name, u.email, u.role, u.disabled,
	u.oidc_issuer, u.oidc_subject, CASE WHEN u.password_hash <> '' THEN 1 ELSE 0 END,
	u.created_at, u.updated_at`

type scanner interface{ Scan(dest ...any) error }

// scanUser reads userColumns, preceded by extra destinations for the columns a query selects
// before them.
func scanUser(row scanner, extra ...any) (User, error) {
	var (
		u                     User
		disabled, hasPassword int64
		created, updated      int64
	)
	dest := append(extra, &u.ID, &u.Login, &u.Name, &u.Email, &u.Role, &disabled,
		&u.OIDCIssuer, &u.OIDCSubject, &hasPassword, &created, &updated)
	if err := row.Scan(dest...); err != nil {
		return u, err
	}
	u.Disabled, u.HasPassword = disabled != 0, hasPassword != 0
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return u, nil
}

// NewUser is a local account to create.
type NewUser struct {
	Login, Name, Email string
	Role               roles.Role
	Password           string
}

// UserUpdate changes the fields that are not nil.
type UserUpdate struct {
	Name, Email *string
	Role        *roles.Role
	Disabled    *bool
	// Password sets a new password, which also ends the user's sessions and any lockout.
	Password *string
	// Unlock ends the lockouts of the login after failed logins, from every address.
	Unlock bool
}

const (
	maxLoginLen = 64
	maxNameLen  = 100
	maxEmailLen = 254
)

// normalizeLogin lower-cases a login and checks its characters: letters, digits and . _ @ + -,
// starting with a letter or digit, so that logins are safe in URLs, logs and tables.
func normalizeLogin(s string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if l == "" {
		return "", httpapi.BadRequest("login is required")
	}
	if utf8.RuneCountInString(l) > maxLoginLen {
		return "", httpapi.BadRequest("login must be at most %d characters long", maxLoginLen)
	}
	for i, r := range l {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && strings.ContainsRune("._@+-", r))
		if !ok {
			return "", httpapi.BadRequest("login %q may only contain letters, digits and . _ @ + - and must start with a letter or digit", httpapi.Truncate(s, maxLoginLen))
		}
	}
	return l, nil
}

func checkName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLen {
		return httpapi.BadRequest("name must be UTF-8 text of at most %d characters", maxNameLen)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return httpapi.BadRequest("name must not contain control characters")
	}
	return nil
}

func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > maxEmailLen {
		return httpapi.BadRequest("email %q is not an address like someone@example.com", httpapi.Truncate(email, maxEmailLen))
	}
	return nil
}

// CreateUser creates a local account with a password.
func (s *Service) CreateUser(ctx context.Context, actor Actor, in NewUser) (User, error) {
	login, err := normalizeLogin(in.Login)
	if err != nil {
		return User{}, err
	}
	role, err := parseRole(string(in.Role))
	if err != nil {
		return User{}, err
	}
	if err := errors.Join(checkName(in.Name), checkEmail(in.Email), checkNewPassword(in.Password, login, s.minPassword)); err != nil {
		return User{}, firstError(err)
	}
	hash, err := s.hasher.hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Login: login, Name: in.Name, Email: in.Email, Role: role, HasPassword: true}
	err = s.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertUser(ctx, tx, &u, hash); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ActionUserCreated, "user:"+u.Login, map[string]any{"role": u.Role})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// firstError unwraps errors.Join so that a client sees one clear message, the first problem.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

func (s *Service) insertUser(ctx context.Context, tx *sql.Tx, u *User, passwordHash string) error {
	now := s.now()
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(now.UnixMilli()), time.UnixMilli(now.UnixMilli())
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO users (id, login, name, email, role, password_hash,
		oidc_issuer, oidc_subject, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Login, u.Name, u.Email, u.Role, passwordHash, u.OIDCIssuer, u.OIDCSubject,
		millis(u.CreatedAt), millis(u.UpdatedAt))
	if store.IsUniqueViolation(err) {
		return httpapi.Conflict("login %q is taken", u.Login)
	}
	if err != nil {
		return fmt.Errorf("insert user %s: %w", u.Login, err)
	}
	return nil
}

// User returns the user with the given id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	return s.userBy(ctx, s.store.DB(), "u.id = ?", id)
}

// UserByLogin returns the user with the given login, in any case.
func (s *Service) UserByLogin(ctx context.Context, login string) (User, error) {
	return s.userBy(ctx, s.store.DB(), "u.login = ?", strings.ToLower(strings.TrimSpace(login)))
}

func (s *Service) userBy(ctx context.Context, q querier, cond string, args ...any) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users u WHERE `+cond), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("look up user: %w", err)
	}
	return u, nil
}

// Users returns every user, ordered by login.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.store.DB().QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.login`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UpdateUser applies ch to the user with the given id. Disabling a user or setting a password
// ends the user's sessions; those and a role change revoke the user's hub tokens. No change may
// leave huddle without an enabled admin.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, id string, ch UserUpdate) (User, error) {
	if ch == (UserUpdate{}) {
		return User{}, httpapi.BadRequest("nothing to change: set name, email, role, disabled, password or unlock")
	}
	var role roles.Role
	if ch.Role != nil {
		var err error
		if role, err = parseRole(string(*ch.Role)); err != nil {
			return User{}, err
		}
	}
	if ch.Name != nil {
		if err := checkName(*ch.Name); err != nil {
			return User{}, err
		}
	}
	if ch.Email != nil {
		if err := checkEmail(*ch.Email); err != nil {
			return User{}, err
		}
	}
	var hash string
	if ch.Password != nil {
		// Hash before the transaction, which holds SQLite's write lock: hashing takes tens of
		// milliseconds. The login is looked up for the rule that a password is not the login.
		u, err := s.User(ctx, id)
		if err != nil {
			return User{}, err
		}
		if err := checkNewPassword(*ch.Password, u.Login, s.minPassword); err != nil {
			return User{}, err
		}
		if hash, err = s.hasher.hash(ctx, *ch.Password); err != nil {
			return User{}, err
		}
	}
	var updated User
	var ended string // the login whose sessions or hub tokens this change ends
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userBy(ctx, tx, "u.id = ?", id)
		if err != nil {
			return err
		}
		now := millis(s.now())
		target := "user:" + u.Login
		var changed []string
		set := func(column string, value any) error {
			_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET `+column+` = ?, updated_at = ? WHERE id = ?`), value, now, id)
			if err != nil {
				return fmt.Errorf("update user %s: %w", column, err)
			}
			return nil
		}
		if ch.Name != nil && *ch.Name != u.Name {
			if err := set("name", *ch.Name); err != nil {
				return err
			}
			changed = append(changed, "name")
		}
		if ch.Email != nil && *ch.Email != u.Email {
			if err := set("email", *ch.Email); err != nil {
				return err
			}
			changed = append(changed, "email")
		}
		if ch.Disabled != nil && *ch.Disabled != u.Disabled {
			if err := set("disabled", boolInt(*ch.Disabled)); err != nil {
				return err
			}
			if !*ch.Disabled {
				changed = append(changed, "enabled")
			} else {
				changed = append(changed, "disabled")
				if err := s.endSessions(ctx, tx, u); err != nil {
					return err
				}
				ended = u.Login
			}
		}
		// A new password ends the lockouts by itself (setPassword).
		if ch.Unlock && ch.Password == nil {
			s.lockouts.clear(u.Login)
			changed = append(changed, "unlocked")
		}
		if len(changed) > 0 {
			if err := s.audit(ctx, tx, actor, ActionUserUpdated, target, map[string]any{"changes": changed}); err != nil {
				return err
			}
		}
		if ch.Role != nil && role != u.Role {
			if err := set("role", role); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, actor, ActionRoleChanged, target, map[string]any{"from": u.Role, "to": role}); err != nil {
				return err
			}
			// The hub holds the rights of the old role until the user negotiates again.
			if err := s.revokeTokens(ctx, tx, u.Login); err != nil {
				return err
			}
			ended = u.Login
		}
		if ch.Password != nil {
			if err := s.setPassword(ctx, tx, actor, u, hash); err != nil {
				return err
			}
			ended = u.Login
		}
		if err := s.ensureAdminRemains(ctx, tx); err != nil {
			return err
		}
		updated, err = s.userBy(ctx, tx, "u.id = ?", id)
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.tokensEnded(ctx, ended)
	return updated, nil
}

// setPassword stores a new hash, ends every session of the user (whoever knew the old password
// may hold one) and the login's lockouts on this node, and records the change.
func (s *Service) setPassword(ctx context.Context, tx *sql.Tx, actor Actor, u User, hash string) error {
	s.lockouts.clear(u.Login)
	_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`),
		hash, millis(s.now()), u.ID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := s.endSessions(ctx, tx, u); err != nil {
		return err
	}
	return s.audit(ctx, tx, actor, ActionPasswordChanged, "user:"+u.Login, nil)
}

// ensureAdminRemains fails the transaction when it would leave no enabled admin: nobody could
// then administer users except through the command line.
func (s *Service) ensureAdminRemains(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// DeleteUser deletes a user with its sessions, API keys and dashboard roles, and revokes the
// user's hub tokens.
func (s *Service) DeleteUser(ctx context.Context, actor Actor, id string) error {
	var login string
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userBy(ctx, tx, "u.id = ?", id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM users WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete user %s: %w", u.Login, err)
		}
		if err := s.ensureAdminRemains(ctx, tx); err != nil {
			return err
		}
		if err := s.revokeTokens(ctx, tx, u.Login); err != nil {
			return err
		}
		login = u.Login
		return s.audit(ctx, tx, actor, ActionUserDeleted, "user:"+u.Login, map[string]any{"role": u.Role})
	})
	if err != nil {
		return err
	}
	s.tokensEnded(ctx, login)
	return nil
}

// ChangePassword is a user changing their own password: current must be right. A wrong current
// password counts as a failed login, so a stolen session cannot be used to guess it. All the
// user's sessions end; the caller starts a new one for the client that asked.
func (s *Service) ChangePassword(ctx context.Context, actor Actor, userID, current, next string) error {
	u, hash, err := s.credentials(ctx, "u.id = ?", userID)
	if err != nil {
		return err
	}
	if wait := s.lockouts.lockedUntil(u.Login, actor.RemoteAddr).Sub(s.now()); wait > 0 {
		return ErrLocked.RetryIn(wait)
	}
	if len(current) > maxPasswordBytes {
		return httpapi.Forbidden("the current password is incorrect")
	}
	ok, _, err := s.hasher.verify(ctx, hash, current)
	if err != nil {
		return fmt.Errorf("verify password of %s: %w", u.Login, err)
	}
	if !ok {
		if wait, err := s.recordFailure(ctx, u, actor, "wrong current password"); err != nil || wait > 0 {
			return cmp.Or(err, error(ErrLocked.RetryIn(wait)))
		}
		return httpapi.Forbidden("the current password is incorrect")
	}
	if err := checkNewPassword(next, u.Login, s.minPassword); err != nil {
		return err
	}
	newHash, err := s.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.store.Tx(ctx, func(tx *sql.Tx) error { return s.setPassword(ctx, tx, actor, u, newHash) }); err != nil {
		return err
	}
	s.tokensEnded(ctx, u.Login)
	return nil
}

// credentials loads a user and their password hash ("" when they have none).
func (s *Service) credentials(ctx context.Context, cond string, args ...any) (User, string, error) {
	var hash string
	u, err := scanUser(s.store.DB().QueryRowContext(ctx,
		s.q(`SELECT u.password_hash, `+userColumns+` FROM users u WHERE `+cond), args...), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrUserNotFound
	}
	if err != nil {
		return User{}, "", fmt.Errorf("look up user: %w", err)
	}
	return u, hash, nil
}

// BootstrapLogin is the login of the admin created on first start.
const BootstrapLogin = "admin"

// Bootstrap creates the first admin when there is no user at all, so a new installation can be
// signed in to. With a password (HUDDLE_ADMIN_PASSWORD) that password is used and not printed;
// without one a random password is generated and written to out, once: it is stored only as a
// hash, and later starts find a user and do nothing.
//
// The generated password is not forced to change: it is as strong as anything a person would
// choose, and forcing a change would add a state every client (UI, CLI, API keys) must handle.
// Its risk is being seen in a terminal or a captured stdout, so the message asks to change it,
// in the UI or with `huddle user passwd`. When several nodes start at once, one creates the admin
// and the others find it taken and do nothing.
func (s *Service) Bootstrap(ctx context.Context, password string, out io.Writer) error {
	var exists int
	err := s.store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) x`).Scan(&exists)
	if err != nil {
		return fmt.Errorf("bootstrap: count users: %w", err)
	}
	if exists > 0 {
		if password != "" {
			// Saying so spares an operator wondering why the environment's password fails.
			s.logger.Info("users exist: the bootstrap admin password is not used; change passwords with `huddle user passwd`")
		}
		return nil
	}
	generated := password == ""
	if generated {
		password = rand.Text()
	}
	_, err = s.CreateUser(ctx, Actor{Login: ActorSystem}, NewUser{
		Login: BootstrapLogin, Name: "Administrator", Role: roles.Admin, Password: password,
	})
	if errors.Is(err, httpapi.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	s.logger.Info("created the first admin account", "login", BootstrapLogin, "password_generated", generated)
	if generated {
		_, err = fmt.Fprintf(out, "\nCreated the first admin account.\n  login:    %s\n  password: %s\n"+
			"This password is shown only this once. Sign in and change it (or run `huddle user passwd --login %s --password-stdin`).\n\n",
			BootstrapLogin, password, BootstrapLogin)
		if err != nil {
			return fmt.Errorf("bootstrap: print the admin password: %w", err)
		}
	}
	return nil
}

// UpsertOIDCUser returns the user an OIDC identity (issuer, subject) signs in as, creating it on
// first login. The provider is the source of truth for name, email and, when role is not empty,
// the role, which are updated at each login; an empty role keeps the user's role (viewer for a
// new user). A new user gets login if it is free, else login with a suffix derived from the
// identity: an OIDC login never takes over an existing account of the same name.
func (s *Service) UpsertOIDCUser(ctx context.Context, issuer, subject, login, name, email string, role roles.Role) (User, error) {
	if issuer == "" || subject == "" {
		return User{}, errors.New("upsert OIDC user: issuer and subject are required")
	}
	if role != "" {
		var err error
		if role, err = parseRole(string(role)); err != nil {
			return User{}, err
		}
	}
	name = cleanName(name)
	if checkEmail(email) != nil {
		email = ""
	}
	actor := Actor{Login: ActorSystem}
	var u User
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = s.userBy(ctx, tx, "u.oidc_issuer = ? AND u.oidc_subject = ?", issuer, subject)
		switch {
		case errors.Is(err, ErrUserNotFound):
			return s.createOIDCUser(ctx, tx, &u, issuer, subject, login, name, email, role)
		case err != nil:
			return err
		}
		now := millis(s.now())
		if name != u.Name || email != u.Email {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET name = ?, email = ?, updated_at = ? WHERE id = ?`),
				name, email, now, u.ID); err != nil {
				return fmt.Errorf("update OIDC user %s: %w", u.Login, err)
			}
			u.Name, u.Email = name, email
		}
		if role != "" && role != u.Role {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET role = ?, updated_at = ? WHERE id = ?`), role, now, u.ID); err != nil {
				return fmt.Errorf("update OIDC user %s: %w", u.Login, err)
			}
			if err := s.audit(ctx, tx, actor, ActionRoleChanged, "user:"+u.Login,
				map[string]any{"from": u.Role, "to": role, "source": "oidc"}); err != nil {
				return err
			}
			u.Role = role
		}
		return nil
	})
	return u, err
}

func (s *Service) createOIDCUser(ctx context.Context, tx *sql.Tx, u *User, issuer, subject, login, name, email string, role roles.Role) error {
	*u = User{ID: newID(), Name: name, Email: email, Role: orDefault(role, roles.Viewer), OIDCIssuer: issuer, OIDCSubject: subject}
	base, err := normalizeLogin(login)
	if err != nil {
		// Providers' usernames may hold anything; fall back to the e-mail's local part.
		local, _, _ := strings.Cut(email, "@")
		if base, err = normalizeLogin(local); err != nil {
			base = "user"
		}
	}
	sum := sha256.Sum256([]byte(issuer + "\x00" + subject))
	for _, candidate := range []string{base, base + "-" + hex.EncodeToString(sum[:3])} {
		var taken int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE login = ?`), candidate).Scan(&taken); err != nil {
			return fmt.Errorf("check login %s: %w", candidate, err)
		}
		if taken == 0 {
			u.Login = candidate
			break
		}
	}
	if u.Login == "" {
		return httpapi.Conflict("login %q and its variants are taken", base)
	}
	if err := s.insertUser(ctx, tx, u, ""); err != nil {
		return err
	}
	return s.audit(ctx, tx, Actor{Login: ActorSystem}, ActionUserCreated, "user:"+u.Login,
		map[string]any{"role": u.Role, "oidcIssuer": issuer})
}

// cleanName makes a provider's display name fit our rules instead of refusing the login.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > maxNameLen {
		name = string([]rune(name)[:maxNameLen])
	}
	return name
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
