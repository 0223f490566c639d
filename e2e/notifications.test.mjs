// ada (editor) sets up notifications in the web UI as a person would: a webhook contact point
// that points at a receiver this file starts, a test sent from its row, and the default policy
// sending to it. A rule made over the API fires; the receiver gets the alert, signed with the
// contact point's secret, and the incident's page lists the delivery. From there ada silences the
// alert and finds the silence listed. bob (viewer) sees the same pages without a way to change
// them. The server's side is internal/alerts/notify: its webhook body (Message) and signature
// (WebhookSettings) and its HTTP API (http.go).

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { collectErrors, people, setup, signIn, skipReason, snap, waitFor } from "./harness.mjs";

const skip = skipReason() || false;

const rule = "E2ENotified";
const group = {
  name: "e2e-notify",
  interval: "1s",
  rules: [{ alert: rule, expr: "vector(1) > 0.5", for: "0s", severity: 1, labels: { instance: "e2e-host" } }],
};
const hookName = "e2e-hook";
const hookSecret = "e2e-hmac-secret";

/** receiver is the webhook's other end: it keeps every request whose signature holds, and
 * answers 400 to any other. */
const receiver = { url: "", messages: [], forged: 0 };
let server;

let env;
let adaContext, bobContext;
let page; // ada's
let viewer; // bob's
let incidentId;

