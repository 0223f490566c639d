import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  applyPeer, crosshairsOf, cursorHideAfter, expirePeers, namePeers, parsePeer, PeerNames, peerGoneAfter, presenceChanged, throttle,
  type PeerState, type Viewer,
} from "./collab";

describe("parsePeer", () => {
  it("reads what viewers send", () => {
    expect(parsePeer({ type: "hello" })).toEqual({ type: "hello" });
    expect(parsePeer({ type: "bye", extra: 1 })).toEqual({ type: "bye" });
    expect(parsePeer({ type: "presence", active: true, range: { from: "now-1h", to: "now" }, scroll: 0.5 })).toEqual({
      type: "presence", active: true, range: { from: "now-1h", to: "now" }, scroll: 0.5,
    });
    expect(parsePeer({ type: "cursor", panel: 2, fx: 0.25, fy: 0.75, time: 1000 })).toEqual({ type: "cursor", panel: 2, fx: 0.25, fy: 0.75, time: 1000 });
    expect(parsePeer({ type: "cursor", panel: 2, fx: 0.25, fy: 0.75 })).toEqual({ type: "cursor", panel: 2, fx: 0.25, fy: 0.75 });
  });

  it("keeps fractions within the page and texts short", () => {
    expect(parsePeer({ type: "cursor", panel: 1, fx: -3, fy: 7 })).toMatchObject({ fx: 0, fy: 1 });
    const long = "x".repeat(1000);
    const p = parsePeer({ type: "presence", active: false, range: { from: long, to: "now" }, scroll: 2 });
    expect(p).toMatchObject({ range: { from: "x".repeat(64) }, scroll: 1 });
  });

  it.each([
    { type: "nope" },
    {},
    { type: "presence", active: "yes", range: { from: "a", to: "b" }, scroll: 0 },
    { type: "presence", active: true, range: null, scroll: 0 },
    { type: "presence", active: true, range: { from: 1, to: "b" }, scroll: 0 },
    { type: "presence", active: true, range: { from: "a", to: "b" }, scroll: NaN },
    { type: "cursor", panel: 1.5, fx: 0, fy: 0 },
    { type: "cursor", panel: "1", fx: 0, fy: 0 },
    { type: "cursor", panel: 1, fx: Infinity, fy: 0 },
  ])("drops %j", (m) => {
    expect(parsePeer(m as Record<string, unknown>)).toBeNull();
  });

  it("keeps a finger's touch mark only when it is exactly true", () => {
    expect(parsePeer({ type: "cursor", panel: 1, fx: 0, fy: 0, time: 5, touch: true })).toEqual({ type: "cursor", panel: 1, fx: 0, fy: 0, time: 5, touch: true });
    expect(parsePeer({ type: "cursor", panel: 1, fx: 0, fy: 0, touch: "yes" })).not.toHaveProperty("touch");
  });

  it("drops a crosshair time that is no number", () => {
    expect(parsePeer({ type: "cursor", panel: 1, fx: 0, fy: 0, time: "soon" })).not.toHaveProperty("time");
  });
});

