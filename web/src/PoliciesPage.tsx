import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { mayEdit } from "./api";
import { problems } from "./alerts";
import { AlertsLayout, useMe } from "./AlertsPage";
import { fieldOf, joinMatchers, loadContactPoints, loadPolicy, moveRoute, savePolicy, splitList, splitMatchers, type ContactPoint, type Policy } from "./notify";
import { useLoad } from "./useLoad";

/** A route as its form holds it: matchers and groupBy as text. */
interface RouteDraft {
  key: number;
  matchers: string;
  contactPoint: string;
  groupBy: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
  continue: boolean;
}

interface Draft {
  contactPoint: string;
  groupBy: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
  routes: RouteDraft[];
}

let nextKey = 0;

function draftOf(p: Policy): Draft {
  return {
    contactPoint: p.contactPoint,
    groupBy: (p.groupBy ?? []).join(", "),
    groupWait: p.groupWait,
    groupInterval: p.groupInterval,
    repeatInterval: p.repeatInterval,
    routes: p.routes.map((r) => ({
      key: nextKey++,
      matchers: joinMatchers(r.matchers),
      contactPoint: r.contactPoint,
      groupBy: (r.groupBy ?? []).join(", "),
      groupWait: r.groupWait ?? "",
      groupInterval: r.groupInterval ?? "",
      repeatInterval: r.repeatInterval ?? "",
      continue: r.continue ?? false,
    })),
  };
}

function policyOf(d: Draft): Policy {
  return {
    contactPoint: d.contactPoint,
    groupBy: splitList(d.groupBy),
    groupWait: d.groupWait.trim(),
    groupInterval: d.groupInterval.trim(),
    repeatInterval: d.repeatInterval.trim(),
    routes: d.routes.map((r) => ({
      matchers: splitMatchers(r.matchers),
      contactPoint: r.contactPoint,
      // A route without groupBy groups as the default does; an empty list would group by nothing.
      groupBy: r.groupBy.trim() ? splitList(r.groupBy) : undefined,
      groupWait: r.groupWait.trim(),
      groupInterval: r.groupInterval.trim(),
      repeatInterval: r.repeatInterval.trim(),
      continue: r.continue,
    })),
  };
}

const newRoute = (): RouteDraft => ({ key: nextKey++, matchers: "", contactPoint: "", groupBy: "", groupWait: "", groupInterval: "", repeatInterval: "", continue: false });

/** PoliciesPage is the notification policy: the default, for alerts no route takes, and the
 * routes in order, each alert taken by the first that matches (and the next while `continue`). */
