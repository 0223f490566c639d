// Every REST operation of @azure/web-pubsub 1.2.0 (WebPubSubServiceClient and its group client),
// each checked by what official @azure/web-pubsub-client 1.1.0 clients receive.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { odata } from "@azure/web-pubsub";
import { WebPubSubJsonProtocol } from "@azure/web-pubsub-client";

import { fence, jwtPayload, nextEvent, startHuddle, uniq, waitFor } from "./harness.js";

let huddle;
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await huddle?.stop();
});

/** A fresh hub with its service client, and a connect helper bound to it. */
function hub(prefix = "rest") {
  const name = uniq(prefix);
  const svc = huddle.service(name);
  return { name, svc, connect: (opts) => huddle.connect(svc, opts) };
}

/** The payloads a client received, binary data as byte arrays, markers as "|". */
function received(c) {
  return c.inbox.messages.map((m) => {
    if (m.data instanceof ArrayBuffer) return [...new Uint8Array(m.data)];
    if (m.data && typeof m.data === "object" && "marker" in m.data) return "|";
    return m.data;
  });
}

describe("send", () => {
  test("sendToAll: json, json string, text and binary arrive with their dataType, in order", async () => {
    const { svc, connect } = hub();
    const reliable = await connect({ userId: "u1" });
    const plain = await connect({ protocol: WebPubSubJsonProtocol() });

    await svc.sendToAll({ hello: "world", n: [1, 2, { deep: true }] });
    await svc.sendToAll("a JSON string");
    await svc.sendToAll("plain text", { contentType: "text/plain" });
    await svc.sendToAll(Buffer.from([0, 1, 2, 254, 255]));
    await svc.sendToAll(42);

    for (const c of [reliable, plain]) {
      const got = await c.inbox.waitFor(() => true, { n: 5 });
      assert.deepEqual(
        got.map((m) => [m.from, m.dataType]),
        [
          ["server", "json"],
          ["server", "json"],
          ["server", "text"],
          ["server", "binary"],
          ["server", "json"],
        ],
      );
      assert.deepEqual(received(c), [
        { hello: "world", n: [1, 2, { deep: true }] },
        "a JSON string",
        "plain text",
        [0, 1, 2, 254, 255],
        42,
      ]);
    }
    // The reliable protocol numbers data messages from 1; the plain one does not number them.
    assert.deepEqual(
      reliable.inbox.messages.map((m) => m.sequenceId),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      plain.inbox.messages.map((m) => m.sequenceId),
      [undefined, undefined, undefined, undefined, undefined],
    );
  });

  test("sendToAll with excludedConnections and filter reaches exactly the selected connections", async () => {
    const { svc, connect } = hub();
    const c1 = await connect({ userId: "u1" });
    const c2 = await connect({ userId: "u2" });
    const c3 = await connect({ userId: "u3" });
    const c4 = await connect({ userId: "o'brien" });

    await svc.sendToAll({ step: 1 }, { excludedConnections: [c1.connectionId, c2.connectionId] });
    await svc.sendToAll({ step: 2 }, { filter: odata`userId eq ${"o'brien"}` });
    await svc.sendToAll({ step: 3 }, { filter: "userId eq 'u1' or userId eq 'u3'" });
    await svc.sendToAll({ step: 4 }, { excludedConnections: [c3.connectionId], filter: "userId ne 'u1'" });
    await svc.sendToAll("text", { contentType: "text/plain", filter: `connectionId eq '${c2.connectionId}'` });
    await fence(svc, c1, c2, c3, c4);

    assert.deepEqual(received(c1), [{ step: 3 }, "|"]);
    assert.deepEqual(received(c2), [{ step: 4 }, "text", "|"]);
    assert.deepEqual(received(c3), [{ step: 1 }, { step: 3 }, "|"]);
    assert.deepEqual(received(c4), [{ step: 1 }, { step: 2 }, { step: 4 }, "|"]);
  });

  test("filters: OData functions, operators, null and precedence select the right connections", async () => {
    const { svc, connect } = hub();
    const [gx, gy] = [uniq("gx"), uniq("gy")];
    const admin1 = await connect({ userId: "admin1", groups: [gx, gy] });
    const admin2 = await connect({ userId: "admin2", groups: [gx] });
    const bob = await connect({ userId: "bob" });
    const anon = await connect({ groups: [gy] });
    const filters = [
      ["startswith(userId, 'adm')", [admin1, admin2]],
      ["userId in ('bob', 'admin2')", [admin2, bob]],
      ["userId eq null", [anon]],
      ["not (userId eq 'bob') and userId ne null", [admin1, admin2]],
      [`'${gy}' in groups`, [admin1, anon]],
      ["length(groups) gt 1", [admin1]],
      ["endswith(userId, '2') or contains(userId, 'ob')", [admin2, bob]],
      ["toupper(userId) eq 'BOB'", [bob]],
      ["tolower('ADMIN1') eq userId", [admin1]],
      [`substring(userId, 0, 5) eq 'admin' and '${gx}' in groups`, [admin1, admin2]],
      ["indexof(userId, 'b') eq 0", [bob]],
      ["length(userId) eq 3", [bob]],
      ["concat(userId, '!') eq 'bob!'", [bob]],
      ["trim(concat(' ', userId)) eq 'bob'", [bob]],
      // and binds tighter than or.
      [`userId eq 'bob' or userId eq 'admin1' and '${gx}' in groups`, [admin1, bob]],
      [`connectionId eq '${admin2.connectionId}'`, [admin2]],
      ["userId eq 'it''s'", []],
    ];
    for (const [i, [filter]] of filters.entries()) await svc.sendToAll({ f: i }, { filter });
    await fence(svc, admin1, admin2, bob, anon);
    for (const [name, c] of Object.entries({ admin1, admin2, bob, anon })) {
      const want = filters.flatMap(([filter, to], i) => (to.includes(c) ? [{ f: i }] : []));
      const got = received(c).slice(0, -1);
      assert.deepEqual(
        got,
        want,
        `${name}: got ${got.map((m) => filters[m.f][0]).join(" | ")}; want ${want.map((m) => filters[m.f][0]).join(" | ")}`,
      );
    }
  });

  test("sendToUser reaches every connection of that user and no other", async () => {
    const { svc, connect } = hub();
    const a1 = await connect({ userId: "alice" });
    const a2 = await connect({ userId: "alice" });
    const b = await connect({ userId: "bob" });
    const anon = await connect();

    await svc.sendToUser("alice", { to: "alice" });
    await svc.sendToUser("alice", "hi alice", { contentType: "text/plain" });
    await svc.sendToUser("alice", new Uint8Array([7, 8]));
    await svc.sendToUser("alice", { only: "a2" }, { filter: `connectionId eq '${a2.connectionId}'` });
    await svc.sendToUser("nobody", { to: "nobody" });
    await fence(svc, a1, a2, b, anon);

    assert.deepEqual(received(a1), [{ to: "alice" }, "hi alice", [7, 8], "|"]);
    assert.deepEqual(received(a2), [{ to: "alice" }, "hi alice", [7, 8], { only: "a2" }, "|"]);
    assert.deepEqual(received(b), ["|"]);
    assert.deepEqual(received(anon), ["|"]);
  });

  test("sendToConnection reaches that connection only", async () => {
    const { svc, connect } = hub();
    const a = await connect({ userId: "same" });
    const b = await connect({ userId: "same" });

    await svc.sendToConnection(a.connectionId, { to: "a" });
    await svc.sendToConnection(a.connectionId, "text for a", { contentType: "text/plain" });
    await svc.sendToConnection(b.connectionId, Buffer.from("bytes for b"));
    await fence(svc, a, b);

    assert.deepEqual(received(a), [{ to: "a" }, "text for a", "|"]);
    assert.deepEqual(received(b), [[...Buffer.from("bytes for b")], "|"]);
    assert.equal(b.inbox.messages[0].dataType, "binary");
  });

  test("edge payloads: empty, non-ASCII and escaped text, empty binary, JSON with null and unicode", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const c = await connect({ userId: "edge", roles: ["webpubsub.sendToGroup"], groups: [g] });
    const text = 'héllo 👋 \u2028 "quoted" \\ back\nslash </script>';
    const json = { emoji: "👋", nul: null, nested: [[], {}], quote: '"', big: 12345678901234567890, neg: -1.5e-7 };

    await svc.sendToAll("", { contentType: "text/plain" });
    await svc.sendToAll(text, { contentType: "text/plain" });
    await svc.sendToAll(new Uint8Array(0));
    await svc.sendToAll(json);
    await svc.sendToAll([1, "two", null]);
    await c.client.sendToGroup(g, "", "text");
    await c.client.sendToGroup(g, text, "text");
    await c.client.sendToGroup(g, new ArrayBuffer(0), "binary");
    await c.client.sendToGroup(g, json, "json");
    await c.client.sendToGroup(g, "a JSON string", "json");
    await c.client.sendToGroup(g, 0, "json");
    await c.client.sendToGroup(g, false, "json");
    await fence(svc, c);

    assert.deepEqual(
      c.inbox.messages.slice(0, -1).map((m) => [m.from, m.dataType]),
      [
        ["server", "text"],
        ["server", "text"],
        ["server", "binary"],
        ["server", "json"],
        ["server", "json"],
        ["group", "text"],
        ["group", "text"],
        ["group", "binary"],
        ["group", "json"],
        ["group", "json"],
        ["group", "json"],
        ["group", "json"],
      ],
    );
    assert.deepEqual(received(c), ["", text, [], json, [1, "two", null], "", text, [], json, "a JSON string", 0, false, "|"]);
  });

  test("messageTtlSeconds in range is accepted and the message delivered", async () => {
    const { svc, connect } = hub();
    const c = await connect({ userId: "ttl" });
    await svc.sendToAll({ ttl: 300 }, { messageTtlSeconds: 300 });
    await svc.sendToUser("ttl", { ttl: 10 }, { messageTtlSeconds: 10 });
    await svc.sendToConnection(c.connectionId, { ttl: 0 }, { messageTtlSeconds: 0 });
    await fence(svc, c);
    assert.deepEqual(received(c), [{ ttl: 300 }, { ttl: 10 }, { ttl: 0 }, "|"]);
  });

  test("large messages: a 600 KB text and a 300 KB binary arrive intact", async () => {
    const { svc, connect } = hub();
    const c = await connect();
    const text = "x".repeat(600 * 1024 - 3) + "end";
    const bytes = Buffer.alloc(300 * 1024, 7);
    bytes[0] = 1;
    bytes[bytes.length - 1] = 9;
    await svc.sendToAll(text, { contentType: "text/plain" });
    await svc.sendToConnection(c.connectionId, bytes);
    const [t, b] = await c.inbox.waitFor(() => true, { n: 2 });
    assert.equal(t.data, text);
    assert.ok(Buffer.from(b.data).equals(bytes));
  });
});

