/**
 * What a server answers from: one artifact version's id maps, SimClusters ANN index and lookups, loaded once
 * (`ServingModel`), and the hot-reload wrapper that swaps models when a build moves `current` (`LiveModel`).
 *
 * Arrays a model hands out may view the version's memory map, so a model is only used while its version's
 * reader lease is held: `LiveModel.use` counts requests in flight per model, and a replaced model gives its lease
 * back only when its last request has finished. A new version is loaded completely before it is swapped in, so a
 * request sees either the old model or the new one, never a half-loaded one, and none fails during a switch.
 *
 * A model can also answer through a live overlay of the events after its version (`withOverlay`,
 * query/live/overlay.ts): the same methods then read version + overlay (new users and items, superseded item
 * rows, deletions, users' later engagements).
 */

import {
  type AnnOverlayView,
  type AnnParams,
  type AnnResult,
  SimClustersAnn,
  type SimClustersIndex,
  type SourceVector,
} from '../ann/simclusters.ts';
import {
  absorbedOffset,
  engagementActions,
  readDataTime,
  readEngagedItems,
  readItemPopularity,
} from '../artifacts/inputs.ts';
import { interestedInKey, KEYS } from '../artifacts/keys.ts';
import { hasMfVectors } from '../artifacts/mf.ts';
import {
  hasSimClusters,
  loadSimClustersIndex,
  readKnownFor,
  readProducers,
  readSimClustersMeta,
  readTopList,
} from '../artifacts/simclusters.ts';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import { sumOfUnitRows } from '../core/sparse.ts';
import { TopK } from '../core/topk.ts';
import type { ClusterTopList } from '../simclusters/cluster-index.ts';
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../simclusters/interested-in.ts';
import { queryItems, userQuery } from '../simclusters/user-query.ts';
import { ReloadingReader } from '../store/reloading-reader.ts';
import type { ArtifactStore, SparseRow, VersionReader } from '../store/store.ts';
import {
  type DenseFilters,
  DenseModel,
  type DenseParams,
  type DenseResult,
  type DenseSource,
} from './dense-model.ts';

/** The InterestedIn kind used as a user's source embedding unless configured otherwise (DESIGN §3.5). */
/** Items `popular` ranks once per state of its scores; requests filtering out more fall back to a scan. */
const POPULAR_PREFIX = 2048;

export const DEFAULT_USER_SCORE: InterestedInScore = 'logFavScoreClusterNormalized';

export interface ServingModelOptions {
  /** InterestedIn score kind a user source reads (default logFavScoreClusterNormalized). */
  userScore?: InterestedInScore;
}

/**
 * What a query asks about (the request's `source`, DESIGN §10): an entity whose embedding is looked up, or a raw
 * embedding.
 */
export type QuerySubject =
  | { userId: string }
  | { itemId: string }
  | { producerId: string }
  | { topic: string }
  | { embedding: ReadonlyArray<readonly [number, number]> };

/** Filters by external item id; unknown ids are ignored (they could never be returned anyway). */
export interface CandidateFilters {
  exclude?: readonly string[];
  allow?: readonly string[];
  minAgeHours?: number;
  maxAgeHours?: number;
  /** Unix seconds the age window is measured from (default: the version's data time, see ServingModel.dataTime). */
  now?: number;
}

export interface CandidateResult {
  /** The ANN result; items are dense item indices (`itemId(i)` names them). */
  result: AnnResult;
  params: AnnParams;
  /** Which embedding the source resolved to, e.g. 'interestedIn:logFavScoreClusterNormalized', 'item:longest'. */
  sourceEmbedding: string;
  /** Items excluded: the source item, the user's engaged items and the known ids of the exclude list. */
  excluded: number;
  /** Known ids of the allow list, null without one. */
  allowed: number | null;
  /** The Unix seconds an age filter was measured from; null when the request had no age filter. */
  now: number | null;
}

/** Ranked entities of one cluster: ids are dense indices of the entity kind, best first. */
export interface RankedList {
  ids: Int32Array;
  scores: Float32Array;
}

export interface ClusterView {
  clusterId: number;
  /** Producers whose KnownFor cluster this is, by KnownFor score. */
  knownFor: RankedList;
  topProducers: RankedList;
  topItems: RankedList;
  topTopics: RankedList;
}

const EMPTY_LIST: RankedList = { ids: new Int32Array(0), scores: new Float32Array(0) };

type RankedCsr = Pick<ClusterTopList, 'nClusters' | 'indptr' | 'ids' | 'scores'>;

/**
 * What a model answering through a live overlay (query/live/overlay.ts) asks of it, on top of what SimClusters
 * ANN reads. Declared here, implemented there, so the model does not import the overlay.
 */
export interface ModelOverlay extends AnnOverlayView {
  readonly version: string;
  /** The last log offset applied: its state changes only when this moves. */
  readonly appliedOffset: number;
  /** The latest event time applied, NaN before any. */
  readonly latestTs: number;
  /** Index of a user unknown to the version (≥ its user count), −1 when the overlay has none. */
  userIndex(id: string): number;
  /** Index of an item unknown to the version, not deleted; −1 otherwise. */
  itemIndex(id: string): number;
  itemId(i: number): string;
  userId(u: number): string;
  /** The overlay's row of an item, null when it holds none (the version's row stands). */
  itemRow(i: number): SparseRow | null;
  /**
   * The overlay's InterestedIn of a user, null for users whose version row stands; `asSource`: the row a query
   * from the user uses (with the overlay's fallbacks for users without that kind).
   */
  userRow(u: number, kind: InterestedInScore, asSource: boolean): SparseRow | null;
  /** Items the overlay excludes from the user's candidates (engaged, hidden). */
  userExclusions(u: number): Int32Array;
  /** Items the overlay saw the user engage with. */
  userEngaged(u: number): Int32Array;
  /** Version items the overlay deleted. */
  deletedVersionItems(): Int32Array;
  readonly deletedCount: number;
  /** Decayed engagement counters per item (builtNow units; ranks as decayed to any common time). */
  readonly trendingScores: Float64Array;
  /** The factor taking trendingScores to values as of the latest event. */
  readonly trendingToLatest: number;
  /** Whether any live engagement is counted. */
  readonly hasLiveEngagement: boolean;
  /** The version's popularity (distinct users per item), read once with the overlay. */
  readonly versionItemPopularity: Float64Array;
  /** Live counters of an item: decayed engagements (as of the latest event), impressions, clicks. */
  itemCounters(i: number): { engagements: number; impressions: number; clicks: number };
  /** Producers (indices) and topics a user followed through events. */
  userFollows(u: number): { producers: Int32Array; topics: readonly string[] };
  /** A user's most recent impressions. */
  userSeen(u: number): Int32Array;
  /** Items a user hid. */
  userHidden(u: number): Int32Array;
  /** The author of an item as a user index (the overlay's id space), −1 when none is known. */
  itemAuthor(i: number): number;
  /** Creation times of every item in the id space (NaN unknown), or null. */
  readonly itemCreatedTs: Float64Array | null;
}

