// Azure SignalR Service's REST API (v1 and 2022-06-01) against the huddle binary, called as the
// Management SDK (Microsoft.Azure.SignalR.Management, .NET, so not runnable here) calls it: a JWT
// signed HS256 with the access key whose aud is the request URL without the port (2022-06-01:
// with its query, less excluded and reason), a nameid claim, and a PascalCase body
// {"Target","Arguments"} as application/json; charset=utf-8 (RestClient.cs, RestApiProvider.cs in
// Azure/azure-signalr src/Microsoft.Azure.SignalR.Management and .Common). Success statuses are
// those of Azure/azure-signalr docs/swagger/v1.json and docs/swagger/V20220601.json; the 404s of
// existence checks carry the x-ms-error-code RestHubLifetimeManager.cs takes for "no"
// (Constants.cs ErrorCodes). The receiving side is official @azure/web-pubsub-client connections
// of the same hub, so this does not depend on a SignalR client.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { fence, nextEvent, signJwt, startHuddle, uniq, waitFor } from "./harness.js";
import { V2, expectRest } from "./signalr-harness.js";

let huddle;
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await huddle?.stop();
});

const expect = (...args) => expectRest(huddle, ...args);

/** A fresh hub (lower-case, as the SDK writes it) and a Web PubSub connect helper bound to it. */
function hub() {
  const name = uniq("sr").toLowerCase();
  const svc = huddle.service(name);
  return { name, svc, connect: (opts) => huddle.connect(svc, { autoReconnect: false, ...opts }) };
}

test("health: HEAD /api/v1/health and HEAD /api/health answer 200", async () => {
  for (const [method, path] of [
    ["HEAD", "/api/v1/health"],
    ["GET", "/api/v1/health"],
    ["HEAD", `/api/health?api-version=${V2}`],
  ]) {
    const res = await fetch(huddle.url + path, { method });
    assert.equal(res.status, 200, `${method} ${path}`);
  }
});

