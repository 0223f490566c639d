// Each panel's state is its own: on one dashboard, panels whose queries find nothing or fail show
// "No data" or their error, and every other panel loads its history and keeps updating live.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { openDashboard, people, setup, signIn, skipReason, snap, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** A series no collector writes. */
const nothing = "sum(nonexistent_metric)";
/** Another series no collector writes, whose range query the browser context answers with a null result. */
const nothingAsNull = "sum(another_nonexistent_metric)";
/** Fails on the server with Prometheus's own error: the regular expression does not compile. */
const broken = 'label_replace(vector(1), "x", "", "y", "(")';
const clock = "vector(time() % 60)";

const at = (id, x, y, w, h) => ({ id, gridPos: { x, y, w, h } });

const dashboard = {
  title: "Mixed fortunes",
  time: { from: "now-5m", to: "now" },
  refresh: "1s",
  panels: [
    { ...at(1, 0, 0, 12, 8), type: "timeseries", title: "Clock", targets: [{ refId: "A", expr: clock, legendFormat: "seconds" }] },
    { ...at(2, 12, 0, 6, 4), type: "stat", title: "Seconds", targets: [{ refId: "A", expr: clock }] },
    { ...at(3, 18, 0, 6, 4), type: "timeseries", title: "Nothing", targets: [{ refId: "A", expr: nothing }] },
    { ...at(4, 12, 4, 6, 4), type: "timeseries", title: "Null", targets: [{ refId: "A", expr: nothingAsNull }] },
    { ...at(5, 18, 4, 6, 4), type: "stat", title: "Broken", targets: [{ refId: "A", expr: broken }] },
    {
      ...at(6, 0, 8, 12, 8),
      type: "timeseries",
      title: "Half broken",
      targets: [
        { refId: "A", expr: clock, legendFormat: "seconds" },
        { refId: "B", expr: broken },
      ],
    },
  ],
};

let env, page, editor;

before(async () => {
  if (skip) return;
  env = await setup("Panels board");
  const { dashboard: d } = await env.admin("POST", "/api/dashboards", dashboard);
  const context = await signIn(env.browser, env.huddle, people.bob);
  // What a server that writes null for an empty matrix answers: Prometheus before 2.52 in some
  // cases, Cortex's query frontend in 2018, GMP's frontend (cortexproject/cortex#1142,
  // GoogleCloudPlatform/prometheus-engine#1645). Prometheus writes [] (prometheus/prometheus#13997,
  // web/api/v1/json_codec.go encodes an empty Vector or Matrix as []).
  await context.route("**/api/v1/query_range", (route) => {
    if (new URLSearchParams(route.request().postData() ?? "").get("query") !== nothingAsNull) return route.continue();
    return route.fulfill({ contentType: "application/json", body: '{"status":"success","data":{"resultType":"matrix","result":null}}' });
  });
  page = await openDashboard(context, d.uid);
});

after(() => {
  if (skip) return;
  assert.deepEqual([...(page?.errors ?? []), ...(editor?.errors ?? [])].map(String), []);
});

const panel = (id) => page.locator(`[data-panel-id="${id}"]`);
const legendValue = (id) => panel(id).locator(".u-legend .u-series").nth(1).locator(".u-value");

/** Waits until read() has given n different values: the panel is updated by live pushes. */
async function seesChanges(read, n, what) {
  const seen = new Set();
  await waitFor(async () => seen.add(await read()).size >= n, { what });
}

test("an empty and a failing panel leave the others loading and updating live", { skip }, async () => {
  await seesChanges(() => legendValue(1).textContent(), 3, "the clock chart to change");
  await seesChanges(() => panel(2).locator(".stat .value").textContent(), 3, "the seconds stat to change");

  for (const id of [3, 4]) {
    await panel(id).getByText("No data", { exact: true }).waitFor();
    assert.equal(await panel(id).getByRole("alert").count(), 0, `panel ${id} has no error`);
  }

  const error = panel(5).getByRole("alert");
  await error.waitFor();
  assert.match(await error.textContent(), /^invalid regular expression in label_replace\(\)/);
  assert.equal(await panel(5).getByText("No data").count(), 0, "a failed query is not shown as no data");

  // In a panel of two queries, the failing one names itself and the other still draws and updates.
  assert.match(await panel(6).getByRole("alert").textContent(), /^B: invalid regular expression in label_replace\(\)/);
  await seesChanges(() => legendValue(6).textContent(), 3, "the working query of the half-broken panel to change");

  // The live pushes carry the same states: after several, nothing has changed its kind.
  await seesChanges(() => legendValue(1).textContent(), 3, "more pushes");
  for (const id of [3, 4]) assert.equal(await panel(id).getByText("No data", { exact: true }).count(), 1, `panel ${id}`);
  assert.match(await panel(5).getByRole("alert").textContent(), /^invalid regular expression/);
  assert.equal(await page.getByText("Loading…").count(), 0, "no panel is still loading");
  await snap(page, "panels-mixed");
});

