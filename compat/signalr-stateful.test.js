// Stateful reconnect of the official SignalR client (@microsoft/signalr withStatefulReconnect)
// against huddle as Azure SignalR Service: the client talks to huddle through a TCP proxy that is
// cut while the app server pushes through the SignalR REST API (straight to huddle). The client
// reconnects its WebSocket with the same connection token, without a new negotiate or handshake
// (HttpConnection.js _startTransport: features.disconnected, transport.connect, features.resend),
// and must receive every push exactly once, in order: the service resends what the client did not
// acknowledge after a Sequence message, and the client drops what it had seen
// (MessageBuffer.js _shouldProcessMessage, _resetSequence).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

import { signJwt, startHuddle, startProxy, uniq, waitFor } from "./harness.js";
import { restCall } from "./signalr-harness.js";

const V2 = "2022-06-01";
const long = { timeout: 60_000 };

let huddle;
const connections = new Set();
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await Promise.all([...connections].map((c) => c.stop().catch(() => {})));
  await huddle?.stop();
});

/** A client token for hub as the server SDK signs it: aud without the port, the user in nameid. */
function clientToken(hub, user) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ aud: `http://127.0.0.1/client/?hub=${hub}`, iat: now, nbf: now, exp: now + 3600, nameid: user }, huddle.accessKey);
}

/** Negotiates with huddle directly, as the client does, and returns the answer's body. */
async function negotiate(hub, query = {}) {
  const q = new URLSearchParams({ hub, negotiateVersion: "1", ...query });
  const res = await fetch(`${huddle.url}/client/negotiate?${q}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${clientToken(hub, "n")}` },
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Pushes target(i) to every connection of hub through the 2022-06-01 REST API. */
async function push(hub, i) {
  const got = await restCall(huddle, "POST", `/api/hubs/${hub}/:send`, {
    query: [["api-version", V2]],
    body: { Target: "m", Arguments: [i] },
  });
  assert.equal(got.status, 202, got.text);
}

test("negotiate answers useStatefulReconnect only to a client that asks for it", async () => {
  const hub = uniq("neg").toLowerCase();
  // @microsoft/signalr HttpConnection.js: "Client didn't negotiate Stateful Reconnect but the server did."
  assert.equal("useStatefulReconnect" in (await negotiate(hub)), false);
  assert.equal("useStatefulReconnect" in (await negotiate(hub, { useStatefulReconnect: "false" })), false);
  assert.equal((await negotiate(hub, { useStatefulReconnect: "true" })).useStatefulReconnect, true);
});

for (const messagePack of [false, true]) {
  const name = messagePack ? "MessagePack" : "JSON";
  test(`${name}: pushes before, during and after cuts arrive once each, in order, on the same connection`, long, async (t) => {
    const hub = uniq("stateful").toLowerCase();
    const proxy = await startProxy(huddle.port);
    t.after(() => proxy.close());
    let b = new signalR.HubConnectionBuilder()
      .withUrl(`http://127.0.0.1:${proxy.port}/client/?hub=${hub}`, {
        accessTokenFactory: () => clientToken(hub, "carol"),
        transport: signalR.HttpTransportType.WebSockets,
      })
      .withStatefulReconnect()
      .configureLogging(signalR.LogLevel.None);
    if (messagePack) b = b.withHubProtocol(new MessagePackHubProtocol());
    const c = b.build();
    connections.add(c);
    const got = [];
    c.on("m", (i) => got.push(i));
    let reconnecting = 0;
    c.onreconnecting(() => reconnecting++);
    await c.start();
    const id = c.connectionId;
    const accepted = proxy.accepted;

    const TOTAL = 200;
    let sent = 0;
    const sendUpTo = async (n) => {
      for (; sent < n; sent++) await push(hub, sent);
    };
    await sendUpTo(40);
    await waitFor(() => got.length === 40, { what: "the pushes before the cut" });
    // The client's side only: huddle keeps writing to a socket nobody reads, as when a client
    // vanishes unnoticed, so what it writes meanwhile is lost on the way and must be resent.
    proxy.cut({ clientOnly: true });
    await sendUpTo(80);
    // An invocation while the client is away waits in its buffer and is answered after the resume.
    const answer = c.invoke("ask").then(
      () => "answered",
      (err) => err.message,
    );
    await sendUpTo(120);
    await waitFor(() => proxy.open === 1, { what: "the resumed socket" });
    proxy.cut();
    await sendUpTo(160);
    await waitFor(() => proxy.open === 1, { what: "the socket resumed again" });
    await sendUpTo(TOTAL);

    await waitFor(() => got.length >= TOTAL, { timeout: 30_000, what: `${TOTAL} pushes` });
    assert.deepEqual(
      got,
      Array.from({ length: TOTAL }, (_, i) => i),
    );
    assert.match(await answer, /Client invocations are not supported/);
    // The same connection throughout: new sockets, no reconnect of the hub connection.
    assert.ok(proxy.accepted >= accepted + 2, "the client opened new sockets");
    assert.equal(c.connectionId, id);
    assert.equal(reconnecting, 0);
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    const exists = await restCall(huddle, "HEAD", `/api/hubs/${hub}/connections/${id}`, { query: [["api-version", V2]] });
    assert.equal(exists.status, 200);
    // A last push proves nothing else came in between: delivery is ordered.
    await push(hub, TOTAL);
    await waitFor(() => got.at(-1) === TOTAL, { what: "the last push" });
    assert.equal(got.length, TOTAL + 1);
    await c.stop();
  });
}

test("a client that did not ask for stateful reconnect loses its connection with its socket", long, async (t) => {
  const hub = uniq("plain").toLowerCase();
  const proxy = await startProxy(huddle.port);
  t.after(() => proxy.close());
  const c = new signalR.HubConnectionBuilder()
    .withUrl(`http://127.0.0.1:${proxy.port}/client/?hub=${hub}`, { accessTokenFactory: () => clientToken(hub, "dave") })
    .configureLogging(signalR.LogLevel.None)
    .build();
  connections.add(c);
  const closed = new Promise((resolve) => c.onclose(resolve));
  await c.start();
  const id = c.connectionId;
  proxy.cut();
  await closed;
  assert.equal(c.state, signalR.HubConnectionState.Disconnected);
  await waitFor(async () => (await restCall(huddle, "HEAD", `/api/hubs/${hub}/connections/${id}`, { query: [["api-version", V2]] })).status === 404, {
    what: "the connection gone from the hub",
  });
});
