// Admin › Groups: list, add, rename or describe, delete; and for one group its members,
// the models they may use, its tool rules and the shared servers limited to it.
// A failed change shows the orchestrator's message and leaves what was typed in place.

import { busy, $, confirmAction, el, request, showError } from "./settings_ui.js";
import { groupSummary, modelChoices, ruleLabel, toolChoices } from "./admin_format.js";

const state = { groups: [], users: [], tools: [], models: [], servers: [], open: null };

const opened = () => state.groups.find((group) => group.id === state.open) || null;

function badge(text, tone = "") {
  return el("span", { class: `badge ${tone}`, text });
}

function button(label, target, handler, tone = "") {
  const node = el("button", {
    class: `button small ${tone}`,
    type: "button",
    text: label,
    "aria-label": `${label} ${target}`,
  });
  node.addEventListener("click", () => handler(node));
  return node;
}

// What the pickers offer: each list is optional (a failure leaves typing possible).
async function loadChoices() {
  const [users, tools, models, servers] = await Promise.allSettled([
    request("GET", "/admin/users"),
    request("GET", "/admin/tools"),
    request("GET", "/models"),
    request("GET", "/admin/mcp/servers"),
  ]);
  if (users.status === "fulfilled") state.users = users.value.items;
  if (tools.status === "fulfilled") state.tools = tools.value.items;
  if (models.status === "fulfilled") state.models = models.value.items.map((m) => m.id);
  if (servers.status === "fulfilled") {
    state.servers = servers.value.items.filter((s) => s.scope === "shared").map((s) => s.name);
  }
}

async function load() {
  try {
    const { items } = await request("GET", "/admin/groups");
    state.groups = items;
    renderList();
    if (state.open && !opened()) closeEditor();
    return true;
  } catch (error) {
    showError("groups-error", error.message);
    return false;
  }
}

function renderList() {
  $("groups-empty").hidden = state.groups.length > 0;
  $("groups").replaceChildren(
    ...state.groups.map((group) => {
      const summary = groupSummary(group);
      return el(
        "tr",
        { "data-group": group.name, "aria-current": group.id === state.open ? "true" : null },
        el(
          "td",
          {},
          el("span", { class: "cell-main", text: group.name }),
          group.source === "oidc" ? badge("From SSO") : null,
          group.description ? el("div", { class: "muted", text: group.description }) : null,
        ),
        el("td", { text: summary.members }),
        el("td", {}, badge(summary.models, group.models === null ? "" : "accent")),
        el("td", { text: summary.rules }),
        el(
          "td",
          { class: "actions" },
          button("Edit", group.name, () => openEditor(group.id)),
          button("Delete", group.name, (node) => remove(group, node), "danger-text"),
        ),
      );
    }),
  );
}

async function remove(group, node) {
  const sure = await confirmAction(
    `Delete the group ${group.name}?`,
    "Its members stay, but lose its model list, tool rules and server access at once.",
    "Delete",
  );
  if (!sure) return;
  showError("groups-error", null);
  try {
    await busy(node, () => request("DELETE", `/admin/groups/${group.id}`));
    if (state.open === group.id) closeEditor();
    await load();
  } catch (error) {
    showError("groups-error", error.message);
  }
}

// -- the editor ---------------------------------------------------------------------------

function openEditor(id) {
  state.open = id;
  const group = opened();
  if (!group) return;
  history.replaceState(null, "", `#${id}`);
  showError("editor-error", null);
  $("group-editor").hidden = false;
  $("edit-name").value = group.name;
  $("edit-description").value = group.description;
  $("member-email").value = "";
  $("rule-server").value = "";
  $("rule-tool").value = "";
  renderModels(group.models);
  renderParts(group);
  renderList();
  scrollToEditor();
  $("edit-name").focus({ preventScroll: true });
}

// Only the settings body scrolls (scrollIntoView would also shift the clipped page).
function scrollToEditor() {
  const body = document.querySelector(".settings-body");
  const top = $("group-editor").getBoundingClientRect().top - body.getBoundingClientRect().top;
  body.scrollTo({ top: body.scrollTop + top - 8 });
}

function closeEditor() {
  state.open = null;
  $("group-editor").hidden = true;
  history.replaceState(null, "", location.pathname);
  renderList();
}

// Everything but the typed fields, which a refresh must not overwrite.
function renderParts(group) {
  $("editor-heading").textContent = `Group: ${group.name}`;
  const members = group.members.map((member) =>
    el(
      "li",
      { "data-email": member.email },
      el("span", { text: member.email }),
      button("Remove", `${member.email} from ${group.name}`, (node) =>
        change(node, "DELETE", `/members/${member.id}`),
      ),
    ),
  );
  $("members").replaceChildren(
    ...(members.length ? members : [el("li", { class: "muted", text: "No members yet." })]),
  );
  const taken = new Set(group.members.map((member) => member.id));
  $("user-options").replaceChildren(
    ...state.users
      .filter((user) => !taken.has(user.id))
      .map((user) => el("option", { value: user.email })),
  );
  $("rules").replaceChildren(
    ...(group.policies.length
      ? group.policies.map((rule) =>
          el(
            "tr",
            { "data-rule": `${rule.server}/${rule.tool}` },
            el("td", { class: "mono", text: rule.server }),
            el("td", { class: "mono", text: rule.tool === "*" ? "* (every tool)" : rule.tool }),
            el("td", {}, badge(ruleLabel(rule.policy), rule.policy === "deny" ? "danger" : "warn")),
            el(
              "td",
              { class: "actions" },
              button("Remove", `the rule on ${rule.server} ${rule.tool}`, (node) =>
                change(
                  node,
                  "DELETE",
                  `/policies/${encodeURIComponent(rule.server)}/${encodeURIComponent(rule.tool)}`,
                ),
              ),
            ),
          ),
        )
      : [
          el(
            "tr",
            {},
            el("td", { colspan: "4", class: "muted", text: "No rules: every tool as usual." }),
          ),
        ]),
  );
  const servers = [...new Set(state.tools.map((tool) => tool.server))].sort();
  $("server-options").replaceChildren(...servers.map((name) => el("option", { value: name })));
  renderToolOptions();
  $("group-servers").replaceChildren(
    ...(group.servers.length
      ? group.servers.map((name) =>
          el(
            "li",
            { "data-server": name },
            el("span", { class: "mono", text: name }),
            button("Remove", `${name} from ${group.name}`, (node) =>
              change(node, "DELETE", `/servers/${encodeURIComponent(name)}`),
            ),
          ),
        )
      : [el("li", { class: "muted", text: "No shared server is limited to this group." })]),
  );
  const free = state.servers.filter((name) => !group.servers.includes(name));
  $("server-name").replaceChildren(
    el("option", { value: "", text: free.length ? "Choose a shared server" : "No shared server" }),
    ...free.map((name) => el("option", { value: name, text: name })),
  );
  $("server-name").disabled = !free.length;
  $("add-server").disabled = !free.length;
}

