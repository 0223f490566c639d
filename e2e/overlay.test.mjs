// What the dashboard draws, and when: the other viewers' crosshairs are drawn over a chart, not
// into it, so while someone points the chart's own canvas (its series, axes and marks) stays as it
// was; a push that changes only a chart's newest points draws them alone, on the chart's tip; and
// a chart is made when its panel comes into view, with the latest points.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { openDashboard, people, setup, signIn, skipReason, ink, panel, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** @type {Awaited<ReturnType<typeof setup>>} */
let env;
let ada, bob;
let bobContext;

before(async () => {
  if (skip) return;
  env = await setup("Pointing");
  ada = await openDashboard(await signIn(env.browser, env.huddle, people.ada), env.uid);
  bobContext = await signIn(env.browser, env.huddle, people.bob);
  bob = await openDashboard(bobContext, env.uid);
});

let long; // the page of the long dashboard
let month; // the page of the month-long chart
let rising; // the page of the climbing chart

after(() => {
  if (skip) return;
  assert.deepEqual([...(ada?.errors ?? []), ...(bob?.errors ?? []), ...(long?.errors ?? []), ...(month?.errors ?? []), ...(rising?.errors ?? [])].map(String), []);
});

/** A digest of a canvas's pixels, and how many of them are inked. */
const pixels = (canvas) =>
  canvas.evaluate((c) => {
    if (c.width === 0) return { hash: 0, inked: 0 };
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let hash = 0;
    let inked = 0;
    for (let i = 0; i < d.length; i++) hash = (Math.imul(hash, 31) + d[i]) | 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) inked++;
    return { hash, inked };
  });

/** The pixels of panel id's chart canvas (not its overlay), as a short digest. */
const chartPixels = async (page, id) => (await pixels(panel(page, id).locator(".u-wrap > canvas"))).hash;

/** The pixels of panel id's tip canvas (its newest points). */
const tipPixels = (page, id) => pixels(panel(page, id).locator(".u-over > canvas.tip"));

/** A time series panel of one query. */
const timeSeries = (id, title, gridPos, expr, legendFormat) => ({ id, type: "timeseries", title, gridPos, targets: [{ refId: "A", expr, legendFormat }] });

/** Provisions a dashboard of panels over the last from (a relative time), refreshing every second,
 * and returns its uid. */
async function liveDashboard(title, from, panels) {
  const admin = await env.huddle.admin();
  const { dashboard } = await admin("POST", "/api/dashboards", { title, time: { from, to: "now" }, refresh: "1s", panels, variables: [] });
  return dashboard.uid;
}

/** Lets the page handle what it was sent and draw: two animation frames. */
const settle = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

test("ada's crosshair is drawn over bob's chart, and the chart itself is not drawn again", { skip }, async () => {
  const range = () => bob.evaluate(() => document.querySelector(".time-picker > .muted").textContent);
  // bob zooms into a stretch of the last minutes: a fixed range, which live pushes leave alone,
  // so his chart's canvas changes only if the chart is drawn again.
  const live = await range();
  const b = await panel(bob, 1).locator(".u-over").boundingBox();
  await bob.mouse.move(b.x + b.width * 0.1, b.y + b.height / 2);
  await bob.mouse.down();
  await bob.mouse.move(b.x + b.width * 0.95, b.y + b.height / 2, { steps: 5 });
  await bob.mouse.up();
  await bob.mouse.move(1, 1);
  await waitFor(async () => (await range()) !== live, { what: "bob's range to be fixed" });
  await panel(bob, 1).locator(".u-legend").waitFor();
  await settle(bob);

  const color = await bob
    .locator('.presence [data-user="ada"]')
    .evaluate((el) => getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number));
  const before = await chartPixels(bob, 1);
  assert.ok((await ink(bob, 1, color)) < 5, "no crosshair yet");
  // Nobody points: neither the overlay nor the layer of pointer arrows is in bob's page.
  const overlay = panel(bob, 1).locator("canvas.overlay");
  assert.equal(await overlay.isVisible(), false, "no overlay while nobody points");
  assert.equal(await bob.locator(".cursors").count(), 0, "no pointer layer while nobody points");

  // ada points at the middle of her last five minutes, which bob's range holds.
  const a = await panel(ada, 1).locator(".u-over").boundingBox();
  for (const f of [0.45, 0.5, 0.55]) await ada.mouse.move(a.x + a.width * f, a.y + a.height / 2);
  await waitFor(async () => (await ink(bob, 1, color)) > 20, { what: "ada's crosshair over bob's chart" });
  await settle(bob);
  assert.equal(await overlay.isVisible(), true, "the overlay is shown for ada's crosshair");
  assert.equal(await chartPixels(bob, 1), before, "the chart's canvas is as it was");

  await ada.mouse.move(1, 1);
  await waitFor(async () => (await ink(bob, 1, color)) < 5, { what: "ada's crosshair to go" });
  assert.equal(await overlay.isVisible(), false, "the overlay is out of the page again");
  assert.equal(await chartPixels(bob, 1), before, "the chart's canvas is as it was");
});

