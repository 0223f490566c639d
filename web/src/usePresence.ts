// usePresence keeps who is on which dashboard, live: the page listens to the hub's presence
// group (joined with a token negotiated on no dashboard), loads GET /api/presence each time its
// connection is up (first or again: what happened while it was away is not replayed), and for
// each dashboard the group names asks GET /api/dashboards/<uid>/viewers, which answers only for
// dashboards this person may see. One request per dashboard at a time, and one more if it was
// named again meanwhile; an answer begun before the latest full load is dropped, that load being
// newer.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import type { Viewer } from "./collab";
import { presenceFrom, withViewers, type DashboardPresence, type Presence } from "./homepage";
import { Hub, type Status } from "./hub";

export function usePresence() {
  const [presence, setPresence] = useState<Presence>(new Map());
  const [status, setStatus] = useState<Status>("connecting");
  const [me, setMe] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    let stopped = false;
    let loads = 0;
    let loading: Set<string> | null = null;
    const asking = new Map<string, boolean>(); // uid -> named again while asking

    const ask = async (uid: string) => {
      if (loading) return void loading.add(uid);
      if (asking.has(uid)) return void asking.set(uid, true);
      asking.set(uid, false);
      const since = loads;
      let viewers: Viewer[] | null = null;
      try {
        viewers = await api<Viewer[]>("GET", `/api/dashboards/${encodeURIComponent(uid)}/viewers`);
      } catch (e) {
        // Not this person's to see, or gone: nobody to show there.
        if (e instanceof ApiError && (e.status === 403 || e.status === 404)) viewers = [];
      }
      if (!stopped && viewers && since === loads) setPresence((p) => withViewers(p, uid, viewers));
      const again = asking.get(uid);
      asking.delete(uid);
      if (again && !stopped) void ask(uid);
    };

    const load = async () => {
      loads++;
      loading ??= new Set();
      try {
        const list = await api<DashboardPresence[]>("GET", "/api/presence");
        if (!stopped) setPresence(presenceFrom(list));
      } catch (e) {
        if (!stopped) setError(`Could not load who is where: ${e instanceof Error ? e.message : e}`);
      } finally {
        const named = loading ?? new Set<string>();
        loading = null;
        for (const uid of named) void ask(uid);
      }
    };

    const h = new Hub(null, {
      presence: (data) => {
        if (data.type === "presence" && typeof data.dashboard === "string") void ask(data.dashboard);
      },
      status: (s) => {
        setStatus(s);
        if (s === "online") void load();
      },
    });
    h.start()
      .then((n) => !stopped && setMe(n.userId))
      .catch((e) => !stopped && setError(`Live presence is off: ${e instanceof Error ? e.message : e}`));
    return () => {
      stopped = true;
      h.stop();
    };
  }, []);

  return { presence, status, me, error };
}
