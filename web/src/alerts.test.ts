import { describe, expect, test } from "vitest";
import { byUrgency, instance, isOpen, parseAlertMessage, putEntry, putIncident, ruleFile, since, type Entry, type Group, type Incident } from "./alerts";

function incident(over: Partial<Incident>): Incident {
  return {
    id: "inc_1",
    rule: "R",
    group: "g",
    fingerprint: "f",
    labels: {},
    annotations: {},
    severity: 2,
    value: "1",
    state: "firing",
    firedAt: "2026-01-01T00:00:00Z",
    resolvedAt: null,
    takenBy: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    closedBy: null,
    closedAt: null,
    comments: 0,
    ...over,
  };
}

describe("byUrgency", () => {
  test("firing first, then the most severe, then the newest", () => {
    const list = [
      incident({ id: "resolved-sev0", state: "resolved", severity: 0 }),
      incident({ id: "sev3", severity: 3 }),
      incident({ id: "sev1-old", severity: 1, firedAt: "2026-01-01T00:00:00Z" }),
      incident({ id: "sev1-new", severity: 1, firedAt: "2026-01-01T00:05:00Z" }),
    ];
    expect(list.sort(byUrgency).map((i) => i.id)).toEqual(["sev1-new", "sev1-old", "sev3", "resolved-sev0"]);
  });
});

describe("putIncident", () => {
  const a = incident({ id: "a" });
  const b = incident({ id: "b" });

  test("replaces the incident of the same id, and adds a new one", () => {
    const taken = incident({ id: "a", takenBy: { login: "bob", name: "Bob" } });
    expect(putIncident([a, b], taken)).toEqual([b, taken]);
    expect(putIncident([a], b)).toEqual([a, b]);
  });

  test("takes out an incident keep refuses", () => {
    const closedBy = { login: "ada", name: "Ada" };
    const closed = incident({ id: "a", state: "resolved", closedAt: "2026-01-01T00:10:00Z", closedBy });
    expect(isOpen(closed)).toBe(false);
    expect(putIncident([a, b], closed, isOpen)).toEqual([b]);
    expect(putIncident([b], closed, isOpen)).toEqual([b]);
  });

  test("an incident is open while it fires or until a person resolves it", () => {
    const closedBy = { login: "ada", name: "Ada" };
    expect(isOpen(incident({ state: "firing" }))).toBe(true);
    expect(isOpen(incident({ state: "resolved" }))).toBe(true);
    expect(isOpen(incident({ state: "firing", closedAt: "2026-01-01T00:10:00Z", closedBy }))).toBe(true);
  });
});

describe("putEntry", () => {
  const e = (id: string, at: string): Entry => ({ id, at, kind: "comment", user: null, text: id });

  test("adds an entry once, in time order", () => {
    const t = [e("1", "2026-01-01T00:00:00Z"), e("3", "2026-01-01T00:02:00Z")];
    const late = e("2", "2026-01-01T00:01:00Z");
    expect(putEntry(t, late).map((x) => x.id)).toEqual(["1", "2", "3"]);
    expect(putEntry(putEntry(t, late), late).map((x) => x.id)).toEqual(["1", "2", "3"]);
  });
});

describe("parseAlertMessage", () => {
  test("reads the three kinds and refuses the rest", () => {
    const inc = incident({});
    expect(parseAlertMessage({ type: "incident", incident: inc })).toEqual({ type: "incident", incident: inc });
    const entry = { id: "e", at: "2026-01-01T00:00:00Z", kind: "taken", user: null, text: "" };
    expect(parseAlertMessage({ type: "timeline", incidentId: "inc_1", entry })).toEqual({ type: "timeline", incidentId: "inc_1", entry });
    expect(parseAlertMessage({ type: "rules" })).toEqual({ type: "rules" });
    expect(parseAlertMessage({ type: "incident", incident: null })).toBeNull();
    expect(parseAlertMessage({ type: "timeline", incidentId: 3, entry })).toBeNull();
    expect(parseAlertMessage({ type: "points" })).toBeNull();
  });
});

test("instance is the instance label, else the other labels", () => {
  expect(instance({ alertname: "X", instance: "web-1:9100", job: "node" })).toBe("web-1:9100");
  expect(instance({ alertname: "X", job: "node", severity: "2" })).toBe("job=node");
});

test("since uses the largest unit that fits", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const at = "2026-01-01T00:00:00Z";
  expect(since(at, t0 + 42_000)).toBe("42s");
  expect(since(at, t0 + 5 * 60_000)).toBe("5m");
  expect(since(at, t0 + 90 * 60_000)).toBe("1h 30m");
  expect(since(at, t0 + 26 * 3600_000)).toBe("1d 2h");
  expect(since(at, t0 - 5000)).toBe("0s");
});

test("ruleFile writes a group as its rule file would, without state or what the server fills in", () => {
  const g: Group = {
    name: "hub",
    interval: "1m",
    limit: 0,
    queryOffset: "0s",
    source: "api",
    editable: true,
    lastEvaluation: "2026-01-01T00:00:00Z",
    evaluationTime: 0.001,
    rules: [
      {
        kind: "alerting", name: "High", alert: "High", expr: "x > 1", for: "5m", keepFiringFor: "0s", severity: 1,
        noDataState: "alerting", errorState: "ok",
        labels: { severity: "error" }, annotations: { summary: "{{ $value }}" }, state: "firing", health: "ok", lastError: "",
        lastEvaluation: "2026-01-01T00:00:00Z", evaluationTime: 0, alerts: [],
      },
      {
        kind: "recording", name: "job:x:rate5m", record: "job:x:rate5m", expr: "rate(x[5m])", labels: { a: "b" },
        health: "ok", lastError: "", lastEvaluation: "2026-01-01T00:00:00Z", evaluationTime: 0,
      },
    ],
  };
  expect(ruleFile(g)).toEqual({
    name: "hub",
    interval: "1m",
    rules: [
      { alert: "High", expr: "x > 1", for: "5m", severity: 1, no_data_state: "alerting", annotations: { summary: "{{ $value }}" } },
      { record: "job:x:rate5m", expr: "rate(x[5m])", labels: { a: "b" } },
    ],
  });
});

test("ruleFile keeps a severity label that says otherwise than the severity", () => {
  const rule = {
    kind: "alerting" as const, name: "A", alert: "A", expr: "x > 1", severity: 1, labels: { severity: "page" },
    health: "ok" as const, lastError: "", lastEvaluation: null, evaluationTime: 0,
  };
  const g: Group = { name: "g", source: "api", editable: true, lastEvaluation: null, evaluationTime: 0, rules: [rule] };
  expect(ruleFile(g).rules).toEqual([{ alert: "A", expr: "x > 1", severity: 1, labels: { severity: "page" } }]);
});
