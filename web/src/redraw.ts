// Whether a live push changes what a chart shows. A dashboard refreshing every second over 6 hours
// moves each chart by a fiftieth of a pixel a push, and most pushes repeat the last scraped value:
// drawing such a chart again costs milliseconds of canvas work for pixels that do not change.

/** Drawn is what a chart last drew of its data: the end of its range (ms), its newest time
 * (the data's unit), each series' newest value, and the extremes the value axis was fitted to. */
export interface Drawn {
  to: number;
  lastT: number;
  last: (number | null)[];
  min: number;
  max: number;
}

/** drawnOf records what a chart drawing times and values up to to shows. */
export function drawnOf(times: number[], values: (number | null)[][], to: number): Drawn {
  const n = times.length;
  const { min, max } = extremes(values);
  return { to, lastT: n > 0 ? times[n - 1] : -Infinity, last: values.map((v) => (n > 0 ? v[n - 1] : null)), min, max };
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

/** View is the chart as drawn: its range (ms), its plot's width in CSS pixels, and where a value
 * lands on its value axis (CSS pixels). */
export interface View {
  from: number;
  to: number;
  width: number;
  y(value: number): number;
}

/** changesPixels reports whether drawing the data now would change the chart drawn as d: the range
 * moved by half a pixel or more, the value axis would be fitted to other extremes (a new one
 * arrived, or an old one left the range), or a newer point's value lands half a pixel or more from
 * its series' newest drawn one (the step a chart's right edge would show), or a series started or
 * stopped. Anything else (the line growing by a fraction of a pixel at a value it already has) is
 * invisible. */
export function changesPixels(d: Drawn, times: number[], values: (number | null)[][], view: View): boolean {
  const span = view.to - view.from;
  if (span <= 0 || Math.abs(view.to - d.to) * (view.width / span) >= 0.5) return true;
  if (values.length !== d.last.length) return true;
  const { min, max } = extremes(values);
  if (min !== d.min || max !== d.max) return true;
  for (let i = times.length - 1; i >= 0 && times[i] > d.lastT; i--) {
    for (let s = 0; s < values.length; s++) {
      const v = values[s][i];
      const was = d.last[s];
      if ((v == null) !== (was == null)) return true;
      if (v != null && was != null && Math.abs(view.y(v) - view.y(was)) >= 0.5) return true;
    }
  }
  return false;
}
