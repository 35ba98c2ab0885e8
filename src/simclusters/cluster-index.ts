/**
 * Cluster → top entities indexes (DESIGN §3.4 "top producers per cluster", §3.5 "cluster → top M items"): for
 * each cluster, the best-scoring entities in descending score order, ties broken by smaller entity id, stored as
 * one flat ranked list per cluster. Built from a sparse embedding (entities × clusters) or fed entry by entry
 * through {@link ClusterTopAccumulator}, which keeps a bounded min-heap per cluster so the full transpose is never
 * materialised.
 */
import type { CsrMatrix } from '../core/csr.ts';
import { checkParam, shapeError } from './embedding-types.ts';

/** For each cluster c, entities ids[indptr[c] .. indptr[c+1]) with their scores, best first. */
export interface ClusterTopList {
  readonly nClusters: number;
  /** Size of the entity id space (items, producers, ...). */
  readonly nEntities: number;
  readonly indptr: Int32Array;
  readonly ids: Int32Array;
  readonly scores: Float32Array;
}

/** Parameters of the cluster indexes. */
export interface ClusterIndexParams {
  /** Items kept per cluster (M stored; DESIGN §3.5 default 1600). */
  topItemsPerCluster: number;
  /** Items below this score are not indexed (default 0.001). */
  minItemScore: number;
  /** Producers kept per cluster (DESIGN §3.4 default 300). */
  topProducersPerCluster: number;
  /** Producers below this score are not indexed (0: every kept producer-embedding entry qualifies). */
  minProducerScore: number;
}

export const CLUSTER_INDEX_DEFAULTS: Readonly<ClusterIndexParams> = Object.freeze({
  topItemsPerCluster: 1600,
  minItemScore: 0.001,
  topProducersPerCluster: 300,
  minProducerScore: 0,
});

const INITIAL_HEAP = 16;

/**
 * Keeps, per cluster, the `capacity` best (entity, score) pairs pushed so far. Each cluster's heap is allocated on
 * its first push and grows by doubling up to `capacity`, so memory follows what is actually indexed rather than
 * nClusters × capacity. Scores are rounded to Float32 on entry so the order matches the stored values exactly.
 */
export class ClusterTopAccumulator {
  private readonly heapIds: (Int32Array | null)[];
  private readonly heapScores: (Float32Array | null)[];
  private readonly size: Int32Array;

  constructor(
    readonly nClusters: number,
    readonly nEntities: number,
    readonly capacity: number,
  ) {
    checkParam('clusterIndex', 'capacity', capacity, 0, true);
    this.heapIds = new Array<Int32Array | null>(nClusters).fill(null);
    this.heapScores = new Array<Float32Array | null>(nClusters).fill(null);
    this.size = new Int32Array(nClusters);
  }

  /** Offers entity `id` with `score` to cluster `c`'s list. NaN scores are ignored. */
  push(c: number, id: number, score: number): void {
    const cap = this.capacity;
    if (cap === 0 || Number.isNaN(score)) return;
    const s = Math.fround(score);
    let ids = this.heapIds[c];
    let scores = this.heapScores[c];
    const n = this.size[c];
    if (n < cap) {
      if (!ids || n === ids.length) {
        const len = Math.min(cap, ids ? ids.length * 2 : INITIAL_HEAP);
        const grownIds = new Int32Array(len);
        const grownScores = new Float32Array(len);
        if (ids && scores) {
          grownIds.set(ids);
          grownScores.set(scores);
        }
        this.heapIds[c] = ids = grownIds;
        this.heapScores[c] = scores = grownScores;
      }
      siftUp(ids, scores!, n, id, s);
      this.size[c] = n + 1;
      return;
    }
    // Full: replace the worst (the root) only when the newcomer ranks strictly better.
    if (!ranksBefore(s, id, scores![0], ids![0])) return;
    siftDown(ids!, scores!, n, id, s);
  }

  /** The ranked lists (best first). The accumulator can keep being used afterwards. */
  finish(): ClusterTopList {
    const nc = this.nClusters;
    const indptr = new Int32Array(nc + 1);
    for (let c = 0; c < nc; c++) indptr[c + 1] = indptr[c] + this.size[c];
    const total = indptr[nc];
    const outIds = new Int32Array(total);
    const outScores = new Float32Array(total);
    for (let c = 0; c < nc; c++) {
      const n = this.size[c];
      if (n === 0) continue;
      // Heap-sort a copy: popping the worst repeatedly fills the list from its end.
      const ids = this.heapIds[c]!.slice(0, n);
      const scores = this.heapScores[c]!.slice(0, n);
      const base = indptr[c];
      for (let m = n; m > 0; m--) {
        outIds[base + m - 1] = ids[0];
        outScores[base + m - 1] = scores[0];
        if (m > 1) siftDown(ids, scores, m - 1, ids[m - 1], scores[m - 1]);
      }
    }
    return { nClusters: nc, nEntities: this.nEntities, indptr, ids: outIds, scores: outScores };
  }
}

