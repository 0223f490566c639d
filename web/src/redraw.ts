// Whether a live push needs a chart drawn again whole. A dashboard refreshing every second over 6
// hours moves each chart by a fiftieth of a pixel a push, and most pushes change only the newest
// point: drawing the whole chart again costs milliseconds of canvas work for pixels that stay. The
// newest points are drawn apart (panels/tip.ts); the rest of the chart stays as drawn until its
// range or its value axis moves. A new largest or smallest value seldom moves the axis: it is
// fitted to the extremes padded and rounded (a CPU at 71 % instead of 68 % keeps its 0–100 axis).

/** Drawn is what a chart last drew whole: the end of its range (ms), its number of series, the
 * extremes its value axis was fitted to, and for the points up to index upTo (those its series
 * paths drew, which a push does not change), their first time and their extremes. */
export interface Drawn {
  to: number;
  series: number;
  min: number;
  max: number;
  first: number;
  upTo: number;
  upToMin: number;
  upToMax: number;
}

/** drawnOf records what a chart drawing times and values up to to shows, with its series paths
 * ending at index upTo. */
export function drawnOf(times: number[], values: (number | null)[][], to: number, upTo: number): Drawn {
  const head = extremes(values, 0, upTo + 1);
  const tail = extremes(values, upTo + 1, times.length);
  return {
    to,
    series: values.length,
    min: Math.min(head.min, tail.min),
    max: Math.max(head.max, tail.max),
    first: times.length > 0 ? times[0] : NaN,
    upTo,
    upToMin: head.min,
    upToMax: head.max,
  };
}

/** extremes are the smallest and largest values of all series from index from to before index to,
 * which auto-ranged value axes fit. */
function extremes(values: (number | null)[][], from = 0, to = Infinity): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    for (let i = from, end = Math.min(to, v.length); i < end; i++) {
      const x = v[i];
      if (x == null || !Number.isFinite(x)) continue;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return { min, max };
}

/** View is the chart as it would be drawn now: its range (ms), its plot's width in CSS pixels,
 * and whether its value axis, fitted to the extremes min and max, would stay as drawn. */
export interface View {
  from: number;
  to: number;
  width: number;
  sameAxis: (min: number, max: number) => boolean;
}

/** moved reports whether the chart drawn as d would move if drawn whole now: its range by half a
 * pixel or more, its value axis (other extremes, a new one arrived or an old one left the range,
 * fitted to another axis), or a series was added or removed. The points up to d.upTo are taken as drawn unless the
 * oldest were dropped: only the newer ones are looked at, a few for each push. */
export function moved(d: Drawn, times: number[], values: (number | null)[][], view: View): boolean {
  const span = view.to - view.from;
  if (span <= 0 || Math.abs(view.to - d.to) * (view.width / span) >= 0.5) return true;
  if (values.length !== d.series) return true;
  let now: { min: number; max: number };
  if (times.length <= d.upTo || times[0] !== d.first) now = extremes(values);
  else {
    const tail = extremes(values, d.upTo + 1);
    now = { min: Math.min(tail.min, d.upToMin), max: Math.max(tail.max, d.upToMax) };
  }
  if (now.min === d.min && now.max === d.max) return false;
  return !view.sameAxis(now.min, now.max);
}
