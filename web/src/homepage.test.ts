import { describe, expect, it } from "vitest";
import type { Viewer } from "./collab";
import { matches, PresenceTracker, presenceFrom, sections, tagsOf, teamNow, withStar, withViewers, type DashboardPresence } from "./homepage";
import type { DashboardSummary } from "./model";

const d = (uid: string, title: string, tags: string[] = [], extra: Partial<DashboardSummary> = {}): DashboardSummary => ({
  uid, title, tags, version: 1, updated: "", starred: false, viewedAt: 0, ...extra,
});

const list = [
  d("db", "Databases", ["postgres", "prod"], { viewedAt: 30 }),
  d("ops", "Ops overview", ["prod"], { starred: true, viewedAt: 50 }),
  d("web", "Web frontend", ["web"], { starred: true }),
];

describe("search and tags", () => {
  it("matches every word against title, uid and tags, in any case", () => {
    expect(matches(list[1], "OPS over", new Set())).toBe(true);
    expect(matches(list[0], "postgres", new Set())).toBe(true);
    expect(matches(list[0], "postgres web", new Set())).toBe(false);
    expect(matches(list[2], "  ", new Set())).toBe(true);
  });
  it("keeps only dashboards with every selected tag", () => {
    expect(list.filter((x) => matches(x, "", new Set(["prod"]))).map((x) => x.uid)).toEqual(["db", "ops"]);
    expect(list.filter((x) => matches(x, "", new Set(["prod", "postgres"]))).map((x) => x.uid)).toEqual(["db"]);
  });
  it("lists each tag once, sorted", () => {
    expect(tagsOf(list)).toEqual(["postgres", "prod", "web"]);
  });
});

describe("sections", () => {
  it("splits into starred, recent by last view, and all", () => {
    const s = sections(list, "", new Set());
    expect(s.starred.map((x) => x.uid)).toEqual(["ops", "web"]);
    expect(s.recent.map((x) => x.uid)).toEqual(["ops", "db"]);
    expect(s.all.map((x) => x.uid)).toEqual(["db", "ops", "web"]);
  });
  it("applies the filter to every section", () => {
    const s = sections(list, "web", new Set());
    expect([s.starred, s.recent, s.all].map((l) => l.map((x) => x.uid))).toEqual([["web"], [], ["web"]]);
  });
  it("stars and unstars one dashboard", () => {
    expect(withStar(list, "db", true).filter((x) => x.starred).map((x) => x.uid)).toEqual(["db", "ops", "web"]);
    expect(withStar(list, "ops", false).filter((x) => x.starred).map((x) => x.uid)).toEqual(["web"]);
  });
});

describe("team now", () => {
  const ada = { userId: "ada", name: "Ada" };
  const bob = { userId: "bob", name: "Bob" };
  it("lists each other person once with the visible dashboards they are on", () => {
    const p = presenceFrom([
      { dashboard: "web", viewers: [ada, bob] },
      { dashboard: "ops", viewers: [ada] },
      { dashboard: "hidden", viewers: [ada] },
      { dashboard: "empty", viewers: [] },
    ]);
    expect(p.has("empty")).toBe(false);
    const team = teamNow(p, list, "bob");
    expect(team.map((w) => [w.userId, w.dashboards.map((x) => x.uid)])).toEqual([["ada", ["ops", "web"]]]);
  });
  it("follows one dashboard's viewers changing", () => {
    let p = presenceFrom([{ dashboard: "ops", viewers: [ada] }]);
    p = withViewers(p, "db", [bob]);
    expect(teamNow(p, list, "").map((w) => w.userId)).toEqual(["ada", "bob"]);
    p = withViewers(p, "ops", []);
    expect(p.has("ops")).toBe(false);
    expect(teamNow(p, list, "").map((w) => w.userId)).toEqual(["bob"]);
  });
});

/** deferred is a promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** flush lets every settled promise's continuations run. */
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("PresenceTracker", () => {
  const ada = { userId: "ada", name: "Ada" };
  const bob = { userId: "bob", name: "Bob" };

  function setup() {
    const all: ReturnType<typeof deferred<DashboardPresence[]>>[] = [];
    const one: { uid: string; d: ReturnType<typeof deferred<Viewer[] | null>> }[] = [];
    const t = new PresenceTracker(
      () => {
        const d = deferred<DashboardPresence[]>();
        all.push(d);
        return d.promise;
      },
      (uid) => {
        const d = deferred<Viewer[] | null>();
        one.push({ uid, d });
        return d.promise;
      },
      () => {},
    );
    return { t, all, one };
  }
  const shown = (t: PresenceTracker) => Object.fromEntries([...t.presence].map(([k, v]) => [k, v.map((x) => x.userId)]));

  it("asks the dashboards named during a full load after it", async () => {
    const { t, all, one } = setup();
    const loaded = t.reload();
    void t.named("ops");
    expect(one).toHaveLength(0);
    all[0].resolve([{ dashboard: "web", viewers: [bob] }]);
    await loaded;
    expect(one.map((x) => x.uid)).toEqual(["ops"]);
    one[0].d.resolve([ada]);
    await flush();
    expect(shown(t)).toEqual({ web: ["bob"], ops: ["ada"] });
  });

  it("asks once at a time per dashboard, and once more if named meanwhile", async () => {
    const { t, one } = setup();
    void t.named("ops");
    void t.named("ops");
    void t.named("ops");
    expect(one).toHaveLength(1);
    one[0].d.resolve([ada]);
    await flush();
    expect(one).toHaveLength(2);
    one[1].d.resolve([]);
    await flush();
    expect(one).toHaveLength(2);
    expect(shown(t)).toEqual({});
  });

  it("drops an answer begun before the latest full load, and keeps what is shown on no answer", async () => {
    const { t, all, one } = setup();
    void t.named("ops");
    const loaded = t.reload();
    all[0].resolve([{ dashboard: "ops", viewers: [bob] }]);
    await loaded;
    one[0].d.resolve([ada]); // older than the load
    await flush();
    expect(shown(t)).toEqual({ ops: ["bob"] });
    void t.named("ops");
    one[1].d.resolve(null);
    await flush();
    expect(shown(t)).toEqual({ ops: ["bob"] });
  });
});
