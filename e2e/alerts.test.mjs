// Two people handle an alert together: ada (editor) and bob (viewer) have the same dashboard
// open when a rule made over the API starts firing. Both see it in the alert bar and its
// threshold on the panel that charts the rule's query; bob takes it and ada sees that he did;
// a comment shows for both on the incident's page; ada resolves it and bob sees that too.
// The rule and the server's side are internal/alerts's: one rule group in the JSON form of its
// PUT /api/alerting/rules/{group}, incidents, their timeline and the hub's alerts group.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { collectErrors, openDashboard, people, setup, signIn, skipReason, snap, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** A rule that fires at its first evaluation, evaluated every second (the least interval); its
 * threshold, 0.5, is drawn mid-chart on the panel of vector(1). */
const rule = "E2EAlwaysFiring";
const group = {
  name: "e2e",
  interval: "1s",
  rules: [
    {
      alert: rule,
      expr: "vector(1) > 0.5",
      for: "0s",
      severity: 1,
      labels: { instance: "e2e-host" },
      annotations: { summary: "always firing, value {{ $value }}" },
    },
  ],
};

/** The panel that charts the rule's query, so that its threshold is drawn there. */
const watchedPanel = {
  id: 5,
  type: "timeseries",
  title: "Watched",
  gridPos: { x: 0, y: 12, w: 12, h: 8 },
  unit: "short",
  targets: [{ refId: "A", expr: "vector(1)", legendFormat: "one" }],
};

/** --sev1 of styles.css, the colour of a Sev1 threshold in the light theme. */
const sev1Color = [0xe8, 0x59, 0x0c];

let env;
let adaContext, bobContext;
let ada, bob; // dashboard pages
let adaIncident, bobIncident; // incident pages
let incidentId;

before(async () => {
  if (skip) return;
  env = await setup("Alerts board");
  const { dashboard } = await env.admin("GET", `/api/dashboards/${env.uid}`);
  await env.admin("PUT", `/api/dashboards/${env.uid}`, { ...dashboard, panels: [...dashboard.panels, watchedPanel] });
  adaContext = await signIn(env.browser, env.huddle, people.ada);
  bobContext = await signIn(env.browser, env.huddle, people.bob);
  ada = await openDashboard(adaContext, env.uid);
  bob = await openDashboard(bobContext, env.uid);
});

after(() => {
  if (skip) return;
  const pages = [ada, bob, adaIncident, bobIncident].filter(Boolean);
  assert.deepEqual(pages.flatMap((p) => p.errors).map(String), []);
});

const barEntry = (page) => page.locator(`.alert-bar .incident[data-rule="${rule}"]`);

test("a rule made over the API fires, and both see it in the alert bar", { skip }, async () => {
  await env.admin("PUT", `/api/alerting/rules/${group.name}`, group);
  for (const page of [ada, bob]) {
    const entry = barEntry(page);
    await entry.waitFor();
    assert.equal(await entry.locator(".sev").textContent(), "Sev1");
    assert.equal(await entry.locator(".instance").textContent(), "e2e-host");
    await entry.locator(".inc-state.firing").waitFor();
    await entry.getByText("nobody has taken it").waitFor();
  }
  incidentId = await barEntry(ada).getAttribute("data-incident");
  assert.equal(await barEntry(bob).getAttribute("data-incident"), incidentId);
  await snap(ada, "alerts-1-bar-ada");
});

test("the rule's threshold is drawn on the panel of its query", { skip }, async () => {
  for (const page of [ada, bob]) {
    const panel = page.locator('[data-panel-id="5"]');
    await panel.locator(`.panel-rules [data-rule="${rule}"]`).waitFor();
    // The dashed line, in the Sev1 colour, is on the chart's canvas.
    await waitFor(
      () =>
        panel.locator(".u-wrap > canvas").evaluate((c, [r, g, b]) => {
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 200 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 60) n++;
          }
          return n > 50;
        }, sev1Color),
      { what: "the threshold line on the chart" },
    );
    // Other panels' queries are not the rule's: no threshold there.
    assert.equal(await page.locator('[data-panel-id="1"] .panel-rules').count(), 0);
  }
});

test("bob takes the alert, and ada sees that he did", { skip }, async () => {
  await barEntry(bob).getByRole("button", { name: "Take" }).click();
  await barEntry(bob).getByText("taken by you").waitFor();
  await barEntry(ada).getByText(`taken by ${people.bob.name}`).waitFor();
  // Nobody takes twice what is theirs; anyone else may take it over.
  assert.equal(await barEntry(bob).getByRole("button", { name: "Take" }).count(), 0);
  assert.equal(await barEntry(ada).getByRole("button", { name: "Take" }).count(), 1);
  await snap(ada, "alerts-2-taken-ada");
});

