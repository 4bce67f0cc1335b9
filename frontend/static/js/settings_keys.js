// Settings › API keys: list, create with scopes and an expiry (the key is shown once), revoke.

import { formatExpiry, formatWhen } from "./admin_format.js";
import { $, busy, confirmAction, copyField, el, request, showError } from "./settings_ui.js";

async function load() {
  try {
    const { items } = await request("GET", "/keys");
    render(items);
  } catch (error) {
    showError("keys-error", error.message);
  }
}

function render(keys) {
  const body = $("keys");
  body.replaceChildren(
    ...keys.map((key) =>
      el(
        "tr",
        { "data-key": key.id, class: key.expired ? "expired" : null },
        el("td", { text: key.name }),
        el("td", {}, el("code", { text: `${key.prefix}…` })),
        el("td", { class: "key-scopes", text: key.scopes.join(", ") }),
        el("td", { text: formatWhen(key.created_at) }),
        el("td", { text: formatExpiry(key.expires_at) }),
        el("td", { text: formatWhen(key.last_used_at) }),
        el("td", { class: "actions" }, revokeButton(key)),
      ),
    ),
  );
  $("keys-empty").hidden = keys.length > 0;
}

function revokeButton(key) {
  const button = el("button", {
    class: "button small danger-text",
    type: "button",
    text: "Revoke",
    "aria-label": `Revoke the key ${key.name}`,
  });
  button.addEventListener("click", async () => {
    const sure = await confirmAction(
      "Revoke this key?",
      `Programs using “${key.name}” (${key.prefix}…) stop working at once.`,
      "Revoke",
    );
    if (!sure) return;
    try {
      await request("DELETE", `/keys/${key.id}`);
      await load();
    } catch (error) {
      showError("keys-error", error.message);
    }
  });
  return button;
}

function chosenScopes() {
  return [...document.querySelectorAll('#key-scopes input[name="scope"]:checked')].map(
    (box) => box.value,
  );
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("key-name").value.trim();
  const scopes = chosenScopes();
  if (!name) {
    showError("keys-error", "Give the key a name.");
    return;
  }
  if (!scopes.length) {
    showError("keys-error", "Choose at least one thing the key may do.");
    return;
  }
  showError("keys-error", null);
  const days = $("key-expiry").value;
  const body = { name, scopes };
  if (days) body.expires_in_days = Number(days);
  try {
    const created = await busy($("create-key"), () => request("POST", "/keys", body));
    $("key-name").value = "";
    $("new-key-value").value = created.key;
    $("new-key").hidden = false;
    $("new-key-value").focus();
    $("new-key-value").select();
    await load();
  } catch (error) {
    showError("keys-error", error.message);
  }
});

$("copy-key").addEventListener("click", () => copyField($("new-key-value"), $("copy-key")));
$("dismiss-key").addEventListener("click", () => {
  $("new-key-value").value = "";
  $("new-key").hidden = true;
  $("key-name").focus();
});

load();