/** What `popular` answers: trending items, or the version's most engaged ones when nothing is live. */
export interface PopularResult {
  items: Int32Array;
  scores: Float32Array;
  /** 'live': decayed engagement counters of the overlay; 'version': users per item in the version's log. */
  mode: 'live' | 'version';
  excluded: number;
}

/** What a live overlay reads from the model it is built over (ServingModel.liveBase). */
export interface LiveBase {
  model: ServingModel;
  reader: VersionReader;
  version: string;
  hasSimClusters: boolean;
  k: number;
  social: boolean;
  builtNow: number | null;
  dataTime: number | null;
  users: IdMap;
  items: IdMap;
  topics: IdMap | null;
  producerEntity: Int32Array;
  entityProducer: Int32Array;
  annIndex: SimClustersIndex | null;
  medianItemNorm: number;
  versionItemNorm(i: number): number;
}

/** One artifact version, loaded for serving. Read-only after load; safe to share between requests. */
export class ServingModel {
  /** JSON-escaped item ids, filled as answers name them (see itemIdJson). */
  private readonly itemIdJsonCache: (string | undefined)[] = [];
  /** Distinct users per item in the version's log, read on first use (popular). */
  private versionPopularity: Promise<Float64Array> | null = null;
  /** Per version user, 1 when its InterestedIn has no social proof (KEYS.interestedInWithoutProof); read once. */
  private withoutProof: Promise<Uint8Array | null> | null = null;
  /** The most popular items of the scores `popular` last ranked (see popular). */
  private popularPrefix: {
    generation: string;
    scores: Float64Array;
    ids: Int32Array;
    /** The prefix holds every item with a positive score. */
    full: boolean;
  } | null = null;
  /** Per cluster, its indexed items sorted by score (see topItemsByScore), filled on first use. */
  private readonly sortedClusterItems: (RankedList | undefined)[] = [];

  private constructor(
    private readonly reader: VersionReader,
    /** Whether the version holds SimClusters outputs (false: built with MF only). */
    readonly hasSimClusters: boolean,
    readonly k: number,
    readonly socialCase: boolean,
    /** sc/meta `now`: the time the version's item embeddings are decayed to (Unix seconds), or null. */
    readonly builtNow: number | null,
    readonly userScore: InterestedInScore,
    private readonly users: IdMap,
    private readonly items: IdMap,
    private readonly topics: IdMap | null,
    /** Producer index → user index (social) or item index (catalogue). */
    private readonly producerEntity: Int32Array,
    /** User or item index → producer index, −1 when the entity is no producer. */
    private readonly entityProducer: Int32Array,
    private readonly knownFor: RankedCsr,
    private readonly clusterProducers: RankedCsr | null,
    private readonly clusterTopics: RankedCsr | null,
    private readonly ann: SimClustersAnn | null,
    private readonly annIndex: SimClustersIndex | null,
    /** The MF / dense ANN part, when the version has MF item vectors. */
    readonly dense: DenseModel | null,
    /**
     * The version's data time (Unix seconds): what age filters count from unless a request gives `now`. The
     * manifest's `dataTime` when the build recorded one, else the latest engagement or item creation time the
     * version holds, else null (then the wall clock). Counting from the wall clock would make `maxAgeHours`
     * return nothing on any data older than the window, e.g. a build of last year's log.
     */
    readonly dataTime: number | null,
    /** The live overlay this model answers through (withOverlay), or null: the version alone. */
    private readonly overlay: ModelOverlay | null = null,
  ) {}

  /** What a live overlay over this version reads (query/live). */
  liveBase(): LiveBase {
    if (this.overlay) throw new RangeError('liveBase: this model already answers through an overlay');
    const ann = this.ann;
    return {
      model: this,
      reader: this.reader,
      version: this.version,
      hasSimClusters: this.hasSimClusters,
      k: this.k,
      social: this.socialCase,
      builtNow: this.builtNow,
      dataTime: this.dataTime,
      users: this.users,
      items: this.items,
      topics: this.topics,
      producerEntity: this.producerEntity,
      entityProducer: this.entityProducer,
      annIndex: this.annIndex,
      medianItemNorm: ann ? ann.medianItemNorm : 0,
      versionItemNorm: (i) => (ann ? ann.itemNorm(i) : 0),
    };
  }

  /**
   * This version read through a live overlay: every route (candidates by user — new users too —, by item — new
   * items too —, embeddings, clusters' top items) sees version + overlay; deleted items are never returned. The
   * model it is called on is unchanged. A version without an item index gets an empty one, so items the overlay
   * embeds can still be found.
   */
  withOverlay(overlay: ModelOverlay): ServingModel {
    if (this.overlay) throw new RangeError('withOverlay: this model already answers through an overlay');
    if (overlay.version !== this.version)
      throw new SimrecError(
        'CONFIG_INVALID',
        `an overlay over version ${overlay.version} cannot serve version ${this.version}`,
      );
    let annIndex = this.annIndex;
    if (!annIndex && this.hasSimClusters) annIndex = emptyIndex(this.items.size, this.k);
    const ann = annIndex ? new SimClustersAnn(annIndex, overlay) : null;
    return new ServingModel(
      this.reader,
      this.hasSimClusters,
      this.k,
      this.socialCase,
      this.builtNow,
      this.userScore,
      this.users,
      this.items,
      this.topics,
      this.producerEntity,
      this.entityProducer,
      this.knownFor,
      this.clusterProducers,
      this.clusterTopics,
      ann,
      annIndex,
      this.dense,
      this.dataTime,
      overlay,
    );
  }

  /** The overlay this model reads, or null. */
  get live(): ModelOverlay | null {
    return this.overlay;
  }

  /** Items in the id space: the version's, and an overlay's new ones. */
  get itemCount(): number {
    return this.overlay ? this.overlay.itemCount : this.items.size;
  }

  /**
   * What age filters count from unless a request gives `now`: the version's data time, or the latest event an
   * overlay applied when that is later.
   */
  get currentTime(): number | null {
    const t = this.overlay?.latestTs;
    if (t !== undefined && Number.isFinite(t) && (this.dataTime === null || t > this.dataTime)) return t;
    return this.dataTime;
  }

