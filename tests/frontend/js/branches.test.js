// The branch controls: versions, the inline edit (Esc cancels, Enter sends), Regenerate.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";

import {
  decorateAnswer,
  decorateQuestion,
  neighbour,
  setExportTarget,
  versionNav,
} from "../../../frontend/static/js/branches.js";

const { window } = new JSDOM("<!doctype html><body></body>");
const doc = window.document;

function questionRow(text) {
  const row = doc.createElement("div");
  row.className = "message user";
  const bubble = doc.createElement("div");
  bubble.className = "bubble";
  bubble.textContent = text;
  row.append(bubble);
  doc.body.append(row);
  return row;
}

function answerRow() {
  const row = doc.createElement("div");
  row.className = "message assistant";
  row.innerHTML = '<div class="answer-footer"><button class="copy-answer">Copy</button></div>';
  doc.body.append(row);
  return row;
}

const key = (name, extra = {}) =>
  new window.KeyboardEvent("keydown", { key: name, bubbles: true, ...extra });

test("the neighbouring version stops at either end", () => {
  assert.equal(neighbour(["a", "b", "c"], 1, -1), "a");
  assert.equal(neighbour(["a", "b", "c"], 1, 1), "c");
  assert.equal(neighbour(["a", "b", "c"], 0, -1), null);
  assert.equal(neighbour(["a", "b", "c"], 2, 1), null);
});

test("a message alone has no arrows; one with siblings shows its place and switches", () => {
  assert.equal(
    versionNav(doc, { siblings: 1, sibling_index: 0, sibling_ids: [] }, () => {}, "x"),
    null,
  );
  const switched = [];
  const nav = versionNav(
    doc,
    { siblings: 3, sibling_index: 1, sibling_ids: ["a", "b", "c"] },
    (id, direction) => switched.push([id, direction]),
    "answer",
  );
  assert.equal(nav.querySelector(".version-label").textContent, "2/3");
  assert.equal(nav.getAttribute("aria-label"), "Versions of this answer");
  nav.querySelector(".version-previous").click();
  nav.querySelector(".version-next").click();
  assert.deepEqual(switched, [
    ["a", "previous"],
    ["c", "next"],
  ]);
  const first = versionNav(
    doc,
    { siblings: 2, sibling_index: 0, sibling_ids: ["a", "b"] },
    () => {},
    "x",
  );
  assert.equal(first.querySelector(".version-previous").disabled, true);
  assert.equal(first.querySelector(".version-next").disabled, false);
});

test("Escape cancels an edit and leaves the message as it was", () => {
  const row = questionRow("Original text");
  const edits = [];
  decorateQuestion(row, { id: "q", siblings: 1 }, { onEdit: (t) => edits.push(t), onSwitch() {} });
  row.querySelector(".edit-message").click();
  const field = row.querySelector("textarea");
  assert.equal(field.value, "Original text");
  assert.equal(row.querySelector(".bubble").hidden, true);
  field.value = "Changed";
  field.dispatchEvent(key("Escape"));
  assert.equal(row.querySelector("textarea"), null);
  assert.equal(row.querySelector(".bubble").hidden, false);
  assert.equal(row.querySelector(".bubble").textContent, "Original text");
  assert.equal(doc.activeElement, row.querySelector(".edit-message"));
  assert.deepEqual(edits, []);
});

test("Save & send (or Enter) sends the edited text once, trimmed; blank text is not sent", async () => {
  const row = questionRow("Question");
  const edits = [];
  decorateQuestion(row, { id: "q" }, { onEdit: async (t) => edits.push(t), onSwitch() {} });
  row.querySelector(".edit-message").click();
  const field = row.querySelector("textarea");
  field.value = "   ";
  row.querySelector(".edit-save").click();
  field.value = "  Better question \n";
  field.dispatchEvent(key("Enter"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(edits, ["Better question"]);
  assert.equal(row.querySelector(".edit-save").disabled, true);
});

test("an answer gets Regenerate beside Copy, and its versions", () => {
  const row = answerRow();
  let regenerated = 0;
  decorateAnswer(
    row,
    { id: "a", siblings: 2, sibling_index: 1, sibling_ids: ["z", "a"] },
    { onRegenerate: () => regenerated++, onSwitch() {} },
  );
  const footer = row.querySelector(".answer-footer");
  assert.deepEqual(
    [...footer.children].map((node) => node.className.split(" ").at(-1)),
    ["versions", "copy-answer", "regenerate"],
  );
  footer.querySelector(".regenerate").click();
  assert.equal(regenerated, 1);
  assert.equal(
    footer.querySelector(".regenerate").getAttribute("aria-label"),
    "Regenerate this answer",
  );
});

test("the export links follow the open conversation and hide without one", () => {
  doc.body.insertAdjacentHTML(
    "beforeend",
    '<details id="export"><summary>Export</summary>' +
      '<a data-format="markdown" href="#">md</a><a data-format="json" href="#">json</a></details>',
  );
  const menu = doc.getElementById("export");
  setExportTarget(menu, "c1");
  assert.equal(menu.hidden, false);
  assert.deepEqual(
    [...menu.querySelectorAll("a")].map((link) => link.getAttribute("href")),
    ["/api/conversations/c1/export?format=markdown", "/api/conversations/c1/export?format=json"],
  );
  menu.open = true;
  menu.querySelector("a").dispatchEvent(new window.MouseEvent("click", { bubbles: true }));
  assert.equal(menu.open, false);
  setExportTarget(menu, null);
  assert.equal(menu.hidden, true);
});
