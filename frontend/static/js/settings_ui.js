// What every settings screen shares: the API, elements, alerts, confirmation and copying.

import { request } from "./api.js";

export const $ = (id) => document.getElementById(id);

export { request };

// An element with text (never HTML) and attributes.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child != null) node.append(child);
  }
  return node;
}

// Makes `parent`'s children exactly `nodes` (nulls left out), moving only what is out of
// place: nodes that stay where they were are not touched, so they keep the focus.
export function arrange(parent, nodes) {
  const wanted = nodes.filter(Boolean);
  const keep = new Set(wanted);
  for (const child of [...parent.children]) {
    if (!keep.has(child)) child.remove();
  }
  wanted.forEach((node, index) => {
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] || null);
  });
}

export function showError(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
}

// Asks with the page's <dialog id="confirm">; resolves true when confirmed.
export function confirmAction(title, text, action = "Confirm") {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

// Copies a read-only field's value; the button says so for a moment.
export async function copyField(input, button) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = label), 1500);
}

// Disables a button while `work` runs, so a double click sends once.
export async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}
