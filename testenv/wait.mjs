// Waiting on conditions for the Node test suites: every wait is for a condition, bounded by a
// timeout, never a sleep that hopes the server has caught up.

/**
 * Polls cond (sync or async) until it returns a truthy value, which is returned.
 * @param {() => unknown} cond
 * @param {{timeout: number, what?: string, every?: number}} o every is the polling interval in ms
 */
export async function poll(cond, { timeout, what = "condition", every = 10 }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