describe("applyPeer", () => {
  const empty = new Map<string, PeerState>();

  it("shows a newcomer by user id, then follows what it says", () => {
    let peers = applyPeer(empty, "u1", { type: "hello" }, 100);
    expect(peers.get("u1")).toMatchObject({ userId: "u1", name: "u1", active: true, seen: 100 });
    peers = applyPeer(peers, "u1", { type: "presence", active: false, range: { from: "now-1h", to: "now" }, scroll: 0.5 }, 200);
    expect(peers.get("u1")).toMatchObject({ active: false, range: { from: "now-1h", to: "now" }, scroll: 0.5, seen: 200 });
    peers = applyPeer(peers, "u1", { type: "cursor", panel: 3, fx: 0.1, fy: 0.2, time: 5000 }, 300);
    expect(peers.get("u1")).toMatchObject({ active: true, cursor: { panel: 3, fx: 0.1, fy: 0.2, at: 300 }, crosshair: { time: 5000, at: 300 } });
    peers = applyPeer(peers, "u1", { type: "cursor", panel: 3, fx: 0.1, fy: 0.2 }, 350);
    expect(peers.get("u1")?.crosshair).toBeUndefined();
    peers = applyPeer(peers, "u1", { type: "cursor", panel: 3, fx: 0.1, fy: 0.2, time: 6000, touch: true }, 360);
    expect(peers.get("u1")).toMatchObject({ cursor: { touch: true }, crosshair: { time: 6000 } });
    peers = applyPeer(peers, "u1", { type: "cursor", panel: 3, fx: 0.1, fy: 0.2 }, 370);
    expect(peers.get("u1")?.cursor).not.toHaveProperty("touch");
    peers = applyPeer(peers, "u1", { type: "cursor-out" }, 400);
    expect(peers.get("u1")?.cursor).toBeUndefined();
    expect(applyPeer(peers, "u1", { type: "bye" }, 500).has("u1")).toBe(false);
  });

  it("never changes the map it is given", () => {
    applyPeer(empty, "u1", { type: "hello" }, 1);
    expect(empty.size).toBe(0);
  });
});

describe("namePeers", () => {
  it("names the peers the server knows and keeps the map when nothing changes", () => {
    const peers = applyPeer(applyPeer(new Map(), "u1", { type: "hello" }, 0), "u2", { type: "hello" }, 0);
    const named = namePeers(peers, new Map([["u1", "Ada"]]));
    expect(named.get("u1")?.name).toBe("Ada");
    expect(named.get("u2")?.name).toBe("u2");
    expect(namePeers(named, new Map([["u1", "Ada"]]))).toBe(named);
  });
});

describe("expirePeers", () => {
  it("drops silent viewers and stale pointers", () => {
    let peers = applyPeer(new Map(), "gone", { type: "hello" }, 0);
    peers = applyPeer(peers, "still", { type: "cursor", panel: 1, fx: 0, fy: 0, time: 9 }, 0);
    peers = applyPeer(peers, "still", { type: "presence", active: true, range: { from: "a", to: "b" }, scroll: 0 }, cursorHideAfter);
    expect(expirePeers(peers, 1)).toBe(peers);
    const next = expirePeers(peers, peerGoneAfter + 1);
    expect(next.has("gone")).toBe(false);
    expect(next.get("still")?.cursor).toBeDefined();
    const later = expirePeers(next, cursorHideAfter + 1);
    expect(later.get("still")).toMatchObject({ cursor: undefined, crosshair: undefined });
  });
});

describe("PeerNames", () => {
  /** server answers each load when the test says so. */
  function server() {
    const calls: ((v: Viewer[]) => void)[] = [];
    const load = () => new Promise<Viewer[]>((resolve) => calls.push(resolve));
    return { calls, load };
  }

  it("asks once at a time, once more for those who came meanwhile, never twice for one", async () => {
    const s = server();
    const named: Map<string, string>[] = [];
    const names = new PeerNames(s.load, (n) => named.push(new Map(n)));
    names.need("u1");
    names.need("u2");
    names.need("u3");
    names.need("u1");
    expect(s.calls.length).toBe(1);
    s.calls[0]([{ userId: "u1", name: "Ada" }]);
    await vi.waitFor(() => expect(s.calls.length).toBe(2));
    s.calls[1]([{ userId: "u1", name: "Ada" }, { userId: "u2", name: "Bob" }]);
    await vi.waitFor(() => expect(named.length).toBe(2));
    expect(named[1]).toEqual(new Map([["u1", "Ada"], ["u2", "Bob"]]));
    names.need("u2");
    expect(s.calls.length).toBe(2);
  });

  it("keeps user ids when the server cannot answer, and asks again for a newcomer", async () => {
    let n = 0;
    const names = new PeerNames(() => (++n === 1 ? Promise.reject(new Error("down")) : Promise.resolve([{ userId: "u2", name: "Bob" }])), () => {});
    names.need("u1");
    await vi.waitFor(() => expect(n).toBe(1));
    names.need("u2");
    await vi.waitFor(() => expect(names.names.get("u2")).toBe("Bob"));
  });

  it("asks again about a viewer whose request failed, at its next message", async () => {
    const s = server();
    let fail = true;
    const names = new PeerNames(() => (fail ? Promise.reject(new Error("busy")) : s.load()), () => {});
    names.need("u1");
    fail = false;
    // u1's next message, once the failed request is done, asks again.
    await vi.waitFor(() => {
      names.need("u1");
      expect(s.calls.length).toBe(1);
    });
    s.calls[0]([{ userId: "u1", name: "Ada" }]);
    await vi.waitFor(() => expect(names.names.get("u1")).toBe("Ada"));
    names.need("u1");
    expect(s.calls.length).toBe(1);
  });
});

