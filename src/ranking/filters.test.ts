import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrayCounters } from './counters.ts';
import {
  ageWindow,
  allowOnly,
  capPerAuthor,
  DROP,
  diversityDiscount,
  excludeItems,
  excludeOwn,
  excludeSeen,
} from './filters.ts';
import { StampCounts, StampSet } from './stamps.ts';

const i32 = (xs: number[]) => Int32Array.from(xs);
const kept = (items: Int32Array, dropped: Uint8Array) => Array.from(items).filter((_, e) => dropped[e] === 0);

test('stamp sets and counts clear in O(1) and forget the previous request', () => {
  const s = new StampSet(4);
  s.addAll([1, 3, 3, 10]);
  assert.equal(s.size, 3);
  assert.ok(s.has(1) && s.has(3) && s.has(10) && !s.has(2) && !s.has(99) && !s.has(-1));
  s.clear();
  assert.equal(s.size, 0);
  assert.ok(!s.has(1) && !s.has(10));
  const c = new StampCounts(2);
  assert.equal(c.increment(5), 0);
  assert.equal(c.increment(5), 1);
  assert.equal(c.get(5), 2);
  c.clear();
  assert.equal(c.get(5), 0);
  assert.equal(c.increment(5), 0);
  // Growth keeps the counts of indices beyond the first allocation.
  const g = new StampCounts(0);
  for (const i of [7, 8, 20, 8, 200, 20, 8]) g.increment(i);
  assert.deepEqual([g.get(7), g.get(8), g.get(20), g.get(200)], [1, 3, 2, 1]);
  assert.throws(() => s.add(-2), { code: 'INTERNAL' });
});

test('exclude drops the set’s items; the first reason wins and stays', () => {
  const items = i32([4, 8, 15, 16, 23, 42]);
  const dropped = new Uint8Array(6);
  const exclude = new StampSet();
  exclude.addAll([8, 23, 99]);
  assert.equal(excludeItems(items, 6, dropped, exclude), 2);
  assert.deepEqual(kept(items, dropped), [4, 15, 16, 42]);
  const allow = new StampSet();
  allow.addAll([4, 8, 42]);
  // 8 is already excluded: it keeps that reason and is not counted again.
  assert.equal(allowOnly(items, 6, dropped, allow), 2);
  assert.deepEqual(kept(items, dropped), [4, 42]);
  assert.deepEqual(Array.from(dropped), [
    0,
    DROP.excluded,
    DROP.notAllowed,
    DROP.notAllowed,
    DROP.excluded,
    0,
  ]);
  // Only the first n entries are looked at.
  const d2 = new Uint8Array(6);
  assert.equal(excludeItems(items, 2, d2, exclude), 1);
  assert.equal(d2[4], 0);
});

test('own items: the user’s authored items go, items of others and of no author stay', () => {
  const authorOf = i32([0, 1, -1, 1, 2]);
  const items = i32([0, 1, 2, 3, 4, 7]);
  const dropped = new Uint8Array(6);
  assert.equal(excludeOwn(items, 6, dropped, authorOf, 1), 2);
  assert.deepEqual(kept(items, dropped), [0, 2, 4, 7]);
  assert.deepEqual([dropped[1], dropped[3]], [DROP.own, DROP.own]);
  assert.equal(excludeOwn(items, 6, new Uint8Array(6), authorOf, -1), 0);
});

test('age window: too old and too new go, unknown dates stay', () => {
  const now = 1_000_000;
  const h = 3600;
  // Ages in hours: 0.5, 2, 10, 48, unknown, 24 exactly.
  const createdAt = Float64Array.from([
    now - 0.5 * h,
    now - 2 * h,
    now - 10 * h,
    now - 48 * h,
    Number.NaN,
    now - 24 * h,
  ]);
  const items = i32([0, 1, 2, 3, 4, 5, 6]);
  const dropped = new Uint8Array(7);
  assert.equal(ageWindow(items, 7, dropped, createdAt, now, { minAgeHours: 1, maxAgeHours: 24 }), 2);
  assert.deepEqual(Array.from(dropped), [DROP.tooNew, 0, 0, DROP.tooOld, 0, 0, 0]);
  const d2 = new Uint8Array(7);
  assert.equal(ageWindow(items, 7, d2, createdAt, now, { maxAgeHours: 5 }), 3);
  assert.deepEqual(kept(items, d2), [0, 1, 4, 6]);
  assert.equal(ageWindow(items, 7, new Uint8Array(7), createdAt, now, {}), 0);
  assert.throws(() => ageWindow(items, 7, d2, createdAt, now, { maxAgeHours: -1 }), {
    code: 'CONFIG_INVALID',
    detail: { field: 'maxAgeHours' },
  });
});

