// The reliable protocol across abrupt socket drops: a TCP proxy between the official client and
// huddle is cut while messages are sent to the client's group; after recovery the client must have
// every message exactly once and in order, on the same connection.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { WebPubSubJsonProtocol } from "@azure/web-pubsub-client";

import { nextEvent, startHuddle, startProxy, uniq, waitFor } from "./harness.js";

// Bounds of whole tests; every wait inside has its own, shorter timeout.
const long = { timeout: 60_000 };
const short = { timeout: 30_000 };

let huddle;
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await huddle?.stop();
});

/**
 * A fresh hub behind a proxy of its own: the service client, and one whose connection string
 * names the proxy, so that its tokens (and client URLs) are for the proxy's address, as in a
 * deployment behind a TCP load balancer. REST calls go straight to huddle so that cutting the
 * proxy never touches them.
 */
async function hubVia(t, prefix) {
  const hub = uniq(prefix);
  const proxy = await startProxy(huddle.port);
  t.after(() => proxy.close());
  return {
    proxy,
    svc: huddle.service(hub),
    tokens: huddle.service(hub, { endpoint: `http://127.0.0.1:${proxy.port}` }),
  };
}

test("abrupt drops while messages are sent: the client recovers and receives each exactly once, in order", long, async (t) => {
  const g = uniq("g");
  const { proxy, svc, tokens } = await hubVia(t, "rel");
  const c = await huddle.connect(tokens, { userId: "r", roles: ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"] });
  const events = [];
  for (const name of ["connected", "disconnected", "stopped"]) c.client.on(name, (e) => events.push([name, e]));
  await c.client.joinGroup(g);
  assert.equal(proxy.open, 1);
  const acceptedBefore = proxy.accepted;

  const TOTAL = 300;
  const cuts = new Set([40, 41, 150, 230]);
  for (let i = 0; i < TOTAL; i++) {
    if (cuts.has(i)) proxy.cut();
    if (i % 2) await svc.group(g).sendToAll({ i });
    else await svc.group(g).sendToAll(`m${i}`, { contentType: "text/plain" });
  }

  const got = await c.inbox.waitFor(() => true, { n: TOTAL, timeout: 30_000, what: `${TOTAL} messages` });
  assert.deepEqual(
    got.map((m) => m.data),
    Array.from({ length: TOTAL }, (_, i) => (i % 2 ? { i } : `m${i}`)),
  );
  assert.deepEqual(
    got.map((m) => m.sequenceId),
    Array.from({ length: TOTAL }, (_, i) => i + 1),
  );
  // It came back through recovery: new sockets, same connection, no disconnected/connected events.
  assert.ok(proxy.accepted > acceptedBefore, "the client opened new sockets");
  assert.deepEqual(events, []);
  assert.equal(await svc.connectionExists(c.connectionId), true);

  // Still a member of its group and able to publish; nothing else arrived.
  await waitFor(() => proxy.open === 1, { what: "the recovered socket" });
  await c.client.sendToGroup(g, { after: "recovery" }, "json");
  await c.inbox.waitForMarker({ after: "recovery" });
  assert.equal(c.inbox.messages.length, TOTAL + 1);
  assert.equal(c.inbox.messages.at(-1).sequenceId, TOTAL + 1);
});

test("many clients cut at once during a broadcast all recover with every message once, in order", long, async (t) => {
  const { proxy, svc, tokens } = await hubVia(t, "many");
  const N = 20;
  const TOTAL = 200;
  const clients = await Promise.all(Array.from({ length: N }, (_, i) => huddle.connect(tokens, { userId: `m${i}` })));
  const events = [];
  for (const c of clients) for (const name of ["connected", "disconnected"]) c.client.on(name, () => events.push(name));
  for (let i = 0; i < TOTAL; i++) {
    if (i === 60 || i === 140) proxy.cut();
    await svc.sendToAll({ i });
  }
  const want = Array.from({ length: TOTAL }, (_, i) => ({ i }));
  await Promise.all(clients.map((c) => c.inbox.waitFor(() => true, { n: TOTAL, timeout: 30_000 })));
  for (const [n, c] of clients.entries()) {
    assert.deepEqual(c.inbox.data, want, `client ${n}`);
    assert.deepEqual(
      c.inbox.messages.map((m) => m.sequenceId),
      Array.from({ length: TOTAL }, (_, i) => i + 1),
      `client ${n} sequence ids`,
    );
  }
  assert.deepEqual(events, []);
  assert.ok(proxy.accepted >= 3 * N, `every client reconnected twice (${proxy.accepted} sockets)`);
});

test("a drop with nothing in flight, then messages: recovery replays what was sent while away", short, async (t) => {
  const { proxy, svc, tokens } = await hubVia(t, "rel");
  const c = await huddle.connect(tokens, { userId: "quiet" });
  await svc.sendToConnection(c.connectionId, { before: true });
  await c.inbox.waitForMarker({ before: true });

  // Cut, and send before the client can be back: these must wait in the session's buffer.
  proxy.cut();
  for (let i = 0; i < 10; i++) await svc.sendToUser("quiet", { away: i });
  await c.inbox.waitFor(() => true, { n: 11 });
  assert.deepEqual(c.inbox.data, [{ before: true }, ...Array.from({ length: 10 }, (_, i) => ({ away: i }))]);
  assert.equal(await svc.connectionExists(c.connectionId), true);
});

// What dashboard viewers send to a collaboration group (hub "huddle", group "dash.<uid>.collab") is
// ephemeral: huddle gives it no sequenceId and keeps no copy to resend. The official client takes a
// group message without a sequenceId on the reliable protocol as it is, outside its sequence
// tracking and acks (handleGroupDataMessage in @azure/web-pubsub-client 1.1.0,
// dist/esm/webPubSubClient.js, updates the sequence only `if (message.sequenceId != null)`).
test("ephemeral collaboration messages on the reliable protocol: no sequenceId, in order, never replayed", short, async (t) => {
  const collab = `dash.${uniq("d")}.collab`;
  const g = uniq("g");
  const proxy = await startProxy(huddle.port);
  t.after(() => proxy.close());
  const svc = huddle.service("huddle");
  const tokens = huddle.service("huddle", { endpoint: `http://127.0.0.1:${proxy.port}` });
  const roles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];
  // WebPubSubClient speaks json.reliable.webpubsub.azure.v1 unless told otherwise.
  const viewer = await huddle.connect(tokens, { userId: "viewer", roles, groups: [collab, g] });
  const events = [];
  for (const name of ["connected", "disconnected", "stopped"]) viewer.client.on(name, (e) => events.push([name, e]));
  const peer = await huddle.connect(svc, { userId: "peer", roles });

  await peer.client.sendToGroup(collab, { cursor: 1 }, "json");
  await svc.group(g).sendToAll({ durable: 1 });
  await peer.client.sendToGroup(collab, { cursor: 2 }, "json");
  await viewer.inbox.waitFor(() => true, { n: 3 });

  // A drop: the recovered session replays what is unacknowledged, which never includes an
  // ephemeral message (without a sequenceId the client could not tell a replay from a new one).
  const accepted = proxy.accepted;
  proxy.cut();
  await svc.group(g).sendToAll({ durable: 2 });
  await viewer.inbox.waitForMarker({ durable: 2 });
  await peer.client.sendToGroup(collab, { cursor: 3 }, "json");
  await viewer.inbox.waitForMarker({ cursor: 3 });

  assert.deepEqual(
    viewer.inbox.messages.map((m) => [m.from, m.group ?? null, m.data, m.sequenceId]),
    [
      ["group", collab, { cursor: 1 }, undefined],
      ["group", g, { durable: 1 }, 1],
      ["group", collab, { cursor: 2 }, undefined],
      ["group", g, { durable: 2 }, 2],
      ["group", collab, { cursor: 3 }, undefined],
    ],
  );
  assert.ok(proxy.accepted > accepted, "the client came back on a new socket");
  assert.deepEqual(events, []);
});

test("a connection closed by the service reconnects as a new connection and rejoins its groups", short, async (t) => {
  const hub = uniq("rel");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const c = await huddle.connect(svc, { userId: "again", roles: ["webpubsub.joinLeaveGroup"] });
  await c.client.joinGroup(g);

  const disconnected = nextEvent(c.client, "disconnected");
  const reconnected = nextEvent(c.client, "connected");
  await svc.closeConnection(c.connectionId, { reason: "start over" });
  const d = await disconnected;
  assert.equal(d.connectionId, c.connectionId);
  assert.equal(d.message?.message, "Application server closed the connection. Reason: start over");
  const r = await reconnected;
  assert.notEqual(r.connectionId, c.connectionId);
  assert.equal(r.userId, "again");
  assert.equal(await svc.connectionExists(c.connectionId), false);
  assert.equal(await svc.connectionExists(r.connectionId), true);

  // The SDK rejoined the group before it reported connected.
  await svc.group(g).sendToAll({ rejoined: true });
  const [m] = await c.inbox.waitForMarker({ rejoined: true });
  // A fresh connection numbers its messages from 1 again.
  assert.equal(m.sequenceId, 1);
});

test("a client that vanishes while huddle's socket stays open recovers, and the old socket is dropped", short, async (t) => {
  const { proxy, svc, tokens } = await hubVia(t, "rel");
  const c = await huddle.connect(tokens, { userId: "halfopen" });
  const events = [];
  for (const name of ["connected", "disconnected"]) c.client.on(name, (e) => events.push([name, e]));
  await svc.sendToConnection(c.connectionId, { n: 0 });
  await c.inbox.waitForMarker({ n: 0 });

  // The client's side goes; huddle still writes to its side, which nobody reads.
  proxy.cut({ clientOnly: true });
  for (let i = 1; i <= 50; i++) await svc.sendToConnection(c.connectionId, { n: i });
  await c.inbox.waitFor(() => true, { n: 51 });
  assert.deepEqual(
    c.inbox.data,
    Array.from({ length: 51 }, (_, i) => ({ n: i })),
  );
  assert.deepEqual(
    c.inbox.messages.map((m) => m.sequenceId),
    Array.from({ length: 51 }, (_, i) => i + 1),
  );
  assert.deepEqual(events, []);
  // Once the client is back, huddle lets go of the stale socket: only the new one is open.
  assert.equal(proxy.open, 1);
  await waitFor(() => proxy.upstreams === 1, { what: "huddle to close the stale socket" });
});

test("a session closed by the service while its socket is down is not recovered: the client starts afresh", short, async (t) => {
  const g = uniq("g");
  const { proxy, svc, tokens } = await hubVia(t, "rel");
  const c = await huddle.connect(tokens, { userId: "gone", roles: ["webpubsub.joinLeaveGroup"] });
  await c.client.joinGroup(g);

  // Take the client away from huddle, then end its session while it is away.
  const disconnected = nextEvent(c.client, "disconnected");
  const reconnected = nextEvent(c.client, "connected");
  proxy.cut();
  await svc.closeConnection(c.connectionId, { reason: "closed while away" });
  assert.equal(await svc.connectionExists(c.connectionId), false);

  // The recovery attempt is refused (1008), so the SDK reports the loss and reconnects afresh.
  const d = await disconnected;
  assert.equal(d.connectionId, c.connectionId);
  const r = await reconnected;
  assert.notEqual(r.connectionId, c.connectionId);
  await svc.group(g).sendToAll({ fresh: true });
  await c.inbox.waitForMarker({ fresh: true });
});

test("the plain JSON protocol does not recover: after a drop the client reconnects afresh and rejoins", short, async (t) => {
  const g = uniq("g");
  const { proxy, svc, tokens } = await hubVia(t, "plain");
  const c = await huddle.connect(tokens, {
    userId: "plain",
    roles: ["webpubsub.joinLeaveGroup"],
    protocol: WebPubSubJsonProtocol(),
  });
  await c.client.joinGroup(g);

  const disconnected = nextEvent(c.client, "disconnected");
  const reconnected = nextEvent(c.client, "connected");
  proxy.cut();
  const d = await disconnected;
  assert.equal(d.connectionId, c.connectionId);
  const r = await reconnected;
  assert.notEqual(r.connectionId, c.connectionId);
  // The old connection ended on the drop: a non-reliable connection is not kept for recovery.
  await waitFor(async () => !(await svc.connectionExists(c.connectionId)), { what: "the old connection to end" });
  await svc.group(g).sendToAll({ rejoined: "plain" });
  const [m] = await c.inbox.waitForMarker({ rejoined: "plain" });
  assert.equal(m.sequenceId, undefined);
});

test("keep-alive: huddle answers the client's pings, so a client with a short keep-alive timeout stays connected", short, async (t) => {
  const { proxy, svc, tokens } = await hubVia(t, "ka");
  const events = [];
  // The SDK pings every 100 ms and drops a socket that heard nothing for 1 s.
  const c = await huddle.connect(tokens, { userId: "ka", keepAliveIntervalInMs: 100, keepAliveTimeoutInMs: 1_000 });
  for (const name of ["connected", "disconnected"]) c.client.on(name, (e) => events.push([name, e]));
  const accepted = proxy.accepted;
  const pongs = proxy.pongs;
  // 25 pongs take about 2.5 s: well past the 1 s timeout had they not come.
  await waitFor(() => proxy.pongs - pongs >= 25, { what: "25 pongs" });
  assert.equal(proxy.accepted, accepted, "the client never had to open a new socket");
  assert.deepEqual(events, []);
  await svc.sendToConnection(c.connectionId, { still: "here" });
  await c.inbox.waitForMarker({ still: "here" });
});

test("a token signed for the connection string's endpoint is accepted through a proxy (another Host)", async (t) => {
  const { proxy, svc } = await hubVia(t, "host");
  // The SDK signs for huddle's own address; the client goes through the proxy's.
  const c = await huddle.connect(svc, {
    userId: "proxied",
    url: (tok) => tok.url.replace(`//127.0.0.1:${huddle.port}/`, `//127.0.0.1:${proxy.port}/`),
  });
  assert.equal(proxy.accepted, 1);
  await svc.sendToConnection(c.connectionId, { via: "proxy" });
  await c.inbox.waitForMarker({ via: "proxy" });
});
