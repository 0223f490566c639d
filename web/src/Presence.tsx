import { memo } from "preact/compat";
import { useEffect, useState } from "preact/hooks";
import type { RefObject } from "preact";
import { cursorDimAfter, type PeerState } from "./collab";
import { initials, personColor } from "./colors";
import { frames } from "./frame";
import type { Negotiated } from "./hub";
import type { Store } from "./store";

interface PresenceProps {
  peers: Map<string, PeerState>;
  me: Negotiated | null;
  following: string | null;
  onFollow(userId: string): void;
}

/** Presence shows who is on the dashboard: you first, then the others; click one to follow. */
export function Presence({ peers, me, following, onFollow }: PresenceProps) {
  const others = [...peers.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <div class="presence" aria-label="People on this dashboard">
      {me && (
        <span class="avatar" style={{ background: personColor(me.userId) }} title={`${me.name} (you)`} data-user={me.userId}>
          {initials(me.name)}
        </span>
      )}
      {others.map((p) => (
        <button
          key={p.userId}
          class={`avatar ${p.active ? "" : "idle"} ${following === p.userId ? "following" : ""}`}
          style={{ background: p.color }}
          title={`${p.name}${p.active ? "" : " (idle)"}: ${following === p.userId ? "stop following" : "follow"}`}
          aria-label={`${p.name}${p.active ? "" : ", idle"}. ${following === p.userId ? "Stop following" : "Follow"}`}
          aria-pressed={following === p.userId}
          data-user={p.userId}
          onClick={() => onFollow(p.userId)}
        >
          {initials(p.name)}
        </button>
      ))}
    </div>
  );
}

/** pointing are the peers with a pointer to draw: a finger on a touch screen shares its crosshair
 * and presence, but has no arrow. */
function pointing(peers: Map<string, PeerState>): Pointer[] {
  return [...peers.values()].filter((p): p is Pointer => !!p.cursor && !p.cursor.touch);
}

type Pointer = PeerState & { cursor: NonNullable<PeerState["cursor"]> };

/** Cursors draws the other viewers' pointers over the panels they point at, placed by their
 * position within the panel so that different screen sizes agree. CSS transitions smooth the
 * movement between updates; a pointer still for 3 s is dimmed, one still for 60 s is gone. The
 * pointers come from their store, drawn at most once a frame however many messages arrive, and
 * not when the page renders for something else (reading where the panels are costs a layout). */
export const Cursors = memo(function Cursors({ pointers, board }: { pointers: Store<Map<string, PeerState>>; board: RefObject<HTMLDivElement> }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const key = {};
    const redraw = () => tick((n) => n + 1);
    const unsubscribe = pointers.subscribe(() => frames.schedule(key, redraw));
    // Pointers dim and go with time: looked at every second while there are any.
    const t = setInterval(() => pointing(pointers.value).length > 0 && redraw(), 1000);
    return () => {
      unsubscribe();
      frames.cancel(key);
      clearInterval(t);
    };
  }, [pointers]);
  const shown = pointing(pointers.value);
  const host = board.current;
  // Nothing over the board while nobody points: no layer for the compositor at every frame.
  if (!host || shown.length === 0) return null;
  const origin = host.getBoundingClientRect();
  const now = Date.now();
  return (
    <div class="cursors" aria-hidden="true">
      {shown.map((p) => {
        const el = host.querySelector<HTMLElement>(`[data-panel-id="${p.cursor.panel}"]`);
        if (!el) return null;
        const r = el.getBoundingClientRect();
        const x = r.left - origin.left + p.cursor.fx * r.width;
        const y = r.top - origin.top + p.cursor.fy * r.height;
        const dim = now - p.cursor.at > cursorDimAfter;
        return (
          <div key={p.userId} class={`cursor ${dim ? "dim" : ""}`} data-user={p.userId} style={{ transform: `translate(${x}px, ${y}px)` }}>
            <svg width="14" height="18" viewBox="0 0 14 18">
              <path d="M1 1 L1 15 L5 11 L8 17 L10 16 L7 10 L13 10 Z" fill={p.color} stroke="#fff" stroke-width="1" />
            </svg>
            <span style={{ background: p.color }}>{p.name}</span>
          </div>
        );
      })}
    </div>
  );
});
