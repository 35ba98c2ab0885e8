/**
 * Producer–producer similarity (DESIGN §3.1): cosine over follower vectors,
 *
 *   sim(u, v) = |F(u) ∩ F(v)| / sqrt(|F(u)| · |F(v)|)          (weighted: Σ_c A[c,u]·A[c,v] / (‖A[:,u]‖·‖A[:,v]‖))
 *
 * over the producers with ≥ minFollowers followers; each keeps its top maxNeighbors neighbours with
 * sim ≥ minSimilarity, and the graph keeps an edge when either endpoint kept it (weight = max of the two).
 *
 * Exact computation by pair enumeration, organised per producer row so rows are independent: for producer u,
 * walk its followers c and each follower's followees v, accumulating A[c,u]·A[c,v] into a dense Float64 scratch
 * row with a touched list; then select the row's top neighbours and clear only what was touched. A row costs
 * Σ_{c∈F(u)} deg(c), so each consumer's pairs are enumerated once from each end — twice the work of a triangle
 * walk, but no pair is ever stored, memory stays O(producers · maxNeighbors), and every row is computed by one
 * thread in one fixed order, so the result is bit-identical for any thread count.
 *
 * Heavy consumers are sampled before enumeration: a consumer with more than maxFollowsPerConsumer eligible
 * followees keeps a seeded uniform sample of that many (the quadratic cost per consumer is then bounded).
 * Eligibility (minFollowers) is decided on the full follower counts; the cosine, norms included, is the exact
 * cosine of the capped matrix A' (A restricted to eligible producers, sampled rows), so it stays a true cosine
 * in [0, 1]. The stats record the cap, how many consumers it hit and how many follows it dropped.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { topKIndices } from '../core/topk.ts';
import { runWorkers, sharedArray, toShared } from '../core/workers.ts';
import {
  checkBoolParam,
  checkIntParam,
  checkNumberParam,
  checkThreads,
  type ProgressFn,
  withDefaults,
} from './graph.ts';

export interface SimilarityParams {
  /**
   * Producers with fewer followers (stored entries in their column of A) take no part. §3.1 uses 10 at
   * Twitter's scale; 'auto' scales it to the degree distribution: min(10, max(2, ⌊median followers / 2⌋)) over
   * the producers with a follower, so a graph whose typical producer has a handful of followers (email, trust,
   * small social graphs) keeps most of them. Producers left out get a KnownFor from their neighbours later.
   */
  minFollowers: number | 'auto';
  /**
   * Neighbours each producer keeps, best first (§3.1: 100–400). 'auto': min(200, max(10, round(√eligible))).
   * KnownFor's objective accepts a vertex into C once α·TPw exceeds w̄·(|C| − TPn), so its resolution follows
   * the graph's density: a small graph kept at 200 neighbours is nearly complete and its communities merge
   * (football: 5 communities of 12; tiny preset: 3 of 4), while √n neighbours keeps the density of the
   * producer graphs §3.1 was written for.
   */
  maxNeighbors: number | 'auto';
  /** Neighbours below this cosine are never kept. */
  minSimilarity: number;
  /** Edge weight 10·sim² instead of sim. */
  squareWeights: boolean;
  /** Cosine over A's values instead of over its binary pattern (ignored when A has no values). */
  weighted: boolean;
  /** Consumers following more eligible producers keep a seeded sample of this many; Infinity = no cap. */
  maxFollowsPerConsumer: number;
}

export const SIMILARITY_DEFAULTS: Readonly<SimilarityParams> = Object.freeze({
  minFollowers: 'auto' as SimilarityParams['minFollowers'],
  maxNeighbors: 'auto' as SimilarityParams['maxNeighbors'],
  minSimilarity: 0.02,
  squareWeights: false,
  weighted: false,
  maxFollowsPerConsumer: 1000,
});

export interface SimilarityOptions {
  /** Seeds the heavy-consumer sampling; the result does not depend on anything else that is random. */
  seed: number;
  /** Worker threads for the pair enumeration (default 1 = in this thread). The result is the same for any count. */
  threads?: number;
  onProgress?: ProgressFn;
}