describe("names", () => {
  test("hub names are case-insensitive", async () => {
    const name = uniq("CaseHub");
    const upper = huddle.service(name.toUpperCase());
    const lower = huddle.service(name.toLowerCase());
    const c = await huddle.connect(upper, { userId: "case" });
    await lower.sendToAll({ via: "lower" });
    await c.inbox.waitForMarker({ via: "lower" });
    assert.equal(await lower.connectionExists(c.connectionId), true);
    assert.equal(await lower.userExists("case"), true);
  });

  test("user ids and group names with spaces, quotes and non-ASCII characters work in paths and filters", async () => {
    const { svc, connect } = hub();
    const user = "Zoë O'Neil #1";
    const group = "grüße & more?x=1";
    const c = await connect({ userId: user, roles: ["webpubsub.joinLeaveGroup"] });
    const other = await connect({ userId: "other" });

    assert.equal(c.userId, user);
    assert.equal(await svc.userExists(user), true);
    await svc.sendToUser(user, { to: "user" });
    await svc.group(group).addUser(user);
    assert.equal(await svc.groupExists(group), true);
    await svc.group(group).sendToAll({ to: "group" });
    const members = [];
    for await (const m of await svc.group(group).listConnections()) members.push(m);
    assert.deepEqual(members, [{ connectionId: c.connectionId, userId: user }]);
    await svc.sendToAll({ to: "filtered" }, { filter: odata`userId eq ${user} and ${group} in groups` });
    await svc.group(group).removeUser(user);
    await svc.group(group).sendToAll({ to: "group after removal" });
    await c.client.joinGroup(group);
    await svc.group(group).sendToAll({ to: "group after join" });
    await fence(svc, c, other);

    assert.deepEqual(received(c), [{ to: "user" }, { to: "group" }, { to: "filtered" }, { to: "group after join" }, "|"]);
    assert.deepEqual(received(other), ["|"]);
  });
});

