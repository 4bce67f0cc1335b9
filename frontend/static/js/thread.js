// The messages of the open conversation: questions, and answers drawn from their blocks.
// A streaming answer redraws only the blocks that changed, at most once per frame.

import { renderAttachments } from "./attachments.js";
import { createBacklog, FIRST, split } from "./backlog.js";
import { renderToolCard } from "./toolcard.js";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatUsage(usage, model) {
  const parts = [];
  if (model) parts.push(model);
  if (usage) {
    parts.push(`${usage.input_tokens} in · ${usage.output_tokens} out tokens`);
  }
  return parts.join(" · ");
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => {
    button.textContent = "Copy";
  }, 1500);
}

export function createThread({ container, scroller, render, onDecide, onAnswer }) {
  container.addEventListener("click", (event) => {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.closest(".code-block")?.querySelector("code");
    if (code) copy(code.textContent, button);
  });

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // Older turns wait above this marker until the user scrolls near it (see backlog.js).
  const sentinel = element("div", "backlog");
  sentinel.hidden = true;
  sentinel.setAttribute("aria-hidden", "true");
  container.before(sentinel);
  // What the conversation shown adds around its rows (dividers, per-message actions).
  let hooks = {};
  const backlog = createBacklog({
    scroller,
    sentinel,
    draw: (turns) => container.prepend(rows(turns)),
  });

  // `files`: stored attachments (thumbnails, download chips) above the question;
  // `resources`: MCP resources attached, [{kind, name, title?}], as chips under it.
  function addUser(text, { files = [], resources = [] } = {}, into = container) {
    const row = element("div", "message user");
    if (files.length) row.append(renderAttachments(files));
    if (text) row.append(element("div", "bubble", text));
    if (resources.length) {
      const chips = element("div", "message-attachments");
      for (const item of resources) {
        const chip = element("span", `chip chip-${item.kind || "file"}`, item.name);
        if (item.title) chip.title = item.title;
        chips.append(chip);
      }
      row.append(chips);
    }
    into.append(row);
    return row;
  }

  // Stored turns as rows, in a fragment to insert at once.
  function rows(turns) {
    const fragment = document.createDocumentFragment();
    for (const turn of turns) {
      hooks.before?.(turn, fragment);
      let row;
      if (turn.role === "user") {
        row = addUser(turn.text, turn, fragment);
      } else {
        const answer = addAnswer(fragment);
        answer.update(turn, { now: true });
        row = answer.row;
      }
      hooks.decorate?.(row, turn);
    }
    return fragment;
  }

  // An answer whose blocks may still change: `update(turn)` redraws what changed.
  function addAnswer(into = container) {
    const row = element("div", "message assistant");
    const avatar = element("div", "assistant-avatar");
    avatar.setAttribute("aria-hidden", "true");
    const body = element("div", "answer");
    const blocks = element("div", "blocks");
    const footer = element("div", "answer-footer");
    const status = element("span", "answer-status");
    const usage = element("span", "usage muted");
    const copyAll = element("button", "icon-button small copy-answer", "Copy");
    copyAll.type = "button";
    copyAll.title = "Copy the answer";
    footer.append(copyAll, usage, status);
    body.append(blocks, footer);
    row.append(avatar, body);
    into.append(row);
    const drawn = [];
    let pending = null;
    let latest = null;

    copyAll.addEventListener("click", () => {
      const text = (latest?.blocks || [])
        .filter((b) => b.type === "text")
        .map((b) => b.text)
        .join("\n\n");
      copy(text, copyAll);
    });

    function draw() {
      pending = null;
      const turn = latest;
      const follow = row.isConnected && nearBottom();
      turn.blocks.forEach((block, index) => {
        const key = block.type === "text" ? block.text : JSON.stringify(block);
        const old = drawn[index];
        if (old && old.key === key) return;
        let node;
        if (block.type === "text") {
          node = element("div", "markdown");
          node.innerHTML = render(block.text);
          for (const head of node.querySelectorAll(".code-block > .code-head")) {
            const button = element("button", "copy-code", "Copy");
            button.type = "button";
            head.append(button);
          }
        } else {
          node = renderToolCard(block, { onDecide, onAnswer }, old?.node);
          if (old?.node?.tagName === "DETAILS" && old.node.open) node.open = true;
        }
        if (old) old.node.replaceWith(node);
        else blocks.append(node);
        drawn[index] = { key, node };
      });
      const running = turn.status === "running" || turn.status === "waiting";
      row.classList.toggle("streaming", running);
      const empty = running && turn.blocks.length === 0;
      blocks.classList.toggle("thinking", empty);
      usage.textContent = formatUsage(turn.usage, turn.model);
      if (turn.error) {
        status.textContent = turn.error.message;
        status.className = "answer-status failed";
      } else if (turn.status === "cancelled") {
        status.textContent = "Stopped";
        status.className = "answer-status stopped";
      } else if (turn.status === "incomplete") {
        status.textContent = "Incomplete";
        status.className = "answer-status stopped";
      } else {
        status.textContent = "";
        status.className = "answer-status";
      }
      if (follow) toBottom();
    }

    return {
      row,
      update(turn, { now = false } = {}) {
        latest = turn;
        if (now) draw();
        else if (!pending) pending = requestAnimationFrame(draw);
      },
    };
  }

  return {
    clear() {
      backlog.stop();
      container.replaceChildren();
    },
    // A stored conversation: its last turns now, the older ones as the user scrolls up;
    // `before(turn, into)` may put something above a turn, `decorate(row, turn)` adds to it.
    show(turns, shown = {}) {
      hooks = shown;
      const { now, later } = split(turns, FIRST);
      container.append(rows(now));
      backlog.hold(later);
    },
    older: () => backlog.remaining(),
    addUser,
    addAnswer,
    toBottom,
    isEmpty: () => container.childElementCount === 0,
  };
}
