// Shared helpers of the browser suite: start the real huddle binary (built by `make build`, never
// here), prepare people and a dashboard over the HTTP API, and drive headless Chromium through
// playwright-core, one browser context per person.
//
// Every wait is for a condition bounded by a generous timeout; nothing asserts how fast anything
// happens and nothing sleeps to let the UI "catch up".

import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { CHROMIUM, chromiumArgs } from "../testenv/chromium.mjs";
import { spawnHuddle, stopAll } from "../testenv/huddle.mjs";
import { apiSession } from "../testenv/api.mjs";
import { poll } from "../testenv/wait.mjs";

export { apiSession };

/** Default bound of every wait, in milliseconds. */
export const TIMEOUT = 20_000;

export { CHROMIUM };

/** Where screenshots go: e2e/artifacts/, one PNG per state, named by it. */
export const ARTIFACTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "artifacts");

const ADMIN_PASSWORD = "e2e-admin-password-1";

/** The first administrator every test huddle starts with. */
export const administrator = { login: "admin", name: "admin", role: "admin", password: ADMIN_PASSWORD };

/** Every browser this process launched; the after hook closes those a test left open. */
const browsers = new Set();

after(async () => {
  await Promise.all([...browsers].map((b) => b.close().catch(() => {})));
  await stopAll();
});

/**
 * Why the suite cannot run here, or "" when it can. Outside CI a missing Chromium skips the
 * tests with this reason; in CI (CI=true) nothing is skipped, so the launch fails the test.
 */
export function skipReason() {
  if (process.env.CI === "true") return "";
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return "";
  } catch {
    return `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_BIN)`;
  }
}

/** Launches headless Chromium with the suite's fixed flags. */
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs });
  browsers.add(browser);
  return browser;
}

/** Starts `huddle serve` on a free loopback port with its own data dir and admin password. */
export async function startHuddle() {
  const proc = await spawnHuddle({
    suite: "e2e",
    env: { HUDDLE_ADMIN_PASSWORD: ADMIN_PASSWORD },
    logsEnv: "HUDDLE_E2E_LOGS",
    timeout: TIMEOUT,
  });
  const { url } = proc;
  return {
    url,
    logs: proc.logs,
    /** An API session of the administrator. */
    admin: () => apiSession(url, "admin", ADMIN_PASSWORD),
    stop: proc.stop,
  };
}

/** The people of the suite: ada edits, bob only views. */
export const people = {
  ada: { login: "ada", name: "Ada Lovelace", role: "editor", password: "ada-password-e2e" },
  bob: { login: "bob", name: "Bob Kahn", role: "viewer", password: "bob-password-e2e" },
};

/**
 * A dashboard whose panels change every second, so live pushes are seen quickly: a clock (the
 * seconds of the minute), huddle's own connections, and a stat.
 */
export function liveDashboard(title) {
  return {
    title,
    tags: ["e2e"],
    time: { from: "now-5m", to: "now" },
    refresh: "1s",
    panels: [
      {
        id: 1,
        type: "timeseries",
        title: "Clock",
        gridPos: { x: 0, y: 0, w: 12, h: 8 },
        unit: "short",
        targets: [{ refId: "A", expr: "vector(time() % 60)", legendFormat: "seconds" }],
      },
      {
        id: 2,
        type: "timeseries",
        title: "Connections",
        gridPos: { x: 12, y: 0, w: 12, h: 8 },
        unit: "short",
        targets: [{ refId: "A", expr: `sum(huddle_connections{job="huddle"}) or vector(0)`, legendFormat: "open" }],
      },
      {
        id: 3,
        type: "stat",
        title: "Seconds",
        gridPos: { x: 0, y: 8, w: 6, h: 4 },
        unit: "short",
        targets: [{ refId: "A", expr: "vector(time() % 60)", instant: true }],
      },
      {
        id: 4,
        type: "stat",
        title: "Series of the job",
        gridPos: { x: 12, y: 8, w: 6, h: 4 },
        unit: "short",
        targets: [{ refId: "A", expr: 'count({job="$job"})', instant: true }],
      },
    ],
    variables: [{ name: "job", label: "Job", type: "query", query: "label_values(up, job)", current: ["node"] }],
  };
}

/**
 * Starts huddle, creates ada and bob and a live dashboard, and launches Chromium. Returns what a
 * test file needs: the huddle, the admin API, the dashboard's uid and the browser.
 */
export async function setup(title = "E2E board") {
  const huddle = await startHuddle();
  const admin = await huddle.admin();
  for (const p of Object.values(people)) {
    await admin("POST", "/api/users", { login: p.login, name: p.name, role: p.role, password: p.password });
  }
  const { dashboard } = await admin("POST", "/api/dashboards", liveDashboard(title));
  const browser = await launchBrowser();
  mkdirSync(ARTIFACTS, { recursive: true });
  return { huddle, admin, uid: dashboard.uid, browser };
}

/**
 * Opens a browser context signed in as person. With viaForm the sign-in goes through the
 * /login page's form, as a person would; otherwise POST /api/login from the context's request
 * API puts the session cookie into the context. context holds more options of the browser context,
 * such as a device of playwright-core's `devices` (viewport, touch) or a colorScheme.
 */
export async function signIn(browser, huddle, person, { viaForm = false, context: options = {} } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options, baseURL: huddle.url });
  context.setDefaultTimeout(TIMEOUT);
  if (viaForm) {
    const page = await context.newPage();
    await page.goto("/login?next=/");
    await page.fill("#user", person.login);
    await page.fill("#password", person.password);
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.press("#password", "Enter")]);
    await page.close();
  } else {
    const res = await context.request.post("/api/login", { data: { user: person.login, password: person.password } });
    if (!res.ok()) throw new Error(`login as ${person.login}: ${res.status()} ${await res.text()}`);
  }
  return context;
}

/**
 * Collects in page.errors what the page's scripts throw and what its Content-Security-Policy
 * refuses (which the browser only reports on the console), so that a test can insist there was
 * none.
 */
export function collectErrors(page) {
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("Content Security Policy")) page.errors.push(new Error(m.text()));
  });
  return page;
}

/**
 * Opens the dashboard in a new page of context and waits until it is live, collecting its
 * errors (collectErrors).
 */
export async function openDashboard(context, uid) {
  const page = collectErrors(await context.newPage());
  await page.goto(`/d/${uid}`);
  await page.locator(".status.online").waitFor();
  return page;
}

/** The panel of dashboard page whose id is id. */
export const panel = (page, id) => page.locator(`[data-panel-id="${id}"]`);

/** How many pixels of panel id's chart on page are shown in colour rgb (give or take): on the
 * chart's canvas and on the overlay over it, which has the other viewers' crosshairs. */
export const ink = (page, id, rgb) =>
  panel(page, id)
    .locator("canvas")
    .evaluateAll((canvases, [r, g, b]) => {
      let n = 0;
      for (const c of canvases) {
        // A canvas out of the page's rendering (the overlay while nobody points) shows nothing.
        if (!c.checkVisibility()) continue;
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 200 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 60) n++;
        }
      }
      return n;
    }, rgb);

/** Saves a screenshot of page as e2e/artifacts/<name>.png. */
export function snap(page, name) {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Polls cond until it returns a truthy value, within TIMEOUT unless o.timeout says otherwise. */
export const waitFor = (cond, o = {}) => poll(cond, { timeout: TIMEOUT, ...o });
