/**
 * Positive interactions (data/positives.ts) as the evaluation protocol uses them: built from pair lists, split,
 * cleaned of train/test overlap.
 *
 * {@link toCatalogue} applies the evaluation protocol's catalogue: the items present among the positives of
 * train or test, renumbered 0..n−1 in item-index order, so models score exactly the items the metrics rank.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import type { Interactions } from '../data/positives.ts';

/** A train/test partition of the same users × items space. */
export interface TrainTest {
  readonly train: Interactions;
  readonly test: Interactions;
}

/**
 * Builds Interactions from parallel pair lists (tests, callers with their own data). Repeated pairs are merged
 * (weights summed, latest time kept). Weights default to 1, times to unknown.
 */
export function interactionsFromPairs(
  nUsers: number,
  nItems: number,
  users: ArrayLike<number>,
  items: ArrayLike<number>,
  weights?: ArrayLike<number> | null,
  ts?: ArrayLike<number> | null,
): Interactions {
  const n = users.length;
  if (items.length !== n || (weights && weights.length !== n) || (ts && ts.length !== n))
    throw new SimrecError('INTERNAL', 'interactionsFromPairs: users, items, weights and ts differ in length');
  const rows = Int32Array.from(users);
  const cols = Int32Array.from(items);
  for (let k = 0; k < n; k++) {
    if (!(rows[k] >= 0 && rows[k] < nUsers && cols[k] >= 0 && cols[k] < nItems))
      throw new SimrecError(
        'INTERNAL',
        `interactionsFromPairs: pair ${k} (${users[k]}, ${items[k]}) outside ${nUsers} × ${nItems}`,
      );
  }
  const order = sortedOrder(rows, cols, nUsers, nItems);
  const indptr = new Int32Array(nUsers + 1);
  const indices = new Int32Array(n);
  const vals = new Float32Array(n);
  const times = new Float64Array(n);
  let w = 0;
  let prevRow = -1;
  for (let q = 0; q < n; q++) {
    const k = order[q];
    const t = ts ? ts[k] : Number.NaN;
    const v = weights ? weights[k] : 1;
    if (rows[k] === prevRow && indices[w - 1] === cols[k]) {
      vals[w - 1] += v;
      if (!Number.isNaN(t) && !(t <= times[w - 1])) times[w - 1] = t;
      continue;
    }
    prevRow = rows[k];
    indices[w] = cols[k];
    vals[w] = v;
    times[w] = t;
    indptr[prevRow + 1]++;
    w++;
  }
  for (let u = 0; u < nUsers; u++) indptr[u + 1] += indptr[u];
  return {
    matrix: new CsrMatrix(nUsers, nItems, indptr, indices.slice(0, w), vals.slice(0, w)),
    ts: times.slice(0, w),
  };
}

/** The (row, col) order of coordinate pairs, stable: two counting sorts, as CsrMatrix.fromCoo does. */
function sortedOrder(rows: Int32Array, cols: Int32Array, nRows: number, nCols: number): Int32Array {
  const byCol = new Int32Array(rows.length);
  const colPtr = new Int32Array(nCols + 1);
  for (let k = 0; k < cols.length; k++) colPtr[cols[k] + 1]++;
  for (let c = 0; c < nCols; c++) colPtr[c + 1] += colPtr[c];
  for (let k = 0; k < cols.length; k++) byCol[colPtr[cols[k]]++] = k;
  const rowPtr = new Int32Array(nRows + 1);
  for (let k = 0; k < rows.length; k++) rowPtr[rows[k] + 1]++;
  for (let r = 0; r < nRows; r++) rowPtr[r + 1] += rowPtr[r];
  const order = new Int32Array(rows.length);
  for (let q = 0; q < byCol.length; q++) {
    const k = byCol[q];
    order[rowPtr[rows[k]]++] = k;
  }
  return order;
}

/** Selects entries of `x` by a keep mask over its entries. */
export function selectEntries(x: Interactions, keep: Uint8Array): Interactions {
  const m = x.matrix;
  const indptr = new Int32Array(m.nRows + 1);
  let n = 0;
  for (let k = 0; k < keep.length; k++) if (keep[k]) n++;
  const indices = new Int32Array(n);
  const values = new Float32Array(n);
  const ts = new Float64Array(n);
  let w = 0;
  for (let u = 0; u < m.nRows; u++) {
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
      if (!keep[k]) continue;
      indices[w] = m.indices[k];
      values[w] = m.values ? m.values[k] : 1;
      ts[w] = x.ts[k];
      w++;
    }
    indptr[u + 1] = w;
  }
  return { matrix: new CsrMatrix(m.nRows, m.nCols, indptr, indices, values), ts };
}

/** The number of (user, item) pairs present in both a and b (rows are sorted, so a merge per row). */
export function countOverlap(a: CsrMatrix, b: CsrMatrix): number {
  let n = 0;
  const rows = Math.min(a.nRows, b.nRows);
  for (let u = 0; u < rows; u++) {
    let i = a.indptr[u];
    let j = b.indptr[u];
    const ie = a.indptr[u + 1];
    const je = b.indptr[u + 1];
    while (i < ie && j < je) {
      const x = a.indices[i];
      const y = b.indices[j];
      if (x === y) {
        n++;
        i++;
        j++;
      } else if (x < y) i++;
      else j++;
    }
  }
  return n;
}

