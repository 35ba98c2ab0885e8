/**
 * Dense nearest-neighbour search over fixed-dimension float vectors (DESIGN §6): the contract every dense
 * backend meets. Two backends implement it: `ExactIndex` (src/ann/exact.ts: every vector scored into one
 * reused buffer, for small catalogues and as the recall baseline) and `HnswIndex` (./hnsw: an HNSW graph
 * built with hnswlib, through simrec's own N-API binding).
 *
 * Ids are dense non-negative int32 indices (an IdMap's indices): backends keep per-id state in arrays sized
 * by the largest id, so sparse ids (hashes, timestamps) must be mapped through an IdMap first.
 *
 * Scores are similarities, higher first: the plain dot product for `ip` (MF exports vectors with the biases
 * folded in, so a dot product reproduces the model score) and the cosine for `cosine` (vectors are
 * L2-normalised when added, queries when searched; a zero vector scores 0 against everything). Results are
 * ordered by score descending, ties by smaller id. Scores are float32: the exact backend rounds float64 sums,
 * HNSW reports hnswlib's float32 SIMD dot product, a few float32 ulps from it.
 */
import { SimrecError } from '../../core/errors.ts';

export type DenseMetric = 'cosine' | 'ip';

export type DenseIndexKind = 'exact' | 'hnsw';

/** Query-time restrictions. Ids outside the index are ignored. */
export interface DenseFilter {
  /** When given, only these ids may be returned (an empty list returns nothing). */
  allow?: ArrayLike<number>;
  /** Ids never returned (the query item itself, items the user already engaged with, ...). */
  deny?: ArrayLike<number>;
}

/** Largest search list size (ef) an HNSW index accepts, as its default or for one search. */
export const MAX_EF = 1 << 20;

/**
 * Per-query options of {@link DenseIndex.search}. They apply to that one search only: nothing about the index
 * changes, so callers sharing an index never see each other's options.
 */
export interface DenseSearchOptions {
  /**
   * HNSW: the search list size for this search (raised to k when k is larger) instead of the index's default
   * {@link DenseIndex.ef}. Backends that search exactly ignore it, as HNSW does when it answers a short allow
   * list exactly; it is still validated, so a bad value fails the same way on every backend.
   */
  ef?: number;
  filter?: DenseFilter;
}

/** The k best ids and their scores, best first; fewer than k when fewer vectors qualify. */
export interface DenseSearchResult {
  ids: Int32Array;
  scores: Float32Array;
}

/** A dense vector index: mutable (add, remove), searchable, serialisable to one blob. */
export interface DenseIndex {
  readonly kind: DenseIndexKind;
  readonly dim: number;
  readonly metric: DenseMetric;
  /** Vectors currently searchable (added and not removed). */
  readonly size: number;
  /** HNSW: the default search list size, used when a search gives none; undefined for exact backends. */
  readonly ef?: number;
  /**
   * Adds vectors, row i of `vectors` (row-major, ids.length × dim) under ids[i]. An id already present is
   * updated in place; a removed id is brought back. The whole batch is validated before anything changes.
   * @throws SimrecError CONFIG_INVALID on a length mismatch, a negative / non-integer / too sparse id, or a
   *   non-finite value
   */
  add(ids: Int32Array, vectors: Float32Array): void;
  /** Removes id from the results. Returns false when it was not present. */
  remove(id: number): boolean;
  has(id: number): boolean;
  /**
   * The vector stored for id (unit length under cosine), copied into out when given; undefined when the id
   * is not present.
   */
  vector(id: number, out?: Float32Array): Float32Array | undefined;
  /**
   * The k best ids for query. Allocates only the result arrays.
   * @throws SimrecError CONFIG_INVALID when k is not a non-negative integer, the query has the wrong length
   *   or a non-finite value, or the options are malformed (see {@link checkSearchOptions})
   */
  search(query: Float32Array, k: number, options?: DenseSearchOptions): DenseSearchResult;
  /**
   * {@link search} into caller-owned buffers (each at least min(k, size) long); returns the count written.
   * Nothing is allocated per call beyond what the backend's native code does.
   */
  searchInto(
    query: Float32Array,
    k: number,
    outIds: Int32Array,
    outScores: Float32Array,
    options?: DenseSearchOptions,
  ): number;
  /** The whole index as one self-describing blob (for `VersionWriter.putBlob`); see ./persist.ts. */
  toBytes(): Uint8Array;
}

