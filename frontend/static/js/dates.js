// Conversations grouped as the sidebar shows them: Today, Yesterday, Previous 7 days, Older.

const DAY = 24 * 60 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function groupLabel(updatedAt, now = new Date()) {
  const today = startOfDay(now);
  const when = new Date(updatedAt).getTime();
  if (when >= today) return "Today";
  if (when >= today - DAY) return "Yesterday";
  if (when >= today - 7 * DAY) return "Previous 7 days";
  return "Older";
}

// `items` newest first (as the API lists them); groups keep that order.
export function groupByDate(items, now = new Date()) {
  const groups = [];
  for (const item of items) {
    const label = groupLabel(item.updated_at, now);
    let group = groups[groups.length - 1];
    if (!group || group.label !== label) {
      group = { label, items: [] };
      groups.push(group);
    }
    group.items.push(item);
  }
  return groups;
}
