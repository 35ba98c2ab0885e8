/**
 * SimClusters ANN (DESIGN §4): candidate retrieval by approximate cosine between a source embedding and item
 * embeddings, reading only the top-M items of the source's top-N clusters, then an exact cosine over the
 * top-X approximate candidates. All per-query state lives in buffers sized once per index and reused, so a
 * query allocates only its result arrays.
 */
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { medianPositive } from '../core/median.ts';
import { selectTop, TopK } from '../core/topk.ts';
import type { ClusterTopList } from '../simclusters/cluster-index.ts';

/**
 * Approximate scores (DESIGN §4 step 3) over the N scanned clusters: `dot`; `cosine` = dot/‖SV‖/√n2 (partial
 * norm of the candidate); `logCosine`; `candidateNormalized` = dot/√n2; and `itemNormCosine` = dot/‖SV‖/‖W_i‖
 * with the item's full norm, which the index keeps in memory (one float per item, no embedding fetch). The
 * last is a lower bound of the exact cosine, tight when the item lives in the scanned clusters, whereas the
 * partial norm overrates items whose mass lies elsewhere. Measured on the social preset (N 50, M 400, X 200):
 * recall@50 against exact 0.88 with `cosine`, 0.92 with `itemNormCosine`, hence the default.
 */
export type Scoring = 'dot' | 'cosine' | 'logCosine' | 'candidateNormalized' | 'itemNormCosine';

export interface AnnParams {
  /** N: clusters of the source to scan. */
  topClusters: number;
  /** M: items read from each cluster's top list. */
  itemsPerCluster: number;
  /** X: candidates kept by approximate score for the exact step. */
  approxTop: number;
  /** Y: results returned. */
  limit: number;
  /** Z: minimum final score. */
  minScore: number;
  scoring: Scoring;
  rerank: 'exact' | 'none';
  /**
   * Shrinks the cosine of items with little evidence: the item's norm in the denominator becomes ‖W_i‖ + λ with
   * λ = shrinkage × the median item norm of the index, so score = u·W_i / (‖u‖·(‖W_i‖ + λ)) = cosine ×
   * ‖W_i‖/(‖W_i‖ + λ). ‖W_i‖ grows with the item's (decayed) engagement mass, so an item seen by one user no
   * longer scores like a copy of that user's vector, and items whose embedding points the same way (one-hot in
   * one cluster, common on real data) are ordered by their evidence instead of tying. It is the shrinkage of
   * neighbourhood similarities by support (Koren, KDD 2008), with the mass in place of the co-rating count.
   * 0 gives the plain cosine. Applies to the exact step, exact mode and the 'itemNormCosine' approximation.
   */
  shrinkage: number;
  /** 'exact' answers by exhaustive exact cosine over all items: the evaluation baseline. */
  mode: 'approx' | 'exact';
}

export const DEFAULT_ANN_PARAMS: Readonly<AnnParams> = {
  topClusters: 50,
  itemsPerCluster: 400,
  approxTop: 200,
  limit: 50,
  minScore: 0,
  scoring: 'itemNormCosine',
  rerank: 'exact',
  shrinkage: 0,
  mode: 'approx',
};

/** Per-query filters. Item ids are dense item indices. */
export interface AnnFilters {
  /** Items never returned (the source item, items the user engaged with, a caller's deny list). */
  exclude?: ArrayLike<number>;
  /** When given, only these items may be returned. */
  allow?: ArrayLike<number>;
  /** Age window against `now` (Unix seconds), using the index's item creation times. */
  minAgeHours?: number;
  maxAgeHours?: number;
  now?: number;
}

export interface AnnStats {
  clustersScanned: number;
  candidatesScored: number;
  embeddingsFetched: number;
  /** embeddingsFetched / (M·N): the I/O saving the original design optimised (≈1%). */
  fetchedRatio: number;
}

export interface AnnResult {
  items: Int32Array;
  scores: Float32Array;
  /** The approximate score each result had before the exact step (equal to score when rerank = 'none'). */
  approxScores: Float32Array;
  stats: AnnStats;
}

/** A source embedding: sorted cluster ids and their values. */
export interface SourceVector {
  ids: Int32Array;
  values: Float32Array;
}

