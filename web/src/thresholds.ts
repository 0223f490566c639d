// Which alert rules watch a panel's query, and at what value. A rule whose expression compares a
// query with a number (`<query> > 1000`, or `1000 < <query>`) has that number as the query's
// threshold; a panel whose expanded query is the same query (as text, once normalized) draws it.
// Anything more elaborate (`and`, `or`, `unless`, a comparison of two queries) draws nothing:
// a line would claim more than the rule says.

export type Comparison = ">" | "<" | ">=" | "<=" | "==" | "!=";

export interface Condition {
  /** query is the compared query, normalized. */
  query: string;
  op: Comparison;
  value: number;
}

/** The comparison operators the other way round, for `1000 < <query>`. */
const flipped: Record<Comparison, Comparison> = { ">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!=" };

/** Set operators bind more loosely than comparisons: an expression with one is not a single
 * comparison. Written in PromQL as keywords, case-insensitively. */
const setOperator = /^(and|or|unless)$/i;

/** normalize is the text of a query with the differences that do not change it removed:
 * whitespace outside strings, and parentheses around the whole of it. Single-quoted strings
 * become double-quoted, as PromQL reads both alike. */
export function normalize(expr: string): string {
  let out = "";
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === "`") {
      const end = stringEnd(expr, i);
      const body = expr.slice(i + 1, end);
      out += c === "'" ? `"${body.replace(/\\'/g, "'").replace(/"/g, '\\"')}"` : expr.slice(i, end + 1);
      i = end;
    } else if (c === "#") {
      // A comment runs to the end of the line.
      while (i < expr.length && expr[i] !== "\n") i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  while (out.startsWith("(") && matchingParen(out, 0) === out.length - 1) out = out.slice(1, -1);
  return out;
}

/** stringEnd is the index of the quote closing the string opened at i (the last index when it
 * is not closed). */
function stringEnd(s: string, i: number): number {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\" && q !== "`") j++;
    else if (s[j] === q) return j;
  }
  return s.length - 1;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '"') i = stringEnd(s, i);
    else if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** condition reads expr as `<query> <op> <number>` (or the number first), or returns null. */
export function condition(expr: string): Condition | null {
  const s = normalize(expr);
  // The last comparison at the top level is the one evaluated last (comparisons associate to
  // the left), so its sides are the query and the threshold.
  let depth = 0;
  let at = -1;
  let op: Comparison | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "`") {
      i = stringEnd(s, i);
    } else if (c === "(" || c === "{" || c === "[") {
      depth++;
    } else if (c === ")" || c === "}" || c === "]") {
      depth--;
    } else if (depth === 0) {
      const two = s.slice(i, i + 2);
      if (two === ">=" || two === "<=" || two === "==" || two === "!=") {
        at = i;
        op = two;
        i++;
      } else if (c === ">" || c === "<") {
        at = i;
        op = c;
      }
    }
  }
  if (op === null || depth !== 0) return null;
  const left = s.slice(0, at);
  let right = s.slice(at + op.length);
  // `bool` turns the comparison into 0 and 1; the threshold is still the number.
  if (right.startsWith("bool") && number(right.slice(4)) !== null) right = right.slice(4);
  if (hasSetOperator(expr)) return null;
  const rightValue = number(right);
  if (rightValue !== null && number(left) === null && left !== "") return { query: normalize(left), op, value: rightValue };
  const leftValue = number(left);
  if (leftValue !== null && rightValue === null && right !== "") return { query: normalize(right), op: flipped[op], value: leftValue };
  return null;
}

/** hasSetOperator tells whether and, or or unless stands between the expression's top-level
 * terms, which makes it no single comparison. Read on the original text, where words are still
 * apart. */
function hasSetOperator(expr: string): boolean {
  let depth = 0;
  const words = expr.split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|[(){}[\]]|\s+)/);
  for (const w of words) {
    if (w === "(" || w === "{" || w === "[") depth++;
    else if (w === ")" || w === "}" || w === "]") depth--;
    else if (depth === 0 && setOperator.test(w)) return true;
  }
  return false;
}

/** number reads a PromQL number literal (decimal, scientific, hexadecimal, Inf, NaN, with a
 * sign), or returns null. */
function number(s: string): number | null {
  const m = /^([+-]?)(inf|nan|0x[0-9a-f]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:e[+-]?\d+)?)$/i.exec(s);
  if (!m) return null;
  const body = m[2].toLowerCase().replace(/_/g, "");
  const v = body === "inf" ? Infinity : body === "nan" ? NaN : Number(body);
  if (Number.isNaN(v)) return null;
  return m[1] === "-" ? -v : v;
}

/** A threshold drawn on a panel: the rule's value and what it is about. */
export interface Threshold extends Condition {
  rule: string;
  severity: number;
  state: string;
}

export interface WatchingRule {
  name: string;
  expr: string;
  severity?: number;
  state?: string;
}

/** thresholdsFor are the thresholds of rules on the panel whose queries (expanded) are exprs. */
export function thresholdsFor(exprs: string[], rules: WatchingRule[]): Threshold[] {
  const queries = new Set(exprs.map(normalize));
  const out: Threshold[] = [];
  for (const r of rules) {
    const c = condition(r.expr);
    if (c && Number.isFinite(c.value) && queries.has(c.query)) {
      out.push({ ...c, rule: r.name, severity: r.severity ?? 2, state: r.state ?? "inactive" });
    }
  }
  return out;
}
