// Alerting as the browser sees it: the wire types of the alerting API, its calls, and the pure
// rules for keeping a list of incidents up to date from the hub's alerts group. Each incident
// message carries the whole incident as it is after the change, so the latest message wins and
// a list is kept current by putting each one in place.
import { api, ApiError } from "./api";

export interface Person {
  login: string;
  name: string;
}

export interface Incident {
  id: string;
  rule: string;
  group: string;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  severity: number;
  value: string;
  /** state is the rule's view: firing, or resolved once the condition no longer holds. */
  state: "firing" | "resolved";
  firedAt: string;
  resolvedAt: string | null;
  takenBy: Person | null;
  acknowledgedBy: Person | null;
  acknowledgedAt: string | null;
  /** closedBy is the person who resolved the incident; closed incidents are done with. */
  closedBy: Person | null;
  closedAt: string | null;
  comments: number;
}

export type EntryKind = "fired" | "notified" | "taken" | "released" | "comment" | "acknowledged" | "resolved" | "closed";

export interface Entry {
  id: string;
  at: string;
  kind: EntryKind;
  user: Person | null;
  text: string;
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  firedAt: string | null;
  value: string;
}

export interface Rule {
  kind: "alerting" | "recording";
  name: string;
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keepFiringFor?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** severity is an alerting rule's level: given, or read from its `severity` label. */
  severity?: number;
  /** noDataState and errorState: "alerting" opens an incident when the query finds nothing or
   * fails; "ok" (or none) does not, as in Prometheus. */
  noDataState?: string;
  errorState?: string;
  state?: "inactive" | "pending" | "firing";
  health: "ok" | "err" | "unknown";
  lastError: string;
  lastEvaluation: string | null;
  evaluationTime: number;
  alerts?: ActiveAlert[];
}

export interface Group {
  name: string;
  interval?: string;
  limit?: number;
  queryOffset?: string;
  labels?: Record<string, string>;
  source: "file" | "provisioned" | "api";
  file?: string;
  editable: boolean;
  lastEvaluation: string | null;
  evaluationTime: number;
  rules: Rule[];
}

/** What the server says on the hub's alerts group. */
export type AlertMessage =
  | { type: "incident"; incident: Incident }
  | { type: "timeline"; incidentId: string; entry: Entry }
  | { type: "rules" };

/** parseAlertMessage reads a message of the alerts group, or returns null for one this page
 * cannot use. Only the server sends there, but an unknown kind must not break the page. */
export function parseAlertMessage(data: Record<string, unknown>): AlertMessage | null {
  switch (data.type) {
    case "incident": {
      const inc = data.incident as Incident | null;
      return inc && typeof inc.id === "string" ? { type: "incident", incident: inc } : null;
    }
    case "timeline": {
      const entry = data.entry as Entry | null;
      return typeof data.incidentId === "string" && entry && typeof entry.id === "string"
        ? { type: "timeline", incidentId: data.incidentId, entry }
        : null;
    }
    case "rules":
      return { type: "rules" };
  }
  return null;
}

/** Severities 0 to 4, most severe first, by the names the server gives them in a rule's
 * `severity` label. */
export const severityNames = ["critical", "error", "warning", "info", "verbose"];

export function severityLabel(s: number): string {
  return `Sev${s}`;
}

/** isOpen tells whether an incident is among the open ones, as the server lists them: firing,
 * or cleared by its rule but not yet resolved by a person. */
export function isOpen(i: Incident): boolean {
  return i.state === "firing" || i.closedAt == null;
}

/** byUrgency orders incidents as the alert bar shows them: firing first, then the most severe,
 * then the newest. */
export function byUrgency(a: Incident, b: Incident): number {
  if (a.state !== b.state) return a.state === "firing" ? -1 : 1;
  if (a.severity !== b.severity) return a.severity - b.severity;
  return Date.parse(b.firedAt) - Date.parse(a.firedAt);
}

/** putIncident is list with inc in place of its former self, or added; an incident no longer
 * kept by keep is taken out. */
export function putIncident(list: Incident[], inc: Incident, keep: (i: Incident) => boolean = () => true): Incident[] {
  const rest = list.filter((i) => i.id !== inc.id);
  return keep(inc) ? [...rest, inc] : rest;
}

