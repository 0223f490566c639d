// An administrator manages people and makes an API key in the settings page; the key then works
// as Grafana would use it, until it is revoked.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";

import { administrator, collectErrors, setup, signIn, skipReason, snap, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

let env, page;

before(async () => {
  if (skip) return;
  env = await setup("Settings board");
  const context = await signIn(env.browser, env.huddle, administrator, { viaForm: true });
  page = collectErrors(await context.newPage());
  await page.goto("/");
  await page.getByRole("link", { name: "People, keys and apps" }).click();
  await page.getByRole("heading", { name: "People" }).waitFor();
});

after(() => {
  if (skip) return;
  assert.deepEqual((page?.errors ?? []).map(String), []);
});

test("the administrator adds a person and changes their role", { skip }, async () => {
  await page.getByLabel("Login", { exact: true }).fill("carol");
  await page.getByLabel("Name", { exact: true }).fill("Carol Shaw");
  await page.getByLabel("Password", { exact: true }).fill("carol's long password");
  await page.getByRole("button", { name: "Add person" }).click();
  const row = page.locator('tr[data-login="carol"]');
  await row.waitFor();
  await row.getByLabel("Role of carol").selectOption("editor");
  await waitFor(async () => (await env.admin("GET", "/api/users")).find((u) => u.login === "carol")?.role === "editor", {
    what: "carol to be an editor",
  });
  // A too-short password is refused with the server's reason, shown as it is.
  await page.getByLabel("Login", { exact: true }).fill("dave");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Add person" }).click();
  await page.getByRole("alert").filter({ hasText: "at least 12 characters" }).waitFor();
  await snap(page, "8-settings-people");
});

test("a metrics key made here reads the query API, and stops when revoked", { skip }, async () => {
  await page.getByLabel("Key name").fill("grafana");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.locator("code[data-key]").textContent()).trim();
  assert.match(key, /^hud_/);
  await snap(page, "8-settings-key");
  const query = () =>
    fetch(`${env.huddle.url}/api/v1/query?query=up`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);
  assert.equal(await query(), 200);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("row", { name: /grafana/ }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("row", { name: /grafana/ }).getByText("revoked").waitFor();
  assert.equal(await query(), 401);
});

test("a Grafana dashboard pasted into Import opens with what was not converted listed", { skip }, async () => {
  const grafana = await readFile(new URL("../internal/dashboard/testdata/grafana/node-exporter.json", import.meta.url), "utf8");
  await page.goto("/");
  await page.getByRole("button", { name: "Import" }).click();
  const dialog = page.getByRole("dialog", { name: "Import a dashboard" });
  await dialog.getByLabel("Dashboard JSON").fill(grafana);
  await dialog.getByRole("button", { name: "Import" }).click();
  const report = dialog.getByRole("status");
  await report.waitFor();
  assert.match(await report.textContent(), /piechart/);
  await snap(page, "9-import-grafana");
  await report.getByRole("link").click();
  await page.locator(".status.online").waitFor();
  assert.ok((await page.locator("section.panel").count()) > 3, "the converted panels are on the dashboard");
});

/** grafanaOf250 is a Grafana dashboard of 250 panels in 25 rows, every other one collapsed, whose
 * queries use a query variable left at current {} (its first option) and an All variable. */
function grafanaOf250() {
  const kinds = [
    ["stat", 'count(up{job="$job"})'],
    ["bargauge", 'up{job=~"$jobs"}'],
    ["timeseries", 'sum by (job) (up{job=~"$jobs"})'],
    ["gauge", 'count(up{job="$job"})'],
    ["table", 'up{job=~"$jobs"}'],
  ];
  const panels = [];
  let y = 0;
  for (let row = 0; row < 25; row++) {
    const children = [];
    for (let k = 0; k < 10; k++) {
      const id = row * 10 + k + 1;
      const [type, expr] = kinds[id % kinds.length];
      children.push({ id, type, title: `P${id}`, gridPos: { x: (k % 4) * 6, y: y + 1 + Math.floor(k / 4) * 4, w: 6, h: 4 },
        targets: [{ refId: "A", expr, instant: type !== "timeseries" }] });
    }
    const collapsed = row % 2 === 1;
    panels.push({ id: 1000 + row, type: "row", title: `Row ${row}`, collapsed, gridPos: { x: 0, y, w: 24, h: 1 }, panels: collapsed ? children : [] });
    if (!collapsed) panels.push(...children);
    y += collapsed ? 1 : 13;
  }
  return {
    uid: "g250", title: "Two hundred and fifty", schemaVersion: 39, refresh: "5s", time: { from: "now-15m", to: "now" },
    templating: { list: [
      { type: "query", name: "job", query: "label_values(up, job)", current: {}, sort: 1, refresh: 1 },
      { type: "query", name: "jobs", query: "label_values(up, job)", current: {}, includeAll: true, multi: true, refresh: 2 },
    ] },
    panels,
  };
}

test("a Grafana dashboard of 250 panels imports, and every panel shows data", { skip }, async () => {
  const imported = await env.admin("POST", "/api/dashboards/import", { dashboard: grafanaOf250() });
  assert.equal(imported.dashboard.panels.length, 250);
  await page.goto(`/d/${imported.dashboard.uid}`);
  await page.locator(".status.online").waitFor();
  // current {} is the first option; the All variable starts on All.
  await waitFor(async () => (await page.locator("#var-job").inputValue()) !== "", { what: "a job chosen" });
  assert.deepEqual(await page.locator("#var-jobs option:checked").allTextContents(), ["All"]);
  await waitFor(async () => (await page.locator("section.panel").count()) === 250, { what: "250 panels" });
  const loading = page.locator("section.panel .panel-body .muted", { hasText: "Loading…" });
  await waitFor(async () => (await loading.count()) === 0, { what: "every panel loaded", timeout: 60_000 });
  assert.equal(await page.locator("section.panel .panel-error").count(), 0, "no panel has an error");
  // On a server started moments ago, up's first scrape can land after the last step of the
  // history loaded: the panels then show "No data" until the next push (every 5 s) brings it.
  await waitFor(async () => (await page.locator(".bargauge .bar-row").count()) >= 50, { what: "every bar gauge drawing its bars" });
  await snap(page, "9b-250-panels");
});
