/**
 * Offline construction of a dense index, with the recall@k report every build carries (DESIGN §6): the
 * built index answers a sample of queries and is compared with exact top-k over the same vectors.
 */
import { SimrecError } from '../../core/errors.ts';
import { Rng } from '../../core/prng.ts';
import { ExactIndex } from '../exact.ts';
import {
  checkAddBatch,
  checkDim,
  checkMetric,
  type DenseIndex,
  type DenseIndexKind,
  type DenseMetric,
  type HnswParams,
} from './dense-index.ts';
import { byNormDescending, HnswIndex } from './hnsw/hnsw-index.ts';

export interface DenseBuildOptions {
  metric: DenseMetric;
  /** 'auto' (default) builds an exact index below `exactBelow` vectors and HNSW from there on. */
  kind?: DenseIndexKind | 'auto';
  /** Default 2000: below that, exact search costs about as little as a graph walk and is exact. */
  exactBelow?: number;
  hnsw?: Partial<HnswParams>;
  recall?: {
    /** Default 10. */
    k?: number;
    /** Queries sampled from the indexed vectors when `queries` is not given (default 200; 0 skips). */
    sample?: number;
    /** Seed of that sample (default 0). */
    seed?: number;
    /** Row-major query vectors to measure with instead (e.g. a sample of user vectors for MF). */
    queries?: Float32Array;
  };
  /**
   * Threads inserting into an HNSW graph (default 1). One thread builds the same graph from the same input
   * every time; more build faster and a graph that depends on their interleaving (HnswIndex.insertThreads).
   */
  threads?: number;
  /** Called after each chunk of vectors is inserted. */
  onProgress?: (done: number, total: number) => void;
}

export interface RecallReport {
  k: number;
  queries: number;
  /**
   * Mean over queries of |approximate top-k that belongs in the exact top-k| / |exact top-k|, where a
   * result belongs when it is in the exact top-k or scores at least the exact k-th score (an equally good
   * tie). 1 for an exact index.
   */
  recallAtK: number;
  /** Queries per second of the built index and of exact search during the measurement. */
  qps: number;
  exactQps: number;
}

export interface DenseBuildReport {
  kind: DenseIndexKind;
  metric: DenseMetric;
  dim: number;
  size: number;
  buildMs: number;
  params: HnswParams | null;
  recall: RecallReport | null;
}

const CHUNK = 10_000;

/**
 * Builds an index over rows of `vectors` (ids.length × dim) and measures its recall@k against exact search.
 * Deterministic with one insertion thread: same input, options and seed give the same index and report
 * (timings aside).
 */
export function buildDenseIndex(
  ids: Int32Array,
  vectors: Float32Array,
  dim: number,
  options: DenseBuildOptions,
): { index: DenseIndex; report: DenseBuildReport } {
  checkDim(dim);
  checkMetric(options.metric);
  const exactBelow = options.exactBelow ?? 2000;
  if (!Number.isInteger(exactBelow) || exactBelow < 0)
    throw new SimrecError('CONFIG_INVALID', `exactBelow must be a non-negative integer, got ${exactBelow}`, {
      field: 'exactBelow',
    });
  const kind = options.kind ?? 'auto';
  if (kind !== 'auto' && kind !== 'exact' && kind !== 'hnsw')
    throw new SimrecError('CONFIG_INVALID', `dense index kind must be auto, exact or hnsw, got '${kind}'`, {
      field: 'kind',
    });
  const useHnsw = kind === 'hnsw' || (kind === 'auto' && ids.length >= exactBelow);
  const t0 = performance.now();
  const index: ExactIndex | HnswIndex = useHnsw
    ? HnswIndex.create(dim, options.metric, options.hnsw, ids.length)
    : new ExactIndex(dim, options.metric);
  if (index instanceof HnswIndex) index.insertThreads = options.threads ?? 1;
  // Validate the whole input once so ids may come in any order across the insertion chunks.
  index.reserve(checkAddBatch(ids, vectors, dim, 0) + 1);
  if (index instanceof HnswIndex && options.metric === 'ip' && index.params.ipLayout === 'mips') {
    // Inner product in the 'mips' layout lifts every vector to the largest norm and inserts the longest
    // first (see hnsw-index.ts): both over the whole input, so no chunk raises Φ (a rebuild) or restarts the
    // order. The 'raw' layout and cosine insert in the caller's order.
    const order = byNormDescending(vectors, dim);
    index.reserveNorm(rowNorm(vectors, dim, order[0] ?? 0));
    const chunkIds = new Int32Array(Math.min(CHUNK, ids.length));
    const chunkVectors = new Float32Array(chunkIds.length * dim);
    for (let start = 0; start < ids.length; start += CHUNK) {
      const end = Math.min(ids.length, start + CHUNK);
      for (let j = start; j < end; j++) {
        const r = order[j];
        chunkIds[j - start] = ids[r];
        chunkVectors.set(vectors.subarray(r * dim, (r + 1) * dim), (j - start) * dim);
      }
      index.add(chunkIds.subarray(0, end - start), chunkVectors.subarray(0, (end - start) * dim));
      options.onProgress?.(end, ids.length);
    }
  } else {
    for (let start = 0; start < ids.length; start += CHUNK) {
      const end = Math.min(ids.length, start + CHUNK);
      index.add(ids.subarray(start, end), vectors.subarray(start * dim, end * dim));
      options.onProgress?.(end, ids.length);
    }
  }
  const buildMs = performance.now() - t0;

  const r = options.recall ?? {};
  const k = r.k ?? 10;
  let recall: RecallReport | null = null;
  if (index instanceof ExactIndex) {
    recall = { k, queries: 0, recallAtK: 1, qps: Number.NaN, exactQps: Number.NaN };
  } else {
    const queries = r.queries ?? sampleQueries(index, r.sample ?? 200, r.seed ?? 0);
    if (queries.length > 0) recall = measureRecall(index, index.exactCopy(), queries, k);
  }
  return {
    index,
    report: {
      kind: index.kind,
      metric: options.metric,
      dim,
      size: index.size,
      buildMs,
      params: index instanceof HnswIndex ? index.params : null,
      recall,
    },
  };
}

