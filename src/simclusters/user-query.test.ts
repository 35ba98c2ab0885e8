import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SparseVector } from '../core/sparse.ts';
import { queryItems, userQuery } from './user-query.ts';

const v = (ids: number[], values: number[]): SparseVector => ({
  ids: Int32Array.from(ids),
  values: Float32Array.from(values),
});

const close = (q: SparseVector, ids: number[], values: number[]) => {
  assert.deepEqual(Array.from(q.ids), ids);
  for (let j = 0; j < values.length; j++)
    assert.ok(Math.abs(q.values[j] - values[j]) < 1e-6, `value ${j}: ${q.values[j]} vs ${values[j]}`);
};

test('userQuery: items whose strongest cluster the InterestedIn holds are covered by it, others add their unit rows', () => {
  const interest = v([0, 1], [3, 4]); // Î = (0.6, 0.8)
  const a = v([1, 5], [2, 1]); // strongest cluster 1: covered
  const b = v([0, 2], [1, 1]); // tie 0 vs 2: the lower id, 0, is held: covered
  const c = v([0, 3], [1, 2]); // strongest cluster 3: added as (1, 2)/√5
  const q = userQuery(interest, [a, b, c]);
  assert.equal(q.covered, 2);
  assert.equal(q.added, 1);
  // 2 · (0.6, 0.8) + (1/√5 at 0, 2/√5 at 3)
  const s5 = Math.sqrt(5);
  close(q.vector, [0, 1, 3], [1.2 + 1 / s5, 1.6, 2 / s5]);
});

test('userQuery: with no item covered the InterestedIn still weighs as one item', () => {
  const q = userQuery(v([0], [2]), [v([4], [3]), v([5, 6], [3, 4])]);
  assert.equal(q.covered, 0);
  assert.equal(q.added, 2);
  close(q.vector, [0, 4, 5, 6], [1, 1, 0.6, 0.8]);
});

test('userQuery: every item covered, or none engaged, leaves the InterestedIn unchanged; empty rows are ignored', () => {
  const interest = v([2, 7], [0.5, 0.25]);
  for (const items of [[], [v([7], [9])], [v([], [])]]) {
    const q = userQuery(interest, items);
    assert.equal(q.added, 0);
    assert.equal(q.vector, interest);
  }
});

test('userQuery: a user without an InterestedIn is asked with the sum of its items', () => {
  const q = userQuery(v([], []), [v([1], [5]), v([1, 2], [3, 4])]);
  assert.equal(q.covered, 0);
  close(q.vector, [1, 2], [1.6, 0.8]);
});

test('queryItems: distinct ascending items; beyond the cap, an even stride over them', () => {
  assert.deepEqual(Array.from(queryItems([5, 1, 5, 3, 1])), [1, 3, 5]);
  // 10 distinct items, cap 4: positions floor(j·10/4) = 0, 2, 5, 7.
  const items = [90, 10, 20, 30, 40, 50, 60, 70, 80, 0, 30];
  assert.deepEqual(Array.from(queryItems(items, 4)), [0, 20, 50, 70]);
  assert.deepEqual(Array.from(queryItems([], 4)), []);
});
