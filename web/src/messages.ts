// What the server tells the page: the answer of /api/negotiate (internal/collab), and on a
// dashboard's metrics group live points (internal/live Push) and changes to the dashboard and its
// annotations (internal/dashboard Event). The Go tests write what the Go side encodes to golden/,
// and messages.test.ts reads those files with these parsers, so a field renamed on either side
// fails a test.
import type { Answer } from "./data";
import type { Annotation } from "./model";

/** Push carries every panel query's value at one instant. */
export interface Push {
  type: "points";
  dashboard: string;
  version: number;
  /** key is the key of the expansion whose queries the points are of. */
  key: string;
  time: number;
  results: PushResult[];
}

export type PushResult = { panel: number; refId: string } & Answer;

/** ChangeEvent tells of a saved or deleted dashboard, or an annotation made, changed or removed. */
export interface ChangeEvent {
  type: string;
  dashboard: string;
  version: number;
  by?: string;
  annotation?: Annotation;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** parsePush reads a points message, or returns null when one the UI needs is missing. */
export function parsePush(m: Record<string, unknown>): Push | null {
  if (m.type !== "points" || typeof m.dashboard !== "string" || typeof m.version !== "number") return null;
  if (typeof m.key !== "string" || typeof m.time !== "number" || !Array.isArray(m.results)) return null;
  const ok = m.results.every(
    (r) =>
      isObject(r) &&
      typeof r.panel === "number" &&
      typeof r.refId === "string" &&
      (r.error === undefined || typeof r.error === "string") &&
      (r.result === undefined || r.result === null || Array.isArray(r.result)),
  );
  return ok ? (m as unknown as Push) : null;
}

/** parseAnnotation checks the fields of an annotation that the charts and the side list show. */
export function parseAnnotation(v: unknown): Annotation | null {
  if (!isObject(v)) return null;
  const numbers = ["id", "panelId", "time", "timeEnd", "seq"].every((k) => typeof v[k] === "number");
  const strings = ["text", "login", "dashboardUID"].every((k) => typeof v[k] === "string");
  const tags = Array.isArray(v.tags) && v.tags.every((t) => typeof t === "string");
  return numbers && strings && tags ? (v as unknown as Annotation) : null;
}

/** parseChangeEvent reads a change message, or returns null for one the UI cannot use. */
export function parseChangeEvent(m: Record<string, unknown>): ChangeEvent | null {
  if (typeof m.type !== "string" || typeof m.dashboard !== "string" || typeof m.version !== "number") return null;
  if (m.by !== undefined && typeof m.by !== "string") return null;
  if (m.annotation === undefined) return m as unknown as ChangeEvent;
  const annotation = parseAnnotation(m.annotation);
  return annotation ? { ...(m as unknown as ChangeEvent), annotation } : null;
}

/** routeServerMessage hands a message of the metrics group, once read, to the handler of its
 * kind; one the UI cannot read is dropped. */
export function routeServerMessage(
  m: Record<string, unknown>,
  on: { points(p: Push): void; annotation(ev: ChangeEvent): void; dashboard(ev: ChangeEvent): void },
) {
  if (m.type === "points") {
    const push = parsePush(m);
    if (push) on.points(push);
    return;
  }
  const ev = parseChangeEvent(m);
  if (ev?.type.startsWith("annotation.")) on.annotation(ev);
  else if (ev) on.dashboard(ev);
}

/** Negotiated is the answer of /api/negotiate: where to connect, as whom, and the groups. */
export interface Negotiated {
  url: string;
  userId: string;
  name: string;
  role: "viewer" | "editor" | "admin";
  /** The dashboard's groups; absent when negotiated for the alerts alone. */
  metricsGroup?: string;
  collabGroup?: string;
  /** The alerts group, where the server tells of incidents and rules. */
  alertsGroup?: string;
  /** The presence group, where the server tells which dashboards' viewers changed. */
  presenceGroup?: string;
}

const optionalString = (v: unknown) => v === undefined || typeof v === "string";

/** parseNegotiated reads the negotiate answer, or returns null when it lacks what the page needs. */
export function parseNegotiated(m: Record<string, unknown>): Negotiated | null {
  const ok =
    ["url", "userId", "name", "role"].every((k) => typeof m[k] === "string") &&
    ["metricsGroup", "collabGroup", "alertsGroup", "presenceGroup"].every((k) => optionalString(m[k]));
  return ok ? (m as unknown as Negotiated) : null;
}