/**
 * What a live overlay (query/live) shows the ANN on top of the version's index: rows that supersede the
 * version's for touched items, new items beyond the version's count, deleted items, and per-cluster lists of its
 * own rows. Arrays are read, never kept across queries (the overlay grows them). Item ids are one space: the
 * version's items 0..n−1, then the overlay's new ones.
 */
export interface AnnOverlayView {
  /** Items in the id space (version + new). */
  readonly itemCount: number;
  /**
   * Whether the overlay holds anything the index reads: item rows, new items, hidden version items. While it
   * does not, a query reads the version alone, at the version's speed.
   */
  readonly indexTouched: boolean;
  /** Per item (at least itemCount long): the L2 norm of the row the exact step uses, 0 for none or deleted. */
  readonly itemNorms: Float32Array;
  /** Per item creation time (NaN unknown), at least itemCount long; null when no item has one. */
  readonly itemCreatedTs: Float64Array | null;
  /**
   * A journal of version items whose "version entries hidden" state changed (superseded by an overlay row,
   * deleted, undeleted): entries [0, hiddenChanges). The ANN replays the part it has not seen.
   */
  readonly hiddenChanges: number;
  hiddenChangeAt(j: number): number;
  /** True when the version's row and index entries of a version item must not be used. */
  versionHidden(item: number): boolean;
  /** Deleted: never returned. */
  isDeleted(item: number): boolean;
  /** The overlay's row of an item: its slot, or −1 when the item has no overlay row. */
  rowSlot(item: number): number;
  /** A slot's row is rowIds/rowValues[rowStart .. rowStart + rowLength): clusters ascending, values. */
  rowStart(slot: number): number;
  rowLength(slot: number): number;
  readonly rowIds: Int32Array;
  readonly rowValues: Float32Array;
  /** Cluster c's overlay items, best first (the order of the version's index); the first clusterLength(c) valid. */
  clusterLength(c: number): number;
  clusterIds(c: number): Int32Array;
  clusterScores(c: number): Float32Array;
}

/** The epoch counter's wrap point: every stamp is cleared when it is reached. */
const EPOCH_LIMIT = 0xfffffffe;

export interface SimClustersIndex {
  /** Item embeddings: items × clusters, rows sorted by cluster id. */
  itemEmbeddings: CsrMatrix;
  /** Cluster → top items, best first (the §3.5 index). */
  clusterItems: ClusterTopList;
  /** Unix seconds per item, NaN when unknown (age filters skip unknown ages only when a bound is set). */
  itemCreatedTs?: Float64Array;
  /** The `shrinkage` queries run with unless they give one: the version's own (stored by the build); 0 absent. */
  defaultShrinkage?: number;
}

export class SimClustersAnn {
  /** Version items (the overlay's new items come after them). */
  private readonly nItems: number;
  private readonly nClusters: number;
  private readonly itemNorms: Float32Array;
  /** Capacity of the per-query buffers (grows with an overlay's items). */
  private capacity: number;
  /** Overlay journal entries already applied to `hiddenBits`. */
  private hiddenSynced = 0;
  /** Median ‖W_i‖ over items with an embedding: the unit of `shrinkage`. */
  readonly medianItemNorm: number;
  // Reused per-query state.
  /**
   * Per item, the approximate dot accumulated over the scanned clusters, and the squared norm beside it for
   * the scorings that read one (`n2Acc`, untouched otherwise). The default scoring reads the item's full norm,
   * so its scan writes one float per entry: the array it hits at random is half the size of a dot and norm
   * pair, and stays in cache on more entries.
   */
  private dotAcc: Float32Array;
  private n2Acc: Float32Array;
  /** Items the current scan has touched, one bit each (a zero dot does not say "untouched"). */
  private seenBits: Uint8Array;
  private touched: Int32Array;
  /** Approximate score of each fetched candidate, by item; only the current query's entries are read. */
  private approxOf: Float32Array;
  /** Approximate scores of the touched list, position by position. */
  private approxBuf: Float64Array;
  /**
   * Version items the index scan skips, one bit each: those an overlay superseded or deleted (`hiddenBits`,
   * permanent) and, during a query, the query's excluded ones. A bit per item keeps the whole set in a few
   * kilobytes, so the test per index entry stays in cache where a word per item (120,000 items: 480 KB) missed
   * it on most entries once the request's other work had run.
   */
  private readonly skipBits: Uint8Array;
  private readonly hiddenBits: Uint8Array;
  /** Excluded items (every one, hidden or not): what the overlay scan and the general filter check. */
  private exStamp: Uint32Array;
  private allowStamp: Uint32Array;
  private epoch = 0;
  private readonly dense: Float32Array;
  private readonly heaps = new Map<number, TopK>();
  private readonly top = { ids: new Int32Array(0), scores: new Float32Array(0), count: 0 };