  /**
   * Loads what serving needs from a version: id maps, KnownFor grouped by cluster, the cluster indexes and the
   * SimClusters ANN index (item embeddings, cluster → top items, creation times); and, when the version has
   * MF item vectors, the dense part (dense-model.ts; its indexes and MF model are read on first use). The
   * reader must stay open for as long as the model is used.
   * @throws SimrecError ARTIFACT_MISSING when the version has no SimClusters outputs
   */
  static async load(reader: VersionReader, options: ServingModelOptions = {}): Promise<ServingModel> {
    const userScore = options.userScore ?? DEFAULT_USER_SCORE;
    if (!INTERESTED_IN_SCORES.includes(userScore))
      throw new SimrecError('CONFIG_INVALID', `unknown InterestedIn score '${userScore}'`, {
        field: 'userScore',
      });
    const withSimClusters = hasSimClusters(reader);
    if (!withSimClusters && !hasMfVectors(reader))
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${reader.id} has no ${KEYS.simclustersMeta} and no ${KEYS.mfItems}: it holds neither ` +
          'SimClusters outputs nor MF item vectors to serve',
        { field: KEYS.simclustersMeta },
      );
    const required = withSimClusters
      ? [KEYS.users, KEYS.items, KEYS.producers, KEYS.knownForCluster]
      : [KEYS.users, KEYS.items];
    for (const key of required) {
      if (!reader.has(key))
        throw new SimrecError('ARTIFACT_MISSING', `version ${reader.id} has no ${key}: it cannot be served`, {
          field: key,
        });
    }
    const users = await reader.idMap(KEYS.users);
    const items = await reader.idMap(KEYS.items);
    // A version built with simclusters.enabled false (MF only) serves the dense routes; its SimClusters
    // parts stay empty and every method that needs them says so (needSimClusters).
    const sc = withSimClusters ? await loadSimClustersParts(reader, users, items) : NO_SIMCLUSTERS;
    const dense = hasMfVectors(reader) ? await DenseModel.load(reader, { users, items }) : null;
    const dataTime = await readDataTime(reader);
    return new ServingModel(
      reader,
      withSimClusters,
      sc.k,
      sc.social,
      sc.builtNow,
      userScore,
      users,
      items,
      sc.topics,
      sc.producerEntity,
      sc.entityProducer,
      sc.knownFor,
      sc.clusterProducers,
      sc.clusterTopics,
      sc.ann,
      sc.annIndex,
      dense,
      dataTime,
    );
  }

  get version(): string {
    return this.reader.id;
  }

  /** The last event-log offset the version absorbed (−1: none): a live overlay applies the records after it. */
  get absorbedOffset(): number {
    return absorbedOffset(this.reader);
  }

  /** Engagement actions beyond `fav` the version was built with: the events routes accept them too. */
  get engagementActions(): string[] {
    return engagementActions(this.reader);
  }

  get hasItemIndex(): boolean {
    return this.ann !== null;
  }

  get hasDense(): boolean {
    return this.dense !== null;
  }

  /** @throws ARTIFACT_MISSING, naming `what`, when the version was built without SimClusters */
  private needSimClusters(what: string): void {
    if (!this.hasSimClusters)
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${this.version} holds no SimClusters outputs (built with simclusters.enabled false): ${what} ` +
          'needs them; its MF part serves POST /v1/candidates/dense and similar items with source=mf',
      );
  }

  // ---- ids -------------------------------------------------------------------------------------------------

  /** Dense index of a user. @throws NOT_FOUND naming `field` */
  userIndex(id: string, field = 'userId'): number {
    let u = this.users.get(id);
    if (u < 0 && this.overlay) u = this.overlay.userIndex(id);
    return known(u, 'user', id, field);
  }

  /** Dense index of an item (an overlay's new items too; a deleted item is unknown). @throws NOT_FOUND */
  itemIndex(id: string, field = 'itemId'): number {
    return known(this.lookupItem(id), 'item', id, field);
  }

  /** Index of an item id, −1 when unknown or deleted. */
  private lookupItem(id: string): number {
    const i = this.items.get(id);
    const ov = this.overlay;
    if (!ov) return i;
    if (i >= 0) return ov.isDeleted(i) ? -1 : i;
    return ov.itemIndex(id);
  }

  producerIndex(id: string, field = 'producerId'): number {
    this.needSimClusters('a producer');
    const e = (this.socialCase ? this.users : this.items).get(id);
    return known(e < 0 ? -1 : this.entityProducer[e], 'producer', id, field);
  }

  topicIndex(topic: string, field = 'topic'): number {
    this.needSimClusters('a topic');
    return known(this.topics ? this.topics.get(topic) : -1, 'topic', topic, field);
  }

  /** @throws NOT_FOUND unless 0 ≤ c < k */
  clusterIndex(c: number, field = 'clusterId'): number {
    this.needSimClusters('a cluster');
    if (!Number.isInteger(c) || c < 0 || c >= this.k)
      throw new SimrecError('NOT_FOUND', `unknown cluster ${c}: clusters are 0..${this.k - 1}`, { field });
    return c;
  }

  itemId(i: number): string {
    return this.overlay && i >= this.items.size ? this.overlay.itemId(i) : this.items.id(i);
  }

  /** A user's id by index (an overlay's new users too). */
  userId(u: number): string {
    return this.overlay && u >= this.users.size ? this.overlay.userId(u) : this.users.id(u);
  }

  /** Users the version knows (an overlay's new users have indices from here on). */
  get versionUserCount(): number {
    return this.users.size;
  }

  /** Items the version knows (an overlay's new items have indices from here on). */
  get versionItemCount(): number {
    return this.items.size;
  }

  /** Loads now the indexes this model reads lazily (the MF user-query HNSW index), so no request pays for them. */
  async warmIndexes(): Promise<void> {
    await this.dense?.warm();
  }

  /** The version's reader (entries beyond what the model loads: inputs, the ranker; the lease rules apply). */
  get versionReader(): VersionReader {
    return this.reader;
  }

  /**
   * The version's item embeddings (items × clusters, decayed to builtNow), null without an item index: for
   * synchronous per-candidate reads; an overlay's own rows are read through `live.rowSlot`/`rowIds`.
   */
  get itemEmbeddingMatrix(): CsrMatrix | null {
    return this.annIndex?.itemEmbeddings ?? null;
  }

  /** The producer index of a user (social) or item (catalogue) index, −1 when it is no producer. */
  producerOfEntity(e: number): number {
    return e >= 0 && e < this.entityProducer.length ? this.entityProducer[e] : -1;
  }

  /** Producers in the version. */
  get producerCount(): number {
    return this.producerEntity.length;
  }

  /** The user (social) or item (catalogue) index of a producer. */
  producerEntityIndex(p: number): number {
    return this.producerEntity[p];
  }

  /** An item's id as a JSON string literal, escaped once per item and version. */
  itemIdJson(i: number): string {
    let s = this.itemIdJsonCache[i];
    if (s === undefined) {
      s = JSON.stringify(this.itemId(i));
      this.itemIdJsonCache[i] = s;
    }
    return s;
  }

  producerId(p: number): string {
    const e = this.producerEntity[p];
    return this.socialCase ? this.users.id(e) : this.items.id(e);
  }

  topicId(t: number): string {
    if (!this.topics) throw new RangeError('no topics in this version');
    return this.topics.id(t);
  }

  // ---- embeddings ------------------------------------------------------------------------------------------

  /** A user's InterestedIn (default kind: the model's userScore); empty when the user has none. */
  async userEmbedding(
    id: string,
    kind: InterestedInScore = this.userScore,
    field = 'userId',
  ): Promise<SparseRow> {
    this.needSimClusters('an InterestedIn embedding');
    return this.userRow(this.userIndex(id, field), kind);
  }

  /** User u's InterestedIn of `kind`: the overlay's fold-in for users it holds one for, else the version's. */
  private async userRow(u: number, kind: InterestedInScore): Promise<SparseRow> {
    const own = this.overlay?.userRow(u, kind, kind === this.userScore);
    if (own) return own;
    return this.row(interestedInKey(kind), u, true);
  }

  /**
   * An item's embedding: 'current' (decayed to the build's now), 'longest' (the longest-L2 one kept for items
   * with enough engagements; empty when none), or 'auto' (longest when the item has one, else current: the
   * default item source, DESIGN §3.5). Returns which one it gave.
   */
  async itemEmbedding(
    id: string,
    which: 'current' | 'longest' | 'auto' = 'current',
    field = 'itemId',
  ): Promise<{ embedding: SparseRow; kind: 'current' | 'longest' }> {
    this.needSimClusters('an item embedding');
    const i = this.itemIndex(id, field);
    const empty = { ids: new Int32Array(0), values: new Float32Array(0) };
    const isNew = i >= this.items.size;
    if (which !== 'current') {
      // The longest-L2 snapshots are the build's (an overlay keeps none; a touched item keeps its snapshot, a
      // new item has none).
      const longest = isNew ? empty : await this.row(KEYS.itemLongestEmbeddings, i);
      if (which === 'longest' || longest.ids.length > 0) return { embedding: longest, kind: 'longest' };
    }
    const own = this.overlay?.itemRow(i);
    if (own) return { embedding: own, kind: 'current' };
    if (isNew) return { embedding: empty, kind: 'current' };
    if (this.annIndex) {
      const m = this.annIndex.itemEmbeddings;
      return {
        embedding: m.row(i),
        kind: 'current',
      };
    }
    return { embedding: await this.row(KEYS.itemEmbeddings, i, true), kind: 'current' };
  }

  async producerEmbedding(id: string, field = 'producerId'): Promise<SparseRow> {
    return this.row(KEYS.producerEmbeddings, this.producerIndex(id, field), true);
  }

  async topicEmbedding(topic: string, field = 'topic'): Promise<SparseRow> {
    return this.row(KEYS.topicEmbeddings, this.topicIndex(topic, field), true);
  }

  /** Items a user already engaged with (dense indices), empty when the version keeps no engagements. */
  async engagedItems(u: number): Promise<Int32Array> {
    return withLive(await this.versionEngaged(u), this.overlay?.userEngaged(u));
  }

  /** What a user's candidates exclude: engaged items (version and overlay) and items they hid. */
  private async userExclusions(u: number): Promise<ArrayLike<number>> {
    return withLive(await this.versionEngaged(u), this.overlay?.userExclusions(u));
  }

  /** Version user u's engaged items (none for users the version does not know). */
  private async versionEngaged(u: number): Promise<Int32Array> {
    return u < this.users.size ? readEngagedItems(this.reader, u) : new Int32Array(0);
  }

  // ---- candidates ------------------------------------------------------------------------------------------

  /**
   * SimClusters ANN candidates for a source (DESIGN §4): a user source excludes the user's engaged items, an
   * item source the item itself. Errors name the request field at fault (`source.userId`, `params.limit`, ...).
   * @throws NOT_FOUND for an unknown source entity, CONFIG_INVALID for a bad embedding or parameter,
   *   ARTIFACT_MISSING when the version has no item index
   */
  async candidates(
    source: QuerySubject,
    params: Partial<AnnParams> = {},
    filters: CandidateFilters = {},
  ): Promise<CandidateResult> {
    this.needSimClusters('SimClusters ANN candidates');
    const ann = this.ann;
    if (!ann)
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${this.version} has no item embeddings: build it with engagements to serve candidates`,
      );
    const { vector, exclude, kind } = await this.resolveSource(source);
    const excluded = this.itemIndices(filters.exclude, exclude);
    const allow = filters.allow ? this.itemIndices(filters.allow, null) : undefined;
    const aged = filters.minAgeHours !== undefined || filters.maxAgeHours !== undefined;
    const now = aged ? (filters.now ?? this.currentTime ?? Date.now() / 1000) : null;
    let result: AnnResult;
    let effective: AnnParams;
    try {
      effective = ann.effectiveParams(params);
      result = ann.run(vector, effective, {
        exclude: excluded,
        allow,
        minAgeHours: filters.minAgeHours,
        maxAgeHours: filters.maxAgeHours,
        now: now ?? undefined,
      });
    } catch (e) {
      if (e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field)
        throw new SimrecError(e.code, e.message, { field: `params.${e.detail.field}` }, { cause: e });
      throw e;
    }
    return {
      result,
      params: effective,
      sourceEmbedding: kind,
      excluded: excluded.length,
      allowed: allow ? allow.length : null,
      now,
    };
  }

  /**
   * Popular items for a subject (the `popular` candidate source): by the overlay's decayed engagement counters
   * (trending, as of the latest event) when any live engagement is counted, else by the version's popularity
   * (distinct users per item of its engagement log). A user subject excludes the user's engaged and hidden
   * items, an item subject the item; deleted items never appear; an age window applies where items have ages.
   * @throws NOT_FOUND for an unknown subject, CONFIG_INVALID for a subject popularity cannot use
   */
  async popular(
    source: { userId: string } | { itemId: string } | Record<string, never>,
    limit: number,
    filters: CandidateFilters = {},
  ): Promise<PopularResult> {
    let own: ArrayLike<number> | null = null;
    if ('userId' in source) own = await this.userExclusions(this.userIndex(source.userId, 'source.userId'));
    else if ('itemId' in source) own = [this.itemIndex(source.itemId, 'source.itemId')];
    const excluded = this.itemIndices(filters.exclude, own);
    const allow = filters.allow ? this.itemIndices(filters.allow, null) : null;
    const ov = this.overlay;
    let live = false;
    let scores: Float64Array;
    let factor = 1;
    if (ov?.hasLiveEngagement) {
      live = true;
      scores = ov.trendingScores;
      factor = ov.trendingToLatest;
    } else {
      this.versionPopularity ??= readItemPopularity(this.reader, this.items.size);
      scores = ov ? ov.versionItemPopularity : await this.versionPopularity;
    }
    const n = Math.min(this.itemCount, scores.length);
    const skip = new Uint8Array(n);
    for (let j = 0; j < excluded.length; j++) if (excluded[j] < n) skip[excluded[j]] = 1;
    let allowed: Uint8Array | null = null;
    if (allow) {
      allowed = new Uint8Array(n);
      for (let j = 0; j < allow.length; j++) if (allow[j] < n) allowed[allow[j]] = 1;
    }
    const created = ov ? ov.itemCreatedTs : (this.annIndex?.itemCreatedTs ?? null);
    const aged = created !== null && (filters.minAgeHours !== undefined || filters.maxAgeHours !== undefined);
    const now = filters.now ?? this.currentTime ?? Date.now() / 1000;
    const minTs =
      filters.maxAgeHours !== undefined ? now - filters.maxAgeHours * 3600 : Number.NEGATIVE_INFINITY;
    const maxTs =
      filters.minAgeHours !== undefined ? now - filters.minAgeHours * 3600 : Number.POSITIVE_INFINITY;
    const pass = (i: number) =>
      scores[i] > 0 &&
      !skip[i] &&
      !(allowed && !allowed[i]) &&
      !ov?.isDeleted(i) &&
      !(aged && !(created[i] >= minTs && created[i] <= maxTs));
    // Most requests are answered from the most popular items, ranked once per state of the scores (the version's
    // counts: once; live counters: once per applied batch) instead of a scan of the catalogue per request. The
    // walk takes the first `limit` that pass the filters in the TopK order (score, then smaller index), which is
    // the full scan's answer whenever that many pass within the prefix; otherwise the full scan runs.
    const generation = live ? `live:${ov?.appliedOffset}` : 'version';
    let prefix = this.popularPrefix;
    if (!prefix || prefix.generation !== generation || prefix.scores !== scores) {
      prefix = { generation, scores, ...rankedPrefix(scores, n, POPULAR_PREFIX) };
      this.popularPrefix = prefix;
    }
    const items = topPassing(prefix, scores, n, pass, limit);
    const out = new Float32Array(items.length);
    for (let j = 0; j < items.length; j++) out[j] = Math.fround(scores[items[j]]) * factor;
    return { items, scores: out, mode: live ? 'live' : 'version', excluded: excluded.length };
  }

  /**
   * Dense (MF) candidates for a source (dense-model.ts).
   * @throws ARTIFACT_MISSING when the version has no MF item vectors; otherwise as DenseModel.candidates
   */
  async denseCandidates(
    source: DenseSource,
    params: Partial<DenseParams> = {},
    filters: DenseFilters = {},
  ): Promise<DenseResult> {
    if (!this.dense)
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${this.version} has no MF item vectors (${KEYS.mfItems}): build it with mf.enabled to serve dense candidates`,
      );
    const ov = this.overlay;
    if (ov && ov.deletedCount > 0) {
      // The dense indexes hold the version's items only: deleted ones are excluded by id.
      const deleted = Array.from(ov.deletedVersionItems(), (i) => this.items.id(i));
      filters = { ...filters, exclude: [...(filters.exclude ?? []), ...deleted] };
    }
    if (ov && 'userId' in source && source.items === undefined) {
      // What the user engaged with or hid since the version is excluded as the version's engagements are; a user
      // only the overlay knows is folded in from the version items they engaged with.
      const nV = this.items.size;
      let u = this.users.get(source.userId);
      const known = u >= 0;
      if (!known) u = ov.userIndex(source.userId);
      if (u >= 0) {
        const ids = (list: ArrayLike<number>) => {
          const out: string[] = [];
          for (let j = 0; j < list.length; j++) if (list[j] < nV) out.push(this.items.id(list[j]));
          return out;
        };
        const live = ids(ov.userExclusions(u));
        if (live.length > 0) filters = { ...filters, exclude: [...(filters.exclude ?? []), ...live] };
        if (!known) {
          const engaged = ids(ov.userEngaged(u));
          if (engaged.length > 0) source = { userId: source.userId, items: engaged };
        }
      }
    }
    return this.dense.candidates(source, params, filters);
  }

  /** Whether version user u's InterestedIn was kept without social proof (false for versions that do not say). */
  private async lacksProof(u: number): Promise<boolean> {
    if (u >= this.users.size || !this.annIndex) return false;
    this.withoutProof ??= (async () => {
      if (!this.reader.has(KEYS.interestedInWithoutProof)) return null;
      const list = await this.reader.typedArray(KEYS.interestedInWithoutProof, 'int32');
      const flags = new Uint8Array(this.users.size);
      for (let j = 0; j < list.length; j++) if (list[j] >= 0 && list[j] < flags.length) flags[list[j]] = 1;
      return flags;
    })();
    const flags = await this.withoutProof;
    return flags !== null && flags[u] === 1;
  }

  /**
   * The current embeddings of the items a version user engaged with (version and overlay), each item once and at
   * most USER_QUERY_MAX_ITEMS of them (`queryItems`); items without an embedding are left out. A user whose
   * InterestedIn lacks social proof is asked with their sum: such a row is one unproven cluster kept out of
   * several, each backed by a single producer, while the items carry what everyone who engaged with them is
   * interested in. Every other user is asked with `userQuery`.
   */
  private engagedItemRows(engaged: ArrayLike<number>): SparseRow[] {
    const items = queryItems(engaged);
    const emb = this.annIndex!.itemEmbeddings;
    const rows: SparseRow[] = [];
    for (let j = 0; j < items.length; j++) {
      const i = items[j];
      const row = this.overlay?.itemRow(i) ?? (i < emb.nRows ? emb.row(i) : null);
      if (row && row.ids.length > 0) rows.push(row);
    }
    return rows;
  }

  /**
   * What a user is asked with: InterestedIn, with the engaged items it does not cover (`userQuery`), or the
   * engaged items alone when it lacks social proof.
   */
  private async userSource(
    u: number,
    engaged: ArrayLike<number>,
  ): Promise<{ vector: SparseRow; kind: string }> {
    const row = await this.userRow(u, this.userScore);
    const kind = `interestedIn:${this.userScore}`;
    // A new user's row is the overlay's fold-in of its own engagements already.
    if (u >= this.users.size || !this.annIndex) return { vector: row, kind };
    const items = this.engagedItemRows(engaged);
    if (await this.lacksProof(u)) {
      const vector = sumOfUnitRows(items);
      if (vector.ids.length > 0) return { vector, kind: 'engagedItems' };
    }
    const q = userQuery(row, items);
    if (q.added === 0) return { vector: row, kind };
    return { vector: q.vector, kind: row.ids.length > 0 ? `${kind}+engagedItems` : 'engagedItems' };
  }

  private async resolveSource(
    source: QuerySubject,
  ): Promise<{ vector: SourceVector; exclude: ArrayLike<number> | null; kind: string }> {
    if ('userId' in source) {
      const u = this.userIndex(source.userId, 'source.userId');
      // The version's engagements are read once: the query reads them, the exclusions too.
      const version = await this.versionEngaged(u);
      const exclude = withLive(version, this.overlay?.userExclusions(u));
      const engaged = withLive(version, this.overlay?.userEngaged(u));
      return { ...(await this.userSource(u, engaged)), exclude };
    }
    if ('itemId' in source) {
      const { embedding, kind } = await this.itemEmbedding(source.itemId, 'auto', 'source.itemId');
      return { vector: embedding, exclude: [this.lookupItem(source.itemId)], kind: `item:${kind}` };
    }
    if ('producerId' in source)
      return {
        vector: await this.producerEmbedding(source.producerId, 'source.producerId'),
        exclude: null,
        kind: 'producer',
      };
    if ('topic' in source)
      return {
        vector: await this.topicEmbedding(source.topic, 'source.topic'),
        exclude: null,
        kind: 'topic',
      };
    if ('embedding' in source)
      return { vector: this.rawEmbedding(source.embedding), exclude: null, kind: 'raw' };
    throw new SimrecError(
      'CONFIG_INVALID',
      'source must have one of userId, itemId, producerId, topic, embedding',
      {
        field: 'source',
      },
    );
  }

  /** A caller's [cluster, score] pairs as a sorted source vector; clusters in [0, k), each once, scores finite. */
  private rawEmbedding(pairs: ReadonlyArray<readonly [number, number]>): SourceVector {
    const n = pairs.length;
    const ids = new Int32Array(n);
    const values = new Float32Array(n);
    const order = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const pair = pairs[j];
      const c = pair[0];
      if (!Number.isInteger(c) || c < 0 || c >= this.k)
        throw new SimrecError('CONFIG_INVALID', `cluster ${c} outside [0, ${this.k})`, {
          field: `source.embedding.${j}.0`,
        });
      const s = Math.fround(pair[1]);
      if (!Number.isFinite(s))
        throw new SimrecError('CONFIG_INVALID', `score ${pair[1]} is not a finite float32`, {
          field: `source.embedding.${j}.1`,
        });
      ids[j] = c;
      values[j] = s;
      order[j] = j;
    }
    order.sort((a, b) => ids[a] - ids[b]);
    const out: SourceVector = { ids: new Int32Array(n), values: new Float32Array(n) };
    for (let j = 0; j < n; j++) {
      const from = order[j];
      if (j > 0 && ids[from] === out.ids[j - 1])
        throw new SimrecError('CONFIG_INVALID', `cluster ${ids[from]} appears more than once`, {
          field: `source.embedding.${from}.0`,
        });
      out.ids[j] = ids[from];
      out.values[j] = values[from];
    }
    return out;
  }

  /** Known item indices of ids, plus `extra`; unknown ids are skipped. */
  private itemIndices(ids: readonly string[] | undefined, extra: ArrayLike<number> | null): Int32Array {
    const n = (ids?.length ?? 0) + (extra?.length ?? 0);
    const out = new Int32Array(n);
    let w = 0;
    if (extra) for (let j = 0; j < extra.length; j++) if (extra[j] >= 0) out[w++] = extra[j];
    if (ids)
      for (const id of ids) {
        const i = this.lookupItem(id);
        if (i >= 0) out[w++] = i;
      }
    return w === n ? out : out.subarray(0, w);
  }

  // ---- clusters --------------------------------------------------------------------------------------------

  /** Cluster c's KnownFor members and top producers, items and topics, `limit` of each. @throws NOT_FOUND */
  /** Cluster c's top producers alone (what an explanation shows), `limit` of them. @throws NOT_FOUND */
  clusterTopProducers(c: number, limit: number): RankedList {
    this.clusterIndex(c);
    return this.clusterProducers ? slice(this.clusterProducers, c, limit) : EMPTY_LIST;
  }

  cluster(c: number, limit: number): ClusterView {
    this.clusterIndex(c);
    return {
      clusterId: c,
      knownFor: slice(this.knownFor, c, limit),
      topProducers: this.clusterTopProducers(c, limit),
      topItems: this.topItemsByScore(c, limit),
      topTopics: this.clusterTopics && this.topics ? slice(this.clusterTopics, c, limit) : EMPTY_LIST,
    };
  }

  /**
   * Cluster c's indexed items by the score shown (the item's embedding value on c, what the ANN accumulates),
   * best first, ties by item index. The index itself may be ordered otherwise (item-embeddings `indexOrder:
   * cosine` ranks by the share of the item's norm on c), so its order is not the order of the scores it stores;
   * sorted per cluster on first use.
   */
  private topItemsByScore(c: number, limit: number): RankedList {
    if (this.overlay) return this.liveTopItems(c, limit, this.overlay);
    const idx = this.annIndex?.clusterItems;
    if (!idx || c >= idx.nClusters) return EMPTY_LIST;
    let list = this.sortedClusterItems[c];
    if (!list) {
      const start = idx.indptr[c];
      const ids = idx.ids.slice(start, idx.indptr[c + 1]);
      const order = Array.from(ids.keys());
      const sc = idx.scores.subarray(start, idx.indptr[c + 1]);
      order.sort((a, b) => sc[b] - sc[a] || ids[a] - ids[b]);
      list = {
        ids: Int32Array.from(order, (j) => ids[j]),
        scores: Float32Array.from(order, (j) => sc[j]),
      };
      this.sortedClusterItems[c] = list;
    }
    const n = Math.min(limit, list.ids.length);
    return { ids: list.ids.subarray(0, n), scores: list.scores.subarray(0, n) };
  }

  /**
   * Cluster c's top items through an overlay: the version's entries of items it neither superseded nor deleted,
   * and the overlay's own entries, by score (ties by item index).
   */
  private liveTopItems(c: number, limit: number, ov: ModelOverlay): RankedList {
    // A bounded heap in TopK's order (score, then the smaller index), not a sort of the whole list: an
    // explanation asks for three items of a cluster that can hold thousands.
    const idx = this.annIndex?.clusterItems;
    const top = new TopK(Math.max(0, limit));
    if (limit > 0) {
      if (idx && c < idx.nClusters)
        for (let j = idx.indptr[c]; j < idx.indptr[c + 1]; j++) {
          const i = idx.ids[j];
          if (!ov.versionHidden(i)) top.push(i, idx.scores[j]);
        }
      const n = ov.clusterLength(c);
      const oIds = ov.clusterIds(c);
      const oScores = ov.clusterScores(c);
      for (let j = 0; j < n; j++) top.push(oIds[j], oScores[j]);
    }
    const ids = new Int32Array(top.size);
    const scores = new Float32Array(top.size);
    top.drainSorted(ids, scores);
    return { ids, scores };
  }

  /**
   * Row r of a sparse-rows entry; empty when the entry is shorter, or absent and not `required` (a version
   * without engagements has nothing to exclude, but one without the embeddings asked for cannot answer).
   */
  private async row(key: string, r: number, required = false): Promise<SparseRow> {
    const e = this.reader.entry(key);
    if (!e && required)
      throw new SimrecError('ARTIFACT_MISSING', `version ${this.version} has no ${key}`, { field: key });
    if (!e || r >= e.shape[0]) return { ids: new Int32Array(0), values: new Float32Array(0) };
    return this.reader.sparseRow(key, r);
  }
}