describe("send", () => {
  test("every send of both versions is 202 and reaches exactly its connections with its arguments", async () => {
    const { name, svc, connect } = hub();
    const g = uniq("g");
    const a = await connect({ userId: "ua", groups: [g] });
    const b = await connect({ userId: "ub" });
    const c = await connect({ groups: [g] });

    const sends = [
      [`/api/v1/hubs/${name}`, [["excluded", c.connectionId]], [a, b]],
      [`/api/hubs/${name}/:send`, [["api-version", V2], ["excluded", a.connectionId], ["excluded", b.connectionId]], [c]],
      [`/api/v1/hubs/${name}/users/ua`, [], [a]],
      [`/api/hubs/${name}/users/ub/:send`, [["api-version", V2]], [b]],
      [`/api/v1/hubs/${name}/connections/${c.connectionId}`, [], [c]],
      [`/api/hubs/${name}/connections/${b.connectionId}/:send`, [["api-version", V2]], [b]],
      [`/api/v1/hubs/${name}/groups/${g}`, [], [a, c]],
      [`/api/hubs/${name}/groups/${g}/:send`, [["api-version", V2], ["excluded", a.connectionId]], [c]],
      // Nobody there: the service accepts it all the same.
      [`/api/v1/hubs/${name}/users/nobody`, [], []],
      [`/api/hubs/${name}/connections/nobody/:send`, [["api-version", V2]], []],
    ];
    const want = new Map([a, b, c].map((x) => [x, []]));
    for (const [i, [path, query, to]] of sends.entries()) {
      const args = [`send ${i}`, { i }];
      await expect("POST", path, { query, body: { Target: "notify", Arguments: args } }, 202);
      for (const x of to) want.get(x).push(args);
    }
    // The Management SDK's PascalCase and the documentation's camelCase are the same body.
    await expect("POST", `/api/hubs/${name}/users/ua/:send`, { query: [["api-version", V2]], body: { target: "notify", arguments: ["camel"] } }, 202);
    want.get(a).push(["camel"]);

    await fence(svc, a, b, c);
    for (const [x, args] of want) {
      // A Web PubSub client receives the invocation as data {target, arguments}.
      const got = x.inbox.messages.filter((m) => !(m.data && typeof m.data === "object" && "marker" in m.data));
      assert.deepEqual(
        got.map((m) => m.data),
        args.map((a) => ({ target: "notify", arguments: a })),
        `connection ${x.userId ?? "anonymous"}`,
      );
    }
  });

  test("the SDK's binary body (application/octet-stream) is read from its JSON form", async () => {
    const { name, connect } = hub();
    const c = await connect();
    // BinaryPayloadMessageContent.cs: a MessagePack map from protocol name to the invocation as
    // that protocol writes it; here {"json": bin8(<JSON hub protocol record>)}, written by hand.
    const record = Buffer.from(JSON.stringify({ type: 1, target: "notify", arguments: ["binary", 2] }) + "\x1e");
    const body = Buffer.concat([Buffer.from([0x81, 0xa4]), Buffer.from("json"), Buffer.from([0xc4, record.length]), record]);
    const path = `/api/hubs/${name}/:send`;
    const base = new URL(huddle.url);
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ aud: `${base.protocol}//${base.hostname}${path}?api-version=${V2}`, exp: now + 60 }, huddle.accessKey);
    const res = await fetch(`${huddle.url}${path}?api-version=${V2}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
      body,
    });
    assert.equal(res.status, 202);
    await c.inbox.waitFor((m) => JSON.stringify(m.data) === JSON.stringify({ target: "notify", arguments: ["binary", 2] }));
  });

  test("application=<name> addresses the hub <name>_<hub>", async () => {
    const app = uniq("app").toLowerCase();
    const inApp = huddle.service(`${app}_chat`);
    const c = await huddle.connect(inApp, { autoReconnect: false });
    await expect("POST", "/api/hubs/chat/:send", { query: [["application", app], ["api-version", V2]], body: { Target: "m", Arguments: [1] } }, 202);
    await c.inbox.waitFor((m) => JSON.stringify(m.data) === JSON.stringify({ target: "m", arguments: [1] }));
    await expect("HEAD", `/api/hubs/chat/connections/${c.connectionId}`, { query: [["application", app], ["api-version", V2]] }, 200);
    await expect("HEAD", `/api/hubs/chat/connections/${c.connectionId}`, { query: [["api-version", V2]] }, 404, "Warning.Connection.NotExisted");
  });

  test("bad requests are 400 (415 for a body of another type) in the service's error shape", async () => {
    const { name } = hub();
    const v2 = [["api-version", V2]];
    await expect("POST", `/api/hubs/${encodeURIComponent("x';DROP TABLE hubs;--")}/:send`, { query: v2, body: { Target: "m" } }, 400, "InvalidRequest");
    await expect("POST", `/api/v1/hubs/${name}`, { body: '{"Target":' }, 400, "InvalidRequest");
    await expect("POST", `/api/v1/hubs/${name}`, { body: { Target: "m", Extra: 1 } }, 400, "InvalidRequest");
    await expect("POST", `/api/hubs/${name}/:send`, { query: v2, body: { Arguments: [] } }, 400, "InvalidRequest");
    await expect("POST", `/api/hubs/${name}/:send`, { query: v2, body: { Target: "m", Arguments: ["x".repeat(1 << 20)] } }, 400, "InvalidRequest");
    await expect("PUT", `/api/hubs/${name}/users/u/groups/g`, { query: [...v2, ["ttl", "-1"]] }, 400, "InvalidRequest");

    const base = new URL(huddle.url);
    const path = `/api/hubs/${name}/:send`;
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ aud: `${base.protocol}//${base.hostname}${path}?api-version=${V2}`, exp: now + 60 }, huddle.accessKey);
    const res = await fetch(`${huddle.url}${path}?api-version=${V2}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" },
      body: '{"Target":"m"}',
    });
    assert.equal(res.status, 415);
    assert.equal(res.headers.get("x-ms-error-code"), "UnsupportedMediaType");
    // A MessagePack body cut short: its map names a key it does not hold.
    await expect("POST", path, { query: v2, body: new Uint8Array([0x81, 0xa6]), contentType: "application/x-msgpack" }, 400, "InvalidRequest");
  });

  test("tokens: another key or another URL is 401 Unauthorized; the aud's port, query and case do not matter", async () => {
    const { name } = hub();
    const path = `/api/hubs/${name}/:send`;
    const query = [["api-version", V2]];
    const body = { Target: "m", Arguments: [] };
    const base = new URL(huddle.url);
    await expect("POST", path, { query, body, key: "not-the-access-key-0123456789" }, 401, "Unauthorized");
    await expect("POST", path, { query, body, aud: `${base.protocol}//${base.hostname}/api/hubs/${name}/users/u/:send` }, 401, "Unauthorized");
    await expect("POST", path, { query, body, aud: `${huddle.url}${path}` }, 202);
    await expect("POST", path, { query, body, aud: `${base.protocol}//${base.hostname.toUpperCase()}${path.toUpperCase()}/` }, 202);
    const res = await fetch(`${huddle.url}${path}?api-version=${V2}`, { method: "POST", body: "{}" });
    assert.equal(res.status, 401);
  });
});

