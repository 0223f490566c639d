// Bad input through the official SDKs and plain HTTP: tokens, api-version, filters.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { WebPubSubClient } from "@azure/web-pubsub-client";

import { jwtPayload, signJwt, startHuddle, uniq } from "./harness.js";

let huddle;
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await huddle?.stop();
});

/** Starts a client on a fixed URL that must be refused; resolves with the error. */
async function refused(url) {
  const client = huddle.track(new WebPubSubClient(url, { autoReconnect: false }));
  let err;
  await assert.rejects(
    client.start().then(() => client.stop()),
    (e) => {
      err = e;
      return true;
    },
  );
  return err;
}

describe("client tokens", () => {
  test("a valid token connects (control)", async () => {
    const svc = huddle.service(uniq("tok"));
    const c = await huddle.connect(svc, { userId: "ok" });
    assert.equal(c.userId, "ok");
  });

  test("wrong key, expired, other hub, garbage or missing token: the connect is refused with 401", async () => {
    const hub = uniq("tok");
    const svc = huddle.service(hub);
    const good = await svc.getClientAccessToken({ userId: "u" });
    const claims = jwtPayload(good.token);

    const wrongKey = signJwt(claims, "not-the-access-key");
    const now = Math.floor(Date.now() / 1000);
    const expired = signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }, huddle.accessKey);
    const sdkExpired = await svc.getClientAccessToken({ userId: "u", expirationTimeInMinutes: -10 });
    assert.ok(jwtPayload(sdkExpired.token).exp < now - 300, "the SDK signed an expired token");
    const otherHub = await huddle.service(uniq("other")).getClientAccessToken({ userId: "u" });

    const cases = {
      "wrong key": `${good.baseUrl}?access_token=${wrongKey}`,
      "expired (hand-signed)": `${good.baseUrl}?access_token=${expired}`,
      "expired (SDK-signed)": sdkExpired.url,
      "token for another hub": `${good.baseUrl}?access_token=${otherHub.token}`,
      garbage: `${good.baseUrl}?access_token=not.a.jwt`,
      missing: good.baseUrl,
    };
    for (const [name, url] of Object.entries(cases)) {
      const err = await refused(url);
      assert.match(String(err?.message), /401/, `${name}: ${err?.message}`);
    }
    assert.equal(await svc.userExists("u"), false);
  });
});

describe("REST", () => {
  /** A raw REST call signed as the SDK signs it: aud = the full request URL. */
  async function rawREST(method, pathAndQuery, { body, contentType } = {}) {
    const url = `${huddle.url}${pathAndQuery}`;
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ aud: url, iat: now, exp: now + 3600 }, huddle.accessKey);
    return fetch(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(contentType ? { "Content-Type": contentType } : {}) },
      body,
    });
  }

  test("a bad or missing api-version is a 400 with a JSON error body", async () => {
    const hub = uniq("api");
    for (const q of ["?api-version=2020-01-01", "?api-version=", ""]) {
      const res = await rawREST("POST", `/api/hubs/${hub}/:send${q}`, { body: '{"x":1}', contentType: "application/json" });
      assert.equal(res.status, 400, q);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const err = await res.json();
      assert.equal(typeof err.code, "string");
      assert.ok(err.code.length > 0);
      assert.match(err.message, /api-version/);
      assert.match(res.headers.get("api-supported-versions") ?? "", /2024-12-01/);
    }
    // The same request with the SDK's version is fine (control).
    const ok = await rawREST("POST", `/api/hubs/${hub}/:send?api-version=2024-12-01`, {
      body: '{"x":1}',
      contentType: "application/json",
    });
    assert.equal(ok.status, 202);
  });

  test("a bad filter makes the SDK throw a RestError with status 400", async () => {
    const svc = huddle.service(uniq("filter"));
    const c = await huddle.connect(svc, { userId: "u1" });
    const bad400 = (err) => {
      assert.equal(err.name, "RestError");
      assert.equal(err.statusCode, 400);
      return true;
    };
    for (const filter of ["userId eq", "userId eq 'unterminated", "nosuchfield eq 'x'", "userId eq 'a' and", "(userId eq 'a'"]) {
      await assert.rejects(svc.sendToAll({ x: 1 }, { filter }), bad400, filter);
    }
    await assert.rejects(svc.sendToUser("u1", { x: 1 }, { filter: "userId eq" }), bad400);
    await assert.rejects(svc.group("g").sendToAll({ x: 1 }, { filter: "userId eq" }), bad400);
    await assert.rejects(svc.addConnectionsToGroups(["g"], "userId eq"), bad400);
    await assert.rejects(svc.removeConnectionsFromGroups(["g"], "'g' in"), bad400);
    // None of them delivered anything.
    await svc.sendToAll({ marker: "after" });
    await c.inbox.waitForMarker({ marker: "after" });
    assert.deepEqual(c.inbox.data, [{ marker: "after" }]);
  });

  test("other bad input through the SDK: wrong access key → 401, bad messageTtlSeconds → 400", async () => {
    const hub = uniq("bad");
    const wrong = new WebPubSubServiceClient(huddle.connectionString.replace(/AccessKey=[^;]+/, "AccessKey=wrong-key"), hub, {
      allowInsecureConnection: true,
    });
    await assert.rejects(wrong.sendToAll({ x: 1 }), (err) => {
      assert.equal(err.name, "RestError");
      assert.equal(err.statusCode, 401);
      return true;
    });
    const svc = huddle.service(hub);
    await assert.rejects(svc.sendToAll({ x: 1 }, { messageTtlSeconds: 1000 }), (err) => {
      assert.equal(err.statusCode, 400);
      return true;
    });
  });
});