/** The SimClusters half of a serving model (empty for a version built with MF only). */
interface SimClustersParts {
  k: number;
  social: boolean;
  builtNow: number | null;
  topics: IdMap | null;
  producerEntity: Int32Array;
  entityProducer: Int32Array;
  knownFor: RankedCsr;
  clusterProducers: RankedCsr | null;
  clusterTopics: RankedCsr | null;
  ann: SimClustersAnn | null;
  annIndex: SimClustersIndex | null;
}

const NO_SIMCLUSTERS: SimClustersParts = {
  k: 0,
  social: false,
  builtNow: null,
  topics: null,
  producerEntity: new Int32Array(0),
  entityProducer: new Int32Array(0),
  knownFor: { indptr: new Int32Array(1), ids: new Int32Array(0), scores: new Float32Array(0), nClusters: 0 },
  clusterProducers: null,
  clusterTopics: null,
  ann: null,
  annIndex: null,
};

/** KnownFor grouped by cluster, the cluster indexes and the SimClusters ANN index of a version. */
async function loadSimClustersParts(
  reader: VersionReader,
  users: IdMap,
  items: IdMap,
): Promise<SimClustersParts> {
  const meta = await readSimClustersMeta(reader);
  const topics = reader.has(KEYS.topics) ? await reader.idMap(KEYS.topics) : null;
  const producers = await readProducers(reader, meta, { users, items });
  const social = producers.social;
  const producerEntity = producers.entity;
  const entityProducer = new Int32Array(producers.entityIds.size).fill(-1);
  for (let p = 0; p < producerEntity.length; p++) entityProducer[producerEntity[p]] = p;
  const kf = await readKnownFor(reader);
  const knownFor = groupByCluster(kf.cluster, kf.score, meta.k);
  const clusterProducers = await readTopList(reader, KEYS.clusterProducers);
  const clusterTopics = await readTopList(reader, KEYS.clusterTopics);
  let annIndex: SimClustersIndex | null = null;
  let ann: SimClustersAnn | null = null;
  if (reader.has(KEYS.itemEmbeddings) && reader.has(KEYS.clusterItems)) {
    annIndex = await loadSimClustersIndex(reader);
    if (annIndex.itemEmbeddings.nRows !== items.size)
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `version ${reader.id}: ${KEYS.itemEmbeddings} has ${annIndex.itemEmbeddings.nRows} rows for ${items.size} items`,
        { field: KEYS.itemEmbeddings },
      );
    ann = new SimClustersAnn(annIndex);
  }
  return {
    k: meta.k,
    social,
    builtNow: meta.now,
    topics,
    producerEntity,
    entityProducer,
    knownFor,
    clusterProducers,
    clusterTopics,
    ann,
    annIndex,
  };
}

