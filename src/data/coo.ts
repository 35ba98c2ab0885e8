/**
 * Coordinate lists → CSR for the loaders. Same result as `CsrMatrix.fromCoo`/`cooOrder` (rows sorted by column,
 * equal entries in input order), built the way input files usually arrive: one counting pass by row (sequential
 * when the file is grouped by user) that copies each entry's column next to its row, then a small sort inside
 * each row on that contiguous copy, instead of two full counting sorts that scatter over every column.
 */
import { CsrMatrix } from '../core/csr.ts';

/** Rows longer than this are sorted natively; shorter ones by insertion sort, the fastest for a handful. */
const INSERTION_MAX = 24;
/** Packing (column, rank) into one double is exact while rank < 2^21 and column < 2^31. */
const RANK_BITS = 2097152;

/** Row pointers for the entries with row ≥ 0. */
function rowPointers(rows: Int32Array, nRows: number): Int32Array {
  const indptr = new Int32Array(nRows + 1);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (r >= 0) indptr[r + 1]++;
  }
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  return indptr;
}

/**
 * The CSR order of coordinate entries: order[k] is the input position of the k-th entry, rows in row order,
 * each row sorted by column, ties in input order; `indices` is the column of each, in that order. Entries with
 * row < 0 are left out.
 */
export function csrOrder(
  rows: Int32Array,
  cols: Int32Array,
  nRows: number,
): { order: Int32Array; indptr: Int32Array; indices: Int32Array } {
  const indptr = rowPointers(rows, nRows);
  const nnz = indptr[nRows];
  const order = new Int32Array(nnz);
  const indices = new Int32Array(nnz);
  const next = indptr.slice(0, nRows);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (r < 0) continue;
    const p = next[r]++;
    order[p] = k;
    indices[p] = cols[k];
  }
  let keys = new Float64Array(64);
  let tmp = new Int32Array(64);
  for (let r = 0; r < nRows; r++) {
    const start = indptr[r];
    const end = indptr[r + 1];
    const len = end - start;
    if (len < 2 || isSorted(indices, start, end)) continue;
    if (len <= INSERTION_MAX) {
      for (let k = start + 1; k < end; k++) {
        const c = indices[k];
        const pos = order[k];
        let j = k - 1;
        while (j >= start && indices[j] > c) {
          indices[j + 1] = indices[j];
          order[j + 1] = order[j];
          j--;
        }
        indices[j + 1] = c;
        order[j + 1] = pos;
      }
    } else if (len < RANK_BITS) {
      // The rank within the row in the low bits keeps the native numeric sort stable.
      if (keys.length < len) {
        keys = new Float64Array(Math.max(len, keys.length * 2));
        tmp = new Int32Array(keys.length);
      }
      for (let k = 0; k < len; k++) keys[k] = indices[start + k] * RANK_BITS + k;
      const seg = keys.subarray(0, len);
      seg.sort();
      tmp.set(order.subarray(start, end));
      for (let k = 0; k < len; k++) {
        const rank = seg[k] % RANK_BITS;
        order[start + k] = tmp[rank];
        indices[start + k] = (seg[k] - rank) / RANK_BITS;
      }
    } else {
      const seg = Array.from(order.subarray(start, end));
      seg.sort((a, b) => cols[a] - cols[b] || a - b);
      for (let k = 0; k < len; k++) {
        order[start + k] = seg[k];
        indices[start + k] = cols[seg[k]];
      }
    }
  }
  return { order, indptr, indices };
}

function isSorted(a: Int32Array, start: number, end: number): boolean {
  for (let k = start + 1; k < end; k++) if (a[k] < a[k - 1]) return false;
  return true;
}

/**
 * A binary CSR matrix from coordinates, repeated (row, col) pairs merged and entries with row < 0 left out.
 * Returns the matrix and how many repeats were merged.
 */
export function binaryCsr(
  rows: Int32Array,
  cols: Int32Array,
  nRows: number,
  nCols: number,
): { matrix: CsrMatrix; merged: number } {
  const indptr = rowPointers(rows, nRows);
  const nnz = indptr[nRows];
  const indices = new Int32Array(nnz);
  const next = indptr.slice(0, nRows);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (r >= 0) indices[next[r]++] = cols[k];
  }
  // Sort each row and squeeze out repeats in place, rewriting indptr as rows shrink.
  let w = 0;
  let start = 0;
  let merged = 0;
  for (let r = 0; r < nRows; r++) {
    const end = indptr[r + 1];
    const len = end - start;
    if (len > 1 && !isSorted(indices, start, end)) {
      if (len <= INSERTION_MAX) {
        for (let k = start + 1; k < end; k++) {
          const c = indices[k];
          let j = k - 1;
          while (j >= start && indices[j] > c) {
            indices[j + 1] = indices[j];
            j--;
          }
          indices[j + 1] = c;
        }
      } else {
        indices.subarray(start, end).sort();
      }
    }
    indptr[r] = w;
    const rowStart = w;
    for (let k = start; k < end; k++) {
      const c = indices[k];
      if (w > rowStart && indices[w - 1] === c) {
        merged++;
        continue;
      }
      indices[w++] = c;
    }
    start = end;
  }
  indptr[nRows] = w;
  const matrix = new CsrMatrix(nRows, nCols, indptr, w < nnz ? indices.slice(0, w) : indices, null);
  return { matrix, merged };
}
