// Model output as safe HTML: Markdown (marked), highlighted code (highlight.js), then
// DOMPurify, which removes scripts, event handlers, `javascript:` links and the like (and
// buttons: the view adds the code blocks' copy buttons after sanitising).
// The libraries are passed in, so that the same code runs in the browser and in tests.

const ALLOWED_URI = /^(?:https?:|mailto:|#|\/(?!\/))/i;

export function createMarkdown({ marked, DOMPurify, hljs }) {
  const parser = new marked.Marked({ gfm: true, breaks: false });
  parser.use({
    renderer: {
      code({ text, lang }) {
        const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
        let html;
        if (hljs && language && hljs.getLanguage(language)) {
          html = hljs.highlight(text, { language, ignoreIllegals: true }).value;
        } else if (hljs) {
          html = hljs.highlightAuto(text).value;
        } else {
          html = escapeHtml(text);
        }
        const label = escapeHtml(language || "text");
        return (
          `<div class="code-block"><div class="code-head"><span>${label}</span></div>` +
          `<pre><code class="hljs">${html}</code></pre></div>`
        );
      },
    },
  });

  const purifier = DOMPurify;
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      const href = node.getAttribute("href") || "";
      if (!ALLOWED_URI.test(href)) node.removeAttribute("href");
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
    if (node.tagName === "IMG") {
      // Only our own or inline images: a picture from elsewhere would tell that
      // origin that the answer was read (the CSP blocks it too).
      const src = node.getAttribute("src") || "";
      if (!/^(?:data:image\/|\/(?!\/))/i.test(src)) node.removeAttribute("src");
    }
  });

  return function render(text) {
    const html = parser.parse(text || "", { async: false });
    return purifier.sanitize(html, {
      USE_PROFILES: { html: true },
      FORBID_TAGS: ["style", "form", "input", "textarea", "select", "button", "iframe"],
      FORBID_ATTR: ["style"],
      ADD_TAGS: [],
      ALLOW_DATA_ATTR: false,
    });
  };
}

export function escapeHtml(text) {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
