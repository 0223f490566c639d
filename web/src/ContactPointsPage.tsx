import { useState } from "preact/hooks";
import { mayEdit } from "./api";
import { problems } from "./alerts";
import { AlertsLayout, useMe } from "./AlertsPage";
import {
  deleteContactPoint,
  fieldOf,
  fromForm,
  kinds,
  loadContactPoints,
  saveContactPoint,
  secret,
  target,
  testContactPoint,
  toForm,
  type ContactPoint,
  type Delivery,
  type Field,
  type FormValues,
  type Kind,
} from "./notify";
import { useLoad } from "./useLoad";

/** What the editor holds: the contact point's own fields and its settings as text. */
interface Draft {
  id: string;
  name: string;
  kind: Kind;
  timeout: string;
  attempts: string;
  values: FormValues;
}

const blank: Draft = { id: "", name: "", kind: "webhook", timeout: "", attempts: "", values: toForm("webhook", {}) };

function draftOf(cp: ContactPoint): Draft {
  return { id: cp.id, name: cp.name, kind: cp.kind, timeout: cp.timeout, attempts: String(cp.attempts || ""), values: toForm(cp.kind, cp.settings) };
}

/** ContactPointsPage lists where notifications go; editors and admins create, change, delete and
 * test contact points, viewers see them read-only. */
