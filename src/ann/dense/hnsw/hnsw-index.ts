/**
 * HNSW backend of {@link DenseIndex}: hnswlib 0.8's HierarchicalNSW through simrec's own thin N-API binding
 * (./native.ts, native/hnsw.cc), compiled at install against the hnswlib headers of the pinned hnswlib-node
 * package.
 *
 * Why hnswlib, measured against usearch (10^5 × 64 vectors, M 16, efConstruction 200, one thread, one query per
 * call, against Debian's python3-hnswlib on the same vectors; `npm run bench -- dense`):
 *  - speed at equal recall: hnswlib through hnswlib-node's JS API 0.82–0.96× python3-hnswlib, usearch 2.26
 *    0.55–0.76×;
 *  - filters: hnswlib filters inside the graph walk; usearch's JS API has no filter, only over-fetching;
 *  - deletions (mark, revive), add after build (resize) and save/load: both have them; usearch also
 *    memory-maps a saved index, hnswlib saves and loads files only;
 *  - install: usearch ships prebuilt binaries in its npm tarball, but 2.26 declares Node ≥ 22 and its ESM
 *    entry fails to locate them on Node 20; hnswlib compiles at install (node-gyp; needs a C++ toolchain and
 *    the Node headers, here `nodedir=/usr`).
 * Why not hnswlib-node's JS API itself: a fixed cost of ~5 µs a call (7.3 µs at dim 64 on a tiny index against
 * pybind11's 2.2 µs), because it reads the query as a JS Array one element at a time through N-API and answers
 * in freshly built JS arrays, and its filter calls a JS function for every node the walk visits. The binding
 * reads a Float32Array in place, writes into reused typed arrays and runs the filter in C++: on the same graph
 * raw ip went from 0.77–0.88× python3-hnswlib's queries/s to 0.94–0.99× (the bench times both APIs). The
 * graph and the saved file are hnswlib's own: a test checks the bytes against hnswlib-node's.
 *
 * Both metrics run on hnswlib's inner-product space. Cosine vectors and queries are normalised here (what
 * hnswlib's own cosine space does), so the graph stores exactly the vectors the JS-side copy holds.
 *
 * Metric 'ip' is maximum inner-product search, which HNSW does poorly on raw vectors: 1 − q·x is not a
 * distance (an item is not its own nearest neighbour, long vectors crowd every neighbour list), and on MF
 * item vectors with folded biases, whose norms differ widely, recall@10 stalled near 0.77–0.86 at any ef.
 * So the graph holds the vectors of the standard reduction to nearest-neighbour search (Bachrach et al.
 * 2014, "Speeding up the Xbox recommender system using a euclidean transformation for inner-product
 * spaces"): item x becomes [x, √(Φ² − ‖x‖²)] with Φ ≥ every item norm, so all graph vectors have norm Φ and
 * 1 − x'·y' = ‖x' − y'‖²/2 + 1 − Φ² orders pairs as Euclidean distance does; the graph is an ordinary
 * metric HNSW. A query q becomes [q, 0], so q'·x' = q·x exactly: the walk ranks by the true inner product
 * (‖q' − x'‖² = ‖q‖² + Φ² − 2q·x) and hnswlib's distance still gives the score, 1 − dist, with no
 * re-scoring. Φ is the largest item norm of the first batch (or what {@link HnswIndex.reserveNorm} set, as
 * a bulk build does); adding a longer vector later rebuilds the graph with Φ raised to 9/8 of its norm
 * (every augmented coordinate changes), so growing norms cost a rebuild only every 12.5%.
 *
 * The reduction alone is not enough: queries [q, 0] lie off the sphere the graph was built on, and built in
 * id order the lifted graph recalled worse than the raw one (MF vectors, M 16, efConstruction 200, ef 64:
 * movies ×5 0.906 against 0.926, social 0.454 against 0.815). What the queries seek are the long vectors,
 * the ones near the equator e = 0; inserted first, they form the graph's long-range structure and the walk
 * reaches them. So ip vectors are inserted longest first (within a batch, and across a whole bulk build):
 * 0.957 on both. See BENCHMARKS.md, "Dense ANN".
 *
 * The reduction has a price: the graph is one coordinate wider and the lifted walk visits more nodes (on
 * 10^5 × 64 Gaussian-mixture vectors of similar norms it runs 0.75–0.95× python3-hnswlib's raw 'ip' space,
 * falling as ef grows, where the raw layout runs 0.94–0.99×). So the layout is a parameter, {@link HnswParams.ipLayout}:
 * 'mips' (the default, and what the MF stage builds) as above; 'raw' the vectors as they are on hnswlib's
 * inner-product space, inserted in the caller's order with no Φ, for vectors of nearly equal norms.
 *
 * The JS-side copy (an {@link ExactIndex}, the vectors without the extra coordinate) answers queries whose
 * allow list is short by brute force, serves `vector()` and the recall baseline of a build, and is rebuilt
 * from the saved file on load rather than stored twice.
 *
 * Removal marks the graph node deleted: it stays a waypoint and keeps its slot, and re-adding the id revives
 * it in place. {@link HnswIndex.compact} rebuilds the graph without removed slots.
 *
 * Saved layout (header field `layout`): 'plain' for cosine; for ip 'mips' (graph dimension dim + 1, header
 * `maxNorm` = Φ) or 'raw' (graph dimension dim). A blob loads back in its own layout whatever the defaults.
 * An ip index saved before the reduction has no layout field and is refused on load as ARTIFACT_CORRUPT
 * with a request to rebuild: its graph is raw, but the build that wrote it meant the default layout.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimrecError } from '../../../core/errors.ts';
import { insertRanked } from '../../../core/topk.ts';
import { ExactIndex } from '../../exact.ts';
import {
  checkDim,
  checkK,
  checkMetric,
  checkSearchOptions,
  DEFAULT_HNSW_PARAMS,
  type DenseFilter,
  type DenseIndex,
  type DenseMetric,
  type DenseSearchOptions,
  type DenseSearchResult,
  type HnswIpLayout,
  type HnswParams,
  MAX_EF,
} from '../dense-index.ts';
import { corrupt, decodeEnvelope, encodeEnvelope, headerInt } from '../envelope.ts';
import { parseHnswlibFile } from './hnswlib-format.ts';
import { type NativeGraph, nativeHnsw } from './native.ts';

/** Statistics of the graph beside the searchable count. */
export interface HnswStats {
  size: number;
  /** Graph nodes, removed ones included. */
  slots: number;
  removed: number;
  maxElements: number;
  m: number;
  efConstruction: number;
  ef: number;
  /** ip in the 'mips' layout: Φ, the norm every graph vector is lifted to (see the file comment); else null. */
  maxNorm: number | null;
}

