// MCP prompts as slash commands: "/" in the composer lists the servers' prompts; arrows
// move, Enter or Tab picks, Escape closes. A prompt with arguments asks for them inline;
// its messages then replace the "/command" in the composer, ready to edit and send.

const MAX_ITEMS = 50;

// The prompts matching what follows "/" (name, title or server), best first.
export function matchPrompts(prompts, query) {
  const q = query.trim().toLowerCase();
  if (!q) return prompts.slice(0, MAX_ITEMS);
  const scored = [];
  for (const prompt of prompts) {
    const name = prompt.name.toLowerCase();
    const title = (prompt.title || "").toLowerCase();
    const server = (prompt.server || "").toLowerCase();
    let score = -1;
    if (name.startsWith(q)) score = 0;
    else if (title.startsWith(q)) score = 1;
    else if (name.includes(q) || title.includes(q)) score = 2;
    else if (server.startsWith(q) || `${server}:${name}`.includes(q)) score = 3;
    if (score >= 0) scored.push({ prompt, score });
  }
  scored.sort((a, b) => a.score - b.score || a.prompt.name.localeCompare(b.prompt.name));
  return scored.slice(0, MAX_ITEMS).map((s) => s.prompt);
}

// The "/query" being typed, when the composer holds only that.
export function slashQuery(text) {
  const match = /^\/([^\s/]*)$/.exec(text);
  return match ? match[1] : null;
}

function partText(part) {
  if (!part) return "";
  if (part.type === "text") return part.text || "";
  if (part.type === "resource") {
    return part.text ? `[Resource ${part.uri}]\n${part.text}` : `[Resource ${part.uri}]`;
  }
  if (part.type === "resource_link") return `[Resource link ${part.uri}]`;
  return "";
}

// A prompt's messages as the text to put in the composer.
export function promptText(messages) {
  const parts = messages.map((message) => {
    const content = Array.isArray(message.content) ? message.content : [message.content];
    const text = content.map(partText).filter(Boolean).join("\n\n");
    return message.role === "assistant" && text ? `Assistant: ${text}` : text;
  });
  return parts.filter(Boolean).join("\n\n");
}

