// usePeers keeps the other viewers of the dashboard (named by the server, gone when silent) and
// tells them where this one is: its presence (range, scroll, activity) and its pointer.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { RefObject } from "preact";
import { api } from "./api";
import type { Hub } from "./hub";
import type { TimeRange } from "./model";
import {
  applyPeer, cursorInterval, expirePeers, idleAfter, namePeers, parsePeer, PeerNames, presenceChanged, presenceEvery, throttle,
  type PeerMessage, type PeerState, type Viewer,
} from "./collab";
import { useLatest } from "./latest";
import { Store } from "./store";

/** usePeers returns peers, the other viewers as the page renders them (rendered again only when
 * their presence changes), and pointers, the same viewers with their latest pointer and
 * crosshair, which the pointers' and charts' overlays subscribe to and draw themselves. */
export function usePeers(uid: string, hub: RefObject<Hub | null>, timeRange: TimeRange | null) {
  const pointers = useMemo(() => new Store<Map<string, PeerState>>(new Map()), []);
  const [peers, setPeers] = useState(pointers.value);
  const timeRef = useLatest(timeRange);
  const lastActivity = useRef(Date.now());

  const update = useCallback(
    (change: (p: Map<string, PeerState>) => Map<string, PeerState>) => {
      const prev = pointers.value;
      const next = change(prev);
      if (next === prev) return;
      pointers.set(next);
      if (presenceChanged(prev, next)) setPeers(next);
    },
    [pointers],
  );

  const names = useMemo(
    () =>
      new PeerNames(
        () => api<Viewer[]>("GET", `/api/dashboards/${encodeURIComponent(uid)}/viewers`),
        (n) => update((p) => namePeers(p, n)),
      ),
    [uid, update],
  );

  const sendPresence = useCallback(() => {
    const h = hub.current;
    const tr = timeRef.current;
    if (!h || !h.me || !tr) return;
    const scrollable = document.documentElement.scrollHeight - innerHeight;
    h.send({ type: "presence", active: Date.now() - lastActivity.current < idleAfter, range: tr, scroll: scrollable > 0 ? scrollY / scrollable : 0 });
  }, [hub, timeRef]);

  /** onPeer applies a message of another viewer; a newcomer's hello is answered with presence. */
  const onPeer = useCallback((m: Record<string, unknown>, from: string) => {
    const msg = parsePeer(m);
    if (!msg) return;
    if (msg.type === "hello") sendPresence();
    update((p) => namePeers(applyPeer(p, from, msg, Date.now()), names.names));
    names.need(from);
  }, [names, sendPresence, update]);

  // Presence heartbeat, and expiry of silent viewers.
  useEffect(() => {
    const t = setInterval(() => {
      sendPresence();
      update((p) => expirePeers(p, Date.now()));
    }, presenceEvery);
    const fast = setInterval(() => update((p) => expirePeers(p, Date.now())), 1000);
    return () => {
      clearInterval(t);
      clearInterval(fast);
    };
  }, [sendPresence, update]);
  const from = timeRange?.from;
  const to = timeRange?.to;
  useEffect(() => sendPresence(), [from, to, sendPresence]);

  // Own activity, for the others to see this viewer idle or not, and scroll, for followers.
  useEffect(() => {
    const active = () => (lastActivity.current = Date.now());
    const scrolled = throttle(sendPresence, 500);
    const events = ["mousedown", "keydown", "wheel", "touchstart", "mousemove"];
    events.forEach((e) => addEventListener(e, active, { passive: true }));
    addEventListener("scroll", scrolled, { passive: true });
    return () => {
      events.forEach((e) => removeEventListener(e, active));
      removeEventListener("scroll", scrolled);
    };
  }, [sendPresence]);

  const sendCursor = useMemo(
    () => throttle((msg: PeerMessage) => hub.current?.send(msg as unknown as Record<string, unknown>), cursorInterval),
    [hub],
  );

  return { peers, pointers, onPeer, sendPresence, sendCursor };
}
