// MCP resources as attachments: a picker (its own button in the composer) lists the
// resources of the user's servers; the chosen ones show as chips and go with the next
// message, whose text part the orchestrator makes from each resource (uri, name, bounded).

const MAX_ATTACHED = 20; // what the API accepts on one message

export function resourceLabel(resource) {
  return resource.title || resource.name || resource.uri.split("/").pop() || resource.uri;
}

// The resources matching a search (name, title, uri or server); templates need arguments
// we cannot ask for here, so they are left out.
export function filterResources(resources, query) {
  const q = query.trim().toLowerCase();
  return resources.filter((resource) => {
    if (resource.template) return false;
    if (!q) return true;
    return [resource.name, resource.title, resource.uri, resource.server]
      .filter(Boolean)
      .some((value) => value.toLowerCase().includes(q));
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function createResourcePicker({ button, panel, chips, loadResources, onError }) {
  let resources = null;
  let attached = [];
  let shown = [];
  let active = 0;

  const search = element("input", "resource-search");
  search.type = "search";
  search.placeholder = "Search resources";
  search.setAttribute("aria-label", "Search resources");
  search.autocomplete = "off";
  const list = element("div", "resource-list");
  list.id = `${panel.id}-list`;
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Resources");
  search.setAttribute("aria-controls", list.id);
  panel.append(search, list);
  panel.hidden = true;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-haspopup", "listbox");

  function drawChips() {
    chips.replaceChildren();
    chips.hidden = attached.length === 0;
    for (const resource of attached) {
      const chip = element("span", "chip chip-resource");
      chip.title = resource.uri;
      chip.append(element("span", "", resourceLabel(resource)));
      const remove = element("button", "chip-remove", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${resourceLabel(resource)}`);
      remove.addEventListener("click", () => {
        attached = attached.filter((r) => r !== resource);
        drawChips();
      });
      chip.append(remove);
      chips.append(chip);
    }
  }

  function highlight(index) {
    active = Math.max(0, Math.min(index, shown.length - 1));
    list.querySelectorAll("[role=option]").forEach((node, i) => {
      node.setAttribute("aria-selected", String(i === active));
      if (i === active) {
        search.setAttribute("aria-activedescendant", node.id);
        node.scrollIntoView?.({ block: "nearest" });
      }
    });
  }

  function drawList() {
    shown = filterResources(resources || [], search.value);
    list.replaceChildren();
    if (!shown.length) {
      list.append(
        element(
          "div",
          "slash-empty muted",
          resources?.length ? "No resource matches." : "Your MCP servers offer no resources.",
        ),
      );
    }
    shown.forEach((resource, i) => {
      const option = element("div", "slash-item");
      option.id = `${panel.id}-option-${i}`;
      option.setAttribute("role", "option");
      const taken = attached.some((r) => r.server === resource.server && r.uri === resource.uri);
      option.setAttribute("aria-checked", String(taken));
      const head = element("div", "slash-name");
      head.append(element("strong", "", resourceLabel(resource)));
      head.append(element("span", "muted", ` ${resource.server}`));
      option.append(
        head,
        element("div", "slash-about muted", resource.description || resource.uri),
      );
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        pick(resource);
      });
      list.append(option);
    });
    highlight(0);
  }

  function pick(resource) {
    const taken = attached.some((r) => r.server === resource.server && r.uri === resource.uri);
    if (!taken) {
      if (attached.length >= MAX_ATTACHED) {
        onError(`At most ${MAX_ATTACHED} resources go with one message.`);
        return;
      }
      attached.push(resource);
      drawChips();
    }
    close();
    button.focus();
  }

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }

  async function open() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    search.value = "";
    if (resources === null) {
      list.replaceChildren(element("div", "slash-empty muted", "Loading…"));
      try {
        resources = (await loadResources()).items || [];
      } catch (error) {
        close();
        onError(error.message);
        return;
      }
    }
    drawList();
    search.focus();
  }

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  search.addEventListener("input", drawList);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (shown[active]) pick(shown[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
      button.focus();
    }
  });
  panel.addEventListener("focusout", (event) => {
    if (!panel.contains(event.relatedTarget) && event.relatedTarget !== button) close();
  });
  drawChips();

  return {
    // The resources for the message being sent; the composer is cleared of them.
    take() {
      const taken = attached;
      attached = [];
      drawChips();
      return taken;
    },
    // Put them back (the message could not be sent).
    restore(list) {
      attached = list;
      drawChips();
    },
    count: () => attached.length,
  };
}