before(async () => {
  if (skip) return;
  server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const ts = req.headers["x-huddle-timestamp"];
      const want = "sha256=" + createHmac("sha256", hookSecret).update(`${ts}.${body}`).digest("hex");
      if (req.headers["x-huddle-signature"] !== want) {
        receiver.forged++;
        res.writeHead(400).end("bad signature");
        return;
      }
      receiver.messages.push(JSON.parse(body));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hook`;
  env = await setup("Notifications board");
  adaContext = await signIn(env.browser, env.huddle, people.ada);
  bobContext = await signIn(env.browser, env.huddle, people.bob);
  page = collectErrors(await adaContext.newPage());
  viewer = collectErrors(await bobContext.newPage());
});

after(async () => {
  if (skip) return;
  await new Promise((resolve) => server.close(resolve));
  assert.deepEqual([page, viewer].flatMap((p) => p.errors).map(String), []);
  assert.equal(receiver.forged, 0, "a request came without the contact point's signature");
});

const hookRow = (p) => p.locator(`table.contact-points tr[data-contact-point="${hookName}"]`);

test("ada creates a webhook contact point from the alerts header and a test reaches the receiver", { skip }, async () => {
  await page.goto("/alerts");
  await page.getByRole("navigation", { name: "Alerting" }).getByRole("link", { name: "Contact points" }).click();
  await page.waitForURL("**/alerts/contact-points");
  await page.getByText("No contact points yet").waitFor();
  await page.getByRole("button", { name: "New contact point" }).click();
  const form = page.getByRole("form", { name: "Contact point" });
  await form.getByLabel("Name").fill(hookName);
  assert.equal(await form.getByLabel("Kind").inputValue(), "webhook");
  await form.getByLabel("URL").fill(receiver.url);
  await form.getByLabel("HMAC secret").fill(hookSecret);
  await form.getByRole("button", { name: "Save" }).click();
  await hookRow(page).getByText(receiver.url).waitFor();

  await hookRow(page).getByRole("button", { name: "Send a test" }).click();
  await hookRow(page).locator(".test-result.ok").getByText("ok").waitFor();
  await hookRow(page).locator(".test-result").getByText("HTTP 200").waitFor();
  const test = await waitFor(() => receiver.messages.find((m) => m.test), { what: "the test notification" });
  assert.equal(test.receiver, hookName);
  await snap(page, "notify-1-contact-point-ada");
});

test("the secret reads as a placeholder, is kept on saving, and a wrong URL is the server's error", { skip }, async () => {
  await hookRow(page).getByRole("button", { name: "Edit" }).click();
  const form = page.getByRole("form", { name: "Contact point" });
  const secretInput = form.getByLabel("HMAC secret");
  assert.equal(await secretInput.inputValue(), "");
  assert.match(await secretInput.getAttribute("placeholder"), /<secret> kept unless replaced/);
  await snap(page, "notify-1-editor-ada");

  await form.getByLabel("URL").fill("ftp://example.com/");
  await form.getByRole("button", { name: "Save" }).click();
  await form.locator(".check.error").getByText(/url must be an absolute http/).waitFor();
  assert.equal(await form.getByLabel("URL").getAttribute("aria-invalid"), "true");

  await form.getByLabel("URL").fill(receiver.url);
  await form.getByLabel("Timeout").fill("5s");
  await form.getByRole("button", { name: "Save" }).click();
  await form.waitFor({ state: "detached" });
  // The test is signed with the secret that was kept: the receiver refuses any other.
  const before = receiver.messages.length;
  await hookRow(page).getByRole("button", { name: "Send a test" }).click();
  await waitFor(() => receiver.messages.length > before, { what: "a second test notification" });
  await hookRow(page).locator(".test-result.ok").waitFor();
});

test("ada orders routes, sees the server's error next to the form, and makes the webhook the default", { skip }, async () => {
  await page.getByRole("link", { name: "Policies" }).click();
  const form = page.getByRole("form", { name: "Notification policies" });
  await form.getByText("No routes").waitFor();
  for (const team of ["a", "b"]) {
    await form.getByRole("button", { name: "Add route" }).click();
    await form.locator(".route").last().getByLabel("Matchers").fill(`team="${team}"`);
  }
  await form.getByRole("button", { name: "Move route 2 up" }).click();
  assert.equal(await form.locator('.route[data-route="0"]').getByLabel("Matchers").inputValue(), 'team="b"');
  assert.equal(await form.locator('.route[data-route="1"]').getByLabel("Matchers").inputValue(), 'team="a"');

  await form.getByLabel("Contact point").first().selectOption({ label: hookName });
  await form.locator('.route[data-route="1"]').getByLabel("Matchers").fill('team=~"a');
  await form.getByRole("button", { name: "Save policies" }).click();
  await form.locator(".check.error").getByText(/matcher/).waitFor();
  assert.equal(await form.locator('.route[data-route="1"]').getAttribute("aria-invalid"), "true");
  await snap(page, "notify-2-policy-error-ada");

  for (let i = 0; i < 2; i++) await form.locator(".route").first().getByRole("button", { name: "Remove" }).click();
  // Told at once, and again every second while it fires, so that the incident's page is seen
  // to follow its deliveries.
  for (const timing of ["Group wait", "Group interval", "Repeat interval"]) {
    await form.locator(".default-policy").getByLabel(timing).fill("1s");
  }
  await form.getByRole("button", { name: "Save policies" }).click();
  await form.locator(".check.ok").getByText(/Saved/).waitFor();
  const policy = await env.admin("GET", "/api/alerting/policies");
  const [cp] = await env.admin("GET", "/api/alerting/contact-points");
  assert.equal(policy.contactPoint, cp.id);
  assert.deepEqual([policy.groupWait, policy.groupInterval, policy.repeatInterval], ["1s", "1s", "1s"]);
  assert.deepEqual(policy.routes, []);
});

test("a firing rule reaches the receiver, and the incident's page lists its deliveries as they come", { skip }, async () => {
  await env.admin("PUT", `/api/alerting/rules/${group.name}`, group);
  const message = await waitFor(
    () => receiver.messages.find((m) => !m.test && m.alerts.some((a) => a.labels.alertname === rule)),
    { what: "the rule's notification at the receiver" },
  );
  assert.equal(message.status, "firing");
  incidentId = message.alerts.find((a) => a.labels.alertname === rule).incidentId;
  assert.ok(incidentId, "the notification names its incident");

  await page.goto(`/alerts/${encodeURIComponent(incidentId)}`);
  await page.locator(`.incident-page[data-incident="${incidentId}"]`).waitFor();
  const rows = page.locator('table.deliveries tr[data-delivery="ok"]');
  await rows.first().getByText(hookName).waitFor();
  assert.equal(await rows.first().locator("td.num").textContent(), "1");
  await page.locator('.timeline li[data-kind="notified"]').first().waitFor();
  // The repeats come in while the page is open, without loading it again.
  const seen = await rows.count();
  await waitFor(async () => (await rows.count()) > seen, { what: "a repeated delivery on the open incident page" });
  await snap(page, "notify-3-deliveries-ada");
});

test("ada silences the alert from the incident's page; the silence is listed and the incident's log says so", { skip }, async () => {
  const watch = collectErrors(await adaContext.newPage());
  await watch.goto(`/alerts/${encodeURIComponent(incidentId)}`);
  await watch.locator("table.deliveries").waitFor();
  await page.getByRole("link", { name: "Silence", exact: true }).click();
  await page.waitForURL("**/alerts/silences?**");
  const form = page.getByRole("form", { name: "New silence" });
  assert.equal(await form.getByLabel("Matchers").inputValue(), `alertname="${rule}", instance="e2e-host"`);
  await form.getByLabel("Ends in").fill("1h");
  await form.getByRole("button", { name: "Create silence" }).click();
  await form.waitFor({ state: "detached" });
  const row = page.locator("table.silences tr").filter({ hasText: `alertname="${rule}"` });
  await row.locator(".silence-state.active").waitFor();
  await row.getByText('instance="e2e-host"').waitFor();
  await row.getByText(people.ada.login, { exact: true }).waitFor();
  await row.getByText(`Silenced from incident ${incidentId}`).waitFor();
  await snap(page, "notify-4-silence-ada");
  await watch.locator('table.deliveries tr[data-delivery="silenced"]').getByText(/silenced by/).waitFor();
  await snap(watch, "notify-5-silenced-log-ada");
  assert.deepEqual(watch.errors.map(String), []);
  await watch.close();
});

test("bob, a viewer, sees contact points, policies and silences but cannot change them", { skip }, async () => {
  await viewer.goto("/alerts/contact-points");
  await hookRow(viewer).waitFor();
  assert.equal(await viewer.getByRole("button", { name: "New contact point" }).count(), 0);
  assert.equal(await hookRow(viewer).getByRole("button", { name: "Send a test" }).count(), 0);
  await hookRow(viewer).getByRole("button", { name: "View" }).click();
  assert.ok(await viewer.getByRole("form", { name: "Contact point" }).getByLabel("URL").isDisabled());

  await viewer.getByRole("link", { name: "Policies" }).click();
  const form = viewer.getByRole("form", { name: "Notification policies" });
  assert.ok(await form.getByLabel("Contact point").first().isDisabled());
  assert.equal(await form.getByRole("button", { name: "Save policies" }).count(), 0);

  await viewer.getByRole("link", { name: "Silences" }).click();
  await viewer.locator("table.silences tr").filter({ hasText: `alertname="${rule}"` }).waitFor();
  assert.equal(await viewer.getByRole("button", { name: "Expire" }).count(), 0);
  assert.equal(await viewer.getByRole("button", { name: "New silence" }).count(), 0);
});

test("ada expires the silence; it moves to the expired ones", { skip }, async () => {
  const row = page.locator("table.silences tr").filter({ hasText: `alertname="${rule}"` });
  await row.getByRole("button", { name: "Expire" }).click();
  await row.locator(".silence-state.expired").waitFor();
  assert.equal(await row.getByRole("button", { name: "Expire" }).count(), 0);
});
