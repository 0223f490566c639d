// @azure/web-pubsub-client 1.1.0 against huddle: connect, groups, publishing, acks, permissions, and
// events delivered to an event handler built with @azure/web-pubsub-express 1.1.0.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { WebPubSubClient } from "@azure/web-pubsub-client";

import { fence, nextEvent, startEventHandler, startHuddle, uniq, waitFor } from "./harness.js";

const HUB = "chat";
// A hub whose handler only accepts calls from the endpoint in huddle's connection string.
const GUARDED = "guarded";

/** What the event handler saw, in order of arrival. */
const seen = { connect: [], connected: [], disconnected: [], events: [] };

const guardedSeen = { connect: [], events: [] };

let huddle, handler, guarded, svc;

before(async () => {
  handler = await startEventHandler(HUB, {
    handleConnect(req, res) {
      seen.connect.push(req);
      const sub = req.claims?.sub?.[0];
      if (sub === "reject-me") {
        res.fail(401, "not welcome");
        return;
      }
      res.setState("since", "connect");
      if (sub === "rename-me") {
        res.success({ userId: "renamed", groups: ["from-connect"], roles: ["webpubsub.joinLeaveGroup"] });
        return;
      }
      res.success();
    },
    handleUserEvent(req, res) {
      // setState below changes req.context.states in place: keep what arrived.
      seen.events.push({ ...req, arrivedStates: { ...req.context.states } });
      switch (req.context.eventName) {
        case "echo":
          // Binary arrives as a Buffer and goes back as bytes; JSON arrives parsed.
          res.success(req.dataType === "json" ? JSON.stringify(req.data) : req.data, req.dataType);
          return;
        case "fail":
          res.fail(500, "the handler refuses");
          return;
        case "count": {
          // State round trip: each event sees what the previous one set.
          const n = (req.context.states.count ?? 0) + 1;
          res.setState("count", n);
          res.success(String(n), "text");
          return;
        }
        default:
          res.success();
      }
    },
    onConnected(req) {
      seen.connected.push(req);
    },
    onDisconnected(req) {
      seen.disconnected.push(req);
    },
  });
  guarded = await startEventHandler(GUARDED, () => ({
    // As the SDK's README shows: the endpoint of the service's connection string.
    allowedEndpoints: [/Endpoint=([^;]+)/.exec(huddle.connectionString)[1]],
    handleConnect(req, res) {
      guardedSeen.connect.push(req);
      res.success();
    },
    handleUserEvent(req, res) {
      guardedSeen.events.push(req);
      res.success(req.data, "text");
    },
  }));
  huddle = await startHuddle({
    hubs: {
      [GUARDED]: {
        eventHandlers: [{ urlTemplate: guarded.urlTemplate, userEvents: "*", systemEvents: ["connect"] }],
      },
      [HUB]: {
        eventHandlers: [
          {
            urlTemplate: handler.urlTemplate,
            userEvents: "*",
            systemEvents: ["connect", "connected", "disconnected"],
          },
        ],
      },
    },
  });
  svc = huddle.service(HUB);
});

after(async () => {
  await huddle?.stop();
  await handler?.close();
  await guarded?.close();
});

const connect = (opts) => huddle.connect(svc, opts);
const pubsubRoles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];

/** Group messages as [group, fromUserId, dataType, data] rows; binary data as byte arrays. */
function groupMessages(c) {
  return c.inbox.messages
    .filter((m) => m.from === "group")
    .map((m) => [m.group, m.fromUserId, m.dataType, m.data instanceof ArrayBuffer ? [...new Uint8Array(m.data)] : m.data]);
}