export interface SimilarityStats {
  producers: number;
  consumers: number;
  /** Producers with ≥ minFollowers followers. */
  eligibleProducers: number;
  /** The thresholds in force ('auto' resolved). */
  minFollowers: number;
  maxNeighbors: number;
  /** Stored entries of A. */
  follows: number;
  /** Follows of producers below minFollowers (or, weighted, with weight 0), left out. */
  followsIneligible: number;
  /** The cap maxFollowsPerConsumer in force. */
  cap: number;
  /** Consumers whose eligible followees exceeded the cap and were sampled. */
  consumersCapped: number;
  /** Follows the sampling dropped. */
  followsDropped: number;
  /** Entries of A' the cosine was computed over. */
  followsUsed: number;
  /** Σ over consumers of C(d, 2), d its followees in A': the producer pairs enumerated (each from both ends). */
  pairsEnumerated: number;
  /** Unordered producer pairs with at least one shared follower (nonzero cosine). */
  candidatePairs: number;
  /** Σ over producers of the neighbours each kept. */
  directedKept: number;
  /** Undirected edges of the symmetrised graph. */
  edgesKept: number;
  threads: number;
  seconds: number;
}

export interface SimilarityResult {
  /** producers × producers, symmetric, no self loops, Float32 weights, rows sorted. */
  graph: CsrMatrix;
  stats: SimilarityStats;
}

/**
 * Computes the producer–producer similarity graph of A (consumers × producers; values null = binary).
 * `params` overrides {@link SIMILARITY_DEFAULTS} key by key.
 */
export async function computeSimilarity(
  A: CsrMatrix,
  params: Partial<SimilarityParams>,
  opts: SimilarityOptions,
): Promise<SimilarityResult> {
  const t0 = performance.now();
  const p = resolveSimilarityParams(params);
  const threads = checkThreads(opts.threads);
  if (!Number.isFinite(opts.seed))
    throw new SimrecError('CONFIG_INVALID', `seed must be a number, got ${opts.seed}`, { field: 'seed' });
  const weighted = p.weighted && A.values !== null;
  if (weighted) checkWeights(A.values!);
  const P = A.nCols;

  opts.onProgress?.('similarity: sample follows', 0, 1);
  const followers = A.colCounts();
  const minFollowers = p.minFollowers === 'auto' ? autoMinFollowers(followers) : p.minFollowers;
  const eligible = new Uint8Array(P);
  let eligibleProducers = 0;
  for (let v = 0; v < P; v++) {
    if (followers[v] >= minFollowers) {
      eligible[v] = 1;
      eligibleProducers++;
    }
  }
  const maxNeighbors =
    p.maxNeighbors === 'auto'
      ? Math.min(200, Math.max(10, Math.round(Math.sqrt(eligibleProducers))))
      : p.maxNeighbors;
  const capped = capFollows(
    A,
    eligible,
    p.maxFollowsPerConsumer,
    weighted,
    new Rng(opts.seed).fork('similarity-cap'),
  );
  const Ap = capped.matrix;
  const At = Ap.transpose();
  const norm2 = columnNorms2(Ap);
  opts.onProgress?.('similarity: sample follows', 1, 1);

  const input: SimilarityKernelInput = {
    nProducers: P,
    pIndptr: At.indptr,
    pIndices: At.indices,
    pValues: At.values,
    cIndptr: Ap.indptr,
    cIndices: Ap.indices,
    cValues: Ap.values,
    norm2,
    maxNeighbors: Math.min(maxNeighbors, Math.max(0, P - 1)),
    minSimilarity: p.minSimilarity,
    squareWeights: p.squareWeights,
  };
  const chunkStarts = planChunks(input, threads === 1 ? 32 : threads * 32);
  const nChunks = chunkStarts.length - 1;
  const results: (ChunkResult | undefined)[] = new Array(nChunks);
  let rowsDone = 0;
  const report = (r: ChunkResult, c: number): void => {
    results[c] = r;
    rowsDone += chunkStarts[c + 1] - chunkStarts[c];
    opts.onProgress?.('similarity: pairs', rowsDone, P);
  };
  if (threads === 1) {
    const scratch = new SimilarityScratch(P, input.maxNeighbors);
    for (let c = 0; c < nChunks; c++)
      report(similarityChunk(input, scratch, chunkStarts[c], chunkStarts[c + 1]), c);
  } else {
    await runSimilarityWorkers(input, chunkStarts, threads, report);
  }

  const R = assembleRows(P, chunkStarts, results as ChunkResult[]);
  const graph = symmetrizeMax(R);
  let candidateTouches = 0;
  for (const r of results as ChunkResult[]) candidateTouches += r.candidates;
  const stats: SimilarityStats = {
    producers: P,
    consumers: A.nRows,
    eligibleProducers,
    minFollowers,
    maxNeighbors: input.maxNeighbors,
    follows: A.nnz,
    followsIneligible: capped.ineligible,
    cap: p.maxFollowsPerConsumer,
    consumersCapped: capped.consumersCapped,
    followsDropped: capped.dropped,
    followsUsed: Ap.nnz,
    pairsEnumerated: capped.pairs,
    candidatePairs: candidateTouches / 2,
    directedKept: R.nnz,
    edgesKept: graph.nnz / 2,
    threads,
    seconds: (performance.now() - t0) / 1000,
  };
  return { graph, stats };
}

