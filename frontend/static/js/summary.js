// A compacted conversation: where the divider "Earlier messages were summarised" goes,
// and the divider itself, which opens to show the summary. The turns it covers stay above.

// The summary in effect (the one covering the most) and the message it comes before.
export function placeSummary(messages, summaries) {
  if (!summaries || !summaries.length) return null;
  const index = new Map(messages.map((message, at) => [message.id, at]));
  let best = null;
  for (const summary of summaries) {
    const at = index.get(summary.last_message_id);
    if (at === undefined || at + 1 >= messages.length) continue;
    if (!best || at > best.at) best = { summary, at };
  }
  if (!best) return null;
  return { summary: best.summary, before: messages[best.at + 1].id };
}

export function summaryDivider(summary, render) {
  const details = document.createElement("details");
  details.className = "summary-divider";
  details.dataset.summaryId = summary.id;
  const label = document.createElement("summary");
  label.textContent = "Earlier messages were summarised";
  const note = document.createElement("span");
  note.className = "muted summary-note";
  const count = (value) => Number(value).toLocaleString("en");
  note.textContent =
    ` · ${count(summary.message_count)} messages above,` +
    ` ${count(summary.tokens_before)} → ${count(summary.tokens_after)} tokens`;
  label.append(note);
  const body = document.createElement("div");
  body.className = "summary-text markdown";
  body.innerHTML = render(summary.text);
  const hint = document.createElement("p");
  hint.className = "muted summary-hint";
  hint.textContent =
    "The assistant now reads this summary instead of the messages above; they are kept as they were.";
  details.append(label, body, hint);
  return details;
}