/**
 * Removes from `test` the pairs also in `train`. Train positives are excluded from a user's ranking, so such a
 * test pair could never be hit and would only drag recall down. Returns the cleaned test and how many were removed.
 */
export function dropOverlap(
  train: Interactions,
  test: Interactions,
): { test: Interactions; removed: number } {
  const a = train.matrix;
  const b = test.matrix;
  const keep = new Uint8Array(b.nnz).fill(1);
  let removed = 0;
  for (let u = 0; u < b.nRows; u++) {
    let i = a.indptr[u];
    const ie = a.indptr[u + 1];
    for (let j = b.indptr[u]; j < b.indptr[u + 1]; j++) {
      const y = b.indices[j];
      while (i < ie && a.indices[i] < y) i++;
      if (i < ie && a.indices[i] === y) {
        keep[j] = 0;
        removed++;
      }
    }
  }
  return { test: removed === 0 ? test : selectEntries(test, keep), removed };
}

/** A split ready to evaluate: items renumbered to the catalogue, with the id maps to name things. */
export interface EvalData {
  /** External user id of each row. */
  readonly userIds: readonly string[];
  /** External item id of each catalogue item (column). */
  readonly itemIds: readonly string[];
  /** users × catalogue. */
  readonly train: Interactions;
  /** users × catalogue; disjoint from train. */
  readonly test: Interactions;
  /** catalogue × features (tags, genres), binary; null when the data has none. */
  readonly itemFeatures: CsrMatrix | null;
  /** Name of each feature column. */
  readonly featureNames: readonly string[] | null;
}

export interface CatalogueInput {
  split: TrainTest;
  users: IdMap;
  items: IdMap;
  /** items × topics over the full item space, or null. */
  itemTags?: CsrMatrix | null;
  topics?: IdMap | null;
}

/**
 * Restricts a split to the protocol's catalogue (items with a positive in train or test, kept in item-index order)
 * and renumbers the item columns. Fails when train and test share a pair: a leaking split measures nothing
 * (use {@link dropOverlap} first to accept such a split knowingly).
 */
export function toCatalogue(input: CatalogueInput): EvalData {
  const { train, test } = input.split;
  const nItems = train.matrix.nCols;
  if (test.matrix.nCols !== nItems || test.matrix.nRows !== train.matrix.nRows)
    throw new SimrecError(
      'INTERNAL',
      `train (${train.matrix.nRows} × ${nItems}) and test (${test.matrix.nRows} × ${test.matrix.nCols}) differ in shape`,
    );
  if (input.items.size !== nItems || input.users.size !== train.matrix.nRows)
    throw new SimrecError('INTERNAL', 'toCatalogue: id maps do not match the matrix shape');
  const overlap = countOverlap(train.matrix, test.matrix);
  if (overlap > 0)
    throw new SimrecError(
      'INPUT_BAD_ROW',
      `train and test share ${overlap} (user, item) pair(s); a pair can be in only one of them`,
    );
  const newId = new Int32Array(nItems).fill(-1);
  for (const m of [train.matrix, test.matrix]) for (let k = 0; k < m.nnz; k++) newId[m.indices[k]] = 0;
  const itemIds: string[] = [];
  for (let i = 0; i < nItems; i++) {
    if (newId[i] < 0) continue;
    newId[i] = itemIds.length;
    itemIds.push(input.items.id(i));
  }
  const nCat = itemIds.length;
  let itemFeatures: CsrMatrix | null = null;
  const tags = input.itemTags ?? null;
  if (tags) {
    if (tags.nRows < nItems)
      throw new SimrecError('INTERNAL', `itemTags has ${tags.nRows} rows, the items ${nItems}`);
    const indptr = new Int32Array(nCat + 1);
    let nnz = 0;
    for (let i = 0; i < nItems; i++) if (newId[i] >= 0) nnz += tags.rowNnz(i);
    const indices = new Int32Array(nnz);
    let w = 0;
    for (let i = 0; i < nItems; i++) {
      if (newId[i] < 0) continue;
      indices.set(tags.rowIndices(i), w);
      w += tags.rowNnz(i);
      indptr[newId[i] + 1] = w;
    }
    itemFeatures = new CsrMatrix(nCat, tags.nCols, indptr, indices, null);
  }
  return {
    userIds: input.users.idList(),
    itemIds,
    train: renumberColumns(train, newId, nCat),
    test: renumberColumns(test, newId, nCat),
    itemFeatures,
    featureNames: itemFeatures ? (input.topics?.idList() ?? null) : null,
  };
}

/** Columns mapped through newId (monotone on the kept columns, so rows stay sorted). */
function renumberColumns(x: Interactions, newId: Int32Array, nCols: number): Interactions {
  const m = x.matrix;
  const indices = new Int32Array(m.nnz);
  for (let k = 0; k < m.nnz; k++) indices[k] = newId[m.indices[k]];
  return {
    matrix: new CsrMatrix(m.nRows, nCols, m.indptr, indices, m.values),
    ts: x.ts,
  };
}