  /** DEFAULT_ANN_PARAMS with this version's shrinkage. */
  private readonly defaults: Readonly<AnnParams>;

  constructor(
    private readonly index: SimClustersIndex,
    /** A live overlay read with the version (query/live); null: the version alone. */
    private readonly overlay: AnnOverlayView | null = null,
  ) {
    this.defaults = { ...DEFAULT_ANN_PARAMS, shrinkage: index.defaultShrinkage ?? 0 };
    const { itemEmbeddings, clusterItems } = index;
    this.nItems = itemEmbeddings.nRows;
    this.nClusters = Math.max(itemEmbeddings.nCols, clusterItems.nClusters);
    this.itemNorms = new Float32Array(this.nItems);
    const vals = itemEmbeddings.values;
    for (let i = 0; i < this.nItems; i++) {
      let s = 0;
      for (let k = itemEmbeddings.indptr[i]; k < itemEmbeddings.indptr[i + 1]; k++) {
        const v = vals ? vals[k] : 1;
        s += v * v;
      }
      this.itemNorms[i] = Math.sqrt(s);
    }
    this.medianItemNorm = medianPositive(this.itemNorms);
    this.capacity = this.nItems;
    this.dotAcc = new Float32Array(this.nItems);
    this.n2Acc = new Float32Array(this.nItems);
    this.seenBits = new Uint8Array((this.nItems + 7) >> 3);
    this.touched = new Int32Array(this.nItems);
    this.approxOf = new Float32Array(this.nItems);
    this.approxBuf = new Float64Array(this.nItems);
    this.skipBits = new Uint8Array((this.nItems + 7) >> 3);
    this.hiddenBits = new Uint8Array((this.nItems + 7) >> 3);
    this.exStamp = new Uint32Array(this.nItems);
    this.allowStamp = new Uint32Array(this.nItems);
    this.dense = new Float32Array(this.nClusters);
  }

  /** Items in the id space: the version's, plus an overlay's new ones. */
  get itemCount(): number {
    return this.overlay ? this.overlay.itemCount : this.nItems;
  }

  /** Full L2 norm of an item's embedding (the overlay's row when it holds one). */
  itemNorm(item: number): number {
    return this.overlay ? this.overlay.itemNorms[item] : this.itemNorms[item];
  }

  /** Grows the per-query buffers to the overlay's item count and replays its hidden-items journal. */
  private syncOverlay(ov: AnnOverlayView): void {
    const n = ov.itemCount;
    if (n > this.capacity) {
      const cap = Math.max(n, Math.ceil(this.capacity * 1.5) + 16);
      const grow = <T extends Float32Array | Float64Array | Int32Array | Uint32Array>(
        a: T,
        len: number,
      ): T => {
        const b = new (a.constructor as new (n: number) => T)(len);
        b.set(a);
        return b;
      };
      this.dotAcc = grow(this.dotAcc, cap);
      this.n2Acc = grow(this.n2Acc, cap);
      const seen = new Uint8Array((cap + 7) >> 3);
      seen.set(this.seenBits);
      this.seenBits = seen;
      this.touched = grow(this.touched, cap);
      this.approxOf = grow(this.approxOf, cap);
      this.approxBuf = grow(this.approxBuf, cap);
      this.exStamp = grow(this.exStamp, cap);
      this.allowStamp = grow(this.allowStamp, cap);
      this.capacity = cap;
    }
    const end = ov.hiddenChanges;
    for (let j = this.hiddenSynced; j < end; j++) {
      const item = ov.hiddenChangeAt(j);
      if (item >= this.nItems) continue;
      const bit = 1 << (item & 7);
      if (ov.versionHidden(item)) {
        this.hiddenBits[item >> 3] |= bit;
        this.skipBits[item >> 3] |= bit;
      } else {
        this.hiddenBits[item >> 3] &= ~bit;
        this.skipBits[item >> 3] &= ~bit;
      }
    }
    this.hiddenSynced = end;
  }

