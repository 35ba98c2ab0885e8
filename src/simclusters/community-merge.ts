/**
 * The model-selection step of KnownFor's automatic community count: communities found by MH from an
 * over-provisioned start are merged, by the aggregation phase of Louvain (Blondel et al. 2008) run on the
 * community graph — each community moves to the neighbouring group with the best gain until none improves, the
 * groups become the nodes of the next level, and levels repeat until nothing moves — with one of two gains:
 * KnownFor's own objective ({@link mergeByObjective}, the default) or the modularity of the similarity graph
 * (Newman & Girvan 2004, {@link mergeCommunities}). MH's single-vertex moves never merge two communities that
 * belong together: a vertex moving alone loses its own community's edges. Merging only ever joins whole
 * communities, so what MH decided inside each one is kept.
 */
import type { CsrMatrix } from '../core/csr.ts';

export interface CommunityMergeResult {
  /** Per vertex its merged community in [0, count), −1 where the input had none. */
  cluster: Int32Array;
  count: number;
  /** Communities before merging (non-empty ones). */
  before: number;
  levels: number;
  modularityBefore: number;
  modularityAfter: number;
}

/** Renumbers the non-empty communities 0.. in order of first appearance; returns the count. */
export function compactClusters(
  cluster: Int32Array,
  out: Int32Array = new Int32Array(cluster.length),
): number {
  let maxId = -1;
  for (let v = 0; v < cluster.length; v++) if (cluster[v] > maxId) maxId = cluster[v];
  const map = new Int32Array(maxId + 1).fill(-1);
  let count = 0;
  for (let v = 0; v < cluster.length; v++) {
    const c = cluster[v];
    if (c < 0) {
      out[v] = -1;
      continue;
    }
    if (map[c] < 0) map[c] = count++;
    out[v] = map[c];
  }
  return count;
}

/** Modularity Σ_c [W_in(c)/2m − (K_c/2m)²] of a partition of a symmetric graph; −1 vertices are left out. */
export function modularity(graph: CsrMatrix, cluster: Int32Array): number {
  const { indptr, indices, values } = graph;
  const n = graph.nRows;
  let k = 0;
  for (let v = 0; v < n; v++) if (cluster[v] + 1 > k) k = cluster[v] + 1;
  const K = new Float64Array(k);
  let m2 = 0;
  let inside = 0;
  for (let v = 0; v < n; v++) {
    const c = cluster[v];
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      const w = values ? values[e] : 1;
      m2 += w;
      if (c < 0) continue;
      K[c] += w;
      if (cluster[indices[e]] === c) inside += w;
    }
  }
  if (m2 === 0) return 0;
  let q = inside / m2;
  for (let c = 0; c < k; c++) q -= (K[c] / m2) * (K[c] / m2);
  return q;
}

/**
 * Merges communities of `cluster` (ids ≥ 0, −1 none) on `graph` while modularity rises; `resolution` γ scales
 * the null-model term (1 = Newman's modularity, > 1 keeps more, smaller communities).
 */
export function mergeCommunities(
  graph: CsrMatrix,
  cluster: Int32Array,
  resolution = 1,
  maxLevels = 32,
): CommunityMergeResult {
  const n = graph.nRows;
  const deg = new Float64Array(n);
  let m2 = 0;
  for (let v = 0; v < n; v++) {
    for (let e = graph.indptr[v]; e < graph.indptr[v + 1]; e++) deg[v] += graph.values ? graph.values[e] : 1;
    m2 += deg[v];
  }
  // Modularity gain of joining group G, up to a constant factor: w(i, G) − γ·s_i·S_G / 2m.
  const scale = resolution / m2;
  return mergeLevels(
    graph,
    cluster,
    m2 > 0 ? maxLevels : 0,
    deg,
    null,
    (agg) => (i, G, w, _x, t) => w - agg.strength[i] * scale * t.strength[G],
  );
}

type Gain = (i: number, G: number, w: number, x: number, totals: GroupTotals) => number;

