import type { PanelData } from "../data";
import type { Threshold } from "../model";
import { formatValue } from "../units";

/** thresholdColor is the colour of the highest threshold step v reaches. */
export function thresholdColor(v: number | null, steps: Threshold[] | undefined, fallback: string): string {
  let color = fallback;
  if (v === null || !steps) return color;
  for (const s of steps) {
    if (s.value === null || v >= s.value) color = s.color;
  }
  return color;
}

/** SingleProps are the options of the panels that show values rather than lines. */
export interface SingleProps {
  data: PanelData;
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: Threshold[];
}

/** Stat shows the latest value of the panel's first series, coloured by thresholds. */
export function Stat(p: SingleProps) {
  const last = p.data.last();
  const first = last[0];
  const v = first?.value ?? null;
  return (
    <div class="stat">
      <div class="value" style={{ color: thresholdColor(v, p.thresholds, "var(--text)") }}>
        {formatValue(v, p.unit, p.decimals)}
      </div>
      {last.length > 1 && <div class="muted">{first.series.name} (1 of {last.length})</div>}
    </div>
  );
}

/** Gauge draws the latest value on an arc from min (default 0) to max (default 100). */
export function Gauge(p: SingleProps) {
  const v = p.data.last()[0]?.value ?? null;
  const min = p.min ?? 0;
  const max = p.max ?? 100;
  const frac = v === null ? 0 : Math.min(1, Math.max(0, (v - min) / (max - min || 1)));
  const angle = Math.PI * (1 - frac);
  const r = 40;
  const x = 50 + r * Math.cos(angle);
  const y = 50 - r * Math.sin(angle);
  const color = thresholdColor(v, p.thresholds, "#2f9e44");
  return (
    <div class="gauge">
      <svg viewBox="0 0 100 60" role="img" aria-label={formatValue(v, p.unit, p.decimals)}>
        <path d="M10 50 A40 40 0 0 1 90 50" fill="none" stroke="var(--grid)" stroke-width="9" />
        {v !== null && frac > 0 && (
          <path d={`M10 50 A40 40 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`} fill="none" stroke={color} stroke-width="9" />
        )}
        <text x="50" y="48" text-anchor="middle" font-size="13" font-weight="600" fill="var(--text)">
          {formatValue(v, p.unit, p.decimals)}
        </text>
      </svg>
    </div>
  );
}

/** Table lists every series' labels and latest value. */
export function Table(p: SingleProps) {
  const rows = p.data.last();
  const labelNames = [...new Set(rows.flatMap((r) => Object.keys(r.series.labels)))].filter((l) => l !== "__name__").sort();
  return (
    <div class="table-wrap">
      <table class="data">
        <thead>
          <tr>
            {labelNames.map((l) => (
              <th key={l}>{l}</th>
            ))}
            <th>value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.series.key}>
              {labelNames.map((l) => (
                <td key={l}>{r.series.labels[l] ?? ""}</td>
              ))}
              <td class="num" style={{ color: thresholdColor(r.value, p.thresholds, "inherit") }}>
                {formatValue(r.value, p.unit, p.decimals)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
