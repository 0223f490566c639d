import { describe, expect, it } from "vitest";
import { fromForm, incidentMatchers, moveRoute, parseDuration, secret, splitMatchers, toForm } from "./notify";

describe("splitMatchers", () => {
  it.each([
    ["", []],
    ['severity=~"0|1"', ['severity=~"0|1"']],
    ['severity=~"0|1", team="db"', ['severity=~"0|1"', 'team="db"']],
    ['{alertname="A",instance!="b"}', ['alertname="A"', 'instance!="b"']],
    ['a="x, y"\nb=~".*"', ['a="x, y"', 'b=~".*"']],
    ['a="say \\"hi, there\\""', ['a="say \\"hi, there\\""']],
    ["a=b ,  , c!=d", ["a=b", "c!=d"]],
  ])("reads %j", (text, want) => {
    expect(splitMatchers(text)).toEqual(want);
  });
});

describe("incidentMatchers", () => {
  it("silences by alertname and instance", () => {
    expect(incidentMatchers({ alertname: "DiskFull", instance: "db-1:9100", severity: "error" })).toEqual(['alertname="DiskFull"', 'instance="db-1:9100"']);
  });
  // Alertmanager unquotes a matcher's value taking \" and \\ as escapes (prometheus/alertmanager,
  // pkg/labels/parse.go, ParseMatcher), which JSON.stringify writes for these characters.
  it("quotes values as Alertmanager reads them", () => {
    expect(incidentMatchers({ alertname: 'Say "hi"', instance: "a\\b" })).toEqual(['alertname="Say \\"hi\\""', 'instance="a\\\\b"']);
  });
  it("takes every label when there is no instance", () => {
    expect(incidentMatchers({ job: "api", alertname: "Down" })).toEqual(['alertname="Down"', 'job="api"']);
  });
});

describe("parseDuration", () => {
  it.each([
    ["2h", 7_200_000],
    ["1h30m", 5_400_000],
    ["1d", 86_400_000],
    ["90s", 90_000],
    [" 15m ", 900_000],
    ["0s", null],
    ["2 h", null],
    ["h", null],
    ["1.5h", null],
  ])("reads %j", (text, want) => {
    expect(parseDuration(text)).toBe(want);
  });
});

describe("moveRoute", () => {
  const r = ["a", "b", "c"];
  it("moves up and down", () => {
    expect(moveRoute(r, 1, -1)).toEqual(["b", "a", "c"]);
    expect(moveRoute(r, 1, 1)).toEqual(["a", "c", "b"]);
  });
  it("stays within the list", () => {
    expect(moveRoute(r, 0, -1)).toBe(r);
    expect(moveRoute(r, 2, 1)).toBe(r);
  });
});

describe("contact point forms", () => {
  it("round-trips a webhook with its kept secrets", () => {
    const s = { url: "https://ops.example.com/hook", secret, headers: { "X-Team": secret, "X-Env": "prod" } };
    const form = toForm("webhook", s);
    expect(form).toEqual({ url: s.url, secret, headers: `X-Team: ${secret}\nX-Env: prod` });
    expect(fromForm("webhook", form)).toEqual(s);
  });
  it("reads lists a line each and numbers as numbers, leaving out empty fields", () => {
    const form = { host: "smtp.example.com", port: "465", tls: "tls", from: "huddle@example.com", to: "a@example.com\n\n b@example.com ", username: "", password: "" };
    expect(fromForm("email", form)).toEqual({ host: "smtp.example.com", port: 465, tls: "tls", from: "huddle@example.com", to: ["a@example.com", "b@example.com"] });
  });
  it("refuses a header without a name", () => {
    expect(() => fromForm("webhook", { url: "http://x", headers: "no colon here" })).toThrow(/Headers/);
  });
  it("refuses a port that is not a whole number", () => {
    expect(() => fromForm("email", { port: "58.7" })).toThrow(/Port/);
  });
});
