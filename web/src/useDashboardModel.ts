// useDashboardModel loads a dashboard and saves it. A save that meets a newer version is
// refused by the server (409) and kept as a conflict for the person to resolve; a change saved
// by someone else loads the new version, unless it is the event of one's own save in flight.
import { useCallback, useRef, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import type { Dashboard, StoredDashboard, TimeRange } from "./model";
import type { ChangeEvent } from "./messages";
import { useLatest } from "./latest";

export function useDashboardModel(uid: string) {
  const [stored, setStored] = useState<StoredDashboard | null>(null);
  const [loadError, setLoadError] = useState("");
  const [conflict, setConflict] = useState("");
  const [notice, setNotice] = useState("");
  /** timeRange is the range viewed: the dashboard's own until the person picks another. */
  const [timeRange, setTimeRange] = useState<TimeRange | null>(null);
  /** layoutKey renews the grid when the layout comes from elsewhere than its own drags. */
  const [layoutKey, setLayoutKey] = useState(0);
  const storedRef = useLatest(stored);
  const saving = useRef<{ seen: number } | null>(null);
  const path = `/api/dashboards/${encodeURIComponent(uid)}`;

  const load = useCallback(async () => {
    try {
      const st = await api<StoredDashboard>("GET", path);
      setStored(st);
      setLayoutKey((k) => k + 1);
      setTimeRange((cur) => cur ?? st.dashboard.time);
      document.title = `${st.dashboard.title} · Huddle`;
      return st;
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
      return null;
    }
  }, [path]);

  /** version is the version shown, for the hub's messages to be compared with. */
  const version = useCallback(() => storedRef.current?.dashboard.version ?? 0, [storedRef]);

  const save = useCallback(async (next: Dashboard): Promise<boolean> => {
    const flight = { seen: 0 };
    saving.current = flight;
    try {
      const st = await api<StoredDashboard>("PUT", path, next);
      setStored(st);
      setConflict("");
      // Someone else saved after this save while its answer was on the way.
      if (flight.seen > st.dashboard.version) load();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setConflict(e.message);
      else setNotice(`Not saved: ${e instanceof Error ? e.message : e}`);
      return false;
    } finally {
      if (saving.current === flight) saving.current = null;
    }
  }, [path, load]);

  /** onEvent follows the dashboard's own changes told by the hub. */
  const onEvent = useCallback((ev: ChangeEvent) => {
    if (ev.type === "dashboard.updated") {
      // The event of one's own save may come before the save's answer: while a save is in
      // flight, the version is only noted and looked at again once the answer is in.
      if (saving.current) {
        saving.current.seen = Math.max(saving.current.seen, ev.version);
        return;
      }
      if (ev.version > version()) {
        load();
        if (ev.by) setNotice(`${ev.by} saved version ${ev.version}`);
      }
    } else if (ev.type === "dashboard.deleted") {
      setLoadError(`This dashboard was deleted${ev.by ? " by " + ev.by : ""}.`);
    }
  }, [load, version]);

  const relayout = useCallback(() => setLayoutKey((k) => k + 1), []);

  return {
    stored, loadError, setLoadError, conflict, setConflict, notice, setNotice,
    timeRange, setTimeRange, layoutKey, relayout, load, version, save, onEvent,
  };
}