describe("existence and groups", () => {
  test("existence checks answer 200 or 404 with the Management SDK's error codes", async () => {
    const { name, connect } = hub();
    const g = uniq("g");
    const c = await connect({ userId: "u1", groups: [g] });
    const v2 = { query: [["api-version", V2]] };
    const checks = [
      [`connections/${c.connectionId}`, `connections/gone`, "Warning.Connection.NotExisted"],
      [`users/u1`, `users/u2`, "Warning.User.NotExisted"],
      [`groups/${g}`, `groups/none`, "Warning.Group.NotExisted"],
    ];
    for (const [yes, no, code] of checks) {
      for (const method of ["HEAD", "GET"]) {
        await expect(method, `/api/v1/hubs/${name}/${yes}`, {}, 200);
        await expect(method, `/api/v1/hubs/${name}/${no}`, {}, 404, code);
      }
      await expect("HEAD", `/api/hubs/${name}/${yes}`, v2, 200);
      await expect("HEAD", `/api/hubs/${name}/${no}`, v2, 404, code);
    }
    // IsUserInGroup sends GET (RestHubLifetimeManager.cs); the swagger file names HEAD.
    for (const method of ["HEAD", "GET"]) {
      await expect(method, `/api/v1/hubs/${name}/groups/${g}/users/u1`, {}, 200);
      await expect(method, `/api/v1/hubs/${name}/groups/${g}/users/u2`, {}, 404, "Info.User.NotInGroup");
      await expect(method, `/api/hubs/${name}/users/u1/groups/${g}`, v2, 200);
      await expect(method, `/api/hubs/${name}/users/u1/groups/none`, v2, 404, "Info.User.NotInGroup");
    }
  });

  test("connection groups: PUT 200, DELETE 200, all groups 200, unknown connection 404 Error.Connection.NotExisted", async () => {
    const { name, svc, connect } = hub();
    const c = await connect();
    const v2 = { query: [["api-version", V2]] };
    await expect("PUT", `/api/v1/hubs/${name}/groups/g1/connections/${c.connectionId}`, {}, 200);
    await expect("PUT", `/api/hubs/${name}/groups/g2/connections/${c.connectionId}`, v2, 200);
    await expect("HEAD", `/api/hubs/${name}/groups/g1`, v2, 200);
    await expect("DELETE", `/api/v1/hubs/${name}/groups/g1/connections/${c.connectionId}`, {}, 200);
    await expect("HEAD", `/api/hubs/${name}/groups/g1`, v2, 404, "Warning.Group.NotExisted");
    await expect("PUT", `/api/hubs/${name}/groups/g3/connections/${c.connectionId}`, v2, 200);
    await expect("DELETE", `/api/hubs/${name}/groups/g3/connections/${c.connectionId}`, v2, 200);
    await expect("DELETE", `/api/hubs/${name}/connections/${c.connectionId}/groups`, v2, 200);
    await expect("HEAD", `/api/hubs/${name}/groups/g2`, v2, 404, "Warning.Group.NotExisted");
    await expect("PUT", `/api/v1/hubs/${name}/groups/g1/connections/gone`, {}, 404, "Error.Connection.NotExisted");
    await expect("PUT", `/api/hubs/${name}/groups/g1/connections/gone`, v2, 404, "Error.Connection.NotExisted");
    // The Web PubSub API of the same hub sees the same groups.
    assert.equal(await svc.groupExists("g2"), false);
  });

  test("user groups: kept for the user's later connections unless ttl=0; removal from one or all groups", async () => {
    const { name, svc, connect } = hub();
    const v2 = (...q) => ({ query: [["api-version", V2], ...q] });
    const first = await connect({ userId: "u1" });
    await expect("PUT", `/api/v1/hubs/${name}/groups/kept/users/u1`, {}, 202);
    await expect("PUT", `/api/hubs/${name}/users/u1/groups/timed`, v2(["ttl", "3600"]), 200);
    await expect("PUT", `/api/hubs/${name}/users/u1/groups/now`, v2(["ttl", "0"]), 200);
    const later = await connect({ userId: "u1" });
    for (const g of ["kept", "timed", "now"]) await svc.group(g).sendToAll({ to: g });
    await fence(svc, first, later);
    const groupsOf = (c) => c.inbox.messages.filter((m) => m.data?.to).map((m) => m.data.to);
    assert.deepEqual(groupsOf(first), ["kept", "timed", "now"]);
    assert.deepEqual(groupsOf(later), ["kept", "timed"]);

    await expect("DELETE", `/api/v1/hubs/${name}/groups/kept/users/u1`, {}, 202);
    await expect("DELETE", `/api/hubs/${name}/users/u1/groups/timed`, v2(), 204);
    await expect("GET", `/api/hubs/${name}/users/u1/groups/kept`, v2(), 404, "Info.User.NotInGroup");
    await expect("HEAD", `/api/hubs/${name}/users/u1/groups/now`, v2(), 200);
    await expect("DELETE", `/api/hubs/${name}/users/u1/groups`, v2(), 204);
    await expect("HEAD", `/api/hubs/${name}/users/u1/groups/now`, v2(), 404, "Info.User.NotInGroup");
    await expect("PUT", `/api/hubs/${name}/users/u2/groups/g`, v2(), 200);
    await expect("DELETE", `/api/v1/hubs/${name}/users/u2/groups`, {}, 200);
    await expect("HEAD", `/api/hubs/${name}/users/u2/groups/g`, v2(), 404, "Info.User.NotInGroup");
  });
});

