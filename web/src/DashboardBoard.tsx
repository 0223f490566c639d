import type { RefObject } from "preact";
import type { PeerState } from "./collab";
import type { PanelData } from "./data";
import type { Annotation, AnnotationDraft, Panel } from "./model";
import type { Range } from "./time";
import type { Expansion } from "./variables";
import { thresholdsFor, type WatchingRule } from "./thresholds";
import { Grid, type Layout } from "./Grid";
import { PanelView } from "./PanelView";
import { Cursors } from "./Presence";

interface Props {
  board: RefObject<HTMLDivElement>;
  layoutKey: number;
  panels: Panel[];
  /** stacked shows the panels for a narrow screen, where the layout is not edited. */
  stacked: boolean;
  editing: boolean;
  canEdit: boolean;
  data: Map<number, PanelData>;
  revision: number;
  range: Range;
  annotations: Annotation[];
  expansion: Expansion | null;
  rules: WatchingRule[];
  peers: Map<string, PeerState>;
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
  const crosshairs = [...p.peers.values()].filter((v) => v.crosshair).map((v) => ({ time: v.crosshair!.time, color: v.color }));
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
            revision={p.revision}
            range={p.range}
            // An annotation marks a moment of the whole system, so every chart shows it, not
            // only the one it was made on (panelId keeps where that was).
            annotations={p.annotations}
            thresholds={panelThresholds(p.expansion, panel.id, p.rules)}
            crosshairs={crosshairs}
            editing={p.editing}
            onHover={(t) => (p.hoverTime.current = t)}
            onZoom={p.onZoom}
            onAnnotate={p.canEdit ? (time, timeEnd) => p.onDraft({ panelId: panel.id, time, timeEnd, text: "", tags: [] }) : undefined}
            onAnnotationClick={(a) => p.onDraft({ ...a })}
            onEdit={() => p.onEditPanel(panel)}
            onRemove={() => p.onRemovePanel(panel.id)}
          />
        )}
      />
      <Cursors peers={p.peers} board={p.board} />
    </div>
  );
}

/** panelThresholds are the thresholds of the rules watching one of the panel's queries, as the
 * server expanded them. */
function panelThresholds(x: Expansion | null, panel: number, rules: WatchingRule[]) {
  const targets = x?.panels.find((t) => t.id === panel)?.targets ?? [];
  return rules.length === 0 ? [] : thresholdsFor(targets.map((t) => t.expr), rules);
}
