import type { ComponentChildren } from "preact";
import { memo } from "preact/compat";
import type { PeerState } from "./collab";
import type { PanelData } from "./data";
import type { Annotation, Panel } from "./model";
import type { Store } from "./store";
import type { Range } from "./time";
import { TimeSeries } from "./panels/TimeSeries";
import { Gauge, Stat, Table } from "./panels/Single";
import { BarGauge } from "./panels/BarGauge";
import type { Threshold } from "./thresholds";
import { usePanelData } from "./usePanelData";

/** PanelActions are what a panel asks of the dashboard, the same object for every panel and
 * render, so that a panel renders again only when its own props change. */
export interface PanelActions {
  hover(t: number | null): void;
  zoom(from: number, to: number): void;
  annotate(panel: number, time: number, timeEnd: number): void;
  annotationClick(a: Annotation): void;
  edit(p: Panel): void;
  remove(id: number): void;
}

interface PanelViewProps {
  panel: Panel;
  data?: PanelData;
  /** range is the span the charts show, read as they draw. */
  range: { current: Range };
  annotations: Annotation[];
  /** thresholds of the alert rules that watch one of the panel's queries. */
  thresholds: Threshold[];
  /** pointers are the other viewers with their crosshairs. */
  pointers: Store<Map<string, PeerState>>;
  editing: boolean;
  canAnnotate: boolean;
  actions: PanelActions;
}

/** What a chart's panel shows around it: the chart draws its own pushes. */
const aroundChart = (d: PanelData) => `${d.series.length === 0} ${[...d.errors].join("\n")}`;

/** PanelView is one panel in one of its states: loading its history, its data, "No data" when
 * its queries found no series, and above any of these the error of each query that failed. It
 * renders again only when its props change or its data changes what it shows, not when another
 * panel's does. */
export const PanelView = memo(function PanelView(p: PanelViewProps) {
  const { panel, actions } = p;
  usePanelData(p.data, panel.type === "timeseries" ? aroundChart : undefined);
  const single = { unit: panel.unit, decimals: panel.decimals, min: panel.min, max: panel.max, thresholds: panel.thresholds };
  const errors = [...(p.data?.errors ?? [])];
  let body: ComponentChildren = <div class="muted">Loading…</div>;
  if (p.data?.series.length === 0) {
    // Where a query failed, its error says why the panel is empty.
    body = errors.length === 0 && <div class="no-data">No data</div>;
  } else if (p.data) {
    switch (panel.type) {
      case "timeseries":
        body = (
          <TimeSeries
            data={p.data}
            unit={panel.unit}
            decimals={panel.decimals}
            min={panel.min}
            max={panel.max}
            softMin={panel.softMin}
            softMax={panel.softMax}
            lineWidth={panel.lineWidth}
            range={p.range}
            annotations={p.annotations}
            thresholds={p.thresholds}
            pointers={p.pointers}
            onHover={actions.hover}
            onZoom={actions.zoom}
            onAnnotate={p.canAnnotate ? (time, timeEnd) => actions.annotate(panel.id, time, timeEnd) : undefined}
            onAnnotationClick={actions.annotationClick}
          />
        );
        break;
      case "stat":
        body = <Stat data={p.data} {...single} />;
        break;
      case "gauge":
        body = <Gauge data={p.data} {...single} />;
        break;
      case "bargauge":
        body = <BarGauge data={p.data} {...single} />;
        break;
      case "table":
        body = <Table data={p.data} {...single} />;
        break;
    }
  }
  return (
    <section class="panel" data-panel-id={panel.id} aria-label={panel.title}>
      <div class="panel-head">
        <h3 title={panel.description || panel.title}>{panel.title}</h3>
        {p.thresholds.length > 0 && (
          <span class="panel-rules" title={p.thresholds.map(describe).join("\n")}>
            {p.thresholds.map((t) => (
              <span key={t.rule} class={`sev-dot sev${t.severity} ${t.state}`} data-rule={t.rule} aria-label={describe(t)} />
            ))}
          </span>
        )}
        {p.editing && (
          <>
            <button onClick={() => actions.edit(panel)} aria-label={`Edit ${panel.title}`}>Edit</button>
            <button class="danger" onClick={() => actions.remove(panel.id)} aria-label={`Remove ${panel.title}`}>✕</button>
          </>
        )}
      </div>
      {errors.map(([refId, e]) => (
        <div key={refId} class="panel-error" role="alert">
          {panel.targets.length > 1 ? `${refId}: ${e}` : e}
        </div>
      ))}
      <div class="panel-body">{body}</div>
    </section>
  );
});

function describe(t: Threshold): string {
  return `${t.rule} (${t.state}): ${t.op} ${t.value}`;
}
