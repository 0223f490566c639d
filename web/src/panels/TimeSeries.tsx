import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { crosshairsOf, sameCrosshairs, type Crosshair, type PeerState } from "../collab";
import type { Annotation } from "../model";
import type { PanelData } from "../data";
import { frames } from "../frame";
import type { Store } from "../store";
import type { Range } from "../time";
import { formatValue } from "../units";
import { palette } from "../colors";
import { drawnOf, moved, type Drawn } from "../redraw";
import { onThemeChange, themeColor } from "../theme";
import { annotationAt, drawMarks } from "./marks";
import { Tip } from "./tip";
import { touchGestures } from "./touch";
import type { Threshold } from "../thresholds";
import { fitAxis } from "../axis";

export interface TimeSeriesProps {
  data: PanelData;
  unit?: string;
  decimals?: number;
  /** min and max, when set, are the value axis's ends (the panel's limits); softMin and softMax
   * where it reaches at least. */
  min?: number;
  max?: number;
  softMin?: number;
  softMax?: number;
  /** lineWidth is the series lines' width in CSS pixels, 1 unless set. */
  lineWidth?: number;
  /** range is the span shown, read at each draw: it moves with every push. */
  range: { current: Range };
  annotations: Annotation[];
  /** thresholds are drawn as dashed lines, and the value axis reaches them. */
  thresholds: Threshold[];
  /** pointers are the other viewers, whose crosshairs are drawn over the chart. */
  pointers: Store<Map<string, PeerState>>;
  /** hover reports the time under the pointer (ms), or null when it leaves. */
  onHover(time: number | null): void;
  onZoom(from: number, to: number): void;
  /** onAnnotate asks for an annotation at a time or over a range (ctrl/⌘ + click or drag, or a
   * long press on a touch screen). */
  onAnnotate?(time: number, timeEnd: number): void;
  onAnnotationClick(a: Annotation): void;
}

const syncKey = "huddle-dashboard";

/** dotsBelow: a series with fewer points in view gets a dot on each, so that a short stretch of
 * data (a fresh server, a sparse series) is visible at all; a dense line needs none. */
const dotsBelow = 30;

/** legendTime formats the legend's time as toLocaleTimeString does, with one formatter for every
 * chart and push instead of one made at each call. */
const legendTime = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** TimeSeries draws a panel's series with uPlot. The chart is made once per set of series, when
 * the panel first comes into view, and updated in place as points arrive, so live updates do not
 * flicker; its drawing is its ChartView's. */
