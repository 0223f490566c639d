// HTTP calls to huddle's own API. Errors come back as ApiError with the server's message, so
// every caller can show it as is; a lost session sends the browser to the login page.
import type { PromSample } from "./data";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** signInAgain sends the browser to the login page, to come back here: the session is over. */
function signInAgain(): never {
  location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  throw new ApiError(401, "sign in again");
}

/** api calls huddle's API with body as JSON, or, given its content type, as the text it is. */
export async function api<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = contentType ? String(body) : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = contentType ?? "application/json";
  }
  const res = await fetch(path, init);
  if (res.status === 401) signInAgain();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, `${method} ${path}: the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const obj = (data ?? {}) as Record<string, unknown>;
    const msg = typeof obj.error === "string" ? obj.error : `${method} ${path} failed with ${res.status}`;
    throw new ApiError(res.status, msg, obj);
  }
  return data as T;
}

export interface Me {
  login: string;
  name: string;
  role: "viewer" | "editor" | "admin";
}

/** mayEdit tells whether me may change what the alerting pages show: editors and admins may,
 * viewers only look, as the server's routes allow. */
export function mayEdit(me: Me | null): boolean {
  return me?.role === "editor" || me?.role === "admin";
}

/** prom calls an endpoint of the Prometheus-compatible API, posting its parameters as a form so
 * that long queries fit, and returns the answer's data. */
export async function prom<T>(path: string, params: URLSearchParams): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: params.toString(),
  });
  if (res.status === 401) signInAgain();
  let body: { status?: string; data?: T; error?: string };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, `${path} failed with ${res.status}`);
  }
  if (body.status !== "success" || body.data === undefined) throw new ApiError(res.status, body.error ?? `${path} failed with ${res.status}`);
  return body.data;
}

/** queryRange runs a PromQL range query and returns the matrix, or null where the server wrote
 * null for an empty one (Prometheus writes [], but not every compatible server does). */
export async function queryRange(params: URLSearchParams): Promise<PromSample[] | null> {
  const data = await prom<{ resultType?: string; result?: unknown }>("/api/v1/query_range", params);
  if (data.result != null && !Array.isArray(data.result)) {
    throw new ApiError(200, `the server answered a range query with a ${data.resultType ?? "result"} instead of a matrix`);
  }
  return (data.result ?? null) as PromSample[] | null;
}
