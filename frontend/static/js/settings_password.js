// Settings › Password: change it, with the rule checked before sending and clear errors.

import { $, busy, request, showError } from "./settings_ui.js";

const form = $("password-form");
const minimum = Number(form.dataset.min) || 8;

function problem(current, next, repeat) {
  if (!current) return "Enter your current password.";
  if (next.length < minimum) return `The new password needs at least ${minimum} characters.`;
  if (next === current) return "The new password is the same as the current one.";
  if (next !== repeat) return "The two new passwords differ.";
  return null;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("password-done").hidden = true;
  const current = $("current-password").value;
  const next = $("new-password").value;
  const wrong = problem(current, next, $("repeat-password").value);
  showError("password-error", wrong);
  if (wrong) return;
  try {
    await busy($("change-password"), () =>
      request("POST", "/account/password", { current_password: current, new_password: next }),
    );
  } catch (error) {
    showError("password-error", error.message);
    return;
  }
  form.reset();
  $("password-done").hidden = false;
});
