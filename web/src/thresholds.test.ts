import { describe, expect, test } from "vitest";
import { condition, normalize, thresholdsFor } from "./thresholds";

describe("normalize", () => {
  test.each([
    ["sum by (job) (rate(x[5m]))", "sumby(job)(rate(x[5m]))"],
    ["  ( up{job='node'} )  ", 'up{job="node"}'],
    ['up{job="a b"}', 'up{job="a b"}'],
    ["((up))", "up"],
    ["(a) + (b)", "(a)+(b)"],
    ["up # the targets\n", "up"],
    ["x{a='it\\'s \"q\"'}", 'x{a="it\'s \\"q\\""}'],
  ])("%j", (expr, want) => {
    expect(normalize(expr)).toBe(want);
  });
});

describe("condition", () => {
  test.each([
    ["sum(huddle_connections) > 1000", { query: "sum(huddle_connections)", op: ">", value: 1000 }],
    ["rate(x[5m]) >= 0.5", { query: "rate(x[5m])", op: ">=", value: 0.5 }],
    ["up == 0", { query: "up", op: "==", value: 0 }],
    ["up != 1", { query: "up", op: "!=", value: 1 }],
    ["x < -3", { query: "x", op: "<", value: -3 }],
    ["x > bool 1e3", { query: "x", op: ">", value: 1000 }],
    ["x > 0x10", { query: "x", op: ">", value: 16 }],
    ["x > 1_000", { query: "x", op: ">", value: 1000 }],
    // The number first: the comparison is read the other way round.
    ["10 < errors_total", { query: "errors_total", op: ">", value: 10 }],
    // Comparisons inside the query are its own.
    ["(x > 5) < 10", { query: "x>5", op: "<", value: 10 }],
    ['count(up{job=~"a|b"} == 0) > 2', { query: 'count(up{job=~"a|b"}==0)', op: ">", value: 2 }],
    ['up{le="<=5"} > 1', { query: 'up{le="<=5"}', op: ">", value: 1 }],
    ["(vector(1) > 0)", { query: "vector(1)", op: ">", value: 0 }],
  ])("%j", (expr, want) => {
    expect(condition(expr)).toEqual(want);
  });

  test.each([
    "up",
    "a > b",
    "x > 5 * 2",
    "x > 5 and y",
    "x > 5 unless on(job) y",
    "x > 5 OR y",
    "1 > 2",
    "boolean_x > bool",
    "up{",
  ])("%j has no threshold", (expr) => {
    expect(condition(expr)).toBeNull();
  });

  test("a metric named like a set operator is not one", () => {
    expect(condition("android > 3")).toEqual({ query: "android", op: ">", value: 3 });
  });
});

describe("thresholdsFor", () => {
  const rules = [
    { name: "HighConns", expr: "sum(huddle_connections{job=\"huddle\"}) > 1000", severity: 1, state: "firing" },
    { name: "Down", expr: "up == 0" },
    { name: "Odd", expr: "up > 0 and on() vector(1)" },
  ];

  test("a panel query equal to a rule's left side, once normalized, gets its threshold", () => {
    expect(thresholdsFor(["sum( huddle_connections{job='huddle'} )", "other"], rules)).toEqual([
      { query: 'sum(huddle_connections{job="huddle"})', op: ">", value: 1000, rule: "HighConns", severity: 1, state: "firing" },
    ]);
  });

  test("a rule without severity or state is taken as a warning, inactive", () => {
    expect(thresholdsFor(["up"], rules)).toEqual([{ query: "up", op: "==", value: 0, rule: "Down", severity: 2, state: "inactive" }]);
  });

  test("a different query gets none", () => {
    expect(thresholdsFor(['sum(huddle_connections{job="other"})', "rate(up[5m])"], rules)).toEqual([]);
  });

  test("an infinite threshold is not drawn", () => {
    expect(thresholdsFor(["x"], [{ name: "Never", expr: "x > Inf" }])).toEqual([]);
  });
});
