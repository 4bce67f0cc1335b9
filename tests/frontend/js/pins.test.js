// The sidebar's pinned group and the order pins give.
import assert from "node:assert/strict";
import { test } from "node:test";

import { orderConversations, sidebarGroups } from "../../../frontend/static/js/pins.js";

const now = new Date(2026, 11, 4, 15, 0);
const at = (days) => new Date(2026, 11, 4 - days, 12).toISOString();

test("pinned conversations come first, in a group of their own", () => {
  const items = [
    { id: "b", pinned: true, updated_at: at(9) },
    { id: "a", pinned: false, updated_at: at(0) },
    { id: "c", pinned: false, updated_at: at(1) },
  ];
  const groups = sidebarGroups(items, now);
  assert.deepEqual(
    groups.map((g) => [g.label, g.items.map((i) => i.id)]),
    [
      ["Pinned", ["b"]],
      ["Today", ["a"]],
      ["Yesterday", ["c"]],
    ],
  );
});

test("without pins there is no pinned group", () => {
  const groups = sidebarGroups([{ id: "a", pinned: false, updated_at: at(0) }], now);
  assert.deepEqual(
    groups.map((g) => g.label),
    ["Today"],
  );
});

test("pinning moves a conversation up; unpinning puts it back by date", () => {
  const items = [
    { id: "new", pinned: false, updated_at: at(0) },
    { id: "mid", pinned: false, updated_at: at(2) },
    { id: "old", pinned: false, updated_at: at(5) },
  ];
  items[2].pinned = true;
  assert.deepEqual(
    orderConversations(items).map((i) => i.id),
    ["old", "new", "mid"],
  );
  items[2].pinned = false;
  assert.deepEqual(
    orderConversations(items).map((i) => i.id),
    ["new", "mid", "old"],
  );
});
