import { describe, expect, it, vi } from "vitest";
import { FrameScheduler } from "./frame";

/** A scheduler whose frames come when the test says. */
function manual() {
  const waiting: (() => void)[] = [];
  const s = new FrameScheduler((run) => waiting.push(run));
  const frame = () => waiting.splice(0).forEach((run) => run());
  return { s, frame, requested: () => waiting.length };
}

describe("FrameScheduler", () => {
  it("runs each key's latest job once at the next frame, with one frame asked for", () => {
    const { s, frame, requested } = manual();
    const a = {};
    const b = {};
    const ran: string[] = [];
    for (let i = 0; i < 5; i++) s.schedule(a, () => ran.push(`a${i}`));
    s.schedule(b, () => ran.push("b"));
    expect(requested()).toBe(1);
    expect(ran).toEqual([]);
    frame();
    expect(ran).toEqual(["a4", "b"]);
    frame();
    expect(ran).toEqual(["a4", "b"]);
  });

  it("asks for another frame for what is scheduled during one", () => {
    const { s, frame, requested } = manual();
    const key = {};
    const ran: number[] = [];
    s.schedule(key, () => {
      ran.push(1);
      s.schedule(key, () => ran.push(2));
    });
    frame();
    expect(ran).toEqual([1]);
    expect(requested()).toBe(1);
    frame();
    expect(ran).toEqual([1, 2]);
  });

  it("forgets a cancelled job", () => {
    const { s, frame } = manual();
    const key = {};
    const job = vi.fn();
    s.schedule(key, job);
    s.cancel(key);
    frame();
    expect(job).not.toHaveBeenCalled();
  });

  it("runs the other jobs when one throws", () => {
    const { s, frame } = manual();
    const after = vi.fn();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    s.schedule({}, () => {
      throw new Error("broken panel");
    });
    s.schedule({}, after);
    frame();
    expect(after).toHaveBeenCalledOnce();
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });
});
