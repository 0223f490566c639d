// Group state requests from @azure/web-pubsub-client against huddle. Version 1.1.0 already writes
// setGroupState, subscribeGroupState and unsubscribeGroupState (protocols/jsonProtocolBase.js,
// writeMessage); 1.2.0 sends them from setGroupState, clearGroupState, subscribeGroupStates and
// unsubscribeGroupStates through the client's own ack path, _sendMessageWithAckId, which is what
// these tests call. The service's rules for group state are not published, so huddle refuses the
// requests: a BadRequest ack with ackId, and without one nothing, the connection going on.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { SendMessageError } from "@azure/web-pubsub-client";

import { nextEvent, startHuddle, uniq } from "./harness.js";

const HUB = "groupstate";
const ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];

let huddle, svc;

before(async () => {
  huddle = await startHuddle();
  svc = huddle.service(HUB);
});

after(() => huddle?.stop());

/** Sends message through the SDK's ack path and returns what it settles with. */
async function sendWithAck(client, message) {
  try {
    return { result: await client._sendMessageWithAckId((ackId) => ({ ...message, ackId })) };
  } catch (error) {
    return { error };
  }
}

describe("group state", () => {
  test("each request is refused with a BadRequest ack, and the connection goes on", async () => {
    const { client } = await huddle.connect(svc, { userId: "ada", roles: ROLES, messageRetryOptions: { maxRetries: 0 } });
    const group = uniq("room");
    let disconnected = false;
    client.on("disconnected", () => (disconnected = true));
    await client.joinGroup(group);
    for (const message of [
      { kind: "setGroupState", group, state: { status: "typing" } },
      { kind: "setGroupState", group }, // clearGroupState
      { kind: "subscribeGroupState", group },
      { kind: "unsubscribeGroupState", group },
    ]) {
      const { result, error } = await sendWithAck(client, message);
      assert.equal(result, undefined, `${message.kind} succeeded`);
      assert.ok(error instanceof SendMessageError, `${message.kind}: ${error}`);
      assert.equal(error.errorDetail?.name, "BadRequest");
      assert.match(error.errorDetail?.message ?? "", /group state/);
    }
    // Still connected and served: a group message round-trips.
    const got = nextEvent(client, "group-message");
    await client.sendToGroup(group, { after: "refusals" }, "json");
    assert.deepEqual((await got).message.data, { after: "refusals" });
    assert.equal(disconnected, false);
  });

  test("without an ackId a request is dropped and the connection goes on", async () => {
    const { client } = await huddle.connect(svc, { userId: "bob", roles: ROLES });
    const group = uniq("room");
    let disconnected = false;
    client.on("disconnected", () => (disconnected = true));
    await client._sendMessage({ kind: "setGroupState", group, state: { k: "v" } });
    await client._sendMessage({ kind: "subscribeGroupState", group });
    // Requests on one connection are served in order: once this join is acknowledged, the two
    // requests before it were read, and neither closed the connection.
    await client.joinGroup(group);
    const got = nextEvent(client, "group-message");
    await client.sendToGroup(group, "still here", "text");
    assert.equal((await got).message.data, "still here");
    assert.equal(disconnected, false);
  });
});
