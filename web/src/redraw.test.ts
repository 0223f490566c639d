import { describe, expect, it } from "vitest";
import { drawnOf, moved } from "./redraw";

// A 6 h chart 500 px wide: 43.2 s a pixel.
const hour = 3600_000;
const view = (to: number) => ({ from: to - 6 * hour, to, width: 500 });
const t0 = 1_800_000_000_000;
const times = [t0 / 1000 - 30, t0 / 1000];
const next = [...times, t0 / 1000 + 1];

describe("moved", () => {
  // Drawn whole with its paths up to the first point; the second is the tip's.
  const drawn = drawnOf(times, [[0, 50], [100, 20]], t0, 0);

  it("is false for a push that changes only values within the extremes a second later", () => {
    expect(moved(drawn, next, [[0, 50, 57], [100, 3, 3]], view(t0 + 1000))).toBe(false);
  });

  it("is true once the range has moved half a pixel", () => {
    expect(moved(drawn, times, [[0, 50], [100, 20]], view(t0 + 21_000))).toBe(false);
    expect(moved(drawn, times, [[0, 50], [100, 20]], view(t0 + 22_000))).toBe(true);
  });

  it("is true when the extremes change: a new one, or an old one gone", () => {
    expect(moved(drawn, next, [[0, 50, 50], [100, 20, 120]], view(t0 + 1000))).toBe(true);
    expect(moved(drawn, next, [[0, 50, -1], [100, 20, 20]], view(t0 + 1000))).toBe(true);
    // The tip's point held the largest value, and a push replaced it.
    const high = drawnOf(times, [[0, 150], [100, 20]], t0, 0);
    expect(moved(high, times, [[0, 50], [100, 20]], view(t0))).toBe(true);
  });

  it("looks at every point again once the oldest were dropped", () => {
    expect(moved(drawn, times.slice(1), [[50], [20]], view(t0))).toBe(true);
    const lowFirst = drawnOf(times, [[0, 50], [100, 20]], t0, 1);
    expect(moved(lowFirst, [t0 / 1000, t0 / 1000 + 1], [[50, 50], [20, 20]], view(t0 + 1000))).toBe(true);
  });

  it("is true when a series is added or removed", () => {
    expect(moved(drawn, times, [[0, 50], [100, 20], [null, 5]], view(t0))).toBe(true);
    expect(moved(drawn, times, [[0, 100]], view(t0))).toBe(true);
  });
});
