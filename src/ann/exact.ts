/**
 * Exact top-k by inner product or cosine (DESIGN §6): every vector is scored into one reused Float32Array and
 * the k best are selected with the bounded heap of core/topk (never a full sort). Used for small catalogues,
 * for queries whose allow list is short, and as the baseline approximate indexes are measured against.
 *
 * Three entry points: {@link exactTopK} over a plain row-major matrix (row index = id), {@link ExactScan}
 * over a fixed matrix whose rows may hold more than the part scored (the MF vectors a served version maps,
 * scored whole by inner product or by the cosine of their embedding prefix), and {@link ExactIndex}, the
 * mutable {@link DenseIndex} backend that HnswIndex also uses as its copy of the vectors. All three run the
 * same kernels (scoreRows, collectAllowed, scoreCandidates, selectScored below), so every exact answer in
 * simrec is scored, filtered and ranked one way: scores float64 sums rounded to float32, ties by smaller id.
 */
import { SimrecError } from '../core/errors.ts';
import { insertRanked, topKIndices } from '../core/topk.ts';
import {
  checkAddBatch,
  checkDim,
  checkK,
  checkMetric,
  checkSearchOptions,
  DENSE_MAX_ID,
  type DenseFilter,
  type DenseIndex,
  type DenseMetric,
  type DenseSearchOptions,
  type DenseSearchResult,
} from './dense/dense-index.ts';
import { corrupt, decodeEnvelope, encodeEnvelope, headerInt, typedView } from './dense/envelope.ts';
import { FilterMarks } from './dense/filter-marks.ts';

/** Candidate lists up to this size are ranked by insertion, larger ones by the bounded heap. */
const SMALL_SELECT = 48;

const ABSENT = 0;
const LIVE = 1;
const REMOVED = 2;

/**
 * Scores every row of `matrix` (rows × dim, row-major) against `query` into `scores` (one entry per row,
 * reused across calls) and writes the k best rows to outIds/outScores, best first, ties by smaller row.
 * Returns the count written, min(k, rows). Under cosine each row's norm is computed on the fly (pass
 * `invNorms`, 1/‖row‖ or 0 for a zero row, to skip that); for repeated queries over fixed vectors an
 * {@link ExactIndex}, which normalises once, is cheaper.
 */
export function exactTopK(
  matrix: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  metric: DenseMetric,
  scores: Float32Array,
  outIds: Int32Array,
  outScores: Float32Array,
  invNorms?: Float32Array,
): number {
  checkDim(dim);
  checkMetric(metric);
  checkK(k);
  if (matrix.length % dim !== 0)
    throw new SimrecError(
      'CONFIG_INVALID',
      `matrix length ${matrix.length} is not a multiple of dim ${dim}`,
      {
        field: 'matrix',
      },
    );
  const rows = matrix.length / dim;
  if (scores.length !== rows)
    throw new SimrecError('CONFIG_INVALID', `score buffer holds ${scores.length} entries for ${rows} rows`, {
      field: 'scores',
    });
  if (invNorms && invNorms.length !== rows)
    throw new SimrecError('CONFIG_INVALID', `invNorms holds ${invNorms.length} entries for ${rows} rows`, {
      field: 'invNorms',
    });
  const q = prepareQuery(query, dim, metric, new Float64Array(dim));
  const cosine = metric === 'cosine';
  scoreRows(matrix, dim, dim, q, rows, scores, null, null, 0, cosine ? (invNorms ?? null) : null, cosine);
  return topKIndices(scores, k, outIds, outScores);
}

/**
 * Exact top-k over the rows of a fixed row-major matrix whose rows may be wider than the part scored: row r
 * starts at r·stride and a query of length `width` scores its first `width` values. Under 'ip' the score is
 * the plain dot product; under 'cosine' it is the cosine of the query and the row's prefix (1/‖prefix‖ of
 * every row computed once, on the first cosine search of that width, and kept; a zero prefix scores 0).
 * Buffers are allocated once, at construction, and reused: a search allocates nothing, so one scan must not
 * be shared by searches that could interleave (searches are synchronous, so callers of one thread cannot).
 * The matrix is read, never written, and may view a memory map.
 */
export class ExactScan {
  readonly rows: number;
  readonly stride: number;
  private readonly data: Float32Array;
  private readonly scores: Float32Array;
  private readonly cand: Int32Array;
  private readonly marks = new FilterMarks();
  private readonly q: Float64Array;
  private inv: Float32Array | null = null;
  private invWidth = 0;
  private nScored = 0;

