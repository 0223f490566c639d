// Hooks that keep alerting state current: a list of incidents, one incident with its timeline,
// and the rule groups. Each loads over HTTP whenever `epoch` changes (the page bumps it each
// time its hub connection is up, first or again, since messages of a fresh connection start
// from then) and applies the hub's alerts messages given to its `apply`. Messages that arrive
// while a load is under way are kept and applied to its answer, so none is lost between the
// snapshot and the stream.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { useChangeCount, useLatest } from "./latest";
import {
  isOpen,
  loadIncident,
  loadIncidents,
  loadRules,
  putEntry,
  putIncident,
  type AlertMessage,
  type Entry,
  type Group,
  type Incident,
  type IncidentQuery,
} from "./alerts";

/** Loaded is what a hook holds: the value once loaded, and why it is not. */
export interface Loaded<T> {
  value: T | null;
  error: string;
  /** missing: the server has no alerting API (404), so there is nothing to show at all. */
  missing: boolean;
}

function failure<T>(e: unknown): Loaded<T> {
  return { value: null, error: e instanceof Error ? e.message : String(e), missing: e instanceof ApiError && e.status === 404 };
}

/** useLoaded runs load at each epoch and applies the messages given to apply with step, those
 * that came during the load applied to its answer. */
function useLoaded<T>(load: () => Promise<T>, step: (v: T, m: AlertMessage) => T, deps: unknown[]) {
  const [state, setState] = useState<Loaded<T>>({ value: null, error: "", missing: false });
  const pending = useRef<AlertMessage[] | null>(null);
  const seq = useRef(0);
  const loadRef = useLatest(load);
  const stepRef = useLatest(step);
  const changes = useChangeCount(deps);

  const reload = useCallback(async () => {
    const n = ++seq.current;
    pending.current = [];
    try {
      let v: T = await loadRef.current();
      if (n !== seq.current) return;
      for (const m of pending.current ?? []) v = stepRef.current(v, m);
      setState({ value: v, error: "", missing: false });
    } catch (e) {
      if (n === seq.current) setState(failure(e));
    } finally {
      if (n === seq.current) pending.current = null;
    }
  }, [loadRef, stepRef]);

  useEffect(() => {
    reload();
  }, [reload, changes]);

  const apply = useCallback((m: AlertMessage) => {
    if (pending.current) pending.current.push(m);
    else setState((s) => (s.value === null ? s : { ...s, value: stepRef.current(s.value, m) }));
  }, [stepRef]);

  return { ...state, apply, reload };
}

const reloadAfter = 500;

/** useIncidents keeps the incidents that answer query. The open ones (the alert bar's) are kept
 * from the messages alone; for other filters, whose rules are the server's (text search), an
 * incident that comes or goes makes the list load again, at most every half second. */
export function useIncidents(query: IncidentQuery, epoch: number) {
  const key = JSON.stringify(query);
  const plainOpen = query.state === "open" && query.severities.length === 0 && query.q === "";
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadRef = useRef<() => void>(() => {});
  const later = () => {
    if (timer.current === null) timer.current = setTimeout(() => { timer.current = null; reloadRef.current(); }, reloadAfter);
  };
  useEffect(() => () => { if (timer.current !== null) clearTimeout(timer.current); }, []);

  const loaded = useLoaded<Incident[]>(
    () => loadIncidents(query),
    (list, m) => {
      if (m.type === "timeline") return list;
      if (m.type === "rules") return list;
      const inc = m.incident;
      const before = list.find((i) => i.id === inc.id);
      if (plainOpen) return putIncident(list, inc, isOpen);
      if (before && before.state === inc.state && isOpen(before) === isOpen(inc)) return putIncident(list, inc);
      later();
      return before ? putIncident(list, inc) : list;
    },
    [key, epoch],
  );
  reloadRef.current = loaded.reload;
  return loaded;
}

export type IncidentWithTimeline = Incident & { timeline: Entry[] };

/** useIncident keeps one incident and its timeline. */
export function useIncident(id: string, epoch: number) {
  return useLoaded<IncidentWithTimeline>(
    () => loadIncident(id),
    (v, m) => {
      if (m.type === "incident" && m.incident.id === id) return { ...m.incident, timeline: v.timeline };
      if (m.type === "timeline" && m.incidentId === id) return { ...v, timeline: putEntry(v.timeline, m.entry) };
      return v;
    },
    [id, epoch],
  );
}

/** How often a page showing rules' evaluation loads them again. */
export const rulesRefreshEvery = 10_000;

/** useRules keeps the rule groups; a rules message makes them load again. The hub tells of
 * alerts that fire or resolve, not of each evaluation, so a page that shows evaluation times and
 * pending alerts also loads them every `every` ms. */
export function useRules(epoch: number, every = 0) {
  const [bump, setBump] = useState(0);
  const loaded = useLoaded<Group[]>(loadRules, (v) => v, [epoch, bump]);
  const apply = useCallback((m: AlertMessage) => {
    if (m.type === "rules") setBump((b) => b + 1);
  }, []);
  useEffect(() => {
    if (every <= 0) return;
    const t = setInterval(() => document.visibilityState === "visible" && setBump((b) => b + 1), every);
    return () => clearInterval(t);
  }, [every]);
  return { ...loaded, apply };
}
