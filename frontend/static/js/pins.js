// Pinned conversations: a "Pinned" group above the date groups, and where a conversation
// goes when it is pinned or unpinned.

import { groupByDate } from "./dates.js";

function newerFirst(a, b) {
  const byPin = Number(Boolean(b.pinned)) - Number(Boolean(a.pinned));
  if (byPin) return byPin;
  const byDate = Date.parse(b.updated_at) - Date.parse(a.updated_at);
  if (byDate) return byDate;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

// The API's order: pinned first, then the most recently active.
export function orderConversations(items) {
  return [...items].sort(newerFirst);
}

// The sidebar's groups: "Pinned" (when any), then Today, Yesterday, ...
export function sidebarGroups(items, now = new Date()) {
  const pinned = items.filter((item) => item.pinned);
  const rest = items.filter((item) => !item.pinned);
  const groups = pinned.length ? [{ label: "Pinned", pinned: true, items: pinned }] : [];
  return groups.concat(groupByDate(rest, now));
}
