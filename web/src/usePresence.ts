// usePresence keeps who is on which dashboard, live: the page listens to the hub's presence
// group (joined with a token negotiated on no dashboard) and a PresenceTracker turns that and
// the server's answers into the map the page shows.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import type { Viewer } from "./collab";
import { PresenceTracker, type DashboardPresence, type Presence } from "./homepage";
import { Hub, type Status } from "./hub";

/** viewersOf asks who is on dashboard uid; one this person may not see, or gone, has nobody to
 * show, and any other failure leaves what is shown (null). */
async function viewersOf(uid: string): Promise<Viewer[] | null> {
  try {
    return await api<Viewer[]>("GET", `/api/dashboards/${encodeURIComponent(uid)}/viewers`);
  } catch (e) {
    return e instanceof ApiError && (e.status === 403 || e.status === 404) ? [] : null;
  }
}

export function usePresence() {
  const [presence, setPresence] = useState<Presence>(new Map());
  const [status, setStatus] = useState<Status>("connecting");
  const [me, setMe] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    let stopped = false;
    const tracker = new PresenceTracker(
      () => api<DashboardPresence[]>("GET", "/api/presence"),
      viewersOf,
      (p) => !stopped && setPresence(p),
    );
    const h = new Hub(null, {
      presence: (data) => {
        if (data.type === "presence" && typeof data.dashboard === "string") void tracker.named(data.dashboard);
      },
      status: (s) => {
        setStatus(s);
        if (s !== "online") return;
        tracker.reload().then(
          () => !stopped && setError(""),
          (e) => !stopped && setError(`Could not load who is where: ${e instanceof Error ? e.message : e}`),
        );
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