  /** @throws SimrecError CONFIG_INVALID when data does not hold rows × stride values */
  constructor(data: Float32Array, rows: number, stride: number) {
    checkDim(stride);
    if (!Number.isInteger(rows) || rows < 0 || data.length !== rows * stride)
      throw new SimrecError(
        'CONFIG_INVALID',
        `matrix of ${data.length} values is not ${rows} rows of stride ${stride}`,
        { field: 'matrix' },
      );
    this.data = data;
    this.rows = rows;
    this.stride = stride;
    this.scores = new Float32Array(rows);
    this.cand = new Int32Array(rows);
    this.marks.ensure(rows);
    this.q = new Float64Array(stride);
  }

  /** Rows given a score by the last search: not denied and, with an allow list, on it (each once). */
  get scored(): number {
    return this.nScored;
  }

  /**
   * The k best rows for query (length width) into outIds/outScores, best first, ties by smaller row; returns
   * the count written, min(k, rows scored). Filter ids outside [0, rows) are ignored.
   * @throws SimrecError CONFIG_INVALID when width is not in [1, stride], k is not a non-negative integer, the
   *   query is not a finite Float32Array of length width, or the outputs hold fewer than min(k, rows) entries
   */
  searchInto(
    query: Float32Array,
    width: number,
    metric: DenseMetric,
    k: number,
    outIds: Int32Array,
    outScores: Float32Array,
    filter?: DenseFilter,
  ): number {
    if (!Number.isInteger(width) || width < 1 || width > this.stride)
      throw new SimrecError(
        'CONFIG_INVALID',
        `width must be an integer in [1, ${this.stride}], got ${width}`,
        {
          field: 'width',
        },
      );
    checkMetric(metric);
    checkK(k);
    checkOut(outIds, outScores, Math.min(k, this.rows));
    const q = prepareQuery(query, width, metric, this.q);
    const inv = metric === 'cosine' ? this.invNorms(width) : null;
    const marks = this.marks;
    if (filter) marks.begin(filter.allow, filter.deny, this.rows);
    if (filter?.allow) {
      const count = collectAllowed(filter.allow, this.rows, null, marks, this.cand);
      this.nScored = count;
      scoreCandidates(this.data, this.stride, width, q, this.cand, count, this.scores, inv);
      return selectScored(this.scores, this.cand, count, k, outIds, outScores);
    }
    const deny = filter ? marks.denyStamps : null;
    const n = scoreRows(
      this.data,
      this.stride,
      width,
      q,
      this.rows,
      this.scores,
      null,
      deny,
      marks.currentEpoch,
      inv,
      false,
    );
    this.nScored = n;
    return topKIndices(this.scores, Math.min(k, n), outIds, outScores);
  }

  /** 1/‖prefix of width‖ of every row (0 for a zero prefix), kept for the last width asked. */
  private invNorms(width: number): Float32Array {
    if (this.inv && this.invWidth === width) return this.inv;
    const inv = this.inv ?? new Float32Array(this.rows);
    for (let r = 0, off = 0; r < this.rows; r++, off += this.stride) inv[r] = invNorm(this.data, off, width);
    this.inv = inv;
    this.invWidth = width;
    return inv;
  }
}

/** 1/‖row‖, or 0 for a zero row (so it scores 0 under cosine). */
export function invNorm(m: Float32Array, off: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += m[off + d] * m[off + d];
  return s > 0 ? 1 / Math.sqrt(s) : 0;
}

/**
 * Exhaustive {@link DenseIndex}: vectors by id in one Float32Array (normalised under cosine), a state byte
 * per id, and per-query buffers sized with the index, so a search allocates only its result arrays.
 */
export class ExactIndex implements DenseIndex {
  readonly kind = 'exact' as const;
  readonly dim: number;
  readonly metric: DenseMetric;
  private vectors: Float32Array = new Float32Array(0);
  private state: Uint8Array = new Uint8Array(0);
  private scores: Float32Array = new Float32Array(0);
  /** scores[0, idLimit): what a full scan selects from. */
  private scanView: Float32Array = new Float32Array(0);
  private cand: Int32Array = new Int32Array(0);
  private readonly q: Float64Array;
  private readonly marks = new FilterMarks();
  /** Exact backends have no search list: {@link DenseSearchOptions.ef} is ignored. */
  readonly ef = undefined;
  private nLive = 0;
  private nSlots = 0;
  private limit = 0;

