// The home page's rules, apart from its components: which dashboards a search and tag filter
// keep, the Starred / Recent / All sections, and who is where ("Team now") from the server's
// presence (GET /api/presence, then GET /api/dashboards/<uid>/viewers for each dashboard the
// presence group names).
import type { Viewer } from "./collab";
import type { DashboardSummary } from "./model";

/** DashboardPresence is a dashboard with the people on it, as GET /api/presence answers. */
export interface DashboardPresence {
  dashboard: string;
  viewers: Viewer[];
}

/** Presence maps a dashboard uid to the people on it; a dashboard nobody is on is absent. */
export type Presence = Map<string, Viewer[]>;

/** presenceFrom is the map of GET /api/presence's answer. */
export function presenceFrom(list: DashboardPresence[]): Presence {
  return new Map(list.filter((p) => p.viewers.length > 0).map((p) => [p.dashboard, p.viewers]));
}

/** withViewers is presence with dashboard uid's people replaced by viewers. */
export function withViewers(presence: Presence, uid: string, viewers: Viewer[]): Presence {
  const next = new Map(presence);
  if (viewers.length > 0) next.set(uid, viewers);
  else next.delete(uid);
  return next;
}

/** maxRecent is how many recently opened dashboards the Recent section shows. */
export const maxRecent = 8;

/** tagsOf is every tag of list, once, sorted. */
export function tagsOf(list: DashboardSummary[]): string[] {
  return [...new Set(list.flatMap((d) => d.tags))].sort((a, b) => a.localeCompare(b));
}

/** matches says whether d answers a search (every word in its title, uid or tags, in any case)
 * and carries every selected tag. */
export function matches(d: DashboardSummary, search: string, tags: ReadonlySet<string>): boolean {
  for (const t of tags) if (!d.tags.includes(t)) return false;
  const hay = [d.title, d.uid, ...d.tags].join(" ").toLowerCase();
  return search.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

export interface Sections {
  starred: DashboardSummary[];
  /** The latest opened first, at most maxRecent. */
  recent: DashboardSummary[];
  all: DashboardSummary[];
}

/** sections splits the dashboards that match into what the home page lists, each in the list's
 * order (by title) but Recent, which is by last view. */
export function sections(list: DashboardSummary[], search: string, tags: ReadonlySet<string>): Sections {
  const all = list.filter((d) => matches(d, search, tags));
  return {
    starred: all.filter((d) => d.starred),
    recent: all.filter((d) => d.viewedAt > 0).sort((a, b) => b.viewedAt - a.viewedAt).slice(0, maxRecent),
    all,
  };
}

/** Whereabouts is a person and the dashboards they are on. */
export interface Whereabouts {
  userId: string;
  name: string;
  dashboards: DashboardSummary[];
}

/** teamNow is who is on which of the listed dashboards, by name, each person once, leaving out
 * me (the page's own person). A dashboard not in the list (not visible to me) is not shown. */
export function teamNow(presence: Presence, list: DashboardSummary[], me: string): Whereabouts[] {
  const byUID = new Map(list.map((d) => [d.uid, d]));
  const people = new Map<string, Whereabouts>();
  for (const [uid, viewers] of presence) {
    const d = byUID.get(uid);
    if (!d) continue;
    for (const v of viewers) {
      if (v.userId === me) continue;
      let w = people.get(v.userId);
      if (!w) people.set(v.userId, (w = { userId: v.userId, name: v.name, dashboards: [] }));
      w.dashboards.push(d);
    }
  }
  const out = [...people.values()];
  for (const w of out) w.dashboards.sort((a, b) => a.title.localeCompare(b.title));
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId));
}

/** withStar is list with dashboard uid starred or not. */
export function withStar(list: DashboardSummary[], uid: string, starred: boolean): DashboardSummary[] {
  return list.map((d) => (d.uid === uid ? { ...d, starred } : d));
}

/** PresenceTracker keeps who is on which dashboard from two sources: a full load (GET
 * /api/presence: each time the page's connection is up, since what happened while it was away is
 * not replayed) and, for each dashboard the presence group names, its viewers (GET
 * /api/dashboards/<uid>/viewers, answered only for dashboards this person may see; null: no
 * answer, keep what is shown). One request per dashboard at a time, and one more if it was named
 * again meanwhile; dashboards named during a full load are asked after it; an answer to a request
 * begun before the latest full load is dropped, that load being newer. */
export class PresenceTracker {
  presence: Presence = new Map();
  private loads = 0;
  private loading: Set<string> | null = null;
  private asking = new Map<string, boolean>(); // uid -> named again while asking

  constructor(
    private loadAll: () => Promise<DashboardPresence[]>,
    private loadOne: (uid: string) => Promise<Viewer[] | null>,
    private changed: (p: Presence) => void,
  ) {}

  /** reload replaces what is known with a full load; it rejects with the load's error. */
  async reload() {
    const n = ++this.loads;
    this.loading ??= new Set();
    try {
      const list = await this.loadAll();
      if (n === this.loads) this.set(presenceFrom(list));
    } finally {
      if (n === this.loads) {
        const named = this.loading ?? new Set<string>();
        this.loading = null;
        for (const uid of named) void this.named(uid);
      }
    }
  }

  /** named follows the presence group's word that dashboard uid's viewers changed. */
  async named(uid: string) {
    if (this.loading) return void this.loading.add(uid);
    if (this.asking.has(uid)) return void this.asking.set(uid, true);
    this.asking.set(uid, false);
    const since = this.loads;
    try {
      const viewers = await this.loadOne(uid);
      if (viewers && since === this.loads) this.set(withViewers(this.presence, uid, viewers));
    } finally {
      const again = this.asking.get(uid);
      this.asking.delete(uid);
      if (again) void this.named(uid);
    }
  }

  private set(p: Presence) {
    this.presence = p;
    this.changed(p);
  }
}
