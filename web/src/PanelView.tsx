import type { ComponentChildren } from "preact";
import type { PanelData } from "./data";
import type { Annotation, Panel } from "./model";
import { TimeSeries, type Crosshair } from "./panels/TimeSeries";
import { Gauge, Stat, Table } from "./panels/Single";
import { BarGauge } from "./panels/BarGauge";
import type { Threshold } from "./thresholds";

interface PanelViewProps {
  panel: Panel;
  data?: PanelData;
  revision: number;
  range: { from: number; to: number };
  annotations: Annotation[];
  /** thresholds of the alert rules that watch one of the panel's queries. */
  thresholds: Threshold[];
  crosshairs: Crosshair[];
  editing: boolean;
  onHover(t: number | null): void;
  onZoom(from: number, to: number): void;
  onAnnotate?(time: number, timeEnd: number): void;
  onAnnotationClick(a: Annotation): void;
  onEdit(): void;
  onRemove(): void;
}

/** PanelView is one panel in one of its states: loading its history, its data, "No data" when
 * its queries found no series, and above any of these the error of each query that failed. */
export function PanelView(p: PanelViewProps) {
  const { panel } = p;
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
            revision={p.revision}
            unit={panel.unit}
            decimals={panel.decimals}
            range={p.range}
            annotations={p.annotations}
            thresholds={p.thresholds}
            crosshairs={p.crosshairs}
            onHover={p.onHover}
            onZoom={p.onZoom}
            onAnnotate={p.onAnnotate}
            onAnnotationClick={p.onAnnotationClick}
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
            <button onClick={p.onEdit} aria-label={`Edit ${panel.title}`}>Edit</button>
            <button class="danger" onClick={p.onRemove} aria-label={`Remove ${panel.title}`}>✕</button>
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
}

function describe(t: Threshold): string {
  return `${t.rule} (${t.state}): ${t.op} ${t.value}`;
}
