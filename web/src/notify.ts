// Notifications as the browser sees them: the wire types of the notification API (contact
// points, the policy, silences, the delivery log), its calls, and the pure rules the pages follow
// to turn them into form fields and back. Secrets come from the server as `secret` and go back
// as they came to keep the stored value.
import { api, ApiError } from "./api";

/** secret is what the server answers in place of a secret it keeps. */
export const secret = "<secret>";

export type Kind = "webhook" | "alertmanager" | "slack" | "teams" | "email" | "hub";

export type Settings = Record<string, unknown>;

export interface ContactPoint {
  id: string;
  name: string;
  kind: Kind;
  /** timeout bounds each attempt, as a Prometheus duration (server default 10s). */
  timeout: string;
  /** attempts is how many times a notification is tried in all (server default 3). */
  attempts: number;
  settings: Settings;
  updatedAt: string;
  updatedBy: string;
}

/** How a settings field is edited: text; a secret (kept while it reads `secret`); a list, one
 * item a line; headers, `Name: value` a line; a number; or a choice. */
export type FieldType = "text" | "secret" | "list" | "headers" | "number" | "choice";

export interface Field {
  name: string;
  label: string;
  type: FieldType;
  required?: boolean;
  placeholder?: string;
  choices?: string[];
  help?: string;
}

/** The settings of each kind, as the server's notify package reads them. */
export const kinds: Record<Kind, { label: string; fields: Field[] }> = {
  webhook: {
    label: "Webhook",
    fields: [
      { name: "url", label: "URL", type: "text", required: true, placeholder: "https://ops.example.com/hook" },
      { name: "secret", label: "HMAC secret", type: "secret", help: "Signs each request: X-Huddle-Signature: sha256=<HMAC of timestamp.body>" },
      { name: "headers", label: "Headers", type: "headers", placeholder: "X-Team: ops", help: `One Name: value a line; values are kept secret, and ${secret} keeps the stored one` },
    ],
  },
  alertmanager: {
    label: "Alertmanager",
    fields: [
      { name: "urls", label: "URLs", type: "list", required: true, placeholder: "http://alertmanager:9093", help: "One Alertmanager a line, every member of a cluster" },
      { name: "username", label: "Username", type: "text" },
      { name: "password", label: "Password", type: "secret" },
      { name: "bearerToken", label: "Bearer token", type: "secret", help: "Instead of a username and password" },
    ],
  },
  slack: {
    label: "Slack",
    fields: [{ name: "url", label: "Incoming webhook URL", type: "secret", required: true, placeholder: "https://hooks.slack.com/services/…" }],
  },
  teams: {
    label: "Microsoft Teams",
    fields: [{ name: "url", label: "Incoming webhook URL", type: "secret", required: true, placeholder: "https://….webhook.office.com/…" }],
  },
  email: {
    label: "E-mail",
    fields: [
      { name: "host", label: "SMTP host", type: "text", required: true, placeholder: "smtp.example.com" },
      { name: "port", label: "Port", type: "number", placeholder: "587" },
      { name: "tls", label: "TLS", type: "choice", choices: ["starttls", "opportunistic", "tls"] },
      { name: "from", label: "From", type: "text", required: true, placeholder: "huddle@example.com" },
      { name: "to", label: "To", type: "list", required: true, placeholder: "ops@example.com", help: "One address a line" },
      { name: "username", label: "Username", type: "text" },
      { name: "password", label: "Password", type: "secret" },
    ],
  },
  hub: {
    label: "Web PubSub hub",
    fields: [
      { name: "hub", label: "Hub", type: "text", required: true, placeholder: "alerts" },
      { name: "group", label: "Group", type: "text", required: true, placeholder: "ops" },
    ],
  },
};

/** FormValues are a contact point's settings as its form's fields hold them: text each. */
export type FormValues = Record<string, string>;

/** toForm turns settings into the text of kind's fields. */
export function toForm(kind: Kind, s: Settings): FormValues {
  const out: FormValues = {};
  for (const f of kinds[kind].fields) {
    const v = s[f.name];
    if (v == null) out[f.name] = "";
    else if (f.type === "list") out[f.name] = (v as string[]).join("\n");
    else if (f.type === "headers") out[f.name] = Object.entries(v as Record<string, string>).map(([k, hv]) => `${k}: ${hv}`).join("\n");
    else out[f.name] = String(v);
  }
  return out;
}

/** fromForm turns the text of kind's fields into its settings, empty fields left out. A header
 * line without a colon is an error naming it. */
