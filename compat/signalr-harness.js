// What the SignalR compat suites share: the app's negotiate endpoint that hands the official
// SignalR client its service URL and token, and calls of the SignalR REST API signed as the
// Management SDK signs them.

import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";

import { randomBytes } from "node:crypto";
import { after, before } from "node:test";

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

import { spawnHuddle } from "../testenv/huddle.mjs";
import { TIMEOUT, signJwt } from "./harness.js";

export const V2 = "2022-06-01";

/**
 * The app's negotiate endpoint, POST /api/negotiate?hub=…[&user=…][&tokenHub=…][&expired=1]
 * [&wrongKey=1]: {url, accessToken} for the huddle serviceURL() names, the token signed with
 * accessKey as the server SDK signs it (Microsoft.Azure.SignalR: aud
 * {scheme}://{host}/client/?hub={hub} without the port, user in nameid), as Azure Functions'
 * SignalRConnectionInfo binding answers. The query lets a test ask for a bad token.
 */
export async function startNegotiateApp(serviceURL, accessKey) {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, "http://app");
    if (req.method !== "POST" || u.pathname !== "/api/negotiate") {
      res.writeHead(404).end();
      return;
    }
    const hub = u.searchParams.get("hub").toLowerCase();
    const tokenHub = (u.searchParams.get("tokenHub") ?? hub).toLowerCase();
    const now = Math.floor(Date.now() / 1000);
    // Past the service's 5 minutes of clock skew when expired.
    const exp = u.searchParams.has("expired") ? now - 600 : now + 3600;
    const claims = { aud: `http://127.0.0.1/client/?hub=${tokenHub}`, iat: now, nbf: now, exp };
    if (u.searchParams.has("user")) claims.nameid = u.searchParams.get("user");
    const key = u.searchParams.has("wrongKey") ? "not-the-access-key" : accessKey;
    const body = { url: `${serviceURL()}/client/?hub=${hub}`, accessToken: signJwt(claims, key) };
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}/api`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Calls the SignalR REST API of huddle ({url, accessKey}) as the Management SDK does. query is
 * a list of [name, value] pairs; the token's aud leaves out excluded and reason, which the SDK
 * adds to the URL after signing. A body is sent as JSON unless it is a string or bytes, which go
 * as they are, as contentType when given.
 */
export async function restCall(huddle, method, path, { query = [], body, contentType, key = huddle.accessKey, aud } = {}) {
  const base = new URL(huddle.url);
  const q = new URLSearchParams(query).toString();
  const signed = new URLSearchParams(query.filter(([k]) => k !== "excluded" && k !== "reason")).toString();
  const audience = aud ?? `${base.protocol}//${base.hostname}${path}${signed ? "?" + signed : ""}`;
  const now = Math.floor(Date.now() / 1000);
  const token = signJwt({ aud: audience, exp: now + 3600, iat: now, nbf: now, nameid: "compat-app-server" }, key);
  const headers = { Authorization: `Bearer ${token}` };
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType ?? "application/json; charset=utf-8";
    payload = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  }
  const res = await fetch(`${huddle.url}${path}${q ? "?" + q : ""}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, code: res.headers.get("x-ms-error-code"), text };
}

/**
 * Calls the REST API (restCall) and asserts the status and x-ms-error-code, and that an error
 * body is {code, message} with that code.
 */
export async function expectRest(huddle, method, path, opts, status, code = null) {
  const got = await restCall(huddle, method, path, opts);
  assert.equal(got.status, status, `${method} ${path}: ${got.status} ${got.text}`);
  assert.equal(got.code, code, `${method} ${path}: x-ms-error-code`);
  if (status >= 400 && method !== "HEAD") {
    const e = JSON.parse(got.text);
    assert.equal(e.code, code);
    assert.equal(typeof e.message, "string");
  }
  return got;
}

/**
 * A test file's SignalR set-up: a huddle with an access key of its own and an app negotiate
 * endpoint for it, started before the file's tests and stopped after them, with every client
 * build() made. restart() starts a new huddle with the same key, which the app names from then on.
 */
export function signalRFixture() {
  const fx = { accessKey: randomBytes(24).toString("base64url"), huddle: null, app: null, connections: new Set() };
  const start = () =>
    spawnHuddle({ suite: "compat", env: { HUDDLE_ACCESS_KEY: fx.accessKey }, logsEnv: "HUDDLE_COMPAT_LOGS", timeout: TIMEOUT });
  fx.restart = async () => {
    fx.huddle = await start();
    return fx.huddle;
  };
  /** A client of the app's negotiate endpoint with query (hub, user, …), not started. */
  fx.build = (query, { messagePack = false, transport } = {}) => {
    let b = new signalR.HubConnectionBuilder()
      .withUrl(`${fx.app.url}?${new URLSearchParams(query)}`, transport === undefined ? {} : { transport })
      .withAutomaticReconnect()
      .configureLogging(signalR.LogLevel.None);
    if (messagePack) b = b.withHubProtocol(new MessagePackHubProtocol());
    const c = b.build();
    fx.connections.add(c);
    return c;
  };
  before(async () => {
    fx.huddle = await start();
    fx.app = await startNegotiateApp(() => fx.huddle.url, fx.accessKey);
  });
  after(async () => {
    await Promise.all([...fx.connections].map((c) => c.stop().catch(() => {})));
    fx.app?.close();
    await fx.huddle?.stop();
  });
  return fx;
}
