import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Me } from "./api";
import { instance, parseAlertMessage, since, severityNames, type ActiveAlert, type AlertMessage, type Group, type IncidentFilter } from "./alerts";
import { IncidentState, SeverityBadge, TakenBy, useNow } from "./AlertBar";
import { Hub, type Status } from "./hub";
import { ThemeToggle } from "./theme";
import { rulesRefreshEvery, useIncidents, useRules } from "./useAlerts";

/** useAlertsHub connects to the alerts group alone and hands its messages to each listener; the
 * epoch it returns moves on each connection, when the page's state must load again. */
export function useAlertsHub(...listeners: ((m: AlertMessage) => void)[]) {
  const [epoch, setEpoch] = useState(0);
  const [status, setStatus] = useState<Status>("connecting");
  const [error, setError] = useState("");
  const current = useRef(listeners);
  current.current = listeners;
  useEffect(() => {
    const h = new Hub(null, {
      alerts: (data) => {
        const m = parseAlertMessage(data);
        if (m) for (const l of current.current) l(m);
      },
      status: (s) => {
        setStatus(s);
        if (s === "online") setEpoch((n) => n + 1);
      },
    });
    h.start().catch((e) => setError(`Live updates are off: ${e instanceof Error ? e.message : e}`));
    return () => h.stop();
  }, []);
  return { epoch, status, error };
}

export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    api<Me>("GET", "/api/me").then(setMe);
  }, []);
  return me;
}

/** The alerting pages, in the order of the header's tabs. */
const sections: [string, string][] = [
  ["/alerts", "Incidents"],
  ["/alerts/rules", "Rules"],
  ["/alerts/contact-points", "Contact points"],
  ["/alerts/policies", "Policies"],
  ["/alerts/silences", "Silences"],
];

/** AlertsLayout is the frame of the alerting pages: their header, with where to go, and how the
 * live connection is for the pages that keep one (status). */
