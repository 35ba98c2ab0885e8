/**
 * Compressed sparse row matrices over typed arrays. Rows are sorted by column index, so a row is a sorted
 * Int32Array view and intersections/merges are linear. Building from coordinates is two stable counting
 * sorts (by column, then by row): O(nnz + nRows + nCols), no comparison sort, no per-entry objects.
 */
export type Duplicates = 'keep' | 'sum' | 'max' | 'first' | 'last';

export class CsrMatrix {
  constructor(
    readonly nRows: number,
    readonly nCols: number,
    /** Row r spans indices[indptr[r] .. indptr[r+1]). */
    readonly indptr: Int32Array,
    readonly indices: Int32Array,
    /** null for a binary (pattern-only) matrix: every stored entry is 1. */
    readonly values: Float32Array | null,
  ) {
    if (indptr.length !== nRows + 1)
      throw new RangeError(`indptr length ${indptr.length} != nRows+1 ${nRows + 1}`);
    if (values && values.length !== indices.length)
      throw new RangeError('values and indices differ in length');
  }

  get nnz(): number {
    return this.indptr[this.nRows];
  }

  rowNnz(r: number): number {
    return this.indptr[r + 1] - this.indptr[r];
  }

  /** The column ids of row r, as a view (no copy). */
  rowIndices(r: number): Int32Array {
    return this.indices.subarray(this.indptr[r], this.indptr[r + 1]);
  }

  /** The values of row r, as a view; null for a binary matrix. */
  rowValues(r: number): Float32Array | null {
    return this.values ? this.values.subarray(this.indptr[r], this.indptr[r + 1]) : null;
  }

  /** Row r as a sparse vector: views of its ids and values (a binary matrix's row gets ones, a fresh array). */
  row(r: number): { ids: Int32Array; values: Float32Array } {
    return { ids: this.rowIndices(r), values: this.rowValues(r) ?? new Float32Array(this.rowNnz(r)).fill(1) };
  }

