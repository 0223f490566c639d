import { describe, expect, it } from "vitest";
import { movedPanels, newPanel, putPanel } from "./edits";
import type { Dashboard, Panel } from "./model";

const panel = (id: number, x: number, y: number): Panel => ({ id, type: "stat", title: `p${id}`, gridPos: { x, y, w: 12, h: 4 }, targets: [] });
const dash = (panels: Panel[]): Dashboard => ({ uid: "d", title: "D", tags: [], time: { from: "now-1h", to: "now" }, refresh: "", variables: [], panels, version: 1 });

describe("edits", () => {
  it("places a new panel below the lowest one", () => {
    expect(newPanel(dash([panel(1, 0, 0), panel(2, 12, 6)])).gridPos).toEqual({ x: 0, y: 10, w: 12, h: 8 });
    expect(newPanel(dash([])).gridPos.y).toBe(0);
  });

  it("replaces a panel by id, and adds a new one (id 0) at the end", () => {
    const panels = [panel(1, 0, 0), panel(2, 12, 0)];
    expect(putPanel(panels, { ...panel(2, 12, 0), title: "renamed" }).map((p) => p.title)).toEqual(["p1", "renamed"]);
    expect(putPanel(panels, panel(0, 0, 4)).map((p) => p.id)).toEqual([1, 2, 0]);
  });

  it("saves a layout only when a panel moved", () => {
    const panels = [panel(1, 0, 0), panel(2, 12, 0)];
    expect(movedPanels(panels, [{ id: 1, x: 0, y: 0, w: 12, h: 4 }])).toBeNull();
    const moved = movedPanels(panels, [{ id: 2, x: 0, y: 4, w: 24, h: 4 }]);
    expect(moved?.map((p) => p.gridPos)).toEqual([panels[0].gridPos, { x: 0, y: 4, w: 24, h: 4 }]);
    expect(panels[1].gridPos.x).toBe(12);
  });
});
