// The sidebar's date groups.
import assert from "node:assert/strict";
import { test } from "node:test";

import { groupByDate, groupLabel } from "../../../frontend/static/js/dates.js";

const now = new Date(2026, 11, 4, 15, 0);
const at = (days, hour = 12) => new Date(2026, 11, 4 - days, hour).toISOString();

test("each date falls in its group", () => {
  assert.equal(groupLabel(at(0, 0), now), "Today");
  assert.equal(groupLabel(at(1, 23), now), "Yesterday");
  assert.equal(groupLabel(at(1, 0), now), "Yesterday");
  assert.equal(groupLabel(at(3), now), "Previous 7 days");
  assert.equal(groupLabel(at(7), now), "Previous 7 days");
  assert.equal(groupLabel(at(30), now), "Older");
});

test("a newest-first list becomes groups in order", () => {
  const items = [at(0), at(0), at(1), at(5), at(40)].map((updated_at, i) => ({
    id: i,
    updated_at,
  }));
  const groups = groupByDate(items, now);
  assert.deepEqual(
    groups.map((g) => [g.label, g.items.length]),
    [
      ["Today", 2],
      ["Yesterday", 1],
      ["Previous 7 days", 1],
      ["Older", 1],
    ],
  );
});
