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

let env, page;

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
  assert.deepEqual((page?.errors ?? []).map(String), []);
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
