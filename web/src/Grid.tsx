import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { useLatest } from "./latest";
import type { ComponentChildren } from "preact";
import { GridStack } from "gridstack";
import "gridstack/dist/gridstack.min.css";
import type { Panel } from "./model";

export interface Layout {
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

interface GridProps {
  panels: Panel[];
  /** stacked lays the panels out for a narrow screen (Stack) instead of on the grid. */
  stacked: boolean;
  editing: boolean;
  onLayout(layout: Layout[]): void;
  render(p: Panel): ComponentChildren;
}

/** Grafana's grid: 24 columns. */
const columns = 24;

/** Grid shows the panels on the 24-column grid, or stacked on a narrow screen. */
export function Grid({ stacked, ...p }: GridProps) {
  return stacked ? <Stack panels={p.panels} render={p.render} /> : <Gridded {...p} />;
}

/** Stack lays the panels out for a phone or a tablet: in the grid's reading order (top to bottom,
 * then left to right), sized by the stylesheet by their type, so a chart gets the full width (half
 * on a tablet) and a single value shares a row. It never reports a layout: what suits a small
 * screen is not the dashboard's layout. */
function Stack({ panels, render }: Pick<GridProps, "panels" | "render">) {
  const ordered = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  return (
    <div class="stack">
      {ordered.map((p) => (
        <div key={p.id} class={`stack-item stack-${p.type}`}>
          {render(p)}
        </div>
      ))}
    </div>
  );
}

/** Gridded lays panels out on Grafana's 24-column grid with gridstack; in edit mode they can be
 * dragged by their title and resized, and the new positions are reported once a move ends. */
function Gridded({ panels, editing, onLayout, render }: Omit<GridProps, "stacked">) {
  const host = useRef<HTMLDivElement>(null);
  const grid = useRef<GridStack | null>(null);
  const report = useLatest(onLayout);
  // The grid is made once; later changes of editing reach it through setStatic below.
  const editingRef = useLatest(editing);

  useLayoutEffect(() => {
    const g = GridStack.init(
      {
        column: columns,
        cellHeight: 30,
        margin: 4,
        animate: false,
        staticGrid: !editingRef.current,
        handle: ".panel-head",
        // Narrow screens stack the panels in one column. columnMax is the column count above
        // the breakpoints; gridstack's default of 12 would halve every panel's width.
        columnOpts: { columnMax: columns, breakpoints: [{ w: 700, c: 1 }] },
      },
      host.current!,
    );
    if (!g) return;
    // Only a person's drag or resize on the full grid is a layout to save: gridstack also
    // reports "change" when a narrow window stacks the panels, which must not be saved for all.
    const moved = () => {
      if (g.getColumn() !== columns) return;
      const items = g.save(false) as { id?: string; x?: number; y?: number; w?: number; h?: number }[];
      report.current(items.map((i) => ({ id: Number(i.id), x: i.x ?? 0, y: i.y ?? 0, w: i.w ?? 1, h: i.h ?? 1 })));
    };
    // gridstack settles the other items after its stop event, so the layout is read just after.
    g.on("dragstop resizestop", () => queueMicrotask(moved));
    grid.current = g;
    return () => {
      g.destroy(false);
      grid.current = null;
    };
  }, [report, editingRef]);

  useEffect(() => {
    grid.current?.setStatic(!editing);
  }, [editing]);

  return (
    <div class="grid-stack" ref={host}>
      {panels.map((p) => (
        <div
          key={p.id}
          class="grid-stack-item"
          gs-id={String(p.id)}
          gs-x={String(p.gridPos.x)}
          gs-y={String(p.gridPos.y)}
          gs-w={String(p.gridPos.w)}
          gs-h={String(p.gridPos.h)}
        >
          <div class="grid-stack-item-content">{render(p)}</div>
        </div>
      ))}
    </div>
  );
}
