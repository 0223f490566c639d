// Dashboard variables in queries: $name, ${name} and the range-dependent $__rate_interval and
// $__interval, substituted the same way the server substitutes them for live pushes.
import type { Variable } from "./model";
import { formatDuration } from "./time";

function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** variableValue is the text a variable stands for: its single value, or for several an
 * alternation for =~ matchers. */
export function variableValue(v: Variable): string {
  const values = v.current && v.current.length > 0 ? v.current : v.type === "custom" ? v.query.split(",").slice(0, 1) : [v.query];
  const trimmed = values.map((x) => x.trim());
  if (trimmed.length === 1) return trimmed[0];
  return "(" + trimmed.map(escapeRegex).join("|") + ")";
}

/** rateInterval is Grafana's $__rate_interval for a 10 s scrape interval and the given step. */
export function rateInterval(stepMs: number): string {
  return formatDuration(Math.max(40_000, stepMs + 10_000));
}

export function applyVariables(expr: string, vars: Variable[], stepMs: number): string {
  const values = new Map<string, string>(vars.map((v) => [v.name, variableValue(v)]));
  values.set("__rate_interval", rateInterval(stepMs));
  values.set("__interval", formatDuration(stepMs));
  return expr.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a?: string, b?: string) => {
    const name = a ?? b ?? "";
    return values.get(name) ?? whole;
  });
}