  constructor(dim: number, metric: DenseMetric) {
    checkDim(dim);
    checkMetric(metric);
    this.dim = dim;
    this.metric = metric;
    this.q = new Float64Array(dim);
  }

  get size(): number {
    return this.nLive;
  }

  /** Ids ever added, removed ones included (their vectors are kept so they can be revived). */
  get slots(): number {
    return this.nSlots;
  }

  /** One past the largest id ever added. */
  get idLimit(): number {
    return this.limit;
  }

  /**
   * Sizes the per-id storage for ids below n up front (a bulk build knows its largest id), so chunked adds
   * neither regrow nor trip the sparse-id check. n must be at most the largest id of a validated batch + 1.
   */
  reserve(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > DENSE_MAX_ID + 1)
      throw new SimrecError(
        'CONFIG_INVALID',
        `reserve: ${n} is not an id count in [0, ${DENSE_MAX_ID + 1}]`,
        {
          field: 'ids',
        },
      );
    this.grow(n);
  }

  add(ids: Int32Array, vectors: Float32Array): void {
    // Storage already reserved counts as present for the sparse-id check.
    const maxId = checkAddBatch(ids, vectors, this.dim, Math.max(this.nSlots, this.state.length));
    this.grow(maxId + 1);
    const dim = this.dim;
    for (let i = 0; i < ids.length; i++) this.put(ids[i], vectors, i * dim, this.metric === 'cosine');
  }

  /**
   * Stores already-prepared vectors (normalised under cosine) without re-normalising, so values read back
   * from a saved index keep their exact bits. `removed[i]` ≠ 0 stores row i as removed.
   * @internal for loaders; ids must be valid and distinct
   */
  putPrepared(ids: Int32Array, vectors: Float32Array, removed?: Uint8Array): void {
    let maxId = -1;
    for (let i = 0; i < ids.length; i++) if (ids[i] > maxId) maxId = ids[i];
    this.grow(maxId + 1);
    for (let i = 0; i < ids.length; i++) {
      this.put(ids[i], vectors, i * this.dim, false);
      if (removed?.[i]) this.remove(ids[i]);
    }
  }

  private put(id: number, src: Float32Array, off: number, normalise: boolean): void {
    const dim = this.dim;
    const base = id * dim;
    const v = this.vectors;
    const scale = normalise ? invNorm(src, off, dim) : 1;
    for (let d = 0; d < dim; d++) v[base + d] = src[off + d] * scale;
    const st = this.state[id];
    if (st === ABSENT) this.nSlots++;
    if (st !== LIVE) this.nLive++;
    this.state[id] = LIVE;
    if (id >= this.limit) {
      this.limit = id + 1;
      this.scanView = this.scores.subarray(0, this.limit);
    }
  }

  /** Grows every per-id buffer to hold ids below n (geometrically, so repeated adds stay amortised O(1)). */
  private grow(n: number): void {
    if (n <= this.state.length) return;
    const cap = Math.max(n, Math.ceil(this.state.length * 1.5), 64);
    const vectors = new Float32Array(cap * this.dim);
    vectors.set(this.vectors);
    const state = new Uint8Array(cap);
    state.set(this.state);
    this.vectors = vectors;
    this.state = state;
    this.scores = new Float32Array(cap);
    this.scanView = this.scores.subarray(0, this.limit);
    this.cand = new Int32Array(cap);
    this.marks.ensure(cap);
  }

  remove(id: number): boolean {
    if (!this.has(id)) return false;
    this.state[id] = REMOVED;
    this.nLive--;
    return true;
  }

  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.limit && this.state[id] === LIVE;
  }

  /** Whether id was added and later removed (its slot and vector are kept). */
  isRemoved(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.limit && this.state[id] === REMOVED;
  }

  vector(id: number, out?: Float32Array): Float32Array | undefined {
    if (!this.has(id)) return undefined;
    const src = this.vectors.subarray(id * this.dim, (id + 1) * this.dim);
    if (!out) return src.slice();
    out.set(src);
    return out;
  }

  /** Calls fn(id) for every present id in ascending order. */
  forEachLive(fn: (id: number, vectors: Float32Array, offset: number) => void): void {
    for (let id = 0; id < this.limit; id++) if (this.state[id] === LIVE) fn(id, this.vectors, id * this.dim);
  }

  search(query: Float32Array, k: number, options?: DenseSearchOptions): DenseSearchResult {
    checkK(k);
    const cap = Math.min(k, this.nLive);
    const ids = new Int32Array(cap);
    const scores = new Float32Array(cap);
    const n = this.searchInto(query, k, ids, scores, options);
    return n === cap ? { ids, scores } : { ids: ids.slice(0, n), scores: scores.slice(0, n) };
  }

  searchInto(
    query: Float32Array,
    k: number,
    outIds: Int32Array,
    outScores: Float32Array,
    options?: DenseSearchOptions,
  ): number {
    const filter = checkSearchOptions(options);
    checkK(k);
    checkOut(outIds, outScores, Math.min(k, this.nLive));
    const q = this.prepare(query);
    if (k === 0 || this.nLive === 0) return 0;
    const dim = this.dim;
    const marks = this.marks;
    if (filter) marks.begin(filter.allow, filter.deny, this.limit);
    if (filter?.allow) {
      const count = collectAllowed(filter.allow, this.limit, this.state, marks, this.cand);
      scoreCandidates(this.vectors, dim, dim, q, this.cand, count, this.scores, null);
      return selectScored(this.scores, this.cand, count, k, outIds, outScores);
    }
    const deny = filter ? marks.denyStamps : null;
    const n = scoreRows(
      this.vectors,
      dim,
      dim,
      q,
      this.limit,
      this.scores,
      this.state,
      deny,
      marks.currentEpoch,
      null,
      false,
    );
    return topKIndices(this.scanView, Math.min(k, n), outIds, outScores);
  }

  /**
   * Validates query and stores it (normalised under cosine) as the query {@link selectAmong} scores against.
   * @internal shared with HnswIndex; returns the internal buffer, valid until the next call
   */
  prepare(query: Float32Array): Float64Array {
    return prepareQuery(query, this.dim, this.metric, this.q);
  }

  /**
   * Marks a query's allow/deny lists (read through {@link filterMarks}).
   * @internal shared with HnswIndex
   */
  beginFilter(filter: DenseFilter | undefined): void {
    this.marks.begin(filter?.allow, filter?.deny, this.limit);
  }

  /** @internal the marks of the last {@link beginFilter}, for a filter evaluated natively */
  get filterMarks(): FilterMarks {
    return this.marks;
  }

  toBytes(): Uint8Array {
    const n = this.nLive;
    const ids = new Int32Array(n);
    const vectors = new Float32Array(n * this.dim);
    let i = 0;
    this.forEachLive((id, v, off) => {
      ids[i] = id;
      vectors.set(v.subarray(off, off + this.dim), i * this.dim);
      i++;
    });
    return encodeEnvelope({ kind: 'exact', metric: this.metric, dim: this.dim, count: n }, [
      new Uint8Array(ids.buffer),
      new Uint8Array(vectors.buffer),
    ]);
  }

  /**
   * An index saved by {@link toBytes}.
   * @throws SimrecError ARTIFACT_CORRUPT when the blob is not an exact index or is inconsistent
   */
  static fromBytes(bytes: Uint8Array): ExactIndex {
    const { header, payload } = decodeEnvelope(bytes);
    if (header.kind !== 'exact') corrupt(`kind '${header.kind}' is not an exact index`);
    const metric = header.metric;
    if (metric !== 'cosine' && metric !== 'ip') corrupt(`unknown metric ${JSON.stringify(metric)}`);
    const dim = headerInt(header, 'dim', 1, 65536);
    const count = headerInt(header, 'count', 0, 0x7fffffff);
    if (payload.length !== count * 4 * (1 + dim))
      corrupt(`payload of ${payload.length} bytes does not hold ${count} vectors of dim ${dim}`);
    const ids = typedView(Int32Array, payload, 0, count);
    const vectors = typedView(Float32Array, payload, count * 4, count * dim);
    let prev = -1;
    for (let i = 0; i < count; i++) {
      if (ids[i] <= prev) corrupt(`ids are not strictly ascending at position ${i}`);
      prev = ids[i];
    }
    for (let j = 0; j < vectors.length; j++)
      if (vectors[j] - vectors[j] !== 0) corrupt('non-finite vector value');
    const index = new ExactIndex(dim, metric as DenseMetric);
    index.putPrepared(ids, vectors);
    return index;
  }
}