/** Defaults filled in and every value checked; unknown keys are rejected. */
export function resolveSimilarityParams(params: Partial<SimilarityParams> = {}): SimilarityParams {
  const p = withDefaults<SimilarityParams>('similarity', SIMILARITY_DEFAULTS, params);
  if (p.minFollowers !== 'auto') checkIntParam('minFollowers', p.minFollowers, 0);
  if (p.maxNeighbors !== 'auto') checkIntParam('maxNeighbors', p.maxNeighbors, 0, 1 << 20);
  checkNumberParam('minSimilarity', p.minSimilarity, 0, 1);
  checkBoolParam('squareWeights', p.squareWeights);
  checkBoolParam('weighted', p.weighted);
  if (p.maxFollowsPerConsumer !== Number.POSITIVE_INFINITY)
    checkIntParam('maxFollowsPerConsumer', p.maxFollowsPerConsumer, 2);
  return p;
}

/** min(10, max(2, ⌊median / 2⌋)) of the follower counts of producers that have any (see minFollowers). */
export function autoMinFollowers(followers: Int32Array): number {
  const counts = followers.filter((x) => x > 0).sort();
  if (counts.length === 0) return 2;
  const median = counts[counts.length >> 1];
  return Math.min(10, Math.max(2, Math.floor(median / 2)));
}

function checkWeights(values: Float32Array): void {
  for (let k = 0; k < values.length; k++) {
    const w = values[k];
    if (!(w >= 0) || w === Number.POSITIVE_INFINITY)
      throw new SimrecError('INPUT_BAD_ROW', `weighted similarity: weight ${w} is not a finite number ≥ 0`, {
        field: 'weight',
      });
  }
}

interface CappedFollows {
  matrix: CsrMatrix;
  consumersCapped: number;
  dropped: number;
  ineligible: number;
  pairs: number;
}

/**
 * A' = A restricted to eligible producers (weighted: to positive weights; repeated entries merged), with every
 * row longer than `cap` replaced by a seeded uniform sample of `cap` of its entries, kept sorted. Consumers are
 * visited in index order with one random stream, so the sample depends on the seed only.
 */
export function capFollows(
  A: CsrMatrix,
  eligible: Uint8Array,
  cap: number,
  weighted: boolean,
  rng: Rng,
): CappedFollows {
  const C = A.nRows;
  const aPtr = A.indptr;
  const aIdx = A.indices;
  const aVal = weighted ? A.values : null;
  const counts = new Int32Array(C);
  let maxDeg = 0;
  let ineligible = 0;
  for (let c = 0; c < C; c++) {
    let m = 0;
    let prev = -1;
    for (let k = aPtr[c]; k < aPtr[c + 1]; k++) {
      const v = aIdx[k];
      if (!eligible[v] || (aVal && aVal[k] === 0)) {
        ineligible++;
        continue;
      }
      if (v !== prev) m++;
      prev = v;
    }
    counts[c] = m;
    if (m > maxDeg) maxDeg = m;
  }
  const indptr = new Int32Array(C + 1);
  let consumersCapped = 0;
  let dropped = 0;
  let pairs = 0;
  for (let c = 0; c < C; c++) {
    let m = counts[c];
    if (m > cap) {
      consumersCapped++;
      dropped += m - cap;
      m = cap;
    }
    pairs += (m * (m - 1)) / 2;
    indptr[c + 1] = indptr[c] + m;
  }
  const indices = new Int32Array(indptr[C]);
  const values = aVal ? new Float32Array(indptr[C]) : null;
  const bufIds = new Int32Array(maxDeg);
  const bufVals = new Float32Array(aVal ? maxDeg : 0);
  const pos = new Int32Array(maxDeg > cap ? maxDeg : 0);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let k = aPtr[c]; k < aPtr[c + 1]; k++) {
      const v = aIdx[k];
      if (!eligible[v] || (aVal && aVal[k] === 0)) continue;
      // Rows are sorted, so a repeat is adjacent: merge it (binary: one follow is one follow).
      if (m > 0 && bufIds[m - 1] === v) {
        if (aVal) bufVals[m - 1] += aVal[k];
        continue;
      }
      bufIds[m] = v;
      if (aVal) bufVals[m] = aVal[k];
      m++;
    }
    let w = indptr[c];
    if (m <= cap) {
      indices.set(bufIds.subarray(0, m), w);
      if (values) values.set(bufVals.subarray(0, m), w);
      continue;
    }
    // Partial Fisher–Yates picks `cap` positions uniformly; sorting them keeps the row sorted.
    for (let i = 0; i < m; i++) pos[i] = i;
    for (let i = 0; i < cap; i++) {
      const j = i + rng.int(m - i);
      const t = pos[i];
      pos[i] = pos[j];
      pos[j] = t;
    }
    const chosen = pos.subarray(0, cap).sort();
    for (let i = 0; i < cap; i++) {
      indices[w] = bufIds[chosen[i]];
      if (values) values[w] = bufVals[chosen[i]];
      w++;
    }
  }
  return {
    matrix: new CsrMatrix(C, A.nCols, indptr, indices, values),
    consumersCapped,
    dropped,
    ineligible,
    pairs,
  };
}

