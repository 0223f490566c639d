// The installable app and a phone's habits: the manifest and service worker load, the kept app
// shell opens and says it is offline without the network, and a page coming back from being
// hidden or frozen checks its connection and resyncs what it missed exactly once.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { collectErrors, openDashboard, people, setup, signIn, skipReason, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

/** @type {Awaited<ReturnType<typeof setup>>} */
let env;
let ada, bob; // pages
let adaContext, bobContext;

before(async () => {
  if (skip) return;
  env = await setup("Phones");
  adaContext = await signIn(env.browser, env.huddle, people.ada);
  bobContext = await signIn(env.browser, env.huddle, people.bob);
  ada = await openDashboard(adaContext, env.uid);
  bob = await openDashboard(bobContext, env.uid);
});

after(() => {
  if (skip) return;
  assert.deepEqual([...(ada?.errors ?? []), ...(bob?.errors ?? [])].map(String), []);
});

const offlineBanner = (page) => page.getByRole("status").filter({ hasText: "You are offline" });

/** Counts the page's requests for the dashboard's annotations: one per load or resync. */
function countResyncs(page) {
  const counter = { n: 0 };
  page.on("request", (r) => {
    if (r.method() === "GET" && new URL(r.url()).pathname === `/api/dashboards/${env.uid}/annotations`) counter.n++;
  });
  return counter;
}

/** Sets what document.visibilityState says and tells the page, as a phone does on switching apps. */
const setVisibility = (page, state) =>
  page.evaluate((state) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);

/** ada annotates panel 2 at x, as in collab.test.mjs (each at a place of its own: a click on
 * an annotation opens it instead). */
async function annotate(text, x) {
  await ada.locator('[data-panel-id="2"] .u-over').click({ modifiers: ["Control"], position: { x, y: 30 } });
  const dialog = ada.getByRole("dialog", { name: "New annotation" });
  await dialog.locator("#ann-text").fill(text);
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
}

test("the manifest and the service worker load, and the offline shell shows the offline state", { skip }, async () => {
  const href = await ada.locator('link[rel="manifest"]').getAttribute("href");
  const res = await adaContext.request.get(href);
  assert.equal(res.headers()["content-type"], "application/manifest+json");
  const manifest = await res.json();
  assert.equal(manifest.display, "standalone");
  // Chromium asks for a 192 and a 512 pixel icon to offer installation
  // (https://web.dev/articles/install-criteria).
  for (const size of ["192x192", "512x512"]) {
    const icon = manifest.icons.find((i) => i.sizes === size && i.type === "image/png");
    assert.ok(icon, `a ${size} PNG icon`);
    assert.equal((await adaContext.request.get(icon.src)).headers()["content-type"], "image/png");
  }

  // navigator.serviceWorker.ready resolves once a worker is active for the page
  // (https://w3c.github.io/ServiceWorker/#navigator-service-worker-ready).
  const scope = await ada.evaluate(() => navigator.serviceWorker.ready.then((r) => r.scope));
  assert.equal(scope, env.huddle.url + "/");
  // What it keeps: the page and the hashed assets, never an API answer.
  await waitFor(() => ada.evaluate(async () => !!(await caches.match("/"))), { what: "the page kept" });
  const kept = await ada.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
    return urls;
  });
  assert.ok(kept.some((p) => p.startsWith("/assets/") && p.endsWith(".js")), `assets kept: ${kept}`);
  assert.deepEqual(kept.filter((p) => !p.startsWith("/assets/") && p !== "/"), []);

  const shell = await adaContext.newPage();
  await adaContext.setOffline(true);
  try {
    const answer = await shell.goto(`/d/${env.uid}`);
    assert.ok(answer.fromServiceWorker(), "the page came from the service worker");
    await offlineBanner(shell).waitFor();
    // The API is not answered from the cache.
    assert.equal(await shell.evaluate(() => fetch("/api/dashboards").then(() => "answered", () => "failed")), "failed");
  } finally {
    await adaContext.setOffline(false);
  }
  await offlineBanner(shell).waitFor({ state: "detached" });
  await shell.close();
});

