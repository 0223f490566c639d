import { describe, expect, it } from "vitest";
import { drawnOf, moved, type View } from "./redraw";

// A 6 h chart 500 px wide: 43.2 s a pixel.
const hour = 3600_000;
// Unless a test says otherwise, any other extremes move the value axis.
const view = (to: number, sameAxis: View["sameAxis"] = () => false) => ({ from: to - 6 * hour, to, width: 500, sameAxis });
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

  it("is false when other extremes keep the value axis as drawn", () => {
    // An axis rounded out to fifties, as uPlot pads and rounds: drawn from 0 to 100.
    const axis = (min: number, max: number) => [Math.floor(min / 50) * 50, Math.ceil(max / 50) * 50];
    const sameAxis = (min: number, max: number) => axis(min, max).join() === axis(0, 90).join();
    const below = drawnOf(times, [[0, 50], [90, 20]], t0, 0);
    expect(moved(below, next, [[0, 50, 50], [90, 20, 95]], view(t0 + 1000, sameAxis))).toBe(false);
    expect(moved(below, next, [[0, 50, 50], [90, 20, 120]], view(t0 + 1000, sameAxis))).toBe(true);
    expect(moved(below, next, [[0, 50, -1], [90, 20, 20]], view(t0 + 1000, sameAxis))).toBe(true);
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
