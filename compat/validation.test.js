// Abuse protection of an event handler that is down when huddle starts: huddle validates it from
// the start and keeps trying in the background, so that once it is up it is validated with no
// client asking, and the first client to connect is accepted rather than refused while a
// validation it started runs.

import assert from "node:assert/strict";
import { test } from "node:test";

import { startEventHandler, startHuddle, waitFor } from "./harness.js";

const HUB = "late";

test("a handler down at start is validated once it is up, before a client needs it", async (t) => {
  const connects = [];
  const handler = await startEventHandler(HUB, {
    handleConnect(req, res) {
      connects.push(req.context.userId);
      res.success();
    },
  });
  await handler.close();
  const huddle = await startHuddle({
    hubs: { [HUB]: { eventHandlers: [{ urlTemplate: handler.urlTemplate, systemEvents: ["connect"] }] } },
  });
  t.after(async () => {
    await huddle.stop();
    await handler.close();
  });
  const svc = huddle.service(HUB);

  await waitFor(() => huddle.logs().includes("event handler failed validation"), {
    what: "the validation at start to find the handler down",
  });
  await handler.listen();
  await waitFor(() => huddle.logs().includes("event handler validated"), {
    what: "huddle to validate the handler, with no client asking",
  });
  const first = await huddle.connect(svc, { userId: "first" });
  assert.equal(first.userId, "first");
  assert.deepEqual(connects, ["first"], "the first connect after the handler came up reached it");
});
