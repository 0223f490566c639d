// A chart's newest points, drawn apart from the rest of it. A live push most often changes only
// the newest point of each series (PanelData keeps one point a step and replaces the newest within
// it), a fraction of a pixel from the one before; the chart's series paths end before it, and the
// stretch from there to the newest point is drawn on a narrow canvas over the plot's right edge,
// so such a push draws a few short lines instead of the whole chart (redraw.ts tells when the rest
// must be drawn again).
import uPlot from "uplot";

/** tipWidth is the width of the tip's canvas (CSS pixels), and margin the room it keeps on its
 * left for the line's width, half the widest a panel may have (10 px) and a pixel: what the tip
 * draws spans at most tipWidth - 2 × margin. */
const tipWidth = 32;
const margin = 6;

export class Tip {
  /** from is the time (seconds) the chart's series paths end at; Infinity while they reach the
   * newest point, as for a chart whose points are too far apart for the tip. */
  from = Infinity;
  /** inked: the canvas has lines on it. */
  private inked = false;

  constructor(readonly canvas: HTMLCanvasElement = document.createElement("canvas")) {
    canvas.className = "tip";
  }

  /** paths is a series path builder that ends where the tip begins. */
  paths(build: uPlot.Series.PathBuilder): uPlot.Series.PathBuilder {
    return (u, seriesIdx, idx0, idx1) => {
      const times = u.data[0];
      let end = idx1;
      while (end > idx0 && times[end] > this.from) end--;
      return build(u, seriesIdx, idx0, end);
    };
  }

  /** start decides, as a chart of times is drawn whole at pxPerSecond, where its paths end: before
   * the newest point, unless the chart draws dots on its points (a dot is not a line's tip) or the
   * last step would not fit in the tip. */
  start(times: number[], pxPerSecond: number, dots: boolean) {
    const n = times.length;
    this.from = !dots && n >= 2 && (times[n - 1] - times[n - 2]) * pxPerSecond <= tipWidth - 2 * margin ? times[n - 2] : Infinity;
  }

  /** end is the index of the newest of times the chart's series paths reach. */
  end(times: number[]): number {
    let k = times.length - 1;
    while (k > 0 && times[k] > this.from) k--;
    return k;
  }

  /** fits reports whether the points after from still fit in the tip at the chart's scale. */
  fits(u: uPlot, times: number[]): boolean {
    if (this.from === Infinity || times.length === 0) return false;
    return u.valToPos(times[times.length - 1], "x") - u.valToPos(this.from, "x") <= tipWidth - 2 * margin;
  }

  /** draw draws the series of values (colors[i] for series i) from from to their newest points,
   * as uPlot's linear paths draw them: the same rounding to device pixels, width, offset for an
   * odd width, joins, caps and alpha, and no line across a missing value. */
  draw(u: uPlot, times: number[], values: (number | null)[][], colors: string[]) {
    const c = this.canvas;
    const ratio = uPlot.pxRatio;
    const { left, top, height } = u.bbox;
    const n = times.length;
    const k = this.end(times);
    const empty = this.from === Infinity || k >= n - 1;
    if (empty && !this.inked) return;
    const width = Math.round(tipWidth * ratio);
    if (c.width !== width || c.height !== height) {
      c.width = width;
      c.height = height;
      c.style.width = `${tipWidth}px`;
      c.style.height = `${height / ratio}px`;
    }
    const ctx = c.getContext("2d")!;
    ctx.clearRect(0, 0, c.width, c.height);
    this.inked = !empty;
    if (empty) return;
    const x0 = Math.floor(u.valToPos(times[k], "x")) - margin;
    c.style.transform = `translateX(${x0}px)`;
    const dx = -(left + x0 * ratio);
    ctx.lineJoin = "round";
    ctx.lineCap = "butt";
    for (let s = 1; s < u.series.length; s++) {
      const series = u.series[s];
      const lineWidth = Math.round((series.width ?? 1) * ratio * 1000) / 1000;
      // As uPlot's doStroke: a line of no width is not drawn.
      if (!series.show || lineWidth <= 0) continue;
      const offset = (lineWidth % 2) / 2;
      ctx.strokeStyle = colors[s - 1];
      ctx.lineWidth = lineWidth;
      ctx.globalAlpha = series.alpha ?? 1;
      ctx.beginPath();
      let pen = false;
      for (let i = k; i < n; i++) {
        const v = values[s - 1][i];
        if (v == null) {
          pen = false;
          continue;
        }
        const x = Math.round(u.valToPos(times[i], "x", true)) + dx + offset;
        const y = Math.round(u.valToPos(v, "y", true)) - top + offset;
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }
}
