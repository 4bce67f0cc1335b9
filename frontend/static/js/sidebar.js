// The conversations in the sidebar: pinned first, grouped by date, searched, paged,
// renamed, pinned, deleted.

import { orderConversations, sidebarGroups } from "./pins.js";

const PAGE = 30;

export function createSidebar({ api, nav, more, search, template, onOpen, onDeleted, alert }) {
  let items = [];
  let cursor = null;
  let query = "";
  let current = null;
  let generation = 0;
  let loading = false;

  // Which control of which chat has the keyboard focus, to give it back after a redraw.
  function focusedControl() {
    const active = document.activeElement;
    if (!active || !nav.contains(active)) return null;
    const id = active.closest(".conversation")?.dataset.id;
    const kind = ["conversation-link", "rename", "delete"].find((k) =>
      active.classList.contains(k),
    );
    return id && kind ? { id, kind } : null;
  }

  function draw() {
    const focused = focusedControl();
    nav.replaceChildren();
    if (items.length === 0) {
      const empty = document.createElement("p");
      empty.className = "muted sidebar-empty";
      empty.textContent = query ? "No chat matches." : "No chats yet.";
      nav.append(empty);
    }
    for (const group of sidebarGroups(items)) {
      const heading = document.createElement("h3");
      heading.textContent = group.label;
      if (group.pinned) heading.className = "pinned-heading";
      nav.append(heading);
      for (const item of group.items) nav.append(entry(item));
    }
    more.hidden = !cursor;
    if (focused) {
      const row = [...nav.querySelectorAll(".conversation")].find(
        (n) => n.dataset.id === focused.id,
      );
      row?.querySelector(`.${focused.kind}`)?.focus();
    }
  }

  function entry(item) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.id = item.id;
    const link = node.querySelector(".conversation-link");
    link.href = `/c/${item.id}`;
    link.textContent = item.title;
    link.title = item.title;
    node.classList.toggle("active", item.id === current);
    if (item.id === current) link.setAttribute("aria-current", "page");
    link.addEventListener("click", (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      onOpen(item.id);
    });
    const pin = node.querySelector(".pin");
    node.classList.toggle("pinned", Boolean(item.pinned));
    pin.setAttribute("aria-pressed", String(Boolean(item.pinned)));
    pin.setAttribute("aria-label", `${item.pinned ? "Unpin" : "Pin"} “${item.title}”`);
    pin.title = item.pinned ? "Unpin" : "Pin";
    pin.addEventListener("click", () => togglePin(item));
    node.querySelector(".rename").addEventListener("click", () => rename(item));
    node.querySelector(".delete").addEventListener("click", () => remove(item));
    return node;
  }

  async function rename(item) {
    const title = window.prompt("Rename the chat", item.title);
    if (!title || !title.trim() || title.trim() === item.title) return;
    try {
      apply(await api.rename(item.id, title.trim()));
      draw();
    } catch (error) {
      alert(error.message);
    }
  }

  async function togglePin(item) {
    try {
      apply(await api.pin(item.id, !item.pinned));
      items = orderConversations(items);
      draw();
      nav.querySelector(`.conversation[data-id="${item.id}"] .pin`)?.focus();
    } catch (error) {
      alert(error.message);
    }
  }

  async function remove(item) {
    if (!window.confirm(`Delete “${item.title}”? This cannot be undone.`)) return;
    try {
      await api.remove(item.id);
      apply(null);
      items = items.filter((other) => other.id !== item.id);
      draw();
      onDeleted(item.id);
    } catch (error) {
      alert(error.message);
    }
  }

  // A change made here must not be undone by a list fetched before it: the fetch in
  // flight is dropped and made again. `changed` (a conversation) replaces its entry.
  function apply(changed) {
    const stale = loading;
    generation++;
    loading = false;
    if (changed) {
      items = items.map((other) => (other.id === changed.id ? { ...other, ...changed } : other));
    }
    if (stale) load();
  }

  async function load({ append = false } = {}) {
    const mine = ++generation;
    loading = true;
    const params = { limit: PAGE };
    if (query) params.q = query;
    if (append && cursor) params.cursor = cursor;
    try {
      const page = await api.conversations(params);
      if (mine !== generation) return;
      items = append ? items.concat(page.items) : page.items;
      cursor = page.next_cursor;
      draw();
    } catch (error) {
      if (mine === generation) alert(error.message);
    } finally {
      if (mine === generation) loading = false;
    }
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      query = search.value.trim();
      load();
    }, 250);
  });
  more.addEventListener("click", () => load({ append: true }));

  return {
    load,
    select(id) {
      current = id;
      draw();
    },
    // A conversation just created or written to moves to the top.
    touch(conversation) {
      items = [conversation, ...items.filter((other) => other.id !== conversation.id)];
      draw();
    },
  };
}
