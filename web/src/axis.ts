// The value axis of a time series chart, fitted as Grafana fits a linear one (UPlotScaleBuilder in
// grafana/grafana, packages/grafana-ui/src/components/uPlot/config/UPlotScaleBuilder.ts, as
// published in @grafana/ui 13.2.3, against which it was compared over random inputs): the
// data's extremes padded by a tenth and rounded out (uPlot's rangeNum), reaching the soft min and
// max at least, never past the panel's min and max, which, without a soft limit on their side,
// are the axis's ends.
import uPlot from "uplot";

/** Limits are a panel's min and max (Grafana's standard options) and soft min and max (its
 * axis options), each optional. */
export interface Limits {
  min?: number;
  max?: number;
  softMin?: number;
  softMax?: number;
}

/** fitAxis is the value axis for data from min to max (null without data). It reaches the values
 * in reach too (alert thresholds: a threshold far from the data would be drawn off the chart,
 * saying nothing), within the limits, which win over both. */
export function fitAxis(min: number | null, max: number | null, reach: number[], limits: Limits): uPlot.Range.MinMax {
  const { min: hardMin, max: hardMax, softMin, softMax } = limits;
  const hardMinOnly = softMin == null && hardMin != null;
  const hardMaxOnly = softMax == null && hardMax != null;
  if (min == null || max == null) {
    // With both ends fixed the axis is there, data or not.
    if (reach.length > 0) min = max = reach[0];
    else if (hardMinOnly && hardMaxOnly) min = max = hardMin;
    else return [null, null];
  }
  const lo = Math.min(min, ...reach);
  const hi = Math.max(max, ...reach);
  const r = uPlot.rangeNum(hardMinOnly ? hardMin : lo, hardMaxOnly ? hardMax : hi, {
    min: { pad: 0.1, hard: hardMin ?? -Infinity, soft: softMin ?? 0, mode: softMin == null ? 3 : 1 },
    max: { pad: 0.1, hard: hardMax ?? Infinity, soft: softMax ?? 0, mode: softMax == null ? 3 : 1 },
  });
  if (hardMinOnly) r[0] = hardMin;
  if (hardMaxOnly) r[1] = hardMax;
  // An axis squeezed to one value by a limit reaches from it to zero and as far again beyond.
  if (r[0] === r[1] && r[0] !== 0) return r[0]! < 0 ? [2 * r[0]!, 0] : [0, 2 * r[1]!];
  // Data wholly past a limit leaves no axis between them: Grafana's guard shows 0 to 100.
  if (r[0]! >= r[1]!) return [0, 100];
  return r;
}
