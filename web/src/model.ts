// The dashboard model as the server stores it (close to Grafana's).

export interface TimeRange {
  from: string;
  to: string;
}

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
}

export interface Threshold {
  value: number | null;
  color: string;
}

export type PanelType = "timeseries" | "stat" | "gauge" | "bargauge" | "table";

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description?: string;
  gridPos: GridPos;
  targets: Target[];
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  softMin?: number;
  softMax?: number;
  lineWidth?: number;
  thresholds?: Threshold[];
}

export interface Variable {
  name: string;
  label?: string;
  type: "query" | "custom" | "constant" | "interval";
  query: string;
  regex?: string;
  sort?: number;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  /** 0 shown, 1 shown without its label, 2 not shown. */
  hide?: number;
  refresh?: number;
  /** Values, or ["$__all"]; empty means the first option, as in Grafana. */
  current?: string[];
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  time: TimeRange;
  refresh: string;
  variables: Variable[];
  panels: Panel[];
  version: number;
}

export interface Meta {
  created: string;
  updated: string;
  createdBy: string;
  updatedBy: string;
  annotationSeq: number;
  canEdit: boolean;
}

export interface StoredDashboard {
  dashboard: Dashboard;
  meta: Meta;
}

export interface Annotation {
  id: number;
  dashboardUID: string;
  panelId: number;
  time: number;
  timeEnd: number;
  tags: string[];
  text: string;
  userId: string;
  login: string;
  created: number;
  updated: number;
  seq: number;
  deleted?: boolean;
}

export interface DashboardSummary {
  uid: string;
  title: string;
  tags: string[];
  version: number;
  updated: string;
  /** Whether the signed-in person starred it. */
  starred: boolean;
  /** When the signed-in person last opened it (unix ms), 0 if not lately. */
  viewedAt: number;
}

/** AnnotationDraft is an annotation being written or read in the editor: a new one has no id. */
export interface AnnotationDraft {
  id?: number;
  panelId: number;
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
  login?: string;
}
