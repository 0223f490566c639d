-- Alert notifications: contact points, the notification policy, silences and the delivery log.
-- Portable SQL like 00001: TEXT ids, BIGINT unix-millisecond timestamps, one schema for SQLite
-- and PostgreSQL.

-- +goose Up
-- settings is the kind's JSON, secrets included: the API masks them, the database does not.
CREATE TABLE contact_points (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  settings TEXT NOT NULL,
  timeout_ms BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);

-- The policy is one document, read and replaced whole, as its API does: the routes are an
-- ordered list whose order is their meaning. One row, id 1.
CREATE TABLE notification_policy (
  id INTEGER PRIMARY KEY,
  policy TEXT NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);

-- Expiring a silence sets ends_at to the time of expiry; silences are kept for the record.
CREATE TABLE silences (
  id TEXT PRIMARY KEY,
  matchers TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX silences_ends_at ON silences (ends_at);

-- One row per alert per attempt (or per silencing or drop). contact_point_id is not a foreign
-- key: the log outlives the contact point, whose name is kept beside it. seq orders the entries
-- of one millisecond.
CREATE TABLE alert_deliveries (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL,
  incident_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  contact_point_id TEXT NOT NULL,
  contact_point_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at BIGINT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  test INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_incident ON alert_deliveries (incident_id, at);
CREATE INDEX alert_deliveries_fingerprint ON alert_deliveries (fingerprint, at);
CREATE INDEX alert_deliveries_at ON alert_deliveries (at);

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE silences;
DROP TABLE notification_policy;
DROP TABLE contact_points;
