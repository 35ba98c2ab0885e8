/**
 * Agreement between two partitions of the same items: normalized mutual information, adjusted Rand index and
 * pair-counting precision/recall/F1. Used to score KnownFor communities against planted ground truth
 * (DESIGN §12) and to compare builds.
 *
 * Labels are arbitrary int32 values (cluster ids may be sparse and large); −1 means "unassigned". All three
 * metrics come from one contingency table: labels are remapped to dense ids and the (a, b) cells counted in
 * an open-addressing hash table over typed arrays, so the cost is O(n) time and O(distinct labels + distinct
 * cells) memory however large the label values are.
 */
import { SimrecError } from './errors.ts';

/** The label that marks an item no cluster was assigned to. */
export const UNASSIGNED = -1;

/**
 * What −1 labels mean:
 * - `'own-cluster'` (default): all unassigned items of a partition form one cluster together. Orphans then
 *   count as "clustered together" with each other, which costs precision and NMI unless the other partition
 *   agrees — it penalises orphans honestly instead of hiding them.
 * - `'singleton'`: each unassigned item is a cluster of its own (no pairs, but each adds entropy).
 * - `'drop'`: items unassigned in either partition are left out; the metrics describe the rest only, so report
 *   the orphan rate beside them ({@link ClusteringAgreement.n} says how many items were compared).
 */
export type UnassignedMode = 'drop' | 'singleton' | 'own-cluster';

export interface AgreementOptions {
  unassigned?: UnassignedMode;
}

/** Pair counting of a predicted partition `a` against a reference `b`; pairs are unordered. */
export interface PairScores {
  /** Pairs together in both a and b. */
  truePairs: number;
  /** Pairs together in a. */
  predictedPairs: number;
  /** Pairs together in b. */
  referencePairs: number;
  /**
   * truePairs / predictedPairs, recall truePairs / referencePairs. A ratio with no pairs to count is 1 when
   * neither partition has any co-clustered pair (they agree: all singletons), else 0.
   */
  precision: number;
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

export interface ClusteringAgreement {
  /** Items compared (all of them, unless `unassigned: 'drop'` left some out). */
  n: number;
  /** Distinct clusters in a and in b among the compared items. */
  clustersA: number;
  clustersB: number;
  nmi: number;
  ari: number;
  pairs: PairScores;
}

/**
 * Normalized mutual information with arithmetic-mean normalisation, MI / ((H(a) + H(b)) / 2) — the default of
 * scikit-learn's `normalized_mutual_info_score`, including its limit cases: 1 when both partitions have a
 * single cluster (or no items), 0 when the mutual information is 0. Symmetric; in [0, 1].
 */
export function nmi(a: Int32Array, b: Int32Array, opts: AgreementOptions = {}): number {
  return nmiOf(contingency(a, b, modeOf(opts)));
}

/**
 * Adjusted Rand index (Hubert & Arabie 1985): (index − expected) / (max − expected) over pair counts; 1 for
 * identical partitions, about 0 for independent ones, negative when agreement is below chance. Symmetric.
 */
export function adjustedRandIndex(a: Int32Array, b: Int32Array, opts: AgreementOptions = {}): number {
  return ariOf(contingency(a, b, modeOf(opts)));
}

/** Pair-counting precision, recall and F1 of partition `a` against the reference partition `b`. */
export function pairPrecisionRecall(a: Int32Array, b: Int32Array, opts: AgreementOptions = {}): PairScores {
  return pairsOf(contingency(a, b, modeOf(opts)));
}

/** All three measures from one contingency table: cheaper than calling them one by one. */
export function clusteringAgreement(
  a: Int32Array,
  b: Int32Array,
  opts: AgreementOptions = {},
): ClusteringAgreement {
  const t = contingency(a, b, modeOf(opts));
  return { n: t.n, clustersA: t.ka, clustersB: t.kb, nmi: nmiOf(t), ari: ariOf(t), pairs: pairsOf(t) };
}

interface Contingency {
  n: number;
  ka: number;
  kb: number;
  /** Cluster sizes of a and of b, by dense id. */
  sizeA: Float64Array;
  sizeB: Float64Array;
  /** Non-empty cells: dense ids and counts. */
  nCells: number;
  cellA: Int32Array;
  cellB: Int32Array;
  cellCount: Float64Array;
}

function modeOf(opts: AgreementOptions): UnassignedMode {
  const m = opts.unassigned ?? 'own-cluster';
  if (m !== 'drop' && m !== 'singleton' && m !== 'own-cluster')
    throw new SimrecError(
      'CONFIG_INVALID',
      `unassigned must be 'drop', 'singleton' or 'own-cluster', got '${m}'`,
      {
        field: 'unassigned',
      },
    );
  return m;
}

function contingency(a: Int32Array, b: Int32Array, mode: UnassignedMode): Contingency {
  if (a.length !== b.length)
    throw new SimrecError(
      'INTERNAL',
      `clustering agreement: partitions label ${a.length} and ${b.length} items`,
    );
  const total = a.length;
  const denseA = new Int32Array(total);
  const denseB = new Int32Array(total);
  const drop = mode === 'drop';
  const ka = remap(a, denseA, mode, drop ? b : null);
  const kb = remap(b, denseB, mode, drop ? a : null);
  const sizeA = new Float64Array(ka);
  const sizeB = new Float64Array(kb);
  const cells = new PairIndex(Math.min(total, 1 << 16));
  let n = 0;
  for (let i = 0; i < total; i++) {
    const x = denseA[i];
    if (x < 0) continue; // dropped
    const y = denseB[i];
    n++;
    sizeA[x]++;
    sizeB[y]++;
    cells.add(x, y);
  }
  return {
    n,
    ka,
    kb,
    sizeA,
    sizeB,
    nCells: cells.size,
    cellA: cells.xs,
    cellB: cells.ys,
    cellCount: cells.counts,
  };
}

/**
 * Writes dense cluster ids for labels into out and returns how many there are. Labels get their hash slot
 * (first-seen order); in 'singleton' mode each unassigned item then gets a fresh id after those; in 'drop'
 * mode an item unassigned in labels or in `other` gets −1.
 */
function remap(labels: Int32Array, out: Int32Array, mode: UnassignedMode, other: Int32Array | null): number {
  const index = new PairIndex(1024);
  const singleton = mode === 'singleton';
  let nSingletons = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (other && (l === UNASSIGNED || other[i] === UNASSIGNED)) out[i] = -1;
    else if (singleton && l === UNASSIGNED) {
      out[i] = -2;
      nSingletons++;
    } else out[i] = index.add(l, 0);
  }
  let next = index.size;
  if (nSingletons > 0) for (let i = 0; i < labels.length; i++) if (out[i] === -2) out[i] = next++;
  return next;
}

