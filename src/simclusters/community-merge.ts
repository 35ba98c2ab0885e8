/**
 * The model-selection step of KnownFor's automatic community count: communities found by MH from an
 * over-provisioned start are merged while a merge raises the modularity of the similarity graph
 * (Newman & Girvan 2004), by the aggregation phase of Louvain (Blondel et al. 2008) run on the community graph:
 * each community moves to the neighbouring group with the best modularity gain until none improves, the groups
 * become the nodes of the next level, and levels repeat until nothing moves. MH's own objective cannot do this:
 * single-vertex moves never merge two tight communities, and on a sparse real graph the over-provisioned start
 * leaves hundreds of small ones. Merging only ever joins whole communities, so what MH decided inside each one
 * is kept.
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
  const lab = new Int32Array(n);
  let count = compactClusters(cluster, lab);
  const before = count;
  const modularityBefore = modularity(graph, lab);
  const deg = new Float64Array(n);
  let m2 = 0;
  for (let v = 0; v < n; v++) {
    for (let e = graph.indptr[v]; e < graph.indptr[v + 1]; e++) deg[v] += graph.values ? graph.values[e] : 1;
    m2 += deg[v];
  }
  let levels = 0;
  while (levels < maxLevels && count > 1 && m2 > 0) {
    const agg = aggregate(graph, lab, count, deg);
    const group = localMoves(agg, m2 / resolution);
    if (group === null) break;
    levels++;
    for (let v = 0; v < n; v++) if (lab[v] >= 0) lab[v] = group[lab[v]];
    count = compactClusters(lab, lab);
  }
  return { cluster: lab, count, before, levels, modularityBefore, modularityAfter: modularity(graph, lab) };
}

/** The community graph: rows = communities, entries = summed weights between two communities (no loops). */
interface Aggregate {
  k: number;
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float64Array;
  /** Summed degree of each community's vertices. */
  strength: Float64Array;
}

function aggregate(graph: CsrMatrix, lab: Int32Array, k: number, deg: Float64Array): Aggregate {
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
  const scratch = new Float64Array(k);
  const touched = new Int32Array(k);
  const rowPtr = new Int32Array(k + 1);
  let cap = Math.max(16, k * 4);
  let outIdx = new Int32Array(cap);
  let outW = new Float64Array(cap);
  let nnz = 0;
  for (let a = 0; a < k; a++) {
    let nt = 0;
    for (let i = start[a]; i < start[a + 1]; i++) {
      const v = members[i];
      strength[a] += deg[v];
      for (let e = indptr[v]; e < indptr[v + 1]; e++) {
        const b = lab[indices[e]];
        if (b < 0 || b === a) continue;
        if (scratch[b] === 0) touched[nt++] = b;
        scratch[b] += values ? values[e] : 1;
      }
    }
    if (nnz + nt > cap) {
      cap = Math.max(cap * 2, nnz + nt);
      const ni = new Int32Array(cap);
      ni.set(outIdx.subarray(0, nnz));
      outIdx = ni;
      const nw = new Float64Array(cap);
      nw.set(outW.subarray(0, nnz));
      outW = nw;
    }
    for (let t = 0; t < nt; t++) {
      const b = touched[t];
      outIdx[nnz] = b;
      outW[nnz++] = scratch[b];
      scratch[b] = 0;
    }
    rowPtr[a + 1] = nnz;
  }
  return { k, indptr: rowPtr, indices: outIdx, weights: outW, strength };
}

/**
 * Louvain's local-moving phase on the community graph, nodes visited in id order (deterministic): node i joins
 * the group G maximising w(i, G) − s_i·S_G / 2m (the modularity gain up to a constant factor). Returns the
 * group of each node, or null when no node moved.
 */
function localMoves(agg: Aggregate, m2: number): Int32Array | null {
  const { k, indptr, indices, weights, strength } = agg;
  const group = new Int32Array(k);
  const total = Float64Array.from(strength);
  for (let i = 0; i < k; i++) group[i] = i;
  const wTo = new Float64Array(k);
  const mark = new Uint8Array(k);
  const touched = new Int32Array(k);
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
        wTo[G] += weights[e];
      }
      total[own] -= strength[i];
      const si = strength[i] / m2;
      let best = own;
      let bestGain = wTo[own] - si * total[own];
      for (let t = 0; t < nt; t++) {
        const G = touched[t];
        const gain = wTo[G] - si * total[G];
        if (gain > bestGain + 1e-12 * (Math.abs(bestGain) + 1)) {
          bestGain = gain;
          best = G;
        }
      }
      total[best] += strength[i];
      for (let t = 0; t < nt; t++) {
        wTo[touched[t]] = 0;
        mark[touched[t]] = 0;
      }
      wTo[own] = 0;
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
