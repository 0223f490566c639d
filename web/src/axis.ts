// The value axis of a time series chart, fitted as Grafana fits a linear one without soft limits
// (UPlotScaleBuilder in grafana/grafana, packages/grafana-ui/src/components/uPlot/config/
// UPlotScaleBuilder.ts): the data's extremes padded by a tenth and rounded out (uPlot's
// rangeNum), never past the panel's min and max, which, when set, are the axis's ends.
import uPlot from "uplot";

/** Limits are a panel's min and max (Grafana's "Standard options"), each optional. */
export interface Limits {
  min?: number;
  max?: number;
}

/** fitAxis is the value axis for data from min to max (null without data). It reaches the values
 * in reach too (alert thresholds: a threshold far from the data would be drawn off the chart,
 * saying nothing), within the limits, which win over both. */
export function fitAxis(min: number | null, max: number | null, reach: number[], limits: Limits): uPlot.Range.MinMax {
  const hardMin = limits.min;
  const hardMax = limits.max;
  if (min == null || max == null) {
    // With both limits the axis is fixed, data or not.
    if (reach.length > 0) min = max = reach[0];
    else if (hardMin != null && hardMax != null) min = max = hardMin;
    else return [null, null];
  }
  const lo = Math.min(min, ...reach);
  const hi = Math.max(max, ...reach);
  const r = uPlot.rangeNum(hardMin ?? lo, hardMax ?? hi, {
    min: { pad: 0.1, hard: hardMin ?? -Infinity, soft: 0, mode: 3 },
    max: { pad: 0.1, hard: hardMax ?? Infinity, soft: 0, mode: 3 },
  });
  if (hardMin != null) r[0] = hardMin;
  if (hardMax != null) r[1] = hardMax;
  // Data wholly past a limit leaves no axis between them: Grafana's guard shows 0 to 100.
  if (r[0]! >= r[1]!) return [0, 100];
  return r;
}
