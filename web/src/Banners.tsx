import type { ComponentChildren } from "preact";
import type { PeerState } from "./collab";
import { useOnline } from "./useOnline";

/** Banner is a line across the page about the page itself: an alert or a status. */
export function Banner({ role, children, action, onAction }: {
  role: "alert" | "status";
  children: ComponentChildren;
  action?: string;
  onAction?(): void;
}) {
  return (
    <div class="banner" role={role}>
      <span>{children}</span>
      {action && <button onClick={onAction}>{action}</button>}
    </div>
  );
}

/** OfflineBanner says, on every page, that the device has no network: the page may be the
 * shell the service worker kept, with nothing live behind it until the network is back. */
export function OfflineBanner() {
  const online = useOnline();
  if (online) return null;
  return (
    <Banner role="status">
      <strong>You are offline.</strong> Huddle reconnects and catches up when the network is back.
    </Banner>
  );
}

/** LoadFailed is the whole page when the dashboard cannot be shown. */
export function LoadFailed({ error }: { error: string }) {
  return (
    <div>
      <header class="top">
        <a class="brand" href="/">Huddle</a>
      </header>
      <main>
        <p class="error" role="alert">{error}</p>
        <a href="/">All dashboards</a>
      </main>
    </div>
  );
}

interface DashboardBannersProps {
  conflict: string;
  onLoadLatest(): void;
  notice: string;
  onDismiss(): void;
  followed: PeerState | undefined;
}

/** DashboardBanners tell of a save refused, a notice, and the viewer being followed. */
export function DashboardBanners({ conflict, onLoadLatest, notice, onDismiss, followed }: DashboardBannersProps) {
  return (
    <>
      {conflict && (
        <Banner role="alert" action="Load the latest version" onAction={onLoadLatest}>
          <strong>Your change was not saved.</strong> {conflict}
        </Banner>
      )}
      {notice && <Banner role="status" action="Dismiss" onAction={onDismiss}>{notice}</Banner>}
      {followed && <Banner role="status">Following {followed.name}. Scroll, click or press a key to stop.</Banner>}
    </>
  );
}
