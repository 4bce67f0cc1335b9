// Slash commands: which prompts match, when the menu is wanted, and the text inserted.
import assert from "node:assert/strict";
import { test } from "node:test";

import { matchPrompts, promptText, slashQuery } from "../../../frontend/static/js/slash.js";
import { filterResources, resourceLabel } from "../../../frontend/static/js/resources.js";

const PROMPTS = [
  { server: "everything", name: "simple-prompt", title: "Simple Prompt" },
  { server: "everything", name: "args-prompt", title: "Arguments Prompt" },
  { server: "docs", name: "summarise", title: "Summarise a page" },
];

test("the menu opens only while the composer holds a lone /command", () => {
  assert.equal(slashQuery("/"), "");
  assert.equal(slashQuery("/arg"), "arg");
  assert.equal(slashQuery("/arg more"), null);
  assert.equal(slashQuery("hello /arg"), null);
  assert.equal(slashQuery("/a/b"), null);
});

test("prompts match by name first, then title, then server", () => {
  assert.deepEqual(
    matchPrompts(PROMPTS, "").map((p) => p.name),
    ["simple-prompt", "args-prompt", "summarise"],
  );
  assert.deepEqual(
    matchPrompts(PROMPTS, "s").map((p) => p.name),
    ["simple-prompt", "summarise", "args-prompt"],
  );
  assert.deepEqual(
    matchPrompts(PROMPTS, "docs").map((p) => p.name),
    ["summarise"],
  );
  assert.deepEqual(matchPrompts(PROMPTS, "zzz"), []);
});

test("a prompt's messages become the composer's text", () => {
  const text = promptText([
    { role: "user", content: [{ type: "text", text: "What's the weather in Paris?" }] },
    { role: "assistant", content: [{ type: "text", text: "Sunny." }] },
    { role: "user", content: [{ type: "resource", uri: "demo://doc", text: "Body" }] },
  ]);
  assert.equal(
    text,
    "What's the weather in Paris?\n\nAssistant: Sunny.\n\n[Resource demo://doc]\nBody",
  );
});

test("resources are searched by name, uri and server; templates are left out", () => {
  const resources = [
    { server: "everything", uri: "demo://a/architecture.md", name: "architecture.md" },
    { server: "everything", uri: "demo://t/{id}", name: "Dynamic", template: true },
    { server: "files", uri: "file:///notes.txt", name: "notes.txt", title: "My notes" },
  ];
  assert.deepEqual(
    filterResources(resources, "").map((r) => r.name),
    ["architecture.md", "notes.txt"],
  );
  assert.deepEqual(
    filterResources(resources, "FILES").map((r) => r.name),
    ["notes.txt"],
  );
  assert.equal(resourceLabel(resources[2]), "My notes");
  assert.equal(resourceLabel({ uri: "demo://x/y.md" }), "y.md");
});
