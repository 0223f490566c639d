// The serverless task list example (examples/tasklist) on huddle, as its users would see it: two
// people, each in a browser context of their own, on the page the app serves, which connects
// through the app's negotiate endpoint to huddle's SignalR endpoint with @microsoft/signalr.
// Nothing here talks to huddle but the pages and the app (and the test, to stop and restart it).
// The tests run in order on one huddle, one app and one pair of pages.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { spawnHuddle } from "../testenv/huddle.mjs";
import { collectErrors, launchBrowser, skipReason, snap, TIMEOUT } from "./harness.mjs";

const skip = skipReason() || false;

/** How long a page may take to come back after huddle restarts: the client's automatic
 * reconnection waits 0, 2, 10 and 30 s between its tries. */
const RECONNECT_TIMEOUT = 60_000;

let dir; // huddle's data dir (kept across the restart) and the app's database
let huddle, huddleAddr, app;
let browser, ada, bob; // pages

/** Starts huddle on addr with the test's data dir. */
function startHuddle(addr) {
  return spawnHuddle({
    suite: "e2e",
    addr,
    dataDir: path.join(dir, "huddle"),
    logsEnv: "HUDDLE_E2E_LOGS",
    timeout: TIMEOUT,
  });
}

/** Runs $TASKLIST_BIN on a free port against connStr; resolves once it serves. */
async function startApp(connStr) {
  const bin = process.env.TASKLIST_BIN;
  if (!bin) throw new Error("TASKLIST_BIN is not set: run `make test-e2e`, or `make -C examples/tasklist build` and set it to bin/tasklist");
  const proc = spawn(bin, ["-addr", "127.0.0.1:0", "-db", path.join(dir, "tasks.db")], {
    env: { ...process.env, AzureSignalRConnectionString: connStr },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => {
    log = (log + d).slice(-64 * 1024);
    if (process.env.HUDDLE_E2E_LOGS) process.stderr.write(d);
  });
  let stdout = "";
  proc.stdout.setEncoding("utf8");
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tasklist did not start in time:\n${stdout}\n${log}`)), TIMEOUT);
    proc.stdout.on("data", (d) => {
      stdout += d;
      const m = /tasklist is serving on (http:\/\/\S+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tasklist exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    logs: () => log,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

/** Opens the app's page in a new browser context as name, signing in through the page's form. */
async function openAs(name) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 }, baseURL: app.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = collectErrors(await context.newPage());
  await page.goto("/");
  await page.fill("#name", name);
  await page.press("#name", "Enter");
  await page.locator("#me", { hasText: name }).waitFor();
  await live(page);
  // Set once; still there later, it proves the page was never reloaded.
  await page.evaluate(() => {
    window.loadedOnce = true;
  });
  return page;
}

const live = (page, timeout = TIMEOUT) => page.locator('#status[data-state="live"]').waitFor({ timeout });
const task = (page, title) => page.locator("#tasks li", { has: page.locator(".title", { hasText: title }) });
const notifications = (page) => page.locator("#notifications li");
const notReloaded = async (page) => assert.equal(await page.evaluate(() => window.loadedOnce), true, "the page was reloaded");

async function addTask(page, title) {
  await page.fill("#title", title);
  await page.press("#title", "Enter");
  await task(page, title).waitFor();
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), "huddle-e2e-tasklist-"));
  huddle = await startHuddle("127.0.0.1:0");
  huddleAddr = new URL(huddle.url).host;
  // The whole connection string is printed on the start that made the key.
  const connStr = /connection string: (Endpoint=\S+)/.exec(huddle.stdout)?.[1];
  assert.ok(connStr, `no connection string in huddle's output:\n${huddle.stdout}`);
  app = await startApp(connStr);
  browser = await launchBrowser();
  ada = await openAs("ada");
  bob = await openAs("bob");
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await app?.stop();
  await huddle?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // Whatever else happened, the pages' own scripts must not have failed.
  assert.deepEqual([...(ada?.errors ?? []), ...(bob?.errors ?? [])].map(String), []);
});

test("a task one person adds appears on the other's page without a reload", { skip }, async () => {
  await addTask(ada, "Buy milk");
  await task(bob, "Buy milk").waitFor();
  assert.match(await task(bob, "Buy milk").locator(".meta").textContent(), /^ada's$/);
  await notReloaded(bob);
  await snap(bob, "tasklist-1-added-bob");
});

test("completing someone's task updates every page and notifies only its owner", { skip }, async () => {
  await task(bob, "Buy milk").locator("button.complete").click();
  await ada.locator("#tasks li.done", { hasText: "Buy milk" }).waitFor();
  assert.match(await task(ada, "Buy milk").locator(".meta").textContent(), /completed by bob/);
  await notifications(ada).filter({ hasText: 'bob completed your task "Buy milk"' }).waitFor();

  // The app tells the owner before it updates everyone's list, and one connection's messages
  // arrive in order: once a page shows the update, a notification meant for it has arrived.
  await bob.locator("#tasks li.done", { hasText: "Buy milk" }).waitFor();
  assert.equal(await notifications(bob).count(), 0, "bob got ada's notification");

  // The other way round: ada completes bob's task, bob alone is told.
  await addTask(bob, "Fix bike");
  await task(ada, "Fix bike").locator("button.complete").click();
  await notifications(bob).filter({ hasText: 'ada completed your task "Fix bike"' }).waitFor();
  await ada.locator("#tasks li.done", { hasText: "Fix bike" }).waitFor();
  assert.deepEqual(await notifications(ada).allTextContents(), ['bob completed your task "Buy milk"']);
  await notReloaded(ada);
  await notReloaded(bob);
  await snap(ada, "tasklist-2-notified-ada");
  await snap(bob, "tasklist-2-notified-bob");
});

test("after huddle restarts, the pages reconnect and load the list again", { skip }, async () => {
  await huddle.stop();
  for (const page of [ada, bob]) {
    await page.locator('#status:not([data-state="live"])').waitFor();
  }
  // Stored by the app while huddle is down: its push is lost, so bob can only learn of it by
  // loading the list when his page reconnects.
  await addTask(ada, "Call mum");
  assert.equal(await task(bob, "Call mum").count(), 0);
  await snap(bob, "tasklist-3-offline-bob");

  huddle = await startHuddle(huddleAddr);
  await live(ada, RECONNECT_TIMEOUT);
  await live(bob, RECONNECT_TIMEOUT);
  await task(bob, "Call mum").waitFor();
  await notReloaded(ada);
  await notReloaded(bob);

  // And the pushes flow again.
  await addTask(bob, "Water plants");
  await task(ada, "Water plants").waitFor();
  await snap(bob, "tasklist-3-reconnected-bob");
});
