// Tool cards: results of every kind, a server's fault apart from a tool's error, progress,
// approval buttons, and a question's form kept across redraws.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";

const { window } = new JSDOM("<!doctype html><body></body>");
globalThis.document = window.document;
const { renderToolCard, resourceHref } = await import("../../../frontend/static/js/toolcard.js");

const noop = { onDecide: () => {}, onAnswer: () => {} };

function block(extra) {
  return {
    type: "tool",
    id: "c1",
    server: "everything",
    tool: "echo",
    arguments: { message: "hi" },
    state: "done",
    approval: null,
    progress: null,
    result: null,
    isError: false,
    fault: null,
    always: false,
    question: null,
    ...extra,
  };
}

test("the card names the server and tool and shows the arguments as pretty JSON", () => {
  const card = renderToolCard(block({}), noop);
  assert.equal(card.querySelector(".tool-name strong").textContent, "echo");
  assert.equal(card.querySelector(".tool-server").textContent, " · everything");
  assert.equal(card.querySelector(".tool-args").textContent, '{\n  "message": "hi"\n}');
});

test("a raster image shows inline, an SVG never does", () => {
  const card = renderToolCard(
    block({
      result: [
        { type: "image", mime_type: "image/png", data: "iVBORw0KGgo=" },
        { type: "image", mime_type: "image/svg+xml", data: "PHN2Zy8+" },
      ],
    }),
    noop,
  );
  const images = card.querySelectorAll("img");
  assert.equal(images.length, 1);
  assert.equal(images[0].getAttribute("src"), "data:image/png;base64,iVBORw0KGgo=");
  assert.match(card.textContent, /image\/svg\+xml \(not shown\)/);
  assert.equal(card.open, true); // an image is worth seeing at once
});

test("resource links open through the front end in a new tab", () => {
  const card = renderToolCard(
    block({ result: [{ type: "resource_link", uri: "demo://r/1", name: "One" }] }),
    noop,
  );
  const link = card.querySelector(".resource-link a");
  assert.equal(link.textContent, "One");
  assert.equal(link.getAttribute("href"), resourceHref("everything", "demo://r/1"));
  assert.equal(link.getAttribute("href"), "/mcp/resource?server=everything&uri=demo%3A%2F%2Fr%2F1");
  assert.equal(link.target, "_blank");
  assert.equal(link.rel, "noopener noreferrer");
});

test("structured content and long text", () => {
  const long = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
  const card = renderToolCard(
    block({
      result: [
        { type: "text", text: long },
        { type: "json", value: { temp: 21 } },
      ],
    }),
    noop,
  );
  const wrap = card.querySelector(".long-text");
  assert.equal(wrap.classList.contains("collapsed"), true);
  wrap.querySelector(".show-more").click();
  assert.equal(wrap.classList.contains("collapsed"), false);
  assert.equal(card.querySelector(".structured pre").textContent, '{\n  "temp": 21\n}');
});

test("a tool's own error and a server's failure look different", () => {
  const tool = renderToolCard(
    block({ state: "error", isError: true, result: [{ type: "text", text: "bad city" }] }),
    noop,
  );
  const host = renderToolCard(
    block({
      state: "error",
      isError: true,
      fault: "host",
      result: [{ type: "text", text: "The tool server 'everything' failed: gone" }],
    }),
    noop,
  );
  assert.equal(tool.querySelector(".tool-state").textContent, "Tool error");
  assert.match(tool.querySelector(".tool-body").textContent, /The tool reported an error/);
  assert.equal(host.querySelector(".tool-state").textContent, "Server failed");
  assert.match(host.className, /state-fault/);
  assert.match(host.querySelector(".tool-body").textContent, /could not answer/);
});

test("progress is a bar with a known total, else a spinner with the message", () => {
  const bar = renderToolCard(
    block({ state: "running", progress: { progress: 3, total: 4, message: "step 3" } }),
    noop,
  );
  const progress = bar.querySelector("summary progress");
  assert.equal(progress.max, 4);
  assert.equal(progress.value, 3);
  assert.equal(bar.querySelector(".progress-label").textContent, "75%");
  const spin = renderToolCard(
    block({ state: "running", progress: { progress: 7, message: "working" } }),
    noop,
  );
  assert.equal(spin.querySelector("progress"), null);
  assert.notEqual(spin.querySelector(".spinner"), null);
  assert.equal(spin.querySelector(".progress-message").textContent, "working");
});

test("approve, deny and always allow each say their decision", () => {
  const decisions = [];
  const card = renderToolCard(block({ state: "approval", approval: "asked" }), {
    onDecide: (id, decision) => decisions.push([id, decision]),
    onAnswer: () => {},
  });
  for (const name of ["approve", "deny", "always"]) card.querySelector(`button.${name}`).click();
  assert.deepEqual(decisions, [
    ["c1", "approve"],
    ["c1", "deny"],
    ["c1", "always"],
  ]);
});

test("an open question keeps its form, with what was typed, when the card is redrawn", () => {
  const question = {
    id: "q1",
    mode: "form",
    message: "Who?",
    state: "asked",
    schema: { type: "object", properties: { name: { type: "string" } } },
  };
  const first = renderToolCard(block({ state: "running", question }), noop);
  first.querySelector(".elicitation input").value = "Ada";
  const second = renderToolCard(
    block({ state: "running", question, progress: { progress: 1, total: 2 } }),
    noop,
    first,
  );
  assert.equal(second.querySelector(".elicitation input").value, "Ada");
  assert.equal(second.querySelector(".tool-state").textContent, "Waiting for your answer");
});

test("a URL question links to its page in a new tab, host shown, with Done and Decline", () => {
  const answers = [];
  const card = renderToolCard(
    block({
      state: "running",
      question: {
        id: "q2",
        mode: "url",
        url: "https://auth.example.com/start?x=1",
        state: "asked",
      },
    }),
    { onDecide: () => {}, onAnswer: (...args) => answers.push(args) },
  );
  const link = card.querySelector(".elicitation-url a");
  assert.equal(link.textContent, "Open auth.example.com");
  assert.equal(link.rel, "noopener noreferrer");
  assert.equal(link.target, "_blank");
  const [decline, done] = card.querySelectorAll(".elicitation-url button");
  done.click();
  decline.click();
  assert.deepEqual(answers, [
    ["q2", "accept", undefined],
    ["q2", "decline", undefined],
  ]);
  const bad = renderToolCard(
    block({ question: { id: "q3", mode: "url", url: "javascript:alert(1)", state: "asked" } }),
    noop,
  );
  assert.equal(bad.querySelector(".elicitation-url a"), null);
});
