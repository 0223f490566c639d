// Value formatting for Grafana's common unit names.

const binary = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const decimal = ["", "K", "M", "G", "T", "P"];

function scaled(v: number, base: number, names: string[], decimals?: number): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < names.length - 1) {
    x /= base;
    i++;
  }
  // Whole numbers (counts: connections, requests) read best without decimals.
  const d = decimals ?? (Number.isInteger(x) || x >= 100 ? 0 : x >= 10 ? 1 : 2);
  return `${v < 0 ? "-" : ""}${x.toFixed(d)}${names[i] ? " " + names[i] : ""}`.trim();
}

export function formatValue(v: number | null | undefined, unit = "short", decimals?: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "percent":
      return `${v.toFixed(decimals ?? 1)}%`;
    case "percentunit":
      return `${(v * 100).toFixed(decimals ?? 1)}%`;
    case "bytes":
      return scaled(v, 1024, binary, decimals);
    case "Bps":
    case "binBps":
      return scaled(v, 1024, binary, decimals) + "/s";
    case "bps":
      return scaled(v, 1000, ["b", "Kb", "Mb", "Gb", "Tb"], decimals) + "/s";
    case "s":
      if (Math.abs(v) >= 86400) return `${(v / 86400).toFixed(decimals ?? 1)} d`;
      if (Math.abs(v) >= 3600) return `${(v / 3600).toFixed(decimals ?? 1)} h`;
      if (Math.abs(v) >= 60) return `${(v / 60).toFixed(decimals ?? 1)} min`;
      if (Math.abs(v) >= 1 || v === 0) return `${v.toFixed(decimals ?? 2)} s`;
      return `${(v * 1000).toFixed(decimals ?? 1)} ms`;
    case "ms":
      return formatValue(v / 1000, "s", decimals);
    case "ops":
    case "reqps":
      return scaled(v, 1000, decimal, decimals) + (unit === "ops" ? " ops/s" : " req/s");
    default:
      return scaled(v, 1000, decimal, decimals);
  }
}