/** Squared L2 norm of every column (binary: its entry count). */
function columnNorms2(m: CsrMatrix): Float64Array {
  const out = new Float64Array(m.nCols);
  const idx = m.indices;
  const vals = m.values;
  if (vals) for (let k = 0; k < idx.length; k++) out[idx[k]] += vals[k] * vals[k];
  else for (let k = 0; k < idx.length; k++) out[idx[k]] += 1;
  return out;
}

/** What the row kernel reads; plain typed arrays so workers can receive them as shared memory. */
export interface SimilarityKernelInput {
  nProducers: number;
  /** A'ᵀ: producers × consumers. */
  pIndptr: Int32Array;
  pIndices: Int32Array;
  pValues: Float32Array | null;
  /** A': consumers × producers, rows sorted. */
  cIndptr: Int32Array;
  cIndices: Int32Array;
  cValues: Float32Array | null;
  /** Squared column norms of A'. */
  norm2: Float64Array;
  maxNeighbors: number;
  minSimilarity: number;
  squareWeights: boolean;
}

/** Per-thread buffers of the row kernel, reused across rows. */
export class SimilarityScratch {
  /** Binary co-counts: int32 halves the footprint of the randomly accessed row against float64. */
  readonly cnt: Int32Array;
  /** Weighted dot products; then, for either kind, the cosine of each candidate. */
  readonly acc: Float64Array;
  readonly touched: Int32Array;
  readonly cand: Int32Array;
  readonly topIds: Int32Array;
  readonly topScores: Float64Array;

  constructor(nProducers: number, maxNeighbors: number) {
    this.cnt = new Int32Array(nProducers);
    this.acc = new Float64Array(nProducers);
    this.touched = new Int32Array(nProducers);
    this.cand = new Int32Array(nProducers);
    this.topIds = new Int32Array(maxNeighbors);
    this.topScores = new Float64Array(maxNeighbors);
  }
}

/** The kept neighbours of rows [rowStart, rowEnd): per-row counts, then ids (sorted per row) and weights. */
export interface ChunkResult {
  counts: Int32Array;
  ids: Int32Array;
  weights: Float32Array;
  /** Σ over the rows of the producers with a nonzero cosine (each unordered pair is seen from both ends). */
  candidates: number;
}

/** Splits the producer rows into `target` runs of about equal enumeration cost (Σ_{c∈F(u)} deg(c) per row u). */
export function planChunks(inp: SimilarityKernelInput, target: number): Int32Array {
  const P = inp.nProducers;
  const { pIndptr, pIndices, cIndptr } = inp;
  let total = 0;
  const cost = new Float64Array(P);
  for (let u = 0; u < P; u++) {
    let s = 0;
    for (let k = pIndptr[u]; k < pIndptr[u + 1]; k++) {
      const c = pIndices[k];
      s += cIndptr[c + 1] - cIndptr[c];
    }
    // Rows cost something even when empty (the scan, the output), so a run of empty rows is not free.
    cost[u] = s + 1;
    total += s + 1;
  }
  const starts: number[] = [0];
  const per = total / Math.max(1, target);
  let acc = 0;
  for (let u = 0; u < P; u++) {
    acc += cost[u];
    if (acc >= per * starts.length && u + 1 < P) starts.push(u + 1);
  }
  starts.push(P);
  return Int32Array.from(starts);
}

