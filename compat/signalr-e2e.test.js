// The official SignalR client (@microsoft/signalr, JSON and MessagePack over WebSockets, through
// an app's negotiate endpoint) receiving what every send, membership and close route of the
// SignalR REST API does, in both API versions (v1 /api/v1/hubs/… and /api/hubs/…?api-version=
// 2022-06-01). Routes and success statuses are those of Azure/azure-signalr docs/swagger/v1.json
// and docs/swagger/V20220601.json; the REST calls are signed as the Management SDK signs them
// (signalr-harness.js). Each client records what it receives; absence is proved with a marker
// broadcast after the sends (delivery per connection is ordered, harness.js).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import WebSocket from "ws";

import { signJwt, startHuddle, uniq, waitFor } from "./harness.js";
import { V2, expectRest, restCall, startNegotiateApp } from "./signalr-harness.js";

let huddle;
let app;
const connections = new Set();

before(async () => {
  huddle = await startHuddle();
  app = await startNegotiateApp(() => huddle.url, huddle.accessKey);
});
after(async () => {
  await Promise.all([...connections].map((c) => c.stop().catch(() => {})));
  app?.close();
  await huddle?.stop();
});

const rest = (...args) => expectRest(huddle, ...args);
const v2 = (...q) => ({ query: [["api-version", V2], ...q] });

/**
 * Connects an official client to hub as user (none if undefined), in MessagePack when asked.
 * It keeps a reconnect policy, so that a close that allowed reconnecting would show. Returns the
 * client, its connection id, the arguments of every "notify" it received, and its close.
 */
async function connect(hub, { user, messagePack = false } = {}) {
  const query = new URLSearchParams({ hub });
  if (user !== undefined) query.set("user", user);
  let b = new signalR.HubConnectionBuilder()
    .withUrl(`${app.url}?${query}`, { transport: signalR.HttpTransportType.WebSockets })
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.None);
  if (messagePack) b = b.withHubProtocol(new MessagePackHubProtocol());
  const c = b.build();
  connections.add(c);
  const x = { c, user, messagePack, got: [], markers: new Set(), reconnecting: 0, closeError: undefined, closed: false };
  c.on("notify", (...args) => x.got.push(args));
  c.on("marker", (m) => x.markers.add(m));
  c.onreconnecting(() => x.reconnecting++);
  c.onclose((err) => {
    x.closed = true;
    x.closeError = err;
  });
  await c.start();
  x.id = c.connectionId;
  return x;
}

/** Broadcasts a marker and waits until every client has it: all sent before has arrived. */
async function fence(hub, ...clients) {
  const m = uniq("marker");
  await rest("POST", `/api/hubs/${hub}/:send`, { ...v2(), body: { Target: "marker", Arguments: [m] } }, 202);
  await waitFor(() => clients.every((x) => x.markers.has(m)), { what: `marker ${m}` });
}

const newHub = () => uniq("sre").toLowerCase();
const label = (x) => `${x.user ?? "anonymous"} (${x.messagePack ? "MessagePack" : "JSON"})`;

// A client reads the reason from the service's Close message as "Server returned an error on
// close: <error>" (@microsoft/signalr HubConnection.js, MessageType.Close).
const closedWith = (reason) => new RegExp(`^Error: Server returned an error on close: ${reason}$`);

/** Asserts that each client received exactly the listed notify arguments, in order. */
function assertReceived(want) {
  for (const [x, args] of want) assert.deepEqual(x.got, args, `received by ${label(x)}`);
}

