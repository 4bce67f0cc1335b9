// Admin › Audit log: records newest first, filtered by user, action and time; older pages
// on demand; the same filters for the JSON lines download.

import { auditDetail, auditOutcome, auditQuery } from "./admin_format.js";
import { $, busy, el, request, showError } from "./settings_ui.js";

const form = $("audit-filters");
const download = $("audit-download");
const exportUrl = download.getAttribute("href");
let cursor = null;

function fields() {
  return Object.fromEntries(new FormData(form).entries());
}

const when = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

function row(record) {
  const outcome = auditOutcome(record.outcome);
  const target = record.target_type ? `${record.target_type} ${record.target_id || ""}` : "";
  return el(
    "tr",
    {},
    el("td", { class: "audit-when", text: when.format(new Date(record.at)) }),
    el("td", { class: "audit-who", text: record.actor_email || record.actor_id || "—" }),
    el(
      "td",
      {},
      el("code", { class: "audit-action", text: record.action }),
      target ? el("span", { class: "audit-target", title: target, text: target.trim() }) : null,
    ),
    el("td", {}, el("span", { class: `badge ${outcome.tone}`, text: outcome.text })),
    el("td", {
      class: "audit-detail",
      title: JSON.stringify(record.detail, null, 1),
      text: auditDetail(record.detail),
    }),
    el(
      "td",
      { class: "audit-from" },
      record.address || "—",
      record.trace_id
        ? el("code", {
            class: "audit-trace",
            title: record.trace_id,
            text: record.trace_id.slice(0, 12),
          })
        : null,
    ),
  );
}

async function load(more = false) {
  const query = auditQuery(fields(), { limit: 50, cursor: more ? cursor : null });
  try {
    const page = await request("GET", `/admin/audit?${query}`);
    showError("audit-error", null);
    const rows = page.items.map(row);
    if (more) $("audit").append(...rows);
    else $("audit").replaceChildren(...rows);
    cursor = page.next_cursor;
    $("audit-more").hidden = !cursor;
    $("audit-empty").hidden = $("audit").children.length > 0;
  } catch (error) {
    showError("audit-error", error.message);
  }
}

function filtersChanged() {
  const query = auditQuery(fields());
  download.setAttribute("href", query ? `${exportUrl}?${query}` : exportUrl);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  filtersChanged();
  busy($("audit-apply"), () => load());
});
form.addEventListener("reset", () =>
  setTimeout(() => {
    filtersChanged();
    load();
  }),
);
form.addEventListener("input", filtersChanged);
$("audit-more").addEventListener("click", () => busy($("audit-more"), () => load(true)));
load();
