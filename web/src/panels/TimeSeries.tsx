import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Annotation } from "../model";
import type { PanelData } from "../data";
import { formatValue } from "../units";
import { palette } from "../colors";
import { onThemeChange } from "../theme";
import type { Threshold } from "../thresholds";

export interface Crosshair {
  time: number; // ms
  color: string;
}

export interface TimeSeriesProps {
  data: PanelData;
  revision: number;
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  range: { from: number; to: number };
  annotations: Annotation[];
  /** thresholds are drawn as dashed lines, and the value axis reaches them. */
  thresholds: Threshold[];
  crosshairs: Crosshair[];
  /** hover reports the time under the pointer (ms), or null when it leaves. */
  onHover(time: number | null): void;
  onZoom(from: number, to: number): void;
  /** onAnnotate asks for an annotation at a time or over a range (ctrl/⌘ + click or drag, or a
   * long press on a touch screen). */
  onAnnotate?(time: number, timeEnd: number): void;
  onAnnotationClick(a: Annotation): void;
}

const syncKey = "huddle-dashboard";

/** TimeSeries draws a panel's series with uPlot. The chart is created once per set of series and
 * updated in place as points arrive, so live updates do not flicker. */
export function TimeSeries(p: TimeSeriesProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const props = useRef(p);
  props.current = p;
  const seriesKeys = p.data.series.map((s) => s.key).join("\n");

  useEffect(() => {
    const el = host.current!;
    // The chart is made of the props of the render whose series it shows; the props of later
    // renders reach it through props.current.
    const first = props.current;
    let ctrl = false;
    const opts: uPlot.Options = {
      width: el.clientWidth || 400,
      height: el.clientHeight || 200,
      legend: { show: true, live: true },
      cursor: {
        sync: { key: syncKey, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        focus: { prox: 16 },
      },
      scales: {
        x: { time: true },
        y: {
          auto: true,
          // A threshold far from the data would be drawn off the chart, saying nothing.
          // Otherwise as uPlot's default (snapNumY in uPlot.esm.js): padded by a tenth, with zero.
          range: (_u, min, max) => {
            const ts = props.current.thresholds.map((t) => t.value);
            if (min == null) {
              if (ts.length === 0) return [null, null];
              min = max = ts[0];
            }
            return uPlot.rangeNum(Math.min(min, ...ts), Math.max(max, ...ts), 0.1, true);
          },
        },
      },
      // A canvas does not resolve CSS variables, so the theme's colours are read at each draw.
      axes: [
        { stroke: () => themeColor(el, "--muted"), grid: { stroke: () => themeColor(el, "--grid"), width: 1 }, ticks: { stroke: () => themeColor(el, "--grid") } },
        {
          stroke: () => themeColor(el, "--muted"),
          grid: { stroke: () => themeColor(el, "--grid"), width: 1 },
          ticks: { stroke: () => themeColor(el, "--grid") },
          size: 70,
          values: (_u, vals) => vals.map((v) => formatValue(v, props.current.unit, props.current.decimals)),
        },
      ],
      series: [
        { value: (_u, v) => (v == null ? "" : new Date(v * 1000).toLocaleTimeString()) },
        ...first.data.series.map((s, i) => ({
          label: s.name,
          stroke: palette[i % palette.length],
          width: 1.5,
          // Dots only where the points are few (a fresh server, a sparse series), so a short
          // stretch of data is visible at all; a dense line needs none.
          points: { show: (_u: uPlot, _si: number, i0: number, i1: number) => i1 - i0 < 30 },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => formatValue(v, props.current.unit, props.current.decimals),
        })),
      ],
      hooks: {
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            const left = u.cursor.left ?? -1;
            props.current.onHover(left >= 0 && idx != null ? u.posToVal(left, "x") * 1000 : null);
            showLatest(u);
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const from = u.posToVal(u.select.left, "x") * 1000;
            const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (ctrl && props.current.onAnnotate) props.current.onAnnotate(Math.round(from), Math.round(to));
            else props.current.onZoom(Math.round(from), Math.round(to));
          },
        ],
        draw: [(u) => drawOverlays(u, props.current)],
      },
    };
    const u = new uPlot(opts, [first.data.times, ...first.data.values] as uPlot.AlignedData, el);
    u.setScale("x", { min: first.range.from / 1000, max: first.range.to / 1000 });
    showLatest(u);
    plot.current = u;
    const unsubscribe = onThemeChange(() => u.redraw(false));

    const down = (e: MouseEvent) => (ctrl = e.ctrlKey || e.metaKey);
    const click = (e: MouseEvent) => {
      const cur = props.current;
      const rect = u.over.getBoundingClientRect();
      const t = u.posToVal(e.clientX - rect.left, "x") * 1000;
      const hit = annotationAt(u, cur.annotations, e.clientX - rect.left);
      if (hit) {
        cur.onAnnotationClick(hit);
        return;
      }
      if ((e.ctrlKey || e.metaKey) && cur.onAnnotate) cur.onAnnotate(Math.round(t), Math.round(t));
    };
    u.over.addEventListener("mousedown", down);
    u.over.addEventListener("click", click);
    const stopTouch = touchGestures(u, props);
    const resize = new ResizeObserver(() => {
      const h = el.clientHeight - legendHeight(el);
      u.setSize({ width: el.clientWidth, height: Math.max(h, 60) });
    });
    resize.observe(el);
    return () => {
      stopTouch();
      unsubscribe();
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [seriesKeys, props]);

  // The data changes in place: the revision tells when.
  const { revision } = p;
  const { from, to } = p.range;
  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    const { data } = props.current;
    u.setData([data.times, ...data.values] as uPlot.AlignedData, false);
    u.setScale("x", { min: from / 1000, max: to / 1000 });
    showLatest(u);
  }, [revision, from, to, props]);

  useEffect(() => {
    plot.current?.redraw(false, false);
  }, [p.annotations, p.crosshairs]);

  const thresholdsKey = p.thresholds.map((t) => `${t.rule} ${t.value} ${t.state}`).join("\n");
  useEffect(() => {
    // The value axis may have to reach a new threshold, so the scales are computed again.
    plot.current?.redraw(true, false);
  }, [thresholdsKey]);

  return <div class="chart" ref={host} />;
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
function touchGestures(u: uPlot, props: { current: TimeSeriesProps }): () => void {
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
    const { range } = props.current;
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
  const mouse = ["mousedown", "mouseup", "click"];
  for (const t of mouse) addEventListener(t, emulated, true);
  addEventListener("pointerdown", next, true);
  u.over.addEventListener("pointerdown", down);
  u.over.addEventListener("pointermove", move);
  u.over.addEventListener("pointerup", up);
  u.over.addEventListener("pointercancel", cancel);
  u.over.addEventListener("contextmenu", menu);
  return () => {
    clearTimeout(press);
    for (const t of mouse) removeEventListener(t, emulated, true);
    removeEventListener("pointerdown", next, true);
    u.over.removeEventListener("pointerdown", down);
    u.over.removeEventListener("pointermove", move);
    u.over.removeEventListener("pointerup", up);
    u.over.removeEventListener("pointercancel", cancel);
    u.over.removeEventListener("contextmenu", menu);
  };
}

