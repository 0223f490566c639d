// Fan-out: many official clients, every message exactly once and in order.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { fence, startHuddle, uniq } from "./harness.js";

const CLIENTS = 50;
const MESSAGES = 100;

let huddle;
before(async () => {
  huddle = await startHuddle();
});
after(async () => {
  await huddle?.stop();
});

test(`${CLIENTS} clients each receive every broadcast exactly once, in order`, { timeout: 60_000 }, async () => {
  const hub = uniq("fan");
  const g = uniq("all");
  const svc = huddle.service(hub);
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => huddle.connect(svc, { userId: `user${i}`, groups: [g] })),
  );
  const publisher = await huddle.connect(svc, { userId: "publisher", roles: [`webpubsub.sendToGroup.${g}`] });

  // Server broadcasts over REST, one after the other so that their order is defined.
  for (let i = 0; i < MESSAGES; i++) {
    if (i % 3 === 2) await svc.sendToAll(`text ${i}`, { contentType: "text/plain" });
    else await svc.sendToAll({ i });
  }
  // Then a client publishes to the group everyone is in; acks come back in order too.
  for (let i = 0; i < MESSAGES; i++) {
    await publisher.client.sendToGroup(g, { p: i }, "json");
  }

  const expectedServer = Array.from({ length: MESSAGES }, (_, i) => (i % 3 === 2 ? `text ${i}` : { i }));
  const expectedGroup = Array.from({ length: MESSAGES }, (_, i) => ({ p: i }));
  await Promise.all(clients.map((c) => c.inbox.waitFor(() => true, { n: 2 * MESSAGES, timeout: 30_000 })));
  for (const [n, c] of clients.entries()) {
    const msgs = c.inbox.messages;
    assert.equal(msgs.length, 2 * MESSAGES, `client ${n} message count`);
    assert.deepEqual(
      msgs.slice(0, MESSAGES).map((m) => m.data),
      expectedServer,
      `client ${n} server messages`,
    );
    assert.deepEqual(
      msgs.slice(MESSAGES).map((m) => [m.from, m.group, m.fromUserId]),
      Array.from({ length: MESSAGES }, () => ["group", g, "publisher"]),
    );
    assert.deepEqual(
      msgs.slice(MESSAGES).map((m) => m.data),
      expectedGroup,
      `client ${n} group messages`,
    );
    assert.deepEqual(
      msgs.map((m) => m.sequenceId),
      Array.from({ length: 2 * MESSAGES }, (_, i) => i + 1),
      `client ${n} sequence ids`,
    );
  }
  // The publisher was not in the group, and nothing else arrived anywhere: a last fence message
  // is the next (and only extra) message of every client.
  await fence(svc, publisher, ...clients);
  for (const c of clients) assert.equal(c.inbox.messages.length, 2 * MESSAGES + 1);
  assert.equal(publisher.inbox.messages.length, MESSAGES + 1);
});
