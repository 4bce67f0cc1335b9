// Admin › MCP servers: add (URL, command, or a pasted mcpServers document), see status,
// breaker and tools, change tool policies, re-approve changed tools, reconnect, authorize,
// remove.

import { breakerText, parseArgs, parseEnv, serverStatus } from "./admin_format.js";
import { $, arrange, busy, confirmAction, el, request, showError } from "./settings_ui.js";

const POLICIES = ["auto", "ask", "deny"];
const server = (name) => `/admin/mcp/servers/${encodeURIComponent(name)}`;
const SETTLING = new Set(["starting", "reconnecting"]);
let poll = null; // while a server is connecting or listing its tools, the list refreshes itself
let emptyChecks = 0; // a ready server may have no tools at all: look a few times only
let authorizing = 0; // refreshes left while an authorization is under way in another tab

// -- tabs -------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll('[role="tab"]')];

function select(tab) {
  for (const other of tabs) {
    const chosen = other === tab;
    other.setAttribute("aria-selected", String(chosen));
    other.tabIndex = chosen ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !chosen;
  }
  tab.focus();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => select(tab));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    select(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
  });
}

// -- adding -----------------------------------------------------------------------------

async function add(form, entry) {
  showError("mcp-error", null);
  $("import-results").hidden = true;
  try {
    await busy(form.querySelector('[type="submit"]'), () =>
      request("POST", "/admin/mcp/servers", { ...entry, shared: true }),
    );
    form.reset();
    await load();
  } catch (error) {
    showError("mcp-error", error.message);
  }
}

$("add-http").addEventListener("submit", (event) => {
  event.preventDefault();
  const entry = { name: $("http-name").value.trim(), url: $("http-url").value.trim() };
  if (!entry.name || !entry.url) {
    showError("mcp-error", "Give the server a name and its URL.");
    return;
  }
  if ($("http-oauth").checked) entry.auth = { type: "oauth" };
  add(event.target, entry);
});

$("add-stdio").addEventListener("submit", (event) => {
  event.preventDefault();
  const entry = { name: $("stdio-name").value.trim(), command: $("stdio-command").value.trim() };
  if (!entry.name || !entry.command) {
    showError("mcp-error", "Give the server a name and the command that starts it.");
    return;
  }
  try {
    entry.args = parseArgs($("stdio-args").value);
    entry.env = parseEnv($("stdio-env").value);
  } catch (error) {
    showError("mcp-error", error.message);
    return;
  }
  add(event.target, entry);
});

$("add-json").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("mcp-error", null);
  const list = $("import-results");
  list.hidden = true;
  try {
    const { results } = await busy(event.target.querySelector('[type="submit"]'), () =>
      request("POST", "/admin/mcp/import", { document: $("json-document").value, shared: true }),
    );
    list.replaceChildren(
      ...results.map((result) =>
        el(
          "li",
          { class: result.ok ? "ok" : "failed", "data-server": result.name },
          el("strong", { text: result.name }),
          el("span", { text: result.ok ? " added" : ` not added: ${result.error}` }),
        ),
      ),
    );
    list.hidden = false;
    if (results.every((result) => result.ok)) event.target.reset();
    await load();
  } catch (error) {
    showError("mcp-error", error.message);
  }
});

// -- the list ---------------------------------------------------------------------------
//
// The list refreshes itself every second while a server connects or is being authorized.
// Each card and tool row is made once per server (and tool) and then updated in place, so a
// refresh never replaces a button under the pointer or takes the focus away from it.

const cards = new Map(); // server name → its card, kept across refreshes
let loads = 0; // the latest load; an older answer that arrives late is dropped