  /** The parameters a query with `params` runs with: the defaults, this version's shrinkage, then `params`. */
  effectiveParams(params: Partial<AnnParams> = {}): AnnParams {
    return effectiveAnnParams(params, this.defaults);
  }

  query(source: SourceVector, params: Partial<AnnParams> = {}, filters: AnnFilters = {}): AnnResult {
    return this.run(source, this.effectiveParams(params), filters);
  }

  /** {@link query} with parameters already resolved by {@link effectiveParams}. */
  run(source: SourceVector, p: Readonly<AnnParams>, filters: AnnFilters = {}): AnnResult {
    if (this.overlay) this.syncOverlay(this.overlay);
    const excludedEpoch = this.prepareFilters(filters);
    try {
      return p.mode === 'exact'
        ? this.exactQuery(source, p, excludedEpoch)
        : this.approxQuery(source, p, excludedEpoch);
    } finally {
      this.unmarkExcluded(filters.exclude);
    }
  }

  /** Back to the permanent skips: a query's excluded items are skipped by that query only. */
  private unmarkExcluded(exclude: ArrayLike<number> | undefined): void {
    if (!exclude) return;
    const skip = this.skipBits;
    const hidden = this.hiddenBits;
    for (let j = 0; j < exclude.length; j++) {
      const item = exclude[j];
      if (item >= 0 && item < this.nItems) skip[item >> 3] = hidden[item >> 3];
    }
  }