describe("groups", () => {
  test("group.sendToAll reaches the group's members only, as group messages, and honours excludedConnections and filter", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const a = await connect({ userId: "a", groups: [g] });
    const b = await connect({ userId: "b", groups: [g] });
    const plain = await connect({ userId: "p", groups: [g], protocol: WebPubSubJsonProtocol() });
    const outsider = await connect({ userId: "c", groups: [uniq("other")] });

    await svc.group(g).sendToAll({ n: 1 });
    await svc.group(g).sendToAll("two", { contentType: "text/plain" });
    await svc.group(g).sendToAll(Buffer.from([3]));
    await svc.group(g).sendToAll({ n: 4 }, { excludedConnections: [a.connectionId] });
    await svc.group(g).sendToAll({ n: 5 }, { filter: "userId eq 'a'" });
    await fence(svc, a, b, plain, outsider);

    assert.deepEqual(received(a), [{ n: 1 }, "two", [3], { n: 5 }, "|"]);
    assert.deepEqual(received(b), [{ n: 1 }, "two", [3], { n: 4 }, "|"]);
    assert.deepEqual(received(plain), [{ n: 1 }, "two", [3], { n: 4 }, "|"]);
    assert.deepEqual(received(outsider), ["|"]);
    // What an app server sends to a group reaches the members as a group message (the client's
    // "group-message" event) naming the group and no sender: "from":"group" "could be from client
    // pub/sub or from the sendToGroup REST API call" (Azure/azure-webpubsub,
    // protocols/json.webpubsub.azure.v1/webpubsub.v1.response.json, groupMessageResponse, where
    // fromUserId is an optional string). The fence, a sendToAll, is a server message.
    for (const c of [a, b, plain]) {
      const fromGroup = c.inbox.messages.slice(0, -1);
      assert.ok(fromGroup.every((m) => m.from === "group" && m.group === g && !("fromUserId" in m)), JSON.stringify(fromGroup));
      assert.equal(c.inbox.messages.at(-1).from, "server");
    }
  });

  test("group.addConnection / removeConnection change what the connection receives", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const c = await connect();
    const other = await connect();

    assert.equal(await svc.groupExists(g), false);
    await svc.group(g).addConnection(c.connectionId);
    assert.equal(await svc.groupExists(g), true);
    await svc.group(g).sendToAll({ in: 1 });
    await svc.group(g).removeConnection(c.connectionId);
    assert.equal(await svc.groupExists(g), false);
    await svc.group(g).sendToAll({ in: 2 });
    await fence(svc, c, other);

    assert.deepEqual(received(c), [{ in: 1 }, "|"]);
    assert.deepEqual(received(other), ["|"]);

    // Adding a connection that does not exist is an error the SDK reports.
    await assert.rejects(svc.group(g).addConnection("no-such-connection"), (err) => {
      assert.equal(err.statusCode, 404);
      return true;
    });
    // Removing one is not.
    await svc.group(g).removeConnection("no-such-connection");
  });

  test("group.addUser / removeUser cover every connection of the user", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const u1a = await connect({ userId: "u1" });
    const u1b = await connect({ userId: "u1" });
    const u2 = await connect({ userId: "u2" });

    await svc.group(g).addUser("u1");
    await svc.group(g).sendToAll({ step: "after add" });
    await svc.group(g).removeUser("u1");
    await svc.group(g).sendToAll({ step: "after remove" });
    // A user without connections: accepted, nothing happens.
    await svc.group(g).addUser("ghost");
    await svc.group(g).removeUser("ghost");
    await fence(svc, u1a, u1b, u2);

    assert.deepEqual(received(u1a), [{ step: "after add" }, "|"]);
    assert.deepEqual(received(u1b), [{ step: "after add" }, "|"]);
    assert.deepEqual(received(u2), ["|"]);
  });

  test("removeUserFromAllGroups and removeConnectionFromAllGroups", async () => {
    const { svc, connect } = hub();
    const [g1, g2] = [uniq("g1"), uniq("g2")];
    const u1a = await connect({ userId: "u1", groups: [g1, g2] });
    const u1b = await connect({ userId: "u1", groups: [g1] });
    const x = await connect({ userId: "x", groups: [g1, g2] });
    const y = await connect({ userId: "y", groups: [g1, g2] });

    await svc.removeUserFromAllGroups("u1");
    await svc.removeConnectionFromAllGroups(x.connectionId);
    await svc.removeConnectionFromAllGroups("no-such-connection");
    await svc.group(g1).sendToAll({ to: "g1" });
    await svc.group(g2).sendToAll({ to: "g2" });
    await fence(svc, u1a, u1b, x, y);

    assert.deepEqual(received(u1a), ["|"]);
    assert.deepEqual(received(u1b), ["|"]);
    assert.deepEqual(received(x), ["|"]);
    assert.deepEqual(received(y), [{ to: "g1" }, { to: "g2" }, "|"]);
  });

  test("addConnectionsToGroups / removeConnectionsFromGroups select connections by filter", async () => {
    const { svc, connect } = hub();
    const [vip, gA, gB] = [uniq("vip"), uniq("gA"), uniq("gB")];
    const c1 = await connect({ userId: "u1" });
    const c2 = await connect({ userId: "u2" });
    const c3 = await connect({ userId: "u3", groups: [vip] });

    await svc.addConnectionsToGroups([gA, gB], `userId eq 'u1' or '${vip}' in groups`);
    await svc.group(gA).sendToAll({ to: "A", round: 1 });
    await svc.group(gB).sendToAll({ to: "B", round: 1 });
    await svc.removeConnectionsFromGroups([gA], "userId eq 'u1'");
    await svc.group(gA).sendToAll({ to: "A", round: 2 });
    await svc.group(gB).sendToAll({ to: "B", round: 2 });
    await fence(svc, c1, c2, c3);

    assert.deepEqual(received(c1), [{ to: "A", round: 1 }, { to: "B", round: 1 }, { to: "B", round: 2 }, "|"]);
    assert.deepEqual(received(c2), ["|"]);
    assert.deepEqual(received(c3), [
      { to: "A", round: 1 },
      { to: "B", round: 1 },
      { to: "A", round: 2 },
      { to: "B", round: 2 },
      "|",
    ]);
  });

  test("group.listConnections pages with maxPageSize and lists every member once", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await connect({ userId: `user${i}`, groups: [g] }));
    await connect({ userId: "not-a-member" });

    const pages = [];
    for await (const page of (await svc.group(g).listConnections({ maxPageSize: 2 })).byPage()) {
      pages.push(page.map((m) => ({ connectionId: m.connectionId, userId: m.userId })));
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    const listed = pages.flat().sort((a, b) => a.connectionId.localeCompare(b.connectionId));
    const expected = members
      .map((m) => ({ connectionId: m.connectionId, userId: m.userId }))
      .sort((a, b) => a.connectionId.localeCompare(b.connectionId));
    assert.deepEqual(listed, expected);

    // The item iterator follows the same links.
    const all = [];
    for await (const m of await svc.group(g).listConnections({ maxPageSize: 3 })) all.push(m.connectionId);
    assert.deepEqual(all.sort(), expected.map((m) => m.connectionId).sort());

    // top bounds the whole listing, across pages.
    const topped = [];
    for await (const page of (await svc.group(g).listConnections({ maxPageSize: 2, top: 3 })).byPage()) {
      topped.push(page.length);
    }
    assert.deepEqual(topped, [2, 1]);

    const empty = [];
    for await (const m of await svc.group(uniq("empty")).listConnections()) empty.push(m);
    assert.deepEqual(empty, []);
  });
});

