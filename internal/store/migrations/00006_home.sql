-- Each person's own view of the dashboards list: the dashboards they starred and those they
-- opened lately. Portable SQL like 00001: TEXT ids, BIGINT unix-millisecond timestamps, one
-- schema for SQLite and PostgreSQL. Rows go with their user and their dashboard.

-- +goose Up
CREATE TABLE dashboard_stars (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  dashboard_uid TEXT NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
  starred_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, dashboard_uid)
);
CREATE INDEX dashboard_stars_dashboard ON dashboard_stars (dashboard_uid);

-- Only each person's latest views are kept (the service trims to its limit at each view).
CREATE TABLE dashboard_views (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  dashboard_uid TEXT NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
  viewed_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, dashboard_uid)
);
CREATE INDEX dashboard_views_dashboard ON dashboard_views (dashboard_uid);

-- +goose Down
DROP TABLE dashboard_views;
DROP TABLE dashboard_stars;