/** Saved graph layouts (see the file comment). */
type Layout = 'plain' | HnswIpLayout;

/** A longer vector than Φ rebuilds the graph with Φ raised to this multiple of its norm. */
const NORM_HEADROOM = 1.125;

export class HnswIndex implements DenseIndex {
  readonly kind = 'hnsw' as const;
  readonly dim: number;
  readonly metric: DenseMetric;
  private readonly p: HnswParams;
  private graph: NativeGraph;
  private table: ExactIndex;
  private maxElements: number;
  /** Whether the graph holds the MIPS reduction (metric ip, layout 'mips'): lifted vectors, longest first. */
  private readonly lifted: boolean;
  /** Coordinates per graph vector: dim, plus the lifting coordinate when lifted. */
  private readonly gdim: number;
  /** Lifted: the norm every graph vector is lifted to (0 until the first vector); otherwise unused. */
  private phi: number;
  /** The query in the graph's dimension, reused; the lifting coordinate stays 0. */
  private readonly qArr: Float32Array;
  /** Threads inserting a batch into the graph (see {@link insertThreads}). */
  private threads = 1;
  /** The graph's answer (labels, distances), reused and grown to the largest k asked. */
  private outLabels = new Int32Array(16);
  private outDist = new Float32Array(16);

  private constructor(
    dim: number,
    metric: DenseMetric,
    params: HnswParams,
    graph: NativeGraph,
    table: ExactIndex,
    maxElements: number,
    phi: number,
  ) {
    this.dim = dim;
    this.metric = metric;
    this.p = params;
    this.graph = graph;
    this.table = table;
    this.maxElements = maxElements;
    this.lifted = isLifted(metric, params);
    this.gdim = dim + (this.lifted ? 1 : 0);
    this.phi = phi;
    this.qArr = new Float32Array(this.gdim);
    graph.setEf(params.ef);
  }

