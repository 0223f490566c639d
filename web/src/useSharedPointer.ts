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
    // The pointer events come before the mouse events they cause (a tap emulates a mouse), so
    // they tell whether a finger moved the mouse. The mouse events are the ones shared: uPlot
    // reads the time under the pointer on them, and the board hears them after the chart.
    let finger = false;
    const kind = (e: PointerEvent) => (finger = e.pointerType === "touch");
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
        ...(finger ? { touch: true } : {}),
      });
    };
    // The crosshair of a tap stays until the next touch, as the chart's own does.
    const leave = () => {
      if (!finger) send({ type: "cursor-out" });
    };
    el.addEventListener("pointerdown", kind);
    el.addEventListener("pointermove", kind);
    el.addEventListener("mousemove", move);
    el.addEventListener("mouseleave", leave);
    return () => {
      el.removeEventListener("pointerdown", kind);
      el.removeEventListener("pointermove", kind);
      el.removeEventListener("mousemove", move);
      el.removeEventListener("mouseleave", leave);
    };
  }, [board, ready, send]);
  return hoverTime;
}