describe("close", () => {
  // Clients that do not reconnect, so that a close is final and observable.
  const once = { autoReconnect: false };

  test("closeConnection ends that connection with the reason", async () => {
    const { svc, connect } = hub();
    const a = await connect({ ...once, userId: "a" });
    const b = await connect({ ...once, userId: "b" });

    const disconnected = nextEvent(a.client, "disconnected");
    const stopped = nextEvent(a.client, "stopped");
    await svc.closeConnection(a.connectionId, { reason: "bye a" });
    const e = await disconnected;
    await stopped;
    assert.equal(e.connectionId, a.connectionId);
    // The service's words around the app server's reason (Azure/azure-sdk-for-js,
    // sdk/web-pubsub/web-pubsub/README.md, "Close connections": "Output: Application server closed
    // the connection. Reason: Hello closed.").
    assert.equal(e.message?.message, "Application server closed the connection. Reason: bye a");
    assert.equal(await svc.connectionExists(a.connectionId), false);
    assert.equal(await svc.connectionExists(b.connectionId), true);
    // b still works.
    await fence(svc, b);
  });

  test("closeAllConnections, group.closeAllConnections and closeUserConnections close exactly their targets", async () => {
    const { svc, connect } = hub();
    const other = hub();
    const g = uniq("g");
    const member = await connect({ ...once, userId: "m", groups: [g] });
    const u1a = await connect({ ...once, userId: "u1" });
    const u1b = await connect({ ...once, userId: "u1" });
    const rest = await connect({ ...once, userId: "r" });
    const elsewhere = await other.connect({ ...once, userId: "u1" });
    const all = [member, u1a, u1b, rest, elsewhere];
    const reasons = new Map();
    for (const c of all) c.client.on("disconnected", (e) => reasons.set(c, e.message?.message));

    await svc.group(g).closeAllConnections({ reason: "group closed" });
    await waitFor(() => reasons.has(member), { what: "the group member to be disconnected" });
    await svc.closeUserConnections("u1", { reason: "user closed" });
    await waitFor(() => reasons.has(u1a) && reasons.has(u1b), { what: "u1's connections to be disconnected" });
    assert.equal(await svc.connectionExists(rest.connectionId), true);
    assert.equal(await other.svc.connectionExists(elsewhere.connectionId), true);

    await svc.closeAllConnections({ reason: "all closed" });
    await waitFor(() => reasons.has(rest), { what: "the remaining connection to be disconnected" });
    const closed = "Application server closed the connection. Reason: ";
    assert.equal(reasons.get(member), closed + "group closed");
    assert.equal(reasons.get(u1a), closed + "user closed");
    assert.equal(reasons.get(u1b), closed + "user closed");
    assert.equal(reasons.get(rest), closed + "all closed");
    // The other hub's connection of the same user id was never touched.
    assert.equal(reasons.has(elsewhere), false);
    assert.equal(await other.svc.connectionExists(elsewhere.connectionId), true);
    await fence(other.svc, elsewhere);
    for (const c of [member, u1a, u1b, rest]) assert.equal(await svc.connectionExists(c.connectionId), false);
  });

  test("a close without a reason says only that the application server closed the connection", async () => {
    const { svc, connect } = hub();
    const c = await connect({ ...once, userId: "no-reason" });
    const disconnected = nextEvent(c.client, "disconnected");
    await svc.closeConnection(c.connectionId);
    // As Microsoft's Web PubSub emulator words it when the app server gives no reason (its
    // RestApiTests, AssertAppServerCloseAsync).
    assert.equal((await disconnected).message?.message, "Application server closed the connection.");
  });

  test("closeConnection delivers what was sent before it, then the disconnect", async () => {
    const { svc, connect } = hub();
    const c = await connect({ ...once, userId: "flush" });
    const at = [];
    c.client.on("disconnected", () => at.push(c.inbox.messages.length));
    for (let i = 0; i < 50; i++) await svc.sendToConnection(c.connectionId, { i });
    const stopped = nextEvent(c.client, "stopped");
    await svc.closeConnection(c.connectionId, { reason: "after 50" });
    await stopped;
    assert.deepEqual(c.inbox.data, Array.from({ length: 50 }, (_, i) => ({ i })));
    assert.deepEqual(at, [50]);
  });
});

