import { describe, expect, it } from "vitest";
import { matches, presenceFrom, sections, tagsOf, teamNow, withStar, withViewers } from "./homepage";
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
