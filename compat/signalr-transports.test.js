// The official SignalR client (@microsoft/signalr 10.0.11) on the Server-Sent Events and long
// polling transports, forced in turn, against huddle as Azure SignalR Service in serverless mode:
// it negotiates through an app, receives the app's pushes sent through the SignalR REST API
// (2022-06-01, a JWT signed with the access key whose aud is the URL without the port, as the
// Management SDK's RestClient signs it), gets an error Completion for an invocation, and
// reconnects after a server restart. The wire contract is the client's own transports
// (dist/esm/ServerSentEventsTransport.js: EventSource GET with access_token in the query, POST
// to send; LongPollingTransport.js: a first GET answered at once, polls answered 200 with data,
// 200 empty on timeout, 204 once the connection ended, DELETE to stop).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as signalR from "@microsoft/signalr";

import { uniq, waitFor } from "./harness.js";
import { restCall, signalRFixture } from "./signalr-harness.js";

const fx = signalRFixture();

/** Sends target(args) to every connection of hub through the REST API, as the Management SDK does. */
async function sendToHub(hub, target, args) {
  const res = await restCall({ url: fx.huddle.url, accessKey: fx.accessKey }, "POST", `/api/hubs/${hub}/:send`, {
    query: [["api-version", "2022-06-01"]],
    body: { Target: target, Arguments: args },
  });
  assert.equal(res.status, 202, res.text);
}

/** The next n arguments arrays c receives for target. */
function receive(c, target, n = 1) {
  const got = [];
  return new Promise((resolve) => {
    c.on(target, (...args) => {
      got.push(args);
      if (got.length === n) resolve(got);
    });
  });
}

// What the service answers a client's invocation without an upstream (internal/signalr
// invocationRefused).
const refused = /Client invocations are not supported: the hub is served in serverless mode/;

const cases = [
  ["ServerSentEvents", signalR.HttpTransportType.ServerSentEvents, false],
  ["LongPolling", signalR.HttpTransportType.LongPolling, false],
  ["LongPolling", signalR.HttpTransportType.LongPolling, true],
];

for (const [name, transport, messagePack] of cases) {
  describe(`${name}, ${messagePack ? "MessagePack" : "JSON"}`, () => {
    test("pushes through the REST API arrive in order; an invocation gets an error completion", { timeout: 30_000 }, async () => {
      const hub = uniq("transports");
      const c = fx.build({ hub, user: "carol" }, { transport, messagePack });
      await c.start();
      assert.equal(c.state, signalR.HubConnectionState.Connected);
      const pushes = receive(c, "news", 3);
      for (let i = 1; i <= 3; i++) await sendToHub(hub, "news", [i, { text: `item ${i}\nwith a newline` }]);
      assert.deepEqual(await pushes, [1, 2, 3].map((i) => [i, { text: `item ${i}\nwith a newline` }]));
      await assert.rejects(c.invoke("echo", "hi"), refused);
      assert.equal(c.state, signalR.HubConnectionState.Connected);
      await c.stop();
      assert.equal(c.state, signalR.HubConnectionState.Disconnected);
    });

    test("a server restart: the client reconnects through the app and receives again", { timeout: 60_000 }, async () => {
      const hub = uniq("restart");
      const c = fx.build({ hub, user: "carol" }, { transport, messagePack });
      await c.start();
      const firstId = c.connectionId;
      const reconnecting = new Promise((resolve) => c.onreconnecting(resolve));
      const reconnected = new Promise((resolve) => c.onreconnected(resolve));
      const old = fx.huddle;
      await fx.restart(); // the app names the new instance from now on
      await old.stop();
      // Only a Close message carries this error: the service said it was going away and allowed
      // the reconnect, rather than the stream or poll merely failing.
      assert.match(String(await reconnecting), /Server returned an error on close: the server is shutting down/);
      assert.notEqual(await reconnected, firstId);
      await waitFor(() => c.state === signalR.HubConnectionState.Connected);
      const push = receive(c, "again");
      await sendToHub(hub, "again", ["after restart"]);
      assert.deepEqual(await push, [["after restart"]]);
      await c.stop();
    });
  });
}

test("MessagePack is refused on Server-Sent Events: the client finds no transport for it", { timeout: 30_000 }, async () => {
  const c = fx.build({ hub: uniq("transports"), user: "carol" }, { transport: signalR.HttpTransportType.ServerSentEvents, messagePack: true });
  await assert.rejects(c.start(), /Unable to connect to the server with any of the available transports|does not support/);
  assert.equal(c.state, signalR.HubConnectionState.Disconnected);
});
