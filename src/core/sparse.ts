/**
 * Sparse vectors as two parallel typed arrays: ids strictly ascending, values float32, no stored zeros.
 * Sorted ids make every binary operation a linear merge (or a galloping search when one side is much
 * shorter), and a row of a {@link CsrMatrix} is already one of these without copying.
 *
 * The functions trust their inputs to satisfy the invariant (checking it would double the cost of a dot
 * product); data that comes from outside goes through {@link sparseFromPairs} or {@link assertSparseVector}.
 * Sums are accumulated in float64 and rounded to float32 once.
 */
import { SimrecError } from './errors.ts';
import { topKIndices } from './topk.ts';

export interface SparseVector {
  /** Strictly ascending, each in [0, 2^31). */
  readonly ids: Int32Array;
  /** values[i] belongs to ids[i]; finite and non-zero. */
  readonly values: Float32Array;
}

/** A vector with no entries. */
export function emptySparse(): SparseVector {
  return { ids: new Int32Array(0), values: new Float32Array(0) };
}

/**
 * Builds a vector from (id, value) pairs in any order: duplicates are summed, entries that are or sum to
 * exactly 0 are dropped. Ids must be integers in [0, 2^31), values finite.
 */
export function sparseFromPairs(ids: ArrayLike<number>, values: ArrayLike<number>): SparseVector {
  const n = ids.length;
  if (values.length !== n)
    throw new SimrecError('INTERNAL', `sparseFromPairs: ${n} ids but ${values.length} values`);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff)
      throw new SimrecError('INTERNAL', `sparseFromPairs: id ${id} is not an integer in [0, 2^31)`);
    if (!Number.isFinite(values[i]))
      throw new SimrecError('INTERNAL', `sparseFromPairs: value ${values[i]} of id ${id} is not finite`);
    if (i > 0 && id <= ids[i - 1]) sorted = false;
  }
  // Already strictly ascending (the common case: a CSR row, a previous result) needs no permutation.
  let order: Int32Array | null = null;
  if (!sorted) {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => ids[x] - ids[y] || x - y);
  }
  const outIds = new Int32Array(n);
  const outValues = new Float32Array(n);
  let w = 0;
  let i = 0;
  while (i < n) {
    const id = ids[order ? order[i] : i];
    let sum = 0;
    while (i < n && ids[order ? order[i] : i] === id) {
      sum += values[order ? order[i] : i];
      i++;
    }
    const v = Math.fround(sum);
    if (v !== 0) {
      outIds[w] = id;
      outValues[w] = v;
      w++;
    }
  }
  return trimmed(outIds, outValues, w);
}

/**
 * Σ_j w_j · r_j / ‖r_j‖ (w_j = 1 without `weights`): each row counts by its direction alone, whatever its
 * length; a row of no length adds nothing. What a query from several seeds (engaged items, followed topics) asks.
 */
export function sumOfUnitRows(rows: readonly SparseVector[], weights?: ArrayLike<number>): SparseVector {
  let n = 0;
  for (const r of rows) n += r.ids.length;
  const ids = new Int32Array(n);
  const vals = new Float64Array(n);
  let w = 0;
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    const len = norm2(r);
    if (!(len > 0)) continue;
    const f = (weights ? weights[j] : 1) / len;
    for (let e = 0; e < r.ids.length; e++) {
      ids[w] = r.ids[e];
      vals[w++] = f * r.values[e];
    }
  }
  return sparseFromPairs(ids.subarray(0, w), vals.subarray(0, w));
}

/** Throws unless v satisfies the invariant (equal lengths, ids strictly ascending and ≥ 0, finite non-zero values). */
export function assertSparseVector(v: SparseVector, what = 'sparse vector'): void {
  const { ids, values } = v;
  if (ids.length !== values.length)
    throw new SimrecError('INTERNAL', `${what}: ${ids.length} ids but ${values.length} values`);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || (i > 0 && ids[i] <= ids[i - 1]))
      throw new SimrecError(
        'INTERNAL',
        `${what}: ids not strictly ascending and non-negative at position ${i}`,
      );
    if (!Number.isFinite(values[i]) || values[i] === 0)
      throw new SimrecError('INTERNAL', `${what}: value ${values[i]} at position ${i} is zero or not finite`);
  }
}

