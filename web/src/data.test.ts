import { describe, expect, it, vi } from "vitest";
import { PanelData, type Answer } from "./data";

const instant = (value: string, labels: Record<string, string> = { job: "a" }): Map<string, Answer> =>
  new Map([["A", { result: [{ metric: labels, value: [0, value] }] }]]);

function history(times: number[]): PanelData {
  const d = new PanelData();
  d.reset(new Map([["A", { result: [{ metric: { job: "a" }, values: times.map((t): [number, string] => [t, String(t)]) }] }]]));
  return d;
}

describe("PanelData add and trim", () => {
  it("appends a newer point to the same arrays", () => {
    const d = history([10, 20, 30]);
    const [times, values] = [d.times, d.values[0]];
    d.add(40, instant("4"));
    expect(d.times).toBe(times);
    expect(d.values[0]).toBe(values);
    expect(d.times).toEqual([10, 20, 30, 40]);
    expect(d.values[0]).toEqual([10, 20, 30, 4]);
  });

  it("replaces a point at a time it has, and puts an older one in order", () => {
    const d = history([10, 20, 30]);
    d.add(30, instant("3"));
    d.add(20, instant("2"));
    d.add(15, instant("1.5"));
    d.add(5, instant("0.5"));
    expect(d.times).toEqual([5, 10, 15, 20, 30]);
    expect(d.values[0]).toEqual([0.5, 10, 1.5, 2, 3]);
  });

  it("gives a new series nulls before its first point, and the others a null at its time", () => {
    const d = history([10, 20]);
    d.add(30, instant("7", { job: "b" }));
    expect(d.series.map((s) => s.labels.job)).toEqual(["a", "b"]);
    expect(d.values).toEqual([
      [10, 20, null],
      [null, null, 7],
    ]);
  });

  it("trims the points before the range, in place", () => {
    const d = history([10, 20, 30, 40]);
    const times = d.times;
    d.trim(25);
    expect(d.times).toBe(times);
    expect(d.times).toEqual([30, 40]);
    expect(d.values[0]).toEqual([30, 40]);
    d.trim(25);
    expect(d.times).toEqual([30, 40]);
    d.trim(100);
    expect(d.times).toEqual([]);
    expect(d.values[0]).toEqual([]);
  });

  it("tells its subscribers of a change until they leave", () => {
    const d = history([10]);
    const heard = vi.fn();
    const leave = d.subscribe(heard);
    d.add(20, instant("2"));
    d.changed();
    expect(heard).toHaveBeenCalledOnce();
    leave();
    d.changed();
    expect(heard).toHaveBeenCalledOnce();
  });
});
