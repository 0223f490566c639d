// Presence, cursors, crosshair and follow mode, carried as ephemeral messages on the dashboard's
// collaboration group. The server may drop any of them for a viewer that lags behind and does not
// resend them after a reconnect, so nothing waits for one to arrive: presence is repeated, and
// pointers and viewers not heard from for a while fade. Nothing here is stored: a newcomer says
// hello and the others answer with their state. A viewer is known by the user id the hub stamps
// on its messages and named by the server (PeerNames), never by what its messages say.
import { personColor } from "./colors";
import type { TimeRange } from "./model";

export interface PeerState {
  userId: string;
  name: string;
  color: string;
  active: boolean;
  range?: TimeRange;
  scroll?: number; // fraction of the page scrolled
  /** touch marks a pointer of a finger on a touch screen: it has no arrow to draw, only its
   * crosshair and presence. */
  cursor?: { panel: number; fx: number; fy: number; at: number; touch?: boolean };
  crosshair?: { time: number; at: number };
  seen: number;
}

export type PeerMessage =
  | { type: "hello" }
  | { type: "presence"; active: boolean; range: TimeRange; scroll: number }
  | { type: "cursor"; panel: number; fx: number; fy: number; time?: number; touch?: boolean }
  | { type: "cursor-out" }
  | { type: "bye" };

/** Timings of the shared pointer, as people expect from collaborative editors. */
export const cursorInterval = 50; // at most 20 updates a second
export const cursorDimAfter = 3_000;
export const cursorHideAfter = 60_000;
export const presenceEvery = 10_000;
export const peerGoneAfter = 35_000;
export const idleAfter = 60_000;

function text(v: unknown, max: number): string | null {
  return typeof v === "string" ? v.slice(0, max) : null;
}

function fraction(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : null;
}

/** parsePeer reads a message another viewer sent, or returns null for one this page cannot use.
 * Anyone with the dashboard open can send anything to its collaboration group, so nothing is
 * trusted: a malformed message is dropped instead of breaking every other viewer's page. */
export function parsePeer(data: Record<string, unknown>): PeerMessage | null {
  switch (data.type) {
    case "hello":
      return { type: "hello" };
    case "presence": {
      const r = data.range as Record<string, unknown> | null;
      const from = text(r?.from, 64);
      const to = text(r?.to, 64);
      const scroll = fraction(data.scroll);
      if (from === null || to === null || scroll === null || typeof data.active !== "boolean") return null;
      return { type: "presence", active: data.active, range: { from, to }, scroll };
    }
    case "cursor": {
      const fx = fraction(data.fx);
      const fy = fraction(data.fy);
      if (typeof data.panel !== "number" || !Number.isSafeInteger(data.panel) || fx === null || fy === null) return null;
      const time = typeof data.time === "number" && Number.isFinite(data.time) ? data.time : undefined;
      return { type: "cursor", panel: data.panel, fx, fy, ...(time !== undefined ? { time } : {}), ...(data.touch === true ? { touch: true } : {}) };
    }
    case "cursor-out":
    case "bye":
      return { type: data.type };
  }
  return null;
}

/** applyPeer folds one message from userId into peers and returns the new map. A newcomer is
 * shown by its user id until the server names it (namePeers). */
export function applyPeer(peers: Map<string, PeerState>, userId: string, msg: PeerMessage, now: number): Map<string, PeerState> {
  const next = new Map(peers);
  if (msg.type === "bye") {
    next.delete(userId);
    return next;
  }
  const prev: PeerState = peers.get(userId) ?? { userId, name: userId, color: personColor(userId), active: true, seen: now };
  const p: PeerState = { ...prev, seen: now };
  switch (msg.type) {
    case "hello":
      break;
    case "presence":
      p.active = msg.active;
      p.range = msg.range;
      p.scroll = msg.scroll;
      break;
    case "cursor":
      p.active = true;
      p.cursor = { panel: msg.panel, fx: msg.fx, fy: msg.fy, at: now, ...(msg.touch ? { touch: true } : {}) };
      p.crosshair = msg.time === undefined ? undefined : { time: msg.time, at: now };
      break;
    case "cursor-out":
      p.cursor = undefined;
      p.crosshair = undefined;
      break;
  }
  next.set(userId, p);
  return next;
}

