// Shared helpers of the compatibility suite: start the real huddle binary, connect the official
// SDKs to it, wait for conditions with timeouts, run an event handler and a cuttable TCP proxy.
//
// Every wait here is for a condition (an event, a message count) bounded by a timeout; nothing
// sleeps to let the server "catch up". Absence of a message is proved with a later marker message
// on the same connection: delivery per connection is ordered, so once the marker is in, anything
// sent before it would have been too.

import { randomBytes, createHmac } from "node:crypto";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after } from "node:test";

import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { WebPubSubClient } from "@azure/web-pubsub-client";
import { WebPubSubEventHandler } from "@azure/web-pubsub-express";
import express from "express";

import { spawnHuddle, stopAll } from "../testenv/huddle.mjs";
import { poll } from "../testenv/wait.mjs";

/** Default bound of every wait, in milliseconds. */
export const TIMEOUT = 10_000;

// The client SDK leaves 20 s and 40 s keep-alive timers running after stop(), and Node 20's test
// runner waits for the event loop to drain (there is no --test-force-exit in the Makefile's
// command). Once every test of the file has finished, stop what is left and exit instead of
// waiting. The hook is registered when a test file imports this module, so it belongs to the
// file's root.
after(async () => {
  await stopAll();
  setTimeout(() => process.exit(), 200).unref();
});

/**
 * Starts `huddle serve` on a free loopback port with its own data dir and access key.
 * @param {{hubs?: Record<string, {eventHandlers: object[]}>}} [config] written as the YAML --config
 */
export async function startHuddle(config) {
  const accessKey = randomBytes(24).toString("base64url");
  const clients = new Set();
  const proc = await spawnHuddle({
    suite: "compat",
    env: { HUDDLE_ACCESS_KEY: accessKey },
    logsEnv: "HUDDLE_COMPAT_LOGS",
    timeout: TIMEOUT,
    beforeStop() {
      for (const c of clients) c.stop();
    },
    async prepare(dataDir) {
      if (!config) return [];
      const file = path.join(dataDir, "huddle.yaml");
      // JSON is YAML: no YAML library needed.
      await writeFile(file, JSON.stringify(config, null, 2));
      return ["--config", file];
    },
  });
  const { url, dataDir } = proc;
  // huddle prints only a key it generated: this one came from the environment.
  const connectionString = `Endpoint=${url};AccessKey=${accessKey};Version=1.0;`;
  return {
    url,
    port: Number(new URL(url).port),
    connectionString,
    accessKey,
    dataDir,
    logs: proc.logs,
    /**
     * A server SDK client for hub; { allowInsecureConnection: true } is the one adaptation an
     * http:// endpoint needs. endpoint replaces the connection string's Endpoint, as for an app
     * server configured with the address of a proxy in front of huddle.
     */
    service(hub, { endpoint } = {}) {
      const cs = endpoint ? connectionString.replace(/Endpoint=[^;]+/, `Endpoint=${endpoint}`) : connectionString;
      return new WebPubSubServiceClient(cs, hub, { allowInsecureConnection: true });
    },
    /**
     * Connects an official client through a token from service.getClientAccessToken and waits for
     * its `connected` event. Returns the client, its inbox and its connection id.
     */
    async connect(service, { userId, roles, groups, url: urlOf, ...clientOptions } = {}) {
      const client = new WebPubSubClient(
        {
          getClientAccessUrl: async () => {
            const t = await service.getClientAccessToken({ userId, roles, groups });
            return urlOf ? urlOf(t) : t.url;
          },
        },
        clientOptions,
      );
      clients.add(client);
      const inbox = new Inbox(client);
      const connected = nextEvent(client, "connected");
      await client.start();
      const { connectionId, userId: reportedUser } = await connected;
      return { client, inbox, connectionId, userId: reportedUser };
    },
    /** Registers a client made elsewhere so that stop() stops it. */
    track(client) {
      clients.add(client);
      return client;
    },
    /** Stops the clients, then huddle, and removes its data dir. */
    stop: proc.stop,
  };
}

/** Polls cond until it returns a truthy value, within TIMEOUT unless o.timeout says otherwise. */
export const waitFor = (cond, o = {}) => poll(cond, { timeout: TIMEOUT, ...o });