  private approxQuery(source: SourceVector, p: AnnParams, ep: FilterEpoch): AnnResult {
    const { clusterItems } = this.index;
    const srcNorm = norm(source.values);
    // Step 1: top-N clusters of the source by value.
    const nTop = Math.min(p.topClusters, source.ids.length);
    const clusters = this.topClusters(source, nTop);
    // Step 2–3: accumulate dot and n2 over the top-M items of each cluster.
    const dotAcc = this.dotAcc;
    const n2Acc = this.n2Acc;
    const needN2 = p.scoring !== 'itemNormCosine' && p.scoring !== 'dot';
    const seen = this.seenBits;
    const touched = this.touched;
    const skip = this.skipBits;
    // Exclusion and hidden items are a bit test inlined below; allow lists and age windows take the general check.
    const moreFilters =
      ep.useAllow || ep.minTs !== Number.NEGATIVE_INFINITY || ep.maxTs !== Number.POSITIVE_INFINITY;
    const cItems = clusterItems.ids;
    const cScores = clusterItems.scores;
    let nTouched = 0;
    let scanned = 0;
    for (let j = 0; j < clusters.count; j++) {
      const c = clusters.ids[j];
      if (c >= clusterItems.nClusters) continue;
      const sv = clusters.scores[j];
      const start = clusterItems.indptr[c];
      const end = Math.min(clusterItems.indptr[c + 1], start + p.itemsPerCluster);
      scanned++;
      for (let k = start; k < end; k++) {
        const item = cItems[k];
        if ((skip[item >> 3] & (1 << (item & 7))) !== 0 || (moreFilters && !this.eligible(item, ep)))
          continue;
        const w = cScores[k];
        const bit = 1 << (item & 7);
        if ((seen[item >> 3] & bit) === 0) {
          seen[item >> 3] |= bit;
          touched[nTouched++] = item;
        }
        dotAcc[item] += sv * w;
        if (needN2) n2Acc[item] += w * w;
      }
    }
    const ov = this.overlay?.indexTouched ? this.overlay : null;
    if (ov) {
      // The overlay's own lists: its rows of touched and new items (the version's entries of the same items were
      // skipped above), read to the same depth M. The loop repeats the version's on purpose: one method serving
      // both, with the skip test chosen per entry, measured slower on summed item → item queries (BENCHMARKS.md).
      const exStamp = this.exStamp;
      for (let j = 0; j < clusters.count; j++) {
        const c = clusters.ids[j];
        const len = Math.min(ov.clusterLength(c), p.itemsPerCluster);
        if (len === 0) continue;
        const sv = clusters.scores[j];
        const ids = ov.clusterIds(c);
        const scores = ov.clusterScores(c);
        for (let k = 0; k < len; k++) {
          const item = ids[k];
          if (exStamp[item] === ep.epoch || (moreFilters && !this.eligible(item, ep))) continue;
          const w = scores[k];
          const bit = 1 << (item & 7);
          if ((seen[item >> 3] & bit) === 0) {
            seen[item >> 3] |= bit;
            touched[nTouched++] = item;
          }
          dotAcc[item] += sv * w;
          if (needN2) n2Acc[item] += w * w;
        }
      }
    }
    const itemNorms = ov ? ov.itemNorms : this.itemNorms;
    // Step 4: top-X by the approximate score, selected in place over the touched list (quickselect; the
    // exact step ranks the selection anew, so it needs no order).
    const x = p.rerank === 'exact' ? p.approxTop : Math.min(p.approxTop, p.limit);
    const lambda = p.shrinkage * this.medianItemNorm;
    const approx = this.approxBuf;
    // The touched list is compacted as it is scored: a NaN score (never expected) has no place in the order.
    let nScored = 0;
    for (let t = 0; t < nTouched; t++) {
      const item = touched[t];
      const s = approxScore(
        p.scoring,
        dotAcc[item],
        needN2 ? n2Acc[item] : 0,
        srcNorm,
        itemNorms[item],
        lambda,
      );
      dotAcc[item] = 0;
      if (needN2) n2Acc[item] = 0;
      // The scan is over: clearing the whole byte loses nothing still needed.
      seen[item >> 3] = 0;
      if (Number.isNaN(s)) continue;
      touched[nScored] = item;
      approx[nScored++] = s;
    }
    const nApprox = selectTop(touched, approx, nScored, x);
    const stats: AnnStats = {
      clustersScanned: scanned,
      candidatesScored: nTouched,
      embeddingsFetched: 0,
      fetchedRatio: 0,
    };
    const denom = p.itemsPerCluster * p.topClusters;
    if (p.rerank === 'none') {
      const sorted = this.heap(Math.max(1, x));
      for (let j = 0; j < nApprox; j++) if (approx[j] >= p.minScore) sorted.push(touched[j], approx[j]);
      const items = new Int32Array(sorted.size);
      const scores = new Float32Array(sorted.size);
      sorted.drainSorted(items, scores);
      return { items, scores, approxScores: scores.slice(), stats };
    }
    // Step 5: exact cosine over the X fetched embeddings.
    const approxOf = this.approxOf;
    this.scatter(source);
    const final = this.heap(Math.max(1, p.limit));
    const nV = this.nItems;
    for (let j = 0; j < nApprox; j++) {
      const item = touched[j];
      approxOf[item] = approx[j];
      // Most candidates have no overlay row even under a stream of events: their cosine takes the version's
      // path, kept small enough for V8 to inline into this loop.
      const s =
        ov !== null && (item >= nV || ov.rowSlot(item) >= 0)
          ? this.overlayCosine(ov, item, srcNorm, lambda)
          : this.versionCosine(item, srcNorm, lambda);
      if (s >= p.minScore) final.push(item, s);
    }
    this.unscatter(source);
    stats.embeddingsFetched = nApprox;
    stats.fetchedRatio = denom > 0 ? nApprox / denom : 0;
    const items = new Int32Array(Math.min(p.limit, nApprox));
    const outScores = new Float32Array(items.length);
    const n = final.drainSorted(items, outScores);
    const approxScores = new Float32Array(n);
    for (let j = 0; j < n; j++) approxScores[j] = approxOf[items[j]];
    return { items: items.subarray(0, n), scores: outScores.subarray(0, n), approxScores, stats };
  }

  /** Exhaustive exact cosine over every item (`exactCosineTopK`): the baseline recall is measured against. */
  private exactQuery(source: SourceVector, p: AnnParams, ep: FilterEpoch): AnnResult {
    const srcNorm = norm(source.values);
    const lambda = p.shrinkage * this.medianItemNorm;
    this.scatter(source);
    const final = this.heap(Math.max(1, p.limit));
    const ov = this.overlay;
    const nAll = this.itemCount;
    for (let item = 0; item < nAll; item++) {
      if (!this.eligible(item, ep) || ov?.isDeleted(item)) continue;
      const s = this.exactCosine(item, srcNorm, lambda);
      if (s > 0 && s >= p.minScore) final.push(item, s);
    }
    this.unscatter(source);
    const items = new Int32Array(p.limit);
    const scores = new Float32Array(p.limit);
    const n = final.drainSorted(items, scores);
    return {
      items: items.slice(0, n),
      scores: scores.slice(0, n),
      approxScores: scores.slice(0, n),
      stats: {
        clustersScanned: source.ids.length,
        candidatesScored: nAll,
        embeddingsFetched: nAll,
        fetchedRatio: 1,
      },
    };
  }