/** True when (sa, ia) ranks strictly before (sb, ib): higher score, then smaller id. */
function ranksBefore(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa > sb || (sa === sb && ia < ib);
}

/** Inserts (id, s) into a min-heap (root = worst-ranked) of n entries. */
function siftUp(ids: Int32Array, scores: Float32Array, n: number, id: number, s: number): void {
  let i = n;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    // The root holds the worst entry: parents move down while they rank before the newcomer.
    if (!ranksBefore(scores[parent], ids[parent], s, id)) break;
    ids[i] = ids[parent];
    scores[i] = scores[parent];
    i = parent;
  }
  ids[i] = id;
  scores[i] = s;
}

/** Replaces the root of a min-heap of n entries by (id, s) and restores the heap. */
function siftDown(ids: Int32Array, scores: Float32Array, n: number, id: number, s: number): void {
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    // Pick the worse child: it must move up above the newcomer if it is worse than it.
    const right = child + 1;
    if (right < n && ranksBefore(scores[child], ids[child], scores[right], ids[right])) child = right;
    if (!ranksBefore(s, id, scores[child], ids[child])) break;
    ids[i] = ids[child];
    scores[i] = scores[child];
    i = child;
  }
  ids[i] = id;
  scores[i] = s;
}

/**
 * The cluster → top entities index of an embedding (entities × clusters): per cluster the `capacity` entities with
 * the highest scores ≥ `minScore`, best first (ties: smaller id). `eligible`, when given, excludes entities whose
 * flag is 0 (e.g. items past the age limit).
 */
export function clusterTopFromEmbeddings(
  embedding: CsrMatrix,
  capacity: number,
  minScore: number,
  eligible: Uint8Array | null = null,
): ClusterTopList {
  checkParam('clusterIndex', 'minScore', minScore, -Infinity);
  if (eligible && eligible.length !== embedding.nRows) {
    throw shapeError(`eligible has ${eligible.length} flags for ${embedding.nRows} entities`, 'eligible');
  }
  const acc = new ClusterTopAccumulator(embedding.nCols, embedding.nRows, capacity);
  const { indptr, indices } = embedding;
  const values = embedding.values;
  for (let e = 0; e < embedding.nRows; e++) {
    if (eligible && eligible[e] === 0) continue;
    for (let k = indptr[e]; k < indptr[e + 1]; k++) {
      const v = values ? values[k] : 1;
      if (v >= minScore) acc.push(indices[k], e, v);
    }
  }
  return acc.finish();
}

/** cluster → top M items from item embeddings (DESIGN §3.5 defaults: M = 1600, score ≥ 0.001). */
export function buildClusterTopItems(
  itemEmbedding: CsrMatrix,
  params: Pick<ClusterIndexParams, 'topItemsPerCluster' | 'minItemScore'> = CLUSTER_INDEX_DEFAULTS,
  eligible: Uint8Array | null = null,
): ClusterTopList {
  checkParam('clusterIndex', 'topItemsPerCluster', params.topItemsPerCluster, 0, true);
  return clusterTopFromEmbeddings(itemEmbedding, params.topItemsPerCluster, params.minItemScore, eligible);
}

/** cluster → top producers from producer embeddings (DESIGN §3.4 default: 300 per cluster). */
export function buildClusterTopProducers(
  producerEmbedding: CsrMatrix,
  params: Pick<ClusterIndexParams, 'topProducersPerCluster' | 'minProducerScore'> = CLUSTER_INDEX_DEFAULTS,
): ClusterTopList {
  checkParam('clusterIndex', 'topProducersPerCluster', params.topProducersPerCluster, 0, true);
  return clusterTopFromEmbeddings(producerEmbedding, params.topProducersPerCluster, params.minProducerScore);
}

/** Cluster c's ranked entities and scores, as views (no copy). */
export function clusterTop(list: ClusterTopList, c: number): { ids: Int32Array; scores: Float32Array } {
  const start = list.indptr[c];
  const end = list.indptr[c + 1];
  return { ids: list.ids.subarray(start, end), scores: list.scores.subarray(start, end) };
}