describe("connection lifecycle and system events", () => {
  test("start: connect, connected and disconnected reach the event handler with what it needs", async () => {
    const c = await connect({ userId: "alice", roles: ["webpubsub.joinLeaveGroup"] });
    assert.equal(c.userId, "alice");
    assert.equal(typeof c.connectionId, "string");
    assert.ok(c.connectionId.length > 0);

    const connectReq = seen.connect.find((r) => r.context.connectionId === c.connectionId);
    assert.ok(connectReq, "the connect handler was called before the client was accepted");
    assert.equal(connectReq.context.hub.toLowerCase(), HUB);
    assert.equal(connectReq.context.userId, "alice");
    assert.equal(connectReq.context.eventName, "connect");
    assert.deepEqual(connectReq.claims.sub, ["alice"]);
    assert.deepEqual(connectReq.claims.role, ["webpubsub.joinLeaveGroup"]);
    assert.deepEqual(connectReq.subprotocols, ["json.reliable.webpubsub.azure.v1"]);
    assert.equal(connectReq.query?.access_token, undefined, "the token is not forwarded");

    const connected = await waitFor(() => seen.connected.find((r) => r.context.connectionId === c.connectionId), {
      what: "the connected event",
    });
    assert.equal(connected.context.userId, "alice");
    assert.equal(connected.context.states.since, "connect", "state set by the connect handler is kept");

    const stopped = nextEvent(c.client, "stopped");
    c.client.stop();
    await stopped;
    const gone = await waitFor(() => seen.disconnected.find((r) => r.context.connectionId === c.connectionId), {
      what: "the disconnected event",
    });
    assert.equal(gone.context.userId, "alice");
    assert.equal(await svc.connectionExists(c.connectionId), false);
  });

  test("the connect handler can rename the user, add groups and roles, or reject the client", async () => {
    const c = await connect({ userId: "rename-me" });
    assert.equal(c.userId, "renamed");
    assert.equal(await svc.userExists("renamed"), true);
    assert.equal(await svc.userExists("rename-me"), false);
    // In the group the handler chose, with the role it granted.
    await svc.group("from-connect").sendToAll({ to: "from-connect" });
    await c.inbox.waitForMarker({ to: "from-connect" });
    await c.client.joinGroup(uniq("any"));
    // Later events carry the new user id.
    await c.client.sendEvent("noreply", "who am i", "text");
    const ev = seen.events.find((e) => e.context.connectionId === c.connectionId);
    assert.equal(ev.context.userId, "renamed");

    const rejected = huddle.track(
      new WebPubSubClient(
        { getClientAccessUrl: async () => (await svc.getClientAccessToken({ userId: "reject-me" })).url },
        { autoReconnect: false },
      ),
    );
    await assert.rejects(rejected.start(), /401/);
    assert.ok(seen.connect.some((r) => r.claims?.sub?.[0] === "reject-me"));
  });
});

describe("what the event handler learns", () => {
  test("the connect event carries the client's query parameters and headers, not its token", async () => {
    const c = await connect({ userId: "q", url: (t) => `${t.url}&room=blue&room=green&lang=fr` });
    const req = seen.connect.find((r) => r.context.connectionId === c.connectionId);
    assert.deepEqual(req.query.room, ["blue", "green"]);
    assert.deepEqual(req.query.lang, ["fr"]);
    assert.equal(req.query.access_token, undefined);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.ok(Array.isArray(headers["sec-websocket-protocol"] ?? headers.host), "headers are string arrays");
    assert.equal(headers.authorization, undefined);
  });

  test("the hub name is case-insensitive for event handlers too", async () => {
    const c = await huddle.connect(huddle.service(HUB.toUpperCase()), { userId: "upper" });
    assert.ok(seen.connect.some((r) => r.context.connectionId === c.connectionId));
    await c.client.sendEvent("echo", "UPPER", "text");
    assert.deepEqual(c.inbox.data, ["UPPER"]);
  });

  test("state set by the handler travels with the connection's later events", async () => {
    const c = await connect({ userId: "counter" });
    for (let i = 1; i <= 3; i++) await c.client.sendEvent("count", "tick", "text");
    assert.deepEqual(c.inbox.data, ["1", "2", "3"]);
    const mine = seen.events.filter((e) => e.context.connectionId === c.connectionId);
    assert.deepEqual(
      mine.map((e) => [e.arrivedStates.since, e.arrivedStates.count]),
      [
        ["connect", undefined],
        ["connect", 1],
        ["connect", 2],
      ],
    );
  });

  test("a REST close tells the client and the handler's disconnected event the same reason, in the service's words", async () => {
    // "Application server closed the connection. Reason: <reason>" (Azure/azure-sdk-for-js,
    // sdk/web-pubsub/web-pubsub/README.md, "Close connections"); without a reason, the first
    // sentence alone, as Microsoft's Web PubSub emulator words it (its RestApiTests).
    const cases = [
      [(c) => svc.closeConnection(c.connectionId, { reason: "closed by the app" }), "Application server closed the connection. Reason: closed by the app"],
      [() => svc.closeUserConnections("closed-user"), "Application server closed the connection."],
    ];
    for (const [close, want] of cases) {
      const c = await connect({ userId: "closed-user", autoReconnect: false });
      const disconnected = nextEvent(c.client, "disconnected");
      await close(c);
      assert.equal((await disconnected).message?.message, want);
      const gone = await waitFor(() => seen.disconnected.find((r) => r.context.connectionId === c.connectionId), {
        what: "the disconnected event",
      });
      assert.equal(gone.reason, want);
      assert.equal(seen.disconnected.filter((r) => r.context.connectionId === c.connectionId).length, 1);
    }
  });
});

