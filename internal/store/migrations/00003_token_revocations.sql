-- When each user's hub tokens were last revoked: a client token for the dashboards' hub issued
-- at or before this time is refused. Keyed by login, the user id of those tokens, and kept when
-- the user is deleted, so a deleted user's tokens stay refused until they expire.

-- +goose Up
CREATE TABLE token_revocations (
  login TEXT PRIMARY KEY,
  revoked_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE token_revocations;
