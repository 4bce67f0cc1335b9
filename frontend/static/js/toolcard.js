// A tool call as a card: server and tool, arguments, live progress, the result (text,
// images, resource links, structured content), approve / deny / always allow, and the
// questions the tool's server asks while it runs (MCP elicitation).

import { renderSchemaForm } from "./schemaform.js";

const LABELS = {
  running: "Running",
  approval: "Waiting for your approval",
  question: "Waiting for your answer",
  done: "Done",
  error: "Tool error",
  fault: "Server failed",
  denied: "Denied",
  stopped: "Stopped",
};

// Raster images only: an SVG can carry script, so it is never shown inline.
export const SAFE_IMAGE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
]);
const LONG_TEXT_CHARS = 800;
const LONG_TEXT_LINES = 14;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, label) {
  const node = element("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

export function pretty(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

// Where a resource of the call's server opens: through the front end, never directly.
export function resourceHref(server, uri) {
  return `/mcp/resource?${new URLSearchParams({ server, uri })}`;
}

export function isLong(text) {
  return text.length > LONG_TEXT_CHARS || text.split("\n").length > LONG_TEXT_LINES;
}

function textBlock(text, className) {
  const pre = element("pre", className, text);
  if (!isLong(text)) return pre;
  const wrap = element("div", "long-text collapsed");
  const toggle = button("button subtle small show-more", "Show all");
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", () => {
    const collapsed = wrap.classList.toggle("collapsed");
    toggle.textContent = collapsed ? "Show all" : "Show less";
    toggle.setAttribute("aria-expanded", String(!collapsed));
  });
  wrap.append(pre, toggle);
  return wrap;
}

function imageNode(part) {
  const mime = (part.mime_type || "").toLowerCase();
  if (part.data && SAFE_IMAGE_TYPES.has(mime)) {
    const img = element("img", "tool-image");
    img.src = `data:${mime};base64,${part.data}`;
    img.alt = "Image returned by the tool";
    img.loading = "lazy";
    return img;
  }
  return element("p", "muted", `An image of type ${mime || "unknown"} (not shown).`);
}

const SVG = "http://www.w3.org/2000/svg";

function documentIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "resource-icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M7 3h7l5 5v13H7zM14 3v5h5");
  svg.append(path);
  return svg;
}

function linkNode(server, part) {
  const row = element("div", "resource-link");
  const link = element("a", "", part.name || part.uri);
  link.href = resourceHref(server, part.uri);
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.title = part.uri;
  row.append(documentIcon(), link);
  if (part.mime_type) row.append(element("span", "muted", ` ${part.mime_type}`));
  if (part.description) row.append(element("div", "muted small", part.description));
  return row;
}

function embeddedNode(server, part) {
  const wrap = element("div", "resource-embedded");
  wrap.append(linkNode(server, { uri: part.uri, mime_type: part.mime_type }));
  if (typeof part.text === "string") wrap.append(textBlock(part.text, "tool-result"));
  return wrap;
}

function resultNodes(block) {
  const content = block.result;
  if (!Array.isArray(content)) return [textBlock(pretty(content), "tool-result")];
  const nodes = [];
  for (const part of content) {
    if (part.type === "text") nodes.push(textBlock(part.text || "", "tool-result"));
    else if (part.type === "image") nodes.push(imageNode(part));
    else if (part.type === "resource_link") nodes.push(linkNode(block.server, part));
    else if (part.type === "resource") nodes.push(embeddedNode(block.server, part));
    else if (part.type === "json") {
      const wrap = element("div", "structured");
      wrap.append(element("div", "tool-label", "Structured content"));
      wrap.append(textBlock(pretty(part.value ?? part.data), "tool-result json"));
      nodes.push(wrap);
    } else if (part.type === "audio") {
      nodes.push(element("p", "muted", `Audio (${part.mime_type || "unknown type"}), not played.`));
    } else nodes.push(textBlock(pretty(part), "tool-result"));
  }
  return nodes;
}

function progressNode(progress) {
  const wrap = element("div", "tool-progress-row");
  const { progress: value, total, message } = progress;
  if (total) {
    const bar = element("progress", "tool-progress");
    bar.max = total;
    bar.value = Math.min(value, total);
    bar.setAttribute("aria-label", "Progress");
    const percent = Math.round((Math.min(value, total) / total) * 100);
    wrap.append(bar, element("span", "progress-label", `${percent}%`));
  } else {
    const spinner = element("span", "spinner");
    spinner.setAttribute("aria-hidden", "true");
    wrap.append(spinner);
  }
  if (message) wrap.append(element("span", "progress-message muted", message));
  return wrap;
}

