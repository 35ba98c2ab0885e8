/**
 * The MF / dense ANN part of a served artifact version (DESIGN §5–6, §10): the folded user and item vectors of
 * the hybrid MF model, its inner-product item index (user → item) and its cosine item index (item → item), and
 * the model itself for folding in users it has never seen.
 *
 * What is read when: the folded vectors at load (they view the version's memory map, like every array a
 * ServingModel hands out); each index on the first request that needs it, once per version (LazyDenseIndex
 * shares a load in progress); the MF model on the first fold-in. All of it belongs to the ServingModel of the
 * version and is dropped with it when LiveModel retires the version; the loaded indexes and model own their
 * memory (they do not view the map), so nothing outlives the version's lease.
 *
 * Item → item uses cosine over the embedding part p_i (no biases), not the inner product the user index
 * answers: on the movies preset (scale 0.3, 32 components, 8 epochs; every third item with ≥ 3 engagements as
 * the query), the top 10 by cosine lie in the query's planted taste cluster 99.0% of the time, with a mean
 * popularity of 85 engagements (catalogue mean 72); by p_i·p_j 92.2% and 189; by the user-style score
 * p_i·p_j + b_j 92.2% and 209. An inner product rewards long vectors, which belong to popular items; the
 * cosine asks only for the same direction of taste.
 */
import type { DenseFilter } from '../ann/dense/dense-index.ts';
import { type LazyDenseIndex, lazyDenseIndex } from '../ann/dense/persist.ts';
import { ExactScan } from '../ann/exact.ts';
import { ANN_LIMITS, clampCosine } from '../ann/simclusters.ts';
import { readEngagedItems } from '../artifacts/inputs.ts';
import { KEYS } from '../artifacts/keys.ts';
import { readMfModel, readMfVectors } from '../artifacts/mf.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import { HybridMF } from '../mf/model.ts';
import type { DenseMatrix, VersionReader } from '../store/store.ts';

export type DenseMode = 'ann' | 'exact';

/** Caps of what a dense request may ask for. */
export const DENSE_LIMITS = {
  /** Results returned (as the SimClusters route). */
  limit: ANN_LIMITS.limit,
  /** HNSW search list size. */
  ef: 4096,
  /** Items of a fold-in history. */
  foldInItems: 10_000,
  /** Length of a raw query vector. */
  vector: 65_536,
} as const;

export const DENSE_DEFAULTS = { limit: 50, mode: 'ann' as DenseMode };

/** SGD passes of a fold-in (HybridMF.foldInUser's default, measured there). */
export const FOLD_IN_STEPS = 10;

/**
 * A dense candidate source:
 * - `{userId}`: the user's folded MF vector; their engaged items are excluded. A user unknown to the model
 *   needs `items` (the ids they engaged with), which are folded in; with a known user, `items` are only
 *   excluded as well.
 * - `{items}`: an anonymous user folded in from these item ids (unknown ids are skipped); they are excluded.
 * - `{itemId}`: cosine neighbours of the item's embedding part; the item itself is excluded.
 * - `{vector}`: a user-side folded vector (embedding, user bias, 1: the index dimension), inner product.
 */
export type DenseSource =
  | { userId: string; items?: readonly string[] }
  | { items: readonly string[] }
  | { itemId: string }
  | { vector: ArrayLike<number> };

export interface DenseParams {
  limit: number;
  mode: DenseMode;
  /** HNSW search list size (raised to limit by hnswlib); reported only when a graph was searched. */
  ef?: number;
}

/** Filters by external item id; unknown ids are ignored. */
export interface DenseFilters {
  exclude?: readonly string[];
  allow?: readonly string[];
}

export interface DenseStats {
  /** What answered: an HNSW graph, a stored exact index, or a scan of the stored vectors (mode exact). */
  index: 'hnsw' | 'exact' | 'scan';
  /** Items the index or scan holds. */
  indexSize: number;
  /** Items given a score: scans only (an HNSW walk does not report it). */
  itemsScored?: number;
  /** Fold-in sources: history items known to the model, and unknown ids skipped. */
  foldInItems?: number;
  foldInSkipped?: number;
}

export interface DenseResult {
  /** Dense item indices, best first. */
  items: Int32Array;
  scores: Float32Array;
  params: DenseParams;
  /** 'mf:user', 'mf:fold-in', 'mf:item' or 'raw'. */
  sourceEmbedding: string;
  /** Items excluded: the source item, the user's engaged or folded-in items, the known ids of exclude. */
  excluded: number;
  /** Known ids of the allow list, null without one. */
  allowed: number | null;
  stats: DenseStats;
}

interface Query {
  vector: Float32Array;
  /** Cosine over the embedding part (item → item), else inner product over the folded vectors. */
  cosine: boolean;
  exclude: Int32Array;
  kind: string;
  stats: Partial<DenseStats>;
}

