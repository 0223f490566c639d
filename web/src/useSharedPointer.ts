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
    const move = (e: PointerEvent) => {
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
        ...(e.pointerType === "touch" ? { touch: true } : {}),
      });
    };
    // A finger's pointer leaves as it lifts, but the crosshair of a tap stays until the next
    // touch elsewhere, as the chart's own does.
    const leave = (e: PointerEvent) => {
      if (e.pointerType !== "touch") send({ type: "cursor-out" });
    };
    // uPlot moves its cursor on the mouse events a tap emulates, so the tap's time is known
    // only after them: a tap is shared on its click.
    const tap = (e: MouseEvent) => {
      if ((e as PointerEvent).pointerType === "touch") move(e as PointerEvent);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerleave", leave);
    el.addEventListener("click", tap);
    return () => {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerleave", leave);
      el.removeEventListener("click", tap);
    };
  }, [board, ready, send]);
  return hoverTime;
}
