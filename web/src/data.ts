// Panel data: aligned columns for uPlot, filled from range queries over HTTP and extended by the
// server's live pushes. Points are keyed by timestamp, so a push that repeats a point the range
// query already returned (after a reconnect, say) replaces it instead of duplicating it.
//
// A panel's data is its own state: an empty answer or a failed query changes only the panel it
// belongs to, never the dashboard's other panels.

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** Answer is one query's outcome, in the shape of a live push's result: its samples (null or
 * absent counts as none, as some Prometheus-compatible servers answer an empty result), or the
 * error that took their place. */
export interface Answer {
  result?: PromSample[] | null;
  error?: string;
}

export interface Series {
  key: string;
  refId: string;
  labels: Record<string, string>;
  name: string;
}

export function seriesName(labels: Record<string, string>, legendFormat?: string): string {
  if (legendFormat) {
    return legendFormat.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, l: string) => labels[l] ?? "");
  }
  const { __name__: name = "", ...rest } = labels;
  const inner = Object.keys(rest)
    .sort()
    .map((k) => `${k}="${rest[k]}"`)
    .join(", ");
  return inner ? `${name}{${inner}}` : name || "value";
}

function seriesKey(refId: string, labels: Record<string, string>): string {
  return refId + JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** stepOf is the step of a grid of step seconds from the epoch (the history's, whose start is a
 * multiple of it) that time t falls in. */
function stepOf(t: number, step: number): number {
  return Math.floor(t / step);
}

function parseValue(s: string): number | null {
  const v = Number(s);
  return Number.isFinite(v) ? v : s === "NaN" ? null : v;
}

/** PanelData holds a panel's series as columns: times (seconds) and one value array per series,
 * and the error of each of its queries that failed last time it was asked. */
export class PanelData {
  times: number[] = [];
  series: Series[] = [];
  values: (number | null)[][] = [];
  /** errors maps the refId of each failing query to its error. */
  errors = new Map<string, string>();
  private index = new Map<string, number>();
  private listeners = new Set<(edited: number) => void>();
  /** edited is the oldest time (seconds) of a point add changed since the last changed(). */
  private edited = Infinity;

  constructor(private legends: Record<string, string | undefined> = {}) {}

  /** reset replaces everything with range query answers, one per refId. */
  reset(answers: Map<string, Answer>) {
    this.times = [];
    this.series = [];
    this.values = [];
    this.index.clear();
    this.errors.clear();
    const byTime = new Map<number, Map<number, number | null>>();
    for (const [refId, samples] of this.note(answers)) {
      for (const s of samples) {
        const col = this.column(refId, s.metric);
        for (const [t, v] of s.values ?? []) {
          let row = byTime.get(t);
          if (!row) byTime.set(t, (row = new Map()));
          row.set(col, parseValue(v));
        }
      }
    }
    const times = [...byTime.keys()].sort((a, b) => a - b);
    this.times = times;
    this.values = this.series.map((_, col) => times.map((t) => byTime.get(t)?.get(col) ?? null));
  }

  /** add puts instant query answers at time t (seconds), keeping times sorted and unique. A
   * query's error replaces its previous one, and its success clears it. A live push's point is
   * the newest, so it is looked for from the end: appending costs a step per series, not a pass
   * over the range.
   *
   * With step (seconds, the history's), the pushes keep one point per step as the history has:
   * the first to land in each step, and the newest. A newer point replaces the newest when that
   * one is not the first of its step, so a chart refreshing every second over hours holds and
   * draws as many points as a fresh load of its range, not one per push. */
  add(t: number, answers: Map<string, Answer>, step = 0) {
    let row = this.times.length;
    while (row > 0 && this.times[row - 1] > t) row--;
    if (row > 0 && this.times[row - 1] === t) row--;
    else if (row === this.times.length && step > 0 && row >= 2 && stepOf(this.times[row - 1], step) === stepOf(this.times[row - 2], step)) {
      row--;
      this.edited = Math.min(this.edited, this.times[row]);
      this.times[row] = t;
      for (const col of this.values) col[row] = null;
    } else if (row === this.times.length) {
      this.times.push(t);
      for (const col of this.values) col.push(null);
    } else {
      this.times.splice(row, 0, t);
      for (const col of this.values) col.splice(row, 0, null);
    }
    this.edited = Math.min(this.edited, t);
    for (const [refId, samples] of this.note(answers)) {
      for (const s of samples) {
        const col = this.column(refId, s.metric);
        this.values[col][row] = s.value ? parseValue(s.value[1]) : null;
      }
    }
  }

  /** trim drops points before from (seconds). Only the points that fell out are looked at. */
  trim(from: number) {
    let drop = 0;
    while (drop < this.times.length && this.times[drop] < from) drop++;
    if (drop === 0) return;
    this.times.splice(0, drop);
    for (const col of this.values) col.splice(0, drop);
  }

  /** subscribe calls listener at each change told by changed, with the oldest time (seconds) of
   * a point added or changed since the last (Infinity if only points before the range were
   * dropped), until the function it returns is called: the views of a panel hear of its data
   * alone, not of every panel's. */
  subscribe(listener: (edited: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** changed tells the views that the data changed, once for a push's add and trim together. */
  changed() {
    const edited = this.edited;
    this.edited = Infinity;
    for (const l of this.listeners) l(edited);
  }

  /** last is each series' latest value that is not null. */
  last(): { series: Series; value: number | null }[] {
    return this.series.map((s, col) => {
      const vals = this.values[col];
      for (let i = vals.length - 1; i >= 0; i--) if (vals[i] !== null) return { series: s, value: vals[i] };
      return { series: s, value: null };
    });
  }

  /** note records each answer's error, or clears it, and returns the samples of those without. */
  private note(answers: Map<string, Answer>): [string, PromSample[]][] {
    const ok: [string, PromSample[]][] = [];
    for (const [refId, a] of answers) {
      if (a.error) {
        this.errors.set(refId, a.error);
      } else {
        this.errors.delete(refId);
        ok.push([refId, a.result ?? []]);
      }
    }
    return ok;
  }

  private column(refId: string, labels: Record<string, string>): number {
    const key = seriesKey(refId, labels);
    let col = this.index.get(key);
    if (col === undefined) {
      col = this.series.length;
      this.index.set(key, col);
      this.series.push({ key, refId, labels, name: seriesName(labels, this.legends[refId]) });
      this.values.push(this.times.map(() => null));
    }
    return col;
  }
}