function urlQuestion(question, onAnswer) {
  const wrap = element("div", "elicitation-url");
  let host = "";
  let safe = false;
  try {
    const url = new URL(question.url);
    host = url.host;
    safe = url.protocol === "https:" || url.protocol === "http:";
  } catch {
    // not an address: shown as such below
  }
  if (safe) {
    const link = element("a", "button primary", `Open ${host}`);
    link.href = question.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    wrap.append(link, element("span", "muted host", question.url));
  } else {
    wrap.append(element("p", "field-error", "The server sent an address that cannot be opened."));
  }
  const actions = element("div", "elicitation-actions");
  const decline = button("button", "Decline");
  const done = button("button primary", "Done");
  decline.addEventListener("click", () => onAnswer("decline"));
  done.addEventListener("click", () => onAnswer("accept"));
  actions.append(decline, done);
  wrap.append(actions);
  return wrap;
}

function questionNode(question, onAnswer) {
  const box = element("section", "elicitation");
  box.dataset.questionId = question.id;
  box.setAttribute("aria-label", "The tool asks");
  box.append(element("p", "elicitation-message", question.message || "The tool needs more input."));
  const answer = (action, content) => onAnswer(question.id, action, content);
  if (question.mode === "url") box.append(urlQuestion(question, answer));
  else box.append(renderSchemaForm(document, question, answer));
  return box;
}

function stateOf(block) {
  if (block.question && block.question.state === "asked") return "question";
  if (block.fault) return "fault";
  return block.state;
}

// `block` as in events.js; `handlers.onDecide(callId, "approve" | "deny" | "always")`,
// `handlers.onAnswer(questionId, action, content)`. `previous` is the card this one
// replaces: an open question's form is kept, with what the user typed.
export function renderToolCard(block, handlers, previous) {
  const state = stateOf(block);
  const card = element("details", `tool-card state-${state}`);
  card.dataset.callId = block.id;
  const showsImage = Array.isArray(block.result) && block.result.some((p) => p.type === "image");
  if (state === "approval" || state === "question" || state === "fault" || showsImage) {
    card.open = true;
  }
  const summary = element("summary", "tool-head");
  summary.append(element("span", "tool-icon", "⚙"));
  const name = element("span", "tool-name");
  name.append(element("strong", "", block.tool || "tool"));
  if (block.server) name.append(element("span", "tool-server", ` · ${block.server}`));
  summary.append(name);
  if (block.always) summary.append(element("span", "tool-badge", "Always allowed"));
  summary.append(element("span", "tool-state", LABELS[state] || state));
  // In the head, so that it shows on a folded card too.
  if (block.progress && block.state === "running") summary.append(progressNode(block.progress));
  card.append(summary);

  const body = element("div", "tool-body");
  const args = element("details", "tool-args-box");
  args.append(element("summary", "tool-label", "Arguments"));
  args.append(element("pre", "tool-args", pretty(block.arguments) || "{}"));
  if (state === "approval") args.open = true;
  body.append(args);
  if (block.result !== null && block.result !== undefined) {
    let label = "Result";
    if (block.fault) label = "The tool server could not answer";
    else if (block.isError) label = "The tool reported an error";
    body.append(element("div", `tool-label ${block.isError ? "is-error" : ""}`, label));
    const result = element("div", `tool-output ${block.isError ? "is-error" : ""}`);
    result.append(...resultNodes(block));
    body.append(result);
  }
  card.append(body);

  if (block.question && block.question.state === "asked") {
    const kept = [...(previous?.querySelectorAll(".elicitation") || [])].find(
      (node) => node.dataset.questionId === block.question.id,
    );
    card.append(kept || questionNode(block.question, handlers.onAnswer));
  }

  if (block.state === "approval" && block.approval === "asked") {
    const actions = element("div", "tool-actions");
    const deny = button("button deny", "Deny");
    const always = button("button always", "Always allow");
    always.title = `Run ${block.tool} without asking from now on`;
    const approve = button("button primary approve", "Approve");
    deny.addEventListener("click", () => handlers.onDecide(block.id, "deny"));
    always.addEventListener("click", () => handlers.onDecide(block.id, "always"));
    approve.addEventListener("click", () => handlers.onDecide(block.id, "approve"));
    actions.append(element("span", "muted", "Allow this tool call?"), deny, always, approve);
    card.append(actions);
  }
  return card;
}
