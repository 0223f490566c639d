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

  it("keeps one pushed point per step of the history, the first in it, and the newest", () => {
    // History on a 30 s grid up to 60, then a push every second until 125.
    const d = history([0, 30, 60]);
    for (let t = 61; t <= 125; t++) d.add(t, instant(String(t)), 30);
    expect(d.times).toEqual([0, 30, 60, 90, 120, 125]);
    expect(d.values[0]).toEqual([0, 30, 60, 90, 120, 125]);
    // As many points after an hour of pushes as a load of the same range would hold.
    for (let t = 126; t <= 3725; t++) d.add(t, instant(String(t)), 30);
    expect(d.times.length).toBe(3720 / 30 + 2); // 0, 30, …, 3720 and 3725
    expect(d.times.slice(-3)).toEqual([3690, 3720, 3725]);
  });

  it("clears a replaced newest point's series that the newer push does not have", () => {
    const d = history([0]);
    d.add(1, new Map([["A", { result: [{ metric: { job: "a" }, value: [1, "1"] }, { metric: { job: "b" }, value: [1, "9"] }] }]]), 30);
    d.add(2, instant("2"), 30);
    expect(d.times).toEqual([0, 2]);
    expect(d.values).toEqual([
      [0, 2],
      [null, null],
    ]);
  });

  it("keeps every push a step or more apart", () => {
    const d = history([0, 15]);
    for (const t of [30, 45, 60]) d.add(t, instant(String(t)), 15);
    expect(d.times).toEqual([0, 15, 30, 45, 60]);
  });

  it("tells its subscribers of a change, from the oldest point it touched, until they leave", () => {
    const d = history([10, 20]);
    const heard = vi.fn();
    const leave = d.subscribe(heard);
    d.add(30, instant("3"));
    d.add(15, instant("1.5"));
    d.changed();
    expect(heard).toHaveBeenCalledExactlyOnceWith(15);
    // A replaced newest point counts from its old time: 31 replaces 30 in its minute, 32 31.
    d.add(31, instant("3.1"), 60);
    d.add(32, instant("3.2"), 60);
    d.changed();
    expect(d.times).toEqual([10, 15, 20, 32]);
    expect(heard).toHaveBeenLastCalledWith(30);
    d.trim(12);
    d.changed();
    expect(heard).toHaveBeenLastCalledWith(Infinity);
    heard.mockClear();
    leave();
    d.changed();
    expect(heard).not.toHaveBeenCalled();
  });
});
