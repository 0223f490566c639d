// useSharedPointer tells the other viewers where this one points: the panel under the pointer,
// the position within it, and on a chart the time under it.
import { useEffect, useRef } from "preact/hooks";
import type { RefObject } from "preact";
import type { PeerMessage } from "./collab";

/** board holds the panels; ready is whether it is shown. The ref returned takes the time under
 * the pointer from the charts. */
export function useSharedPointer(board: RefObject<HTMLElement>, ready: boolean, send: (m: PeerMessage) => void) {
  const hoverTime = useRef<number | null>(null);
  useEffect(() => {
    const el = board.current;
    if (!el) return;
    const move = (e: MouseEvent) => {
      const panel = (e.target as HTMLElement).closest<HTMLElement>("[data-panel-id]");
      if (!panel) {
        send({ type: "cursor-out" });
        return;
      }
      const rect = panel.getBoundingClientRect();
      send({
        type: "cursor",
        panel: Number(panel.dataset.panelId),
        fx: (e.clientX - rect.left) / rect.width,
        fy: (e.clientY - rect.top) / rect.height,
        ...(hoverTime.current !== null ? { time: Math.round(hoverTime.current) } : {}),
      });
    };
    const leave = () => send({ type: "cursor-out" });
    el.addEventListener("mousemove", move);
    el.addEventListener("mouseleave", leave);
    return () => {
      el.removeEventListener("mousemove", move);
      el.removeEventListener("mouseleave", leave);
    };
  }, [board, ready, send]);
  return hoverTime;
}