export function PoliciesPage() {
  const me = useMe();
  const canEdit = mayEdit(me);
  const policy = useLoad(loadPolicy);
  const points = useLoad(loadContactPoints);
  const [d, setD] = useState<Draft | null>(null);
  const [result, setResult] = useState<{ ok: boolean; field: string; lines: string[] } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (policy.value) setD(draftOf(policy.value));
  }, [policy.value]);

  const set = (patch: Partial<Draft>) => {
    setD((cur) => cur && { ...cur, ...patch });
    setResult(null);
  };
  const setRoute = (i: number, patch: Partial<RouteDraft>) => d && set({ routes: d.routes.map((r, j) => (j === i ? { ...r, ...patch } : r)) });

  const save = async (e: Event) => {
    e.preventDefault();
    if (!d) return;
    setBusy(true);
    try {
      const saved = await savePolicy(policyOf(d));
      setD(draftOf(saved));
      setResult({ ok: true, field: "", lines: ["Saved: new alerts are routed by this policy."] });
    } catch (err) {
      setResult({ ok: false, field: fieldOf(err), lines: problems(err) });
    } finally {
      setBusy(false);
    }
  };

  const error = policy.error || points.error;
  const invalid = (field: string) => (result && !result.ok && (result.field === field || result.field.startsWith(`${field}.`) || result.field.startsWith(`${field}[`))) || undefined;
  const cps = points.value ?? [];

  return (
    <AlertsLayout title="Notification policies">
      {error && <p class="error" role="alert">{error}</p>}
      {!d && !error && <p class="muted">Loading…</p>}
      {d && (
        <form class="policies" onSubmit={save} aria-label="Notification policies">
          <fieldset disabled={!canEdit}>
            <section class="notify-editor default-policy" aria-label="Default policy">
              <h2>Default policy</h2>
              <p class="muted">For every alert that no route below takes. Routes leave a field empty to use the default's.</p>
              <div class="form-grid">
                <label for="pol-cp">Contact point</label>
                <ContactPointPicker id="pol-cp" value={d.contactPoint} points={cps} empty="choose one" invalid={invalid("contactPoint")} onChange={(v) => set({ contactPoint: v })} />
                <Timings prefix="pol" v={d} invalid={invalid} field={(n) => n} onInput={set} />
              </div>
            </section>
            <h2 class="routes-head">Routes</h2>
            {d.routes.length === 0 && <p class="muted">No routes: every alert goes by the default policy.</p>}
            <ol class="routes">
              {d.routes.map((r, i) => (
                <li key={r.key} class="notify-editor route" data-route={i} aria-invalid={invalid(`routes[${i}]`)}>
                  <div class="group-head">
                    <h3>Route {i + 1}</h3>
                    <span class="spacer" />
                    {canEdit && (
                      <>
                        <button type="button" aria-label={`Move route ${i + 1} up`} disabled={i === 0} onClick={() => set({ routes: moveRoute(d.routes, i, -1) })}>↑</button>
                        <button type="button" aria-label={`Move route ${i + 1} down`} disabled={i === d.routes.length - 1} onClick={() => set({ routes: moveRoute(d.routes, i, 1) })}>↓</button>
                        <button type="button" class="danger" onClick={() => set({ routes: d.routes.filter((_, j) => j !== i) })}>Remove</button>
                      </>
                    )}
                  </div>
                  <div class="form-grid">
                    <label for={`rt${r.key}-m`}>Matchers</label>
                    <div>
                      <input id={`rt${r.key}-m`} value={r.matchers} placeholder={'severity=~"0|1", team="db"'} aria-invalid={invalid(`routes[${i}].matchers`)}
                        onInput={(e) => setRoute(i, { matchers: e.currentTarget.value })} />
                      <div class="muted">Alertmanager matchers, all of which must match; severity is 0 critical … 4 verbose.</div>
                    </div>
                    <label for={`rt${r.key}-cp`}>Contact point</label>
                    <ContactPointPicker id={`rt${r.key}-cp`} value={r.contactPoint} points={cps} empty="the default's" invalid={invalid(`routes[${i}].contactPoint`)}
                      onChange={(v) => setRoute(i, { contactPoint: v })} />
                    <Timings prefix={`rt${r.key}`} v={r} inherit={d} invalid={invalid} field={(n) => `routes[${i}].${n}`} onInput={(p) => setRoute(i, p)} />
                    <span />
                    <label class="check-label">
                      <input type="checkbox" checked={r.continue} onChange={(e) => setRoute(i, { continue: e.currentTarget.checked })} /> Continue: later routes may take a matching alert too
                    </label>
                  </div>
                </li>
              ))}
            </ol>
          </fieldset>
          {result && (
            <ul class={result.ok ? "check ok" : "check error"} role={result.ok ? "status" : "alert"}>
              {result.lines.map((l, i) => <li key={i}>{l}</li>)}
            </ul>
          )}
          {canEdit && (
            <div class="actions start">
              <button type="button" onClick={() => set({ routes: [...d.routes, newRoute()] })}>Add route</button>
              <span class="spacer" />
              <button type="button" onClick={() => policy.value && (setD(draftOf(policy.value)), setResult(null))}>Discard changes</button>
              <button type="submit" class="primary" disabled={busy}>Save policies</button>
            </div>
          )}
          {policy.value?.updatedBy && <p class="muted">Last saved by {policy.value.updatedBy}, {new Date(policy.value.updatedAt ?? "").toLocaleString()}.</p>}
        </form>
      )}
    </AlertsLayout>
  );
}

function ContactPointPicker(p: { id: string; value: string; points: ContactPoint[]; empty: string; invalid?: boolean; onChange(v: string): void }) {
  const known = p.value === "" || p.points.some((cp) => cp.id === p.value);
  return (
    <select id={p.id} value={p.value} aria-invalid={p.invalid} onChange={(e) => p.onChange(e.currentTarget.value)}>
      <option value="">{p.empty}</option>
      {p.points.map((cp) => <option key={cp.id} value={cp.id}>{cp.name}</option>)}
      {!known && <option value={p.value}>{p.value} (unknown)</option>}
    </select>
  );
}

type TimingFields = Pick<Draft, "groupBy" | "groupWait" | "groupInterval" | "repeatInterval">;

const timings: [keyof TimingFields, string, string][] = [
  ["groupBy", "Group by", "alertname, instance"],
  ["groupWait", "Group wait", "30s"],
  ["groupInterval", "Group interval", "5m"],
  ["repeatInterval", "Repeat interval", "4h"],
];

/** Timings are the grouping fields of the default policy or of a route; a route's empty ones
 * show the default's as placeholders (inherit). */
function Timings(p: { prefix: string; v: TimingFields; inherit?: TimingFields; invalid(f: string): true | undefined; field(name: string): string; onInput(patch: Partial<TimingFields>): void }) {
  return (
    <>
      {timings.map(([name, label, placeholder]) => (
        <Fragment key={name}>
          <label for={`${p.prefix}-${name}`}>{label}</label>
          <input id={`${p.prefix}-${name}`} value={p.v[name]} placeholder={p.inherit ? p.inherit[name] || placeholder : placeholder}
            aria-invalid={p.invalid(p.field(name))} onInput={(e) => p.onInput({ [name]: e.currentTarget.value })} />
        </Fragment>
      ))}
    </>
  );
}
