// Branches in the thread: a question's Edit (inline, Save & send / Cancel, Esc cancels), an
// answer's Regenerate, and ‹ 2/3 › between the versions of a message wherever it has some.
// The actions are callbacks: the chat screen sends them and redraws the branch it gets back.

const ICONS = {
  edit: "M4 20h4L19 9l-4-4L4 16v4z",
  regenerate: "M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6",
  previous: "M15 6l-6 6 6 6",
  next: "M9 6l6 6-6 6",
};

function element(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function icon(doc, name) {
  const svg = doc.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = doc.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function iconButton(doc, name, label, className) {
  const button = element(doc, "button", `icon-button small ${className}`);
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(doc, name));
  return button;
}

// The version to show after a step of -1 or +1, or null at either end.
export function neighbour(ids, index, step) {
  const next = index + step;
  return next >= 0 && next < ids.length ? ids[next] : null;
}

// "‹ 2/3 ›" for a message with siblings; null for one without.
export function versionNav(doc, message, onSwitch, what) {
  const ids = message.sibling_ids || [];
  if ((message.siblings || 1) < 2 || ids.length < 2) return null;
  const index = message.sibling_index || 0;
  const nav = element(doc, "div", "versions");
  nav.setAttribute("role", "group");
  nav.setAttribute("aria-label", `Versions of this ${what}`);
  const previous = iconButton(
    doc,
    "previous",
    `Previous version of this ${what}`,
    "version-previous",
  );
  const next = iconButton(doc, "next", `Next version of this ${what}`, "version-next");
  const label = element(doc, "span", "version-label", `${index + 1}/${ids.length}`);
  label.setAttribute("aria-label", `Version ${index + 1} of ${ids.length}`);
  previous.disabled = neighbour(ids, index, -1) === null;
  next.disabled = neighbour(ids, index, 1) === null;
  previous.addEventListener("click", () => onSwitch(neighbour(ids, index, -1), "previous"));
  next.addEventListener("click", () => onSwitch(neighbour(ids, index, 1), "next"));
  nav.append(previous, label, next);
  return nav;
}

// A question's action bar: Edit, and its versions.
export function decorateQuestion(row, message, { onEdit, onSwitch }) {
  const doc = row.ownerDocument;
  const bubble = row.querySelector(".bubble");
  const actions = element(doc, "div", "message-actions");
  const nav = versionNav(doc, message, onSwitch, "message");
  if (nav) actions.append(nav);
  const edit = iconButton(doc, "edit", "Edit this message", "edit-message");
  actions.append(edit);
  row.append(actions);

  function close() {
    row.classList.remove("editing");
    row.querySelector(".edit-form")?.remove();
    bubble.hidden = false;
    actions.hidden = false;
    edit.focus();
  }

  edit.addEventListener("click", () => {
    const form = element(doc, "form", "edit-form");
    const field = element(doc, "textarea", "edit-text");
    field.value = bubble.textContent;
    field.rows = Math.min(10, Math.max(2, field.value.split("\n").length));
    field.setAttribute("aria-label", "Edited message");
    const buttons = element(doc, "div", "edit-buttons");
    const cancel = element(doc, "button", "button subtle edit-cancel", "Cancel");
    cancel.type = "button";
    const save = element(doc, "button", "button primary edit-save", "Save & send");
    save.type = "submit";
    buttons.append(cancel, save);
    form.append(field, buttons);
    bubble.hidden = true;
    actions.hidden = true;
    row.classList.add("editing");
    row.append(form);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
    cancel.addEventListener("click", close);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = field.value.trim();
      if (!text) return;
      save.disabled = true;
      if ((await onEdit(text)) === false) save.disabled = false;
    });
  });
}

// An answer's extra actions, beside its Copy button: Regenerate, and its versions.
export function decorateAnswer(row, message, { onRegenerate, onSwitch }) {
  const doc = row.ownerDocument;
  const footer = row.querySelector(".answer-footer");
  const regenerate = iconButton(doc, "regenerate", "Regenerate this answer", "regenerate");
  regenerate.addEventListener("click", () => onRegenerate());
  const nav = versionNav(doc, message, onSwitch, "answer");
  const copy = footer.querySelector(".copy-answer");
  copy.after(regenerate);
  if (nav) footer.prepend(nav);
}

// The menu closes once a format is picked, on Escape (back to its button) and on a click
// elsewhere.
function installMenu(menu) {
  const doc = menu.ownerDocument;
  menu.dataset.installed = "true";
  menu.addEventListener("click", (event) => {
    if (event.target.closest("a[data-format]")) menu.open = false;
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  doc.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
}

// The export links of the open conversation (or none).
export function setExportTarget(menu, conversationId) {
  if (!menu.dataset.installed) installMenu(menu);
  menu.hidden = !conversationId;
  menu.open = false;
  for (const link of menu.querySelectorAll("a[data-format]")) {
    const format = link.dataset.format;
    link.href = conversationId
      ? `/api/conversations/${conversationId}/export?format=${format}`
      : "#";
  }
}
