// The home page shows where the team is: bob has it open while ada arrives on a dashboard,
// moves on and leaves; stars and recently opened dashboards are each person's own; and the page
// fits a phone. The tests run in order on one huddle, as two people would use it.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { collectErrors, openDashboard, people, setup, signIn, skipReason, snap, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** @type {Awaited<ReturnType<typeof setup>>} */
let env;
let adaContext, bobContext;
let quiet; // the uid of a second dashboard nobody opens
const pages = [];

before(async () => {
  if (skip) return;
  env = await setup("Incident board");
  ({ dashboard: { uid: quiet } } = await env.admin("POST", "/api/dashboards", {
    title: "Quiet board", tags: ["db"], time: { from: "now-1h", to: "now" }, panels: [],
  }));
  adaContext = await signIn(env.browser, env.huddle, people.ada);
  bobContext = await signIn(env.browser, env.huddle, people.bob);
});

after(() => {
  if (skip) return;
  assert.deepEqual(pages.flatMap((p) => p.errors).map(String), []);
});

/** Opens the home page in context and waits until it follows presence live. */
async function openHome(context) {
  const page = collectErrors(await context.newPage());
  pages.push(page);
  await page.goto("/");
  await page.locator(".dash-section[data-section=all] .dash-card").first().waitFor();
  // The connection's state is shown beside "Team now" until it is online.
  await page.locator(".team-now .status").waitFor({ state: "detached" });
  return page;
}

const card = (page, section, uid) => page.locator(`.dash-section[data-section=${section}] .dash-card[data-uid="${uid}"]`);
const whereabouts = (page, user, uid) => page.locator(`.team-now a.whereabouts[data-user="${user}"][data-uid="${uid}"]`);

let ada; // ada's page, on the dashboard

test("bob's home shows ada on the dashboard she opens, and one tap takes him there", { skip }, async (t) => {
  const home = await openHome(bobContext);
  assert.equal(await home.locator(".team-now a.whereabouts").count(), 0);

  // How long until bob's home shows ada is reported, not asserted: from her opening the page, and
  // from her page being online (it has joined the dashboard's groups by then).
  const opening = Date.now();
  ada = await openDashboard(adaContext, env.uid);
  pages.push(ada);
  const online = Date.now();
  const there = whereabouts(home, "ada", env.uid);
  await there.waitFor();
  const shown = Date.now();
  t.diagnostic(`ada shown on bob's home ${shown - opening} ms after she opened the dashboard, ${shown - online} ms after her page was online`);
  assert.match(await there.textContent(), /Ada Lovelace on Incident board/);
  await card(home, "all", env.uid).locator('.here [data-user="ada"]').waitFor();
  assert.equal(await card(home, "all", quiet).locator(".here").count(), 0);
  await snap(home, "home-1-ada-there");

  await Promise.all([home.waitForURL((u) => u.pathname === `/d/${env.uid}`), there.click()]);
  await home.locator(".status.online").waitFor();
  await home.locator('.presence [data-user="ada"]').waitFor();
  await ada.locator('.presence [data-user="bob"]').waitFor();
  await home.close();
});

test("when ada leaves, bob's home no longer shows her there", { skip }, async () => {
  const home = await openHome(bobContext);
  await whereabouts(home, "ada", env.uid).waitFor();
  // ada goes back to her own home, where she is not listed as somewhere else.
  await ada.goto("/");
  await whereabouts(home, "ada", env.uid).waitFor({ state: "detached" });
  await card(home, "all", env.uid).locator('.here [data-user="ada"]').waitFor({ state: "detached" });
  assert.equal(await home.locator(".team-now a.whereabouts").count(), 0);
  await ada.locator(".dash-section[data-section=all] .dash-card").first().waitFor();
  assert.equal(await ada.locator('.team-now [data-user="ada"]').count(), 0);
  await home.close();
});

test("stars and recently opened dashboards are each person's own; search and tags filter", { skip }, async () => {
  const home = await openHome(bobContext);
  // bob opened the incident board in the first test, the quiet one never.
  await card(home, "recent", env.uid).waitFor();
  assert.equal(await card(home, "recent", quiet).count(), 0);
  assert.equal(await home.locator(".dash-section[data-section=starred]").count(), 0);

  await card(home, "all", quiet).locator("button.star").click();
  await card(home, "starred", quiet).waitFor();
  assert.equal(await card(home, "all", quiet).locator("button.star").getAttribute("aria-pressed"), "true");
  await home.reload();
  await card(home, "starred", quiet).waitFor();

  // ada's home has her own: no star, and the board she opened.
  await ada.reload();
  await card(ada, "recent", env.uid).waitFor();
  assert.equal(await ada.locator(".dash-section[data-section=starred]").count(), 0);

  await home.fill("input.search", "quiet");
  await waitFor(async () => (await home.locator(".dash-section[data-section=all] .dash-card").count()) === 1, { what: "one match" });
  await home.fill("input.search", "");
  await home.locator('.chips .chip:text-is("db")').click();
  await waitFor(
    async () => (await home.locator(".dash-section[data-section=all] .dash-card").evaluateAll((l) => l.map((e) => e.dataset.uid))).join() === quiet,
    { what: "the db tag to keep the quiet board alone" },
  );

  await card(home, "starred", quiet).locator("button.star").click();
  await home.locator(".dash-section[data-section=starred]").waitFor({ state: "detached" });
  await home.close();
});

test("on a 390 x 844 phone the home page is one column without sideways scrolling", { skip }, async () => {
  const phone = await env.browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, baseURL: env.huddle.url });
  const res = await phone.request.post("/api/login", { data: { user: people.bob.login, password: people.bob.password } });
  assert.ok(res.ok());
  const home = await openHome(phone);
  await ada.goto(`/d/${env.uid}`);
  await ada.locator(".status.online").waitFor();
  const there = whereabouts(home, "ada", env.uid);
  await there.waitFor();

  const overflow = await home.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, "no horizontal overflow");
  const boxes = await home.locator(".dash-section[data-section=all] .dash-card").evaluateAll((l) => l.map((e) => e.getBoundingClientRect().toJSON()));
  assert.ok(boxes.length >= 2 && boxes.every((b) => b.x === boxes[0].x && b.width === boxes[0].width), "one column of cards");
  for (const target of [there, card(home, "all", quiet).locator("button.star"), home.locator("input.search")]) {
    const b = await target.boundingBox();
    assert.ok(b.height >= 44 && b.width >= 44, `tap target ${b.width}x${b.height} is at least 44x44`);
  }
  await snap(home, "home-2-phone");

  await Promise.all([home.waitForURL((u) => u.pathname === `/d/${env.uid}`), there.tap()]);
  await home.locator(".status.online").waitFor();
  await phone.close();
});