function nmiOf(t: Contingency): number {
  const { n, ka, kb } = t;
  if ((ka === 1 && kb === 1) || n === 0) return 1;
  let mi = 0;
  for (let c = 0; c < t.nCells; c++) {
    const nij = t.cellCount[c];
    // One log of an exact ratio of integers: independent cells give log(1) = 0 exactly, not rounding noise.
    mi += (nij / n) * Math.log((nij * n) / (t.sizeA[t.cellA[c]] * t.sizeB[t.cellB[c]]));
  }
  if (!(mi > 0)) return 0;
  const h = entropy(t.sizeA, n) + entropy(t.sizeB, n);
  return Math.min(1, mi / (h / 2));
}

function entropy(sizes: Float64Array, n: number): number {
  let h = 0;
  for (let i = 0; i < sizes.length; i++) {
    const p = sizes[i] / n;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

/** Unordered pairs within one group of size x. */
function pairs(x: number): number {
  return (x * (x - 1)) / 2;
}

interface PairSums {
  together: number;
  inA: number;
  inB: number;
}

function pairSums(t: Contingency): PairSums {
  let together = 0;
  for (let c = 0; c < t.nCells; c++) together += pairs(t.cellCount[c]);
  let inA = 0;
  for (let i = 0; i < t.ka; i++) inA += pairs(t.sizeA[i]);
  let inB = 0;
  for (let j = 0; j < t.kb; j++) inB += pairs(t.sizeB[j]);
  return { together, inA, inB };
}

function ariOf(t: Contingency): number {
  const { together, inA, inB } = pairSums(t);
  const all = pairs(t.n);
  if (all === 0) return 1;
  const expected = (inA * inB) / all;
  const max = (inA + inB) / 2;
  // max = expected only when both partitions are all singletons or both one cluster: identical.
  if (max === expected) return 1;
  return (together - expected) / (max - expected);
}

function pairsOf(t: Contingency): PairScores {
  const { together, inA, inB } = pairSums(t);
  const agreeEmpty = inA === 0 && inB === 0 ? 1 : 0;
  const precision = inA > 0 ? together / inA : agreeEmpty;
  const recall = inB > 0 ? together / inB : agreeEmpty;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { truePairs: together, predictedPairs: inA, referencePairs: inB, precision, recall, f1 };
}

/**
 * Open-addressing hash from an int32 pair (x, y) to a dense slot in insertion order, with a float64 counter
 * per slot. Parallel typed arrays, linear probing, doubling at half load: no objects per key.
 */
class PairIndex {
  size = 0;
  xs: Int32Array;
  ys: Int32Array;
  counts: Float64Array;
  /** Hash slot → dense slot + 1 (0 = empty). */
  private table: Int32Array;
  private mask: number;

  constructor(expected: number) {
    let cap = 16;
    while (cap < 2 * expected) cap *= 2;
    this.table = new Int32Array(cap);
    this.mask = cap - 1;
    this.xs = new Int32Array(cap >> 1);
    this.ys = new Int32Array(cap >> 1);
    this.counts = new Float64Array(cap >> 1);
  }

  /** Counts one occurrence of (x, y) and returns its dense slot. */
  add(x: number, y: number): number {
    const table = this.table;
    const mask = this.mask;
    let h = hash2(x, y) & mask;
    for (;;) {
      const s = table[h];
      if (s === 0) break;
      if (this.xs[s - 1] === x && this.ys[s - 1] === y) {
        this.counts[s - 1]++;
        return s - 1;
      }
      h = (h + 1) & mask;
    }
    const slot = this.size++;
    this.xs[slot] = x;
    this.ys[slot] = y;
    this.counts[slot] = 1;
    table[h] = slot + 1;
    if (2 * this.size >= table.length) this.grow();
    return slot;
  }

  private grow(): void {
    const cap = this.table.length * 2;
    const table = new Int32Array(cap);
    const mask = cap - 1;
    for (let s = 0; s < this.size; s++) {
      let h = hash2(this.xs[s], this.ys[s]) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = s + 1;
    }
    this.table = table;
    this.mask = mask;
    const xs = new Int32Array(cap >> 1);
    const ys = new Int32Array(cap >> 1);
    const counts = new Float64Array(cap >> 1);
    xs.set(this.xs);
    ys.set(this.ys);
    counts.set(this.counts);
    this.xs = xs;
    this.ys = ys;
    this.counts = counts;
  }
}

/** A 32-bit mix of two int32s (murmur3 finaliser), so sequential and strided labels spread over the table. */
function hash2(x: number, y: number): number {
  let h = Math.imul(x, 0x9e3779b1) ^ Math.imul(y ^ 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
