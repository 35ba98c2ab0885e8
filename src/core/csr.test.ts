import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix, cooOrder, type Duplicates, rowOfEntry } from './csr.ts';
import { Rng } from './prng.ts';

/** The matrix as a list of rows of [col, value] pairs in storage order. */
function rowsOf(m: CsrMatrix): [number, number][][] {
  const out: [number, number][][] = [];
  for (let r = 0; r < m.nRows; r++) {
    const cols = m.rowIndices(r);
    const vals = m.rowValues(r);
    out.push(Array.from(cols, (c, k) => [c, vals ? vals[k] : 1]));
  }
  return out;
}

// A 3×4 toy with duplicates, given out of order:
//   (0,2)=1  (2,1)=5  (0,2)=3  (0,0)=2  (2,1)=−1  (2,3)=4  (0,2)=0.5
// Row 1 is empty.
const rows = Int32Array.from([0, 2, 0, 0, 2, 2, 0]);
const cols = Int32Array.from([2, 1, 2, 0, 1, 3, 2]);
const vals = Float32Array.from([1, 5, 3, 2, -1, 4, 0.5]);

test('fromCoo in each duplicates mode, rows sorted by column, empty row kept', () => {
  const want: Record<Duplicates, [number, number][][]> = {
    // 'keep' keeps every entry; duplicates stay adjacent in input order.
    keep: [
      [
        [0, 2],
        [2, 1],
        [2, 3],
        [2, 0.5],
      ],
      [],
      [
        [1, 5],
        [1, -1],
        [3, 4],
      ],
    ],
    sum: [
      [
        [0, 2],
        [2, 4.5],
      ],
      [],
      [
        [1, 4],
        [3, 4],
      ],
    ],
    max: [
      [
        [0, 2],
        [2, 3],
      ],
      [],
      [
        [1, 5],
        [3, 4],
      ],
    ],
    first: [
      [
        [0, 2],
        [2, 1],
      ],
      [],
      [
        [1, 5],
        [3, 4],
      ],
    ],
    last: [
      [
        [0, 2],
        [2, 0.5],
      ],
      [],
      [
        [1, -1],
        [3, 4],
      ],
    ],
  };
  for (const mode of Object.keys(want) as Duplicates[]) {
    const m = CsrMatrix.fromCoo(rows, cols, vals, 3, 4, mode);
    assert.deepEqual(rowsOf(m), want[mode], mode);
    assert.equal(m.nnz, mode === 'keep' ? 7 : 4, mode);
    assert.equal(m.indices.length, m.nnz, `${mode}: arrays trimmed to nnz`);
    assert.equal(m.values?.length, m.nnz, mode);
    assert.equal(m.rowNnz(1), 0);
  }
  assert.equal(CsrMatrix.fromCoo(rows, cols, vals, 3, 4).get(0, 2), 4.5, "'sum' is the default");
});

test('fromCoo binary (pattern-only) matrices merge duplicates to one entry', () => {
  const m = CsrMatrix.fromCoo(rows, cols, null, 3, 4, 'sum');
  assert.equal(m.values, null);
  assert.deepEqual(Array.from(m.indptr), [0, 2, 2, 4]);
  assert.deepEqual(Array.from(m.indices), [0, 2, 1, 3]);
  assert.equal(m.rowValues(0), null);
  assert.equal(m.get(2, 3), 1);
  assert.equal(m.get(2, 2), 0);
  assert.deepEqual(Array.from(m.rowSums()), [2, 0, 2]);
  assert.equal(CsrMatrix.fromCoo(rows, cols, null, 3, 4, 'keep').nnz, 7);
});

test('get, colCounts, rowSums on the toy matrix', () => {
  const m = CsrMatrix.fromCoo(rows, cols, vals, 3, 4, 'sum');
  assert.equal(m.get(0, 0), 2);
  assert.equal(m.get(0, 1), 0);
  assert.equal(m.get(0, 2), 4.5);
  assert.equal(m.get(1, 0), 0);
  assert.equal(m.get(2, 1), 4);
  assert.equal(m.get(2, 3), 4);
  assert.deepEqual(Array.from(m.colCounts()), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(m.rowSums()), [6.5, 0, 8]);
  const keep = CsrMatrix.fromCoo(rows, cols, vals, 3, 4, 'keep');
  assert.deepEqual(Array.from(keep.colCounts()), [1, 2, 3, 1], 'stored entries, duplicates included');
  assert.deepEqual(Array.from(keep.rowSums()), [6.5, 0, 8]);
  assert.deepEqual(Array.from(rowOfEntry(keep)), [0, 0, 0, 0, 2, 2, 2]);
});

