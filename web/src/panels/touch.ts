// A chart's touch screen gestures, beside uPlot's mouse handling.
import type uPlot from "uplot";
import type { Range } from "../time";

/** Gestures is what a chart's gestures act on: its time range (read when a drag ends) and what
 * a pan or a long press asks for. */
export interface Gestures {
  range: { current: Range };
  onZoom(from: number, to: number): void;
  onAnnotate?(time: number, timeEnd: number): void;
}

/** How long a finger stays still to annotate: half a second, about what phones take for a long
 * press. */
const longPressMs = 500;
/** How far a finger may wander and still be a press, not a drag (CSS pixels). */
const slop = 10;

/** touchGestures gives a chart its touch screen gestures: a horizontal drag pans the time range,
 * a long press asks for an annotation. A tap needs nothing here: the browser emulates the mouse
 * for it, which moves uPlot's cursor. Vertical drags are left to the page's scrolling (touch-action
 * in the stylesheet). Returns what removes them. */
export function touchGestures(u: uPlot, props: { current: Gestures }): () => void {
  let start: { x: number; y: number; id: number } | null = null;
  let press: ReturnType<typeof setTimeout> | undefined;
  let swallow = false;
  const x = (e: PointerEvent) => e.clientX - u.over.getBoundingClientRect().left;
  const down = (e: PointerEvent) => {
    if (e.pointerType !== "touch" || !e.isPrimary) return;
    start = { x: e.clientX, y: e.clientY, id: e.pointerId };
    const at = Math.round(u.posToVal(x(e), "x") * 1000);
    clearTimeout(press);
    press = setTimeout(() => {
      start = null;
      if (!props.current.onAnnotate) return;
      // The mouse events the browser emulates as the finger lifts would land on the editor's
      // backdrop and close it again.
      swallow = true;
      props.current.onAnnotate(at, at);
    }, longPressMs);
  };
  const move = (e: PointerEvent) => {
    if (!start || e.pointerId !== start.id) return;
    if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > slop) clearTimeout(press);
  };
  const up = (e: PointerEvent) => {
    clearTimeout(press);
    if (!start || e.pointerId !== start.id) return;
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    const from = start.x - u.over.getBoundingClientRect().left;
    start = null;
    if (Math.abs(dx) <= slop || Math.abs(dx) < Math.abs(dy)) return;
    // The range moves with the finger: what was under it stays under it.
    const shift = (u.posToVal(from, "x") - u.posToVal(from + dx, "x")) * 1000;
    const range = props.current.range.current;
    props.current.onZoom(Math.round(range.from + shift), Math.round(range.to + shift));
  };
  const cancel = () => {
    clearTimeout(press);
    start = null;
  };
  // A long press also opens the browser's context menu, which would cover the editor.
  const menu = (e: Event) => {
    if ((e as PointerEvent).pointerType === "touch" || start) e.preventDefault();
  };
  const emulated = (e: Event) => {
    if (!swallow) return;
    e.preventDefault();
    e.stopPropagation();
    if (e.type === "click") swallow = false;
  };
  // Until the next touch, should the emulated click never come.
  const next = () => (swallow = false);
  // [target, event, handler, capture]: the page's emulated mouse events are caught before anyone
  // else sees them; the gesture's own events are the plot's.
  const listeners = [
    ...["mousedown", "mouseup", "click"].map((t) => [window, t, emulated, true] as const),
    [window, "pointerdown", next, true],
    [u.over, "pointerdown", down, false],
    [u.over, "pointermove", move, false],
    [u.over, "pointerup", up, false],
    [u.over, "pointercancel", cancel, false],
    [u.over, "contextmenu", menu, false],
  ] as const;
  for (const [target, type, fn, capture] of listeners) target.addEventListener(type, fn as EventListener, capture);
  return () => {
    clearTimeout(press);
    for (const [target, type, fn, capture] of listeners) target.removeEventListener(type, fn as EventListener, capture);
  };
}