describe("sends", () => {
  test("every send route of both versions reaches exactly its clients, JSON and MessagePack alike, once", async () => {
    const hub = newHub();
    const g = uniq("g");
    const a = await connect(hub, { user: "ua" });
    const b = await connect(hub, { user: "ub", messagePack: true });
    const c = await connect(hub);
    const d = await connect(hub, { messagePack: true });
    await rest("PUT", `/api/v1/hubs/${hub}/groups/${g}/connections/${c.id}`, {}, 200);
    await rest("PUT", `/api/hubs/${hub}/groups/${g}/connections/${d.id}`, v2(), 200);

    const sends = [
      [`/api/v1/hubs/${hub}`, [["excluded", c.id]], [a, b, d]],
      [`/api/hubs/${hub}/:send`, [["api-version", V2], ["excluded", a.id], ["excluded", b.id]], [c, d]],
      [`/api/v1/hubs/${hub}/users/ua`, [], [a]],
      [`/api/hubs/${hub}/users/ub/:send`, [["api-version", V2]], [b]],
      [`/api/v1/hubs/${hub}/connections/${c.id}`, [], [c]],
      [`/api/hubs/${hub}/connections/${d.id}/:send`, [["api-version", V2]], [d]],
      [`/api/v1/hubs/${hub}/groups/${g}`, [], [c, d]],
      [`/api/v1/hubs/${hub}/groups/${g}`, [["excluded", d.id]], [c]],
      [`/api/hubs/${hub}/groups/${g}/:send`, [["api-version", V2], ["excluded", c.id]], [d]],
    ];
    const want = new Map([a, b, c, d].map((x) => [x, []]));
    for (const [i, [path, query, to]] of sends.entries()) {
      // Integers, floats, strings, nulls, nested objects: both hub protocols carry them as sent.
      const args = [`send ${i}`, { i, half: i + 0.5, nested: { list: [i, null, true] } }];
      await rest("POST", path, { query, body: { Target: "notify", Arguments: args } }, 202);
      for (const x of to) want.get(x).push(args);
    }
    await fence(hub, a, b, c, d);
    assertReceived(want);
  });

  test("connections join and leave groups through both versions", async () => {
    const hub = newHub();
    const x = await connect(hub);
    const y = await connect(hub, { messagePack: true });
    const send = (g, n) => rest("POST", `/api/hubs/${hub}/groups/${g}/:send`, { ...v2(), body: { Target: "notify", Arguments: [n] } }, 202);
    await rest("PUT", `/api/v1/hubs/${hub}/groups/g1/connections/${x.id}`, {}, 200);
    await rest("PUT", `/api/hubs/${hub}/groups/g1/connections/${y.id}`, v2(), 200);
    await rest("PUT", `/api/hubs/${hub}/groups/g2/connections/${y.id}`, v2(), 200);
    await send("g1", 1);
    await rest("DELETE", `/api/v1/hubs/${hub}/groups/g1/connections/${x.id}`, {}, 200);
    await send("g1", 2);
    await rest("DELETE", `/api/hubs/${hub}/groups/g1/connections/${y.id}`, v2(), 200);
    await send("g1", 3);
    await send("g2", 4);
    // Removal from all of a connection's groups (2022-06-01 only).
    await rest("DELETE", `/api/hubs/${hub}/connections/${y.id}/groups`, v2(), 200);
    await send("g2", 5);
    await fence(hub, x, y);
    assertReceived([
      [x, [[1]]],
      [y, [[1], [2], [4]]],
    ]);
  });

  test("users join groups with and without ttl, their later connections too; removal from one or all groups", async () => {
    const hub = newHub();
    const first = await connect(hub, { user: "u" });
    await rest("PUT", `/api/v1/hubs/${hub}/groups/kept/users/u`, {}, 202);
    await rest("PUT", `/api/hubs/${hub}/users/u/groups/plain`, v2(), 200);
    await rest("PUT", `/api/hubs/${hub}/users/u/groups/timed`, v2(["ttl", "3600"]), 200);
    // ttl=0: the user's connections of the moment join, the membership is not kept.
    await rest("PUT", `/api/hubs/${hub}/users/u/groups/now`, v2(["ttl", "0"]), 200);
    const later = await connect(hub, { user: "u", messagePack: true });
    const other = await connect(hub, { user: "v" });
    const send = (g) => rest("POST", `/api/hubs/${hub}/groups/${g}/:send`, { ...v2(), body: { Target: "notify", Arguments: [g] } }, 202);
    for (const g of ["kept", "plain", "timed", "now"]) await send(g);
    await fence(hub, first, later, other);
    assertReceived([
      [first, [["kept"], ["plain"], ["timed"], ["now"]]],
      [later, [["kept"], ["plain"], ["timed"]]],
      [other, []],
    ]);

    await rest("DELETE", `/api/v1/hubs/${hub}/groups/kept/users/u`, {}, 202);
    await rest("DELETE", `/api/hubs/${hub}/users/u/groups/timed`, v2(), 204);
    await send("kept");
    await send("timed");
    await send("plain");
    await rest("DELETE", `/api/v1/hubs/${hub}/users/u/groups`, {}, 200);
    await send("plain");
    await send("now");
    await rest("PUT", `/api/hubs/${hub}/users/u/groups/again`, v2(), 200);
    await send("again");
    await rest("DELETE", `/api/hubs/${hub}/users/u/groups`, v2(), 204);
    await send("again");
    await fence(hub, first, later, other);
    assertReceived([
      [first, [["kept"], ["plain"], ["timed"], ["now"], ["plain"], ["again"]]],
      [later, [["kept"], ["plain"], ["timed"], ["plain"], ["again"]]],
      [other, []],
    ]);
  });
});

