// Whether a live push needs a chart drawn again whole. A dashboard refreshing every second over 6
// hours moves each chart by a fiftieth of a pixel a push, and most pushes change only the newest
// point: drawing the whole chart again costs milliseconds of canvas work for pixels that stay. The
// newest points are drawn apart (panels/tip.ts); the rest of the chart stays as drawn until its
// range or its value axis moves.

/** Drawn is what a chart last drew whole: the end of its range (ms), its number of series, and
 * the extremes its value axis was fitted to. */
export interface Drawn {
  to: number;
  series: number;
  min: number;
  max: number;
}

/** drawnOf records what a chart drawing values up to to shows. */
export function drawnOf(values: (number | null)[][], to: number): Drawn {
  return { to, series: values.length, ...extremes(values) };
}

/** extremes are the smallest and largest values of all series, which auto-ranged value axes fit. */
export function extremes(values: (number | null)[][]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    for (const x of v) {
      if (x == null || !Number.isFinite(x)) continue;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return { min, max };
}

/** View is the chart as it would be drawn now: its range (ms) and its plot's width in CSS pixels. */
export interface View {
  from: number;
  to: number;
  width: number;
}

/** moved reports whether the chart drawn as d would move if drawn whole now: its range by half a
 * pixel or more, its value axis to other extremes (a new one arrived, or an old one left the
 * range), or a series started or stopped. */
export function moved(d: Drawn, values: (number | null)[][], view: View): boolean {
  const span = view.to - view.from;
  if (span <= 0 || Math.abs(view.to - d.to) * (view.width / span) >= 0.5) return true;
  if (values.length !== d.series) return true;
  const { min, max } = extremes(values);
  return min !== d.min || max !== d.max;
}