export function fromForm(kind: Kind, values: FormValues): Settings {
  const out: Settings = {};
  for (const f of kinds[kind].fields) {
    const text = (values[f.name] ?? "").trim();
    if (text === "") continue;
    switch (f.type) {
      case "list":
        out[f.name] = lines(text);
        break;
      case "headers": {
        const h: Record<string, string> = {};
        for (const line of lines(text)) {
          const i = line.indexOf(":");
          if (i <= 0) throw new Error(`${f.label}: "${line}" is not Name: value`);
          h[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
        out[f.name] = h;
        break;
      }
      case "number": {
        const n = Number(text);
        if (!Number.isInteger(n)) throw new Error(`${f.label}: "${text}" is not a whole number`);
        out[f.name] = n;
        break;
      }
      default:
        out[f.name] = text;
    }
  }
  return out;
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** target says in a few words where a contact point sends, secrets left out. */
export function target(cp: ContactPoint): string {
  const s = cp.settings;
  switch (cp.kind) {
    case "webhook":
      return String(s.url ?? "");
    case "alertmanager":
      return ((s.urls as string[] | undefined) ?? []).join(", ");
    case "email":
      return ((s.to as string[] | undefined) ?? []).join(", ");
    case "hub":
      return `${s.hub ?? ""} / ${s.group ?? ""}`;
  }
  return "";
}

export interface Route {
  /** matchers are Alertmanager matchers, one string each (`severity=~"0|1"`); all must match. */
  matchers: string[];
  /** contactPoint is an id; empty is the default policy's. */
  contactPoint: string;
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  continue?: boolean;
}

export interface Policy {
  contactPoint: string;
  groupBy: string[] | null;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
  routes: Route[];
  updatedAt?: string;
  updatedBy?: string;
}

export interface Silence {
  id: string;
  matchers: string[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  state: "pending" | "active" | "expired";
}

export interface Delivery {
  id: string;
  incidentId: string;
  fingerprint: string;
  contactPointId: string;
  contactPointName: string;
  kind: Kind;
  attempt: number;
  at: string;
  /** status is ok, failed, silenced, dropped, or test (a test sent without error). */
  status: string;
  error?: string;
  httpStatus?: number;
  test?: boolean;
}

/** splitMatchers reads matchers written as text: separated by commas or new lines, in braces or
 * not, as Alertmanager's `{a="1", b=~"2|3"}`. A comma inside a quoted value stays in it. */
export function splitMatchers(text: string): string[] {
  let t = text.trim();
  if (t.startsWith("{") && t.endsWith("}")) t = t.slice(1, -1);
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (quoted && c === "\\" && i + 1 < t.length) {
      cur += c + t[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === "," || c === "\n")) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out.map((m) => m.trim()).filter((m) => m !== "");
}

/** joinMatchers writes matchers as splitMatchers reads them. */
export function joinMatchers(ms: string[]): string {
  return ms.join(", ");
}

/** equalMatcher is the matcher `name="value"`, the value quoted as Alertmanager reads it. */
export function equalMatcher(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

/** incidentMatchers are the matchers that silence an incident's alert: its alertname and
 * instance, or every label when it has no instance. */
export function incidentMatchers(labels: Record<string, string>): string[] {
  const names = labels.instance !== undefined ? ["alertname", "instance"] : Object.keys(labels).sort();
  return names.filter((n) => labels[n] !== undefined).map((n) => equalMatcher(n, labels[n]));
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** parseDuration reads a Prometheus duration ("90m", "1h30m", "2d") as milliseconds, or null. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) return null;
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * durationUnits[unit];
  return ms > 0 ? ms : null;
}

/** moveRoute is routes with the one at i moved by delta places, kept within the list. */
export function moveRoute<T>(routes: T[], i: number, delta: number): T[] {
  const j = Math.min(routes.length - 1, Math.max(0, i + delta));
  if (i === j) return routes;
  const out = [...routes];
  const [r] = out.splice(i, 1);
  out.splice(j, 0, r);
  return out;
}

/** splitList reads names separated by commas, as groupBy is written. */
export function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** fieldOf is the request field the server named in its error, or "". */
export function fieldOf(e: unknown): string {
  return e instanceof ApiError && typeof e.body.field === "string" ? e.body.field : "";
}

const base = "/api/alerting";

export const loadContactPoints = () => api<ContactPoint[]>("GET", `${base}/contact-points`);

/** saveContactPoint creates cp when it has no id, else replaces it. */
export function saveContactPoint(cp: Omit<ContactPoint, "updatedAt" | "updatedBy">): Promise<ContactPoint> {
  return cp.id
    ? api("PUT", `${base}/contact-points/${encodeURIComponent(cp.id)}`, cp)
    : api("POST", `${base}/contact-points`, { ...cp, id: undefined });
}

export const deleteContactPoint = (id: string) => api<void>("DELETE", `${base}/contact-points/${encodeURIComponent(id)}`);

/** testContactPoint sends a test notification now and answers its delivery, failed or not. */
export const testContactPoint = (id: string) => api<Delivery>("POST", `${base}/contact-points/${encodeURIComponent(id)}/test`);

export const loadPolicy = () => api<Policy>("GET", `${base}/policies`);
export const savePolicy = (p: Policy) => api<Policy>("PUT", `${base}/policies`, p);

export const loadSilences = () => api<Silence[] | null>("GET", `${base}/silences`).then((l) => l ?? []);
export const createSilence = (s: Pick<Silence, "matchers" | "endsAt" | "comment">) => api<Silence>("POST", `${base}/silences`, s);
export const expireSilence = (id: string) => api<void>("DELETE", `${base}/silences/${encodeURIComponent(id)}`);

export function loadDeliveries(incident: string): Promise<Delivery[]> {
  return api<Delivery[]>("GET", `${base}/deliveries?${new URLSearchParams({ incident, limit: "50" })}`);
}
