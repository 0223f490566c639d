// Dashboard variables in queries: $name, ${name} and the range-dependent $__rate_interval and
// $__interval, substituted the same way the server substitutes them for live pushes.
import { prom } from "./api";
import type { PromSample } from "./data";
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

const labelValues = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/;
const queryResult = /^\s*query_result\((.+)\)\s*$/;

/** variableOptions lists what a variable can be set to: a custom or interval variable's list, or
 * the values a query variable finds, in Grafana's forms label_values(label),
 * label_values(selector, label) and query_result(expr). */
export async function variableOptions(v: Variable): Promise<string[]> {
  switch (v.type) {
    case "custom":
    case "interval":
      return v.query.split(",").map((x) => x.trim()).filter(Boolean);
    case "constant":
      return [v.query];
  }
  const lv = labelValues.exec(v.query);
  if (lv) {
    const params = new URLSearchParams();
    if (lv[1]) params.set("match[]", lv[1]);
    return prom<string[]>(`/api/v1/label/${encodeURIComponent(lv[2])}/values`, params);
  }
  const qr = queryResult.exec(v.query);
  if (qr) {
    const res = await prom<{ result: PromSample[] }>("/api/v1/query", new URLSearchParams({ query: qr[1] }));
    return res.result.map((s) => {
      const { __name__: name = "", ...labels } = s.metric;
      const inner = Object.entries(labels).map(([k, val]) => `${k}="${val}"`).join(",");
      return `${name}{${inner}} ${s.value?.[1] ?? ""}`;
    });
  }
  throw new Error(`variable $${v.name}: use label_values(label), label_values(selector, label) or query_result(expr)`);
}
