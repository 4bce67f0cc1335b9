// Admin › Users: list, add (a generated password is shown once), disable or enable,
// change role, reset a password. Each row shows the user's groups and whether they must
// choose a new password at their next login.

import { formatWhen } from "./admin_format.js";
import { $, busy, confirmAction, copyField, el, request, showError } from "./settings_ui.js";

const me = document.querySelector(".user-email")?.dataset.email;

async function load() {
  try {
    const { items } = await request("GET", "/admin/users");
    render(items);
  } catch (error) {
    showError("users-error", error.message);
  }
}

function badge(text, tone) {
  return el("span", { class: `badge ${tone}`, text });
}

function render(users) {
  $("users").replaceChildren(
    ...users.map((user) =>
      el(
        "tr",
        { "data-email": user.email },
        el(
          "td",
          {},
          el("span", { class: "cell-main", text: user.email }),
          user.email === me ? el("span", { class: "muted", text: " (you)" }) : null,
          user.name ? el("div", { class: "muted", text: user.name }) : null,
        ),
        el("td", {}, user.is_admin ? badge("Admin", "accent") : badge("User", "")),
        el("td", { class: "user-groups" }, ...groupLinks(user.groups || [])),
        el(
          "td",
          { class: "badges" },
          user.is_active ? badge("Active", "ok") : badge("Disabled", "danger"),
          user.password_change_required ? badge("Must change password", "warn") : null,
        ),
        el("td", { text: formatWhen(user.created_at) }),
        el("td", { class: "actions" }, ...actions(user)),
      ),
    ),
  );
}

function groupLinks(groups) {
  if (!groups.length) return [el("span", { class: "muted", text: "None" })];
  return groups.map((group) =>
    el("a", { class: "badge", href: `/admin/groups#${group.id}`, text: group.name }),
  );
}

function action(label, name, handler, tone = "") {
  const button = el("button", {
    class: `button small ${tone}`,
    type: "button",
    text: label,
    "aria-label": `${label} ${name}`,
  });
  button.addEventListener("click", () => handler(button));
  return button;
}

function actions(user) {
  const change = (body) => async (button) => {
    showError("users-error", null);
    try {
      await busy(button, () => request("PATCH", `/admin/users/${user.id}`, body));
      await load();
    } catch (error) {
      showError("users-error", error.message);
    }
  };
  const role = user.is_admin
    ? action("Make user", user.email, change({ is_admin: false }))
    : action("Make admin", user.email, change({ is_admin: true }));
  const status = user.is_active
    ? action(
        "Disable",
        user.email,
        async (button) => {
          const sure = await confirmAction(
            `Disable ${user.email}?`,
            "They are logged out everywhere and their API keys stop working until you enable them again.",
            "Disable",
          );
          if (sure) await change({ is_active: false })(button);
        },
        "danger-text",
      )
    : action("Enable", user.email, change({ is_active: true }));
  return [role, action("Reset password", user.email, () => resetPassword(user)), status];
}

function resetPassword(user) {
  const dialog = $("reset-dialog");
  $("reset-email").textContent = user.email;
  $("reset-password").value = "";
  showError("reset-error", null);
  dialog.dataset.user = user.id;
  dialog.showModal();
}

$("reset-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "ok") return;
  event.preventDefault();
  const password = $("reset-password").value;
  if (password && password.length < 8) {
    showError("reset-error", "The password needs at least 8 characters.");
    return;
  }
  const dialog = $("reset-dialog");
  try {
    const reset = await request("POST", `/admin/users/${dialog.dataset.user}/password-reset`, {
      password,
    });
    dialog.close("ok");
    if (reset.password) showPassword($("reset-email").textContent, reset.password);
  } catch (error) {
    showError("reset-error", error.message);
  }
});

// A generated password, shown once for the admin to pass on.
function showPassword(email, password) {
  $("new-password-email").textContent = email;
  $("new-password-value").value = password;
  $("new-password").hidden = false;
  $("new-password-value").focus();
}

$("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("user-email").value.trim();
  const password = $("user-password").value;
  if (!email.includes("@")) {
    showError("users-error", "Enter the user's email address.");
    return;
  }
  if (password && password.length < 8) {
    showError("users-error", "The password needs at least 8 characters (or leave it empty).");
    return;
  }
  showError("users-error", null);
  const body = { email, is_admin: $("user-admin").checked };
  if (password) body.password = password;
  try {
    const created = await busy($("create-user"), () => request("POST", "/admin/users", body));
    $("user-form").reset();
    if (created.password) showPassword(created.email, created.password);
    await load();
  } catch (error) {
    showError("users-error", error.message);
  }
});

$("copy-password").addEventListener("click", () =>
  copyField($("new-password-value"), $("copy-password")),
);
$("dismiss-password").addEventListener("click", () => {
  $("new-password-value").value = "";
  $("new-password").hidden = true;
});

load();
