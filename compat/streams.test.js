// Group streams with the official client: openGroupStream on the publishing side, onGroupStream
// and group-message events on the receiving side, over the reliable and the plain JSON protocol.
//
// What the service must do is Azure/azure-webpubsub protocols/client/client-spec.md §3.6: the
// stream start is acknowledged by streamAck with expectedSequenceId 1 (§3.6.1 item 6; the SDK's
// openGroupStream waits for it, OutboundStreamSession.ack in @azure/web-pubsub-client 1.1.0
// dist/esm/outboundStreamSession.js), fragments reach receivers as group messages with
// stream.streamSequenceId, and the end is a group message with stream.endOfStream, numbered one
// past the last fragment (§3.6.3 item 3), carrying UserError for a publisher's error (§3.6.5
// item 4). The SDK's receiver (dist/esm/inboundStreamDispatcher.js) hands fragments out in order
// and ends its iterator at endOfStream, throwing stream.error if there is one.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { WebPubSubJsonProtocol } from "@azure/web-pubsub-client";

import { startHuddle, startProxy, uniq, waitFor } from "./harness.js";

let huddle;
before(async () => {
  huddle = await startHuddle({ limits: { maxStreamsPerConnection: 2 } });
});
after(async () => {
  await huddle?.stop();
});

/** Every inbound stream a client sees through onGroupStream, by stream id, as it goes. */
function receiveStreams(client) {
  const streams = new Map();
  client.onGroupStream(async (stream) => {
    const s = { group: stream.groupName, fragments: [], done: false, error: undefined };
    streams.set(stream.streamId, s);
    try {
      for await (const m of stream) s.fragments.push(m);
      s.done = true;
    } catch (err) {
      s.error = err;
    }
  });
  return {
    streams,
    /** Waits until the stream has ended, normally or with an error, and returns it. */
    ended: (id) =>
      waitFor(() => {
        const s = streams.get(id);
        return s && (s.done || s.error) ? s : null;
      }, { what: `the end of stream ${id}` }),
  };
}

const sender = (g, userId = "sender") => ({ userId, roles: [`webpubsub.sendToGroup.${g}`] });

test("a stream reaches reliable and plain JSON receivers in order, then ends", async () => {
  const hub = uniq("streams");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const reliable = await huddle.connect(svc, { userId: "r1", groups: [g] });
  const plain = await huddle.connect(svc, { userId: "r2", groups: [g], protocol: WebPubSubJsonProtocol() });
  const rs = [reliable, plain].map((r) => receiveStreams(r.client));
  const pub = await huddle.connect(svc, sender(g));

  const writer = await pub.client.openGroupStream(g, { noEcho: true });
  await writer.write("hello ", "text");
  await writer.write({ n: 2 }, "json");
  const bytes = new Uint8Array([9, 8, 7]);
  await writer.write(bytes.buffer, "binary");
  await writer.end();

  for (const [i, r] of rs.entries()) {
    const s = await r.ended(writer.streamId);
    assert.equal(s.done, true, `receiver ${i} ended normally`);
    assert.equal(s.group, g);
    assert.deepEqual(
      s.fragments.map((m) => [m.stream.streamSequenceId, m.dataType, m.fromUserId]),
      [
        [1, "text", "sender"],
        [2, "json", "sender"],
        [3, "binary", "sender"],
      ],
    );
    assert.equal(s.fragments[0].data, "hello ");
    assert.deepEqual(s.fragments[1].data, { n: 2 });
    assert.deepEqual(new Uint8Array(s.fragments[2].data), bytes);
  }
  // The ordinary group-message event carries the stream object too (client-spec §3.6.5 item 6),
  // ending with the terminal message; only the reliable protocol numbers messages.
  for (const r of [reliable, plain]) {
    const msgs = await r.inbox.waitFor((m) => m.stream?.endOfStream, { what: "the terminal message" });
    const all = r.inbox.messages.filter((m) => m.stream);
    assert.deepEqual(
      all.map((m) => [m.stream.streamId, m.stream.streamSequenceId, m.stream.endOfStream]),
      [
        [writer.streamId, 1, false],
        [writer.streamId, 2, false],
        [writer.streamId, 3, false],
        [writer.streamId, 4, true],
      ],
    );
    assert.equal(msgs[0].stream.error, undefined);
    assert.equal(all.every((m) => m.sequenceId != null), r === reliable);
  }
  // noEcho: the publisher, not a member but allowed to send, got nothing back.
  assert.deepEqual(pub.inbox.messages, []);
});

