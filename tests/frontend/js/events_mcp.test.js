// The reducer's MCP events: decisions, questions and their answers, a server's fault.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  answer,
  applyEvent,
  createRun,
  decide,
  openQuestions,
} from "../../../frontend/static/js/events.js";

function run(...events) {
  const state = createRun("r");
  events.forEach(([event, data], i) => applyEvent(state, { id: i + 1, event, data }));
  return state;
}

const call = ["tool.call", { id: "c1", server: "everything", tool: "get-sum", arguments: {} }];
const asked = ["tool.approval_required", { id: "c1", server: "everything", tool: "get-sum" }];

test("a decision from another tab clears the approval buttons before the result", () => {
  const state = run(call, asked, ["tool.decided", { id: "c1", approved: true, always: true }]);
  const block = state.blocks[0];
  assert.equal(block.approval, "approved");
  assert.equal(block.state, "running");
  assert.equal(block.always, true);
  assert.equal(state.status, "running");
});

test("a denial replayed after a refresh shows the card as denied", () => {
  const state = run(call, asked, ["tool.decided", { id: "c1", approved: false }]);
  assert.equal(state.blocks[0].state, "denied");
});

test("a question attaches to its tool call until it is answered", () => {
  const question = [
    "input.required",
    { id: "q1", call_id: "c1", mode: "form", message: "Who?", schema: { type: "object" } },
  ];
  const state = run(call, question);
  assert.equal(state.status, "waiting");
  assert.deepEqual(
    openQuestions(state).map((q) => [q.id, q.mode, q.message, q.state]),
    [["q1", "form", "Who?", "asked"]],
  );
  applyEvent(state, { id: 3, event: "input.answered", data: { id: "q1", action: "decline" } });
  assert.deepEqual(openQuestions(state), []);
  assert.equal(state.blocks[0].question.action, "decline");
  assert.equal(state.status, "running");
});

test("answering here closes the question at once", () => {
  const state = run(call, [
    "input.required",
    { id: "q1", call_id: "c1", mode: "url", url: "https://x.example" },
  ]);
  answer(state, "q1", "accept");
  assert.deepEqual(openQuestions(state), []);
  assert.equal(state.status, "running");
});

test("a question without a call gets a card of its own", () => {
  const state = run(["input.required", { id: "q9", mode: "form", schema: {} }]);
  assert.equal(state.blocks[0].tool, "Question");
  assert.equal(openQuestions(state).length, 1);
});

test("always allow decided here marks the card", () => {
  const state = run(call, asked);
  decide(state, "c1", "always");
  assert.equal(state.blocks[0].always, true);
  assert.equal(state.blocks[0].state, "running");
});

test("a server's failure is kept apart from a tool's error", () => {
  const state = run(call, [
    "tool.result",
    { id: "c1", content: [{ type: "text", text: "failed" }], is_error: true, fault: "host" },
  ]);
  assert.equal(state.blocks[0].fault, "host");
  assert.equal(state.blocks[0].isError, true);
});

test("a run that ends closes its open approvals and questions", () => {
  const state = run(
    call,
    asked,
    ["tool.call", { id: "c2", server: "everything", tool: "long" }],
    ["input.required", { id: "q1", call_id: "c2", mode: "form", schema: {} }],
    ["run.completed", { status: "cancelled" }],
  );
  assert.equal(state.blocks[0].approval, "expired");
  assert.equal(state.blocks[0].state, "denied");
  assert.equal(state.blocks[1].question.state, "expired");
  assert.equal(state.blocks[1].state, "stopped");
  assert.deepEqual(openQuestions(state), []);
});
