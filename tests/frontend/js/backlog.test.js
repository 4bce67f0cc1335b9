import { test } from "node:test";
import assert from "node:assert/strict";

import { BATCH, FIRST, split } from "../../../frontend/static/js/backlog.js";

test("a long conversation draws its last turns first and keeps the older ones in order", () => {
  const turns = Array.from({ length: 250 }, (_, index) => index);
  const { now, later } = split(turns, FIRST);
  assert.deepEqual(now, turns.slice(250 - FIRST));
  assert.deepEqual(later, turns.slice(0, 250 - FIRST));
  const next = split(later, BATCH);
  assert.equal(next.now.at(-1), 250 - FIRST - 1);
  assert.equal(next.later.length, 250 - FIRST - BATCH);
});

test("a short conversation is drawn whole", () => {
  assert.deepEqual(split([1, 2, 3], FIRST), { now: [1, 2, 3], later: [] });
  assert.deepEqual(split([], FIRST), { now: [], later: [] });
});