  /** An empty index with room for `capacity` vectors before its first resize. */
  static create(
    dim: number,
    metric: DenseMetric,
    params: Partial<HnswParams> = {},
    capacity = 1024,
  ): HnswIndex {
    checkDim(dim);
    checkMetric(metric);
    const p = checkParams({ ...DEFAULT_HNSW_PARAMS, ...params });
    const maxElements = Math.max(16, Math.ceil(capacity));
    const graph = newGraph(dim + (isLifted(metric, p) ? 1 : 0), maxElements, p);
    return new HnswIndex(dim, metric, p, graph, new ExactIndex(dim, metric), maxElements, 0);
  }

  get size(): number {
    return this.table.size;
  }

  /** A copy of the parameters in effect. */
  get params(): HnswParams {
    return { ...this.p };
  }

  /**
   * Default search-time candidate list size (raised to k by hnswlib when k is larger). Setting it changes
   * every later search that gives no ef of its own; a search's {@link DenseSearchOptions.ef} leaves it alone.
   */
  get ef(): number {
    return this.p.ef;
  }

  set ef(ef: number) {
    checkPositive('ef', ef, MAX_EF);
    this.p.ef = ef;
    this.graph.setEf(ef);
  }

  /**
   * The exact index holding this index's vectors (the recall baseline, at no extra memory). Read it only:
   * changing it would desynchronise it from the graph.
   */
  exactCopy(): ExactIndex {
    return this.table;
  }

  /**
   * Threads that insert a batch into the graph (default 1). With one, the graph is a function of the seed and
   * the insertion order (byte-identical across runs); with more, insertion runs concurrently in native threads
   * (hnswlib's own locking) and the graph depends on their interleaving, at about the same recall. A runtime
   * setting: it is not saved with the index.
   */
  get insertThreads(): number {
    return this.threads;
  }

  set insertThreads(n: number) {
    checkPositive('insertThreads', n, 256);
    this.threads = n;
  }

  /** Allow lists up to this length are answered exactly (see {@link HnswParams.exactAllowMax}). */
  get exactAllowMax(): number {
    return this.p.exactAllowMax;
  }

  set exactAllowMax(n: number) {
    checkParams({ ...this.p, exactAllowMax: n });
    this.p.exactAllowMax = n;
  }

  stats(): HnswStats {
    const slots = this.graph.count();
    return {
      size: this.size,
      slots,
      removed: slots - this.size,
      maxElements: this.maxElements,
      m: this.p.m,
      efConstruction: this.p.efConstruction,
      ef: this.p.ef,
      maxNorm: this.lifted ? this.phi : null,
    };
  }

  /** See {@link ExactIndex.reserve}. */
  reserve(n: number): void {
    this.table.reserve(n);
  }

  /**
   * ip in the 'mips' layout: makes Φ at least `norm` before vectors are added, so a build that inserts in
   * chunks lifts every vector once (pass the largest norm of all of them). Free on an empty graph; on a
   * non-empty one a larger Φ rebuilds the graph. Cosine and the 'raw' layout: nothing to do.
   * @throws SimrecError CONFIG_INVALID when norm is negative or not finite
   */
  reserveNorm(norm: number): void {
    if (!(norm >= 0 && norm < Number.POSITIVE_INFINITY))
      throw new SimrecError('CONFIG_INVALID', `reserveNorm: ${norm} is not a finite norm`, { field: 'norm' });
    if (!this.lifted || norm <= this.phi) return;
    if (this.graph.count() === 0) this.phi = norm;
    else this.rebuild(norm);
  }

  add(ids: Int32Array, vectors: Float32Array): void {
    // The table validates the whole batch before changing anything and normalises under cosine; the graph
    // then receives the table's copy, so both hold the same float32 values.
    this.table.add(ids, vectors);
    const dim = this.dim;
    const v = new Float32Array(dim);
    if (this.lifted) {
      let longest = 0;
      for (let i = 0; i < ids.length; i++) longest = Math.max(longest, norm(this.table.vector(ids[i], v)!));
      if (longest > this.phi) {
        if (this.graph.count() === 0) this.phi = longest;
        else {
          // Every lifted vector changes with Φ: rebuild from the table, which holds the batch already.
          this.rebuild(longest * NORM_HEADROOM);
          return;
        }
      }
    }
    const need = this.table.slots;
    if (need > this.maxElements) {
      const grown = Math.max(need, Math.ceil(this.maxElements * 1.5));
      this.graph.resize(grown);
      this.maxElements = grown;
    }
    const order = this.lifted ? byNormDescending(vectors, dim) : undefined;
    const n = ids.length;
    const labels = new Int32Array(n);
    const rows = new Float32Array(n * this.gdim);
    for (let j = 0; j < n; j++) {
      const id = ids[order ? order[j] : j];
      labels[j] = id;
      this.lift(this.table.vector(id, v)!, 0, rows, j * this.gdim);
    }
    this.graph.addPoints(rows, labels, this.threads);
  }

