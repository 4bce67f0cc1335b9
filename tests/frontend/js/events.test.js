// The event-stream reducer: order, duplicates, gaps, tool cards, the end of a run.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyEvent,
  createRun,
  decide,
  isFinished,
  textOf,
} from "../../../frontend/static/js/events.js";

const delta = (id, text) => ({ id, event: "message.delta", data: { text } });

test("deltas in order make the answer's text", () => {
  const run = createRun("r");
  applyEvent(run, { id: 1, event: "run.started", data: { model: "gpt-5" } });
  applyEvent(run, delta(2, "Hel"));
  applyEvent(run, delta(3, "lo"));
  assert.equal(textOf(run), "Hello");
  assert.equal(run.model, "gpt-5");
  assert.equal(run.lastId, 3);
});

test("an event seen twice is applied once", () => {
  const run = createRun("r");
  for (const event of [delta(1, "a"), delta(2, "b"), delta(1, "a"), delta(2, "b"), delta(3, "c")]) {
    applyEvent(run, event);
  }
  assert.equal(textOf(run), "abc");
});

test("an event ahead of a gap waits until the gap fills", () => {
  const run = createRun("r");
  assert.equal(applyEvent(run, delta(2, "b")), false);
  assert.equal(textOf(run), "");
  assert.equal(applyEvent(run, delta(3, "c")), false);
  assert.equal(applyEvent(run, delta(1, "a")), true);
  assert.equal(textOf(run), "abc");
  assert.equal(run.pending.size, 0);
});

test("a resumed run starts after the last event it rendered", () => {
  const run = createRun("r", 2);
  applyEvent(run, delta(1, "old"));
  applyEvent(run, delta(2, "old"));
  applyEvent(run, delta(3, "new"));
  assert.equal(textOf(run), "new");
});

test("the live feed and a replay interleaved give the text once, in order", () => {
  const events = Array.from({ length: 50 }, (_, i) => delta(i + 1, `${i} `));
  const run = createRun("r");
  const live = events.slice(20);
  const replay = events.slice(0, 30);
  while (live.length || replay.length) {
    if (live.length) applyEvent(run, live.shift());
    if (replay.length) applyEvent(run, replay.shift());
  }
  assert.equal(textOf(run), events.map((e) => e.data.text).join(""));
});

test("a tool call that asks for approval waits, then shows its result", () => {
  const run = createRun("r");
  const call = { id: "c1", server: "files", tool: "delete", arguments: { x: "a" } };
  applyEvent(run, { id: 1, event: "tool.call", data: call });
  applyEvent(run, { id: 2, event: "tool.approval_required", data: call });
  assert.equal(run.status, "waiting");
  const [card] = run.blocks;
  assert.equal(card.state, "approval");
  decide(run, "c1", true);
  assert.equal(card.approval, "approved");
  assert.equal(run.status, "running");
  applyEvent(run, {
    id: 3,
    event: "tool.result",
    data: { id: "c1", content: [{ type: "text", text: "deleted a" }], is_error: false },
  });
  assert.equal(card.state, "done");
  assert.equal(card.result[0].text, "deleted a");
  assert.equal(run.blocks.length, 1);
});

test("text after a tool call is a new block after its card", () => {
  const run = createRun("r");
  applyEvent(run, delta(1, "Let me look. "));
  applyEvent(run, { id: 2, event: "tool.call", data: { id: "c", server: "s", tool: "t" } });
  applyEvent(run, delta(3, "Found it."));
  assert.deepEqual(
    run.blocks.map((b) => b.type),
    ["text", "tool", "text"],
  );
});

test("usage adds up over the run's model calls", () => {
  const run = createRun("r");
  const usage = { input_tokens: 10, output_tokens: 5 };
  applyEvent(run, { id: 1, event: "message.completed", data: { message_id: "m1", usage } });
  applyEvent(run, { id: 2, event: "message.completed", data: { message_id: "m2", usage } });
  assert.deepEqual(run.usage, { input_tokens: 20, output_tokens: 10 });
});

test("the run ends with run.completed or error, and nothing applies after", () => {
  const stopped = createRun("r");
  applyEvent(stopped, delta(1, "partial"));
  applyEvent(stopped, { id: 2, event: "run.completed", data: { status: "cancelled" } });
  applyEvent(stopped, delta(3, " more"));
  assert.equal(stopped.status, "cancelled");
  assert.equal(textOf(stopped), "partial");
  assert.ok(isFinished(stopped));

  const failed = createRun("r");
  applyEvent(failed, { id: 1, event: "error", data: { type: "model", message: "It broke." } });
  assert.equal(failed.status, "failed");
  assert.equal(failed.error.message, "It broke.");
});
