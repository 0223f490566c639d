import type { TimeRange } from "./model";
import { formatTime, quickRanges, resolveTime } from "./time";

/** TimePicker chooses a relative range ("Last 1h"); a zoomed-in absolute range shows its bounds
 * and a way back to live. */
export function TimePicker({ value, onChange, refresh }: { value: TimeRange; onChange(r: TimeRange): void; refresh: string }) {
  const relative = value.to === "now" && value.from.startsWith("now-");
  if (!relative) {
    const from = resolveTime(value.from);
    const to = resolveTime(value.to);
    return (
      <span class="time-picker">
        <span class="muted">{from !== null ? formatTime(from) : value.from} – {to !== null ? formatTime(to) : value.to}</span>{" "}
        <button onClick={() => onChange({ from: "now-1h", to: "now" })}>Back to live</button>
      </span>
    );
  }
  const current = value.from.slice(4);
  return (
    <label class="time-picker">
      <span class="muted">Last </span>
      <select value={current} onChange={(e) => onChange({ from: "now-" + e.currentTarget.value, to: "now" })} aria-label="Time range">
        {(quickRanges.includes(current) ? quickRanges : [current, ...quickRanges]).map((r) => (
          <option key={r} value={r}>{r}</option>
        ))}
      </select>
      {refresh && <span class="muted"> · every {refresh}</span>}
    </label>
  );
}