/** Validates a query and copies it into q (normalised under cosine; a zero query stays zero). */
function prepareQuery(query: Float32Array, dim: number, metric: DenseMetric, q: Float64Array): Float64Array {
  if (!(query instanceof Float32Array) || query.length !== dim)
    throw new SimrecError(
      'CONFIG_INVALID',
      `query must be a Float32Array of length ${dim}, got ${query instanceof Float32Array ? `length ${query.length}` : typeof query}`,
      { field: 'query' },
    );
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const x = query[d];
    if (x - x !== 0)
      throw new SimrecError('CONFIG_INVALID', `query has a non-finite value at dimension ${d}`, {
        field: 'query',
      });
    q[d] = x;
    s += x * x;
  }
  if (metric === 'cosine' && s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < dim; d++) q[d] *= inv;
  }
  return q;
}

function checkOut(outIds: Int32Array, outScores: Float32Array, need: number): void {
  if (outIds.length < need || outScores.length < need)
    throw new SimrecError(
      'CONFIG_INVALID',
      `output buffers hold ${Math.min(outIds.length, outScores.length)} entries, need ${need}`,
      { field: 'out' },
    );
}

/**
 * Scores rows [0, rows) of data (row r at r·stride, its first width values) against q into scores[r]; a row
 * that is not live (live given and live[r] ≠ LIVE) or is denied (deny[r] = epoch) gets NaN, which top-k
 * selection skips. Under cosine pass inv (1/‖row‖ per row) or computeNorms to compute it per row; q must be
 * normalised already. Returns the rows scored.
 */