export function ContactPointsPage() {
  const me = useMe();
  const canEdit = mayEdit(me);
  const list = useLoad(loadContactPoints);
  const [editing, setEditing] = useState<Draft | null>(null);
  const [tests, setTests] = useState<Record<string, Delivery | string>>({});
  const [error, setError] = useState("");

  const remove = async (cp: ContactPoint) => {
    if (!confirm(`Delete the contact point ${cp.name}?`)) return;
    try {
      await deleteContactPoint(cp.id);
      setError("");
      list.reload();
    } catch (e) {
      setError(problems(e).join(" "));
    }
  };
  const test = async (cp: ContactPoint) => {
    setTests((t) => ({ ...t, [cp.id]: "sending…" }));
    let result: Delivery | string;
    try {
      result = await testContactPoint(cp.id);
    } catch (e) {
      result = problems(e).join(" ");
    }
    setTests((t) => ({ ...t, [cp.id]: result }));
  };

  return (
    <AlertsLayout title="Contact points">
      {canEdit && !editing && (
        <div class="actions start">
          <button class="primary" onClick={() => setEditing(blank)}>New contact point</button>
        </div>
      )}
      {editing && (
        <ContactPointEditor
          key={editing.id || "new"}
          draft={editing}
          readOnly={!canEdit}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.reload();
          }}
        />
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {list.error && <p class="error" role="alert">{list.error}</p>}
      {list.value === null && !list.error && <p class="muted">Loading…</p>}
      {list.value?.length === 0 && <p class="muted">No contact points yet: alerts are kept on their incidents and told to nobody.</p>}
      {list.value && list.value.length > 0 && (
        <table class="data contact-points">
          <thead>
            <tr><th>Name</th><th>Kind</th><th>Sends to</th><th>Changed</th><th /></tr>
          </thead>
          <tbody>
            {list.value.map((cp) => (
              <tr key={cp.id} data-contact-point={cp.name}>
                <td>{cp.name}</td>
                <td>{kinds[cp.kind]?.label ?? cp.kind}</td>
                <td class="target">{target(cp)}</td>
                <td title={cp.updatedAt}>{cp.updatedBy && `${cp.updatedBy}, `}{new Date(cp.updatedAt).toLocaleString()}</td>
                <td class="row-actions">
                  {canEdit && <button onClick={() => test(cp)}>Send a test</button>}
                  <button onClick={() => setEditing(draftOf(cp))}>{canEdit ? "Edit" : "View"}</button>
                  {canEdit && <button class="danger" onClick={() => remove(cp)}>Delete</button>}
                  {tests[cp.id] !== undefined && <TestResult result={tests[cp.id]} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </AlertsLayout>
  );
}

/** TestResult is a test's delivery as the log says it, or why it could not be made. */
function TestResult({ result }: { result: Delivery | string }) {
  if (typeof result === "string") return <div class="test-result" role="status">{result}</div>;
  const ok = result.status !== "failed";
  return (
    <div class={`test-result ${ok ? "ok" : "failed"}`} role="status">
      <span class="delivery-status">{ok ? "ok" : "failed"}</span>
      {result.httpStatus ? ` · HTTP ${result.httpStatus}` : ""}
      {result.error && <span> · {result.error}</span>}
    </div>
  );
}

interface EditorProps {
  draft: Draft;
  readOnly: boolean;
  onClose(): void;
  onSaved(): void;
}

/** ContactPointEditor is the form of one contact point: its kind's fields, and the bounds of each
 * delivery. A secret the server keeps reads as its placeholder and stays unless replaced. */
function ContactPointEditor({ draft, readOnly, onClose, onSaved }: EditorProps) {
  const [d, setD] = useState(draft);
  const [error, setError] = useState<{ field: string; lines: string[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setD((cur) => ({ ...cur, ...patch }));
  // A stored secret belongs to the kind it was saved with; a new kind starts empty.
  const setKind = (kind: Kind) => set({ kind, values: kind === draft.kind ? draft.values : toForm(kind, {}) });

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const attempts = d.attempts.trim() === "" ? 0 : Number(d.attempts);
      await saveContactPoint({ id: d.id, name: d.name, kind: d.kind, timeout: d.timeout.trim(), attempts, settings: fromForm(d.kind, d.values) });
      onSaved();
    } catch (err) {
      setError({ field: fieldOf(err), lines: problems(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="notify-editor" aria-label="Contact point" onSubmit={save}>
      <fieldset disabled={readOnly}>
        <div class="form-grid">
          <label for="cp-name">Name *</label>
          <input id="cp-name" value={d.name} required maxLength={128} onInput={(e) => set({ name: e.currentTarget.value })} />
          <label for="cp-kind">Kind</label>
          <select id="cp-kind" value={d.kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            {(Object.keys(kinds) as Kind[]).map((k) => <option key={k} value={k}>{kinds[k].label}</option>)}
          </select>
          {kinds[d.kind].fields.map((f) => (
            <SettingField key={`${d.kind}.${f.name}`} field={f} value={d.values[f.name] ?? ""} stored={d.kind === draft.kind && draft.values[f.name] === secret}
              invalid={error?.field.startsWith(`settings.${f.name}`) ?? false}
              onInput={(v) => set({ values: { ...d.values, [f.name]: v } })} />
          ))}
          <label for="cp-timeout">Timeout</label>
          <input id="cp-timeout" value={d.timeout} placeholder="10s" onInput={(e) => set({ timeout: e.currentTarget.value })} />
          <label for="cp-attempts">Attempts</label>
          <input id="cp-attempts" type="number" min={1} max={10} value={d.attempts} placeholder="3" onInput={(e) => set({ attempts: e.currentTarget.value })} />
        </div>
      </fieldset>
      {error && (
        <ul class="check error" role="alert">
          {error.lines.map((l, i) => <li key={i}>{l}</li>)}
        </ul>
      )}
      <div class="actions">
        <button type="button" onClick={onClose}>{readOnly ? "Close" : "Cancel"}</button>
        {!readOnly && <button type="submit" class="primary" disabled={busy}>Save</button>}
      </div>
    </form>
  );
}

interface FieldProps {
  field: Field;
  value: string;
  /** stored: the server keeps a secret for this field, which an empty input keeps. */
  stored: boolean;
  invalid: boolean;
  onInput(v: string): void;
}

function SettingField({ field: f, value, stored, invalid, onInput }: FieldProps) {
  const id = `cp-${f.name}`;
  const common = { id, "aria-invalid": invalid || undefined };
  let input;
  if (f.type === "list" || f.type === "headers") {
    input = <textarea {...common} required={f.required} rows={3} value={value} placeholder={f.placeholder} onInput={(e) => onInput(e.currentTarget.value)} />;
  } else if (f.type === "choice") {
    input = (
      <select {...common} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="">default ({f.choices?.[0]})</option>
        {f.choices?.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
    );
  } else if (f.type === "secret") {
    const kept = value === secret;
    input = (
      <span class="secret">
        <input
          {...common}
          type="password"
          autoComplete="new-password"
          value={kept ? "" : value}
          placeholder={kept ? `${secret} kept unless replaced` : f.placeholder}
          required={f.required && !kept}
          onInput={(e) => onInput(e.currentTarget.value === "" && stored ? secret : e.currentTarget.value)}
        />
        {kept && !f.required && <button type="button" onClick={() => onInput("")}>Remove</button>}
      </span>
    );
  } else {
    input = <input {...common} required={f.required} type={f.type === "number" ? "number" : "text"} value={value} placeholder={f.placeholder} onInput={(e) => onInput(e.currentTarget.value)} />;
  }
  return (
    <>
      <label for={id}>{f.label}{f.required && " *"}</label>
      <div>
        {input}
        {f.help && <div class="muted">{f.help}</div>}
      </div>
    </>
  );
}