  /** vectors[off, off + dim) as the graph stores it, written to out[at, at + gdim). */
  private lift(vectors: Float32Array, off: number, out: Float32Array, at: number): void {
    const dim = this.dim;
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const x = vectors[off + d];
      out[at + d] = x;
      s += x * x;
    }
    // Φ is at least every norm, so the difference is ≥ 0 up to rounding.
    if (this.lifted) out[at + dim] = Math.sqrt(Math.max(0, this.phi * this.phi - s));
  }

  remove(id: number): boolean {
    if (!this.table.has(id)) return false;
    this.graph.markDelete(id);
    this.table.remove(id);
    return true;
  }

  has(id: number): boolean {
    return this.table.has(id);
  }

  vector(id: number, out?: Float32Array): Float32Array | undefined {
    return this.table.vector(id, out);
  }

  search(query: Float32Array, k: number, options?: DenseSearchOptions): DenseSearchResult {
    checkK(k);
    const cap = Math.min(k, this.size);
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
    const allow = filter?.allow;
    // Few allowed ids: scoring just them is exact and cheaper than a graph walk that skips most nodes.
    if (allow && allow.length <= this.p.exactAllowMax)
      return this.table.searchInto(query, k, outIds, outScores, options);
    const need = Math.min(k, this.size);
    if (outIds.length < need || outScores.length < need)
      throw new SimrecError(
        'CONFIG_INVALID',
        `output buffers hold ${Math.min(outIds.length, outScores.length)} entries, need ${need}`,
        { field: 'out' },
      );
    const q = this.table.prepare(query);
    if (k === 0 || this.size === 0) return 0;
    const arr = this.qArr;
    for (let d = 0; d < this.dim; d++) arr[d] = q[d];

    const filtered = allow !== undefined || (filter?.deny !== undefined && filter.deny.length > 0);
    const want = Math.min(k, this.maxElements);
    if (this.outLabels.length < want) {
      this.outLabels = new Int32Array(want);
      this.outDist = new Float32Array(want);
    }
    const ef = options?.ef;
    let found: number;
    if (ef === undefined || ef === this.p.ef) found = this.walk(arr, want, filtered ? filter : undefined);
    else {
      // The graph holds one ef for every search: set it for this walk and put the default back even when the
      // walk throws. The walk is synchronous, so no other search can run while the graph holds this ef.
      this.graph.setEf(ef);
      try {
        found = this.walk(arr, want, filtered ? filter : undefined);
      } finally {
        this.graph.setEf(this.p.ef);
      }
    }
    // hnswlib's inner-product distance is 1 − dot in float32, so the score comes back without touching the
    // vectors again (re-scoring from the JS copy cost ~1.5 µs a query in cache misses). Its order is by
    // distance; ties are re-ordered by id, as every backend orders them.
    const labels = this.outLabels;
    const dist = this.outDist;
    for (let j = 0; j < found; j++) insertRanked(outIds, outScores, j, labels[j], Math.fround(1 - dist[j]));
    return found;
  }

  /** The graph's nearest labels for the prepared query into outLabels/outDist; returns how many. */
  private walk(arr: Float32Array, want: number, filter: DenseFilter | undefined): number {
    if (!filter) return this.graph.search(arr, want, this.outLabels, this.outDist);
    // The lists are tested inside the walk, in C++, on the stamps the table marks (FilterMarks' rule).
    const marks = this.table.filterMarks;
    this.table.beginFilter(filter);
    return this.graph.search(
      arr,
      want,
      this.outLabels,
      this.outDist,
      marks.allowStamps,
      marks.denyStamps,
      marks.currentEpoch,
    );
  }

  /**
   * Rebuilds the graph from the present vectors only, reclaiming the slots of removed ids (which then can no
   * longer be revived in place; adding them again inserts them anew). Returns the slots reclaimed.
   */
  compact(): number {
    const before = this.graph.count();
    this.rebuild(this.phi);
    return before - this.size;
  }

  /**
   * A new graph and table from the present vectors, in id order (lifted: longest first, with Φ = phi).
   */
  private rebuild(phi: number): void {
    const table = new ExactIndex(this.dim, this.metric);
    const n = this.size;
    const ids = new Int32Array(n);
    const vectors = new Float32Array(n * this.dim);
    let i = 0;
    this.table.forEachLive((id, v, off) => {
      ids[i] = id;
      vectors.set(v.subarray(off, off + this.dim), i * this.dim);
      i++;
    });
    table.putPrepared(ids, vectors);
    const maxElements = Math.max(16, n);
    const graph = newGraph(this.gdim, maxElements, this.p);
    graph.setEf(this.p.ef);
    this.phi = phi;
    const order = this.lifted ? byNormDescending(vectors, this.dim) : undefined;
    const labels = new Int32Array(n);
    const rows = new Float32Array(n * this.gdim);
    for (let j = 0; j < n; j++) {
      const r = order ? order[j] : j;
      labels[j] = ids[r];
      this.lift(vectors, r * this.dim, rows, j * this.gdim);
    }
    graph.addPoints(rows, labels, this.threads);
    this.graph = graph;
    this.table = table;
    this.maxElements = maxElements;
  }

  toBytes(): Uint8Array {
    const dir = mkdtempSync(join(tmpdir(), 'simrec-hnsw-'));
    try {
      const file = join(dir, 'index.bin');
      this.graph.save(file);
      const graphBytes = readFileSync(file);
      const layout: Layout = this.metric === 'ip' ? this.p.ipLayout : 'plain';
      return encodeEnvelope(
        {
          kind: 'hnsw',
          metric: this.metric,
          dim: this.dim,
          size: this.size,
          params: { ...this.p },
          layout,
          ...(layout === 'mips' ? { maxNorm: this.phi } : {}),
        },
        [graphBytes],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * An index saved by {@link toBytes}. hnswlib loads only from a file, so the graph passes through a
   * temporary file that is removed before this returns.
   * @throws SimrecError ARTIFACT_CORRUPT when the blob is not a consistent HNSW index
   */
  static fromBytes(bytes: Uint8Array): HnswIndex {
    const { header, payload } = decodeEnvelope(bytes);
    if (header.kind !== 'hnsw') corrupt(`kind '${header.kind}' is not an HNSW index`);
    const metric = header.metric;
    if (metric !== 'cosine' && metric !== 'ip') corrupt(`unknown metric ${JSON.stringify(metric)}`);
    const dim = headerInt(header, 'dim', 1, 65536);
    const size = headerInt(header, 'size', 0, 0x7fffffff);
    const raw = header.params;
    if (typeof raw !== 'object' || raw === null) corrupt('header has no params');
    let p: HnswParams;
    try {
      p = checkParams({ ...DEFAULT_HNSW_PARAMS, ...(raw as Partial<HnswParams>) });
    } catch (e) {
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `dense index blob: bad params (${(e as Error).message})`,
        {},
        {
          cause: e,
        },
      );
    }
    const layout = header.layout;
    if (metric === 'ip' && layout === undefined)
      corrupt(
        'inner-product HNSW index in the raw layout of earlier simrec versions (poor recall on vectors of ' +
          'unequal norms); rebuild the artifacts with simrec build',
      );
    if (metric === 'ip' ? layout !== 'mips' && layout !== 'raw' : layout !== undefined && layout !== 'plain')
      corrupt(`layout ${JSON.stringify(layout)} does not fit metric ${metric}`);
    if (metric === 'ip') {
      // The layout field decides how the graph is read; params naming another one contradict it.
      if ((raw as Partial<HnswParams>).ipLayout !== undefined && p.ipLayout !== layout)
        corrupt(`params.ipLayout '${p.ipLayout}' contradicts layout '${layout}'`);
      p.ipLayout = layout as HnswIpLayout;
    }
    let phi = 0;
    if (layout === 'mips') {
      const v = header.maxNorm;
      if (typeof v !== 'number' || !(v >= 0 && v < Number.POSITIVE_INFINITY))
        corrupt(`header field maxNorm = ${JSON.stringify(v)} is not a finite norm`);
      phi = v as number;
    }
    const gdim = dim + (layout === 'mips' ? 1 : 0);
    const file = parseHnswlibFile(payload, gdim);
    if (file.m !== p.m) corrupt(`graph was built with M ${file.m}, header says ${p.m}`);
    const vectors = gdim === dim ? file.vectors : unlift(file.vectors, dim, phi);
    const table = new ExactIndex(dim, metric as DenseMetric);
    table.putPrepared(file.labels, vectors, file.removed);
    if (table.size !== size) corrupt(`graph holds ${table.size} present vectors, header says ${size}`);
    const dir = mkdtempSync(join(tmpdir(), 'simrec-hnsw-'));
    try {
      const path = join(dir, 'index.bin');
      writeFileSync(path, payload);
      const graph = new (nativeHnsw().Graph)(gdim, path);
      // Ask the graph: hnswlib loads an empty index with room for none, whatever the file says.
      return new HnswIndex(dim, metric as DenseMetric, p, graph, table, graph.capacity(), phi);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Row indices of a row-major matrix by norm, longest first, ties in row order: the order ip vectors are
 * inserted in (see the file comment).
 */
export function byNormDescending(vectors: Float32Array, dim: number): Int32Array {
  const n = vectors.length / dim;
  const norms = new Float64Array(n);
  for (let r = 0, off = 0; r < n; r++, off += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[off + d] * vectors[off + d];
    norms[r] = s;
  }
  const order = Int32Array.from({ length: n }, (_, r) => r);
  return order.sort((a, b) => norms[b] - norms[a] || a - b);
}

/** Whether an index of this metric and these parameters holds the MIPS reduction (see the file comment). */
function isLifted(metric: DenseMetric, p: HnswParams): boolean {
  return metric === 'ip' && p.ipLayout === 'mips';
}

/** ‖v‖ in float64. */
function norm(v: Float32Array): number {
  let s = 0;
  for (let d = 0; d < v.length; d++) s += v[d] * v[d];
  return Math.sqrt(s);
}

/**
 * The stored vectors without their lifting coordinate, checking that each lifted vector is one the index
 * could have written: lifting coordinate ≥ 0 and norm at most Φ.
 */
function unlift(lifted: Float32Array, dim: number, phi: number): Float32Array {
  const count = lifted.length / (dim + 1);
  const out = new Float32Array(count * dim);
  // Φ is the square root of the largest such sum (or more); squaring it back may round down by an ulp.
  const limit = phi * phi * (1 + 1e-6);
  for (let i = 0, at = 0; i < count; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++, at++) {
      const x = lifted[at];
      out[i * dim + d] = x;
      s += x * x;
    }
    const e = lifted[at++];
    if (!(e >= 0) || s > limit) corrupt(`element ${i} is not lifted to norm ${phi}`);
  }
  return out;
}

function newGraph(dim: number, maxElements: number, p: HnswParams): NativeGraph {
  return new (nativeHnsw().Graph)(dim, maxElements, p.m, p.efConstruction, p.seed);
}

function checkPositive(field: string, v: unknown, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw new SimrecError('CONFIG_INVALID', `${field} must be an integer in [1, ${max}], got ${String(v)}`, {
      field,
    });
}

function checkParams(p: HnswParams): HnswParams {
  checkPositive('m', p.m, 2048);
  if (p.m < 2) throw new SimrecError('CONFIG_INVALID', `m must be at least 2, got ${p.m}`, { field: 'm' });
  checkPositive('efConstruction', p.efConstruction, 1 << 20);
  checkPositive('ef', p.ef, MAX_EF);
  if (typeof p.seed !== 'number' || !Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff)
    throw new SimrecError('CONFIG_INVALID', `seed must be an integer in [0, 2^32), got ${String(p.seed)}`, {
      field: 'seed',
    });
  if (typeof p.exactAllowMax !== 'number' || !Number.isInteger(p.exactAllowMax) || p.exactAllowMax < 0)
    throw new SimrecError('CONFIG_INVALID', `exactAllowMax must be a non-negative integer`, {
      field: 'exactAllowMax',
    });
  if (p.ipLayout !== 'mips' && p.ipLayout !== 'raw')
    throw new SimrecError(
      'CONFIG_INVALID',
      `ipLayout must be 'mips' or 'raw', got ${JSON.stringify(p.ipLayout)}`,
      { field: 'ipLayout' },
    );
  return {
    m: p.m,
    efConstruction: p.efConstruction,
    ef: p.ef,
    seed: p.seed,
    exactAllowMax: p.exactAllowMax,
    ipLayout: p.ipLayout,
  };
}