describe("binary bodies", () => {
  // MessagePack written by hand, so that the bytes sent are exactly those listed.
  const str = (s) => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s)]);
  const bin = (b) => Buffer.concat([Buffer.from([0xc4, b.length]), Buffer.from(b)]);
  const float = (x) => {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(x, 1);
    return b;
  };
  // The MessagePack client hands bytes over as a Uint8Array.
  const plain = (args) => args.map((a) => (a instanceof Uint8Array ? [...a] : a));

  test("a MessagePack body (application/x-msgpack) reaches JSON clients as JSON, MessagePack clients as sent", async () => {
    const hub = newHub();
    const j = await connect(hub);
    const m = await connect(hub, { messagePack: true });
    // Azure/azure-signalr docs/swagger/V20220601.json: every send consumes application/x-msgpack,
    // its body the PayloadMessage, here {"Target":"notify","Arguments":["mp",7,bin [1,2,3],{"k":2.5},nil]}.
    const body = Buffer.concat([
      Buffer.from([0x82]), str("Target"), str("notify"), str("Arguments"),
      Buffer.from([0x95]), str("mp"), Buffer.from([0x07]), bin([1, 2, 3]), Buffer.from([0x81]), str("k"), float(2.5), Buffer.from([0xc0]),
    ]);
    await rest("POST", `/api/hubs/${hub}/:send`, { ...v2(), body, contentType: "application/x-msgpack" }, 202);
    await rest("POST", `/api/v1/hubs/${hub}`, { body, contentType: "application/x-msgpack" }, 202);
    await fence(hub, j, m);
    // JSON has no bytes: the JSON hub protocol writes them as base64, as .NET serialises a byte[].
    const asJSON = ["mp", 7, "AQID", { k: 2.5 }, null];
    assertReceived([[j, [asJSON, asJSON]]]);
    const asSent = ["mp", 7, [1, 2, 3], { k: 2.5 }, null];
    assert.deepEqual(m.got.map(plain), [asSent, asSent]);

    await rest("POST", `/api/hubs/${hub}/:send`, { ...v2(), body: body.subarray(0, 20), contentType: "application/x-msgpack" }, 400, "InvalidRequest");
  });

  test("the SDK's binary body (application/octet-stream) gives each client its own protocol's form", async () => {
    const hub = newHub();
    const j = await connect(hub);
    const m = await connect(hub, { messagePack: true });
    // BinaryPayloadMessageContent.cs (Azure/azure-signalr src/Microsoft.Azure.SignalR.Common/
    // Utilities/Rest): a MessagePack map from protocol name to the invocation as that protocol
    // writes it, the MessagePack record with its varint length.
    const jsonRecord = Buffer.from(JSON.stringify({ type: 1, target: "notify", arguments: ["both", "text"] }) + "\x1e");
    const mpInvocation = Buffer.concat([Buffer.from([0x95, 0x01, 0x80, 0xc0]), str("notify"), Buffer.from([0x92]), str("both"), bin([9, 8])]);
    const mpRecord = Buffer.concat([Buffer.from([mpInvocation.length]), mpInvocation]);
    const body = Buffer.concat([Buffer.from([0x82]), str("json"), bin(jsonRecord), str("messagepack"), bin(mpRecord)]);
    await rest("POST", `/api/hubs/${hub}/:send`, { ...v2(), body, contentType: "application/octet-stream" }, 202);
    await fence(hub, j, m);
    assertReceived([[j, [["both", "text"]]]]);
    assert.deepEqual(m.got.map(plain), [["both", [9, 8]]]);
  });
});