/** Levels of local moves with the gain `gainOf` gives for each level's community graph, until nothing moves. */
function mergeLevels(
  graph: CsrMatrix,
  cluster: Int32Array,
  maxLevels: number,
  deg: Float64Array | null,
  wbar: Float64Array | null,
  gainOf: (agg: Aggregate) => Gain,
): CommunityMergeResult {
  const n = graph.nRows;
  const lab = new Int32Array(n);
  let count = compactClusters(cluster, lab);
  const before = count;
  const modularityBefore = modularity(graph, lab);
  let levels = 0;
  while (levels < maxLevels && count > 1) {
    const agg = aggregate(graph, lab, count, deg, wbar);
    const group = localMoves(agg, gainOf(agg));
    if (group === null) break;
    levels++;
    for (let v = 0; v < n; v++) if (lab[v] >= 0) lab[v] = group[lab[v]];
    count = compactClusters(lab, lab);
  }
  return { cluster: lab, count, before, levels, modularityBefore, modularityAfter: modularity(graph, lab) };
}

/**
 * The community graph: rows = communities, entries = the summed weight between two communities (no loops), and
 * per community its summed degree, size and Σ w̄_v; with `wbar`, per entry (a, b) also X(a→b) + X(b→a), the
 * penalty weights KnownFor's objective charges across the pair (see {@link mergeByObjective}).
 */
interface Aggregate {
  k: number;
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float64Array;
  penaltyShared: Float64Array | null;
  strength: Float64Array;
  size: Float64Array;
  wbarSum: Float64Array;
}

function aggregate(
  graph: CsrMatrix,
  lab: Int32Array,
  k: number,
  deg: Float64Array | null,
  wbar: Float64Array | null,
): Aggregate {
  const n = graph.nRows;
  const { indptr, indices, values } = graph;
  // Vertices grouped by community (counting sort), so each community's row is accumulated in one go.
  const start = new Int32Array(k + 1);
  for (let v = 0; v < n; v++) if (lab[v] >= 0) start[lab[v] + 1]++;
  for (let c = 0; c < k; c++) start[c + 1] += start[c];
  const members = new Int32Array(start[k]);
  const fill = start.slice(0, k);
  for (let v = 0; v < n; v++) if (lab[v] >= 0) members[fill[lab[v]]++] = v;
  const strength = new Float64Array(k);
  const size = new Float64Array(k);
  const wbarSum = new Float64Array(k);
  const accW = new Float64Array(k);
  const accX = new Float64Array(k);
  const mark = new Uint8Array(k);
  const touched = new Int32Array(k);
  const rowPtr = new Int32Array(k + 1);
  let cap = Math.max(16, k * 4);
  let outIdx = new Int32Array(cap);
  let outW = new Float64Array(cap);
  let outX = wbar ? new Float64Array(cap) : null;
  let nnz = 0;
  for (let a = 0; a < k; a++) {
    let nt = 0;
    for (let i = start[a]; i < start[a + 1]; i++) {
      const v = members[i];
      if (deg) strength[a] += deg[v];
      size[a]++;
      if (wbar) wbarSum[a] += wbar[v];
      for (let e = indptr[v]; e < indptr[v + 1]; e++) {
        const u = indices[e];
        const b = lab[u];
        if (b < 0 || b === a) continue;
        if (!mark[b]) {
          mark[b] = 1;
          touched[nt++] = b;
        }
        accW[b] += values ? values[e] : 1;
        if (wbar) accX[b] += wbar[v] + wbar[u];
      }
    }
    if (nnz + nt > cap) {
      cap = Math.max(cap * 2, nnz + nt);
      outIdx = grow(outIdx, new Int32Array(cap), nnz);
      outW = grow(outW, new Float64Array(cap), nnz);
      if (outX) outX = grow(outX, new Float64Array(cap), nnz);
    }
    for (let t = 0; t < nt; t++) {
      const b = touched[t];
      outIdx[nnz] = b;
      outW[nnz] = accW[b];
      if (outX) outX[nnz] = accX[b];
      nnz++;
      accW[b] = 0;
      accX[b] = 0;
      mark[b] = 0;
    }
    rowPtr[a + 1] = nnz;
  }
  return { k, indptr: rowPtr, indices: outIdx, weights: outW, penaltyShared: outX, strength, size, wbarSum };
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T, used: number): T {
  to.set(from.subarray(0, used));
  return to;
}