describe("existence", () => {
  test("connectionExists, userExists and groupExists follow the live connections", async () => {
    const { svc, connect } = hub();
    const g = uniq("g");
    const c = await connect({ userId: "present", groups: [g] });

    assert.equal(await svc.connectionExists(c.connectionId), true);
    assert.equal(await svc.connectionExists("no-such-connection"), false);
    assert.equal(await svc.userExists("present"), true);
    assert.equal(await svc.userExists("absent"), false);
    assert.equal(await svc.groupExists(g), true);
    assert.equal(await svc.groupExists(uniq("nope")), false);
    // Hubs are separate spaces: nothing of this hub exists in another.
    const elsewhere = huddle.service(uniq("elsewhere"));
    assert.equal(await elsewhere.connectionExists(c.connectionId), false);
    assert.equal(await elsewhere.userExists("present"), false);
    assert.equal(await elsewhere.groupExists(g), false);

    c.client.stop();
    await waitFor(async () => !(await svc.connectionExists(c.connectionId)), { what: "the connection to be gone" });
    assert.equal(await svc.userExists("present"), false);
    assert.equal(await svc.groupExists(g), false);
  });
});

describe("permissions", () => {
  test("grantPermission / revokePermission / hasPermission govern joinLeaveGroup and sendToGroup", async () => {
    const { svc, connect } = hub();
    const [g, g2] = [uniq("g"), uniq("g2")];
    // No retries, so that each refusal is one request.
    const c = await connect({ userId: "c", messageRetryOptions: { maxRetries: 0 } });
    const listener = await connect({ userId: "listener", groups: [g] });
    const forbidden = (err) => {
      assert.equal(err.name, "SendMessageError");
      assert.equal(err.errorDetail?.name, "Forbidden");
      return true;
    };

    assert.equal(await svc.hasPermission(c.connectionId, "joinLeaveGroup"), false);
    assert.equal(await svc.hasPermission(c.connectionId, "joinLeaveGroup", { targetName: g }), false);
    await assert.rejects(c.client.joinGroup(g), forbidden);

    await svc.grantPermission(c.connectionId, "joinLeaveGroup", { targetName: g });
    assert.equal(await svc.hasPermission(c.connectionId, "joinLeaveGroup", { targetName: g }), true);
    assert.equal(await svc.hasPermission(c.connectionId, "joinLeaveGroup", { targetName: g2 }), false);
    assert.equal(await svc.hasPermission(c.connectionId, "sendToGroup", { targetName: g }), false);
    await c.client.joinGroup(g);
    await assert.rejects(c.client.joinGroup(g2), forbidden);

    await svc.grantPermission(c.connectionId, "sendToGroup");
    assert.equal(await svc.hasPermission(c.connectionId, "sendToGroup"), true);
    assert.equal(await svc.hasPermission(c.connectionId, "sendToGroup", { targetName: g2 }), true);
    await c.client.sendToGroup(g, { from: "c", n: 1 }, "json");

    await svc.revokePermission(c.connectionId, "sendToGroup");
    assert.equal(await svc.hasPermission(c.connectionId, "sendToGroup"), false);
    await assert.rejects(c.client.sendToGroup(g, { from: "c", n: 2 }, "json"), forbidden);

    await svc.revokePermission(c.connectionId, "joinLeaveGroup", { targetName: g });
    assert.equal(await svc.hasPermission(c.connectionId, "joinLeaveGroup", { targetName: g }), false);
    await assert.rejects(c.client.leaveGroup(g), forbidden);
    await fence(svc, c, listener);

    // c joined g and is still in it (its leave was refused): it got its own message back too.
    const fromC = (cl) => cl.inbox.messages.filter((m) => m.from === "group").map((m) => [m.group, m.fromUserId, m.data]);
    assert.deepEqual(fromC(listener), [[g, "c", { from: "c", n: 1 }]]);
    assert.deepEqual(fromC(c), [[g, "c", { from: "c", n: 1 }]]);
  });
});