/** HNSW construction and search parameters (the names hnswlib uses). */
export interface HnswParams {
  /** Graph degree: links per node on the upper layers, twice that on the base layer. */
  m: number;
  /** Candidate list size while inserting: higher builds slower and recalls better. */
  efConstruction: number;
  /** Candidate list size while searching (raised to k when k is larger): the recall/speed dial. */
  ef: number;
  /** Seed of the level generator; with single-threaded insertion in a fixed order the graph is reproducible. */
  seed: number;
  /**
   * Filters whose allow list has at most this many ids are answered exactly by scoring just those ids,
   * which is both faster and exact where a graph walk would have to skip most nodes it visits.
   */
  exactAllowMax: number;
  /**
   * Graph layout under metric 'ip' (cosine ignores it). 'mips': the Euclidean reduction of maximum
   * inner-product search (items lifted by one coordinate to a common norm, the longest inserted first; see
   * ./hnsw/hnsw-index.ts), which keeps recall on vectors whose norms differ widely, such as MF item vectors
   * with folded biases. 'raw': the vectors as they are on hnswlib's inner-product space, inserted in the
   * caller's order (what hnswlib's own 'ip' space builds): a graph of dim rather than dim + 1 that searches
   * faster, and recalls as well when the norms are nearly equal.
   */
  ipLayout: HnswIpLayout;
}

export type HnswIpLayout = 'mips' | 'raw';

export const DEFAULT_HNSW_PARAMS: Readonly<HnswParams> = {
  m: 16,
  efConstruction: 200,
  ef: 64,
  seed: 100,
  exactAllowMax: 4096,
  ipLayout: 'mips',
};

/** Largest id a dense index accepts: int32, leaving room for a one-past-the-end capacity. */
export const DENSE_MAX_ID = 0x7ffffffe;

/**
 * How far ids may run ahead of the vector count: storage is sized by the largest id, so an id far beyond the
 * number of vectors would allocate memory for ids that do not exist.
 */
export const DENSE_ID_SLACK = 1 << 20;

export function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1 || dim > 65536)
    throw new SimrecError(
      'CONFIG_INVALID',
      `dense index dimension must be an integer in [1, 65536], got ${dim}`,
      {
        field: 'dim',
      },
    );
}

export function checkMetric(metric: string): asserts metric is DenseMetric {
  if (metric !== 'cosine' && metric !== 'ip')
    throw new SimrecError('CONFIG_INVALID', `dense metric must be 'cosine' or 'ip', got '${metric}'`, {
      field: 'metric',
    });
}

/**
 * Validates per-query options and returns their filter. A filter passed where the options belong (the
 * `search(q, k, { allow, deny })` of earlier versions) is refused rather than silently ignored.
 * @throws SimrecError CONFIG_INVALID naming the field: `ef` not an integer in [1, MAX_EF], or `allow`/`deny`
 *   given beside the options instead of inside `filter`
 */
export function checkSearchOptions(options: DenseSearchOptions | undefined): DenseFilter | undefined {
  if (options === undefined) return undefined;
  const ef = options.ef;
  if (ef !== undefined && (typeof ef !== 'number' || !Number.isInteger(ef) || ef < 1 || ef > MAX_EF))
    throw new SimrecError('CONFIG_INVALID', `ef must be an integer in [1, ${MAX_EF}], got ${String(ef)}`, {
      field: 'ef',
    });
  const loose = options as { allow?: unknown; deny?: unknown };
  if (loose.allow !== undefined || loose.deny !== undefined)
    throw new SimrecError(
      'CONFIG_INVALID',
      'search options take allow/deny lists inside filter: search(q, k, { filter: { allow, deny } })',
      { field: loose.allow !== undefined ? 'allow' : 'deny' },
    );
  return options.filter;
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0)
    throw new SimrecError('CONFIG_INVALID', `k must be a non-negative integer, got ${k}`, { field: 'k' });
}

/**
 * Validates an add batch and returns the largest id in it (−1 for an empty batch). `count` is the number of
 * ids the index holds already; an id beyond 2·(count + batch) + DENSE_ID_SLACK is refused as too sparse.
 */
export function checkAddBatch(ids: Int32Array, vectors: Float32Array, dim: number, count: number): number {
  if (!(ids instanceof Int32Array) || !(vectors instanceof Float32Array))
    throw new SimrecError(
      'CONFIG_INVALID',
      'add expects ids as an Int32Array and vectors as a Float32Array',
      {
        field: 'vectors',
      },
    );
  if (vectors.length !== ids.length * dim)
    throw new SimrecError(
      'CONFIG_INVALID',
      `add: ${ids.length} ids need ${ids.length * dim} vector values (dim ${dim}), got ${vectors.length}`,
      { field: 'vectors' },
    );
  let maxId = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id > DENSE_MAX_ID)
      throw new SimrecError(
        'CONFIG_INVALID',
        `add: id ${id} at position ${i} is outside [0, ${DENSE_MAX_ID}]`,
        {
          field: 'ids',
        },
      );
    if (id > maxId) maxId = id;
  }
  const limit = 2 * (count + ids.length) + DENSE_ID_SLACK;
  if (maxId >= limit)
    throw new SimrecError(
      'CONFIG_INVALID',
      `add: id ${maxId} is too sparse for ${count + ids.length} vectors; map ids to dense indices with an IdMap`,
      { field: 'ids' },
    );
  for (let j = 0; j < vectors.length; j++) {
    const v = vectors[j];
    if (v - v !== 0)
      throw new SimrecError(
        'CONFIG_INVALID',
        `add: vector of id ${ids[Math.floor(j / dim)]} has a non-finite value at dimension ${j % dim}`,
        { field: 'vectors' },
      );
  }
  return maxId;
}
