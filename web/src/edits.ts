// Changes to a dashboard's panels made on the page, before they are saved.
import type { Dashboard, Panel } from "./model";
import type { Layout } from "./Grid";

/** newPanel is an empty chart placed below the others, full half width. */
export function newPanel(d: Dashboard): Panel {
  const bottom = d.panels.reduce((m, p) => Math.max(m, p.gridPos.y + p.gridPos.h), 0);
  return { id: 0, type: "timeseries", title: "New panel", gridPos: { x: 0, y: bottom, w: 12, h: 8 }, targets: [{ refId: "A", expr: "" }] };
}

/** putPanel replaces the panel of the same id, or adds it when new (id 0, given by the server). */
export function putPanel(panels: Panel[], p: Panel): Panel[] {
  const exists = panels.some((x) => x.id === p.id && p.id !== 0);
  return exists ? panels.map((x) => (x.id === p.id ? p : x)) : [...panels, p];
}

/** movedPanels are the panels placed as in layout, or null when none moved. */
export function movedPanels(panels: Panel[], layout: Layout[]): Panel[] | null {
  const pos = new Map(layout.map((l) => [l.id, l]));
  const next = panels.map((p) => {
    const l = pos.get(p.id);
    return l ? { ...p, gridPos: { x: l.x, y: l.y, w: l.w, h: l.h } } : p;
  });
  const changed = next.some((p, i) => JSON.stringify(p.gridPos) !== JSON.stringify(panels[i].gridPos));
  return changed ? next : null;
}