/**
 * The first position in ids[from, to) whose id is ≥ target (to when none), by galloping from `from` then
 * binary search: O(log d) where d is the distance moved, so a sweep of increasing targets stays cheap.
 */
export function lowerBound(ids: Int32Array, target: number, from = 0, to = ids.length): number {
  let lo = from;
  let step = 1;
  let hi = lo;
  while (hi < to && ids[hi] < target) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > to) hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** v[id], 0 when absent. */
export function sparseGet(v: SparseVector, id: number): number {
  const i = lowerBound(v.ids, id);
  return i < v.ids.length && v.ids[i] === id ? v.values[i] : 0;
}

/** Beyond this length ratio a dot product gallops through the longer vector instead of merging. */
const GALLOP_RATIO = 16;

/** Σ a[i]·b[i] over the common ids. */
export function dot(a: SparseVector, b: SparseVector): number {
  let small = a;
  let large = b;
  if (a.ids.length > b.ids.length) {
    small = b;
    large = a;
  }
  const sIds = small.ids;
  const sVals = small.values;
  const lIds = large.ids;
  const lVals = large.values;
  const ns = sIds.length;
  const nl = lIds.length;
  if (ns === 0) return 0;
  let sum = 0;
  if (nl > GALLOP_RATIO * ns) {
    let j = 0;
    for (let i = 0; i < ns && j < nl; i++) {
      j = lowerBound(lIds, sIds[i], j, nl);
      if (j < nl && lIds[j] === sIds[i]) sum += sVals[i] * lVals[j++];
    }
    return sum;
  }
  let i = 0;
  let j = 0;
  while (i < ns && j < nl) {
    const x = sIds[i];
    const y = lIds[j];
    if (x === y) sum += sVals[i++] * lVals[j++];
    else if (x < y) i++;
    else j++;
  }
  return sum;
}

/** The Euclidean (L2) norm √(Σ v[i]²) — not its square. */
export function norm2(v: SparseVector): number {
  const vals = v.values;
  let s = 0;
  for (let i = 0; i < vals.length; i++) s += vals[i] * vals[i];
  return Math.sqrt(s);
}

/** dot(a, b) / (‖a‖·‖b‖), clamped to [−1, 1] against rounding; 0 when either vector is zero. */
export function cosine(a: SparseVector, b: SparseVector): number {
  const na = norm2(a);
  const nb = norm2(b);
  if (na === 0 || nb === 0) return 0;
  const c = dot(a, b) / (na * nb);
  return Math.min(1, Math.max(-1, c));
}

/**
 * ‖a − b‖₂, summed over the union of ids. Computed directly rather than from ‖a‖² + ‖b‖² − 2a·b, which
 * cancels catastrophically for nearby vectors.
 */
export function l2Distance(a: SparseVector, b: SparseVector): number {
  const aIds = a.ids;
  const bIds = b.ids;
  const aVals = a.values;
  const bVals = b.values;
  const na = aIds.length;
  const nb = bIds.length;
  let s = 0;
  let i = 0;
  let j = 0;
  while (i < na && j < nb) {
    const x = aIds[i];
    const y = bIds[j];
    let d: number;
    if (x === y) d = aVals[i++] - bVals[j++];
    else if (x < y) d = aVals[i++];
    else d = bVals[j++];
    s += d * d;
  }
  for (; i < na; i++) s += aVals[i] * aVals[i];
  for (; j < nb; j++) s += bVals[j] * bVals[j];
  return Math.sqrt(s);
}

