// A tool call as a card: server and tool, arguments, progress, result, approve or deny.

const LABELS = {
  running: "Running",
  approval: "Waiting for your approval",
  done: "Done",
  error: "Failed",
  denied: "Denied",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function pretty(value) {
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

function resultText(content) {
  if (!Array.isArray(content)) return pretty(content);
  return content
    .map((part) => {
      if (part.type === "text") return part.text;
      if (part.type === "resource_link") return `${part.name || ""} ${part.uri}`.trim();
      if (part.type === "json") return pretty(part.data ?? part.value);
      if (part.type === "image") return "[image]";
      return pretty(part);
    })
    .join("\n");
}

// `block` as in events.js; `onDecide(callId, approve)` for the buttons.
export function renderToolCard(block, onDecide) {
  const card = element("details", `tool-card state-${block.state}`);
  card.dataset.callId = block.id;
  if (block.state === "approval") card.open = true;
  const summary = element("summary", "tool-head");
  summary.append(element("span", "tool-icon", "⚙"));
  const name = element("span", "tool-name");
  name.append(element("strong", "", block.tool || "tool"));
  if (block.server) name.append(element("span", "tool-server", ` · ${block.server}`));
  summary.append(name, element("span", "tool-state", LABELS[block.state] || block.state));
  card.append(summary);

  const body = element("div", "tool-body");
  body.append(element("div", "tool-label", "Arguments"));
  body.append(element("pre", "tool-args", pretty(block.arguments) || "{}"));
  if (block.progress) {
    const { progress, total, message } = block.progress;
    const bar = element("progress", "tool-progress");
    if (total) {
      bar.max = total;
      bar.value = progress;
    }
    body.append(bar);
    if (message) body.append(element("div", "muted", message));
  }
  if (block.result !== null && block.result !== undefined) {
    body.append(element("div", "tool-label", block.isError ? "Error" : "Result"));
    body.append(element("pre", "tool-result", resultText(block.result)));
  }
  card.append(body);

  if (block.state === "approval" && block.approval === "asked") {
    const actions = element("div", "tool-actions");
    const approve = element("button", "button primary approve", "Approve");
    const deny = element("button", "button deny", "Deny");
    approve.type = "button";
    deny.type = "button";
    approve.addEventListener("click", () => onDecide(block.id, true));
    deny.addEventListener("click", () => onDecide(block.id, false));
    actions.append(element("span", "muted", "Allow this tool call?"), deny, approve);
    card.append(actions);
  }
  return card;
}