function legendHeight(el: HTMLElement): number {
  const legend = el.querySelector<HTMLElement>(".u-legend");
  return legend ? legend.offsetHeight : 0;
}

/** showLatest puts the latest values in the legend while the pointer is not on the chart, so
 * the legend reads as the current state instead of dashes. */
function showLatest(u: uPlot) {
  const n = u.data[0].length;
  if (n > 0 && u.cursor.idx == null) u.setLegend({ idx: n - 1 }, false);
}

function themeColor(el: HTMLElement, name: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || "gray";
}

function annotationAt(u: uPlot, list: Annotation[], x: number): Annotation | undefined {
  for (const a of list) {
    const left = u.valToPos(a.time / 1000, "x");
    const right = u.valToPos(a.timeEnd / 1000, "x");
    if (x >= left - 4 && x <= Math.max(right, left) + 4) return a;
  }
  return undefined;
}

/** drawOverlays paints the alert rules' thresholds (dashed lines in their severity's colour),
 * annotations (lines and shaded ranges) and the other viewers' crosshairs on the chart's
 * canvas. */
function drawOverlays(u: uPlot, p: TimeSeriesProps) {
  const ctx = u.ctx;
  const { top, height, left, width } = u.bbox;
  ctx.save();
  ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
  for (const t of p.thresholds) {
    const w = Math.round((t.state === "firing" ? 2 : 1) * devicePixelRatio);
    // On a whole pixel row (half a pixel off for an odd width), so the line is crisp.
    const y = Math.round(u.valToPos(t.value, "y", true)) + (w % 2) / 2;
    if (y < top || y > top + height) continue;
    ctx.strokeStyle = themeColor(u.root, `--sev${t.severity}`);
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (const a of p.annotations) {
    const x0 = u.valToPos(a.time / 1000, "x", true);
    const x1 = u.valToPos(a.timeEnd / 1000, "x", true);
    if (a.timeEnd > a.time) {
      ctx.fillStyle = "rgba(255, 170, 0, 0.12)";
      ctx.fillRect(x0, top, x1 - x0, height);
    }
    ctx.strokeStyle = "rgba(255, 170, 0, 0.9)";
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0, top + height);
    ctx.stroke();
    ctx.fillStyle = "rgba(255, 170, 0, 0.95)";
    ctx.beginPath();
    ctx.moveTo(x0 - 5 * devicePixelRatio, top + height);
    ctx.lineTo(x0 + 5 * devicePixelRatio, top + height);
    ctx.lineTo(x0, top + height - 7 * devicePixelRatio);
    ctx.fill();
  }
  ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
  for (const c of p.crosshairs) {
    const x = u.valToPos(c.time / 1000, "x", true);
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    ctx.strokeStyle = c.color;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
  }
  ctx.restore();
}
