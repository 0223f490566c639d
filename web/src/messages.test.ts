/// <reference types="vite/client" />
// The messages the Go side sends, read from the golden files its tests write from the real
// encoders (internal/dashboard, internal/live, internal/alerts, internal/collab; `go test
// -update` rewrites them). Each is read with the UI's own parser and checked against a typed
// sample of the UI's type: a field the Go side renames or drops, or one the UI starts to need,
// fails here.
import { describe, expect, it } from "vitest";
import { parseAlertMessage, type Entry, type Incident } from "./alerts";
import { PanelData, type Answer } from "./data";
import { parseAnnotation, parseChangeEvent, parseNegotiated, parsePush, routeServerMessage, type Negotiated, type Push } from "./messages";
import type { Annotation } from "./model";

const files = import.meta.glob<Record<string, unknown>>("./golden/*.json", { eager: true, import: "default" });

function golden(name: string): Record<string, unknown> {
  const g = files[`./golden/${name}`];
  if (!g) throw new Error(`no golden file ${name}: run the Go tests with -update`);
  return structuredClone(g);
}

/** kind is what a JSON value is, as a sample and a message must agree on. */
function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** expectShape checks that actual has every field of sample, of the same kind, all the way down
 * (an array by its first element, an empty object as any object). */
function expectShape(actual: unknown, sample: unknown, path = "$") {
  expect(kind(actual), path).toBe(kind(sample));
  if (Array.isArray(sample) && Array.isArray(actual)) {
    expect(actual.length, `${path} is empty`).toBeGreaterThan(0);
    if (sample.length > 0) expectShape(actual[0], sample[0], `${path}[0]`);
  } else if (kind(sample) === "object") {
    for (const [k, v] of Object.entries(sample as Record<string, unknown>)) {
      expect(actual as Record<string, unknown>, `${path}.${k}`).toHaveProperty(k);
      expectShape((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
  }
}

const annotation: Required<Omit<Annotation, "deleted">> = {
  id: 1, dashboardUID: "ops", panelId: 2, time: 0, timeEnd: 0, tags: ["deploy"], text: "", userId: "", login: "", created: 0, updated: 0, seq: 1,
};

describe("points", () => {
  const push: Push = {
    type: "points", dashboard: "ops", version: 3, key: "k", time: 0,
    results: [{ panel: 1, refId: "A", result: [{ metric: {}, value: [0, "1"] }] }],
  };

  it("is read by parsePush, in the UI's shape", () => {
    const m = golden("points.json");
    expectShape(m, push);
    expect(parsePush(m)).not.toBeNull();
  });

  it("gives the panels their values, an empty answer and an error", () => {
    const p = parsePush(golden("points.json"))!;
    const byPanel = (panel: number) => new Map<string, Answer>(p.results.filter((r) => r.panel === panel).map((r) => [r.refId, r]));
    const series = new PanelData();
    series.add(p.time / 1000, byPanel(1));
    expect(series.series.map((s) => s.labels.host)).toEqual(["a"]);
    expect(series.last()[0].value).toBe(21.5);
    const empty = new PanelData();
    empty.add(p.time / 1000, byPanel(2));
    expect(empty.series).toEqual([]);
    const failed = new PanelData();
    failed.add(p.time / 1000, byPanel(3));
    expect(failed.errors.get("A")).toMatch(/parse error/);
  });

  it("is refused without what the UI needs", () => {
    for (const field of ["key", "time", "results", "version"]) {
      const m = golden("points.json");
      delete m[field];
      expect(parsePush(m), field).toBeNull();
    }
    const m = golden("points.json");
    (m.results as Record<string, unknown>[])[0].refId = 1;
    expect(parsePush(m)).toBeNull();
  });
});

describe("dashboard events", () => {
  it.each(["dashboard-updated.json", "dashboard-deleted.json"])("%s is read by parseChangeEvent", (name) => {
    const m = golden(name);
    expectShape(m, { type: "", dashboard: "", version: 0, by: "" });
    expect(parseChangeEvent(m)?.type).toMatch(/^dashboard\./);
  });

  it("an annotation made carries the whole annotation", () => {
    const m = golden("annotation-created.json");
    expectShape(m.annotation, annotation);
    const ev = parseChangeEvent(m);
    expect(ev?.type).toBe("annotation.created");
    expect(ev?.annotation?.text).toBe("rolled out v2");
  });

  it("an annotation removed says so", () => {
    const ev = parseChangeEvent(golden("annotation-deleted.json"));
    expect(ev?.type).toBe("annotation.deleted");
    expect(ev?.annotation?.deleted).toBe(true);
  });

  it("an annotation without a field the charts need is refused", () => {
    for (const field of ["time", "timeEnd", "tags", "text", "seq"]) {
      const a = golden("annotation-created.json").annotation as Record<string, unknown>;
      delete a[field];
      expect(parseAnnotation(a), field).toBeNull();
    }
  });
});

describe("routeServerMessage", () => {
  it("hands each message to the handler of its kind, and drops one it cannot read", () => {
    const seen: string[] = [];
    const on = {
      points: (p: Push) => seen.push(`points ${p.key}`),
      annotation: (ev: { type: string }) => seen.push(ev.type),
      dashboard: (ev: { type: string }) => seen.push(ev.type),
    };
    for (const name of ["points.json", "annotation-created.json", "dashboard-updated.json", "dashboard-deleted.json"]) routeServerMessage(golden(name), on);
    routeServerMessage({ type: "points", dashboard: "ops" }, on);
    routeServerMessage({ type: "dashboard.updated" }, on);
    expect(seen).toEqual(["points k1", "annotation.created", "dashboard.updated", "dashboard.deleted"]);
  });
});

describe("alerts group", () => {
  const person = { login: "", name: "" };
  const incident: Incident = {
    id: "", rule: "", group: "", fingerprint: "", labels: {}, annotations: {}, severity: 1, value: "", state: "firing", firedAt: "",
    resolvedAt: null, takenBy: person, acknowledgedBy: null, acknowledgedAt: null, closedBy: null, closedAt: null, comments: 0,
  };
  const entry: Entry = { id: "", at: "", kind: "taken", user: person, text: "" };

  it("an incident", () => {
    const m = golden("alert-incident.json");
    expectShape(m, { type: "incident", incident });
    expect(parseAlertMessage(m)).toMatchObject({ type: "incident", incident: { takenBy: { login: "ada" } } });
  });

  it("a timeline entry", () => {
    const m = golden("alert-timeline.json");
    expectShape(m, { type: "timeline", incidentId: "", entry });
    expect(parseAlertMessage(m)).toMatchObject({ type: "timeline", entry: { kind: "taken" } });
  });

  it("rules changed", () => {
    expect(parseAlertMessage(golden("alert-rules.json"))).toEqual({ type: "rules" });
  });
});

describe("negotiate", () => {
  const me: Required<Negotiated> = { url: "", userId: "", name: "", role: "viewer", metricsGroup: "", collabGroup: "", alertsGroup: "", presenceGroup: "" };

  it("on a dashboard names its groups", () => {
    const m = golden("negotiate-dashboard.json");
    expectShape(m, me);
    expect(parseNegotiated(m)).toMatchObject({ userId: "ada", metricsGroup: "dash.ops.metrics" });
  });

  it("on none names the alerts and presence groups alone", () => {
    const m = golden("negotiate-alerts.json");
    const { metricsGroup: _m, collabGroup: _c, ...alone } = me;
    expectShape(m, alone);
    expect(m).not.toHaveProperty("metricsGroup");
    expect(parseNegotiated(m)).not.toBeNull();
  });

  it("is refused without a client URL", () => {
    const m = golden("negotiate-dashboard.json");
    delete m.url;
    expect(parseNegotiated(m)).toBeNull();
  });
});
