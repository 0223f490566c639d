// Waiting on conditions for the Node test suites: every wait is for a condition, bounded by a
// timeout, never a sleep that hopes the server has caught up.

/**
 * Polls cond (sync or async) until it returns a truthy value, which is returned. The pause
 * between calls starts at a millisecond, for a condition about to hold, and doubles up to 100 ms,
 * for a condition that costs a request or a round trip to the browser.
 * @param {() => unknown} cond
 * @param {{timeout: number, what?: string}} o
 */
export async function poll(cond, { timeout, what = "condition" }) {
  const deadline = Date.now() + timeout;
  for (let pause = 1; ; pause = Math.min(2 * pause, 100)) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}
