// The markdown pipeline (marked + highlight.js + DOMPurify), with the real libraries.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";
import * as marked from "marked";
import createDOMPurify from "dompurify";
import hljs from "@highlightjs/cdn-assets/es/highlight.min.js";

import { createMarkdown, escapeHtml } from "../../../frontend/static/js/markdown.js";

const { window } = new JSDOM("");
const render = createMarkdown({ marked, DOMPurify: createDOMPurify(window), hljs });

function dom(html) {
  const node = window.document.createElement("div");
  node.innerHTML = html;
  return node;
}

test("Markdown becomes HTML", () => {
  const node = dom(render("# Title\n\nSome **bold** and `code`.\n\n- a\n- b"));
  assert.equal(node.querySelector("h1").textContent, "Title");
  assert.equal(node.querySelector("strong").textContent, "bold");
  assert.equal(node.querySelectorAll("li").length, 2);
});

test("a fenced code block is highlighted and labelled", () => {
  const node = dom(render("```python\ndef f():\n    return 1\n```"));
  assert.equal(node.querySelector(".code-block > .code-head span").textContent, "python");
  assert.equal(node.querySelector(".hljs-keyword").textContent, "def");
  assert.equal(node.querySelector("code").textContent, "def f():\n    return 1");
});

test("a code block's language label cannot inject markup", () => {
  const node = dom(render('```"><img src=x onerror=alert(1)>\nx\n```'));
  assert.equal(node.querySelector("img"), null);
});

test("scripts and event handlers in model output are removed", () => {
  const html = render(
    'Hi <img src="x" onerror="alert(1)"> <script>alert(2)</script> <svg onload="alert(3)"></svg>' +
      '<iframe src="https://evil.example"></iframe><a href="#" onclick="alert(4)">x</a>',
  );
  const node = dom(html);
  assert.equal(node.querySelector("script"), null);
  assert.equal(node.querySelector("iframe"), null);
  for (const element of node.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      assert.ok(!attribute.name.startsWith("on"), `${element.tagName} keeps ${attribute.name}`);
    }
  }
});

test("javascript: and data: links lose their target; links open in a new tab", () => {
  const node = dom(
    render("[a](javascript:alert(1)) [b](data:text/html,x) [c](https://example.com)"),
  );
  const [a, b, c] = node.querySelectorAll("a");
  assert.equal(a.getAttribute("href"), null);
  assert.equal(b.getAttribute("href"), null);
  assert.equal(c.getAttribute("href"), "https://example.com");
  assert.equal(c.getAttribute("target"), "_blank");
  assert.match(c.getAttribute("rel"), /noopener/);
});

test("an image from another origin is not loaded", () => {
  const node = dom(render("![beacon](https://tracker.example/pixel.png?chat=secret)"));
  assert.equal(node.querySelector("img").getAttribute("src"), null);
});

test("model output cannot add buttons or forms to the page", () => {
  const node = dom(render('<button>Pay</button><form action="/logout"><input name="x"></form>'));
  assert.equal(node.querySelector("button, form, input"), null);
});

test("inline styles are dropped", () => {
  const node = dom(render('<p style="position:fixed;inset:0">cover</p>'));
  assert.equal(node.querySelector("p").getAttribute("style"), null);
});

test("escapeHtml escapes the five characters", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});
