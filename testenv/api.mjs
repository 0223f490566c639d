// The API as a signed-in person calls it, for the browser suite and its benchmark.

/** Signs in over POST /api/login and returns a JSON caller carrying the session cookie. */
export async function apiSession(base, user, password) {
  const res = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user, password }),
  });
  if (!res.ok) throw new Error(`login as ${user}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  /** Calls the API; a status other than 2xx is an error carrying the status. */
  return async function call(method, p, body) {
    const r = await fetch(base + p, {
      method,
      headers: { Cookie: cookie, Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw Object.assign(new Error(`${method} ${p}: ${r.status} ${text}`), { status: r.status });
    return text ? JSON.parse(text) : undefined;
  };
}
