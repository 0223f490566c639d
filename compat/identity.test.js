// The REST API with identity-based access, as Microsoft's current samples use it:
// new WebPubSubServiceClient(endpoint, credential, hub) with a TokenCredential (DefaultAzureCredential,
// Microsoft Entra ID) instead of a key. Here the credential is a service principal of the oidctest
// provider, run as a process (internal/auth/oidc/oidctest/oidcprovider), and huddle trusts that
// provider through webpubsub.identity.
//
// @azure/web-pubsub 1.2.0 sends a TokenCredential's tokens only to an https:// endpoint
// (@azure/core-rest-pipeline's bearerTokenAuthenticationPolicy refuses others), so the service
// clients reach huddle through a TLS-terminating proxy with a certificate made for the test, as a
// deployment behind a TLS proxy would; the SDK is given its CA through its own tlsOptions.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { WebPubSubServiceClient } from "@azure/web-pubsub";

import { jwtPayload, nextEvent, startHuddle, uniq } from "./harness.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

/** The scope @azure/web-pubsub 1.2.0 asks a TokenCredential for (dist/esm/hubClient.js, credentialScopes). */
const WEBPUBSUB_SCOPE = "https://webpubsub.azure.com/.default";

// The service principals registered at the provider. Role values are Azure's built-in data-plane
// roles as the Azure SDKs name them (Azure.Provisioning.WebPubSub's WebPubSubBuiltInRole):
// "Web PubSub Service Owner" has Microsoft.SignalRService/WebPubSub/*, "Web PubSub Service Reader"
// Microsoft.SignalRService/WebPubSub/*/read.
const CLIENTS = [
  { id: "owner", secret: "owner-secret", roles: ["WebPubSubServiceOwner"] },
  { id: "reader", secret: "reader-secret", roles: ["WebPubSubServiceReader"] },
  { id: "no-role", secret: "no-role-secret", roles: ["Contributor"] },
  { id: "expired", secret: "expired-secret", roles: ["WebPubSubServiceOwner"], tokenTTL: "-1m" },
  // Another tenant of the same provider: signed with the same keys, only iss differs (Entra ID
  // signs every tenant's tokens with one set of keys).
  { id: "other-tenant", secret: "other-secret", roles: ["WebPubSubServiceOwner"], issuer: "https://login.example/other-tenant/v2.0" },
];