test("a chart below the fold is made when it is scrolled to, with the latest points", { skip }, async () => {
  // Eighteen clocks, three a row: in a 900 px high window the last rows are out of view.
  const panels = Array.from({ length: 18 }, (_, i) =>
    timeSeries(i + 1, `Clock ${i + 1}`, { x: (i % 3) * 8, y: Math.floor(i / 3) * 8, w: 8, h: 8 }, "vector(time() % 60)", "seconds"));
  long = await openDashboard(bobContext, await liveDashboard("Many clocks", "now-5m", panels));
  const last = panel(long, 18);
  await panel(long, 1).locator(".uplot").waitFor();
  // Its history is in (the chart's place is there), and no chart is made for it out of view.
  await last.locator(".chart").waitFor();
  await settle(long);
  assert.equal(await last.locator(".uplot").count(), 0, "no chart out of view");

  await last.scrollIntoViewIfNeeded();
  await last.locator(".uplot").waitFor();
  // The legend reads the latest point: the seconds of the minute now, give or take the pushes'
  // second and the time to read it.
  const value = Number(await last.locator(".u-legend .u-series").nth(1).locator(".u-value").textContent());
  const now = (Date.now() / 1000) % 60;
  const behind = (((now - value) % 60) + 60) % 60;
  assert.ok(behind <= 4 || behind >= 59, `legend ${value} at second ${now.toFixed(1)}`);
});

test("a push on a month-long chart draws its newest points alone, not the whole chart", { skip }, async () => {
  // A month over the window's width: the range moves half a pixel in about half an hour. A
  // sawtooth of 97 s sampled at the history's hourly steps has reached its extremes, 0 and 96
  // (3,600 s is 11 more than a multiple of 97), so a push changes only the newest point, by more
  // than a pixel a second, but for the one second in 97 that sets a new maximum.
  const sawtooth = timeSeries(1, "Sawtooth", { x: 0, y: 0, w: 24, h: 8 }, "vector(time() % 97)", "sawtooth");
  month = await openDashboard(bobContext, await liveDashboard("A month", "now-30d", [sawtooth]));
  const value = () => panel(month, 1).locator(".u-legend .u-series").nth(1).locator(".u-value").textContent();
  await panel(month, 1).locator(".uplot").waitFor();
  await waitFor(async () => (await tipPixels(month, 1)).inked > 0, { what: "the chart's newest points on its tip" });

  // Five pushes: each moves the tip; the chart's own canvas stays as drawn (once at most it may
  // be drawn again, should the range cross half a pixel or the sawtooth reach a new maximum).
  let seen = await value();
  await settle(month);
  let chart = await chartPixels(month, 1);
  let tip = (await tipPixels(month, 1)).hash;
  let tipMoves = 0;
  let chartDraws = 0;
  for (let push = 0; push < 5; push++) {
    await waitFor(async () => (await value()) !== seen, { what: "a push" });
    seen = await value();
    await settle(month);
    const [c, t] = [await chartPixels(month, 1), await tipPixels(month, 1)];
    assert.ok(t.inked > 0, "the tip is drawn");
    if (t.hash !== tip) tipMoves++;
    if (c !== chart) chartDraws++;
    [chart, tip] = [c, t.hash];
  }
  assert.ok(tipMoves >= 4, `the tip moved at ${tipMoves} of 5 pushes`);
  assert.ok(chartDraws <= 1, `the chart was drawn whole at ${chartDraws} of 5 pushes`);
});

test("a push with a new largest value that keeps the value axis draws the newest points alone", { skip }, async () => {
  // Every page opened from now on counts the clearings of each canvas: uPlot clears its canvas
  // to draw a chart whole (its commit in uPlot.esm.js), the tip clears its own for each push.
  await bobContext.addInitScript(() => {
    const clear = CanvasRenderingContext2D.prototype.clearRect;
    CanvasRenderingContext2D.prototype.clearRect = function (...a) {
      this.canvas.clears = (this.canvas.clears ?? 0) + 1;
      return clear.apply(this, a);
    };
  });
  // A month of a slow climb: every push is the largest value yet, by a ten-millionth, while the
  // value axis, padded and rounded to a few steps over the month's 0.26, stays where it is.
  const climb = timeSeries(1, "Climb", { x: 0, y: 0, w: 24, h: 8 }, "vector(time() / 1e7)", "climb");
  rising = await openDashboard(bobContext, await liveDashboard("A climb", "now-30d", [climb]));
  const clears = (selector) => panel(rising, 1).locator(selector).evaluate((c) => c.clears ?? 0);
  await panel(rising, 1).locator(".uplot").waitFor();
  await waitFor(async () => (await tipPixels(rising, 1)).inked > 0, { what: "the chart's newest points on its tip" });

  await settle(rising);
  const [chart, tip] = [await clears(".u-wrap > canvas"), await clears(".u-over > canvas.tip")];
  // The legend shows no change a push makes here, the tip's drawings count the pushes.
  await waitFor(async () => (await clears(".u-over > canvas.tip")) - tip >= 5, { what: "five pushes drawn on the tip" });
  await settle(rising);
  // Once at most, should the month's range have crossed half a pixel meanwhile.
  const whole = (await clears(".u-wrap > canvas")) - chart;
  assert.ok(whole <= 1, `the chart was drawn whole at ${whole} of 5 pushes`);
});