function scoreRows(
  data: Float32Array,
  stride: number,
  width: number,
  q: Float64Array,
  rows: number,
  scores: Float32Array,
  live: Uint8Array | null,
  deny: Uint32Array | null,
  epoch: number,
  inv: Float32Array | null,
  computeNorms: boolean,
): number {
  let n = 0;
  for (let r = 0, off = 0; r < rows; r++, off += stride) {
    if ((live !== null && live[r] !== LIVE) || (deny !== null && deny[r] === epoch)) {
      scores[r] = Number.NaN;
      continue;
    }
    const s = dot(data, off, q, width);
    scores[r] = inv !== null ? s * inv[r] : computeNorms ? s * invNorm(data, off, width) : s;
    n++;
  }
  return n;
}

/**
 * The distinct allowed ids of the current query (marks begun with its lists) that are below limit, live
 * (when live is given) and not denied, into cand in list order; returns their count.
 */
function collectAllowed(
  allow: ArrayLike<number>,
  limit: number,
  live: Uint8Array | null,
  marks: FilterMarks,
  cand: Int32Array,
): number {
  let n = 0;
  for (let i = 0; i < allow.length; i++) {
    const id = allow[i];
    if (!(id >= 0 && id < limit && Number.isInteger(id)) || (live !== null && live[id] !== LIVE)) continue;
    if (marks.denied(id) || !marks.claim(id)) continue;
    cand[n++] = id;
  }
  return n;
}

/** {@link scoreRows} for the rows cand[0, count) only. */
function scoreCandidates(
  data: Float32Array,
  stride: number,
  width: number,
  q: Float64Array,
  cand: Int32Array,
  count: number,
  scores: Float32Array,
  inv: Float32Array | null,
): void {
  for (let t = 0; t < count; t++) {
    const id = cand[t];
    const s = dot(data, id * stride, q, width);
    scores[id] = inv !== null ? s * inv[id] : s;
  }
}

/**
 * The k best of the scored candidates cand[0, count) into outIds/outScores, best first, ties by smaller id;
 * returns the count written. A handful (a short allow list) are ranked by insertion, in the same order and
 * float32 rounding as the heap, without the heap's indirection.
 */
function selectScored(
  scores: Float32Array,
  cand: Int32Array,
  count: number,
  k: number,
  outIds: Int32Array,
  outScores: Float32Array,
): number {
  if (count > SMALL_SELECT) return topKIndices(scores, k, outIds, outScores, cand, count);
  const cap = Math.min(k, count);
  let n = 0;
  for (let t = 0; t < count && cap > 0; t++) {
    const id = cand[t];
    const s = scores[id];
    if (n === cap) {
      const ls = outScores[cap - 1];
      if (!(s > ls || (s === ls && id < outIds[cap - 1]))) continue;
      n--;
    }
    insertRanked(outIds, outScores, n, id, s);
    n++;
  }
  return n;
}

/** Σ m[off+d]·q[d] in float64, four independent sums so the additions pipeline. */
function dot(m: Float32Array, off: number, q: Float64Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += m[off + d] * q[d];
    s1 += m[off + d + 1] * q[d + 1];
    s2 += m[off + d + 2] * q[d + 2];
    s3 += m[off + d + 3] * q[d + 3];
  }
  for (; d < dim; d++) s0 += m[off + d] * q[d];
  return s0 + s1 + (s2 + s3);
}