export class DenseModel {
  private readonly n: number;
  /** Width of a folded vector: components + 2. */
  readonly dim: number;
  // The exact scan over the item vectors and its output buffers, allocated on the first scan and reused: a
  // scan runs synchronously, so requests never share them concurrently.
  private exactScan: ExactScan | null = null;
  private outIds = new Int32Array(0);
  private outScores = new Float32Array(0);
  private model: Promise<HybridMF> | undefined;

  private constructor(
    private readonly reader: VersionReader,
    private readonly users: IdMap,
    private readonly items: IdMap,
    private readonly itemVectors: DenseMatrix,
    private readonly userVectors: DenseMatrix | null,
    private readonly userIndex: LazyDenseIndex | null,
    private readonly similarIndex: LazyDenseIndex | null,
  ) {
    this.n = itemVectors.rows;
    this.dim = itemVectors.dim;
  }

  /**
   * The MF part of a version: its folded vectors now, indexes and model on first use. Id maps already loaded
   * by the caller are reused.
   * @throws SimrecError ARTIFACT_MISSING without mf/items, ARTIFACT_CORRUPT when shapes disagree
   */
  static async load(reader: VersionReader, maps: { users?: IdMap; items?: IdMap } = {}): Promise<DenseModel> {
    const { users, items, itemVectors, userVectors } = await readMfVectors(reader, maps);
    return new DenseModel(
      reader,
      users,
      items,
      itemVectors,
      userVectors,
      reader.has(KEYS.mfItemIndex) ? lazyDenseIndex(reader, KEYS.mfItemIndex) : null,
      reader.has(KEYS.mfItemSimilarIndex) ? lazyDenseIndex(reader, KEYS.mfItemSimilarIndex) : null,
    );
  }

  get version(): string {
    return this.reader.id;
  }

  /** Loads the user-query HNSW index now (it is read on first use otherwise: a first request pays for it). */
  async warm(): Promise<void> {
    await this.userIndex?.get();
  }

  /** Items with a vector. */
  get size(): number {
    return this.n;
  }

  /** Whether the user index has been read (it is read on the first ANN request that needs it). */
  get indexLoaded(): boolean {
    return this.userIndex?.loaded ?? false;
  }

