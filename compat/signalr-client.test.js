// The official SignalR client (@microsoft/signalr, with @microsoft/signalr-protocol-msgpack)
// against huddle as Azure SignalR Service in serverless mode: the client negotiates with an app
// endpoint that answers {url, accessToken} as Azure Functions' SignalRConnectionInfo binding does,
// then negotiates with huddle and opens the WebSocket, in the JSON and the MessagePack hub
// protocols. Delivery of the app's invocations is proved by the Go tests of internal/signalr;
// this suite proves what only the real client can: that it connects, is refused, reconnects and
// reads the service's own messages as the service means them.

import assert from "node:assert/strict";
import { test } from "node:test";

import * as signalR from "@microsoft/signalr";

import { uniq, waitFor } from "./harness.js";
import { signalRFixture } from "./signalr-harness.js";

const short = { timeout: 30_000 };

const fx = signalRFixture();

// What the service answers a client's invocation in serverless mode without an upstream
// (internal/signalr invocationRefused).
const refused = /Client invocations are not supported: the hub is served in serverless mode/;

for (const messagePack of [false, true]) {
  const name = messagePack ? "MessagePack" : "JSON";
  test(`${name}: the client connects through the app's negotiate; an invocation gets an error completion and the connection stays`, short, async () => {
    const c = fx.build({ hub: uniq("Chat"), user: "alice" }, { messagePack });
    await c.start();
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    assert.ok(c.connectionId, "the service's negotiate gave a connection id");
    // invoke waits for a Completion: the service's error reaches the caller as is.
    await assert.rejects(c.invoke("echo", "hi", 1), (err) => {
      assert.match(err.message, refused);
      return true;
    });
    // send expects no answer and is ignored; the connection is still usable afterwards.
    await c.send("fire", { x: 1 });
    await assert.rejects(c.invoke("again"), refused);
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    await c.stop();
  });
}

for (const [what, query] of [
  ["a token signed with another key", { wrongKey: "1" }],
  ["an expired token", { expired: "1" }],
  ["a token for another hub", { tokenHub: "elsewhere" }],
]) {
  test(`${what} is refused with 401 at negotiate`, short, async () => {
    const c = fx.build({ hub: uniq("chat"), ...query });
    await assert.rejects(c.start(), (err) => {
      assert.match(String(err), /401/);
      return true;
    });
    assert.equal(c.state, signalR.HubConnectionState.Disconnected);
  });
}

// A restarting service tells its clients to come back (Close with allowReconnect); the client
// then runs the whole flow again from the app's negotiate, which names the new instance.
test("a server restart: the client is told to reconnect and reconnects through the app", { timeout: 60_000 }, async () => {
  const hub = uniq("restart");
  const c = fx.build({ hub, user: "bob" });
  await c.start();
  const firstId = c.connectionId;
  const reconnecting = new Promise((resolve) => c.onreconnecting(resolve));
  const reconnected = new Promise((resolve) => c.onreconnected(resolve));

  const old = fx.huddle;
  await fx.restart(); // the app names the new instance from now on
  await old.stop();

  const why = await reconnecting;
  // The Close message's error, which only a Close message carries (a dropped socket reads
  // differently): the service said it was going away and allowed the reconnect.
  assert.match(String(why), /Server returned an error on close: the server is shutting down/);
  const newId = await reconnected;
  assert.notEqual(newId, firstId);
  await waitFor(() => c.state === signalR.HubConnectionState.Connected);
  await assert.rejects(c.invoke("afterRestart"), refused);
  await c.stop();
});
