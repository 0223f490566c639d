// @azure/web-pubsub-client 1.1.0's invokeEvent against huddle and an event handler built with
// @azure/web-pubsub-express 1.1.0, which knows invocations only as the user events they are sent
// as: answers of each dataType, the handler's failure, an event no handler takes, and an
// invocation given up (abortSignal), which sends cancelInvocation and ends the handler's request.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { InvocationError } from "@azure/web-pubsub-client";

import { startEventHandler, startHuddle, waitFor } from "./harness.js";

const HUB = "invoke";

/** The handler's requests for event "wait", with whether huddle abandoned each before an answer. */
const waiting = [];

let huddle, handler, svc;

before(async () => {
  handler = await startEventHandler(
    HUB,
    {
      handleUserEvent(req, res) {
        switch (req.context.eventName) {
          case "echo":
            // JSON arrives parsed, text as a string, binary as a Buffer; each goes back as it came.
            res.success(req.dataType === "json" ? JSON.stringify(req.data) : req.data, req.dataType);
            return;
          case "nothing":
            res.success();
            return;
          case "fail":
            res.fail(500, "the handler refuses");
            return;
          case "wait":
            // Never answered: the client gives up first.
            return;
          default:
            res.success();
        }
      },
    },
    (req, res) => {
      if (req.method !== "POST" || req.headers["ce-eventname"] !== "wait") return;
      const entry = { abandoned: false };
      waiting.push(entry);
      res.on("close", () => (entry.abandoned = !res.writableFinished));
    },
  );
  huddle = await startHuddle({
    hubs: { [HUB]: { eventHandlers: [{ urlTemplate: handler.urlTemplate, userEvents: "echo,nothing,fail,wait" }] } },
  });
  svc = huddle.service(HUB);
});

after(async () => {
  await huddle?.stop();
  await handler?.close();
});

const connect = () => huddle.connect(svc, { userId: "caller" });

test("invokeEvent gets the handler's answer in each dataType", async () => {
  const { client } = await connect();

  const json = await client.invokeEvent("echo", { order: 7, items: ["a"] }, "json");
  assert.equal(json.dataType, "json");
  assert.deepEqual(json.data, { order: 7, items: ["a"] });
  assert.equal(typeof json.invocationId, "string");

  const text = await client.invokeEvent("echo", "hello", "text");
  assert.deepEqual([text.dataType, text.data], ["text", "hello"]);

  const binary = await client.invokeEvent("echo", new Uint8Array([0, 1, 255]).buffer, "binary");
  assert.equal(binary.dataType, "binary");
  assert.deepEqual([...new Uint8Array(binary.data)], [0, 1, 255]);

  const chosenId = await client.invokeEvent("echo", "x", "text", { invocationId: "mine" });
  assert.equal(chosenId.invocationId, "mine");

  // res.success() with nothing: success without data.
  const nothing = await client.invokeEvent("nothing", "x", "text");
  assert.equal(nothing.data, undefined);
});

test("a handler's failure and an event no handler takes reject with the service's error", async () => {
  const { client } = await connect();
  await assert.rejects(client.invokeEvent("fail", "x", "text"), (err) => {
    assert.ok(err instanceof InvocationError);
    assert.equal(err.errorDetail?.name, "InternalServerError");
    return true;
  });
  await assert.rejects(client.invokeEvent("unhandled", "x", "text"), (err) => {
    assert.ok(err instanceof InvocationError);
    assert.equal(err.errorDetail?.name, "BadRequest");
    assert.match(err.errorDetail?.message, /unhandled/);
    return true;
  });
  // The connection is unharmed.
  assert.equal((await client.invokeEvent("echo", "still here", "text")).data, "still here");
});

test("an invocation given up is cancelled at the handler, and others go on meanwhile", async () => {
  const { client } = await connect();
  const abort = new AbortController();
  const given = client.invokeEvent("wait", "x", "text", { abortSignal: abort.signal });
  const request = await waitFor(() => waiting.at(-1), { what: "the handler's request" });

  // The waiting invocation holds up neither other invocations nor other requests.
  assert.equal((await client.invokeEvent("echo", "meanwhile", "text")).data, "meanwhile");
  await client.sendEvent("nothing", "x", "text");

  abort.abort();
  await assert.rejects(given, (err) => {
    assert.ok(err instanceof InvocationError);
    assert.equal(err.errorDetail, undefined, "the SDK's own abort, answered by nobody");
    return true;
  });
  // webPubSubClient.js (_invokeEventAttempt) sends cancelInvocation on abort; huddle then ends
  // the request to the handler without waiting for its answer.
  await waitFor(() => request.abandoned, { what: "the handler's request ended by huddle" });

  // An invocation given up by a timeout is the same abort.
  const timedOut = client.invokeEvent("wait", "x", "text", { abortSignal: AbortSignal.timeout(200) });
  await assert.rejects(timedOut, InvocationError);
  const second = await waitFor(() => (waiting.length >= 2 ? waiting[1] : null), { what: "the second request" });
  await waitFor(() => second.abandoned, { what: "the timed-out request ended by huddle" });
});
