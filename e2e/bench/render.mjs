// Benchmark of the dashboard page in headless Chromium (`make bench-web`): not a test, it asserts
// nothing and prints figures. It starts $HUDDLE_BIN, provisions a dashboard of 50 time series
// panels over the last 6 hours refreshing every second, opens it as the administrator and
// measures
//
//   1. first render: from the last range query's answer to the first frame in which every panel
//      in view shows a chart, and the main thread's busy time (tasks) from navigation until then;
//   2. main-thread time per live push: the sum of the renderer main thread's tasks between one
//      push's arrival and the next (Chromium's trace), median and 95th percentile, and the longest
//      of those tasks (what holds one frame back);
//   3. frames per second while nobody, one and two other people move their pointers over the
//      dashboard, each sending 20 cursor messages a second (scripted WebSocket clients, as the
//      page of a person would send them: a panel, a position in it and the time under it).
//
// Needs Node's WebSocket: `node --experimental-websocket` on Node 20. BENCH_PUSH_SECONDS and
// BENCH_FPS_SECONDS set the length of phases 2 and 3; BENCH_TRACE=<file> keeps phase 2's trace, BENCH_PROFILE=<file> a JavaScript CPU profile of it (a
// .cpuprofile for DevTools).

import { chromium } from "playwright-core";

import { apiSession } from "../../testenv/api.mjs";
import { CHROMIUM, chromiumArgs } from "../../testenv/chromium.mjs";
import { spawnHuddle, stopAll } from "../../testenv/huddle.mjs";
import { poll } from "../../testenv/wait.mjs";

const PANELS = 50;
const SERIES = 4;
const PUSH_SECONDS = Number(process.env.BENCH_PUSH_SECONDS || 20);
const FPS_SECONDS = Number(process.env.BENCH_FPS_SECONDS || 6);
const TIMEOUT = 120_000;
const ADMIN_PASSWORD = "bench-admin-password-1";
const people = [
  { login: "ada", name: "Ada Lovelace", role: "viewer", password: "ada-password-bench" },
  { login: "bob", name: "Bob Kahn", role: "viewer", password: "bob-password-bench" },
];

/** Panel k's series are functions of time, so 6 hours of history exist on a fresh server: the
 * embedded store evaluates them at every step of the range, and again at every push. */
function panelQuery(k) {
  const shapes = [
    `sin(vector(time() / 600 + ${k})) * 50 + 50`,
    `cos(vector(time() / 900 + ${k})) * 30 + 40`,
    `vector((time() + ${k * 60}) % 300)`,
    `sin(vector(time() / 120 + ${k})) * 10 + 20`,
  ].slice(0, SERIES);
  return shapes.map((e, i) => `label_replace(${e}, "series", "s${i}", "", "")`).join(" or ");
}

function benchDashboard() {
  return {
    title: "Rendering benchmark",
    tags: ["bench"],
    time: { from: "now-6h", to: "now" },
    refresh: "1s",
    panels: Array.from({ length: PANELS }, (_, i) => ({
      id: i + 1,
      type: "timeseries",
      title: `Panel ${i + 1}`,
      gridPos: { x: (i % 3) * 8, y: Math.floor(i / 3) * 8, w: 8, h: 8 },
      unit: "short",
      targets: [{ refId: "A", expr: panelQuery(i), legendFormat: "{{series}}" }],
    })),
    variables: [],
  };
}

/** A person moving a pointer over the dashboard's first row of panels: 20 cursor messages a
 * second on the dashboard's collaboration group, the time under it sweeping the range. */