describe("close", () => {
  test("DELETE a connection (v1 202, 2022-06-01 200) and :closeConnections (204) close exactly their targets", async () => {
    const { name, connect } = hub();
    const g = uniq("g");
    const one = await connect({ userId: "one" });
    const old = await connect({ userId: "old" });
    const member = await connect({ userId: "m", groups: [g] });
    const spared = await connect({ userId: "m2", groups: [g] });
    const user = await connect({ userId: "u" });
    const rest_ = await connect({ userId: "r" });
    const all = [one, old, member, spared, user, rest_];
    const reasons = new Map();
    for (const c of all) c.client.on("disconnected", (e) => reasons.set(c, e.message?.message ?? ""));
    const v2 = (...q) => ({ query: [["api-version", V2], ...q] });

    await expect("DELETE", `/api/hubs/${name}/connections/${one.connectionId}`, v2(["reason", "bye one"]), 200);
    await expect("DELETE", `/api/v1/hubs/${name}/connections/${old.connectionId}`, { query: [["reason", "bye old"]] }, 202);
    await expect("POST", `/api/hubs/${name}/groups/${g}/:closeConnections`, v2(["excluded", spared.connectionId], ["reason", "group"]), 204);
    await expect("POST", `/api/hubs/${name}/users/u/:closeConnections`, v2(["reason", "user"]), 204);
    await waitFor(() => [one, old, member, user].every((c) => reasons.has(c)), { what: "the targets to be disconnected" });
    assert.equal(reasons.has(spared), false);
    assert.equal(reasons.has(rest_), false);
    for (const [c, why] of [[one, "bye one"], [old, "bye old"], [member, "group"], [user, "user"]]) {
      assert.match(reasons.get(c), new RegExp(why), `reason of ${c.userId}`);
    }
    await expect("HEAD", `/api/hubs/${name}/connections/${one.connectionId}`, v2(), 404, "Warning.Connection.NotExisted");

    const stopped = nextEvent(spared.client, "disconnected");
    await expect("POST", `/api/hubs/${name}/:closeConnections`, v2(["excluded", rest_.connectionId]), 204);
    await stopped;
    await expect("HEAD", `/api/hubs/${name}/connections/${rest_.connectionId}`, v2(), 200);
  });
});