describe("abuse protection", () => {
  test("a handler that allows only the connection string's endpoint (allowedEndpoints) gets the events", async () => {
    const gsvc = huddle.service(GUARDED);
    const c = await huddle.connect(gsvc, { userId: "guarded-user", autoReconnect: false });
    assert.ok(guardedSeen.connect.some((r) => r.context.connectionId === c.connectionId));
    await c.client.sendEvent("echo", "guarded echo", "text");
    assert.deepEqual(c.inbox.data, ["guarded echo"]);
  });
});

describe("groups from the client", () => {
  test("joinGroup, leaveGroup and sendToGroup with and without noEcho", async () => {
    const g = uniq("g");
    const a = await connect({ userId: "a", roles: pubsubRoles });
    const b = await connect({ userId: "b", roles: pubsubRoles });
    const outsider = await connect({ userId: "o", roles: pubsubRoles });

    const j1 = await a.client.joinGroup(g);
    const j2 = await b.client.joinGroup(g);
    assert.equal(j1.isDuplicated, false);
    assert.equal(j2.isDuplicated, false);

    await a.client.sendToGroup(g, { n: 1 }, "json");
    await a.client.sendToGroup(g, "two, not echoed", "text", { noEcho: true });
    await a.client.sendToGroup(g, new Uint8Array([3, 0, 255]).buffer, "binary");
    await b.client.leaveGroup(g);
    await a.client.sendToGroup(g, { n: 4 }, "json", { noEcho: false });
    // Sending to a group needs no membership.
    await outsider.client.sendToGroup(g, { n: 5 }, "json");
    await fence(svc, a, b, outsider);

    assert.deepEqual(groupMessages(a), [
      [g, "a", "json", { n: 1 }],
      [g, "a", "binary", [3, 0, 255]],
      [g, "a", "json", { n: 4 }],
      [g, "o", "json", { n: 5 }],
    ]);
    assert.deepEqual(groupMessages(b), [
      [g, "a", "json", { n: 1 }],
      [g, "a", "text", "two, not echoed"],
      [g, "a", "binary", [3, 0, 255]],
    ]);
    assert.deepEqual(groupMessages(outsider), []);
  });

  test("acks: each request is acknowledged once; a repeated ackId is a Duplicate and is not redone", async () => {
    const g = uniq("g");
    const a = await connect({ userId: "a", roles: pubsubRoles });
    const b = await connect({ userId: "b", roles: pubsubRoles });
    await b.client.joinGroup(g);

    const r1 = await a.client.sendToGroup(g, { n: 1 }, "json");
    const r2 = await a.client.sendToGroup(g, { n: 2 }, "json");
    assert.equal(typeof r1.ackId, "number");
    assert.notEqual(r1.ackId, r2.ackId);
    assert.equal(r1.isDuplicated, false);

    const first = await a.client.sendToGroup(g, { n: 3 }, "json", { ackId: 424242 });
    assert.deepEqual(first, { ackId: 424242, isDuplicated: false });
    const again = await a.client.sendToGroup(g, { n: 3, again: true }, "json", { ackId: 424242 });
    assert.deepEqual(again, { ackId: 424242, isDuplicated: true });
    await fence(svc, a, b);

    assert.deepEqual(groupMessages(b), [
      [g, "a", "json", { n: 1 }],
      [g, "a", "json", { n: 2 }],
      [g, "a", "json", { n: 3 }],
    ]);
  });

  test("acks: a refused request is not remembered, so the same ackId succeeds once allowed; events dedupe too", async () => {
    const g = uniq("g");
    const c = await connect({ userId: "retry", messageRetryOptions: { maxRetries: 0 } });
    await assert.rejects(c.client.joinGroup(g, { ackId: 77 }), (err) => err.errorDetail?.name === "Forbidden");
    await svc.grantPermission(c.connectionId, "joinLeaveGroup", { targetName: g });
    assert.deepEqual(await c.client.joinGroup(g, { ackId: 77 }), { ackId: 77, isDuplicated: false });
    assert.deepEqual(await c.client.joinGroup(g, { ackId: 77 }), { ackId: 77, isDuplicated: true });
    await svc.group(g).sendToAll({ joined: true });
    await c.inbox.waitForMarker({ joined: true });

    // A user event with a repeated ackId reaches the handler once.
    assert.deepEqual(await c.client.sendEvent("count", "once", "text", { ackId: 78 }), { ackId: 78, isDuplicated: false });
    assert.deepEqual(await c.client.sendEvent("count", "twice", "text", { ackId: 78 }), { ackId: 78, isDuplicated: true });
    const mine = seen.events.filter((e) => e.context.connectionId === c.connectionId);
    assert.deepEqual(
      mine.map((e) => e.data),
      ["once"],
    );
    await fence(svc, c);
    assert.deepEqual(c.inbox.data.slice(0, 2), [{ joined: true }, "1"]);
  });

  test("fireAndForget sends without waiting for an ack, and still arrives in order", async () => {
    const g = uniq("g");
    const a = await connect({ userId: "a", roles: pubsubRoles });
    const b = await connect({ userId: "b", roles: pubsubRoles });
    await b.client.joinGroup(g);

    for (let i = 0; i < 20; i++) {
      const r = await a.client.sendToGroup(g, { i }, "json", { fireAndForget: true });
      assert.deepEqual(r, { isDuplicated: false });
    }
    await a.client.sendEvent("quiet", { ff: true }, "json", { fireAndForget: true });
    await b.inbox.waitFor((m) => m.from === "group", { n: 20 });
    assert.deepEqual(
      groupMessages(b).map((r) => r[3]),
      Array.from({ length: 20 }, (_, i) => ({ i })),
    );
    await waitFor(() => seen.events.find((e) => e.context.connectionId === a.connectionId && e.context.eventName === "quiet"), {
      what: "the fire-and-forget event at the handler",
    });
  });

  // huddle limits each connection to 200 inbound messages per second with bursts of up to 1,000
  // (limits.maxInboundPerSecond / maxInboundBurst): the SDK writes concurrent calls at once, and a
  // burst of that size must arrive whole.
  test("a burst of 500 concurrent sendToGroup calls from one client arrives exactly once, in order", {
    timeout: 30_000,
  }, async () => {
    const g = uniq("g");
    const a = await connect({ userId: "burst", roles: pubsubRoles });
    const b = await connect({ userId: "sink", groups: [g] });
    const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => a.client.sendToGroup(g, { i }, "json")));
    await fence(svc, b);
    const refused = results.filter((r) => r.status === "rejected").map((r) => r.reason?.errorDetail?.name ?? r.reason?.message);
    assert.deepEqual(refused, []);
    assert.deepEqual(
      groupMessages(b).map((m) => m[3]),
      Array.from({ length: 500 }, (_, i) => ({ i })),
    );
  });

  test("permission denied: a client without roles gets Forbidden for joinGroup, leaveGroup and sendToGroup", async () => {
    const g = uniq("g");
    const member = await connect({ userId: "member", groups: [g] });
    // Default retry options: the SDK tries 4 times, each refused.
    const c = await connect({ userId: "nobody" });
    const forbidden = (err) => {
      assert.equal(err.name, "SendMessageError");
      assert.equal(err.errorDetail?.name, "Forbidden");
      assert.equal(typeof err.ackId, "number");
      return true;
    };
    await assert.rejects(c.client.joinGroup(g), forbidden);
    const quick = await connect({ userId: "nobody", messageRetryOptions: { maxRetries: 0 } });
    await assert.rejects(quick.client.leaveGroup(g), forbidden);
    await assert.rejects(quick.client.sendToGroup(g, { sneaky: true }, "json"), forbidden);
    assert.equal(await svc.connectionExists(c.connectionId), true, "a refusal does not close the connection");
    await fence(svc, member, c, quick);
    assert.deepEqual(groupMessages(member), []);
    assert.deepEqual(groupMessages(c), []);
  });
});

