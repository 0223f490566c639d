// Grafana's time expressions ("now-6h", "now", absolute times) and durations ("10s", "1m").

const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** parseDuration reads "15s", "1h30m" or "7d"; null when it is not a duration. */
export function parseDuration(s: string): number | null {
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let total = 0;
  let pos = 0;
  if (!s) return null;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * unitMs[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

/** resolveTime turns "now-6h", "now", unix milliseconds or an ISO time into unix milliseconds. */
export function resolveTime(expr: string, now = Date.now()): number | null {
  const e = expr.trim();
  if (e === "now") return now;
  const rel = /^now-(.+)$/.exec(e);
  if (rel) {
    const d = parseDuration(rel[1]);
    return d === null ? null : now - d;
  }
  if (/^\d+$/.test(e)) return Number(e);
  const t = Date.parse(e);
  return Number.isNaN(t) ? null : t;
}

export interface Range {
  from: number;
  to: number;
}

/** isRelative reports whether a range follows "now", so live points extend it. */
export function isRelative(r: { to: string }): boolean {
  return r.to.trim() === "now";
}

export const quickRanges = ["5m", "15m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"];

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}