/** Where panel id's flat series line lies on its chart, as a fraction of the plot's height from
 * its bottom (the middle row of the pixels drawn in the first series' colour, its legend marker's),
 * and how many rows of pixels thick it is. */
const line = (page, id) =>
  page.locator(`[data-panel-id="${id}"] .uplot`).evaluate((root) => {
    const canvas = root.querySelector(".u-wrap > canvas");
    const plot = root.querySelector(".u-over").getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    const [r, g, b] = getComputedStyle(root.querySelector(".u-series:nth-child(2) .u-marker")).borderTopColor.match(/\d+/g).map(Number);
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const rows = new Set();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 30) rows.add(Math.floor(i / 4 / canvas.width));
    }
    if (rows.size === 0) return null;
    const sorted = [...rows].sort((x, z) => x - z);
    const scale = canvas.height / box.height;
    const y = sorted[sorted.length >> 1] / scale + box.top;
    return { height: (plot.bottom - y) / plot.height, thickness: rows.size / scale };
  });

test("a chart's value axis ends at the panel's min and max (which an editor sets), reaches its soft ones; its line has the panel's width", { skip }, async () => {
  // A flat series at 10. Fitted to its data the axis has the line well inside; from 0 to 100
  // (Grafana's min and max, the ends of the axis), a tenth of the way up.
  const { dashboard: d } = await env.admin("POST", "/api/dashboards", {
    title: "Limits",
    time: { from: "now-5m", to: "now" },
    refresh: "1s",
    panels: [
      { ...at(1, 0, 0, 24, 8), type: "timeseries", title: "Ten", targets: [{ refId: "A", expr: "vector(10)", legendFormat: "ten" }] },
      // Imported from Grafana with its axis soft min and max and a line width (internal/dashboard/grafana.go).
      { ...at(2, 0, 8, 24, 8), type: "timeseries", title: "Soft ten", softMin: 0, softMax: 100, lineWidth: 4,
        targets: [{ refId: "A", expr: "vector(10)", legendFormat: "ten" }] },
    ],
    variables: [],
  });
  editor = await openDashboard(await signIn(env.browser, env.huddle, people.ada), d.uid);
  await editor.locator(`[data-panel-id="1"] .uplot`).waitFor();
  await waitFor(async () => (await line(editor, 1)) !== null, { what: "the line drawn" });
  const fitted = await line(editor, 1);
  assert.ok(Math.abs(fitted.height - 0.1) > 0.2, `fitted to its data, the line is ${fitted.height.toFixed(2)} of the way up`);
  assert.equal(fitted.thickness, 1, "Grafana's default line width");
  // Soft limits the data lie within, from 0 to 100 padded: the line is about a tenth of the way up.
  await waitFor(async () => (await line(editor, 2)) !== null, { what: "the wide line drawn" });
  const soft = await line(editor, 2);
  assert.ok(Math.abs(soft.height - 0.1) < 0.03, `with soft limits the line is ${soft.height.toFixed(2)} of the way up`);
  assert.equal(soft.thickness, 4, "the line is 4 px wide");

  await editor.getByRole("button", { name: "Edit layout" }).click();
  await editor.getByRole("button", { name: "Edit Ten" }).click();
  const dialog = editor.getByRole("dialog", { name: "Edit Ten" });
  await dialog.locator("#pe-min").fill("0");
  await dialog.locator("#pe-max").fill("100");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  await editor.getByRole("button", { name: "Done" }).click();

  const saved = (await env.admin("GET", `/api/dashboards/${d.uid}`)).dashboard.panels[0];
  assert.deepEqual([saved.min, saved.max], [0, 100]);
  await waitFor(async () => Math.abs((await line(editor, 1)).height - 0.1) < 0.02, { what: "the line a tenth of the way up" });
  await snap(editor, "panels-limits");
});