async function pointerMover(call, uid, phase) {
  const neg = await call("GET", `/api/negotiate?dashboard=${uid}`);
  const ws = new WebSocket(neg.url, "json.webpubsub.azure.v1");
  let ack = 0;
  const send = (data) => ws.send(JSON.stringify({ type: "sendToGroup", group: neg.collabGroup, dataType: "json", data, noEcho: true, ackId: ++ack }));
  await new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error("pointer socket error"));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "system" && m.event === "connected") ws.send(JSON.stringify({ type: "joinGroup", group: neg.collabGroup, ackId: ++ack }));
      else if (m.type === "ack") resolve();
    };
  });
  send({ type: "hello" });
  let n = 0;
  const timer = setInterval(() => {
    const f = (Math.sin((n++ + phase) / 15) + 1) / 2;
    send({ type: "cursor", panel: 1 + (Math.floor(n / 40) % 3), fx: 0.1 + 0.8 * f, fy: 0.5, time: Date.now() - 6 * 3_600_000 * (1 - f) });
  }, 50);
  return () => {
    clearInterval(timer);
    send({ type: "cursor-out" });
    ws.close();
  };
}

/** Runs in the page before its scripts: marks each live push's arrival in the performance
 * timeline (hence in the trace), and records every frame with whether each panel in view then
 * shows a chart. */
function instrument(panels) {
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...a) {
      super(...a);
      this.addEventListener("message", (e) => {
        if (typeof e.data === "string" && e.data.includes('"type":"points"')) performance.mark("push");
      });
    }
  };
  const frames = (window.__frames = []);
  const visibleDrawn = () => {
    const panels = document.querySelectorAll("[data-panel-id]");
    if (panels.length === 0) return false;
    for (const p of panels) {
      const r = p.getBoundingClientRect();
      if (r.bottom > 0 && r.top < innerHeight && !p.querySelector("canvas")) return false;
    }
    return true;
  };
  window.__watchFirstRender = true;
  window.rangeAnswers = () => performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/v1/query_range"));
  // Frames are counted only while asked for: a frame requested for counting is main-thread work
  // of its own, which must not be billed to the pushes.
  window.__counting = true;
  const frame = () => {
    if (!window.__counting) return;
    // Looking for the charts reads the layout: only once the data is in, not to slow the load.
    const look = window.__watchFirstRender && window.rangeAnswers().length >= panels;
    frames.push({ t: performance.now(), drawn: look ? visibleDrawn() : null });
    requestAnimationFrame(frame);
  };
  window.__countFrames = () => {
    window.__counting = true;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Traces the page for seconds and returns, for each push, the main-thread milliseconds until the
 * next push mark and the longest task among them. */
async function pushCost(page, seconds) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on("Tracing.dataCollected", (d) => events.push(...d.value));
  const done = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
  await cdp.send("Tracing.start", {
    transferMode: "ReportEvents",
    traceConfig: { includedCategories: ["toplevel", "blink.user_timing", "devtools.timeline", "__metadata"] },
  });
  const profile = process.env.BENCH_PROFILE;
  if (profile) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  if (profile) (await import("node:fs")).writeFileSync(profile, JSON.stringify((await cdp.send("Profiler.stop")).profile));
  await cdp.send("Tracing.end");
  await done;
  await cdp.detach();
  if (process.env.BENCH_TRACE) (await import("node:fs")).writeFileSync(process.env.BENCH_TRACE, JSON.stringify(events));
  const marks = events.filter((e) => e.name === "push" && e.cat.includes("blink.user_timing")).sort((a, b) => a.ts - b.ts);
  if (marks.length < 3) throw new Error(`only ${marks.length} pushes in ${seconds} s`);
  const pid = marks[0].pid;
  const main = events.find((e) => e.pid === pid && e.name === "thread_name" && e.args?.name === "CrRendererMain");
  const tasks = events
    .filter((e) => e.pid === pid && e.tid === main.tid && e.name === "ThreadControllerImpl::RunTask" && e.ph === "X")
    .sort((a, b) => a.ts - b.ts);
  const costs = [];
  const longest = [];
  for (let i = 0; i + 1 < marks.length; i++) {
    const [from, to] = [marks[i].ts, marks[i + 1].ts];
    let sum = 0;
    let end = 0;
    let most = 0;
    for (const t of tasks) {
      // The push's own task began just before its mark; nested tasks are counted once.
      if (t.ts + t.dur < from || t.ts >= to || t.ts < end) continue;
      sum += t.dur;
      most = Math.max(most, t.dur);
      end = t.ts + t.dur;
    }
    costs.push(sum / 1000);
    longest.push(most / 1000);
  }
  return { costs, longest };
}

