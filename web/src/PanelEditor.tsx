import { useState } from "preact/hooks";
import type { Panel, PanelType, Target } from "./model";
import { Modal } from "./Modal";

const types: [PanelType, string][] = [
  ["timeseries", "Time series"],
  ["stat", "Stat"],
  ["gauge", "Gauge"],
  ["bargauge", "Bar gauge"],
  ["table", "Table"],
];
const units = ["short", "percent", "percentunit", "bytes", "Bps", "bps", "s", "ms", "ops", "reqps"];

/** numberOrNone reads a number input: empty (or not a number) is no value. */
const numberOrNone = (s: string) => (s.trim() === "" || !Number.isFinite(Number(s)) ? undefined : Number(s));

/** PanelEditor edits one panel: title, type, unit, min and max, and its PromQL queries. */
export function PanelEditor({ panel, onSave, onClose }: { panel: Panel; onSave(p: Panel): Promise<void>; onClose(): void }) {
  const [p, setP] = useState<Panel>(structuredClone(panel));
  const [busy, setBusy] = useState(false);
  const setTarget = (i: number, t: Partial<Target>) =>
    setP({ ...p, targets: p.targets.map((x, j) => (j === i ? { ...x, ...t } : x)) });
  const nextRef = () => {
    for (const c of "ABCDEFGHIJ") if (!p.targets.some((t) => t.refId === c)) return c;
    return "Z";
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    await onSave(p);
    setBusy(false);
  };
  return (
    <Modal title={panel.id ? `Edit ${panel.title}` : "New panel"} onClose={onClose}>
      <form onSubmit={submit}>
        <div class="form">
          <label for="pe-title">Title</label>
          <input id="pe-title" value={p.title} onInput={(e) => setP({ ...p, title: e.currentTarget.value })} required />
          <label for="pe-type">Type</label>
          <select id="pe-type" value={p.type} onChange={(e) => setP({ ...p, type: e.currentTarget.value as PanelType })}>
            {types.map(([v, l]) => (
              <option value={v} key={v}>{l}</option>
            ))}
          </select>
          <label for="pe-unit">Unit</label>
          <select id="pe-unit" value={p.unit ?? "short"} onChange={(e) => setP({ ...p, unit: e.currentTarget.value })}>
            {units.map((u) => (
              <option value={u} key={u}>{u}</option>
            ))}
          </select>
          {/* Grafana's standard options: a chart's value axis ends there, a gauge spans them. */}
          <label for="pe-min">Min</label>
          <input id="pe-min" type="number" step="any" placeholder="auto" value={p.min ?? ""}
            onInput={(e) => setP({ ...p, min: numberOrNone(e.currentTarget.value) })} />
          <label for="pe-max">Max</label>
          <input id="pe-max" type="number" step="any" placeholder="auto" value={p.max ?? ""} min={p.min}
            onInput={(e) => setP({ ...p, max: numberOrNone(e.currentTarget.value) })} />
          {p.targets.map((t, i) => (
            <>
              <label for={`pe-q-${i}`}>Query {t.refId}</label>
              <div>
                <textarea id={`pe-q-${i}`} value={t.expr} placeholder="rate(node_network_receive_bytes_total[1m])" required
                  onInput={(e) => setTarget(i, { expr: e.currentTarget.value })} />
                <input value={t.legendFormat ?? ""} placeholder="Legend, e.g. {{device}}" aria-label={`Legend of query ${t.refId}`}
                  onInput={(e) => setTarget(i, { legendFormat: e.currentTarget.value || undefined })} />
                {p.targets.length > 1 && (
                  <button type="button" class="danger" onClick={() => setP({ ...p, targets: p.targets.filter((_, j) => j !== i) })}>
                    Remove query
                  </button>
                )}
              </div>
            </>
          ))}
        </div>
        <div class="actions">
          {p.targets.length < 10 && (
            <button type="button" onClick={() => setP({ ...p, targets: [...p.targets, { refId: nextRef(), expr: "" }] })}>Add query</button>
          )}
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>Save</button>
        </div>
      </form>
    </Modal>
  );
}
