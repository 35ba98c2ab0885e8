import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { IdMap } from '../core/id-map.ts';
import type { Interactions } from '../data/positives.ts';
import { countOverlap, dropOverlap, interactionsFromPairs, toCatalogue } from './interactions.ts';

function pairs(x: Interactions): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  const m = x.matrix;
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) out.push([u, m.indices[k], m.values![k], x.ts[k]]);
  return out;
}

test('interactionsFromPairs merges repeats: weights add, the latest time stays', () => {
  const x = interactionsFromPairs(2, 3, [1, 0, 1, 1], [2, 1, 0, 2], [1, 2, 3, 4], [5, 6, 7, 3]);
  assert.deepEqual(pairs(x), [
    [0, 1, 2, 6],
    [1, 0, 3, 7],
    [1, 2, 5, 5],
  ]);
  assert.throws(() => interactionsFromPairs(1, 1, [0], [1]), /outside/);
});

test('toCatalogue keeps the items with a positive, in index order, and their features', () => {
  const users = IdMap.from(['a', 'b']);
  const items = IdMap.from(['i0', 'i1', 'i2', 'i3', 'i4']);
  const topics = IdMap.from(['x', 'y']);
  const train = interactionsFromPairs(2, 5, [0, 1], [3, 1]);
  const test = interactionsFromPairs(2, 5, [0], [4]);
  // item 0: x; item 1: y; item 3: x, y; item 4: none.
  const tags = new CsrMatrix(5, 2, Int32Array.from([0, 1, 2, 2, 4, 4]), Int32Array.from([0, 1, 0, 1]), null);
  const d = toCatalogue({ split: { train, test }, users, items, itemTags: tags, topics });
  assert.deepEqual(d.itemIds, ['i1', 'i3', 'i4']);
  assert.deepEqual(d.userIds, ['a', 'b']);
  assert.deepEqual(
    pairs(d.train).map((p) => p.slice(0, 2)),
    [
      [0, 1],
      [1, 0],
    ],
  );
  assert.deepEqual(
    pairs(d.test).map((p) => p.slice(0, 2)),
    [[0, 2]],
  );
  assert.deepEqual([...d.itemFeatures!.indptr], [0, 1, 3, 3]);
  assert.deepEqual([...d.itemFeatures!.indices], [1, 0, 1]);
  assert.deepEqual(d.featureNames, ['x', 'y']);
  const noTags = toCatalogue({ split: { train, test }, users, items });
  assert.equal(noTags.itemFeatures, null);
});

test('a split that repeats a pair in train and test is refused, or cleaned on request', () => {
  const users = IdMap.from(['a', 'b']);
  const items = IdMap.from(['i0', 'i1', 'i2']);
  const train = interactionsFromPairs(2, 3, [0, 0, 1], [0, 1, 2]);
  const test = interactionsFromPairs(2, 3, [0, 1, 1], [1, 0, 2]);
  assert.equal(countOverlap(train.matrix, test.matrix), 2);
  assert.throws(() => toCatalogue({ split: { train, test }, users, items }), {
    code: 'INPUT_BAD_ROW',
    message: /share 2/,
  });
  const cleaned = dropOverlap(train, test);
  assert.equal(cleaned.removed, 2);
  assert.deepEqual(
    pairs(cleaned.test).map((p) => p.slice(0, 2)),
    [[1, 0]],
  );
  const d = toCatalogue({ split: { train, test: cleaned.test }, users, items });
  assert.equal(d.itemIds.length, 3);
});