describe("tokens", () => {
  test("getClientAccessToken signs a token the server accepts, with user, roles and groups in force", async () => {
    const { name, svc, connect } = hub("Tok");
    const g = uniq("g");
    const t = await svc.getClientAccessToken({
      userId: "tok-user",
      roles: [`webpubsub.sendToGroup.${g}`],
      groups: [g],
      expirationTimeInMinutes: 5,
    });
    const base = huddle.url.replace(/^http/, "ws");
    assert.equal(t.baseUrl, `${base}/client/hubs/${name}`);
    assert.equal(t.url, `${t.baseUrl}?access_token=${t.token}`);
    const claims = jwtPayload(t.token);
    assert.equal(claims.aud, `${huddle.url}/client/hubs/${name}`);
    assert.equal(claims.sub, "tok-user");
    assert.deepEqual(claims.role, [`webpubsub.sendToGroup.${g}`]);
    assert.deepEqual(claims["webpubsub.group"], [g]);
    assert.equal(claims.exp - claims.iat, 300);

    const c = await connect({ userId: "tok-user", roles: [`webpubsub.sendToGroup.${g}`], groups: [g], url: () => t.url });
    assert.equal(c.userId, "tok-user");
    assert.equal(await svc.userExists("tok-user"), true);
    // In the group from the token without joining, and allowed to send to it by the role.
    await c.client.sendToGroup(g, "to my group", "text");
    await svc.group(g).sendToAll({ from: "server" });
    const got = await c.inbox.waitFor(() => true, { n: 2 });
    // The app server's message to the group is a group message without a sender
    // (Azure/azure-webpubsub, protocols/json.webpubsub.azure.v1/webpubsub.v1.response.json).
    assert.deepEqual(
      got.map((m) => [m.from, m.group, m.fromUserId, m.dataType, m.data]),
      [
        ["group", g, "tok-user", "text", "to my group"],
        ["group", g, undefined, "json", { from: "server" }],
      ],
    );
  });
});
