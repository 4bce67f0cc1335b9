// Settings › Sessions: where the user is logged in; log one out, or all of them.

import { describeAgent, formatWhen } from "./admin_format.js";
import { $, confirmAction, el, request, showError } from "./settings_ui.js";

async function load() {
  try {
    const { items } = await request("GET", "/sessions");
    render([...items].sort((a, b) => Number(b.current) - Number(a.current)));
  } catch (error) {
    showError("sessions-error", error.message);
  }
}

function render(sessions) {
  $("sessions").replaceChildren(
    ...sessions.map((item) => {
      const device = describeAgent(item.user_agent);
      return el(
        "tr",
        { "data-session": item.id, class: item.current ? "current" : null },
        el(
          "td",
          { title: item.user_agent || "" },
          device,
          item.current ? el("span", { class: "badge", text: "This browser" }) : null,
        ),
        el("td", { text: item.address || "—" }),
        el("td", { text: formatWhen(item.created_at) }),
        el("td", { text: formatWhen(item.last_active_at) }),
        el("td", { class: "actions" }, logoutButton(item, device)),
      );
    }),
  );
}

function logoutButton(item, device) {
  const button = el("button", {
    class: "button small danger-text",
    type: "button",
    text: "Log out",
    "aria-label": item.current ? "Log out this browser" : `Log out ${device}`,
  });
  button.addEventListener("click", async () => {
    if (item.current) {
      document.querySelector('form[action$="/logout"]').submit();
      return;
    }
    try {
      await request("DELETE", `/sessions/${item.id}`);
      await load();
    } catch (error) {
      showError("sessions-error", error.message);
    }
  });
  return button;
}

$("logout-all").addEventListener("click", async () => {
  const sure = await confirmAction(
    "Log out everywhere?",
    "Every browser and terminal logged in as you must log in again, this one included.",
    "Log out everywhere",
  );
  if (!sure) return;
  try {
    await request("POST", "/account/logout-all");
  } catch (error) {
    showError("sessions-error", error.message);
    return;
  }
  window.location.assign("/login");
});

load();