test('seen: items shown more than the allowed number of times go', () => {
  const seen = new ArrayCounters(5);
  seen.shown.set([0, 1, 3, 5, 2]);
  const items = i32([0, 1, 2, 3, 4, 9]);
  const dropped = new Uint8Array(6);
  assert.equal(excludeSeen(items, 6, dropped, seen, 2), 2);
  assert.deepEqual(kept(items, dropped), [0, 1, 4, 9]);
  assert.equal(dropped[2], DROP.seen);
  assert.equal(excludeSeen(items, 6, new Uint8Array(6), seen, 0), 4);
});

test('at most N per author keeps each author’s first entries; authorless items are not capped', () => {
  const authorOf = i32([7, 7, 8, 7, -1, 8, 7, -1]);
  const items = i32([0, 1, 2, 3, 4, 5, 6, 7]);
  const perAuthor = new StampCounts();
  const dropped = new Uint8Array(8);
  dropped[1] = DROP.excluded; // already gone: does not use up author 7's quota
  assert.equal(capPerAuthor(items, 8, dropped, authorOf, 2, perAuthor), 1);
  assert.deepEqual(kept(items, dropped), [0, 2, 3, 4, 5, 7]);
  assert.equal(dropped[6], DROP.authorCap);
  const d1 = new Uint8Array(8);
  assert.equal(capPerAuthor(items, 8, d1, authorOf, 1, perAuthor), 4);
  assert.deepEqual(kept(items, d1), [0, 2, 4, 7]);
  assert.throws(() => capPerAuthor(items, 8, d1, authorOf, 0, perAuthor), { code: 'CONFIG_INVALID' });
});

test('the diversity discount multiplies an author’s j-th item by factor^j and equals the greedy re-rank', () => {
  const authorOf = i32([1, 1, 2, 1, -1, 2]);
  const items = i32([0, 1, 2, 3, 4, 5]);
  const scores = Float64Array.from([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]);
  const dropped = new Uint8Array(6);
  diversityDiscount(items, 6, dropped, scores, authorOf, 0.5, new StampCounts());
  // Author 1: 0.9, 0.8·½, 0.6·¼; author 2: 0.7, 0.4·½; no author: 0.5 unchanged.
  assert.deepEqual(Array.from(scores), [0.9, 0.4, 0.7, 0.15, 0.5, 0.2]);

  // Greedy re-rank by hand: repeatedly take the best score discounted by how many of its author were taken.
  const base = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  const taken = new Map<number, number>();
  const left = new Set([0, 1, 2, 3, 4, 5]);
  const greedy: number[] = [];
  while (left.size > 0) {
    let best = -1;
    let bestScore = -1;
    for (const e of left) {
      const a = authorOf[e];
      const s = a < 0 ? base[e] : base[e] * 0.5 ** (taken.get(a) ?? 0);
      if (s > bestScore) {
        best = e;
        bestScore = s;
      }
    }
    greedy.push(best);
    left.delete(best);
    if (authorOf[best] >= 0) taken.set(authorOf[best], (taken.get(authorOf[best]) ?? 0) + 1);
  }
  const sorted = [0, 1, 2, 3, 4, 5].sort((a, b) => scores[b] - scores[a]);
  assert.deepEqual(sorted, greedy);

  // A dropped entry neither gets discounted nor counts for its author.
  const s2 = Float32Array.from([1, 1, 1]);
  const d2 = Uint8Array.from([DROP.excluded, 0, 0]);
  diversityDiscount(i32([0, 1, 3]), 3, d2, s2, authorOf, 0.5, new StampCounts());
  assert.deepEqual(Array.from(s2), [1, 1, 0.5]);
  assert.throws(() => diversityDiscount(items, 6, dropped, scores, authorOf, 2, new StampCounts()), {
    code: 'CONFIG_INVALID',
  });
});
