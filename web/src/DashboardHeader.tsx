import { useState } from "preact/hooks";
import type { Negotiated, Status } from "./hub";
import type { PeerState } from "./collab";
import type { Dashboard, TimeRange } from "./model";
import { Presence } from "./Presence";
import { TimePicker } from "./TimePicker";
import { ThemeToggle } from "./theme";

interface Props {
  uid: string;
  dash: Dashboard;
  canEdit: boolean;
  peers: Map<string, PeerState>;
  me: Negotiated | null;
  following: string | null;
  onFollow(userId: string): void;
  timeRange: TimeRange;
  onTimeRange(r: TimeRange): void;
  status: Status;
  editing: boolean;
  /** stacked is a screen too narrow for the grid, where the layout is not edited. */
  stacked: boolean;
  onEditing(on: boolean): void;
  onAddPanel(): void;
  showSide: boolean;
  onShowSide(on: boolean): void;
}

const statusText: Record<Status, string> = { online: "live", offline: "offline, reconnecting…", connecting: "connecting…" };

/** DashboardHeader is the dashboard's top bar: who is here, the range, the connection, and the
 * switches of the page. On a phone the switches fold into a menu (the stylesheet decides when). */
export function DashboardHeader(p: Props) {
  const [menu, setMenu] = useState(false);
  // A choice in the menu is made: the menu gets out of the way.
  const chosen = (e: Event) => {
    if ((e.target as HTMLElement).closest("button, a")) setMenu(false);
  };
  return (
    <header class="top">
      <a class="brand" href="/" title="All dashboards">Huddle</a>
      <h1>{p.dash.title}</h1>
      <div class={`top-menu ${menu ? "open" : ""}`} id="top-menu" onClick={chosen}>
        <a href="/alerts">Alerts</a>
        <span class="spacer" />
        <TimePicker value={p.timeRange} onChange={p.onTimeRange} refresh={p.dash.refresh} />
        {p.canEdit && p.stacked && <span class="muted edit-note">Layout editing needs a wider screen</span>}
        {p.canEdit && !p.stacked && (
          <button onClick={() => p.onEditing(!p.editing)} aria-pressed={p.editing}>
            {p.editing ? "Done" : "Edit layout"}
          </button>
        )}
        {p.canEdit && p.editing && !p.stacked && <button onClick={p.onAddPanel}>Add panel</button>}
        <button onClick={() => p.onShowSide(!p.showSide)} aria-pressed={p.showSide}>Annotations</button>
        <a href={`/api/dashboards/${encodeURIComponent(p.uid)}/export`} download={`${p.uid}.json`}>Export</a>
        <ThemeToggle />
      </div>
      <Presence peers={p.peers} me={p.me} following={p.following} onFollow={p.onFollow} />
      <span class={`status ${p.status}`} role="status" aria-live="polite">{statusText[p.status]}</span>
      <button class="menu-toggle" aria-expanded={menu} aria-controls="top-menu" onClick={() => setMenu(!menu)}>
        Menu
      </button>
    </header>
  );
}