/** An item index with no embeddings and empty cluster lists: what an overlay fills for a version built without. */
function emptyIndex(nItems: number, k: number): SimClustersIndex {
  return {
    itemEmbeddings: new CsrMatrix(
      nItems,
      k,
      new Int32Array(nItems + 1),
      new Int32Array(0),
      new Float32Array(0),
    ),
    clusterItems: {
      nClusters: k,
      nEntities: nItems,
      indptr: new Int32Array(k + 1),
      ids: new Int32Array(0),
      scores: new Float32Array(0),
    },
  };
}

/** The `size` best items of `scores` (positive ones only) in the TopK order: score, then smaller index. */
export function rankedPrefix(
  scores: Float64Array,
  n: number,
  size: number,
): { ids: Int32Array; full: boolean } {
  const top = new TopK(size);
  for (let i = 0; i < n; i++) if (scores[i] > 0) top.push(i, scores[i]);
  const held = top.size;
  const ids = new Int32Array(held);
  top.drainSorted(ids, new Float32Array(held));
  // Fewer than `size` positive items: the prefix is all of them.
  return { ids, full: held < size };
}

/**
 * The `limit` best items that pass, in the TopK order: the first ones of the ranked prefix when that many pass
 * within it (or it holds every positive item), else a scan of all n.
 */
