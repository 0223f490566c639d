// Package auth provides huddle's identities and who may do what: local accounts with argon2id
// passwords, server-side sessions in a cookie, API keys for automation, roles (viewer < editor <
// admin) with per-dashboard overrides, an audit log, their HTTP API and the login page. OIDC
// sign-in lives in auth/oidc and ends in UpsertOIDCUser and StartSession.
//
// What it guarantees:
//
//   - Secrets are stored only as hashes: passwords as argon2id PHC strings (costs inside, so
//     they can change; a password is rehashed at its next login), session tokens and API key
//     secrets as SHA-256. A copy of the database lets nobody sign in.
//   - A session token is 256 random bits in the HttpOnly, SameSite=Lax cookie huddle_session
//     (Secure over HTTPS and whenever the public URL is https), new at every login. A session ends after SessionIdleTimeout without
//     use, after SessionLifetime whatever its use, at logout, at "logout everywhere", when an admin
//     revokes it, when the password changes and when its user is disabled or deleted, each at the
//     next request. Role changes apply at the next request too: roles are read, not cached.
//   - Password logins never tell whether a login exists: the same error and about the same time
//     for an unknown login, a wrong password, a disabled user or a user without a password.
//     LockoutThreshold failures in a row from one address lock the login (known or not) from that
//     address only, for LockoutDuration, doubling with each further failure, so nobody can lock
//     the owner out from elsewhere; the counts live in memory, per node. A login from one
//     address is rate limited. Both answer 429 with Retry-After.
//   - Cookie-authenticated writes pass Go's http.CrossOriginProtection; Bearer requests, which a
//     browser cannot forge across sites, skip it.
//   - API keys ("hud_<prefix>_<secret>", shown once) act for their owner with at most the owner's
//     current role and only on routes their scopes cover; they stop at expiry, revocation, or when
//     the owner is disabled or deleted. They are accepted as Bearer tokens and as the password of
//     Basic auth, never as a way to send an account password outside the login endpoint.
//   - Every route is declared in a table of httpapi.Routes with its least role and the scope a key
//     needs; a route without a rule cannot be registered.
//   - Security-relevant changes and their audit entries are written in one transaction.
//   - No change through this package leaves huddle without an enabled admin.
//
// The first start creates an admin (see [Service.Bootstrap]); `huddle user` manages accounts
// from the command line with the same rules.
package auth