  /** Exact (shrunk) cosine of an item against the scattered source: its overlay row when it has one. */
  private exactCosine(item: number, srcNorm: number, lambda: number): number {
    const ov = this.overlay;
    if (ov !== null && (item >= this.nItems || ov.rowSlot(item) >= 0))
      return this.overlayCosine(ov, item, srcNorm, lambda);
    return this.versionCosine(item, srcNorm, lambda);
  }

  /** The cosine from the overlay's row of an item (0 for an item with neither an overlay nor a version row). */
  private overlayCosine(ov: AnnOverlayView, item: number, srcNorm: number, lambda: number): number {
    const slot = ov.rowSlot(item);
    if (slot < 0) return 0;
    const ni = ov.itemNorms[item];
    if (ni === 0 || srcNorm === 0) return 0;
    const ids = ov.rowIds;
    const vals = ov.rowValues;
    const from = ov.rowStart(slot);
    const to = from + ov.rowLength(slot);
    let dot = 0;
    for (let k = from; k < to; k++) dot += this.dense[ids[k]] * vals[k];
    return clampCosine(dot / ((ni + lambda) * srcNorm));
  }

  /** The cosine from the version's row of a version item. */
  private versionCosine(item: number, srcNorm: number, lambda: number): number {
    const emb = this.index.itemEmbeddings;
    const ni = this.itemNorms[item];
    if (ni === 0 || srcNorm === 0) return 0;
    const dense = this.dense;
    const idx = emb.indices;
    const vals = emb.values;
    let dot = 0;
    for (let k = emb.indptr[item]; k < emb.indptr[item + 1]; k++) dot += dense[idx[k]] * (vals ? vals[k] : 1);
    return clampCosine(dot / ((ni + lambda) * srcNorm));
  }

  private scatter(source: SourceVector): void {
    for (let j = 0; j < source.ids.length; j++) {
      const c = source.ids[j];
      if (c < this.nClusters) this.dense[c] = source.values[j];
    }
  }

  private unscatter(source: SourceVector): void {
    for (let j = 0; j < source.ids.length; j++) {
      const c = source.ids[j];
      if (c < this.nClusters) this.dense[c] = 0;
    }
  }

  private prepareFilters(f: AnnFilters): FilterEpoch {
    this.epoch++;
    if (this.epoch === EPOCH_LIMIT) {
      this.exStamp.fill(0);
      this.allowStamp.fill(0);
      this.epoch = 1;
    }
    const e = this.epoch;
    const limit = this.itemCount;
    if (f.exclude)
      for (let j = 0; j < f.exclude.length; j++) {
        const item = f.exclude[j];
        if (!(item >= 0 && item < limit)) continue;
        this.exStamp[item] = e;
        if (item < this.nItems) this.skipBits[item >> 3] |= 1 << (item & 7);
      }
    if (f.allow) for (let j = 0; j < f.allow.length; j++) this.markIn(this.allowStamp, f.allow[j], e);
    const ts = this.overlay ? this.overlay.itemCreatedTs : this.index.itemCreatedTs;
    const now = f.now ?? Date.now() / 1000;
    return {
      epoch: e,
      useAllow: f.allow !== undefined,
      minTs: f.maxAgeHours !== undefined && ts ? now - f.maxAgeHours * 3600 : Number.NEGATIVE_INFINITY,
      maxTs: f.minAgeHours !== undefined && ts ? now - f.minAgeHours * 3600 : Number.POSITIVE_INFINITY,
    };
  }

  private markIn(arr: Uint32Array, item: number, e: number): void {
    if (item >= 0 && item < this.itemCount) arr[item] = e;
  }

  private eligible(item: number, ep: FilterEpoch): boolean {
    if (this.exStamp[item] === ep.epoch) return false;
    if (ep.useAllow && this.allowStamp[item] !== ep.epoch) return false;
    if (ep.minTs !== Number.NEGATIVE_INFINITY || ep.maxTs !== Number.POSITIVE_INFINITY) {
      const t = (this.overlay ? this.overlay.itemCreatedTs : this.index.itemCreatedTs)![item];
      if (!(t >= ep.minTs && t <= ep.maxTs)) return false;
    }
    return true;
  }

