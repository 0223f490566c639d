import { formatValue } from "../units";
import { thresholdColor, type SingleProps } from "./Single";

/** BarGauge draws every series' latest value as a horizontal bar from min to max, coloured by
 * thresholds. Without min or max, the bars span 0 (or the lowest value, when negative) to the
 * highest value, as Grafana computes them from the data. */
export function BarGauge(p: SingleProps) {
  const rows = p.data.last();
  const values = rows.map((r) => r.value).filter((v): v is number => v !== null);
  const min = p.min ?? Math.min(0, ...values);
  const max = p.max ?? (values.length ? Math.max(...values) : 100);
  if (rows.length === 0) return <div class="muted">No data</div>;
  return (
    <div class="bargauge">
      {rows.map((r) => {
        const frac = r.value === null ? 0 : Math.min(1, Math.max(0, (r.value - min) / (max - min || 1)));
        const text = formatValue(r.value, p.unit, p.decimals);
        return (
          <div class="bar-row" key={r.series.key} title={`${r.series.name}: ${text}`}>
            <span class="bar-name">{r.series.name}</span>
            <span class="bar-track" role="meter" aria-label={r.series.name} aria-valuemin={min} aria-valuemax={max}
              aria-valuenow={r.value ?? undefined} aria-valuetext={text}>
              <span class="bar-fill" style={{ width: `${(frac * 100).toFixed(2)}%`, background: thresholdColor(r.value, p.thresholds, "#2f9e44") }} />
            </span>
            <span class="bar-value" style={{ color: thresholdColor(r.value, p.thresholds, "var(--text)") }}>{text}</span>
          </div>
        );
      })}
    </div>
  );
}
