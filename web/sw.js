// The service worker keeps the app shell (the page and its hashed assets) so the app opens
// without the network and says it is offline. It never answers for the API, the hub, sign-in or
// anything else the server decides afresh: those go to the network untouched.
//
// The build writes the shell's file list and a version over the two placeholders below; a new
// deploy is a new version, a new cache name and so a new worker, which takes over at once
// (skipWaiting, clients.claim) and drops the old cache. Taking over at once is safe because
// pages are always asked of the network first: an open page keeps the code it loaded, and the
// next load gets the new build, as it would without a worker.
const VERSION = self.__HUDDLE_VERSION__;
const ASSETS = self.__HUDDLE_ASSETS__;
const CACHE = "huddle-shell-" + VERSION;
// Every page of the app is the same index.html, kept once under this key.
const PAGE = "/";
// The server's own answers, never the app shell, even when the browser navigates to them.
const NOT_PAGES = ["/api/", "/client/", "/login", "/metrics", "/-/", "/assets/", "/icons/"];

// rememberPage keeps a page the server sent as the shell, unless the server said something
// else (a redirect to sign in, an error).
async function rememberPage(cache, response) {
  if (response.ok && !response.redirected && (response.headers.get("Content-Type") || "").startsWith("text/html")) {
    await cache.put(PAGE, response);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS);
      // Someone not signed in is sent to the login page: there is no shell to keep yet.
      await rememberPage(cache, await fetch(PAGE, { credentials: "same-origin" }));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("huddle-shell-") && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && !NOT_PAGES.some((p) => url.pathname.startsWith(p))) {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith("/assets/")) {
    // Hashed names: a cached file is the right one for as long as it exists.
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});

// page asks the network first (the server checks the session and may have a new build), keeps
// what it answers, and falls back to the kept shell when the network fails.
async function page(event) {
  try {
    const response = await fetch(event.request);
    event.waitUntil(caches.open(CACHE).then((cache) => rememberPage(cache, response.clone())));
    return response;
  } catch (err) {
    const kept = await caches.match(PAGE, { cacheName: CACHE });
    if (kept) return kept;
    throw err;
  }
}