describe("existence", () => {
  test("a SignalR client's connection, user, group and membership exist while it is connected", async () => {
    const hub = newHub();
    const g = uniq("g");
    const x = await connect(hub, { user: "u1", messagePack: true });
    await rest("PUT", `/api/hubs/${hub}/groups/${g}/connections/${x.id}`, v2(), 200);
    await rest("PUT", `/api/hubs/${hub}/users/u1/groups/ug`, v2(), 200);
    // 404s carry the codes the Management SDK reads as "no" (RestHubLifetimeManager.cs, Constants.cs).
    const checks = [
      [`connections/${x.id}`, "Warning.Connection.NotExisted"],
      ["users/u1", "Warning.User.NotExisted"],
      [`groups/${g}`, "Warning.Group.NotExisted"],
    ];
    for (const [path] of checks) {
      for (const method of ["HEAD", "GET"]) await rest(method, `/api/v1/hubs/${hub}/${path}`, {}, 200);
      await rest("HEAD", `/api/hubs/${hub}/${path}`, v2(), 200);
    }
    await rest("GET", `/api/v1/hubs/${hub}/groups/ug/users/u1`, {}, 200);
    await rest("GET", `/api/hubs/${hub}/users/u1/groups/ug`, v2(), 200);

    await x.c.stop();
    for (const [path, code] of checks) {
      await waitFor(async () => (await restCall(huddle, "HEAD", `/api/hubs/${hub}/${path}`, v2())).status === 404, { what: `${path} gone` });
      await rest("GET", `/api/v1/hubs/${hub}/${path}`, {}, 404, code);
    }
    // The user's membership outlives its connections, as the service keeps it.
    await rest("GET", `/api/hubs/${hub}/users/u1/groups/ug`, v2(), 200);
  });
});

describe("close", () => {
  // Without allowReconnect in the Close message the client stops for good although it has a
  // reconnect policy. Microsoft's emulator sends allowReconnect: true on these routes
  // (Azure/azure-signalr src/Microsoft.Azure.SignalR.Emulator/Controllers/
  // SignalRServiceEmulatorWebApi.cs, SendCloseAsync); huddle keeps the closed client away, as a
  // close by the app server means.
  test("every close route closes exactly its targets, which read the reason and do not reconnect", async () => {
    const hub = newHub();
    const g = uniq("g");
    const one = await connect(hub, { user: "one" });
    const old = await connect(hub, { user: "old", messagePack: true });
    const member = await connect(hub, { user: "member" });
    const spared = await connect(hub, { user: "spared", messagePack: true });
    const userA = await connect(hub, { user: "u" });
    const userB = await connect(hub, { user: "u", messagePack: true });
    const kept = await connect(hub, { user: "kept" });
    for (const x of [member, spared]) await rest("PUT", `/api/hubs/${hub}/groups/${g}/connections/${x.id}`, v2(), 200);

    await rest("DELETE", `/api/hubs/${hub}/connections/${one.id}`, v2(["reason", "bye one"]), 200);
    await rest("DELETE", `/api/v1/hubs/${hub}/connections/${old.id}`, { query: [["reason", "bye old"]] }, 202);
    await rest("POST", `/api/hubs/${hub}/groups/${g}/:closeConnections`, v2(["excluded", spared.id], ["reason", "group"]), 204);
    await rest("POST", `/api/hubs/${hub}/users/u/:closeConnections`, v2(["reason", "user"]), 204);
    const closed = [
      [one, "bye one"],
      [old, "bye old"],
      [member, "group"],
      [userA, "user"],
      [userB, "user"],
    ];
    await waitFor(() => closed.every(([x]) => x.closed), { what: "the targets to close" });
    for (const [x, reason] of closed) {
      assert.match(String(x.closeError), closedWith(reason), `close of ${label(x)}`);
      assert.equal(x.reconnecting, 0, `${label(x)} reconnecting`);
      assert.equal(x.c.state, signalR.HubConnectionState.Disconnected);
    }
    await fence(hub, spared, kept);
    assert.equal(spared.closed || kept.closed, false);

    await rest("POST", `/api/hubs/${hub}/:closeConnections`, v2(["excluded", kept.id], ["reason", "all"]), 204);
    await waitFor(() => spared.closed, { what: "the hub's connections to close" });
    assert.match(String(spared.closeError), closedWith("all"));
    await fence(hub, kept);
    assert.equal(kept.closed, false);
    await rest("HEAD", `/api/hubs/${hub}/connections/${spared.id}`, v2(), 404, "Warning.Connection.NotExisted");
  });

  test("a close without reason reaches the client as a Close message without error", async () => {
    const hub = newHub();
    const x = await connect(hub, { messagePack: true });
    await rest("DELETE", `/api/hubs/${hub}/connections/${x.id}`, v2(), 200);
    await waitFor(() => x.closed, { what: "the close" });
    assert.equal(x.closeError, undefined);
    assert.equal(x.reconnecting, 0);
  });
});

