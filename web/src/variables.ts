// A dashboard's queries as the server expands them for a time range: its variables resolved
// (options and selection) and every panel's targets with the variables substituted. The server
// is the one place variables are substituted; live pushes are evaluated from the same expansion
// and carry its key, so a panel's history and its live points are one series.
import { api } from "./api";
import type { Target } from "./model";
import type { Range } from "./time";

/** allValue is the selection of a variable's All option. */
export const allValue = "$__all";

export interface VariableState {
  name: string;
  /** options are the values to choose from, the All option aside. */
  options: string[];
  /** current is the selection in effect: ["$__all"], values among the options, or empty. */
  current: string[];
  error?: string;
}

export interface Expansion {
  version: number;
  /** start, end and step (ms) are the range queries' parameters. */
  start: number;
  end: number;
  step: number;
  /** key identifies the step and the expanded queries; live pushes carry the key they evaluate. */
  key: string;
  variables: VariableState[];
  panels: { id: number; targets: Target[] }[];
}

/** loadExpansion asks the server for a dashboard's queries expanded for range. */
export function loadExpansion(uid: string, range: Range): Promise<Expansion> {
  const q = new URLSearchParams({ from: String(Math.floor(range.from)), to: String(Math.ceil(range.to)) });
  return api<Expansion>("GET", `/api/dashboards/${encodeURIComponent(uid)}/queries?${q}`);
}