/** A new vector a + s·b; entries that cancel to exactly 0 are dropped. */
export function addScaled(a: SparseVector, b: SparseVector, s: number): SparseVector {
  if (!Number.isFinite(s))
    throw new SimrecError('CONFIG_INVALID', `addScaled: scale must be finite, got ${s}`, { field: 's' });
  const aIds = a.ids;
  const bIds = b.ids;
  const aVals = a.values;
  const bVals = b.values;
  const na = aIds.length;
  const nb = bIds.length;
  const outIds = new Int32Array(na + nb);
  const outValues = new Float32Array(na + nb);
  let w = 0;
  let i = 0;
  let j = 0;
  while (i < na || j < nb) {
    let id: number;
    let v: number;
    if (j >= nb || (i < na && aIds[i] < bIds[j])) {
      id = aIds[i];
      v = aVals[i++];
    } else if (i >= na || bIds[j] < aIds[i]) {
      id = bIds[j];
      v = s * bVals[j++];
    } else {
      id = aIds[i];
      v = aVals[i++] + s * bVals[j++];
    }
    const f = Math.fround(v);
    if (f !== 0) {
      outIds[w] = id;
      outValues[w] = f;
      w++;
    }
  }
  return trimmed(outIds, outValues, w);
}

/** A new vector s·v (empty when s = 0, and entries that underflow to 0 in float32 are dropped). */
export function scale(v: SparseVector, s: number): SparseVector {
  if (!Number.isFinite(s))
    throw new SimrecError('CONFIG_INVALID', `scale: factor must be finite, got ${s}`, { field: 's' });
  const n = v.ids.length;
  const outIds = new Int32Array(n);
  const outValues = new Float32Array(n);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const f = Math.fround(s * v.values[i]);
    if (f !== 0) {
      outIds[w] = v.ids[i];
      outValues[w] = f;
      w++;
    }
  }
  return trimmed(outIds, outValues, w);
}

/**
 * The n entries with the largest values (ties: smaller id), still sorted by id. By signed value, not
 * magnitude: SimClusters embeddings are non-negative, and truncating them keeps the strongest clusters.
 */
export function topN(v: SparseVector, n: number): SparseVector {
  if (!Number.isInteger(n) || n < 0)
    throw new SimrecError('CONFIG_INVALID', `topN: n must be a non-negative integer, got ${n}`, {
      field: 'n',
    });
  const len = v.ids.length;
  if (n >= len) return { ids: v.ids.slice(), values: v.values.slice() };
  // Positions into v, not ids: sorting the kept positions ascending restores id order.
  const pos = new Int32Array(n);
  const count = topKIndices(v.values, n, pos, new Float32Array(n));
  pos.subarray(0, count).sort();
  const outIds = new Int32Array(count);
  const outValues = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    outIds[i] = v.ids[pos[i]];
    outValues[i] = v.values[pos[i]];
  }
  return { ids: outIds, values: outValues };
}

/** A new vector with only the entries whose value is ≥ minValue. */
export function prune(v: SparseVector, minValue: number): SparseVector {
  if (Number.isNaN(minValue))
    throw new SimrecError('CONFIG_INVALID', 'prune: minValue must be a number, got NaN', {
      field: 'minValue',
    });
  const n = v.ids.length;
  let kept = 0;
  for (let i = 0; i < n; i++) if (v.values[i] >= minValue) kept++;
  const outIds = new Int32Array(kept);
  const outValues = new Float32Array(kept);
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (v.values[i] >= minValue) {
      outIds[w] = v.ids[i];
      outValues[w] = v.values[i];
      w++;
    }
  }
  return { ids: outIds, values: outValues };
}

/** Shrinks over-allocated result buffers to their used length (copies only when something was dropped). */
function trimmed(ids: Int32Array, values: Float32Array, n: number): SparseVector {
  if (n === ids.length) return { ids, values };
  return { ids: ids.slice(0, n), values: values.slice(0, n) };
}