test("on a small screen the bar stays within the page, its buttons at hand", { skip }, async () => {
  const before = bob.viewportSize();
  await bob.setViewportSize({ width: 390, height: 800 });
  try {
    const entry = barEntry(bob);
    await entry.locator(".instance").waitFor({ state: "hidden" });
    const fits = await bob.locator(".alert-bar").evaluate((bar) => bar.scrollWidth <= bar.clientWidth);
    assert.ok(fits, "the alert bar overflows a 390 px wide page");
    for (const name of ["Acknowledge", "Resolve"]) {
      const box = await entry.getByRole("button", { name }).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${name} is off the page: ${JSON.stringify(box)}`);
    }
    await snap(bob, "alerts-2-small-bob");
  } finally {
    await bob.setViewportSize(before);
  }
});

test("a comment on the incident's page shows for both", { skip }, async () => {
  // Each follows the bar's link to the incident, in a page of its own, so the dashboards stay.
  const open = async (context, page) => {
    const href = await barEntry(page).locator("a.rule").getAttribute("href");
    assert.equal(href, `/alerts/${encodeURIComponent(incidentId)}`);
    const p = collectErrors(await context.newPage());
    await p.goto(href);
    await p.locator(`.incident-page[data-incident="${incidentId}"]`).waitFor();
    await p.locator(".status.online").waitFor();
    return p;
  };
  adaIncident = await open(adaContext, ada);
  bobIncident = await open(bobContext, bob);
  for (const p of [adaIncident, bobIncident]) {
    await p.locator('.timeline li[data-kind="fired"]').waitFor();
    await p.locator('.timeline li[data-kind="taken"]').filter({ hasText: people.bob.name }).waitFor();
  }
  const text = "Looking at it: the <b>vector</b> is always 1";
  await adaIncident.getByLabel("Comment").fill(text);
  await adaIncident.getByRole("button", { name: "Comment" }).click();
  for (const p of [adaIncident, bobIncident]) {
    const entry = p.locator('.timeline li[data-kind="comment"]');
    await entry.filter({ hasText: people.ada.name }).waitFor();
    // Shown as the text it is, once.
    assert.equal(await entry.locator(".comment-text").textContent(), text);
    assert.equal(await entry.count(), 1);
  }
  await snap(bobIncident, "alerts-3-comment-bob");
});

test("ada resolves the incident; bob's pages follow", { skip }, async () => {
  await adaIncident.getByRole("button", { name: "Resolve" }).click();
  await bobIncident.locator(".incident-head .inc-state.closed").filter({ hasText: `resolved by ${people.ada.name}` }).waitFor();
  await bobIncident.locator('.timeline li[data-kind="closed"]').waitFor();
  // A closed incident has nothing left to do and no comment box.
  assert.equal(await bobIncident.getByRole("button", { name: "Resolve" }).count(), 0);
  assert.equal(await bobIncident.getByLabel("Comment").count(), 0);
  // The rule still fires, so the incident stays open in the bars (as the server lists open
  // incidents), saying who resolved it, with nothing left to do.
  for (const page of [ada, bob]) {
    const entry = page.locator(`.alert-bar [data-incident="${incidentId}"]`);
    await entry.getByText(`resolved by ${people.ada.name}, still firing`).waitFor();
    assert.equal(await entry.getByRole("button").count(), 0);
  }
  await snap(bobIncident, "alerts-4-resolved-bob");
});

test("the alerts page finds the incident, and the rules page shows the rule firing", { skip }, async () => {
  const page = bobIncident;
  await page.getByRole("link", { name: "Incidents" }).click();
  await page.getByRole("button", { name: "All" }).click();
  await page.getByLabel("Search").fill(rule);
  await page.locator(`table.incidents tr[data-incident="${incidentId}"]`).getByText(`resolved by ${people.ada.name}`).waitFor();
  await page.getByRole("link", { name: "Rules" }).click();
  const row = page.locator(`.rule-group[data-group="e2e"] tr[data-rule="${rule}"]`);
  await row.locator(".rule-state.firing").waitFor();
  await row.locator(".health.ok").waitFor();
  // bob only views: the group is not his to change.
  assert.equal(await page.getByRole("button", { name: "New group" }).count(), 0);
  assert.equal(await page.locator('.rule-group[data-group="e2e"]').getByRole("button", { name: "Edit" }).count(), 0);
  await snap(page, "alerts-5-rules-bob");
});

test("ada edits the group in YAML: Check shows the server's errors, Save changes the rule for everyone", { skip }, async () => {
  const page = adaIncident;
  await page.getByRole("link", { name: "Rules" }).click();
  const groupBox = page.locator('.rule-group[data-group="e2e"]');
  await groupBox.getByRole("button", { name: "Edit" }).click();
  const yaml = page.getByLabel("Rule group YAML");
  const text = await yaml.inputValue();
  // The group as its rule file would say it, without the name (the page's field) or state.
  assert.match(text, /^interval: 1s$/m);
  assert.match(text, /expr: vector\(1\) > 0\.5$/m);
  assert.doesNotMatch(text, /state|health|^name:/m);

  await yaml.fill(text.replace("vector(1) > 0.5", "vector(1) >"));
  await page.getByRole("button", { name: "Check" }).click();
  await page.locator(".check.error").getByText(/rule 1 \(E2EAlwaysFiring\)/).waitFor();

  await yaml.fill(text.replace("severity: 1", "severity: 3"));
  await page.getByRole("button", { name: "Check" }).click();
  await page.locator(".check.ok").getByText("The group is valid.").waitFor();
  await page.getByRole("button", { name: "Save" }).click();
  await groupBox.locator(`tr[data-rule="${rule}"] .sev.sev3`).waitFor();
  // bob's dashboard hears of the change: the threshold is now drawn in Sev3's colour.
  await bob.locator(`[data-panel-id="5"] .panel-rules .sev3[data-rule="${rule}"]`).waitFor();
  await snap(page, "alerts-6-edited-ada");
});