  /** Step 1: the source's top-n clusters by value (positive values only), best first. */
  private topClusters(source: SourceVector, n: number) {
    const heap = this.heap(Math.max(1, n));
    for (let j = 0; j < source.ids.length; j++)
      if (source.values[j] > 0) heap.push(source.ids[j], source.values[j]);
    const top = this.top;
    if (top.ids.length < n) {
      top.ids = new Int32Array(n);
      top.scores = new Float32Array(n);
    }
    top.count = heap.drainSorted(top.ids, top.scores);
    return top;
  }

  /** A reset heap of capacity k; heaps are cached by k and used one at a time within a query. */
  private heap(k: number): TopK {
    let h = this.heaps.get(k);
    if (!h) {
      if (this.heaps.size >= 32) this.heaps.clear();
      h = new TopK(k);
      this.heaps.set(k, h);
    }
    h.reset();
    return h;
  }
}

interface FilterEpoch {
  epoch: number;
  useAllow: boolean;
  minTs: number;
  maxTs: number;
}

function approxScore(
  scoring: Scoring,
  dot: number,
  n2: number,
  srcNorm: number,
  itemNorm: number,
  lambda: number,
): number {
  switch (scoring) {
    case 'itemNormCosine':
      return itemNorm > 0 && srcNorm > 0 ? clampCosine(dot / (srcNorm * (itemNorm + lambda))) : 0;
    case 'dot':
      return dot;
    case 'cosine':
      return n2 > 0 && srcNorm > 0 ? clampCosine(dot / (srcNorm * Math.sqrt(n2))) : 0;
    case 'logCosine': {
      const a = Math.log1p(srcNorm * srcNorm);
      const b = Math.log1p(n2);
      return a > 0 && b > 0 ? dot / (a * b) : 0;
    }
    case 'candidateNormalized':
      return n2 > 0 ? dot / Math.sqrt(n2) : 0;
  }
}

/**
 * A cosine computed in float32/float64 mixes can land a rounding step outside [−1, 1] (1.0000001 for an item
 * scored against its own embedding); a score that claims more than identity would mislead a caller thresholding
 * on it.
 */
export function clampCosine(c: number): number {
  return Math.min(1, Math.max(-1, c));
}

function norm(v: Float32Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return Math.sqrt(s);
}

export const ANN_LIMITS = {
  topClusters: 1000,
  itemsPerCluster: 100_000,
  approxTop: 100_000,
  limit: 10_000,
  shrinkage: 100,
} as const;

/**
 * The parameters a query runs with: defaults filled in, validated, and X (approxTop) raised to the limit when the
 * limit is larger, since the exact step can return at most X items and a caller asking for more would otherwise
 * get a silently shorter list. Callers echo these, not what was asked.
 * @throws SimrecError CONFIG_INVALID naming the parameter
 */
export function effectiveAnnParams(
  params: Partial<AnnParams> = {},
  base: Readonly<AnnParams> = DEFAULT_ANN_PARAMS,
): AnnParams {
  const p: AnnParams = { ...base };
  for (const [key, v] of Object.entries(params))
    if (v !== undefined) (p as unknown as Record<string, unknown>)[key] = v;
  validateParams(p);
  if (p.approxTop < p.limit) p.approxTop = p.limit;
  return p;
}

function validateParams(p: AnnParams): void {
  for (const key of ['topClusters', 'itemsPerCluster', 'approxTop', 'limit'] as const) {
    const v = p[key];
    if (!Number.isInteger(v) || v < 1 || v > ANN_LIMITS[key]) {
      throw new SimrecError(
        'CONFIG_INVALID',
        `${key} must be an integer in [1, ${ANN_LIMITS[key]}], got ${v}`,
        { field: key },
      );
    }
  }
  if (!Number.isFinite(p.minScore))
    throw new SimrecError('CONFIG_INVALID', 'minScore must be a finite number', { field: 'minScore' });
  if (!(p.shrinkage >= 0 && p.shrinkage <= ANN_LIMITS.shrinkage))
    throw new SimrecError('CONFIG_INVALID', `shrinkage must be a number in [0, ${ANN_LIMITS.shrinkage}]`, {
      field: 'shrinkage',
    });
}