  /**
   * Dense candidates for a source (see {@link DenseSource}). Errors name the request field at fault
   * (`source.userId`, `source.vector`, `params.ef`, ...).
   * @throws NOT_FOUND for an unknown user without items, an unknown item, or items none of which is known;
   *   CONFIG_INVALID for a malformed source or parameter; ARTIFACT_MISSING when a fold-in needs the MF model
   *   and the version has none
   */
  async candidates(
    source: DenseSource,
    params: Partial<DenseParams> = {},
    filters: DenseFilters = {},
  ): Promise<DenseResult> {
    const limit = params.limit ?? DENSE_DEFAULTS.limit;
    const mode = params.mode ?? DENSE_DEFAULTS.mode;
    checkInt(limit, 'params.limit', 1, DENSE_LIMITS.limit);
    if (params.ef !== undefined) checkInt(params.ef, 'params.ef', 1, DENSE_LIMITS.ef);
    if (mode !== 'ann' && mode !== 'exact')
      throw new SimrecError('CONFIG_INVALID', `mode must be 'ann' or 'exact', got '${mode}'`, {
        field: 'params.mode',
      });
    const query = await this.resolve(source);
    const deny = this.indices(filters.exclude, query.exclude);
    const allow = filters.allow ? this.indices(filters.allow, null) : undefined;
    const out: DenseResult = {
      items: new Int32Array(0),
      scores: new Float32Array(0),
      params: { limit, mode },
      sourceEmbedding: query.kind,
      excluded: deny.length,
      allowed: allow ? allow.length : null,
      stats: { index: 'scan', indexSize: this.n, ...query.stats },
    };
    const lazy = query.cosine ? this.similarIndex : this.userIndex;
    if (mode === 'exact' || !lazy) {
      // The baseline, and the answer of a version stored without an index: every item scored.
      const { n, scored } = this.scan(query, limit, deny, allow);
      out.items = this.outIds.subarray(0, n).slice();
      out.scores = this.outScores.subarray(0, n).slice();
      if (query.cosine) clampCosines(out.scores);
      out.stats.itemsScored = scored;
      return out;
    }
    const index = await lazy.get();
    const want = query.cosine ? this.dim - 2 : this.dim;
    if (index.dim !== want || (index.metric === 'cosine') !== query.cosine)
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `version ${this.version}: ${query.cosine ? KEYS.mfItemSimilarIndex : KEYS.mfItemIndex} is a ${index.metric} index of dimension ${index.dim}, expected ${query.cosine ? 'cosine' : 'ip'} ${want}`,
      );
    const filter: DenseFilter = allow ? { deny, allow } : { deny };
    const r = index.search(query.vector, limit, { ef: params.ef, filter });
    out.items = r.ids;
    out.scores = query.cosine ? clampCosines(r.scores) : r.scores;
    out.stats.index = index.kind;
    out.stats.indexSize = index.size;
    if (index.ef !== undefined) out.params.ef = params.ef ?? index.ef;
    return out;
  }

  /**
   * The query vector of a user-side source (folded user vector, a fold-in, or a raw vector) and whether it is
   * scored by inner product: what the ranker's MF-score feature dots with {@link itemDot}. Errors as candidates.
   */
  async queryVector(source: DenseSource): Promise<{ vector: Float32Array; cosine: boolean; kind: string }> {
    const q = await this.resolve(source);
    return { vector: q.vector, cosine: q.cosine, kind: q.kind };
  }

  /**
   * q · item i's folded vector (p_i, 1, b_i); NaN for an item the MF model does not hold. Read in place: the
   * ranker's features call it once per candidate, where a view per call would allocate per candidate.
   */
  itemDot(i: number, q: Float32Array): number {
    if (!(i >= 0 && i < this.n)) return Number.NaN;
    const data = this.itemVectors.data;
    const dim = this.dim;
    const at = i * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += q[d] * data[at + d];
    return dot;
  }

  private async resolve(source: DenseSource): Promise<Query> {
    const s = source as Partial<{
      userId: string;
      items: readonly string[];
      itemId: string;
      vector: unknown;
    }>;
    const has = (k: string) => (s as Record<string, unknown>)[k] !== undefined;
    const keys = ['userId', 'items', 'itemId', 'vector'].filter(has);
    const valid = keys.length === 1 || (keys.length === 2 && s.userId !== undefined && s.items !== undefined);
    if (!valid)
      throw new SimrecError(
        'CONFIG_INVALID',
        'source must be one of {userId}, {userId, items}, {items}, {itemId}, {vector}',
        { field: 'source' },
      );
    if (s.itemId !== undefined) {
      const i = this.items.get(s.itemId);
      if (i < 0) throw new SimrecError('NOT_FOUND', `unknown item '${s.itemId}'`, { field: 'source.itemId' });
      const D = this.dim;
      return {
        vector: this.itemVectors.data.subarray(i * D, i * D + D - 2),
        cosine: true,
        exclude: Int32Array.of(i),
        kind: 'mf:item',
        stats: {},
      };
    }
    if (s.vector !== undefined) return { ...this.rawVector(s.vector as ArrayLike<number>), stats: {} };
    const given = s.items ?? [];
    const u = s.userId === undefined ? -1 : this.users.get(s.userId);
    if (u >= 0 && this.userVectors) {
      const D = this.dim;
      const engaged = await this.engaged(u);
      const extra = this.indices(given, null);
      const exclude = new Int32Array(engaged.length + extra.length);
      exclude.set(engaged);
      exclude.set(extra, engaged.length);
      return {
        vector: this.userVectors.data.subarray(u * D, (u + 1) * D),
        cosine: false,
        exclude,
        kind: 'mf:user',
        stats: {},
      };
    }
    if (u >= 0 && s.items === undefined)
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${this.version} has no ${KEYS.mfUsers}: its users have no MF vectors`,
        { field: KEYS.mfUsers },
      );
    if (s.items === undefined)
      throw new SimrecError(
        'NOT_FOUND',
        `unknown user '${s.userId}': give the items they engaged with (source.items) to fold them in`,
        { field: 'source.userId' },
      );
    return this.foldIn(given);
  }

  /** A new user's vector from the items they engaged with (see {@link HybridMF.foldInUser}). */
  private async foldIn(ids: readonly string[]): Promise<Query> {
    if (ids.length > DENSE_LIMITS.foldInItems)
      throw new SimrecError(
        'CONFIG_INVALID',
        `source.items holds ${ids.length} ids, at most ${DENSE_LIMITS.foldInItems}`,
        { field: 'source.items' },
      );
    // A repeated id is one engagement, not several: counted once it cannot outweigh the rest of the history.
    const known = distinct(this.indices(ids, null));
    if (known.length === 0)
      throw new SimrecError(
        'NOT_FOUND',
        `none of the ${ids.length} ids in source.items is an item of this version`,
        { field: 'source.items' },
      );
    const model = await this.foldInModel();
    // foldInUser works in the model's one fold-in row; it runs synchronously from here to its return, so two
    // requests of this process never interleave inside it (fold-in.ts).
    const vector = model.foldInUser(known, undefined, FOLD_IN_STEPS);
    return {
      vector,
      cosine: false,
      exclude: known,
      kind: 'mf:fold-in',
      stats: { foldInItems: known.length, foldInSkipped: unknownIds(ids, this.items) },
    };
  }

  /** The MF model, read on the first fold-in; a failed read is not cached. */
  private foldInModel(): Promise<HybridMF> {
    if (this.model) return this.model;
    const pending = (async () => {
      const bufs = await readMfModel(this.reader);
      if (!bufs)
        throw new SimrecError(
          'ARTIFACT_MISSING',
          `version ${this.version} has no MF model (${KEYS.mfModelPrefix}*): a user it does not know cannot be folded in`,
        );
      // Fold-in reads only item parameters: the known users' rows (with their optimiser state, the bulk of
      // the model for a large user base) are not loaded; the users have their folded vectors in mf/users.
      const model = HybridMF.fromBuffers(bufs, { userRows: false });
      if (model.nItems !== this.n || model.components + 2 !== this.dim)
        throw new SimrecError(
          'ARTIFACT_CORRUPT',
          `version ${this.version}: the MF model has ${model.nItems} items × ${model.components} components, ${KEYS.mfItems} is ${this.n} × ${this.dim}`,
        );
      return model;
    })();
    this.model = pending;
    pending.catch(() => {
      if (this.model === pending) this.model = undefined;
    });
    return pending;
  }

  /** A caller's query vector: the index dimension, finite float32 values. */
  private rawVector(v: ArrayLike<number>): Omit<Query, 'stats'> {
    if (v.length !== this.dim)
      throw new SimrecError(
        'CONFIG_INVALID',
        `source.vector has ${v.length} values; this version's MF vectors have ${this.dim} (${this.dim - 2} components, user bias, 1)`,
        { field: 'source.vector' },
      );
    const vector = new Float32Array(this.dim);
    for (let j = 0; j < this.dim; j++) {
      const x = Math.fround(v[j]);
      if (!Number.isFinite(x))
        throw new SimrecError('CONFIG_INVALID', `source.vector[${j}] = ${v[j]} is not a finite float32`, {
          field: `source.vector.${j}`,
        });
      vector[j] = x;
    }
    return { vector, cosine: false, exclude: new Int32Array(0), kind: 'raw' };
  }

  private async engaged(u: number): Promise<Int32Array> {
    return readEngagedItems(this.reader, u);
  }

  /** Known item indices of ids, plus `extra`; unknown ids are skipped. */
  private indices(ids: readonly string[] | undefined, extra: Int32Array | null): Int32Array {
    const n = (ids?.length ?? 0) + (extra?.length ?? 0);
    const out = new Int32Array(n);
    let w = 0;
    if (extra) {
      out.set(extra);
      w = extra.length;
    }
    if (ids)
      for (const id of ids) {
        const i = this.items.get(id);
        if (i >= 0) out[w++] = i;
      }
    return w === n ? out : out.slice(0, w);
  }

  /**
   * Exact top-k over the stored vectors (ann/exact.ts's scan): inner product over the folded vectors, or
   * cosine over the embedding parts (the first dim − 2 values of each row). Writes outIds/outScores; returns
   * the count and the items scored.
   */
  private scan(
    query: Query,
    k: number,
    deny: Int32Array,
    allow: Int32Array | undefined,
  ): { n: number; scored: number } {
    this.exactScan ??= new ExactScan(this.itemVectors.data, this.n, this.dim);
    const cap = Math.min(k, this.n);
    if (this.outIds.length < cap) {
      this.outIds = new Int32Array(cap);
      this.outScores = new Float32Array(cap);
    }
    const width = query.cosine ? this.dim - 2 : this.dim;
    const n = this.exactScan.searchInto(
      query.vector,
      width,
      query.cosine ? 'cosine' : 'ip',
      k,
      this.outIds,
      this.outScores,
      allow ? { deny, allow } : { deny },
    );
    return { n, scored: this.exactScan.scored };
  }
}

/** Item order is kept; later repeats are dropped. */
function distinct(items: Int32Array): Int32Array {
  const seen = new Set<number>();
  const out = new Int32Array(items.length);
  let n = 0;
  for (const i of items) {
    if (seen.has(i)) continue;
    seen.add(i);
    out[n++] = i;
  }
  return n === items.length ? items : out.slice(0, n);
}

/** Ids of a fold-in history that are no item of the version (each occurrence counts). */
function unknownIds(ids: readonly string[], items: IdMap): number {
  let n = 0;
  for (const id of ids) if (items.get(id) < 0) n++;
  return n;
}

/** Cosines clamped into [−1, 1] in place (rounding can leave 1.0000001; see clampCosine). */
function clampCosines(scores: Float32Array): Float32Array {
  for (let j = 0; j < scores.length; j++) scores[j] = clampCosine(scores[j]);
  return scores;
}

function checkInt(v: number, field: string, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new SimrecError('CONFIG_INVALID', `${field} must be an integer in [${lo}, ${hi}], got ${v}`, {
      field,
    });
}
