// The official SignalR client (@microsoft/signalr, with @microsoft/signalr-protocol-msgpack)
// against huddle as Azure SignalR Service in serverless mode with an upstream, as a client of an
// Azure Functions app with a SignalR trigger sees it: huddle is configured with
// signalr.upstream.templates naming the app's trigger endpoint (/runtime/webhooks/signalr, Learn
// "Upstream endpoints" / "Azure Functions SignalR Service trigger binding"), and this file's app
// plays the trigger: it checks X-ASRS-Signature, routes by the X-ASRS-* headers and answers an
// invocation with the Completion framed in the client's protocol, as the Functions extension
// does (Azure/azure-sdk-for-net, Microsoft.Azure.WebJobs.Extensions.SignalRService
// SignalRRequestResolver.ValidateSignature and SignalRTriggerUtils).

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import { after, before, test } from "node:test";

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

import { startHuddle, uniq, waitFor } from "./harness.js";
import { startNegotiateApp } from "./signalr-harness.js";

const short = { timeout: 30_000 };

let huddle;
let negotiateApp;
let upstream;
const connections = new Set();

// What the upstream was sent, in arrival order: {category, event, hub, connectionId, userId,
// body, signed}.
const calls = [];

/**
 * The Functions trigger's signature check: X-ASRS-Signature is a comma-separated list of
 * "sha256=" + hex(HMAC-SHA256(access key, connection id)), one per access key of the service;
 * one must match (SignalRRequestResolver.ValidateSignature; Learn "Upstream endpoints", section
 * on X-ASRS-Signature).
 */
function signatureValid(header, connectionId, accessKey) {
  const expected = "sha256=" + createHmac("sha256", accessKey).update(connectionId).digest("hex");
  return (header ?? "").split(",").some((s) => s.trim() === expected);
}

function varint(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

const json = new signalR.JsonHubProtocol();
const msgpack = new MessagePackHubProtocol();

/** Reads the invocation the service forwarded: the client's message without its framing. */
function parseInvocation(body, binary) {
  if (binary) {
    const framed = Buffer.concat([varint(body.length), body]);
    const ab = framed.buffer.slice(framed.byteOffset, framed.byteOffset + framed.length);
    return msgpack.parseMessages(ab, signalR.NullLogger.instance)[0];
  }
  const [m] = json.parseMessages(body.toString("utf8") + "\x1e", signalR.NullLogger.instance);
  return m;
}

/** The trigger app: Add answers a+b, Fail answers 500, anything else an empty 200. */
async function startUpstream(accessKey) {
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const h = req.headers;
    const call = {
      path: new URL(req.url, "http://app").pathname,
      category: h["x-asrs-category"],
      event: h["x-asrs-event"],
      hub: h["x-asrs-hub"],
      connectionId: h["x-asrs-connection-id"],
      userId: h["x-asrs-user-id"],
      signed: signatureValid(h["x-asrs-signature"], h["x-asrs-connection-id"], accessKey()),
      body,
    };
    calls.push(call);
    if (!call.signed) {
      res.writeHead(401).end();
      return;
    }
    if (call.category !== "messages") {
      res.writeHead(200).end();
      return;
    }
    const binary = h["content-type"] === "application/x-msgpack";
    let inv;
    try {
      inv = parseInvocation(body, binary);
    } catch (err) {
      call.error = String(err);
      res.writeHead(400).end();
      return;
    }
    call.arguments = inv.arguments;
    if (call.event === "Fail") {
      res.writeHead(500).end("no");
      return;
    }
    if (call.event !== "Add" || !inv.invocationId) {
      res.writeHead(200).end();
      return;
    }
    const completion = { type: signalR.MessageType.Completion, invocationId: inv.invocationId, result: inv.arguments[0] + inv.arguments[1], headers: {} };
    const answer = binary ? Buffer.from(msgpack.writeMessage(completion)) : json.writeMessage(completion);
    res.writeHead(200, { "Content-Type": binary ? "application/x-msgpack" : "application/json" }).end(answer);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

before(async () => {
  upstream = await startUpstream(() => huddle.accessKey);
  huddle = await startHuddle({
    signalr: { upstream: { templates: [{ urlTemplate: `${upstream.url}/runtime/webhooks/signalr?code=function-key` }] } },
  });
  negotiateApp = await startNegotiateApp(() => huddle.url, huddle.accessKey);
});
after(async () => {
  await Promise.all([...connections].map((c) => c.stop().catch(() => {})));
  negotiateApp?.close();
  upstream?.close();
  await huddle?.stop();
});

function build(query, { messagePack = false } = {}) {
  let b = new signalR.HubConnectionBuilder()
    .withUrl(`${negotiateApp.url}?${new URLSearchParams(query)}`)
    .configureLogging(signalR.LogLevel.None);
  if (messagePack) b = b.withHubProtocol(new MessagePackHubProtocol());
  const c = b.build();
  connections.add(c);
  return c;
}

const callsOf = (connectionId) => calls.filter((c) => c.connectionId === connectionId);

for (const messagePack of [false, true]) {
  const name = messagePack ? "MessagePack" : "JSON";
  test(`${name}: invoke resolves with the upstream's result, send reaches it, and the connection's life is told to it`, short, async () => {
    const hub = uniq("Calc");
    const c = build({ hub, user: "alice" }, { messagePack });
    await c.start();
    const id = c.connectionId;
    assert.equal(await c.invoke("Add", 1, 2), 3);
    await c.send("Note", "hello");
    await waitFor(() => callsOf(id).some((x) => x.event === "Note"));
    await c.stop();
    await waitFor(() => callsOf(id).some((x) => x.event === "disconnected"));
    const seen = callsOf(id);
    assert.ok(seen.every((x) => x.signed), "every request carries a valid X-ASRS-Signature");
    assert.ok(seen.every((x) => x.hub === hub.toLowerCase() && x.userId === "alice" && x.path === "/runtime/webhooks/signalr"));
    assert.deepEqual(
      seen.map((x) => `${x.category}/${x.event}`),
      ["connections/connected", "messages/Add", "messages/Note", "connections/disconnected"],
    );
    assert.deepEqual(seen.find((x) => x.event === "Note").arguments, ["hello"]);
    // A clean stop is a disconnection without error (the emulator's {"Type":11}).
    assert.deepEqual(JSON.parse(seen.at(-1).body), { Type: 11 });
  });

  test(`${name}: an upstream 500 makes invoke reject with the error, and the connection stays`, short, async () => {
    const c = build({ hub: uniq("calc") }, { messagePack });
    await c.start();
    await assert.rejects(c.invoke("Fail"), /Invocation failed, status code 500/);
    assert.equal(await c.invoke("Add", 20, 22), 42);
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    await c.stop();
  });
}