/** The row kernel: the kept neighbours of producers rowStart..rowEnd−1. */
export function similarityChunk(
  inp: SimilarityKernelInput,
  s: SimilarityScratch,
  rowStart: number,
  rowEnd: number,
): ChunkResult {
  const { pIndptr, pIndices, pValues, cIndptr, cIndices, cValues, norm2, minSimilarity, squareWeights } = inp;
  const K = inp.maxNeighbors;
  const { cnt, acc, touched, cand, topIds, topScores } = s;
  const binary = pValues === null || cValues === null;
  const counts = new Int32Array(rowEnd - rowStart);
  let ids = new Int32Array(Math.min((rowEnd - rowStart) * K, 1 << 16));
  let weights = new Float32Array(ids.length);
  let nOut = 0;
  let candidates = 0;
  for (let u = rowStart; u < rowEnd; u++) {
    const kEnd = pIndptr[u + 1];
    if (pIndptr[u] === kEnd) continue;
    let nT = 0;
    // u itself is accumulated too (its own squared norm) and skipped below: cheaper than a test per pair.
    if (pValues === null || cValues === null) {
      for (let k = pIndptr[u]; k < kEnd; k++) {
        const c = pIndices[k];
        const jEnd = cIndptr[c + 1];
        for (let j = cIndptr[c]; j < jEnd; j++) {
          const v = cIndices[j];
          if (cnt[v]++ === 0) touched[nT++] = v;
        }
      }
    } else {
      // A' holds positive weights only, so a touched entry is never 0 and acc[v] === 0 means "untouched".
      for (let k = pIndptr[u]; k < kEnd; k++) {
        const c = pIndices[k];
        const wu = pValues[k];
        const jEnd = cIndptr[c + 1];
        for (let j = cIndptr[c]; j < jEnd; j++) {
          const v = cIndices[j];
          if (acc[v] === 0) touched[nT++] = v;
          acc[v] += wu * cValues[j];
        }
      }
    }
    candidates += nT - 1;
    const nu = norm2[u];
    let nc = 0;
    for (let t = 0; t < nT; t++) {
      const v = touched[t];
      if (v === u) continue;
      const sim = (binary ? cnt[v] : acc[v]) / Math.sqrt(nu * norm2[v]);
      if (sim >= minSimilarity) {
        acc[v] = sim;
        cand[nc++] = v;
      }
    }
    const nKept = K > 0 && nc > 0 ? topKIndices(acc, K, topIds, topScores, cand, nc) : 0;
    if (nOut + nKept > ids.length) {
      const grown = Math.max(ids.length * 2, nOut + nKept);
      const i2 = new Int32Array(grown);
      i2.set(ids.subarray(0, nOut));
      ids = i2;
      const w2 = new Float32Array(grown);
      w2.set(weights.subarray(0, nOut));
      weights = w2;
    }
    // Rows of the graph are sorted by column; acc still holds each kept neighbour's cosine.
    const kept = topIds.subarray(0, nKept).sort();
    for (let i = 0; i < nKept; i++) {
      const v = kept[i];
      const sim = acc[v];
      ids[nOut] = v;
      weights[nOut] = squareWeights ? 10 * sim * sim : sim;
      nOut++;
    }
    counts[u - rowStart] = nKept;
    if (binary) for (let t = 0; t < nT; t++) cnt[touched[t]] = 0;
    else for (let t = 0; t < nT; t++) acc[touched[t]] = 0;
  }
  return { counts, ids: ids.slice(0, nOut), weights: weights.slice(0, nOut), candidates };
}

/** Concatenates the chunk results, in row order, into the directed "kept" matrix. */
function assembleRows(P: number, chunkStarts: Int32Array, results: ChunkResult[]): CsrMatrix {
  const indptr = new Int32Array(P + 1);
  let nnz = 0;
  for (let c = 0; c < results.length; c++) {
    const r = results[c];
    const start = chunkStarts[c];
    for (let i = 0; i < r.counts.length; i++) {
      nnz += r.counts[i];
      indptr[start + i + 1] = nnz;
    }
  }
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let c = 0; c < results.length; c++) {
    const off = indptr[chunkStarts[c]];
    indices.set(results[c].ids, off);
    values.set(results[c].weights, off);
  }
  return new CsrMatrix(P, P, indptr, indices, values);
}

