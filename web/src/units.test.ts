import { describe, expect, it } from "vitest";
import { formatValue } from "./units";

describe("formatValue", () => {
  it.each([
    // A missing or undefined value is a dash; infinities are named.
    [null, "short", undefined, "–"],
    [undefined, "short", undefined, "–"],
    [NaN, "short", undefined, "–"],
    [Infinity, "short", undefined, "+Inf"],
    [-Infinity, "bytes", undefined, "-Inf"],
    // Counts stay whole; others get fewer decimals the larger they are.
    [42, "short", undefined, "42"],
    [1500, "short", undefined, "1.50 K"],
    [15_500, "short", undefined, "15.5 K"],
    [150_000, "short", undefined, "150 K"],
    [2_000_000, "short", undefined, "2 M"],
    [-1500, "short", undefined, "-1.50 K"],
    [0.25, "short", undefined, "0.25"],
    [1500, "short", 0, "2 K"],
    // Bytes are binary.
    [1024, "bytes", undefined, "1 KiB"],
    [1536, "bytes", undefined, "1.50 KiB"],
    [5 * 1024 ** 3, "bytes", undefined, "5 GiB"],
    [2048, "Bps", undefined, "2 KiB/s"],
    [1500, "bps", undefined, "1.50 Kb/s"],
    // Percentages: of 100, or of 1.
    [12.345, "percent", undefined, "12.3%"],
    [0.5, "percentunit", undefined, "50.0%"],
    [0.5, "percentunit", 0, "50%"],
    // Durations pick the unit that reads best.
    [0, "s", undefined, "0.00 s"],
    [0.0123, "s", undefined, "12.3 ms"],
    [1.5, "s", undefined, "1.50 s"],
    [90, "s", undefined, "1.5 min"],
    [7200, "s", undefined, "2.0 h"],
    [172_800, "s", undefined, "2.0 d"],
    [1500, "ms", undefined, "1.50 s"],
    // Rates.
    [2500, "ops", undefined, "2.50 K ops/s"],
    [12, "reqps", undefined, "12 req/s"],
  ])("%s %s (decimals %s) is %j", (v, unit, decimals, want) => {
    expect(formatValue(v, unit, decimals)).toBe(want);
  });

  it("reads an unknown unit as a plain number", () => {
    expect(formatValue(1500, "celsius")).toBe("1.50 K");
  });
});
