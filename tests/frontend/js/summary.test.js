// Where the divider of a compacted conversation goes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { placeSummary } from "../../../frontend/static/js/summary.js";

const messages = ["u1", "a1", "u2", "a2", "u3", "a3", "u4"].map((id) => ({ id }));

test("no summaries, no divider", () => {
  assert.equal(placeSummary(messages, []), null);
  assert.equal(placeSummary(messages, undefined), null);
});

test("the divider goes after the last message the newest summary covers", () => {
  const first = { id: "s1", last_message_id: "a1" };
  const second = { id: "s2", last_message_id: "a2" };
  const placed = placeSummary(messages, [first, second]);
  assert.equal(placed.summary.id, "s2");
  assert.equal(placed.before, "u3");
});

test("a summary of messages not on this branch is left out", () => {
  assert.equal(placeSummary(messages, [{ id: "s", last_message_id: "elsewhere" }]), null);
});