async function fps(page, seconds) {
  await page.evaluate(() => window.__countFrames());
  const n0 = await page.evaluate(() => window.__frames.length);
  const t0 = await page.evaluate(() => performance.now());
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const [n1, t1] = await page.evaluate(() => {
    window.__counting = false;
    return [window.__frames.length, performance.now()];
  });
  return ((n1 - n0) * 1000) / (t1 - t0);
}

async function main() {
  const huddle = await spawnHuddle({ suite: "bench", env: { HUDDLE_ADMIN_PASSWORD: ADMIN_PASSWORD }, logsEnv: "HUDDLE_BENCH_LOGS", timeout: TIMEOUT });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs });
  try {
    const admin = await apiSession(huddle.url, "admin", ADMIN_PASSWORD);
    for (const p of people) await admin("POST", "/api/users", p);
    const { dashboard } = await admin("POST", "/api/dashboards", benchDashboard());
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, baseURL: huddle.url });
    const res = await context.request.post("/api/login", { data: { user: "admin", password: ADMIN_PASSWORD } });
    if (!res.ok()) throw new Error(`login: ${res.status()}`);
    await context.addInitScript(instrument, PANELS);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    const metrics = await context.newCDPSession(page);
    await metrics.send("Performance.enable");
    await page.goto(`/d/${dashboard.uid}`);

    // 1. First render: the range queries are all answered when their count reaches the
    // panels', and the frames from then on say when every panel in view had its chart.
    await poll(() => page.evaluate((n) => rangeAnswers().length >= n, PANELS), { timeout: TIMEOUT, what: "the range queries" });
    const first = await poll(
      () =>
        page.evaluate(() => {
          const data = Math.max(...rangeAnswers().map((e) => e.responseEnd));
          const drawn = window.__frames.find((x) => x.t >= data && x.drawn);
          if (!drawn) return null;
          window.__watchFirstRender = false;
          window.__counting = false;
          return { data, drawn: drawn.t, charts: document.querySelectorAll("[data-panel-id] .uplot").length };
        }),
      { timeout: TIMEOUT, what: "the panels in view to be drawn" },
    );
    const firstRender = first.drawn - first.data;
    // Read once the frame is found, so a little later than it: an upper bound.
    const busy = (await metrics.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value * 1000;

    // 2. Live pushes, once the page has settled.
    await new Promise((r) => setTimeout(r, 3000));
    const { costs, longest } = await pushCost(page, PUSH_SECONDS);

    // 3. Frames per second with nobody, one and two other people pointing.
    const calls = await Promise.all(people.map((p) => apiSession(huddle.url, p.login, p.password)));
    const still = await fps(page, FPS_SECONDS);
    const stopAda = await pointerMover(calls[0], dashboard.uid, 0);
    await new Promise((r) => setTimeout(r, 1000));
    const one = await fps(page, FPS_SECONDS);
    const stopBob = await pointerMover(calls[1], dashboard.uid, 20);
    await new Promise((r) => setTimeout(r, 1000));
    const two = await fps(page, FPS_SECONDS);
    stopAda();
    stopBob();

    const f1 = (x) => x.toFixed(1);
    console.log(`dashboard: ${PANELS} time series panels x ${SERIES} series, 6 h at a 30 s step, refresh 1 s; viewport 1400x900`);
    console.log(`first render: range answers done ${f1(first.data)} ms after navigation; panels in view drawn ${f1(firstRender)} ms later (${first.charts} charts made by then); main thread busy ${f1(busy)} ms from navigation until then`);
    console.log(`main thread per live push: median ${f1(median(costs))} ms, p95 ${f1(quantile(costs, 0.95))} ms (${costs.length} pushes); its longest task: median ${f1(median(longest))} ms, p95 ${f1(quantile(longest, 0.95))} ms`);
    console.log(`fps: ${f1(still)} with nobody pointing, ${f1(one)} with one person, ${f1(two)} with two`);
    if (errors.length) console.log(`page errors: ${errors.map(String).join("; ")}`);
  } finally {
    await browser.close();
    await stopAll();
  }
}

await main();
