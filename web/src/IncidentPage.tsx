import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { comment, since, type Entry } from "./alerts";
import { IncidentActions, IncidentState, SeverityBadge, TakenBy, useNow } from "./AlertBar";
import { AlertsLayout, useAlertsHub, useMe } from "./AlertsPage";
import { mayEdit } from "./api";
import { incidentMatchers, loadDeliveries, type Delivery } from "./notify";
import { silenceLink } from "./SilencesPage";
import { useIncident } from "./useAlerts";
import { useLoad } from "./useLoad";

const maxComment = 4000;

/** IncidentPage is one incident: its labels and annotations, who handles it, its timeline, and
 * a comment box; all of it live. */
export function IncidentPage({ id }: { id: string }) {
  const me = useMe();
  const now = useNow();
  const hubState = useAlertsHub(
    (m) => incident.apply(m),
    // Each delivery of the incident's alert puts a "notified" entry on its timeline.
    (m) => m.type === "timeline" && m.incidentId === id && m.entry.kind === "notified" && deliveries.reload(),
  );
  const incident = useIncident(id, hubState.epoch);
  const deliveries = useLoad(() => loadDeliveries(id), [id, hubState.epoch]);
  const [error, setError] = useState("");
  const i = incident.value;

  return (
    <AlertsLayout title={i ? i.rule : "Incident"} status={hubState.status} error={hubState.error}>
      {incident.error && <p class="error" role="alert">{incident.error}</p>}
      {!i && !incident.error && <p class="muted">Loading…</p>}
      {i && (
        <article class="incident-page" data-incident={i.id}>
          <div class="incident-head">
            <SeverityBadge severity={i.severity} />
            <h2>{i.rule}</h2>
            <IncidentState incident={i} now={now} />
            <TakenBy incident={i} me={me?.login ?? ""} />
            {i.acknowledgedBy && <span class="muted">acknowledged by {i.acknowledgedBy.name || i.acknowledgedBy.login}</span>}
            <span class="spacer" />
            {me && <IncidentActions incident={i} me={me.login} release onError={setError} />}
            {mayEdit(me) && (
              <a class="button" href={silenceLink(incidentMatchers(i.labels), `Silenced from incident ${i.id}`)} title="Mute this alert's notifications for a while">
                Silence
              </a>
            )}
          </div>
          {error && <p class="error" role="alert">{error}</p>}
          {i.annotations.summary && <p class="summary">{i.annotations.summary}</p>}
          <div class="incident-body">
            <section>
              <h3>Labels</h3>
              <Pairs pairs={i.labels} />
              <h3>Annotations</h3>
              <Pairs pairs={i.annotations} />
              <p class="muted">
                Group {i.group} · value {i.value} · fired {new Date(i.firedAt).toLocaleString()}
                {i.resolvedAt && ` · cleared ${new Date(i.resolvedAt).toLocaleString()}`}
              </p>
              <h3>Notifications</h3>
              <DeliveryLog value={deliveries.value} error={deliveries.error} now={now} />
            </section>
            <section class="timeline" aria-label="Timeline">
              <h3>Timeline</h3>
              <ol>
                {i.timeline.map((e) => (
                  <li key={e.id} class={`entry ${e.kind}`} data-kind={e.kind}>
                    <span class="when" title={e.at}>{since(e.at, now)} ago</span> <EntryText entry={e} />
                  </li>
                ))}
              </ol>
              {me && !i.closedAt && <CommentBox id={i.id} onPosted={(entry) => incident.apply({ type: "timeline", incidentId: i.id, entry })} />}
            </section>
          </div>
        </article>
      )}
    </AlertsLayout>
  );
}

/** DeliveryLog is who was told of the incident and how it went, newest first. */
function DeliveryLog({ value, error, now }: { value: Delivery[] | null; error: string; now: number }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (value === null) return <p class="muted">Loading…</p>;
  if (value.length === 0) return <p class="muted">Nobody notified yet.</p>;
  return (
    <table class="data deliveries">
      <thead>
        <tr><th>Time</th><th>Contact point</th><th class="num">Attempt</th><th>Status</th><th>Error</th></tr>
      </thead>
      <tbody>
        {value.map((d) => (
          <tr key={d.id} data-delivery={d.status}>
            <td title={d.at}>{since(d.at, now)} ago</td>
            <td>{d.contactPointName || d.contactPointId} <span class="muted">{d.kind}</span></td>
            <td class="num">{d.attempt || "—"}</td>
            <td><span class={`delivery-status ${d.status}`}>{d.status}</span>{d.httpStatus ? <span class="muted"> HTTP {d.httpStatus}</span> : null}</td>
            <td class="error-text">{d.error}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Pairs({ pairs }: { pairs: Record<string, string> }) {
  const entries = Object.entries(pairs);
  if (entries.length === 0) return <p class="muted">none</p>;
  return (
    <dl class="pairs">
      {entries.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

const said: Record<Entry["kind"], string> = {
  fired: "fired",
  notified: "notified",
  taken: "took it",
  released: "released it",
  comment: "commented",
  acknowledged: "acknowledged it",
  resolved: "cleared: the condition no longer holds",
  closed: "resolved it",
};

function EntryText({ entry: e }: { entry: Entry }) {
  const who = e.user ? e.user.name || e.user.login : "";
  return (
    <span>
      {who && <strong>{who} </strong>}
      {said[e.kind] ?? e.kind}
      {e.text && (e.kind === "comment" ? <div class="comment-text">{e.text}</div> : <span class="muted"> {e.text}</span>)}
    </span>
  );
}

/** CommentBox posts a comment. The timeline takes it from the answer or from the hub,
 * whichever comes first, once. */
function CommentBox({ id, onPosted }: { id: string; onPosted(e: Entry): void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setBusy(true);
    try {
      onPosted(await comment(id, t));
      setText("");
      setError("");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="comment-box" onSubmit={submit}>
      <textarea
        value={text}
        maxLength={maxComment}
        placeholder="What do you see, what are you trying?"
        aria-label="Comment"
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => (e.ctrlKey || e.metaKey) && e.key === "Enter" && submit(e)}
      />
      {error && <p class="error" role="alert">{error}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !text.trim()}>Comment</button>
      </div>
    </form>
  );
}