/** Resolves with the next `name` event of emitter (an SDK client) that passes filter. */
export function nextEvent(emitter, name, { timeout = TIMEOUT, filter = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const listener = (e) => {
      if (!filter(e)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(e);
    };
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out after ${timeout} ms waiting for event ${name}`));
    }, timeout);
    emitter.on(name, listener);
  });
}

/** Everything a client SDK instance received: group and server messages in arrival order. */
export class Inbox {
  constructor(client) {
    /** @type {Array<{from: string, group?: string, fromUserId?: string, dataType: string, data: any, sequenceId?: number}>} */
    this.messages = [];
    client.on("group-message", (e) => this.messages.push({ ...e.message, from: "group" }));
    client.on("server-message", (e) => this.messages.push({ ...e.message, from: "server" }));
  }

  /** Payloads (data) received, in order. */
  get data() {
    return this.messages.map((m) => m.data);
  }

  /** Waits until pred(message) has matched at least n messages; returns the matches. */
  async waitFor(pred, { n = 1, timeout = TIMEOUT, what } = {}) {
    return waitFor(
      () => {
        const got = this.messages.filter(pred);
        return got.length >= n ? got : null;
      },
      { timeout, what: what ?? `${n} matching message(s)` },
    );
  }

  /** Waits for a message whose data deep-equals marker, e.g. { marker: "m1" }. */
  waitForMarker(marker, opts) {
    const key = JSON.stringify(marker);
    return this.waitFor((m) => JSON.stringify(m.data) === key, { what: `marker ${key}`, ...opts });
  }
}

/**
 * Sends a marker to every connection of svc's hub and waits until each given client has it. As
 * delivery per connection is ordered, whatever was sent to those clients before is in by then.
 */
export async function fence(svc, ...clients) {
  const marker = { marker: uniq("m") };
  await svc.sendToAll(marker);
  await Promise.all(clients.map((c) => c.inbox.waitForMarker(marker)));
}

/** Decodes a JWT's payload without checking it. */
export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

/** Signs an HS256 JWT with key (the AccessKey string as UTF-8 bytes, as the SDKs do). */
export function signJwt(payload, key) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc({ alg: "HS256", typ: "JWT" })}.${enc(payload)}`;
  return `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
}

/**
 * Runs an express app with the official WebPubSubEventHandler for hub on a free loopback port.
 * Returns its URL template for huddle's config and a close function. options may be a function:
 * it is called at the first request, for options (allowedEndpoints) that name huddle's address,
 * which is known only once huddle, configured with this handler's URL, has started. observe, if
 * given, sees each HTTP request and response first, e.g. to learn when huddle abandons one.
 */
export async function startEventHandler(hub, options, observe) {
  let middleware;
  const app = express();
  app.use((req, res, next) => {
    observe?.(req, res);
    middleware ??= new WebPubSubEventHandler(hub, typeof options === "function" ? options() : options).getMiddleware();
    middleware(req, res, next);
  });
  const server = http.createServer(app);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return {
    port,
    // The handler's default path; {hub} is filled in by huddle.
    urlTemplate: `http://127.0.0.1:${port}/api/webpubsub/hubs/{hub}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    /** Listens again on the same port after close, as a handler that restarts. */
    async listen() {
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
    },
  };
}

/**
 * A TCP proxy between clients and huddle that can cut the connections through it abruptly: no
 * WebSocket close frame, no orderly TCP shutdown. It also counts the server's pong frames.
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  let accepted = 0;
  let pongs = 0;
  let upstreams = 0;
  const pong = Buffer.from('{"type":"pong"}');
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    upstreams++;
    upstream.on("close", () => upstreams--);
    const pair = { client, upstream, keepUpstream: false };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      if (!pair.keepUpstream) upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    // Server frames are unmasked, so a pong is its JSON text right after a 2-byte header.
    upstream.on("data", (chunk) => {
      for (let i = chunk.indexOf(pong); i >= 0; i = chunk.indexOf(pong, i + 1)) pongs++;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const reset = (s) => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy());
  return {
    port: server.address().port,
    /** Connections accepted so far. */
    get accepted() {
      return accepted;
    },
    /** Connections open now. */
    get open() {
      return pairs.size;
    },
    /** Sockets to huddle open now, including those kept by cut({ clientOnly: true }). */
    get upstreams() {
      return upstreams;
    },
    /** Pong frames the server has sent through the proxy. */
    get pongs() {
      return pongs;
    },
    /**
     * Resets every proxied connection. With clientOnly, only the client's side goes: huddle's
     * side stays open (what huddle writes to it is read and dropped), as when a client vanishes
     * without the server noticing.
     */
    cut({ clientOnly = false } = {}) {
      for (const pair of [...pairs]) {
        pair.keepUpstream = clientOnly;
        if (clientOnly) {
          pair.client.unpipe(pair.upstream);
          pair.upstream.unpipe(pair.client);
          // Keep reading (and discarding) so that huddle's writes and its close are seen.
          pair.upstream.resume();
        }
        reset(pair.client);
        if (!clientOnly) reset(pair.upstream);
      }
      pairs.clear();
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A name unique within this run, for hubs, groups and users of one test. */
export function uniq(prefix) {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}
