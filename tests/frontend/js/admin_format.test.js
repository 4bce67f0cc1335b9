// The settings and admin screens' pure helpers.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  auditDetail,
  auditOutcome,
  auditQuery,
  breakerText,
  formatCount,
  formatWhen,
  parseArgs,
  parseEnv,
  serverStatus,
  usageTotals,
} from "../../../frontend/static/js/admin_format.js";

test("times read as a person says them", () => {
  const now = new Date("2026-12-07T12:00:00Z");
  assert.equal(formatWhen(null, now), "Never");
  assert.equal(formatWhen("2026-12-07T11:59:30Z", now), "Just now");
  assert.equal(formatWhen("2026-12-07T11:15:00Z", now), "45 min ago");
  assert.equal(formatWhen("2026-12-07T09:00:00Z", now), "3 h ago");
  assert.match(formatWhen("2026-11-01T09:00:00Z", now), /2026/);
  assert.equal(formatWhen("not a date", now), "—");
});

test("counts get separators", () => {
  assert.equal(formatCount(1234567), "1,234,567");
  assert.equal(formatCount(undefined), "0");
});

test("arguments are one per line and keep their inner spaces", () => {
  assert.deepEqual(parseArgs("-y\n\n  @scope/server  \r\n--root /a dir\n"), [
    "-y",
    "@scope/server",
    "--root /a dir",
  ]);
});

test("the environment is NAME=value lines; a value may hold '='", () => {
  assert.deepEqual(parseEnv("A=1\n# a comment\n\nTOKEN=x=y\n"), { A: "1", TOKEN: "x=y" });
  assert.throws(() => parseEnv("A=1\nnot a pair"), /Line 2/);
  assert.throws(() => parseEnv("=value"), /Line 1/);
});

test("a server's state becomes a label and a tone", () => {
  assert.deepEqual(serverStatus({ state: "ready" }), { label: "Connected", tone: "ok" });
  assert.deepEqual(serverStatus({ state: "circuit_open" }), {
    label: "Circuit open",
    tone: "danger",
  });
  assert.equal(serverStatus({ state: "something_new" }).label, "something_new");
  assert.equal(serverStatus(undefined).label, "Unknown");
});

test("the breaker says whether it is open, with failures and the retry", () => {
  assert.equal(breakerText({ circuit_open: false, consecutive_failures: 0 }), "Closed");
  assert.equal(
    breakerText({ circuit_open: false, consecutive_failures: 2 }),
    "Closed (2 failures)",
  );
  assert.equal(
    breakerText({ circuit_open: true, consecutive_failures: 5, next_attempt_in: 12.5 }),
    "Open (5 failures, retry in 12.5s)",
  );
});

test("usage totals add up requests and tokens and count users once", () => {
  const rows = [
    { user_id: "a", runs: 2, input_tokens: 100, output_tokens: 10 },
    { user_id: "a", runs: 1, input_tokens: 50, output_tokens: 5 },
    { user_id: "b", runs: 4, input_tokens: 1, output_tokens: 1 },
  ];
  assert.deepEqual(usageTotals(rows), { requests: 7, input: 151, output: 16, users: 2 });
  assert.deepEqual(usageTotals([]), { requests: 0, input: 0, output: 0, users: 0 });
});

test("the audit query leaves blanks out and sends local times in UTC", () => {
  const query = new URLSearchParams(
    auditQuery(
      { user: " a@b.example ", action: "", since: "2026-12-07T10:30", until: "" },
      { limit: 50, cursor: null },
    ),
  );
  assert.equal(query.get("user"), "a@b.example");
  assert.equal(query.has("action"), false);
  assert.equal(query.has("until"), false);
  assert.equal(query.has("cursor"), false);
  assert.equal(query.get("limit"), "50");
  assert.equal(query.get("since"), new Date("2026-12-07T10:30").toISOString());
  assert.equal(auditQuery({ since: "not a time" }), "");
});

test("an audit record's details read as one line and outcomes get a colour", () => {
  assert.equal(
    auditDetail({ tool: "write", run_id: "r1", args: { a: 1 }, decision: "auto", none: null }),
    'decision: auto · tool: write · args: {"a":1}',
  );
  assert.equal(
    auditDetail({ arguments_digest: "0123456789abcdef0123456789" }),
    "arguments_digest: 0123456789abcdef01…",
  );
  assert.equal(auditDetail(null), "");
  assert.deepEqual(auditOutcome("ok"), { text: "ok", tone: "ok" });
  assert.deepEqual(auditOutcome("failure"), { text: "failure", tone: "danger" });
  assert.deepEqual(auditOutcome("refused"), { text: "refused", tone: "warn" });
});
