// Huddle on phones and tablets: the stacked layout, the folded top bar, the annotation sheet and
// the touch gestures of charts. Devices are playwright-core's descriptors (viewport, device scale,
// touch, mobile); each person is a browser context of their own, as in collab.test.mjs.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { devices } from "playwright-core";

import { openDashboard, people, setup, signIn, skipReason, snap, waitFor, ink, panel } from "./harness.mjs";

const skip = skipReason() || false;

const phone = devices["Pixel 7"];
// An iPad's screen and touch, in the suite's Chromium (the descriptor names WebKit).
const { defaultBrowserType: _, ...tablet } = devices["iPad (gen 7)"];

/** @type {Awaited<ReturnType<typeof setup>>} */
let env;
let bobPhone, adaPhone, adaDesk, bobDesk; // pages
const pages = () => [bobPhone, adaPhone, adaDesk, bobDesk].filter(Boolean);

before(async () => {
  if (skip) return;
  env = await setup("On call");
  const open = async (person, context) => openDashboard(await signIn(env.browser, env.huddle, person, { context }), env.uid);
  bobPhone = await open(people.bob, phone);
  adaPhone = await open(people.ada, phone);
  adaDesk = await open(people.ada, {});
  bobDesk = await open(people.bob, {});
});

after(() => {
  if (skip) return;
  assert.deepEqual(pages().flatMap((p) => p.errors).map(String), []);
});

/** Waits until every panel of page shows its data. */
const loaded = (page) =>
  Promise.all([1, 2].map((id) => panel(page, id).locator(".u-over").waitFor()).concat(
    [3, 4].map((id) => panel(page, id).locator(".stat .value, .no-data").first().waitFor())));


/** Opens the top bar's menu of a phone's page, unless it is open. */
async function openMenu(page) {
  const menu = page.getByRole("button", { name: "Menu" });
  if ((await menu.getAttribute("aria-expanded")) !== "true") await menu.tap();
  await page.locator(".top-menu.open").waitFor();
}

/** A finger on page's touch screen, through the DevTools protocol's touch input (playwright-core
 * has taps only): down at a point, moved along, lifted. */
async function finger(page) {
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, points) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points });
  return {
    down: (x, y) => touch("touchStart", [{ x, y }]),
    move: (x, y) => touch("touchMove", [{ x, y }]),
    up: () => touch("touchEnd", []),
  };
}

test("on a phone the panels are stacked, readable and never wider than the screen", { skip }, async () => {
  const page = bobPhone;
  await loaded(page);
  const width = page.viewportSize().width;
  const box = async (id) => panel(page, id).boundingBox();
  const boxes = [await box(1), await box(2), await box(3), await box(4)];
  // Every panel, charts and single values alike, takes the full width of the phone, one under the
  // other in the grid's reading order.
  for (const [i, b] of boxes.entries()) {
    assert.ok(b.width >= 300 && b.width <= width, `panel ${i + 1} ${b.width} px wide`);
    if (i > 0) assert.ok(b.y >= boxes[i - 1].y + boxes[i - 1].height, `panel ${i + 1} under panel ${i}`);
  }
  // Readable: nothing scrolls sideways, values are not cut, text is not tiny.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), "no sideways scrolling");
  const value = panel(page, 3).locator(".stat .value");
  assert.ok(await value.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), "stat value fits");
  assert.ok((await value.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))) >= 20, "stat value is large");
  assert.ok((await panel(page, 1).locator(".u-legend").boundingBox()).width > 0, "chart legend shown");

  // The switches are folded into a menu; the grid's layout is not edited here, and says so.
  const menu = page.getByRole("button", { name: "Menu" });
  assert.ok(await menu.isVisible());
  assert.equal(await page.getByRole("button", { name: "Annotations" }).isVisible(), false);
  await menu.tap();
  await page.getByRole("button", { name: "Annotations" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Edit layout" }).count(), 0);
  await snap(page, "mobile-menu-phone");
  await menu.tap();
  await page.getByRole("button", { name: "Annotations" }).waitFor({ state: "hidden" });

  await adaPhone.getByRole("button", { name: "Menu" }).tap();
  await adaPhone.getByText("Layout editing needs a wider screen").waitFor();
  await adaPhone.getByRole("button", { name: "Menu" }).tap();
});

test("viewing on a phone does not change the saved layout", { skip }, async () => {
  const { dashboard } = await env.admin("GET", `/api/dashboards/${env.uid}`);
  assert.deepEqual(
    dashboard.panels.map((p) => [p.id, p.gridPos]),
    [
      [1, { x: 0, y: 0, w: 12, h: 8 }],
      [2, { x: 12, y: 0, w: 12, h: 8 }],
      [3, { x: 0, y: 8, w: 6, h: 4 }],
      [4, { x: 12, y: 8, w: 6, h: 4 }],
    ],
  );
});

test("the annotation sheet opens from the menu and closes", { skip }, async () => {
  const page = bobPhone;
  const sheet = page.getByRole("complementary", { name: "Annotations" });
  assert.equal(await sheet.count(), 0, "closed at first");
  await page.getByRole("button", { name: "Menu" }).tap();
  await page.getByRole("button", { name: "Annotations" }).tap();
  await sheet.waitFor();
  // A sheet: full width, at the bottom of the screen.
  const b = await sheet.boundingBox();
  const v = page.viewportSize();
  assert.ok(b.x <= 1 && b.width >= v.width - 1 && Math.abs(b.y + b.height - v.height) <= 1, `sheet at ${JSON.stringify(b)}`);
  await snap(page, "mobile-sheet-phone");
  await sheet.getByRole("button", { name: "Close annotations" }).tap();
  await sheet.waitFor({ state: "detached" });
});