export function AlertsLayout({ title, status, error = "", children }: { title: string; status?: Status; error?: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Huddle`;
  }, [title]);
  return (
    <div>
      <header class="top">
        <a class="brand" href="/" title="All dashboards">Huddle</a>
        <h1>{title}</h1>
        <nav class="tabs-nav" aria-label="Alerting">
          {sections.map(([href, label]) => (
            <a key={href} href={href} aria-current={location.pathname === href ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        <span class="spacer" />
        {status && (
          <span class={`status ${status}`} role="status" aria-live="polite">
            {status === "online" ? "live" : status === "offline" ? "offline, reconnecting…" : "connecting…"}
          </span>
        )}
        <ThemeToggle />
      </header>
      {error && <div class="banner" role="status"><span>{error}</span></div>}
      <main class="alerts-page">{children}</main>
    </div>
  );
}

type Tab = IncidentFilter | "pending";
const tabs: [Tab, string][] = [
  ["firing", "Firing"],
  ["pending", "Pending"],
  ["open", "Open"],
  ["resolved", "Resolved"],
  ["all", "All"],
];

/** AlertsPage lists incidents (firing, open, resolved or all) and the alerts still pending,
 * filtered by severity and text, kept live through the hub. */
export function AlertsPage() {
  const params = new URLSearchParams(location.search);
  const [tab, setTab] = useState<Tab>((tabs.find(([t]) => t === params.get("state"))?.[0]) ?? "open");
  const [severities, setSeverities] = useState<number[]>([]);
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const me = useMe();
  const now = useNow();

  // The search is asked of the server once typing pauses.
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 300);
    return () => clearTimeout(t);
  }, [text]);
  // The tab is kept in the address, for a link to say which list it means.
  useEffect(() => {
    history.replaceState(null, "", tab === "open" ? "/alerts" : `/alerts?state=${tab}`);
  }, [tab]);

  const hubState = useAlertsHub((m) => incidents.apply(m), (m) => rules.apply(m));
  const incidents = useIncidents({ state: tab === "pending" ? "open" : tab, severities, q }, hubState.epoch);
  const rules = useRules(hubState.epoch, tab === "pending" ? rulesRefreshEvery : 0);

  const toggle = (s: number) => setSeverities((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s].sort()));

  return (
    <AlertsLayout title="Alerts" status={hubState.status} error={hubState.error}>
      <div class="filters">
        <div class="tabs" role="group" aria-label="Which alerts">
          {tabs.map(([t, label]) => (
            <button key={t} aria-pressed={tab === t} onClick={() => setTab(t)}>{label}</button>
          ))}
        </div>
        <fieldset class="severities" aria-label="Severity">
          {severityNames.map((name, s) => (
            <label key={s} title={name}>
              <input type="checkbox" checked={severities.includes(s)} onChange={() => toggle(s)} /> <SeverityBadge severity={s} />
            </label>
          ))}
        </fieldset>
        <input type="search" placeholder="Search rule, labels…" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-label="Search" />
      </div>
      {tab === "pending" ? (
        <PendingList groups={rules.value} error={rules.error} severities={severities} q={q} now={now} />
      ) : (
        <>
          {incidents.error && <p class="error" role="alert">{incidents.error}</p>}
          {incidents.value === null && !incidents.error && <p class="muted">Loading…</p>}
          {incidents.value?.length === 0 && <p class="muted">No incidents.</p>}
          {incidents.value && incidents.value.length > 0 && (
            <table class="data incidents">
              <thead>
                <tr><th>Severity</th><th>Rule</th><th>Instance</th><th>State</th><th>Fired</th><th>Taken</th><th>Comments</th></tr>
              </thead>
              <tbody>
                {incidents.value.map((i) => (
                  <tr key={i.id} data-incident={i.id}>
                    <td><SeverityBadge severity={i.severity} /></td>
                    <td><a href={`/alerts/${encodeURIComponent(i.id)}`}>{i.rule}</a></td>
                    <td>{instance(i.labels)}</td>
                    <td><IncidentState incident={i} now={now} /></td>
                    <td title={i.firedAt}>{new Date(i.firedAt).toLocaleString()}</td>
                    <td><TakenBy incident={i} me={me?.login ?? ""} /></td>
                    <td class="num">{i.comments}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </AlertsLayout>
  );
}

interface Pending {
  rule: string;
  severity: number;
  alert: ActiveAlert;
}

/** PendingList shows the alerts whose condition holds but not yet for the rule's `for`: they
 * have no incident yet. */
function PendingList({ groups, error, severities, q, now }: { groups: Group[] | null; error: string; severities: number[]; q: string; now: number }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (groups === null) return <p class="muted">Loading…</p>;
  const needle = q.toLowerCase();
  const pending: Pending[] = groups.flatMap((g) =>
    g.rules.flatMap((r) =>
      (r.alerts ?? [])
        .filter((a) => a.state === "pending")
        .map((a) => ({ rule: r.name, severity: r.severity ?? 2, alert: a })),
    ),
  ).filter(
    (p) =>
      (severities.length === 0 || severities.includes(p.severity)) &&
      (needle === "" || [p.rule, ...Object.entries(p.alert.labels).map(([k, v]) => `${k}=${v}`)].some((s) => s.toLowerCase().includes(needle))),
  );
  if (pending.length === 0) return <p class="muted">No pending alerts.</p>;
  return (
    <table class="data pending">
      <thead>
        <tr><th>Severity</th><th>Rule</th><th>Instance</th><th>Pending for</th><th>Value</th></tr>
      </thead>
      <tbody>
        {pending.map((p) => (
          <tr key={p.rule + JSON.stringify(p.alert.labels)}>
            <td><SeverityBadge severity={p.severity} /></td>
            <td>{p.rule}</td>
            <td>{instance(p.alert.labels)}</td>
            <td>{since(p.alert.activeAt, now)}</td>
            <td class="num">{p.alert.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