/**
 * Merges communities while KnownFor's own objective rises (see known-for.ts): joining communities A and B adds
 * Σ over their vertices of the terms of L that the join changes,
 *
 *     ΔL(A, B) = 2α·W(A,B) + X(A→B) + X(B→A) − |A|·S(B) − |B|·S(A),
 *
 * W(A,B) the weight between them, S(C) = Σ_{v∈C} w̄_v, X(A→B) = Σ over edges (v∈A, u∈B) of w̄_v (each v's
 * penalty is w̄_v per non-neighbour in the other community). On an unweighted graph: merge when the edges between
 * A and B exceed |A||B|/(α+1), exactly the density at which MH accepts a single vertex into a community. MH
 * itself cannot merge two communities that satisfy it — a vertex moving alone loses its own community's edges
 * — so after MH from an over-provisioned start the merge finishes what the objective asks for. Louvain-style
 * levels: each community joins the neighbouring group with the best gain, groups become nodes, repeat.
 */
export function mergeByObjective(
  graph: CsrMatrix,
  cluster: Int32Array,
  alpha: number,
  wbar: Float64Array,
  maxLevels = 32,
): CommunityMergeResult {
  return mergeLevels(
    graph,
    cluster,
    maxLevels,
    null,
    wbar,
    (agg) => (i, G, w, x, t) => 2 * alpha * w + x - agg.size[i] * t.wbarSum[G] - t.size[G] * agg.wbarSum[i],
  );
}

/** Per group, the sums of its nodes' strength, size and Σ w̄ (the node being moved taken out of its own). */
interface GroupTotals {
  strength: Float64Array;
  size: Float64Array;
  wbarSum: Float64Array;
}

/**
 * Louvain's local-moving phase on the community graph, nodes visited in id order (deterministic): node i joins
 * the neighbouring group G (or stays) with the largest `gain(i, G, w(i, G), X(i, G), totals)`, w and X summed
 * over G's nodes. Returns the group of each node, or null when no node moved.
 */
function localMoves(agg: Aggregate, gain: Gain): Int32Array | null {
  const { k, indptr, indices, weights, penaltyShared } = agg;
  const group = new Int32Array(k);
  for (let i = 0; i < k; i++) group[i] = i;
  const totals: GroupTotals = {
    strength: Float64Array.from(agg.strength),
    size: Float64Array.from(agg.size),
    wbarSum: Float64Array.from(agg.wbarSum),
  };
  const accW = new Float64Array(k);
  const accX = new Float64Array(k);
  const mark = new Uint8Array(k);
  const touched = new Int32Array(k);
  const move = (i: number, G: number, sign: number) => {
    totals.strength[G] += sign * agg.strength[i];
    totals.size[G] += sign * agg.size[i];
    totals.wbarSum[G] += sign * agg.wbarSum[i];
  };
  let any = false;
  for (let pass = 0; pass < 64; pass++) {
    let moved = 0;
    for (let i = 0; i < k; i++) {
      const own = group[i];
      let nt = 0;
      for (let e = indptr[i]; e < indptr[i + 1]; e++) {
        const G = group[indices[e]];
        if (!mark[G]) {
          mark[G] = 1;
          touched[nt++] = G;
        }
        accW[G] += weights[e];
        if (penaltyShared) accX[G] += penaltyShared[e];
      }
      move(i, own, -1);
      let best = own;
      let bestGain = gain(i, own, accW[own], accX[own], totals);
      for (let t = 0; t < nt; t++) {
        const G = touched[t];
        const x = gain(i, G, accW[G], accX[G], totals);
        if (x > bestGain + 1e-12 * (Math.abs(bestGain) + 1)) {
          bestGain = x;
          best = G;
        }
      }
      move(i, best, 1);
      for (let t = 0; t < nt; t++) {
        const G = touched[t];
        accW[G] = 0;
        accX[G] = 0;
        mark[G] = 0;
      }
      if (best !== own) {
        group[i] = best;
        moved++;
      }
    }
    if (moved === 0) break;
    any = true;
  }
  return any ? group : null;
}
