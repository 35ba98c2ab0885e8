import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CandidateMerger, RRF_K } from './merge.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);

test('merging de-duplicates and keeps every source’s rank and score', () => {
  const m = new CandidateMerger(['simclusters', 'dense', 'popular'], 10);
  assert.equal(m.add('simclusters', i32([5, 3, 9]), f32([0.9, 0.8, 0.5])), 3);
  assert.equal(m.add('dense', i32([3, 7]), f32([2.5, 1.5])), 1);
  assert.equal(m.add(2, i32([9, 5, 1, 3]), f32([40, 30, 20, 10])), 1);
  assert.equal(m.size, 5);
  assert.deepEqual(Array.from(m.items.subarray(0, m.size)), [5, 3, 9, 7, 1]);
  assert.deepEqual(m.provenance(m.entry(3)), [
    { source: 'simclusters', rank: 1, score: Math.fround(0.8) },
    { source: 'dense', rank: 0, score: 2.5 },
    { source: 'popular', rank: 3, score: 10 },
  ]);
  assert.deepEqual(m.provenance(m.entry(7)), [{ source: 'dense', rank: 1, score: 1.5 }]);
  assert.equal(m.sourceMask[m.entry(9)], 0b101);
  assert.equal(m.rank(m.entry(7), 0), -1);
  assert.ok(Number.isNaN(m.score(m.entry(7), 2)));
  assert.equal(m.entry(4), -1);
  // Reciprocal-rank fusion of item 3: ranks 1, 0, 3.
  assert.ok(Math.abs(m.fused[m.entry(3)] - (1 / (RRF_K + 2) + 1 / (RRF_K + 1) + 1 / (RRF_K + 4))) < 1e-15);
});

test('a source listing an item twice keeps its first (best) listing and counts the duplicate', () => {
  const m = new CandidateMerger(['a'], 4);
  m.add('a', i32([2, 1, 2]), f32([3, 2, 1]));
  assert.equal(m.size, 2);
  assert.equal(m.rank(m.entry(2), 0), 0);
  assert.equal(m.score(m.entry(2), 0), 3);
  assert.equal(m.duplicatesWithinSources, 1);
});

test('reset empties the pool for the next request; the pool and the lookup grow as needed', () => {
  const m = new CandidateMerger(['a', 'b'], 2, 2);
  m.add('a', i32([0, 1, 2, 3, 4]), f32([5, 4, 3, 2, 1]));
  m.add('b', i32([1000, 4]), f32([1, 1]), 2);
  assert.equal(m.size, 6);
  assert.equal(m.entry(1000), 5);
  assert.deepEqual(
    m.provenance(m.entry(4)).map((p) => [p.source, p.rank]),
    [
      ['a', 4],
      ['b', 1],
    ],
  );
  m.reset();
  assert.equal(m.size, 0);
  assert.equal(m.entry(4), -1);
  m.add('b', i32([4]), f32([7]));
  assert.deepEqual(m.provenance(m.entry(4)), [{ source: 'b', rank: 0, score: 7 }]);
  assert.equal(m.rank(m.entry(4), 0), -1, 'no stale rank from the previous request');
});

test('bad sources are refused', () => {
  assert.throws(() => new CandidateMerger([]), { code: 'CONFIG_INVALID' });
  assert.throws(() => new CandidateMerger(['a', 'a']), { code: 'CONFIG_INVALID' });
  const m = new CandidateMerger(['a']);
  assert.throws(() => m.add('b', i32([1]), f32([1])), {
    code: 'CONFIG_INVALID',
    detail: { field: 'source' },
  });
  assert.throws(() => m.add('a', i32([-1]), f32([1])), { code: 'INTERNAL' });
  assert.throws(() => m.add('a', i32([1]), f32([]), 1), { code: 'INTERNAL' });
});
