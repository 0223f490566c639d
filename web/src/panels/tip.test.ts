import uPlot from "uplot";
import { beforeEach, describe, expect, it } from "vitest";
import { Tip } from "./tip";

/** A canvas that records what is drawn on it. */
function recorder() {
  const calls: string[] = [];
  const ctx = {
    clearRect: () => calls.push("clear"),
    beginPath: () => calls.push("begin"),
    moveTo: (x: number, y: number) => calls.push(`move ${x} ${y}`),
    lineTo: (x: number, y: number) => calls.push(`line ${x} ${y}`),
    stroke: () => calls.push("stroke"),
  };
  const canvas = { width: 0, height: 0, className: "", style: {} as Record<string, string>, getContext: () => ctx };
  return { canvas: canvas as unknown as HTMLCanvasElement, calls };
}

/** A chart's plot at x 70–470 device pixels for times 0–400 s, and y 10–210 for values 100–0. */
function chart(times: number[], ratio = 1) {
  return {
    data: [times],
    bbox: { left: 70 * ratio, top: 10 * ratio, width: 400 * ratio, height: 200 * ratio },
    series: [{}, { show: true, width: 1 }, { show: false, width: 1 }],
    valToPos: (v: number, scale: string, device = false) => {
      const css = scale === "x" ? v : 200 - 2 * v;
      return device ? (css + (scale === "x" ? 70 : 10)) * ratio : css;
    },
  } as unknown as uPlot;
}

describe("Tip", () => {
  beforeEach(() => {
    uPlot.pxRatio = 1;
  });

  it("ends the series' paths at its start", () => {
    const tip = new Tip(recorder().canvas);
    tip.start([0, 30, 60, 61], 1, false);
    expect(tip.from).toBe(60);
    const seen: number[][] = [];
    const paths = tip.paths((_u, _s, i0, i1) => (seen.push([i0, i1]), null));
    const u = chart([0, 30, 60, 61, 62]);
    paths(u, 1, 0, 4);
    paths(u, 1, 3, 4);
    expect(seen).toEqual([[0, 2], [3, 3]]);
  });

  it("starts before the newest point unless the chart draws dots or a step is wider than it", () => {
    const tip = new Tip(recorder().canvas);
    tip.start([0, 30, 60], 0.5, false);
    expect(tip.from).toBe(30);
    tip.start([0, 30, 60], 0.5, true);
    expect(tip.from).toBe(Infinity);
    tip.start([0, 30, 60], 1, false); // 30 px: more than the tip holds
    expect(tip.from).toBe(Infinity);
    tip.start([60], 0.5, false);
    expect(tip.from).toBe(Infinity);
  });

  it("fits the points after its start while they span no more than it", () => {
    const tip = new Tip(recorder().canvas);
    tip.start([0, 30, 31], 0.5, false);
    // 32 px less 6 on each side for the widest line.
    expect(tip.fits(chart([]), [0, 30, 50])).toBe(true);
    expect(tip.fits(chart([]), [0, 30, 51])).toBe(false);
    tip.start([0, 30, 31], 0.5, true);
    expect(tip.fits(chart([]), [0, 30, 31])).toBe(false);
  });

  it("draws each shown series from its start to the newest point on whole pixels, lifting the pen at a gap", () => {
    const { canvas, calls } = recorder();
    const tip = new Tip(canvas);
    const times = [0, 30.2, 40.6, 50.5];
    tip.start([0, 30.2, 31], 0.5, false);
    tip.draw(chart(times), times, [[1, 10.3, null, 20], [5, 5, 5, 5]], ["red", "blue"]);
    // The canvas starts 6 px left of the start's pixel; the line's odd width puts it on pixel centres.
    expect(canvas.style.transform).toBe("translateX(24px)");
    expect(canvas.width).toBe(32);
    expect(canvas.height).toBe(200);
    expect(calls).toEqual(["clear", "begin", "move 6.5 179.5", "move 27.5 160.5", "stroke"]);
  });

  it("draws on device pixels on a high-density screen", () => {
    uPlot.pxRatio = 2;
    const { canvas, calls } = recorder();
    const tip = new Tip(canvas);
    const times = [0, 30, 31];
    tip.start(times, 0.5, false);
    tip.draw(chart(times, 2), times, [[0, 50, 60], [0, 0, 0]], ["red", "blue"]);
    expect(canvas.width).toBe(64);
    expect(canvas.style.width).toBe("32px");
    // Width 2 device px: no half-pixel offset.
    expect(calls).toEqual(["clear", "begin", "move 12 200", "line 14 160", "stroke"]);
  });

  it("draws no line of no width, as uPlot does not (doStroke in uPlot.esm.js)", () => {
    const { canvas, calls } = recorder();
    const tip = new Tip(canvas);
    const times = [0, 30, 31];
    tip.start(times, 0.5, false);
    const u = chart(times);
    u.series[1].width = 0;
    tip.draw(u, times, [[0, 50, 60], [0, 0, 0]], ["red", "blue"]);
    expect(calls).toEqual(["clear"]);
  });

  it("leaves an empty canvas alone, and clears one it drew on", () => {
    const { canvas, calls } = recorder();
    const tip = new Tip(canvas);
    const times = [0, 30, 31];
    tip.start(times, 0.5, true);
    tip.draw(chart(times), times, [[0, 1, 2]], ["red"]);
    expect(calls).toEqual([]);
    tip.start(times, 0.5, false);
    tip.draw(chart(times), times, [[0, 1, 2]], ["red"]);
    tip.start(times, 0.5, true);
    tip.draw(chart(times), times, [[0, 1, 2]], ["red"]);
    expect(calls.at(-1)).toBe("clear");
  });
});