/**
 * R ∪ Rᵀ with weight max(R[u,v], R[v,u]): an edge survives when either endpoint kept it. Both inputs have sorted
 * rows (the transpose by construction), so each output row is one linear merge.
 */
export function symmetrizeMax(R: CsrMatrix): CsrMatrix {
  if (R.nRows !== R.nCols) throw new SimrecError('INTERNAL', 'symmetrizeMax needs a square matrix');
  const n = R.nRows;
  const T = R.transpose();
  const rp = R.indptr;
  const ri = R.indices;
  const rv = R.values;
  const tp = T.indptr;
  const ti = T.indices;
  const tv = T.values;
  const indptr = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) {
    let a = rp[u];
    let b = tp[u];
    const aEnd = rp[u + 1];
    const bEnd = tp[u + 1];
    let m = 0;
    while (a < aEnd && b < bEnd) {
      const x = ri[a];
      const y = ti[b];
      if (x <= y) a++;
      if (y <= x) b++;
      m++;
    }
    indptr[u + 1] = indptr[u] + m + (aEnd - a) + (bEnd - b);
  }
  const indices = new Int32Array(indptr[n]);
  const values = new Float32Array(indptr[n]);
  let w = 0;
  for (let u = 0; u < n; u++) {
    let a = rp[u];
    let b = tp[u];
    const aEnd = rp[u + 1];
    const bEnd = tp[u + 1];
    while (a < aEnd || b < bEnd) {
      const x = a < aEnd ? ri[a] : n;
      const y = b < bEnd ? ti[b] : n;
      if (x < y) {
        indices[w] = x;
        values[w] = rv ? rv[a] : 1;
        a++;
      } else if (y < x) {
        indices[w] = y;
        values[w] = tv ? tv[b] : 1;
        b++;
      } else {
        indices[w] = x;
        values[w] = rv ? Math.max(rv[a], tv![b]) : 1;
        a++;
        b++;
      }
      w++;
    }
  }
  return new CsrMatrix(n, n, indptr, indices, values);
}

/** What a similarity worker receives. */
export interface SimilarityWorkerData {
  input: SimilarityKernelInput;
  chunkStarts: Int32Array;
  /** [0]: the next chunk to take (Atomics), so fast workers take more chunks. */
  next: Int32Array;
}

interface ChunkMessage {
  chunk: number;
  result: ChunkResult;
}

async function runSimilarityWorkers(
  inp: SimilarityKernelInput,
  chunkStarts: Int32Array,
  threads: number,
  report: (r: ChunkResult, chunk: number) => void,
): Promise<void> {
  const shared: SimilarityKernelInput = {
    ...inp,
    pIndptr: toShared(inp.pIndptr),
    pIndices: toShared(inp.pIndices),
    pValues: inp.pValues && toShared(inp.pValues),
    cIndptr: toShared(inp.cIndptr),
    cIndices: toShared(inp.cIndices),
    cValues: inp.cValues && toShared(inp.cValues),
    norm2: toShared(inp.norm2),
  };
  const data: SimilarityWorkerData = {
    input: shared,
    chunkStarts: toShared(chunkStarts),
    next: sharedArray(Int32Array, 1),
  };
  await runWorkers(new URL('./similarity-worker.ts', import.meta.url), threads, { ...data }, (_w, m) => {
    const msg = m as ChunkMessage;
    report(msg.result, msg.chunk);
  });
}

/** The body of similarity-worker.ts: takes chunks until none is left, posting each result. */
export function similarityWorkerMain(
  data: SimilarityWorkerData,
  post: (m: ChunkMessage, transfer: ArrayBuffer[]) => void,
): void {
  const { input, chunkStarts, next } = data;
  const nChunks = chunkStarts.length - 1;
  const scratch = new SimilarityScratch(input.nProducers, input.maxNeighbors);
  for (;;) {
    const c = Atomics.add(next, 0, 1);
    if (c >= nChunks) break;
    const result = similarityChunk(input, scratch, chunkStarts[c], chunkStarts[c + 1]);
    post({ chunk: c, result }, [
      result.counts.buffer as ArrayBuffer,
      result.ids.buffer as ArrayBuffer,
      result.weights.buffer as ArrayBuffer,
    ]);
  }
}
