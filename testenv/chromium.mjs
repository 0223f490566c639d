// The fixed flags headless Chromium runs with, for the browser tests and the browser benchmark
// alike, so that what the benchmark measures is the browser the tests check.
export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium to run: Debian's, unless CHROMIUM_BIN names another. */
export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