describe("throttle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("calls at once, then at most once per interval with the latest arguments", () => {
    const calls: number[] = [];
    const f = throttle((n: number) => calls.push(n), 100);
    f(1);
    f(2);
    f(3);
    expect(calls).toEqual([1]);
    vi.advanceTimersByTime(99);
    expect(calls).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([1, 3]);
    vi.advanceTimersByTime(100);
    f(4);
    expect(calls).toEqual([1, 3, 4]);
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual([1, 3, 4]);
  });
});

describe("presenceChanged", () => {
  const hello = applyPeer(new Map(), "ada", { type: "hello" }, 1000);

  it("is false for what only the pointers show", () => {
    const pointing = applyPeer(hello, "ada", { type: "cursor", panel: 1, fx: 0.5, fy: 0.5, time: 5000 }, 1100);
    const moved = applyPeer(pointing, "ada", { type: "cursor", panel: 2, fx: 0.1, fy: 0.9 }, 1200);
    expect(presenceChanged(hello, pointing)).toBe(false);
    expect(presenceChanged(pointing, moved)).toBe(false);
    expect(presenceChanged(moved, applyPeer(moved, "ada", { type: "cursor-out" }, 1300))).toBe(false);
  });

  it("is true for a newcomer, a name, activity, range and scroll, and one who left", () => {
    expect(presenceChanged(new Map(), hello)).toBe(true);
    expect(presenceChanged(hello, namePeers(hello, new Map([["ada", "Ada Lovelace"]])))).toBe(true);
    const presence = { type: "presence", active: true, range: { from: "now-1h", to: "now" }, scroll: 0 } as const;
    const present = applyPeer(hello, "ada", presence, 1100);
    expect(presenceChanged(hello, present)).toBe(true);
    expect(presenceChanged(present, applyPeer(present, "ada", { ...presence, active: false }, 1200))).toBe(true);
    expect(presenceChanged(present, applyPeer(present, "ada", { ...presence, range: { from: "now-6h", to: "now" } }, 1200))).toBe(true);
    expect(presenceChanged(present, applyPeer(present, "ada", { ...presence, scroll: 0.5 }, 1200))).toBe(true);
    expect(presenceChanged(present, applyPeer(present, "ada", presence, 1300))).toBe(false);
    expect(presenceChanged(present, applyPeer(present, "ada", { type: "bye" }, 1300))).toBe(true);
  });
});

describe("crosshairsOf", () => {
  it("lists the crosshairs of those whose pointer is on a chart, in their colour", () => {
    let peers = applyPeer(new Map(), "ada", { type: "cursor", panel: 1, fx: 0.5, fy: 0.5, time: 5000 }, 1000);
    peers = applyPeer(peers, "bob", { type: "cursor", panel: 1, fx: 0.5, fy: 0.5 }, 1000);
    expect(crosshairsOf(peers)).toEqual([{ time: 5000, color: peers.get("ada")!.color }]);
  });
});
