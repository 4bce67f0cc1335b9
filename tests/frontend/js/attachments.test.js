// Attached files as the chat shows them: sizes, refusals before upload, sent chips.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";

import { formatSize, refusal, renderAttachments } from "../../../frontend/static/js/attachments.js";

test("sizes read the way people say them", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1536), "1.5 KB");
  assert.equal(formatSize(52 * 1024 * 1024), "52 MB");
});

test("a file over the limit or empty is refused before it is sent", () => {
  const policy = { max_bytes: 1024 * 1024, allowed_types: ["text/*"] };
  assert.equal(
    refusal({ name: "big.bin", size: 3 * 1024 * 1024 }, policy),
    "big.bin is 3.0 MB, over the 1.0 MB limit.",
  );
  assert.equal(refusal({ name: "empty.txt", size: 0 }, policy), "empty.txt is empty.");
  assert.equal(refusal({ name: "ok.txt", size: 10 }, policy), null);
  assert.equal(refusal({ name: "unknown.txt", size: 10 ** 12 }, null), null);
});

test("sent files are download links; images show as thumbnails; names stay text", () => {
  const { window } = new JSDOM("");
  globalThis.document = window.document;
  try {
    const list = renderAttachments([
      {
        id: "f1",
        name: "<img src=x onerror=alert(1)>.md",
        content_type: "text/markdown",
        size: 2048,
      },
      { id: "f 2", name: "cat.png", content_type: "image/png", size: 10 },
    ]);
    const [chip, thumb] = list.children;
    assert.equal(chip.getAttribute("href"), "/api/files/f1/content");
    assert.equal(chip.getAttribute("download"), "<img src=x onerror=alert(1)>.md");
    assert.equal(
      chip.querySelector(".attachment-name").textContent,
      "<img src=x onerror=alert(1)>.md",
    );
    assert.equal(chip.querySelectorAll("img").length, 0);
    assert.equal(chip.querySelector(".attachment-size").textContent, "2.0 KB");
    assert.equal(thumb.className, "attachment-thumb");
    assert.equal(thumb.querySelector("img").getAttribute("src"), "/api/files/f%202/content");
    assert.equal(thumb.querySelector("img").alt, "cat.png");
  } finally {
    delete globalThis.document;
  }
});
