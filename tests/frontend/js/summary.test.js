// Where the divider of a compacted conversation goes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";
import * as marked from "marked";
import createDOMPurify from "dompurify";
import hljs from "@highlightjs/cdn-assets/es/highlight.min.js";

import { applyEvent, createRun } from "../../../frontend/static/js/events.js";
import { createMarkdown } from "../../../frontend/static/js/markdown.js";
import { placeSummary, summaryDivider } from "../../../frontend/static/js/summary.js";

const { window } = new JSDOM("");
const render = createMarkdown({ marked, DOMPurify: createDOMPurify(window), hljs });

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

test("a run that compacted its conversation says so", () => {
  const run = createRun("r1");
  applyEvent(run, { id: 1, event: "run.started", data: { model: "m" } });
  assert.equal(run.compacted, null);
  applyEvent(run, {
    id: 2,
    event: "context.compacted",
    data: { summary_id: "s1", messages: 12, tokens_before: 9000, tokens_after: 2000 },
  });
  assert.deepEqual(run.compacted, { summaryId: "s1", messages: 12 });
  assert.equal(run.status, "running");
});

test("the divider is a closed disclosure whose summary is sanitised Markdown", () => {
  globalThis.document = window.document;
  try {
    const divider = summaryDivider(
      {
        id: "s1",
        message_count: 1200,
        tokens_before: 90000,
        tokens_after: 3000,
        text: "**Goals** <img src=x onerror=alert(1)><script>alert(2)</script>",
      },
      render,
    );
    assert.equal(divider.tagName, "DETAILS");
    assert.equal(divider.open, false);
    const label = divider.querySelector("summary").textContent;
    assert.match(label, /^Earlier messages were summarised/);
    assert.match(label, /1,200 messages above, 90,000 → 3,000 tokens/);
    const body = divider.querySelector(".summary-text");
    assert.equal(body.querySelector("strong").textContent, "Goals");
    assert.equal(body.querySelector("script"), null);
    assert.equal(body.querySelector("img")?.getAttribute("onerror") ?? null, null);
  } finally {
    delete globalThis.document;
  }
});
