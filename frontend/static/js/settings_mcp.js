// Admin › MCP servers: add (URL, command, or a pasted mcpServers document), see status,
// breaker and tools, change tool policies, re-approve changed tools, reconnect, authorize,
// remove.

import { breakerText, parseArgs, parseEnv, serverStatus } from "./admin_format.js";
import { $, busy, confirmAction, el, request, showError } from "./settings_ui.js";

const POLICIES = ["auto", "ask", "deny"];
const server = (name) => `/admin/mcp/servers/${encodeURIComponent(name)}`;
const open = new Set(); // servers whose tools are shown, kept across reloads
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

async function load() {
  try {
    const { items, problems } = await request("GET", "/admin/mcp/servers");
    render(items);
    $("servers-problems").textContent = problems?.length
      ? `Skipped in the configuration: ${problems.join("; ")}`
      : "";
    $("servers-problems").hidden = !problems?.length;
  } catch (error) {
    showError("mcp-error", error.message);
  }
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

function toolRow(view, tool) {
  const select = el("select", {
    class: "field small",
    "aria-label": `Policy of ${tool.tool}`,
    "data-tool": tool.tool,
  });
  for (const policy of POLICIES) {
    select.append(el("option", { value: policy, text: policy, selected: policy === tool.policy }));
  }
  select.addEventListener("change", async () => {
    showError("mcp-error", null);
    try {
      await request("PUT", `${server(view.name)}/tools/${encodeURIComponent(tool.tool)}/policy`, {
        policy: select.value,
      });
      await load();
    } catch (error) {
      select.value = tool.policy;
      showError("mcp-error", error.message);
    }
  });
  const changed = tool.status === "changed";
  return el(
    "li",
    { class: "mcp-tool", "data-tool": tool.tool },
    el(
      "div",
      { class: "mcp-tool-text" },
      el("code", { text: tool.tool }),
      changed ? el("span", { class: "badge warn", text: "Changed: withheld" }) : null,
      el("p", { class: "muted", text: tool.description || "" }),
    ),
    el(
      "div",
      { class: "mcp-tool-controls" },
      changed
        ? act("Approve", tool.tool, async () => {
            await request(
              "POST",
              `${server(view.name)}/tools/${encodeURIComponent(tool.tool)}/approve`,
            );
            await load();
          })
        : null,
      select,
    ),
  );
}

function serverCard(view) {
  const status = serverStatus(view.health);
  const details = el("details", { class: "mcp-tools", open: open.has(view.name) });
  details.addEventListener("toggle", () => {
    if (details.open) open.add(view.name);
    else open.delete(view.name);
  });
  details.append(
    el("summary", { text: `${view.tools.length} tools` }),
    el("ul", { class: "mcp-tool-list" }, ...view.tools.map((tool) => toolRow(view, tool))),
  );
  const actions = [];
  if (view.health?.state !== "auth_required") {
    actions.push(
      act("Reconnect", view.name, async () => {
        await request("POST", `${server(view.name)}/reconnect`);
        await load();
      }),
    );
  }
  if (view.oauth) {
    actions.push(
      act("Authorize", view.name, async () => {
        const started = await request("POST", `${server(view.name)}/authorize`);
        if (started.authorization_url) {
          window.open(started.authorization_url, "_blank", "noopener");
          authorizing = 60; // follow the connection while the user answers in the other tab
        }
        await load();
      }),
    );
  }
  if (view.source === "api") {
    actions.push(
      act(
        "Remove",
        view.name,
        async () => {
          const sure = await confirmAction(
            `Remove ${view.name}?`,
            "Its tools disappear from every conversation.",
            "Remove",
          );
          if (!sure) return;
          await request("DELETE", server(view.name));
          open.delete(view.name);
          await load();
        },
        "danger-text",
      ),
    );
  }
  const owner = view.scope === "shared" ? "Shared" : "Personal";
  return el(
    "article",
    { class: "server", "data-server": view.name, "aria-label": view.name },
    el(
      "div",
      { class: "server-head" },
      el("h3", { text: view.name }),
      el("span", { class: `badge ${status.tone}`, text: status.label }),
      el("div", { class: "server-actions" }, ...actions),
    ),
    el(
      "dl",
      { class: "server-facts" },
      el("dt", { text: "Transport" }),
      el("dd", { text: view.transport }),
      el("dt", { text: "Owner" }),
      el("dd", { text: `${owner} · ${view.source}` }),
      el("dt", { text: "Breaker" }),
      el("dd", { text: breakerText(view.health) }),
      el("dt", { text: "Tools" }),
      el("dd", { class: "tool-count", text: String(view.tools.length) }),
    ),
    view.health?.last_error && view.health.state !== "ready"
      ? el("p", { class: "server-error", text: view.health.last_error })
      : null,
    details,
  );
}

function render(views) {
  $("servers").replaceChildren(...views.map(serverCard));
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
