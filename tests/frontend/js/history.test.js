// Stored messages as questions and answers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { beforeRunningAnswer, turnsFromMessages } from "../../../frontend/static/js/history.js";

const text = (value) => [{ type: "text", text: value }];
const messages = [
  { id: "u1", role: "user", content: text("Delete a.txt"), status: "complete" },
  {
    id: "a1",
    role: "assistant",
    content: [],
    tool_calls: [{ id: "c1", name: "files__delete", arguments: '{"x":"a.txt"}' }],
    usage: { input_tokens: 10, output_tokens: 3 },
    status: "complete",
  },
  {
    id: "t1",
    role: "tool",
    tool_call_id: "c1",
    content: text("deleted a.txt"),
    status: "complete",
  },
  {
    id: "a2",
    role: "assistant",
    content: text("Done."),
    usage: { input_tokens: 20, output_tokens: 2 },
    model: "gpt-5",
    status: "complete",
  },
  { id: "u2", role: "user", content: text("Thanks"), status: "complete" },
];

test("an answer gathers its steps, tool results and usage", () => {
  const turns = turnsFromMessages(messages);
  assert.deepEqual(
    turns.map((t) => t.role),
    ["user", "assistant", "user"],
  );
  const answer = turns[1];
  assert.deepEqual(
    answer.blocks.map((b) => b.type),
    ["tool", "text"],
  );
  const [card, words] = answer.blocks;
  assert.equal(card.server, "files");
  assert.equal(card.tool, "delete");
  assert.equal(card.result[0].text, "deleted a.txt");
  assert.equal(words.text, "Done.");
  assert.deepEqual(answer.usage, { input_tokens: 30, output_tokens: 5 });
  assert.equal(answer.model, "gpt-5");
});

test("a partial answer is marked incomplete", () => {
  const [, answer] = turnsFromMessages([
    messages[0],
    { id: "a", role: "assistant", content: text("Half"), status: "partial" },
  ]);
  assert.equal(answer.status, "incomplete");
});

test("a running answer's stored steps are left to its replay", () => {
  const stored = [...messages, { id: "a3", role: "assistant", content: text("Wor") }];
  assert.deepEqual(
    beforeRunningAnswer(stored).map((m) => m.id),
    ["u1", "a1", "t1", "a2", "u2"],
  );
});

test("a stored server fault shows as one, apart from a tool's own error", () => {
  const call = (id) => ({ id, name: `weather__${id}`, arguments: "{}" });
  const [, answer] = turnsFromMessages([
    messages[0],
    { id: "a", role: "assistant", content: [], tool_calls: [call("c1"), call("c2")] },
    {
      id: "t1",
      role: "tool",
      tool_call_id: "c1",
      content: text("gone"),
      is_error: true,
      fault: "host",
    },
    {
      id: "t2",
      role: "tool",
      tool_call_id: "c2",
      content: text("no such city"),
      is_error: true,
      fault: null,
    },
  ]);
  const [fault, error] = answer.blocks;
  assert.equal(fault.fault, "host");
  assert.equal(fault.isError, true);
  assert.equal(error.fault, null);
  assert.equal(error.state, "error");
});
