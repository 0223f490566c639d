import { describe, expect, it } from "vitest";
import { isRelative, parseDuration, resolveTime } from "./time";

describe("parseDuration", () => {
  it.each([
    ["15s", 15_000],
    ["1h30m", 5_400_000],
    ["7d", 604_800_000],
    ["250ms", 250],
    ["1w", 604_800_000],
    ["1y", 31_536_000_000],
  ])("%s is %d ms", (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(["", "1", "m", "1x", "1h ", " 1h", "-1h", "1.5h", "1hour"])("%j is not a duration", (s) => {
    expect(parseDuration(s)).toBeNull();
  });
});

describe("resolveTime", () => {
  const now = Date.UTC(2026, 0, 2, 3, 0, 0);

  it.each([
    ["now", now],
    [" now ", now],
    ["now-6h", now - 6 * 3_600_000],
    ["now-1h30m", now - 5_400_000],
    ["1767322800000", 1_767_322_800_000],
    ["2026-01-02T03:00:00Z", now],
  ])("%j", (expr, want) => {
    expect(resolveTime(expr, now)).toBe(want);
  });

  it.each(["now-", "now-6x", "now+1h", "yesterday", ""])("%j is no time", (expr) => {
    expect(resolveTime(expr, now)).toBeNull();
  });
});

describe("isRelative", () => {
  it("follows now only when the range ends now", () => {
    expect(isRelative({ to: "now" })).toBe(true);
    expect(isRelative({ to: " now" })).toBe(true);
    expect(isRelative({ to: "now-1h" })).toBe(false);
    expect(isRelative({ to: "1767322800000" })).toBe(false);
  });
});