function requiredMark() {
  const mark = element("span", "required", " *");
  mark.setAttribute("aria-hidden", "true");
  return mark;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function createSlashMenu({ textarea, menu, loadPrompts, getPrompt, onInsert, onError }) {
  let prompts = null;
  let loading = null;
  let items = [];
  let active = 0;
  let asking = null; // the prompt whose arguments are being asked

  menu.setAttribute("role", "listbox");
  menu.setAttribute("aria-label", "Prompts");
  // A multi-line textbox may not carry aria-expanded (axe: aria-allowed-attr); the menu it
  // controls and the active option (aria-activedescendant) say what is offered.
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", menu.id);

  function close() {
    menu.hidden = true;
    menu.replaceChildren();
    asking = null;
    items = [];
    textarea.removeAttribute("aria-activedescendant");
  }

  function isOpen() {
    return !menu.hidden;
  }

  function highlight(index) {
    active = Math.max(0, Math.min(index, items.length - 1));
    menu.querySelectorAll("[role=option]").forEach((node, i) => {
      node.setAttribute("aria-selected", String(i === active));
      if (i === active) {
        textarea.setAttribute("aria-activedescendant", node.id);
        node.scrollIntoView?.({ block: "nearest" });
      }
    });
  }

  function showList(query) {
    items = matchPrompts(prompts || [], query);
    menu.replaceChildren();
    menu.setAttribute("role", "listbox");
    if (!items.length) {
      const empty = prompts?.length ? "No prompt matches." : "No prompts from your MCP servers.";
      menu.append(element("div", "slash-empty muted", empty));
    }
    items.forEach((prompt, i) => {
      const option = element("div", "slash-item");
      option.id = `slash-option-${i}`;
      option.setAttribute("role", "option");
      const head = element("div", "slash-name");
      head.append(element("strong", "", `/${prompt.name}`));
      head.append(element("span", "muted", ` ${prompt.server}`));
      option.append(head);
      const about =
        prompt.title && prompt.title !== prompt.name ? prompt.title : prompt.description;
      if (about) option.append(element("div", "slash-about muted", about));
      option.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the composer
        choose(prompt);
      });
      menu.append(option);
    });
    menu.hidden = false;
    highlight(0);
  }

  async function insert(prompt, args) {
    try {
      const filled = await getPrompt({ server: prompt.server, name: prompt.name, arguments: args });
      close();
      onInsert(promptText(filled.messages || []), prompt);
    } catch (error) {
      onError(error.message);
    }
  }

  function askArguments(prompt) {
    asking = prompt;
    items = [];
    menu.replaceChildren();
    menu.setAttribute("role", "dialog");
    textarea.removeAttribute("aria-activedescendant");
    const form = element("form", "slash-args");
    form.noValidate = true;
    form.append(element("div", "slash-name", `/${prompt.name}`));
    const inputs = [];
    prompt.arguments.forEach((argument, i) => {
      const id = `slash-arg-${i}`;
      const label = element("label", "field-label", argument.name);
      label.htmlFor = id;
      const input = element("input");
      input.id = id;
      input.name = argument.name;
      input.autocomplete = "off";
      if (argument.required) {
        label.append(requiredMark());
        input.setAttribute("aria-required", "true");
      }
      if (argument.description) input.placeholder = argument.description;
      const error = element("p", "field-error");
      error.hidden = true;
      const row = element("div", "field");
      row.append(label, input, error);
      form.append(row);
      inputs.push({ argument, input, error });
    });
    const actions = element("div", "elicitation-actions");
    const cancel = element("button", "button subtle", "Cancel");
    cancel.type = "button";
    const submit = element("button", "button primary", "Insert");
    submit.type = "submit";
    actions.append(cancel, submit);
    form.append(actions);
    cancel.addEventListener("click", () => {
      close();
      textarea.focus();
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
        textarea.focus();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      let first = null;
      for (const { argument, input, error } of inputs) {
        const value = input.value.trim();
        const missing = argument.required && !value;
        error.textContent = missing ? `${argument.name} is required.` : "";
        error.hidden = !missing;
        input.toggleAttribute("aria-invalid", missing);
        if (missing) first = first || input;
        if (value) values[argument.name] = value;
      }
      if (first) first.focus();
      else insert(prompt, values);
    });
    menu.append(form);
    menu.hidden = false;
    inputs[0]?.input.focus();
  }

  function choose(prompt) {
    if (prompt.arguments?.length) askArguments(prompt);
    else insert(prompt, {});
  }

  async function refresh() {
    const query = slashQuery(textarea.value);
    if (query === null) {
      if (isOpen() && !asking) close();
      return;
    }
    if (asking) return;
    if (prompts === null) {
      showLoading();
      try {
        await load();
      } catch (error) {
        close();
        onError(error.message);
        return;
      }
    }
    if (slashQuery(textarea.value) === query) showList(query);
  }

  function load() {
    loading =
      loading ||
      loadPrompts().then(
        (answer) => {
          prompts = answer.items || [];
        },
        (error) => {
          loading = null;
          throw error;
        },
      );
    return loading;
  }

  function showLoading() {
    menu.replaceChildren(element("div", "slash-empty muted", "Loading prompts…"));
    menu.hidden = false;
  }

  textarea.addEventListener("input", refresh);
  // Fetched ahead, on the first focus, so that "/" opens at once; a failure shows on "/".
  textarea.addEventListener("focus", () => prompts === null && load().catch(() => {}), {
    once: true,
  });
  // Closed when the focus leaves the composer (a click on an option keeps it there).
  textarea.addEventListener("blur", () => {
    setTimeout(() => {
      if (isOpen() && !asking && document.activeElement !== textarea) close();
    }, 150);
  });
  // Registered before the composer's own Enter handler, so that Enter picks a prompt.
  textarea.addEventListener("keydown", (event) => {
    if (!isOpen() || asking) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === "Tab") && items.length) {
      event.preventDefault();
      event.stopImmediatePropagation();
      choose(items[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  close();
  return { close, isOpen };
}