/** putEntry is a timeline with entry added once, in time order. */
export function putEntry(timeline: Entry[], entry: Entry): Entry[] {
  if (timeline.some((e) => e.id === entry.id)) return timeline;
  return [...timeline, entry].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** instance names the alert instance of an incident: its instance label, else its other
 * labels. */
export function instance(labels: Record<string, string>): string {
  if (labels.instance) return labels.instance;
  return Object.entries(labels)
    .filter(([k]) => k !== "alertname" && k !== "severity")
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** since says how long ago an RFC 3339 time was, in the largest unit that fits. */
export function since(at: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export type IncidentFilter = "firing" | "resolved" | "open" | "all";

export interface IncidentQuery {
  state: IncidentFilter;
  severities: number[];
  q: string;
}

export function loadIncidents({ state, severities, q }: IncidentQuery): Promise<Incident[]> {
  const p = new URLSearchParams({ state, limit: "200" });
  if (severities.length > 0) p.set("severity", severities.join(","));
  if (q) p.set("q", q);
  return api<{ incidents: Incident[] }>("GET", `/api/alerting/incidents?${p}`).then((r) => r.incidents ?? []);
}

export function loadIncident(id: string): Promise<Incident & { timeline: Entry[] }> {
  return api("GET", `/api/alerting/incidents/${encodeURIComponent(id)}`);
}

export function loadRules(): Promise<Group[]> {
  return api<{ groups: Group[] }>("GET", "/api/alerting/rules").then((r) => r.groups ?? []);
}

export type Action = "take" | "release" | "acknowledge" | "resolve";

/** act does something to an incident on behalf of the signed-in person. */
export function act(id: string, action: Action, text?: string): Promise<Incident> {
  return api("POST", `/api/alerting/incidents/${encodeURIComponent(id)}/${action}`, text ? { text } : {});
}

export function comment(id: string, text: string): Promise<Entry> {
  return api("POST", `/api/alerting/incidents/${encodeURIComponent(id)}/comments`, { text });
}

/** ruleFile is a group as the editor shows it: the Prometheus rule-group file's fields (as its
 * YAML spells them) of what the group says, without its evaluation state, and with the empty and
 * default ones left out. */
export function ruleFile(g: Group): Record<string, unknown> {
  const out: Record<string, unknown> = { name: g.name };
  if (g.interval) out.interval = g.interval;
  if (g.limit) out.limit = g.limit;
  if (g.queryOffset && !isZeroDuration(g.queryOffset)) out.query_offset = g.queryOffset;
  if (g.labels && Object.keys(g.labels).length > 0) out.labels = g.labels;
  out.rules = g.rules.map((r) => {
    const o: Record<string, unknown> = r.kind === "recording" ? { record: r.record ?? r.name } : { alert: r.alert ?? r.name };
    o.expr = r.expr;
    if (r.for && !isZeroDuration(r.for)) o.for = r.for;
    if (r.keepFiringFor && !isZeroDuration(r.keepFiringFor)) o.keep_firing_for = r.keepFiringFor;
    if (r.kind === "alerting" && r.severity !== undefined) o.severity = r.severity;
    if (r.noDataState && r.noDataState !== "ok") o.no_data_state = r.noDataState;
    if (r.errorState && r.errorState !== "ok") o.error_state = r.errorState;
    // The server gives an alerting rule the severity label of its severity when it has none;
    // left out, it follows a change of the severity.
    const labels = { ...r.labels };
    if (r.kind === "alerting" && r.severity !== undefined && labels.severity === severityNames[r.severity]) delete labels.severity;
    if (Object.keys(labels).length > 0) o.labels = labels;
    if (r.annotations && Object.keys(r.annotations).length > 0) o.annotations = r.annotations;
    return o;
  });
  return out;
}

function isZeroDuration(d: string): boolean {
  return /^(0[a-z]*)+$/.test(d);
}

export function saveGroup(name: string, yaml: string): Promise<Group> {
  return api("PUT", `/api/alerting/rules/${encodeURIComponent(name)}`, yaml, "application/yaml");
}

export function checkGroup(yaml: string): Promise<{ ok: boolean }> {
  return api("POST", "/api/alerting/rules/check", yaml, "application/yaml");
}

export function deleteGroup(name: string): Promise<void> {
  return api("DELETE", `/api/alerting/rules/${encodeURIComponent(name)}`);
}

/** problems are what the server found wrong in a group: its message and each detail. */
export function problems(e: unknown): string[] {
  if (!(e instanceof ApiError)) return [e instanceof Error ? e.message : String(e)];
  const details = Array.isArray(e.body.details) ? e.body.details.filter((d): d is string => typeof d === "string") : [];
  return [e.message, ...details];
}
