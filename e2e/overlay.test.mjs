// The other viewers' crosshairs are drawn over a chart, not into it: while someone points, the
// chart's own canvas (its series, axes and marks) stays as it was.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { openDashboard, people, setup, signIn, skipReason, ink, panel, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** @type {Awaited<ReturnType<typeof setup>>} */
let env;
let ada, bob;

before(async () => {
  if (skip) return;
  env = await setup("Pointing");
  ada = await openDashboard(await signIn(env.browser, env.huddle, people.ada), env.uid);
  bob = await openDashboard(await signIn(env.browser, env.huddle, people.bob), env.uid);
});

after(() => {
  if (skip) return;
  assert.deepEqual([...(ada?.errors ?? []), ...(bob?.errors ?? [])].map(String), []);
});

/** The pixels of panel id's chart canvas (not its overlay), as a short digest. */
const chartPixels = (page, id) =>
  panel(page, id)
    .locator(".u-wrap > canvas")
    .evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let h = 0;
      for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) | 0;
      return h;
    });

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

  // ada points at the middle of her last five minutes, which bob's range holds.
  const a = await panel(ada, 1).locator(".u-over").boundingBox();
  for (const f of [0.45, 0.5, 0.55]) await ada.mouse.move(a.x + a.width * f, a.y + a.height / 2);
  await waitFor(async () => (await ink(bob, 1, color)) > 20, { what: "ada's crosshair over bob's chart" });
  await settle(bob);
  assert.equal(await chartPixels(bob, 1), before, "the chart's canvas is as it was");

  await ada.mouse.move(1, 1);
  await waitFor(async () => (await ink(bob, 1, color)) < 5, { what: "ada's crosshair to go" });
  assert.equal(await chartPixels(bob, 1), before, "the chart's canvas is as it was");
});