async function load() {
  const ticket = ++loads;
  try {
    const { items, problems } = await request("GET", "/admin/mcp/servers");
    if (ticket !== loads) return;
    render(items);
    $("servers-problems").textContent = problems?.length
      ? `Skipped in the configuration: ${problems.join("; ")}`
      : "";
    $("servers-problems").hidden = !problems?.length;
  } catch (error) {
    showError("mcp-error", error.message);
  }
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function act(label, name, handler, tone = "") {
  const button = el("button", {
    class: `button small ${tone}`,
    type: "button",
    text: label,
    "aria-label": `${label} ${name}`,
  });
  button.addEventListener("click", async () => {
    showError("mcp-error", null);
    try {
      await busy(button, handler);
    } catch (error) {
      showError("mcp-error", error.message);
    }
  });
  return button;
}

function toolRow(serverName, name) {
  let current = null; // the tool as last listed
  const select = el("select", {
    class: "field small",
    "aria-label": `Policy of ${name}`,
    "data-tool": name,
  });
  for (const policy of POLICIES) select.append(el("option", { value: policy, text: policy }));
  const path = `${server(serverName)}/tools/${encodeURIComponent(name)}`;
  select.addEventListener("change", async () => {
    showError("mcp-error", null);
    try {
      await request("PUT", `${path}/policy`, { policy: select.value });
      await load();
    } catch (error) {
      select.value = current.policy;
      showError("mcp-error", error.message);
    }
  });
  const changedBadge = el("span", { class: "badge warn", text: "Changed: withheld" });
  const approve = act("Approve", name, async () => {
    await request("POST", `${path}/approve`);
    await load();
  });
  const description = el("p", { class: "muted" });
  const label = el("code", { text: name });
  const text = el("div", { class: "mcp-tool-text" }, label);
  const controls = el("div", { class: "mcp-tool-controls" });
  const node = el("li", { class: "mcp-tool", "data-tool": name }, text, controls);
  const update = (tool) => {
    current = tool;
    const changed = tool.status === "changed";
    setText(description, tool.description || "");
    if (select.value !== tool.policy) select.value = tool.policy;
    arrange(text, [label, changed ? changedBadge : null, description]);
    arrange(controls, [changed ? approve : null, select]);
  };
  return { node, update };
}

function serverCard(name) {
  const badge = el("span", { class: "badge" });
  const reconnect = act("Reconnect", name, async () => {
    await request("POST", `${server(name)}/reconnect`);
    await load();
  });
  const authorize = act("Authorize", name, async () => {
    const started = await request("POST", `${server(name)}/authorize`);
    if (started.authorization_url) {
      window.open(started.authorization_url, "_blank", "noopener");
      authorizing = 60; // follow the connection while the user answers in the other tab
    }
    await load();
  });
  const remove = act(
    "Remove",
    name,
    async () => {
      const sure = await confirmAction(
        `Remove ${name}?`,
        "Its tools disappear from every conversation.",
        "Remove",
      );
      if (!sure) return;
      await request("DELETE", server(name));
      await load();
    },
    "danger-text",
  );
  const actions = el("div", { class: "server-actions" });
  const transport = el("dd");
  const owner = el("dd");
  const breaker = el("dd");
  const count = el("dd", { class: "tool-count" });
  const problem = el("p", { class: "server-error" });
  const summary = el("summary");
  const list = el("ul", { class: "mcp-tool-list" });
  const details = el("details", { class: "mcp-tools" }, summary, list);
  const rows = new Map(); // tool name → its row
  const facts = el(
    "dl",
    { class: "server-facts" },
    el("dt", { text: "Transport" }),
    transport,
    el("dt", { text: "Owner" }),
    owner,
    el("dt", { text: "Breaker" }),
    breaker,
    el("dt", { text: "Tools" }),
    count,
  );
  const head = el("div", { class: "server-head" }, el("h3", { text: name }), badge, actions);
  const node = el("article", { class: "server", "data-server": name, "aria-label": name });

  const update = (view) => {
    const status = serverStatus(view.health);
    setText(badge, status.label);
    const tone = `badge ${status.tone}`;
    if (badge.className !== tone) badge.className = tone;
    arrange(actions, [
      view.health?.state !== "auth_required" ? reconnect : null,
      view.oauth ? authorize : null,
      view.source === "api" ? remove : null,
    ]);
    setText(transport, view.transport);
    setText(owner, `${view.scope === "shared" ? "Shared" : "Personal"} · ${view.source}`);
    setText(breaker, breakerText(view.health));
    setText(count, String(view.tools.length));
    const failing = view.health?.last_error && view.health.state !== "ready";
    setText(problem, failing ? view.health.last_error : "");
    setText(summary, `${view.tools.length} tools`);
    const listed = new Set(view.tools.map((tool) => tool.tool));
    for (const tool of rows.keys()) if (!listed.has(tool)) rows.delete(tool);
    for (const tool of view.tools) {
      if (!rows.has(tool.tool)) rows.set(tool.tool, toolRow(name, tool.tool));
      rows.get(tool.tool).update(tool);
    }
    arrange(
      list,
      view.tools.map((tool) => rows.get(tool.tool).node),
    );
    arrange(node, [head, facts, failing ? problem : null, details]);
  };
  return { node, update };
}

function render(views) {
  const listed = new Set(views.map((view) => view.name));
  for (const name of cards.keys()) if (!listed.has(name)) cards.delete(name);
  for (const view of views) {
    if (!cards.has(view.name)) cards.set(view.name, serverCard(view.name));
    cards.get(view.name).update(view);
  }
  arrange(
    $("servers"),
    views.map((view) => cards.get(view.name).node),
  );
  $("servers-empty").hidden = views.length > 0;
  clearTimeout(poll);
  const settling = views.some((view) => SETTLING.has(view.health?.state));
  const listing = views.some((view) => view.health?.state === "ready" && !view.tools.length);
  emptyChecks = listing ? emptyChecks + 1 : 0;
  const waiting = views.some((view) => view.health?.state === "auth_required");
  authorizing = waiting ? Math.max(0, authorizing - 1) : 0;
  if (settling || (listing && emptyChecks <= 10) || authorizing) poll = setTimeout(load, 1000);
}

$("refresh-servers").addEventListener("click", load);
load();
