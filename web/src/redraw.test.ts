import { describe, expect, it } from "vitest";
import { changesPixels, drawnOf } from "./redraw";

// A 6 h chart 500 px wide: 43.2 s a pixel; values 0..100 over 200 px: 2 px a unit.
const hour = 3600_000;
const view = (to: number) => ({ from: to - 6 * hour, to, width: 500, y: (v: number) => 200 - 2 * v });
const t0 = 1_800_000_000_000;

describe("changesPixels", () => {
  const times = [t0 / 1000 - 30, t0 / 1000];
  const drawn = drawnOf(times, [[0, 50], [100, 20]], t0);

  it("is false for a push that repeats the values a second later", () => {
    expect(changesPixels(drawn, [...times, t0 / 1000 + 1], [[0, 50, 50], [100, 20, 20]], view(t0 + 1000))).toBe(false);
  });

  it("is true once the range has moved half a pixel", () => {
    const t = t0 + 22_000;
    expect(changesPixels(drawn, [...times, t / 1000], [[0, 50, 50], [100, 20, 20]], view(t))).toBe(true);
  });

  it("is true for a new value half a pixel away, not for a quarter of one", () => {
    const next = [...times, t0 / 1000 + 1];
    expect(changesPixels(drawn, next, [[0, 50, 50.25], [100, 20, 20]], view(t0 + 1000))).toBe(true);
    expect(changesPixels(drawn, next, [[0, 50, 50.1], [100, 20, 20]], view(t0 + 1000))).toBe(false);
  });

  it("is true when the extremes change: a new one, or an old one gone out of the range", () => {
    const next = [...times, t0 / 1000 + 1];
    expect(changesPixels(drawn, next, [[0, 50, 50], [100, 20, 120]], view(t0 + 1000))).toBe(true);
    expect(changesPixels(drawn, times.slice(1), [[50], [20]], view(t0))).toBe(true);
  });

  it("is true when a series starts or stops", () => {
    const next = [...times, t0 / 1000 + 1];
    expect(changesPixels(drawn, next, [[0, 50, null], [100, 20, 20]], view(t0 + 1000))).toBe(true);
    expect(changesPixels(drawn, next, [[0, 50, 50], [100, 20, 20], [null, null, 5]], view(t0 + 1000))).toBe(true);
  });
});