test("hidden and visible again with a live connection: checked, no resync", { skip }, async () => {
  const resyncs = countResyncs(bob);
  // The check is a joinGroup the hub acknowledges (Web PubSub's reliable JSON subprotocol:
  // https://learn.microsoft.com/azure/azure-web-pubsub/reference-json-reliable-webpubsub-subprotocol).
  const joins = [];
  const cdp = await bobContext.newCDPSession(bob);
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketFrameSent", (e) => {
    const m = JSON.parse(e.response.payloadData);
    if (m.type === "joinGroup") joins.push(m.ackId);
  });
  const acks = [];
  cdp.on("Network.webSocketFrameReceived", (e) => {
    const m = JSON.parse(e.response.payloadData);
    if (m.type === "ack") acks.push(m.ackId);
  });
  await setVisibility(bob, "hidden");
  await setVisibility(bob, "visible");
  await waitFor(() => joins.length === 1 && acks.includes(joins[0]), { what: "the connection checked" });
  await bob.locator(".status.online").waitFor();
  assert.equal(resyncs.n, 0);
  await cdp.detach();
});

test("frozen while the network goes and comes back: one resync of what was missed", { skip }, async () => {
  const resyncs = countResyncs(bob);
  const cdp = await bobContext.newCDPSession(bob);
  // A phone freezes a page in the background (https://developer.chrome.com/docs/web-platform/page-lifecycle-api).
  await setVisibility(bob, "hidden");
  await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
  await bobContext.setOffline(true);
  await annotate("Paged while bob's phone slept", 150);
  await bobContext.setOffline(false);
  await cdp.send("Page.setWebLifecycleState", { state: "active" });
  await setVisibility(bob, "visible");

  const item = bob.locator("li[data-annotation]", { hasText: "Paged while" });
  await item.waitFor();
  await bob.locator(".status.online").waitFor();
  // Live again: pushes arrive after the resync, and none repeats it.
  const seen = new Set();
  await waitFor(async () => seen.add(await bob.locator('[data-panel-id="3"] .stat .value').textContent()).size >= 2, { what: "live pushes" });
  assert.equal(resyncs.n, 1);
  assert.equal(await item.count(), 1);
  await cdp.detach();
});

test("hidden while the connection died unnoticed: visible again, it is replaced and resyncs once", { skip }, async () => {
  // A socket that carries nothing and is not closed, as a phone's can be after a suspension:
  // every frame of the first connection of this page is dropped from the moment it goes hidden.
  const page = collectErrors(await bobContext.newPage());
  let dead = null;
  let sockets = 0;
  await page.routeWebSocket(
    (url) => url.pathname.startsWith("/client"),
    (ws) => {
      const server = ws.connectToServer();
      const first = ++sockets === 1;
      ws.onMessage((m) => (first && dead ? undefined : server.send(m)));
      server.onMessage((m) => (first && dead ? undefined : ws.send(m)));
      if (first) dead = false;
    },
  );
  await page.goto(`/d/${env.uid}`);
  await page.locator(".status.online").waitFor();
  const resyncs = countResyncs(page);

  await setVisibility(page, "hidden");
  dead = true;
  await annotate("Missed on a dead socket", 250);
  await setVisibility(page, "visible");
  // The check goes unanswered, and a new connection resyncs.
  await waitFor(() => sockets === 2, { what: "a new connection" });
  const item = page.locator("li[data-annotation]", { hasText: "Missed on a dead socket" });
  await item.waitFor();
  await page.locator(".status.online").waitFor();
  const seen = new Set();
  await waitFor(async () => seen.add(await page.locator('[data-panel-id="3"] .stat .value').textContent()).size >= 2, { what: "live pushes" });
  assert.equal(sockets, 2);
  assert.equal(resyncs.n, 1);
  assert.equal(await item.count(), 1);
  assert.deepEqual(page.errors.map(String), []);
  await page.close();
});
