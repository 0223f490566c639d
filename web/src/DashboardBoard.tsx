import type { RefObject } from "preact";
import { useMemo } from "preact/hooks";
import type { PeerState } from "./collab";
import type { PanelData } from "./data";
import type { Annotation, AnnotationDraft, Panel } from "./model";
import type { Range } from "./time";
import type { Expansion } from "./variables";
import { thresholdsFor, type WatchingRule } from "./thresholds";
import { Grid, type Layout } from "./Grid";
import { PanelView, type PanelActions } from "./PanelView";
import { Cursors } from "./Presence";
import { useLatest } from "./latest";
import type { Store } from "./store";

interface Props {
  board: RefObject<HTMLDivElement>;
  layoutKey: number;
  panels: Panel[];
  /** stacked shows the panels for a narrow screen, where the layout is not edited. */
  stacked: boolean;
  editing: boolean;
  canEdit: boolean;
  data: Map<number, PanelData>;
  range: { current: Range };
  annotations: Annotation[];
  expansion: Expansion | null;
  rules: WatchingRule[];
  pointers: Store<Map<string, PeerState>>;
  /** hoverTime receives the time under the pointer on a chart. */
  hoverTime: { current: number | null };
  onLayout(layout: Layout[]): void;
  onZoom(from: number, to: number): void;
  onDraft(d: AnnotationDraft): void;
  onEditPanel(p: Panel): void;
  onRemovePanel(id: number): void;
}

/** DashboardBoard is the grid of panels, with the other viewers' pointers over it. */
export function DashboardBoard(p: Props) {
  const latest = useLatest(p);
  const actions = useMemo<PanelActions>(
    () => ({
      hover: (t) => (latest.current.hoverTime.current = t),
      zoom: (from, to) => latest.current.onZoom(from, to),
      annotate: (panelId, time, timeEnd) => latest.current.onDraft({ panelId, time, timeEnd, text: "", tags: [] }),
      annotationClick: (a) => latest.current.onDraft({ ...a }),
      edit: (panel) => latest.current.onEditPanel(panel),
      remove: (id) => latest.current.onRemovePanel(id),
    }),
    [latest],
  );
  const { panels, expansion, rules } = p;
  const thresholds = useMemo(() => new Map(panels.map((panel) => [panel.id, panelThresholds(expansion, panel.id, rules)])), [panels, expansion, rules]);
  return (
    <div class={`board ${p.editing ? "editing" : ""}`} ref={p.board}>
      <Grid
        key={p.layoutKey}
        panels={p.panels}
        stacked={p.stacked}
        editing={p.editing}
        onLayout={p.onLayout}
        render={(panel) => (
          <PanelView
            panel={panel}
            data={p.data.get(panel.id)}
            range={p.range}
            // An annotation marks a moment of the whole system, so every chart shows it, not
            // only the one it was made on (panelId keeps where that was).
            annotations={p.annotations}
            thresholds={thresholds.get(panel.id) ?? noThresholds}
            pointers={p.pointers}
            editing={p.editing}
            canAnnotate={p.canEdit}
            actions={actions}
          />
        )}
      />
      <Cursors pointers={p.pointers} board={p.board} />
    </div>
  );
}

const noThresholds: ReturnType<typeof thresholdsFor> = [];

/** panelThresholds are the thresholds of the rules watching one of the panel's queries, as the
 * server expanded them. */
function panelThresholds(x: Expansion | null, panel: number, rules: WatchingRule[]) {
  const targets = x?.panels.find((t) => t.id === panel)?.targets ?? [];
  return rules.length === 0 ? [] : thresholdsFor(targets.map((t) => t.expr), rules);
}