export function TimeSeries(p: TimeSeriesProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<ChartView | null>(null);
  /** Where the panel was last seen, kept across the charts made for it. */
  const seen = useRef<Seen>({ visible: false, width: 0, height: 0 });
  const props = useRef(p);
  props.current = p;
  // A push may bring a series the chart was not made with: the chart is made again for it, as
  // for another line width.
  const [, remake] = useState(0);
  const seriesKeys = p.data.series.map((s) => s.key).join("\n");

  useEffect(() => {
    const v = new ChartView(host.current!, props, seen.current, () => remake((n) => n + 1));
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [seriesKeys, props, p.lineWidth]);

  // A new history is a new PanelData; the pushes that change it in place the view hears itself.
  useEffect(() => view.current?.follow(p.data), [p.data]);
  useEffect(() => view.current?.mark("chart"), [p.annotations]);
  const thresholdsKey = p.thresholds.map((t) => `${t.rule} ${t.value} ${t.state}`).join("\n");
  // The value axis may have to reach a new threshold, or new limits: the scales are computed again.
  useEffect(() => view.current?.mark("scales"), [thresholdsKey, p.min, p.max, p.softMin, p.softMax]);

  return <div class="chart" ref={host} />;
}

/** What a chart has to draw again at its next frame: its data (with the range, which moves with
 * it), its scales, the whole chart (for annotations or the theme), or only the overlay of the
 * other viewers' crosshairs. */
interface Dirty {
  data: boolean;
  scales: boolean;
  chart: boolean;
  overlay: boolean;
}

const clean = (): Dirty => ({ data: false, scales: false, chart: false, overlay: false });

/** Seen is what the intersection observer last said of a panel. */
interface Seen {
  visible: boolean;
  width: number;
  height: number;
}

/** ChartView is the uPlot chart of one panel and what it draws on. The chart is made when the
 * panel first comes into view; a change is drawn at the next animation frame (one draw for any
 * number of changes in between) and only while the panel is in view, or else once when it comes
 * back into view. The other viewers' crosshairs change many times a second while they point:
 * they are drawn on a canvas of their own over the plot, so they never redraw the series. So are
 * the newest points (the tip), which most pushes change alone. */
class ChartView {
  private u: uPlot | null = null;
  private overlay = document.createElement("canvas");
  private dirty = clean();
  /** drawn is what the chart last drew whole; edited the oldest time (seconds) of a point changed
   * since. */
  private drawn: Drawn | null = null;
  private edited = Infinity;
  private tip = new Tip();
  /** colors are the series' line colours, which the tip draws with too. */
  private colors: string[] = [];
  private crosshairs: Crosshair[];
  private data: PanelData;
  private stopData: () => void;
  private stops: (() => void)[] = [];

  constructor(
    private el: HTMLDivElement,
    private props: { current: TimeSeriesProps },
    private seen: Seen,
    private seriesChanged: () => void,
  ) {
    this.data = props.current.data;
    this.stopData = this.data.subscribe(this.heard);
    const { pointers } = props.current;
    this.crosshairs = crosshairsOf(pointers.value);
    this.stops.push(
      pointers.subscribe((peers) => {
        const next = crosshairsOf(peers);
        if (sameCrosshairs(next, this.crosshairs)) return;
        this.crosshairs = next;
        this.mark("overlay");
      }),
    );
    // The observer's entries carry the panel's size: making a chart reads the layout only for
    // its legend's height.
    const io = new IntersectionObserver((entries) => {
      const e = entries[entries.length - 1];
      Object.assign(seen, { visible: e.isIntersecting, width: e.boundingClientRect.width, height: e.boundingClientRect.height });
      if (seen.visible) frames.schedule(this, this.draw);
    });
    io.observe(el);
    this.stops.push(() => io.disconnect());
    this.overlay.className = "overlay";
    this.overlay.hidden = true;
    // A chart made again for a new series replaces one in view at once, not a frame later.
    if (seen.visible) this.make();
  }

  /** follow takes the panel's data, when a new history replaced it. */
  follow(data: PanelData) {
    if (data === this.data) return;
    this.stopData();
    this.data = data;
    this.stopData = data.subscribe(this.heard);
    this.drawn = null; // a new history is drawn whole
    this.mark("data");
  }

  /** heard takes a change of the data, from the oldest time of a point changed. */
  private heard = (edited: number) => {
    this.edited = Math.min(this.edited, edited);
    this.mark("data");
  };

  /** mark asks for what changed to be drawn at the next frame, if the chart is in view. */
  mark(what: keyof Dirty) {
    this.dirty[what] = true;
    if (this.seen.visible) frames.schedule(this, this.draw);
  }

  destroy() {
    frames.cancel(this);
    this.stopData();
    for (const stop of this.stops) stop();
    this.u?.destroy();
    this.u = null;
  }

  private draw = () => {
    // Out of view by its frame: drawn when it comes back.
    if (!this.seen.visible) return;
    const u = this.u;
    if (!u) {
      this.make();
      return;
    }
    if (this.data.series.length !== u.series.length - 1) {
      this.seriesChanged();
      return;
    }
    const d = this.dirty;
    this.dirty = clean();
    const { from, to } = this.props.current.range.current;
    if (d.scales || (d.data && this.mustRedraw(u, from, to))) {
      // Its draw hooks draw the marks, the tip and the crosshairs again too.
      this.redraw(u, from, to, d.scales);
      return;
    }
    if (d.data) showLatest(u);
    // A chart's draw draws its tip and crosshairs again too (draw hooks).
    if (d.chart) u.redraw(false, false);
    else {
      if (d.data) this.drawTip(u);
      if (d.overlay) this.drawCrosshairs(u);
    }
  };

  /** mustRedraw reports whether the data changed since the chart was drawn whole needs it drawn
   * whole again, rather than its tip alone: a point it drew changed, the newest points no longer
   * fit in the tip, or its range or value axis moved. */
  private mustRedraw(u: uPlot, from: number, to: number): boolean {
    const { times, values } = this.data;
    return !this.drawn || this.edited <= this.tip.from || !this.tip.fits(u, times) ||
      moved(this.drawn, times, values, {
        from,
        to,
        width: u.bbox.width / uPlot.pxRatio,
        sameAxis: (min, max) => {
          const [lo, hi] = fitAxisOf(this.props.current, Number.isFinite(min) ? min : null, Number.isFinite(max) ? max : null);
          return lo === u.scales.y.min && hi === u.scales.y.max;
        },
      });
  }

  /** redraw draws the chart whole for the range from–to, with its tip starting again from the
   * point before the newest. */
  private redraw(u: uPlot, from: number, to: number, scales: boolean) {
    const { times, values } = this.data;
    this.tip.start(times, u.bbox.width / uPlot.pxRatio / ((to - from) / 1000), times.length < dotsBelow);
    this.edited = Infinity;
    // The same arrays, changed in place: uPlot draws them again without a copy.
    u.setData([times, ...values] as uPlot.AlignedData, false);
    u.setScale("x", { min: from / 1000, max: to / 1000 });
    showLatest(u);
    this.drawn = drawnOf(times, values, to, this.tip.end(times));
    if (scales) u.redraw(true, false);
  }

  private drawTip(u: uPlot) {
    this.tip.draw(u, this.data.times, this.data.values, this.colors);
  }

  private drawCrosshairs(u: uPlot) {
    const c = this.overlay;
    const { left, width, height } = u.bbox;
    // A canvas in the page is a layer the compositor takes at every frame: with nobody pointing,
    // the overlay is out of it.
    const show = this.crosshairs.length > 0;
    if (c.hidden === show) c.hidden = !show;
    if (!show) return;
    // Setting a canvas's size clears it, as does clearRect: only one is needed.
    if (c.width !== width || c.height !== height) {
      c.width = width;
      c.height = height;
    } else c.getContext("2d")!.clearRect(0, 0, width, height);
    const ctx = c.getContext("2d")!;
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const ch of this.crosshairs) {
      const x = u.valToPos(ch.time / 1000, "x", true) - left;
      if (x < 0 || x > width) continue;
      ctx.strokeStyle = ch.color;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, height);
      ctx.stroke();
    }
  }

  private make() {
    this.dirty = clean();
    const el = this.el;
    const props = this.props;
    // The chart is made of the props of the render whose series it shows; the props of later
    // renders reach it through props.current.
    const first = props.current;
    const data = this.data;
    this.colors = data.series.map((_, i) => palette[i % palette.length]);
    const linear = this.tip.paths(uPlot.paths.linear!());
    let ctrl = false;
    const opts: uPlot.Options = {
      width: this.seen.width || 400,
      height: this.seen.height || 200,
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
          range: (_u, min, max) => fitAxisOf(props.current, min, max),
        },
      },
      // A canvas does not resolve CSS variables, so the theme's colours are read at each draw.
      axes: [
        { stroke: () => themeColor("--muted"), grid: { stroke: () => themeColor("--grid"), width: 1 }, ticks: { stroke: () => themeColor("--grid") } },
        {
          stroke: () => themeColor("--muted"),
          grid: { stroke: () => themeColor("--grid"), width: 1 },
          ticks: { stroke: () => themeColor("--grid") },
          size: 70,
          values: (_u, vals) => vals.map((v) => formatValue(v, props.current.unit, props.current.decimals)),
        },
      ],
      series: [
        { value: (_u, v) => (v == null ? "" : legendTime.format(v * 1000)) },
        ...data.series.map((s, i) => ({
          label: s.name,
          stroke: this.colors[i],
          // Unless set, Grafana's default line width (defaultGraphConfig in grafana's
          // public/app/plugins/panel/timeseries/config.ts). A line no wider than a device pixel is
          // also drawn by the canvas as a hairline: with software rasterisation, a 1.5 px stroke
          // cost six times as much at every push (BENCHMARKS.md, Dashboard rendering).
          width: first.lineWidth ?? 1,
          points: { show: (_u: uPlot, _si: number, i0: number, i1: number) => i1 - i0 < dotsBelow },
          paths: linear,
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
            // The legend names the time only of the values under a pointer (styles.css).
            el.classList.toggle("pointed", idx != null);
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
        draw: [(u) => drawMarks(u, props.current), (u) => this.drawTip(u), (u) => this.drawCrosshairs(u)],
      },
    };
    const { from, to } = first.range.current;
    // The plot is narrower than the panel: the tip is judged wider than it will be, never narrower.
    this.tip.start(data.times, opts.width / ((to - from) / 1000), data.times.length < dotsBelow);
    this.edited = Infinity;
    const u = new uPlot(opts, [data.times, ...data.values] as uPlot.AlignedData, el);
    // The legend takes its part of the panel and the plot the rest, set before uPlot's first
    // draw (at the end of this task) so that the chart is drawn once.
    const height = Math.max(opts.height - legendHeight(el), 60);
    if (height !== u.height) u.setSize({ width: opts.width, height });
    u.setScale("x", { min: from / 1000, max: to / 1000 });
    showLatest(u);
    this.drawn = drawnOf(data.times, data.values, to, this.tip.end(data.times));
    u.over.appendChild(this.tip.canvas);
    u.over.appendChild(this.overlay);
    this.u = u;
    this.stops.push(onThemeChange(() => this.mark("chart")));

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
    this.stops.push(touchGestures(u, props));
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      const h = Math.max(el.clientHeight - legendHeight(el), 60);
      if (w !== u.width || h !== u.height) u.setSize({ width: w, height: h });
    });
    resize.observe(el);
    this.stops.push(() => resize.disconnect());
  }
}

/** fitAxisOf is the value axis of a chart of props for data from min to max. */
function fitAxisOf(p: TimeSeriesProps, min: number | null, max: number | null): uPlot.Range.MinMax {
  return fitAxis(min, max, p.thresholds.map((t) => t.value), { min: p.min, max: p.max, softMin: p.softMin, softMax: p.softMax });
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