describe("bad input", () => {
  const wsURL = (hub, id, token) => `${huddle.url.replace(/^http/, "ws")}/client/?${new URLSearchParams({ hub, id, access_token: token })}`;
  const clientToken = (hub, { expired = false } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    // Past the service's 5 minutes of clock skew when expired.
    return signJwt({ aud: `http://127.0.0.1/client/?hub=${hub}`, iat: now, nbf: now, exp: expired ? now - 600 : now + 3600 }, huddle.accessKey);
  };
  /** The service's negotiate, as the client calls it after the app's: the connection token. */
  async function negotiate(hub) {
    const res = await fetch(`${huddle.url}/client/negotiate?hub=${hub}&negotiateVersion=1`, {
      method: "POST",
      headers: { Authorization: `Bearer ${clientToken(hub)}` },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(typeof body.connectionToken, "string");
    return body.connectionToken;
  }
  /** Opens a socket: {ws, messages} once open, or {status} when refused before the upgrade. */
  function open(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const messages = [];
      ws.on("message", (data, isBinary) => messages.push(isBinary ? data : data.toString()));
      ws.on("open", () => resolve({ ws, messages, closed: new Promise((r) => ws.on("close", (code) => r(code))) }));
      ws.on("unexpected-response", (_req, res) => {
        res.resume();
        resolve({ status: res.statusCode });
      });
      ws.on("error", reject);
    });
  }

  test("the socket refuses a token for another hub, an expired token and a connection token used twice", async () => {
    const hub = newHub();
    const id = await negotiate(hub);
    assert.equal((await open(wsURL(hub, id, clientToken("elsewhere")))).status, 401);
    assert.equal((await open(wsURL(hub, id, clientToken(hub, { expired: true })))).status, 401);
    const first = await open(wsURL(hub, id, clientToken(hub)));
    assert.ok(first.ws, "the first socket of the connection token opens");
    first.ws.send('{"protocol":"json","version":1}\x1e');
    await waitFor(() => first.messages.includes("{}\x1e"), { what: "the handshake response" });
    // A connection token is good for one socket only.
    assert.equal((await open(wsURL(hub, id, clientToken(hub)))).status, 404);
    first.ws.close();
  });

  for (const [what, handshake, error] of [
    ["a malformed handshake", "nope\x1e", /^Handshake request is invalid/],
    ["an unknown protocol", '{"protocol":"xml","version":1}\x1e', /^The protocol 'xml' is not supported\.$/],
  ]) {
    test(`${what} is answered with a handshake error and the socket closed`, async () => {
      const hub = newHub();
      const { ws, messages, closed } = await open(wsURL(hub, await negotiate(hub), clientToken(hub)));
      ws.send(handshake);
      // The handshake response, {"error":…} + 0x1E (dotnet/aspnetcore HubProtocol.md, "Handshake").
      assert.equal(await closed, 1000);
      assert.equal(messages.length, 1);
      assert.ok(messages[0].endsWith("\x1e"));
      assert.match(JSON.parse(messages[0].slice(0, -1)).error, error);
    });
  }

  test("an oversized message closes its client with the reason; the hub's other clients go on", async () => {
    const hub = newHub();
    const big = await connect(hub);
    const bystander = await connect(hub, { messagePack: true });
    // Past the 1 MiB default limit (internal/pubsub limits.go), the service's documented limit.
    await big.c.send("huge", "x".repeat(1 << 21)).catch(() => {});
    await waitFor(() => big.closed, { what: "the oversized client to close" });
    assert.match(String(big.closeError), closedWith("Message too large: the limit is 1048576 bytes\\."));
    await rest("POST", `/api/hubs/${hub}/:send`, { ...v2(), body: { Target: "notify", Arguments: ["after"] } }, 202);
    await fence(hub, bystander);
    assertReceived([[bystander, [["after"]]]]);
  });
});
