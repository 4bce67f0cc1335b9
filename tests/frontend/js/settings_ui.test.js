// Lists that refresh in place: arrange() moves only what is out of place.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";

import { arrange } from "../../../frontend/static/js/settings_ui.js";

function withDocument(body) {
  const { window } = new JSDOM("<ul id=list></ul>");
  globalThis.document = window.document;
  try {
    body(window.document);
  } finally {
    delete globalThis.document;
  }
}

test("a refresh with the same rows touches none of them, so a focused button keeps focus", () => {
  withDocument((document) => {
    const list = document.getElementById("list");
    const rows = ["a", "b", "c"].map((name) => {
      const row = document.createElement("li");
      row.append(document.createElement("button"));
      row.dataset.name = name;
      return row;
    });
    arrange(list, rows);
    const button = rows[1].firstChild;
    button.focus();
    const observer = new document.defaultView.MutationObserver(() => {});
    observer.observe(list, { childList: true });
    arrange(list, rows);
    assert.deepEqual(observer.takeRecords(), []);
    assert.equal(document.activeElement, button);
    // A row leaving or arriving around it does not move it either.
    arrange(list, [rows[1], rows[2]]);
    arrange(list, [rows[1], null, rows[2], rows[0]]);
    assert.equal(document.activeElement, button);
    assert.deepEqual(
      [...list.children].map((row) => row.dataset.name),
      ["b", "c", "a"],
    );
  });
});

test("rows come out in the order asked for, and the ones not asked for leave", () => {
  withDocument((document) => {
    const list = document.getElementById("list");
    const rows = ["a", "b", "c", "d"].map((name) => {
      const row = document.createElement("li");
      row.textContent = name;
      return row;
    });
    arrange(list, rows);
    arrange(list, [rows[3], rows[0], rows[2]]);
    assert.equal(list.textContent, "dac");
    arrange(list, []);
    assert.equal(list.children.length, 0);
  });
});
