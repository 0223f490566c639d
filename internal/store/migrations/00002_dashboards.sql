-- Dashboards and their annotations.
-- Portable SQL like 00001: TEXT uids, BIGINT unix-millisecond timestamps, one schema for SQLite
-- and PostgreSQL.

-- +goose Up
-- A dashboard is kept whole, as its canonical JSON model, beside the columns that lists, sorting
-- and optimistic locking need. version counts saves: a save based on another version is refused.
-- annotation_seq counts the annotation changes on the dashboard: incrementing it first in each
-- change's transaction orders those changes (a row lock on PostgreSQL, the single writer on
-- SQLite), so a client that saw change n can ask for everything after n and miss nothing.
CREATE TABLE dashboards (
  uid TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '[]',
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  annotation_seq BIGINT NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL DEFAULT '',
  updated_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX dashboards_title ON dashboards (title);

-- Annotations follow Grafana's fields. A point annotation has time_end = time_start, so that a range
-- query is one overlap test. A deleted annotation stays as a tombstone (deleted_at <> 0, text and
-- tags cleared) so that a client resyncing after a reconnect learns of the deletion.
CREATE TABLE annotations (
  id BIGINT PRIMARY KEY,
  dashboard_uid TEXT NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
  panel_id BIGINT NOT NULL DEFAULT 0,
  time_start BIGINT NOT NULL,
  time_end BIGINT NOT NULL,
  text TEXT NOT NULL,
  user_id TEXT NOT NULL,
  login TEXT NOT NULL,
  seq BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX annotations_dashboard_time ON annotations (dashboard_uid, time_start);
CREATE INDEX annotations_dashboard_seq ON annotations (dashboard_uid, seq);
CREATE INDEX annotations_time ON annotations (time_start);

-- Tags in a table of their own, rather than a list in a column, so that "has tag t" is an
-- indexed join on both engines.
CREATE TABLE annotation_tags (
  annotation_id BIGINT NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (annotation_id, tag)
);
CREATE INDEX annotation_tags_tag ON annotation_tags (tag);

-- Built-in content created once per database (the "This host" dashboard): the row stays when
-- the content is deleted, so that a deletion is not undone at the next start.
CREATE TABLE provisioning (
  name TEXT PRIMARY KEY,
  done_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE provisioning;
DROP TABLE annotation_tags;
DROP TABLE annotations;
DROP TABLE dashboards;