/** Crosshair is another viewer's crosshair: the time under their pointer on a chart. */
export interface Crosshair {
  time: number; // ms
  color: string;
}

/** crosshairsOf lists the crosshairs of the viewers pointing at a chart. */
export function crosshairsOf(peers: Map<string, PeerState>): Crosshair[] {
  const out: Crosshair[] = [];
  for (const p of peers.values()) if (p.crosshair) out.push({ time: p.crosshair.time, color: p.color });
  return out;
}

export function sameCrosshairs(a: Crosshair[], b: Crosshair[]): boolean {
  return a.length === b.length && a.every((c, i) => c.time === b[i].time && c.color === b[i].color);
}

/** presenceChanged tells whether next differs from prev in what the page renders of the other
 * viewers (who they are, their names, activity, range and scroll), as opposed to what only their
 * pointers show, which changes many times a second while someone points. */
export function presenceChanged(prev: Map<string, PeerState>, next: Map<string, PeerState>): boolean {
  if (prev.size !== next.size) return true;
  for (const [id, n] of next) {
    const p = prev.get(id);
    if (!p) return true;
    if (p.name !== n.name || p.color !== n.color || p.active !== n.active || p.scroll !== n.scroll) return true;
    if (p.range?.from !== n.range?.from || p.range?.to !== n.range?.to) return true;
  }
  return false;
}

/** Viewer is a person on the dashboard as the server names them (GET /api/dashboards/<uid>/viewers). */
export interface Viewer {
  userId: string;
  name: string;
}

/** namePeers gives each peer the name the server knows it by, returning peers when none changes. */
export function namePeers(peers: Map<string, PeerState>, names: Map<string, string>): Map<string, PeerState> {
  let changed = false;
  const next = new Map<string, PeerState>();
  for (const [id, p] of peers) {
    const name = names.get(id);
    if (name !== undefined && name !== p.name) {
      next.set(id, { ...p, name });
      changed = true;
    } else next.set(id, p);
  }
  return changed ? next : peers;
}

/** PeerNames asks the server for the names of the people on the dashboard when a viewer it has
 * not asked about appears: one request at a time, and at most one more for those who appeared
 * meanwhile. A viewer the server does not list (on another node, or gone) keeps its user id; one
 * whose request failed is asked about again at its next message. */
export class PeerNames {
  readonly names = new Map<string, string>();
  private asked = new Set<string>();
  /** waiting: asked about, not yet in a request that answered. */
  private waiting = new Set<string>();
  private busy = false;
  private again = false;

  constructor(
    private load: () => Promise<Viewer[]>,
    private named: (names: Map<string, string>) => void,
  ) {}

  need(userId: string) {
    if (this.asked.has(userId)) return;
    this.asked.add(userId);
    this.waiting.add(userId);
    if (this.busy) this.again = true;
    else void this.ask();
  }

  private async ask() {
    this.busy = true;
    const round = this.waiting;
    this.waiting = new Set();
    try {
      for (const v of await this.load()) this.names.set(v.userId, v.name);
      this.named(this.names);
    } catch {
      // The names stay user ids until these viewers are heard from again.
      for (const id of round) this.asked.delete(id);
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        void this.ask();
      }
    }
  }
}

/** expirePeers drops viewers not heard from and forgets stale pointers. */
export function expirePeers(peers: Map<string, PeerState>, now: number): Map<string, PeerState> {
  let changed = false;
  const next = new Map<string, PeerState>();
  for (const [id, p] of peers) {
    if (now - p.seen > peerGoneAfter) {
      changed = true;
      continue;
    }
    if (p.cursor && now - p.cursor.at > cursorHideAfter) {
      next.set(id, { ...p, cursor: undefined, crosshair: undefined });
      changed = true;
      continue;
    }
    next.set(id, p);
  }
  return changed ? next : peers;
}

/** throttle calls fn at most once per interval with the latest arguments, trailing included. */
export function throttle<A extends unknown[]>(fn: (...a: A) => void, interval: number): (...a: A) => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: A | undefined;
  return (...a: A) => {
    const now = Date.now();
    pending = a;
    if (now - last >= interval) {
      last = now;
      pending = undefined;
      fn(...a);
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        if (pending) fn(...pending);
        pending = undefined;
      }, interval - (now - last));
    }
  };
}
