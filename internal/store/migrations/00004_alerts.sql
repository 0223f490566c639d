-- Alerting rules managed over HTTP, and incidents: one per firing episode of one alert instance,
-- with the timeline of what happened to it and who handled it.

-- +goose Up
-- A group is kept whole as its JSON spec, as Prometheus keeps a group whole in a rule file.
-- source is 'provisioned' for the groups huddle writes on first start and 'api' for the rest;
-- both are editable. Groups from rule files are not stored: their file is their source.
CREATE TABLE alert_rule_groups (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  source TEXT NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);

-- state is the rule's view ('firing' until the alert stops, then 'resolved'); taken, acknowledged
-- and closed are people's. An instance is identified by its group, rule and fingerprint (the hash
-- of its labels, as Alertmanager computes it), so that at most one firing incident exists for it.
CREATE TABLE alert_incidents (
  id TEXT PRIMARY KEY,
  group_name TEXT NOT NULL,
  rule TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  severity INTEGER NOT NULL,
  value TEXT NOT NULL,
  state TEXT NOT NULL,
  fired_at BIGINT NOT NULL,
  resolved_at BIGINT NOT NULL DEFAULT 0,
  taken_by TEXT NOT NULL DEFAULT '',
  taken_by_name TEXT NOT NULL DEFAULT '',
  acknowledged_by TEXT NOT NULL DEFAULT '',
  acknowledged_by_name TEXT NOT NULL DEFAULT '',
  acknowledged_at BIGINT NOT NULL DEFAULT 0,
  closed_by TEXT NOT NULL DEFAULT '',
  closed_by_name TEXT NOT NULL DEFAULT '',
  closed_at BIGINT NOT NULL DEFAULT 0,
  comments INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alert_incidents_instance ON alert_incidents (group_name, rule, fingerprint, state);
CREATE INDEX alert_incidents_fired ON alert_incidents (fired_at);

CREATE TABLE alert_incident_events (
  id TEXT PRIMARY KEY,
  incident_id TEXT NOT NULL REFERENCES alert_incidents(id) ON DELETE CASCADE,
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  login TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_incident_events_incident ON alert_incident_events (incident_id, at);

-- +goose Down
DROP TABLE alert_incident_events;
DROP TABLE alert_incidents;
DROP TABLE alert_rule_groups;