test("a publisher's abort reaches receivers as a UserError", async () => {
  const hub = uniq("streams");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const r = await huddle.connect(svc, { userId: "r", groups: [g] });
  const rs = receiveStreams(r.client);
  const pub = await huddle.connect(svc, sender(g));

  const writer = await pub.client.openGroupStream(g);
  await writer.write("partial", "text");
  await writer.abort({ message: "model failed", userErrorCode: "E42" });

  const s = await rs.ended(writer.streamId);
  assert.deepEqual(s.fragments.map((m) => m.data), ["partial"]);
  assert.deepEqual(s.error, { name: "UserError", message: "model failed", userErrorCode: "E42" });
});

test("an idle stream is closed: IdleTimeout to the publisher and to receivers", async () => {
  const hub = uniq("streams");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const r = await huddle.connect(svc, { userId: "r", groups: [g] });
  const rs = receiveStreams(r.client);
  const pub = await huddle.connect(svc, sender(g));

  const writer = await pub.client.openGroupStream(g, { idleTimeoutInMs: 200 });
  const closed = new Promise((resolve) => writer.onError(resolve));
  await writer.write("one", "text");

  const err = await Promise.race([
    closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error("no streamClosed within 10 s")), 10_000)),
  ]);
  assert.equal(err.name, "IdleTimeout");
  await assert.rejects(writer.write("late", "text"), /is completed/);
  const s = await rs.ended(writer.streamId);
  assert.deepEqual(s.fragments.map((m) => m.data), ["one"]);
  assert.equal(s.error.name, "IdleTimeout");
});

test("a publisher that goes away cancels its streams", async () => {
  const hub = uniq("streams");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const r = await huddle.connect(svc, { userId: "r", groups: [g] });
  const rs = receiveStreams(r.client);
  const pub = await huddle.connect(svc, sender(g));

  const writer = await pub.client.openGroupStream(g);
  await writer.write("before", "text");
  pub.client.stop();

  const s = await rs.ended(writer.streamId);
  assert.deepEqual(s.fragments.map((m) => m.data), ["before"]);
  assert.equal(s.error.name, "Cancelled");
});

test("refused starts: no permission, and past the connection's open streams", async () => {
  const hub = uniq("streams");
  const g = uniq("g");
  const svc = huddle.service(hub);
  const nobody = await huddle.connect(svc, { userId: "nobody" });
  await assert.rejects(nobody.client.openGroupStream(g), (err) => {
    assert.equal(err.name, "Forbidden");
    return true;
  });

  // maxStreamsPerConnection is 2 in this server's configuration.
  const pub = await huddle.connect(svc, sender(g));
  const a = await pub.client.openGroupStream(g);
  await pub.client.openGroupStream(g);
  await assert.rejects(pub.client.openGroupStream(g), (err) => {
    assert.equal(err.name, "BadRequest");
    assert.match(err.message, /at most 2 open streams/);
    return true;
  });
  // An ended stream frees its slot.
  await a.end();
  const c = await pub.client.openGroupStream(g);
  await c.write("fits", "text");
});

// Writes wait while the connection recovers; a recovery the SDK cannot finish would leave them
// waiting, hence the test's own timeout.
test("a reliable publisher's stream survives a dropped socket: every fragment once, in order", { timeout: 60_000 }, async (t) => {
  const hub = uniq("streams");
  const g = uniq("g");
  const proxy = await startProxy(huddle.port);
  t.after(() => proxy.close());
  const svc = huddle.service(hub);
  const tokens = huddle.service(hub, { endpoint: `http://127.0.0.1:${proxy.port}` });
  const r = await huddle.connect(svc, { userId: "r", groups: [g] });
  const rs = receiveStreams(r.client);
  const pub = await huddle.connect(tokens, sender(g));

  const writer = await pub.client.openGroupStream(g);
  const N = 60;
  for (let i = 1; i <= N; i++) {
    // The SDK pauses the stream until it has recovered, then replays what was not acked.
    if (i === 20 || i === 41) proxy.cut();
    await writer.write({ i }, "json");
  }
  await writer.end();

  const s = await rs.ended(writer.streamId);
  assert.equal(s.done, true);
  assert.deepEqual(
    s.fragments.map((m) => [m.stream.streamSequenceId, m.data.i]),
    Array.from({ length: N }, (_, k) => [k + 1, k + 1]),
  );
});
