// What a chart draws with its series besides them: alert thresholds and annotations.
import type uPlot from "uplot";
import type { Annotation } from "../model";
import { themeColor } from "../theme";
import type { Threshold } from "../thresholds";

/** annotationAt is the annotation drawn at x (CSS pixels in the plot), within 4 px of its line or
 * inside its range. */
export function annotationAt(u: uPlot, list: Annotation[], x: number): Annotation | undefined {
  for (const a of list) {
    const left = u.valToPos(a.time / 1000, "x");
    const right = u.valToPos(a.timeEnd / 1000, "x");
    if (x >= left - 4 && x <= Math.max(right, left) + 4) return a;
  }
  return undefined;
}

/** drawMarks paints the alert rules' thresholds (dashed lines in their severity's colour) and
 * annotations (lines and shaded ranges) on the chart's canvas: they change seldom, so they are
 * drawn with the series. */
export function drawMarks(u: uPlot, p: { thresholds: Threshold[]; annotations: Annotation[] }) {
  const ctx = u.ctx;
  const { top, height, left, width } = u.bbox;
  ctx.save();
  ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
  for (const t of p.thresholds) {
    const w = Math.round((t.state === "firing" ? 2 : 1) * devicePixelRatio);
    // On a whole pixel row (half a pixel off for an odd width), so the line is crisp.
    const y = Math.round(u.valToPos(t.value, "y", true)) + (w % 2) / 2;
    if (y < top || y > top + height) continue;
    ctx.strokeStyle = themeColor(`--sev${t.severity}`);
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
  ctx.restore();
}
