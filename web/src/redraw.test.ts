import { describe, expect, it } from "vitest";
import { drawnOf, moved } from "./redraw";

// A 6 h chart 500 px wide: 43.2 s a pixel.
const hour = 3600_000;
const view = (to: number) => ({ from: to - 6 * hour, to, width: 500 });
const t0 = 1_800_000_000_000;

describe("moved", () => {
  const drawn = drawnOf([[0, 50], [100, 20]], t0);

  it("is false for a push that changes only values within the extremes a second later", () => {
    expect(moved(drawn, [[0, 50, 57], [100, 20, 3]], view(t0 + 1000))).toBe(false);
  });

  it("is true once the range has moved half a pixel", () => {
    expect(moved(drawn, [[0, 50], [100, 20]], view(t0 + 21_000))).toBe(false);
    expect(moved(drawn, [[0, 50], [100, 20]], view(t0 + 22_000))).toBe(true);
  });

  it("is true when the extremes change: a new one, or an old one gone out of the range", () => {
    expect(moved(drawn, [[0, 50, 50], [100, 20, 120]], view(t0 + 1000))).toBe(true);
    expect(moved(drawn, [[-1, 50, 50], [100, 20, 20]], view(t0 + 1000))).toBe(true);
    expect(moved(drawn, [[50], [20]], view(t0))).toBe(true);
  });

  it("is true when a series is added or removed", () => {
    expect(moved(drawn, [[0, 50], [100, 20], [null, 5]], view(t0))).toBe(true);
    expect(moved(drawn, [[0, 100]], view(t0))).toBe(true);
  });
});