function renderToolOptions() {
  const tools = toolChoices(state.tools, $("rule-server").value.trim());
  $("tool-options").replaceChildren(...tools.map((name) => el("option", { value: name })));
}

// The model picker: checked boxes are the group's list; "Any model" sends null.
function renderModels(models, extra = []) {
  const checked = new Set(models || []);
  $("models-any").checked = models === null;
  $("models-only").checked = models !== null;
  $("model-options").replaceChildren(
    ...modelChoices(state.models, models, extra).map((name, index) =>
      el(
        "label",
        { class: "check" },
        el("input", {
          type: "checkbox",
          name: "model",
          value: name,
          id: `model-${index}`,
          checked: checked.has(name),
        }),
        el("span", { class: "mono", text: name }),
      ),
    ),
  );
  syncModels();
}

function syncModels() {
  const any = $("models-any").checked;
  for (const box of $("model-options").querySelectorAll("input")) box.disabled = any;
}

function chosenModels() {
  if ($("models-any").checked) return null;
  return [...$("model-options").querySelectorAll("input:checked")].map((box) => box.value);
}

// One change to the open group; the answer is the group as it now stands.
async function change(node, method, path, body) {
  const group = opened();
  if (!group) return false;
  showError("editor-error", null);
  try {
    const updated = await busy(node, () =>
      request(method, `/admin/groups/${group.id}${path}`, body),
    );
    state.groups = state.groups.map((g) => (g.id === updated.id ? updated : g));
    renderParts(updated);
    renderList();
    return updated;
  } catch (error) {
    showError("editor-error", error.message);
    if (error.status === 404) {
      await load(); // deleted elsewhere: the list says so, and the editor closes
      if (!opened()) showError("groups-error", error.message);
    }
    return false;
  }
}

$("details-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("edit-name").value.trim();
  if (!name) {
    showError("editor-error", "A group needs a name.");
    return;
  }
  await change($("save-details"), "PATCH", "", {
    name,
    description: $("edit-description").value.trim(),
  });
});

$("member-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("member-email").value.trim().toLowerCase();
  const user = state.users.find((u) => u.email.toLowerCase() === email);
  if (!user) {
    showError("editor-error", email ? `No user has the email ${email}.` : "Enter a user's email.");
    return;
  }
  if (await change($("add-member"), "POST", "/members", { user_id: user.id })) {
    $("member-email").value = "";
  }
});

$("models-any").addEventListener("change", syncModels);
$("models-only").addEventListener("change", syncModels);
$("add-model").addEventListener("click", () => {
  const name = $("model-other").value.trim();
  if (!name) return;
  const models = chosenModels() || [];
  const extra = [...$("model-options").querySelectorAll("input")].map((box) => box.value);
  renderModels([...models, name], [...extra, name]);
  $("model-other").value = "";
});
$("model-other").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    $("add-model").click();
  }
});

$("models-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const models = chosenModels();
  if (models !== null && models.length === 0) {
    const sure = await confirmAction(
      "Allow no model at all?",
      "No model is checked: the group's members could not chat unless another group allows one.",
      "Allow none",
    );
    if (!sure) return;
  }
  await change($("save-models"), "PATCH", "", { models });
});

$("rule-server").addEventListener("input", renderToolOptions);
$("rule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const server = $("rule-server").value.trim();
  const tool = $("rule-tool").value.trim() || "*";
  if (!server) {
    showError("editor-error", "Name the server the rule is for.");
    return;
  }
  const policy = $("rule-policy").value;
  if (await change($("add-rule"), "PUT", "/policies", { server, tool, policy })) {
    $("rule-server").value = "";
    $("rule-tool").value = "";
  }
});

$("server-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("server-name").value;
  if (!name) {
    showError("editor-error", "Choose a shared server.");
    return;
  }
  await change($("add-server"), "PUT", `/servers/${encodeURIComponent(name)}`);
});

$("close-editor").addEventListener("click", closeEditor);

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("group-name").value.trim();
  if (!name) {
    showError("groups-error", "Give the group a name.");
    return;
  }
  showError("groups-error", null);
  try {
    const created = await busy($("create-group"), () =>
      request("POST", "/admin/groups", { name, description: $("group-description").value.trim() }),
    );
    $("group-form").reset();
    await load();
    openEditor(created.id);
  } catch (error) {
    showError("groups-error", error.message);
  }
});

await loadChoices();
if ((await load()) && location.hash.length > 1) openEditor(location.hash.slice(1));
