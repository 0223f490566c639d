import { useState } from "preact/hooks";
import { mayEdit } from "./api";
import { problems } from "./alerts";
import { AlertsLayout, useMe } from "./AlertsPage";
import { createSilence, expireSilence, joinMatchers, loadSilences, parseDuration, splitMatchers, type Silence } from "./notify";
import { useLoad } from "./useLoad";

/** silenceLink is the address of the silences page with its form filled with matchers, as the
 * incident page's shortcut opens it. */
export function silenceLink(matchers: string[], comment = ""): string {
  const p = new URLSearchParams();
  for (const m of matchers) p.append("matcher", m);
  if (comment) p.set("comment", comment);
  return `/alerts/silences?${p}`;
}

/** SilencesPage lists the silences, active and pending first, then expired; editors and admins
 * create and expire them. Opened by silenceLink, it starts with the form filled. */
export function SilencesPage() {
  const me = useMe();
  const canEdit = mayEdit(me);
  const list = useLoad(loadSilences);
  const params = new URLSearchParams(location.search);
  const prefill = params.getAll("matcher");
  const [creating, setCreating] = useState(prefill.length > 0);
  const [error, setError] = useState("");

  const expire = async (s: Silence) => {
    try {
      await expireSilence(s.id);
      setError("");
      list.reload();
    } catch (e) {
      setError(problems(e).join(" "));
    }
  };

  const current = (list.value ?? []).filter((s) => s.state !== "expired");
  const expired = (list.value ?? []).filter((s) => s.state === "expired").sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt));

  return (
    <AlertsLayout title="Silences">
      {canEdit && !creating && (
        <div class="actions start">
          <button class="primary" onClick={() => setCreating(true)}>New silence</button>
        </div>
      )}
      {canEdit && creating && (
        <SilenceEditor
          matchers={joinMatchers(prefill)}
          comment={params.get("comment") ?? ""}
          onClose={() => {
            setCreating(false);
            history.replaceState(null, "", "/alerts/silences");
          }}
          onSaved={() => {
            setCreating(false);
            history.replaceState(null, "", "/alerts/silences");
            list.reload();
          }}
        />
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {list.error && <p class="error" role="alert">{list.error}</p>}
      {list.value === null && !list.error && <p class="muted">Loading…</p>}
      {list.value && (
        <>
          <h2>Active</h2>
          <SilenceTable silences={current} canExpire={canEdit} onExpire={expire} empty="No silence mutes anything now." />
          <h2>Expired</h2>
          <SilenceTable silences={expired} canExpire={false} onExpire={expire} empty="None expired." />
        </>
      )}
    </AlertsLayout>
  );
}

function SilenceTable({ silences, canExpire, onExpire, empty }: { silences: Silence[]; canExpire: boolean; onExpire(s: Silence): void; empty: string }) {
  if (silences.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="data silences">
      <thead>
        <tr><th>Matchers</th><th>State</th><th>Starts</th><th>Ends</th><th>Created by</th><th>Comment</th>{canExpire && <th />}</tr>
      </thead>
      <tbody>
        {silences.map((s) => (
          <tr key={s.id} data-silence={s.id}>
            <td>{s.matchers.map((m) => <code key={m} class="matcher">{m}</code>)}</td>
            <td><span class={`silence-state ${s.state}`}>{s.state}</span></td>
            <td title={s.startsAt}>{new Date(s.startsAt).toLocaleString()}</td>
            <td title={s.endsAt}>{new Date(s.endsAt).toLocaleString()}</td>
            <td>{s.createdBy}</td>
            <td class="comment-text">{s.comment}</td>
            {canExpire && <td class="row-actions"><button onClick={() => onExpire(s)}>Expire</button></td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** localInput is t as a datetime-local input writes it, in the browser's time zone. */
function localInput(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** SilenceEditor makes a silence from now: its matchers, when it ends (in a duration, or at a
 * time), and why. */
function SilenceEditor(p: { matchers: string; comment: string; onClose(): void; onSaved(): void }) {
  const [matchers, setMatchers] = useState(p.matchers);
  const [mode, setMode] = useState<"in" | "at">("in");
  const [endsIn, setEndsIn] = useState("2h");
  const [endsAt, setEndsAt] = useState(() => localInput(Date.now() + 2 * 3_600_000));
  const [comment, setComment] = useState(p.comment);
  const [error, setError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    const ends = mode === "in" ? (parseDuration(endsIn) ?? NaN) + Date.now() : Date.parse(endsAt);
    if (Number.isNaN(ends)) {
      setError([mode === "in" ? `"${endsIn}" is not a duration such as 2h, 30m or 1d` : "Pick when the silence ends."]);
      return;
    }
    setBusy(true);
    try {
      await createSilence({ matchers: splitMatchers(matchers), endsAt: new Date(ends).toISOString(), comment: comment.trim() });
      p.onSaved();
    } catch (err) {
      setError(problems(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="notify-editor" aria-label="New silence" onSubmit={save}>
      <div class="form-grid">
        <label for="sil-matchers">Matchers</label>
        <div>
          <input id="sil-matchers" required value={matchers} placeholder={'alertname="DiskFull", instance="db-1"'} onInput={(e) => setMatchers(e.currentTarget.value)} />
          <div class="muted">Alertmanager matchers, all of which must match an alert's labels for it to be muted.</div>
        </div>
        <span>Ends</span>
        <div class="ends">
          <label><input type="radio" name="ends" checked={mode === "in"} onChange={() => setMode("in")} /> in</label>
          <input aria-label="Ends in" value={endsIn} disabled={mode !== "in"} size={6} onInput={(e) => setEndsIn(e.currentTarget.value)} />
          <label><input type="radio" name="ends" checked={mode === "at"} onChange={() => setMode("at")} /> at</label>
          <input aria-label="Ends at" type="datetime-local" value={endsAt} disabled={mode !== "at"} onInput={(e) => setEndsAt(e.currentTarget.value)} />
        </div>
        <label for="sil-comment">Comment</label>
        <textarea id="sil-comment" rows={2} maxLength={4096} value={comment} placeholder="Why, and until what" onInput={(e) => setComment(e.currentTarget.value)} />
      </div>
      {error.length > 0 && (
        <ul class="check error" role="alert">
          {error.map((l, i) => <li key={i}>{l}</li>)}
        </ul>
      )}
      <div class="actions">
        <button type="button" onClick={p.onClose}>Cancel</button>
        <button type="submit" class="primary" disabled={busy}>Create silence</button>
      </div>
    </form>
  );
}
