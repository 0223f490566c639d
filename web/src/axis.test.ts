import uPlot from "uplot";
import { describe, expect, it } from "vitest";
import { fitAxis } from "./axis";

// What Grafana's time series panel does with a linear axis and the panel's min and max
// (UPlotScaleBuilder.getConfig in grafana/grafana,
// packages/grafana-ui/src/components/uPlot/config/UPlotScaleBuilder.ts).
describe("fitAxis", () => {
  it("without limits is uPlot's default: the extremes padded by a tenth and rounded out", () => {
    expect(fitAxis(3, 97, [], {})).toEqual(uPlot.rangeNum(3, 97, 0.1, true));
    expect(fitAxis(0.2, 0.9, [], {})).toEqual(uPlot.rangeNum(0.2, 0.9, 0.1, true));
    expect(fitAxis(null, null, [], {})).toEqual([null, null]);
  });

  it("with min and max is exactly min to max, whatever the data", () => {
    expect(fitAxis(20, 30, [], { min: 0, max: 100 })).toEqual([0, 100]);
    expect(fitAxis(-5, 130, [], { min: 0, max: 100 })).toEqual([0, 100]);
    expect(fitAxis(null, null, [], { min: 0, max: 100 })).toEqual([0, 100]);
  });

  it("with one limit ends there, and pads the other end as without", () => {
    const [lo, hi] = fitAxis(20, 30, [], { min: 0 });
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(30);
    const [lo2, hi2] = fitAxis(20, 30, [], { max: 100 });
    expect(hi2).toBe(100);
    expect(lo2).toBeLessThan(20);
    // Without data, one limit makes no axis.
    expect(fitAxis(null, null, [], { min: 0 })).toEqual([null, null]);
  });

  it("reaches the thresholds, but not past a limit", () => {
    expect(fitAxis(10, 20, [80], {})[1]).toBeGreaterThanOrEqual(80);
    expect(fitAxis(null, null, [80], {})).toEqual(uPlot.rangeNum(80, 80, 0.1, true));
    expect(fitAxis(10, 20, [150], { max: 100 })).toEqual([expect.any(Number), 100]);
  });

  it("shows 0 to 100 when the data lie wholly past a limit, as Grafana's guard does", () => {
    expect(fitAxis(150, 160, [], { max: 100 })).toEqual([0, 100]);
  });

  // Answers of Grafana's own range function (@grafana/ui 13.2.3) for these inputs.
  it("stretches an axis a limit squeezed to one value from zero to twice it", () => {
    expect(fitAxis(1, 91, [], { min: 100, softMin: 3.7 })).toEqual([0, 200]);
    expect(fitAxis(1e6, 1e6, [], { max: 1, softMin: 1 })).toEqual([0, 2]);
  });
});

describe("fitAxis with soft limits", () => {
  it("reaches the soft min and max at least, and further with the data", () => {
    const [lo, hi] = fitAxis(10, 20, [], { softMin: 0, softMax: 100 });
    expect(lo).toBeLessThanOrEqual(0);
    expect(hi).toBeGreaterThanOrEqual(100);
    const [lo2, hi2] = fitAxis(-30, 150, [], { softMin: 0, softMax: 100 });
    expect(lo2).toBeLessThanOrEqual(-30);
    expect(hi2).toBeGreaterThanOrEqual(150);
  });

  it("keeps a limit on the side of a soft one as a bound, not as the end", () => {
    // Soft max 100 and max 120: data up to 20 reach 100, data up to 200 stop at 120.
    expect(fitAxis(10, 20, [], { softMax: 100, max: 120 })[1]).toBeGreaterThanOrEqual(100);
    expect(fitAxis(10, 200, [], { softMax: 100, max: 120 })[1]).toBeLessThanOrEqual(120);
    // Without data a soft limit makes no axis.
    expect(fitAxis(null, null, [], { softMin: 0, softMax: 100 })).toEqual([null, null]);
  });
});
