// Starts and stops the real huddle binary for the Node test suites (compat/, e2e/), and keeps
// count of the ones running, so that none outlives the test process. It needs only Node's own
// modules, so either suite imports it by path.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** The huddles this process started and has not stopped yet. */
const running = new Set();

// Should the process end some other way, no huddle outlives it.
process.on("exit", () => {
  for (const h of running) h.kill();
});

/** Stops every huddle this process started and has not stopped yet, for a suite's after hook. */
export async function stopAll() {
  await Promise.all([...running].map((h) => h.stop()));
}

/**
 * Runs `$HUDDLE_BIN serve` on a free loopback port in a data dir of its own, and resolves once it
 * prints that it is serving.
 * @param {object} o
 * @param {string} o.suite names the suite in the data dir and in errors, e.g. "compat"
 * @param {Record<string, string>} [o.env] added to the environment
 * @param {(dataDir: string) => Promise<string[]>} [o.prepare] writes files into the data dir
 *   before the start and returns extra arguments for `serve`
 * @param {string} [o.logsEnv] when this environment variable is set, huddle's log is echoed
 * @param {number} o.timeout how long to wait for the start, in milliseconds
 * @param {string} [o.addr] listen address, default 127.0.0.1:0 (a free port)
 * @param {string} [o.dataDir] an existing data dir to use and leave in place, so that a test can
 *   stop huddle and start it again with the same access key and state
 * @param {() => unknown} [o.beforeStop] called by stop() before huddle is stopped
 * @returns {Promise<{url: string, stdout: string, dataDir: string, logs(): string, stop(): Promise<void>, kill(): void}>}
 */
export async function spawnHuddle({ suite, env = {}, prepare, logsEnv, timeout, beforeStop, addr = "127.0.0.1:0", dataDir: ownDir }) {
  const bin = process.env.HUDDLE_BIN;
  if (!bin) throw new Error(`HUDDLE_BIN is not set: run \`make test-${suite}\`, or set it to a built bin/huddle`);
  const dataDir = ownDir ?? (await mkdtemp(path.join(tmpdir(), `huddle-${suite}-`)));
  const removeDataDir = () => {
    if (!ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const args = ["serve", "--addr", addr, "--data-dir", dataDir, ...(prepare ? await prepare(dataDir) : [])];
  const proc = spawn(bin, args, {
    env: { ...process.env, HUDDLE_LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-64 * 1024);
    if (logsEnv && process.env[logsEnv]) process.stderr.write(d);
  });
  let stdout = "";
  proc.stdout.setEncoding("utf8");
  const serving = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`huddle did not start in time:\n${stdout}\n${stderr}`)), timeout);
    proc.stdout.on("data", (d) => {
      stdout += d;
      // The next line has the connection string, whole only on the start that generated the key.
      const m = /is serving on (http:\/\/\S+)\nconnection string: .*\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ""));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`huddle exited with ${code} before it was serving:\n${stdout}\n${stderr}`));
    });
  });
  const kill = () => {
    proc.kill("SIGKILL");
    removeDataDir();
  };
  let url;
  try {
    url = await serving;
  } catch (err) {
    kill();
    throw err;
  }
  const huddle = {
    url,
    stdout,
    dataDir,
    logs: () => stderr,
    /**
     * Runs beforeStop (the suite's own clean-up, such as stopping its clients), then stops huddle
     * (SIGTERM, SIGKILL after 5 s) and removes its data dir unless the caller gave it.
     */
    async stop() {
      await beforeStop?.();
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, "exit");
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(t);
      }
      running.delete(huddle);
      removeDataDir();
    },
    /** Kills huddle at once, for a process on its way out. */
    kill() {
      running.delete(huddle);
      kill();
    },
  };
  running.add(huddle);
  return huddle;
}