export function topPassing(
  prefix: { ids: Int32Array; full: boolean },
  scores: Float64Array,
  n: number,
  pass: (i: number) => boolean,
  limit: number,
): Int32Array {
  const picked: number[] = [];
  for (let j = 0; j < prefix.ids.length && picked.length < limit; j++)
    if (pass(prefix.ids[j])) picked.push(prefix.ids[j]);
  if (picked.length >= limit || prefix.full) return Int32Array.from(picked);
  const heap = new TopK(Math.max(1, limit));
  for (let i = 0; i < n; i++) if (scores[i] > 0 && pass(i)) heap.push(i, scores[i]);
  const items = new Int32Array(heap.size);
  heap.drainSorted(items, new Float32Array(heap.size));
  return items;
}

function known(i: number, what: string, id: string, field: string): number {
  if (i < 0) throw new SimrecError('NOT_FOUND', `unknown ${what} '${id}'`, { field });
  return i;
}

function slice(list: RankedCsr, c: number, limit: number): RankedList {
  if (c >= list.nClusters) return EMPTY_LIST;
  const start = list.indptr[c];
  const end = Math.min(list.indptr[c + 1], start + limit);
  return { ids: list.ids.subarray(start, end), scores: list.scores.subarray(start, end) };
}

/** Producers grouped by KnownFor cluster, each group by score (desc, then producer index). */
function groupByCluster(cluster: Int32Array, score: Float32Array, k: number): RankedCsr {
  const indptr = new Int32Array(k + 1);
  for (let p = 0; p < cluster.length; p++) if (cluster[p] >= 0 && cluster[p] < k) indptr[cluster[p] + 1]++;
  for (let c = 0; c < k; c++) indptr[c + 1] += indptr[c];
  const ids = new Int32Array(indptr[k]);
  const fill = indptr.slice(0, k);
  for (let p = 0; p < cluster.length; p++) {
    const c = cluster[p];
    if (c >= 0 && c < k) ids[fill[c]++] = p;
  }
  for (let c = 0; c < k; c++)
    ids.subarray(indptr[c], indptr[c + 1]).sort((a, b) => score[b] - score[a] || a - b);
  const scores = new Float32Array(ids.length);
  for (let j = 0; j < ids.length; j++) scores[j] = score[ids[j]];
  return { nClusters: k, indptr, ids, scores };
}