/**
 * recall@k of `index` against `exact` over row-major `queries` (see {@link RecallReport.recallAtK}), with
 * both sides' queries per second.
 * @throws SimrecError CONFIG_INVALID when k is not positive or the queries are not whole vectors
 */
export function measureRecall(
  index: DenseIndex,
  exact: DenseIndex,
  queries: Float32Array,
  k: number,
): RecallReport {
  const dim = index.dim;
  if (!Number.isInteger(k) || k < 1)
    throw new SimrecError('CONFIG_INVALID', `recall k must be a positive integer, got ${k}`, { field: 'k' });
  if (queries.length % dim !== 0)
    throw new SimrecError(
      'CONFIG_INVALID',
      `queries length ${queries.length} is not a multiple of dim ${dim}`,
      {
        field: 'queries',
      },
    );
  const nq = queries.length / dim;
  const annIds = new Int32Array(nq * k);
  const annScores = new Float32Array(nq * k);
  const annCount = new Int32Array(nq);
  let t0 = performance.now();
  for (let q = 0; q < nq; q++) {
    const o = q * k;
    annCount[q] = index.searchInto(
      queries.subarray(q * dim, (q + 1) * dim),
      k,
      annIds.subarray(o, o + k),
      annScores.subarray(o, o + k),
    );
  }
  const annMs = performance.now() - t0;
  const exIds = new Int32Array(k);
  const exScores = new Float32Array(k);
  let exactMs = 0;
  let sum = 0;
  let counted = 0;
  for (let q = 0; q < nq; q++) {
    t0 = performance.now();
    const n = exact.searchInto(queries.subarray(q * dim, (q + 1) * dim), k, exIds, exScores);
    exactMs += performance.now() - t0;
    if (n === 0) continue;
    const kth = exScores[n - 1];
    let hits = 0;
    for (let i = 0; i < annCount[q]; i++) {
      const id = annIds[q * k + i];
      if (annScores[q * k + i] >= kth || exIds.subarray(0, n).includes(id)) hits++;
    }
    sum += Math.min(1, hits / n);
    counted++;
  }
  return {
    k,
    queries: nq,
    recallAtK: counted === 0 ? 1 : sum / counted,
    qps: annMs > 0 ? (nq * 1000) / annMs : Number.NaN,
    exactQps: exactMs > 0 ? (nq * 1000) / exactMs : Number.NaN,
  };
}

/** `sample` stored vectors chosen without replacement by a seeded shuffle, as queries. */
function sampleQueries(index: HnswIndex, sample: number, seed: number): Float32Array {
  if (!Number.isInteger(sample) || sample < 0)
    throw new SimrecError('CONFIG_INVALID', `recall sample must be a non-negative integer, got ${sample}`, {
      field: 'sample',
    });
  const present: number[] = [];
  index.exactCopy().forEachLive((id) => present.push(id));
  const rng = new Rng(seed);
  const n = Math.min(sample, present.length);
  // Partial Fisher–Yates: only the first n positions are drawn.
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(present.length - i);
    const t = present[i];
    present[i] = present[j];
    present[j] = t;
  }
  const out = new Float32Array(n * index.dim);
  const v = new Float32Array(index.dim);
  for (let i = 0; i < n; i++) out.set(index.vector(present[i], v)!, i * index.dim);
  return out;
}

/** ‖row r‖ of a row-major matrix, in float64 (0 for an empty matrix). */
function rowNorm(vectors: Float32Array, dim: number, r: number): number {
  let s = 0;
  for (let off = r * dim, d = 0; d < dim && off + d < vectors.length; d++)
    s += vectors[off + d] * vectors[off + d];
  return Math.sqrt(s);
}
