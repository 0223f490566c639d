import { useEffect, useState } from "preact/hooks";
import { act, byUrgency, instance, severityLabel, severityNames, since, type Action, type Incident } from "./alerts";

/** useNow is the time, moved on every `every` ms, for "firing for 3m" to stay true. */
export function useNow(every = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(t);
  }, [every]);
  return now;
}

export function SeverityBadge({ severity }: { severity: number }) {
  return (
    <span class={`sev sev${severity}`} title={severityNames[severity] ?? ""}>
      {severityLabel(severity)}
    </span>
  );
}

/** IncidentState says where an incident stands, in words. */
export function IncidentState({ incident: i, now }: { incident: Incident; now: number }) {
  if (i.closedAt) {
    return (
      <span class="inc-state closed">
        resolved by {i.closedBy?.name || i.closedBy?.login || "someone"}
        {i.state === "firing" && ", still firing"}
      </span>
    );
  }
  if (i.state === "resolved" && i.resolvedAt) return <span class="inc-state resolved">cleared {since(i.resolvedAt, now)} ago</span>;
  return <span class="inc-state firing">firing for {since(i.firedAt, now)}</span>;
}

interface ActionsProps {
  incident: Incident;
  /** me is the signed-in person's login. */
  me: string;
  /** release: offer to give a taken incident back (the incident's page does). */
  release?: boolean;
  onError(message: string): void;
}

/** IncidentActions are what anyone may do to an open incident: take it (also from someone
 * else), acknowledge and resolve it. Every change comes back through the hub to everyone, this
 * page included, so nothing is changed here before the server says so. */
export function IncidentActions({ incident: i, me, release, onError }: ActionsProps) {
  const [busy, setBusy] = useState(false);
  if (i.closedAt) return null;
  const run = async (a: Action) => {
    setBusy(true);
    try {
      await act(i.id, a);
      onError("");
    } catch (e) {
      onError(`${a} ${i.rule}: ${e instanceof Error ? e.message : e}`);
    } finally {
      setBusy(false);
    }
  };
  const mine = i.takenBy?.login === me;
  return (
    <span class="inc-actions">
      {!mine && (
        <button disabled={busy} onClick={() => run("take")} title={i.takenBy ? `Take over from ${i.takenBy.name || i.takenBy.login}` : "Take it: others see you handle it"}>
          Take
        </button>
      )}
      {mine && release && <button disabled={busy} onClick={() => run("release")}>Release</button>}
      {!i.acknowledgedAt && <button disabled={busy} onClick={() => run("acknowledge")}>Acknowledge</button>}
      <button disabled={busy} onClick={() => run("resolve")}>Resolve</button>
    </span>
  );
}

export function TakenBy({ incident: i, me }: { incident: Incident; me: string }) {
  if (!i.takenBy) return <span class="taker muted">nobody has taken it</span>;
  const who = i.takenBy.login === me ? "you" : i.takenBy.name || i.takenBy.login;
  return <span class="taker" data-login={i.takenBy.login}>taken by {who}</span>;
}

/** How many incidents the bar lists before it points to the alerts page for the rest. */
const shown = 5;

/** AlertBar lists the open incidents above a dashboard, the most urgent first. */
export function AlertBar({ incidents, me }: { incidents: Incident[]; me: string }) {
  const now = useNow();
  const [error, setError] = useState("");
  if (incidents.length === 0) return null;
  const list = [...incidents].sort(byUrgency);
  return (
    <section class="alert-bar" aria-label="Alerts">
      {list.slice(0, shown).map((i) => (
        <div class={`incident ${i.state}`} key={i.id} data-incident={i.id} data-rule={i.rule}>
          <SeverityBadge severity={i.severity} />
          <a class="rule" href={`/alerts/${encodeURIComponent(i.id)}`}>{i.rule}</a>
          <span class="instance">{instance(i.labels)}</span>
          <IncidentState incident={i} now={now} />
          <TakenBy incident={i} me={me} />
          <IncidentActions incident={i} me={me} onError={setError} />
        </div>
      ))}
      {list.length > shown && <a class="more" href="/alerts">{list.length - shown} more open</a>}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
