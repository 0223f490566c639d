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
  /** onAnnotate asks for an annotation at a time or over a range (ctrl/⌘ + click or drag). */
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
    const resize = new ResizeObserver(() => {
      const h = el.clientHeight - legendHeight(el);
      u.setSize({ width: el.clientWidth, height: Math.max(h, 60) });
    });
    resize.observe(el);
    return () => {
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
