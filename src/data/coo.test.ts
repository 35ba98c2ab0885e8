import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix, cooOrder } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import { binaryCsr, csrOrder } from './coo.ts';

function randomCoo(seed: number, n: number, nRows: number, nCols: number) {
  const rng = new Rng(seed);
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    rows[k] = rng.int(nRows);
    cols[k] = rng.int(nCols);
  }
  return { rows, cols };
}

test('csrOrder matches core cooOrder: rows sorted by column, ties in input order', () => {
  // Few rows and many entries per row exercise the insertion sort and the packed native sort.
  for (const [seed, n, nRows, nCols] of [
    [1, 500, 50, 7],
    [2, 5000, 3, 40],
    [3, 20000, 10, 100000],
  ]) {
    const { rows, cols } = randomCoo(seed, n, nRows, nCols);
    const got = csrOrder(rows, cols, nRows);
    const want = cooOrder(rows, cols, nRows, nCols);
    assert.deepEqual(got.indptr, want.indptr);
    assert.deepEqual(got.order, want.order);
    for (let k = 0; k < got.order.length; k++) assert.equal(got.indices[k], cols[got.order[k]]);
  }
});

test('csrOrder leaves out entries with a negative row', () => {
  const rows = Int32Array.from([1, -1, 0, 1]);
  const cols = Int32Array.from([2, 0, 1, 0]);
  const { order, indptr, indices } = csrOrder(rows, cols, 2);
  assert.deepEqual(Array.from(indptr), [0, 1, 3]);
  assert.deepEqual(Array.from(order), [2, 3, 0]);
  assert.deepEqual(Array.from(indices), [1, 0, 2]);
});

test('binaryCsr equals fromCoo with merged duplicates and counts the merges', () => {
  const { rows, cols } = randomCoo(7, 3000, 40, 60);
  const { matrix, merged } = binaryCsr(rows, cols, 40, 60);
  const want = CsrMatrix.fromCoo(rows, cols, null, 40, 60, 'first');
  assert.deepEqual(matrix.indptr, want.indptr);
  assert.deepEqual(matrix.indices, want.indices);
  assert.equal(matrix.values, null);
  assert.equal(merged, 3000 - want.nnz);
});

test('binaryCsr: hand-made case with a dropped entry and a long row', () => {
  const rows = Int32Array.from([0, 0, -1, 0, 2, ...new Array(30).fill(1)]);
  const cols = Int32Array.from([3, 1, 0, 3, 0, ...Array.from({ length: 30 }, (_, i) => 29 - (i % 15))]);
  const { matrix, merged } = binaryCsr(rows, cols, 3, 30);
  assert.deepEqual(Array.from(matrix.rowIndices(0)), [1, 3]);
  assert.deepEqual(
    Array.from(matrix.rowIndices(1)),
    Array.from({ length: 15 }, (_, i) => 15 + i),
  );
  assert.deepEqual(Array.from(matrix.rowIndices(2)), [0]);
  assert.equal(merged, 1 + 15);
});