  /** A(r, c), by binary search in the sorted row; 0 when absent. */
  get(r: number, c: number): number {
    let lo = this.indptr[r];
    let hi = this.indptr[r + 1] - 1;
    const idx = this.indices;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = idx[mid];
      if (v === c) return this.values ? this.values[mid] : 1;
      if (v < c) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Number of stored entries in each column. */
  colCounts(): Int32Array {
    const counts = new Int32Array(this.nCols);
    const idx = this.indices;
    for (let k = 0; k < idx.length; k++) counts[idx[k]]++;
    return counts;
  }

  /** Sum of values (or count for binary) per row. */
  rowSums(): Float64Array {
    const out = new Float64Array(this.nRows);
    for (let r = 0; r < this.nRows; r++) {
      if (!this.values) {
        out[r] = this.indptr[r + 1] - this.indptr[r];
        continue;
      }
      let s = 0;
      for (let k = this.indptr[r]; k < this.indptr[r + 1]; k++) s += this.values[k];
      out[r] = s;
    }
    return out;
  }

  /** The transpose, rows sorted by column index (a counting sort is stable, so this holds for free). */
  transpose(): CsrMatrix {
    const { order, indptr } = transposeOrder(this);
    const nnz = this.nnz;
    const indices = new Int32Array(nnz);
    const values = this.values ? new Float32Array(nnz) : null;
    // order[k] is the source position of the k-th entry of the transpose; its row is the new column.
    const rowOf = rowOfEntry(this);
    for (let k = 0; k < nnz; k++) {
      const src = order[k];
      indices[k] = rowOf[src];
      if (values) values[k] = this.values![src];
    }
    return new CsrMatrix(this.nCols, this.nRows, indptr, indices, values);
  }

  /**
   * Builds from coordinate lists. `duplicates` says what to do with repeated (row, col) pairs: 'keep' stores
   * them all (adjacent, in input order), the others merge them into one entry.
   * Returns the matrix; use {@link cooOrder} directly when parallel per-entry arrays must follow the same order.
   */
  static fromCoo(
    rows: Int32Array,
    cols: Int32Array,
    values: Float32Array | null,
    nRows: number,
    nCols: number,
    duplicates: Duplicates = 'sum',
  ): CsrMatrix {
    // A short values array would otherwise read undefined and store NaN silently.
    if (values && values.length !== rows.length)
      throw new RangeError(`values length ${values.length} != rows length ${rows.length}`);
    const { order, indptr } = cooOrder(rows, cols, nRows, nCols);
    const nnz = order.length;
    let indices = new Int32Array(nnz);
    let vals = values ? new Float32Array(nnz) : null;
    for (let k = 0; k < nnz; k++) {
      indices[k] = cols[order[k]];
      if (vals) vals[k] = values![order[k]];
    }
    if (duplicates === 'keep') return new CsrMatrix(nRows, nCols, indptr, indices, vals);
    // Merge adjacent duplicates in place, rewriting indptr as we go.
    let w = 0;
    let start = 0;
    for (let r = 0; r < nRows; r++) {
      const end = indptr[r + 1];
      indptr[r] = w;
      for (let k = start; k < end; k++) {
        if (w > indptr[r] && indices[w - 1] === indices[k]) {
          if (vals) {
            const v = vals[k];
            if (duplicates === 'sum') vals[w - 1] += v;
            else if (duplicates === 'max') vals[w - 1] = Math.max(vals[w - 1], v);
            else if (duplicates === 'last') vals[w - 1] = v;
          }
          continue;
        }
        indices[w] = indices[k];
        if (vals) vals[w] = vals[k];
        w++;
      }
      start = end;
    }
    indptr[nRows] = w;
    if (w < nnz) {
      indices = indices.slice(0, w);
      if (vals) vals = vals.slice(0, w);
    }
    return new CsrMatrix(nRows, nCols, indptr, indices, vals);
  }
}

/**
 * The order that sorts coordinate entries by (row, col), stable for equal pairs, and the resulting row
 * pointers. order[k] is the input position of the k-th entry in CSR order.
 */
export function cooOrder(
  rows: Int32Array,
  cols: Int32Array,
  nRows: number,
  nCols: number,
): { order: Int32Array; indptr: Int32Array } {
  const nnz = rows.length;
  if (cols.length !== nnz) throw new RangeError('rows and cols differ in length');
  // Pass 1: stable counting sort by column.
  const colPtr = new Int32Array(nCols + 1);
  for (let k = 0; k < nnz; k++) {
    const c = cols[k];
    if (c < 0 || c >= nCols) throw new RangeError(`column ${c} out of range [0, ${nCols})`);
    colPtr[c + 1]++;
  }
  for (let c = 0; c < nCols; c++) colPtr[c + 1] += colPtr[c];
  const byCol = new Int32Array(nnz);
  for (let k = 0; k < nnz; k++) byCol[colPtr[cols[k]]++] = k;
  // Pass 2: stable counting sort by row over the column-sorted order.
  const indptr = new Int32Array(nRows + 1);
  for (let k = 0; k < nnz; k++) {
    const r = rows[k];
    if (r < 0 || r >= nRows) throw new RangeError(`row ${r} out of range [0, ${nRows})`);
    indptr[r + 1]++;
  }
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  const next = indptr.slice(0, nRows);
  const order = new Int32Array(nnz);
  for (let k = 0; k < nnz; k++) {
    const src = byCol[k];
    order[next[rows[src]]++] = src;
  }
  return { order, indptr };
}

/** Row id of every stored entry. */
export function rowOfEntry(m: CsrMatrix): Int32Array {
  const out = new Int32Array(m.nnz);
  for (let r = 0; r < m.nRows; r++) out.fill(r, m.indptr[r], m.indptr[r + 1]);
  return out;
}

/** The permutation of stored entries that yields the transpose, and the transpose's row pointers. */
export function transposeOrder(m: CsrMatrix): { order: Int32Array; indptr: Int32Array } {
  const nnz = m.nnz;
  const indptr = new Int32Array(m.nCols + 1);
  const idx = m.indices;
  for (let k = 0; k < nnz; k++) indptr[idx[k] + 1]++;
  for (let c = 0; c < m.nCols; c++) indptr[c + 1] += indptr[c];
  const next = indptr.slice(0, m.nCols);
  const order = new Int32Array(nnz);
  for (let k = 0; k < nnz; k++) order[next[idx[k]]++] = k;
  return { order, indptr };
}