test('out-of-range coordinates and mismatched lengths throw', () => {
  const r = Int32Array.from([0, 1]);
  assert.throws(() => CsrMatrix.fromCoo(r, Int32Array.from([0, 4]), null, 2, 4), /column 4 out of range/);
  assert.throws(() => CsrMatrix.fromCoo(r, Int32Array.from([-1, 0]), null, 2, 4), /column -1 out of range/);
  assert.throws(() => CsrMatrix.fromCoo(Int32Array.from([0, 2]), r, null, 2, 4), /row 2 out of range/);
  assert.throws(() => CsrMatrix.fromCoo(Int32Array.from([-3, 0]), r, null, 2, 4), /row -3 out of range/);
  assert.throws(() => CsrMatrix.fromCoo(r, Int32Array.from([0]), null, 2, 4), /differ in length/);
  assert.throws(() => CsrMatrix.fromCoo(r, r, Float32Array.from([1]), 2, 4), /values length/);
  assert.throws(() => new CsrMatrix(2, 2, new Int32Array(2), new Int32Array(0), null), /indptr length/);
  assert.throws(
    () => new CsrMatrix(1, 2, Int32Array.from([0, 1]), Int32Array.from([0]), new Float32Array(2)),
    /differ in length/,
  );
});

test('empty matrices: 0 rows, and rows but no entries', () => {
  const none = CsrMatrix.fromCoo(new Int32Array(0), new Int32Array(0), new Float32Array(0), 0, 0);
  assert.equal(none.nRows, 0);
  assert.equal(none.nnz, 0);
  assert.deepEqual(Array.from(none.indptr), [0]);
  assert.equal(none.colCounts().length, 0);
  assert.equal(none.rowSums().length, 0);
  const t0 = none.transpose();
  assert.equal(t0.nRows, 0);
  assert.equal(t0.nnz, 0);

  const blank = CsrMatrix.fromCoo(new Int32Array(0), new Int32Array(0), new Float32Array(0), 3, 5);
  assert.deepEqual(Array.from(blank.indptr), [0, 0, 0, 0]);
  assert.equal(blank.get(2, 4), 0);
  assert.deepEqual(Array.from(blank.colCounts()), [0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(blank.rowSums()), [0, 0, 0]);
  const bt = blank.transpose();
  assert.equal(bt.nRows, 5);
  assert.equal(bt.nCols, 3);
  assert.deepEqual(Array.from(bt.indptr), [0, 0, 0, 0, 0, 0]);
});

test('transpose of the toy matrix, and twice is the identity', () => {
  const m = CsrMatrix.fromCoo(rows, cols, vals, 3, 4, 'sum');
  const t = m.transpose();
  assert.equal(t.nRows, 4);
  assert.equal(t.nCols, 3);
  assert.deepEqual(rowsOf(t), [[[0, 2]], [[2, 4]], [[0, 4.5]], [[2, 4]]]);
  const tt = t.transpose();
  assert.deepEqual(tt.indptr, m.indptr);
  assert.deepEqual(tt.indices, m.indices);
  assert.deepEqual(tt.values, m.values);
});

test('transpose equals a brute-force dense transpose on a seeded random matrix, and is sorted', () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 20; trial++) {
    const nRows = 1 + rng.int(30);
    const nCols = 1 + rng.int(30);
    const nnz = rng.int(200);
    const r = Int32Array.from({ length: nnz }, () => rng.int(nRows));
    const c = Int32Array.from({ length: nnz }, () => rng.int(nCols));
    const v = Float32Array.from({ length: nnz }, () => rng.int(9) + 1);
    const m = CsrMatrix.fromCoo(r, c, v, nRows, nCols, 'sum');
    // Dense reference built straight from the coordinates.
    const dense = new Float64Array(nRows * nCols);
    for (let k = 0; k < nnz; k++) dense[r[k] * nCols + c[k]] += v[k];
    const t = m.transpose();
    assert.equal(t.nnz, m.nnz);
    for (let i = 0; i < nRows; i++)
      for (let j = 0; j < nCols; j++) {
        assert.equal(m.get(i, j), dense[i * nCols + j]);
        assert.equal(t.get(j, i), dense[i * nCols + j]);
      }
    for (let j = 0; j < nCols; j++) {
      const row = t.rowIndices(j);
      for (let k = 1; k < row.length; k++)
        assert.ok(row[k - 1] < row[k], 'transpose rows strictly ascending');
    }
    const tt = t.transpose();
    assert.deepEqual(tt.indptr, m.indptr);
    assert.deepEqual(tt.indices, m.indices);
    assert.deepEqual(tt.values, m.values);
  }
});

test('cooOrder is a stable sort by (row, col)', () => {
  const { order, indptr } = cooOrder(rows, cols, 3, 4);
  // (0,0)#3, (0,2)#0, (0,2)#2, (0,2)#6, (2,1)#1, (2,1)#4, (2,3)#5
  assert.deepEqual(Array.from(order), [3, 0, 2, 6, 1, 4, 5]);
  assert.deepEqual(Array.from(indptr), [0, 4, 4, 7]);
});