// ---- hot reload ----------------------------------------------------------------------------------------------

/** The version's items followed by the overlay's (the version's array itself when the overlay adds none). */
function withLive(version: Int32Array, live: Int32Array | undefined): Int32Array {
  if (!live || live.length === 0) return version;
  const out = new Int32Array(version.length + live.length);
  out.set(version);
  out.set(live, version.length);
  return out;
}

export interface LiveModelOptions extends ServingModelOptions {
  /** How often to check `current`, in ms (default 1000; 0: only on refresh()). */
  pollMs?: number;
  /** Called after a new model was swapped in; `from` is null for the first. */
  onSwitch?: (from: string | null, to: string) => void;
  /** Errors of background loads (a version that fails to load leaves the previous model serving). */
  onError?: (error: unknown) => void;
  /**
   * Run on each new model before it is swapped in (data the first requests would otherwise build); its failure
   * is reported through onError and does not keep the version from serving.
   */
  warm?: (model: ServingModel) => Promise<void>;
}

/**
 * The model of a store's current version, kept current: the store's `current` pointer is polled (and checked
 * on `refresh()`, which a server calls on SIGHUP); a new version's model is built beside the old one while its
 * checksum is checked, then swapped in. Requests run through `use`, which pins the model they started with.
 * The one live-version mechanism is the store's ReloadingReader: its `prepare` builds each version's model, and
 * its leases keep a version (reader and model) alive until the last request on it ends.
 */
