// Admin › Usage: requests and tokens per user and model, over a chosen period.

import { formatCount, usageTotals } from "./admin_format.js";
import { $, el, request, showError } from "./settings_ui.js";

async function load() {
  const period = $("period").value;
  try {
    const { items } = await request("GET", `/admin/usage?period=${encodeURIComponent(period)}`);
    showError("usage-error", null);
    render(items);
  } catch (error) {
    showError("usage-error", error.message);
  }
}

function render(rows) {
  $("usage").replaceChildren(
    ...rows.map((row) =>
      el(
        "tr",
        {},
        el("td", { text: row.email || row.user_id }),
        el("td", {}, el("code", { text: row.model })),
        el("td", { class: "num", text: formatCount(row.runs) }),
        el("td", { class: "num", text: formatCount(row.input_tokens) }),
        el("td", { class: "num", text: formatCount(row.output_tokens) }),
      ),
    ),
  );
  $("usage-empty").hidden = rows.length > 0;
  const totals = usageTotals(rows);
  const stat = (label, value) =>
    el(
      "div",
      { class: "stat" },
      el("span", { class: "muted", text: label }),
      el("strong", { text: value }),
    );
  $("totals").replaceChildren(
    stat("Requests", formatCount(totals.requests)),
    stat("Input tokens", formatCount(totals.input)),
    stat("Output tokens", formatCount(totals.output)),
    stat("Users", formatCount(totals.users)),
  );
}

$("period").addEventListener("change", load);
load();