describe("events to the event handler", () => {
  test("sendEvent: json, text and binary reach the handler; replies come back before the ack", async () => {
    const c = await connect({ userId: "ev" });
    const mine = () => seen.events.filter((e) => e.context.connectionId === c.connectionId);

    await c.client.sendEvent("echo", { hello: "json" }, "json");
    // The reply is a message sent before the ack, so it is already in.
    assert.deepEqual(
      c.inbox.messages.map((m) => [m.from, m.dataType, m.data]),
      [["server", "json", { hello: "json" }]],
    );
    await c.client.sendEvent("echo", "some text", "text");
    await c.client.sendEvent("echo", new Uint8Array([1, 2, 3, 250]).buffer, "binary");
    const r = await c.client.sendEvent("noreply", "nothing back", "text");
    assert.equal(r.isDuplicated, false);
    await fence(svc, c);

    assert.deepEqual(
      c.inbox.messages
        .slice(0, 3)
        .map((m) => [m.from, m.dataType, m.data instanceof ArrayBuffer ? [...new Uint8Array(m.data)] : m.data]),
      [
        ["server", "json", { hello: "json" }],
        ["server", "text", "some text"],
        ["server", "binary", [1, 2, 3, 250]],
      ],
    );
    assert.equal(c.inbox.messages.length, 4, "noreply sent nothing back");

    const events = mine();
    assert.deepEqual(
      events.map((e) => [e.context.eventName, e.dataType, Buffer.isBuffer(e.data) ? [...e.data] : e.data]),
      [
        ["echo", "json", { hello: "json" }],
        ["echo", "text", "some text"],
        ["echo", "binary", [1, 2, 3, 250]],
        ["noreply", "text", "nothing back"],
      ],
    );
    for (const e of events) {
      assert.equal(e.context.userId, "ev");
      assert.equal(e.context.hub.toLowerCase(), HUB);
      assert.equal(e.context.states.since, "connect");
    }
  });

  test("a failing handler fails the event's ack without closing the connection", async () => {
    const c = await connect({ userId: "ev-fail", messageRetryOptions: { maxRetries: 0 } });
    await assert.rejects(c.client.sendEvent("fail", { please: "fail" }, "json"), (err) => {
      assert.equal(err.name, "SendMessageError");
      assert.ok(err.errorDetail?.name, "the ack names the error");
      return true;
    });
    // Still connected and working.
    await c.client.sendEvent("echo", "still here", "text");
    assert.deepEqual(c.inbox.data, ["still here"]);
  });
});