export class LiveModel {
  private readonly readers: ReloadingReader;
  private retry: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private reportedFailure: unknown;

  constructor(
    store: ArtifactStore,
    private readonly options: LiveModelOptions = {},
  ) {
    this.readers = new ReloadingReader(store, {
      pollMs: options.pollMs ?? 1000,
      onSwitch: (from, to) => {
        try {
          this.options.onSwitch?.(from, to);
        } catch (e) {
          this.report(e);
        }
      },
      onError: (e) => this.report(e),
      // The model is built while the version's checksum is checked on another thread.
      prepare: async (reader) => {
        const model = await ServingModel.load(reader, this.options);
        if (this.options.warm) await this.options.warm(model).catch((e: unknown) => this.report(e));
        return model;
      },
    });
  }

  /** The model serving now, or null before the first version was loaded. */
  get current(): ServingModel | null {
    return (this.readers.currentPrepared as ServingModel | undefined) ?? null;
  }

  get ready(): boolean {
    return this.readers.versionId !== null;
  }

  /**
   * Loads the current version if there is one; otherwise keeps trying every pollMs (so a server can start
   * before the first build and become ready when it lands). Never rejects for a missing or bad version.
   */
  async start(): Promise<void> {
    try {
      await this.refresh();
    } catch (e) {
      this.report(e);
    }
    if (!this.ready && !this.closed && !this.retry) {
      const every = this.options.pollMs && this.options.pollMs > 0 ? this.options.pollMs : 1000;
      this.retry = setInterval(() => {
        this.refresh().catch((e) => {
          if (!(e instanceof SimrecError && e.code === 'ARTIFACT_MISSING')) this.report(e);
        });
      }, every);
      this.retry.unref();
    }
  }

  /**
   * Checks `current` now and, when it moved, loads and swaps in the new version. Resolves true when the
   * served version changed. @throws ARTIFACT_MISSING while the store has no version
   */
  async refresh(): Promise<boolean> {
    if (this.closed) return false;
    const before = this.readers.versionId;
    try {
      if (!this.ready) (await this.readers.acquire()).release();
      else await this.readers.refresh();
    } catch (e) {
      // A version that failed its check or could not be loaded is reported and the previous one keeps serving;
      // only "no version at all" (or an I/O error) reaches the caller.
      if (this.readers.failure?.error !== e) throw e;
      // The reader keeps answering with the same error until `current` moves: say it once.
      if (this.reportedFailure !== e) this.report(e);
      this.reportedFailure = e;
      return false;
    }
    if (this.ready && this.retry) {
      clearInterval(this.retry);
      this.retry = undefined;
    }
    return this.readers.versionId !== before;
  }

  /**
   * Runs fn with the current model, which stays valid (its version open) until fn settles, whatever switch
   * happens meanwhile. @throws ARTIFACT_MISSING before the first version was loaded
   */
  async use<T>(fn: (model: ServingModel) => T | Promise<T>): Promise<T> {
    if (this.closed || !this.ready)
      throw new SimrecError(
        'ARTIFACT_MISSING',
        'no artifact version is loaded yet (the server is not ready)',
      );
    const lease = await this.readers.acquire();
    try {
      return await fn(lease.prepared as ServingModel);
    } finally {
      lease.release();
    }
  }

  /** Stops watching; versions close once their requests in flight have finished. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
    await this.readers.close();
  }

  private report(e: unknown): void {
    if (this.options.onError) this.options.onError(e);
    else process.emitWarning(`simrec serve: ${(e as Error)?.message ?? String(e)}`);
  }
}
