// The groups screen's pure helpers.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  groupSummary,
  modelChoices,
  ruleLabel,
  toolChoices,
} from "../../../frontend/static/js/admin_format.js";

const group = (overrides) => ({ members: [], models: null, policies: [], ...overrides });

test("a group's row says who is in it, which models and which rules", () => {
  assert.deepEqual(groupSummary(group()), { members: "0", models: "Any model", rules: "None" });
  const busy = group({
    members: [
      { id: "1", email: "a@x" },
      { id: "2", email: "b@x" },
    ],
    models: ["gpt-4o", "llama"],
    policies: [
      { server: "files", tool: "delete", policy: "deny" },
      { server: "files", tool: "*", policy: "ask" },
      { server: "web", tool: "*", policy: "deny" },
    ],
  });
  assert.deepEqual(groupSummary(busy), {
    members: "2",
    models: "gpt-4o, llama",
    rules: "2 denied, 1 ask",
  });
  assert.equal(groupSummary(group({ models: [] })).models, "No model");
});

test("rules read as words", () => {
  assert.equal(ruleLabel("deny"), "Deny");
  assert.equal(ruleLabel("ask"), "Ask every time");
});

test("the model picker offers each model once: on offer, the group's, then typed", () => {
  assert.deepEqual(modelChoices(["a", "b"], null), ["a", "b"]);
  assert.deepEqual(modelChoices(["a"], ["c", "a"], ["d", "c"]), ["a", "c", "d"]);
});

test("the tool picker offers every tool first, then the server's tools", () => {
  const tools = [
    { server: "files", tool: "read" },
    { server: "files", tool: "delete" },
    { server: "web", tool: "fetch" },
  ];
  assert.deepEqual(toolChoices(tools, "files"), ["*", "delete", "read"]);
  assert.deepEqual(toolChoices(tools, ""), ["*", "delete", "fetch", "read"]);
  assert.deepEqual(toolChoices(tools, "nothing"), ["*"]);
});
