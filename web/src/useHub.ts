// useHub keeps the dashboard's hub connection for as long as the page shows the dashboard. The
// handlers are those of the latest render, so a new render never reconnects.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { Hub, type HubHandlers, type Negotiated, type Status } from "./hub";
import { useLatest } from "./latest";

export interface DashboardHubHandlers extends Omit<HubHandlers, "status"> {
  /** online: the groups are joined, the first time or again after a drop. */
  online(reconnected: boolean): void;
  /** failed: no connection could be made at all. */
  failed(message: string): void;
}

export function useHub(uid: string, handlers: DashboardHubHandlers) {
  const [status, setStatus] = useState<Status>("connecting");
  const [me, setMe] = useState<Negotiated | null>(null);
  const hub = useRef<Hub | null>(null);
  const on = useLatest(handlers);

  useEffect(() => {
    const h = new Hub(uid, {
      server: (m) => on.current.server?.(m),
      peer: (m, from) => on.current.peer?.(m, from),
      alerts: (m) => on.current.alerts?.(m),
      status: (s, reconnected) => {
        setStatus(s);
        if (s === "online") on.current.online(reconnected);
      },
    });
    hub.current = h;
    h.start()
      .then(setMe)
      .catch((e) => on.current.failed(e instanceof ApiError ? e.message : `Could not connect: ${e}`));
    const bye = () => h.send({ type: "bye" });
    addEventListener("pagehide", bye);
    return () => {
      removeEventListener("pagehide", bye);
      bye();
      h.stop();
    };
  }, [uid, on]);

  return { hub, status, me };
}
