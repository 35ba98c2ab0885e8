import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { buildFeatureSpace, identitySpace, tagMatrix } from './features.ts';

const side = (rows: number[][], vals: number[][] | null, nCols: number) =>
  new CsrMatrix(
    rows.length,
    nCols,
    Int32Array.from([0, ...rows.map((_, i) => rows.slice(0, i + 1).flat().length)]),
    Int32Array.from(rows.flat()),
    vals ? Float32Array.from(vals.flat()) : null,
  );

test('identity first, then side features offset by nEntities, each row sorted with repeats merged', () => {
  // Entity 0 lists features 2, 0, 2 (unsorted, repeated); entity 1 has none; entity 2 has feature 1.
  const s = buildFeatureSpace(3, side([[2, 0, 2], [], [1]], [[1, 2, 0.5], [], [3]], 3), 'none', 'item');
  assert.equal(s.nFeatures, 6);
  assert.deepEqual(Array.from(s.indptr!), [0, 3, 4, 6]);
  assert.deepEqual(Array.from(s.indices!), [0, 3, 5, 1, 2, 4]);
  assert.deepEqual(Array.from(s.weights!), [1, 2, 1.5, 1, 1, 3]);
});

test("'row' scales each row (identity included) to sum to 1; zero weights are dropped", () => {
  const s = buildFeatureSpace(2, side([[0, 1], [1]], [[1, 2], [0]], 2), 'row', 'item');
  assert.deepEqual(Array.from(s.indices!), [0, 2, 3, 1]);
  assert.deepEqual(Array.from(s.weights!), [0.25, 0.25, 0.5, 1]);
});

test("'side' keeps the identity at 1 and scales the side features to sum to 1", () => {
  const s = buildFeatureSpace(2, side([[0, 1], [1]], [[1, 3], [2]], 2), 'side', 'item');
  assert.deepEqual(Array.from(s.weights!), [1, 0.25, 0.75, 1, 1]);
});

test('no side matrix, or one with no entries, is the identity space', () => {
  assert.deepEqual(buildFeatureSpace(4, undefined, 'row', 'user'), identitySpace(4));
  const empty = buildFeatureSpace(2, side([[], []], null, 5), 'row', 'user');
  assert.equal(empty.indptr, null);
  assert.equal(empty.nFeatures, 7);
});

test('bad feature input is a coded error naming the matrix', () => {
  const code = (f: () => unknown, c: string) =>
    assert.throws(f, (e) => e instanceof SimrecError && e.code === c && e.detail.field === 'itemFeatures');
  code(() => buildFeatureSpace(3, side([[0], [1]], null, 2), 'none', 'item'), 'CONFIG_INVALID');
  code(() => buildFeatureSpace(1, side([[0]], [[-1]], 1), 'none', 'item'), 'INPUT_BAD_ROW');
  code(() => buildFeatureSpace(1, side([[0]], [[Number.NaN]], 1), 'none', 'item'), 'INPUT_BAD_ROW');
  code(() => buildFeatureSpace(1, side([[3]], null, 2), 'none', 'item'), 'INPUT_BAD_ROW');
});

test('tagMatrix numbers tags in first-seen order and dedupes per item', () => {
  const { matrix, tags } = tagMatrix([['Drama', 'Comedy'], [], ['Comedy', 'Comedy', 'War']]);
  assert.deepEqual(tags, ['Drama', 'Comedy', 'War']);
  assert.deepEqual(Array.from(matrix.indptr), [0, 2, 2, 4]);
  assert.deepEqual(Array.from(matrix.indices), [0, 1, 1, 2]);
  assert.equal(matrix.values, null);
});