let tmp, provider, huddle, front, ca;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "huddle-identity-"));
  const cert = await makeCertificate(tmp);
  ca = cert.cert;
  provider = await startProvider(tmp, CLIENTS);
  huddle = await startHuddle({ webpubsub: { identity: { issuer: provider.issuer } } });
  front = await startTLSFront(huddle.port, cert);
});
after(async () => {
  front?.close();
  provider?.stop();
  await huddle?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/**
 * A TokenCredential as @azure/core-auth defines it: getToken(scopes) gets a token from the
 * provider's token endpoint with the client's credentials, as a service principal's
 * ClientSecretCredential does. scope maps the scopes the SDK asks for to those requested.
 */
function credential(id, { scope = (scopes) => scopes, token } = {}) {
  const { secret } = CLIENTS.find((c) => c.id === id);
  const requested = [];
  return {
    requested,
    async getToken(scopes) {
      const list = Array.isArray(scopes) ? scopes : [scopes];
      requested.push(...list);
      if (token) return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
      const res = await fetch(`${provider.issuer}/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret, scope: scope(list).join(" ") }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(`token endpoint answered ${res.status} ${body.error}: ${body.error_description}`);
      // An expired token is still handed over, as by a credential whose clock is off.
      return { token: body.access_token, expiresOnTimestamp: Date.now() + body.expires_in * 1000 };
    },
  };
}

/** A service client for a fresh hub that authenticates with cred, through the TLS front. */
function identityClient(cred, hub = uniq("id")) {
  return new WebPubSubServiceClient(front.url, cred, hub, { tlsOptions: { ca } });
}

/** Connects an official client to huddle with a token the service client got for it. */
function connect(svc, opts) {
  const ws = huddle.url.replace(/^http/, "ws");
  return huddle.connect(svc, { ...opts, url: (t) => `${ws}/client/hubs/${svc.hubName}?access_token=${t.token}` });
}

/** Runs op and returns the RestError it must throw. */
async function refusal(op) {
  try {
    await op();
  } catch (err) {
    assert.equal(err.name, "RestError", `${err}`);
    return err;
  }
  assert.fail("the call was not refused");
}

describe("an app server with an Entra ID style identity", () => {
  test("the SDK asks its credential for https://webpubsub.azure.com/.default", async () => {
    const cred = credential("owner");
    await identityClient(cred).sendToAll("hi");
    assert.deepEqual([...new Set(cred.requested)], [WEBPUBSUB_SCOPE]);
  });

  test("an owner sends, manages groups, checks existence and closes connections", async () => {
    const svc = identityClient(credential("owner"));
    // ada does not reconnect, so that her close is final.
    const ada = await connect(svc, { userId: "ada", autoReconnect: false });
    const bob = await connect(svc, { userId: "bob" });

    await svc.sendToAll({ to: "all" });
    await svc.sendToUser("bob", "to bob", { contentType: "text/plain" });
    await svc.group("g").addConnection(ada.connectionId);
    await svc.group("g").sendToAll("to g", { contentType: "text/plain" });
    await svc.group("g").removeConnection(ada.connectionId);
    await svc.group("g").sendToAll("to g again", { contentType: "text/plain" });
    await svc.sendToAll({ marker: "end" });
    await ada.inbox.waitForMarker({ marker: "end" });
    await bob.inbox.waitForMarker({ marker: "end" });
    assert.deepEqual(ada.inbox.data, [{ to: "all" }, "to g", { marker: "end" }]);
    assert.deepEqual(bob.inbox.data, [{ to: "all" }, "to bob", { marker: "end" }]);

    assert.equal(await svc.connectionExists(ada.connectionId), true);
    assert.equal(await svc.userExists("bob"), true);
    assert.equal(await svc.userExists("nobody"), false);
    await svc.group("g2").addUser("bob");
    assert.equal(await svc.groupExists("g2"), true);

    const closed = nextEvent(ada.client, "stopped");
    await svc.closeConnection(ada.connectionId, { reason: "bye" });
    await closed;
    assert.equal(await svc.connectionExists(ada.connectionId), false);
    assert.equal(await svc.connectionExists(bob.connectionId), true);
  });

  test("getClientAccessToken asks huddle's :generateToken, and its token connects", async () => {
    const svc = identityClient(credential("owner"));
    // With a TokenCredential the SDK has no key to sign with: it calls POST /api/hubs/{hub}/:generateToken
    // (@azure/web-pubsub dist/esm/hubClient.js, getClientAccessToken, isTokenCredential branch).
    const t = await svc.getClientAccessToken({ userId: "carol", roles: ["webpubsub.joinLeaveGroup"], groups: ["lobby"] });
    const claims = jwtPayload(t.token);
    assert.equal(claims.sub, "carol");
    assert.deepEqual(claims.role, ["webpubsub.joinLeaveGroup"]);
    assert.deepEqual(claims["webpubsub.group"], ["lobby"]);
    assert.match(t.url, new RegExp(`^wss://127\\.0\\.0\\.1:${front.port}/client/hubs/${svc.hubName}\\?access_token=`));

    const carol = await connect(svc, { userId: "carol", groups: ["lobby"] });
    assert.equal(carol.userId, "carol");
    await svc.group("lobby").sendToAll("welcome", { contentType: "text/plain" });
    await carol.inbox.waitFor((m) => m.data === "welcome");
  });

  test("a reader may check existence but not send nor mint client tokens (403)", async () => {
    const svc = identityClient(credential("reader"));
    assert.equal(await svc.userExists("nobody"), false);
    assert.equal(await svc.groupExists("nothing"), false);
    for (const op of [() => svc.sendToAll("hi"), () => svc.getClientAccessToken({ userId: "x" })]) {
      const err = await refusal(op);
      assert.equal(err.statusCode, 403);
      assert.equal(err.code, "Forbidden");
    }
  });

  test("a token without a Web PubSub role is refused with 403", async () => {
    const svc = identityClient(credential("no-role"));
    assert.equal((await refusal(() => svc.groupExists("g"))).statusCode, 403);
    const err = await refusal(() => svc.sendToAll("hi"));
    assert.equal(err.statusCode, 403);
    assert.match(err.message, /WebPubSubServiceOwner/);
  });
});

describe("identity tokens huddle refuses with 401", () => {
  const cases = [
    ["another audience", () => credential("owner", { scope: () => ["https://management.azure.com/.default"] }), /\(aud\)/],
    ["another issuer (tenant)", () => credential("other-tenant"), /\(iss\)/],
    ["expired", () => credential("expired"), /expired/],
    ["SQL-ish garbage", () => credential("owner", { token: "' OR 1=1; DROP TABLE users; --" }), /malformed/],
  ];
  for (const [name, cred, message] of cases) {
    test(name, async () => {
      const err = await refusal(() => identityClient(cred()).sendToAll("hi"));
      assert.equal(err.statusCode, 401);
      assert.equal(err.code, "Unauthorized");
      assert.match(err.message, message);
    });
  }

  test("access keys keep working beside identities", async () => {
    const svc = huddle.service(uniq("key"));
    const c = await huddle.connect(svc, { userId: "dan" });
    await svc.sendToAll("by key", { contentType: "text/plain" });
    await c.inbox.waitFor((m) => m.data === "by key");
  });
});

/** Makes a self-signed certificate for 127.0.0.1 with openssl; returns its PEM key and certificate. */
async function makeCertificate(dir) {
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  try {
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]);
  } catch (err) {
    throw new Error(`openssl is needed to make the TLS proxy's certificate: ${err.message}`);
  }
  return { key: await readFile(key, "utf8"), cert: await readFile(cert, "utf8") };
}

/** Builds and starts the oidctest provider (a development command of this repository) with clients. */
async function startProvider(dir, clients) {
  const bin = path.join(dir, "oidcprovider");
  await run("go", ["build", "-o", bin, "./internal/auth/oidc/oidctest/oidcprovider"], { cwd: repo, timeout: 180_000 });
  const proc = spawn(bin, ["-clients", JSON.stringify(clients)], { stdio: ["ignore", "pipe", "inherit"] });
  proc.stdout.setEncoding("utf8");
  let out = "";
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the provider did not start: ${out}`)), 30_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /^issuer: (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the provider exited with ${code}: ${out}`));
    });
  });
  process.on("exit", () => proc.kill());
  return { issuer, stop: () => proc.kill("SIGTERM") };
}

/** A TLS-terminating proxy on a free loopback port in front of huddle's plain HTTP port. */
async function startTLSFront(targetPort, { key, cert }) {
  const server = tls.createServer({ key, cert }, (client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return { url: `https://127.0.0.1:${port}`, port, close: () => server.close() };
}