test("a tap on a phone shows the crosshair on a desktop viewer's chart, without a pointer", { skip }, async () => {
  await adaDesk.locator('.presence [data-user="bob"]').waitFor();
  const color = await adaDesk
    .locator('.presence [data-user="bob"]')
    .evaluate((el) => getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number));
  await loaded(adaDesk);
  const without = await ink(adaDesk, 1, color);
  const chart = panel(bobPhone, 1).locator(".u-over");
  await chart.scrollIntoViewIfNeeded();
  const b = await chart.boundingBox();
  await bobPhone.touchscreen.tap(b.x + b.width * 0.5, b.y + b.height * 0.5);
  // bob's own chart shows its crosshair where he tapped.
  await panel(bobPhone, 1).locator(".u-cursor-x").waitFor();
  await waitFor(async () => (await ink(adaDesk, 1, color)) > without + 20, { what: "bob's crosshair on ada's chart" });
  assert.equal(await adaDesk.locator('.cursor[data-user="bob"]').count(), 0, "a finger has no pointer");
  await snap(adaDesk, "mobile-tap-crosshair-desktop");
});

test("a horizontal drag on a phone's chart pans the time range", { skip }, async () => {
  const page = bobPhone;
  const range = () => page.evaluate(() => document.querySelector(".time-picker > .muted").textContent);
  const before = await range();
  assert.match(before, /^Last /, "a live range at first");
  const b = await panel(page, 2).locator(".u-over").boundingBox();
  const f = await finger(page);
  const y = b.y + b.height / 2;
  await f.down(b.x + b.width * 0.3, y);
  for (const k of [0.4, 0.5, 0.6, 0.7]) await f.move(b.x + b.width * k, y);
  await f.up();
  // Dragging right shows earlier times: the range becomes a fixed one that ends about two
  // minutes (0.4 of the chart's five) before now.
  await waitFor(async () => (await range()) !== before, { what: "the range to move" });
  const [, end] = (await range()).split(" – ");
  const ended = await page.evaluate((e) => Date.now() - new Date(e.replace(/^(\w+ \d+),/, `$1 ${new Date().getFullYear()},`)).getTime(), end);
  assert.ok(ended > 60_000 && ended < 180_000, `range ends ${ended} ms ago: ${await range()}`);
});

test("a long press by an editor on a phone annotates, and everyone sees it", { skip }, async () => {
  const page = adaPhone;
  await loaded(page);
  const b = await panel(page, 1).locator(".u-over").boundingBox();
  const f = await finger(page);
  await f.down(b.x + b.width * 0.6, b.y + b.height * 0.5);
  const dialog = page.getByRole("dialog", { name: "New annotation" });
  await dialog.waitFor();
  await f.up();
  await dialog.locator("#ann-text").fill("Paged from the train");
  await dialog.getByRole("button", { name: "Save" }).tap();
  await dialog.waitFor({ state: "detached" });
  for (const other of [adaDesk, bobDesk]) await other.locator("li[data-annotation]", { hasText: "Paged from the train" }).waitFor();

  // The long press is offered to editors only: bob's sheet does not tell him of it.
  await openMenu(bobPhone);
  await bobPhone.getByRole("button", { name: "Annotations" }).tap();
  const sheet = bobPhone.getByRole("complementary", { name: "Annotations" });
  await sheet.locator("li[data-annotation]", { hasText: "Paged from the train" }).waitFor();
  assert.equal(await sheet.getByText("press and hold").count(), 0);
  await sheet.getByRole("button", { name: "Close annotations" }).tap();
});

test("screenshots of phone, tablet and desktop in light and dark", { skip }, async () => {
  for (const [name, device] of [["phone", phone], ["tablet", tablet], ["desktop", {}]]) {
    for (const colorScheme of ["light", "dark"]) {
      const context = await signIn(env.browser, env.huddle, people.ada, { context: { ...device, colorScheme } });
      const page = await openDashboard(context, env.uid);
      await loaded(page);
      // The clock's line drawn, so the picture shows the history, not only the latest push.
      const line = await panel(page, 1).locator(".u-legend .u-series").nth(1).locator(".u-marker")
        .evaluate((el) => getComputedStyle(el).borderColor.match(/\d+/g).map(Number));
      await waitFor(async () => (await ink(page, 1, line)) > 200, { what: `the clock's line on the ${name}` });
      await snap(page, `mobile-${name}-${colorScheme}`);
      if (name === "tablet") {
        // Two panels a row on a tablet, single values as wide as charts: none under 300 px.
        const boxes = await Promise.all([1, 2, 3, 4].map((id) => panel(page, id).boundingBox()));
        for (const [i, b] of boxes.entries()) assert.ok(b.width >= 300, `tablet panel ${i + 1} ${b.width} px wide`);
        assert.ok(Math.abs(boxes[2].y - boxes[3].y) < 1 && boxes[3].x > boxes[2].x, "stats side by side on a tablet");
      }
      assert.deepEqual(page.errors.map(String), []);
      await context.close();
    }
  }
});
