/**
 * The live overlay (issue 15, DESIGN §3.5, §9): what the event log says after a version, applied in offset order
 * to in-memory state over that version, and read through the same queries as the version.
 *
 * API (for the serving process; one overlay per loaded version):
 *
 *   const overlay = await LiveOverlay.create(model, { fromOffset: absorbed, engagementActions });
 *   overlay.apply(records);               // LoggedRecord[] in offset order; offsets ≤ appliedOffset are skipped
 *   overlay.appliedOffset;                // last offset applied (fromOffset, −1 by default, before any)
 *   const live = overlay.model;           // a ServingModel answering version + overlay on every route
 *   const bytes = overlay.serialize();    // checkpoint; LiveOverlay.restore(model, bytes) → same state
 *   overlay.stats();                      // sizes, skips by reason, latest event time: for /metrics
 *   overlay.itemCounters(i);              // decayed engagements, impressions, clicks (issue 16's inputs)
 *   overlay.model.popular(subject, limit) // trending items; also the `popular` CandidateSource
 *
 * LiveOverlay.restore throws ARTIFACT_CORRUPT for bytes of another version or damaged bytes: replay from the
 * version's offset instead. One overlay serves one model; its `model` is built once and shared by requests.
 *
 * An event naming an item the overlay does not know creates it (as an upsert without metadata would), so a fav
 * can arrive before the item's upsert; an event of an unknown user creates the user.
 *
 * Rebase: when a build that absorbed the log up to offset O goes live, create a fresh overlay over the new model
 * with `fromOffset: O` and apply the records after O. apply() is synchronous and never throws for a record's
 * content: records the overlay cannot use (an unfav of nothing, an action nobody declared) are counted in
 * stats().skipped by reason, never applied half-way.
 *
 * Actions. `fav` and the build config's engagement actions (`engagementActions`) are positive engagements: they
 * update the item's embedding by the version's rule (applyEngagement, the batch job's own function), the user's
 * engaged items (excluded from their candidates, as the version's engaged items are), the pair ledger and the
 * trending counter. `unfav` undoes what the pair's favs added (the ledger of item-embeddings.ts). `click` and
 * `impression` are counters only (CTR and exploration inputs), an impression also marks the item seen by the user;
 * they never move embeddings, as the batch job's engagement log holds favs and unfavs only. `hide` excludes an
 * item from the user's candidates. `follow`/`unfollow`/`topic_follow` keep the user's graph; a new user's
 * InterestedIn is folded in from it (fold-in.ts). Impressions are kept (the last SEEN_PER_USER per user, for
 * the ranking of issue 16) but do not exclude: an item shown once is still a fair candidate, and excluding it
 * would hide exactly the items a user is about to engage with.
 *
 * Indexes. Touched items get an overlay row that supersedes their version row everywhere; the overlay keeps its
 * own cluster → top items lists (the version's M, floors and order — by share of the shrunk norm or by score),
 * which SimClustersAnn scans beside the version's lists (skipping the superseded items' version entries), so a
 * new item is found as soon as a fav gives it a row. An item is not (re)listed once it is past the age limit at
 * its update, as the batch job drops it.
 *
 * Time units. The version stores item embeddings decayed to its `builtNow`. The overlay keeps every value it
 * publishes (item rows, norms, trending counters) in the same unit — "as of builtNow" — so a touched item
 * (decayed later) and an untouched version item compare as the version compares them: a value updated at t is
 * multiplied by 2^((t − builtNow)/halfLife). Decay multiplies every item alike, so ranks and cosines are those
 * of decaying everything to any common "now", and the shrunk cosine's λ (a fixed multiple of the version's
 * median item norm, in builtNow units) keeps its meaning; decaying touched rows to the latest event instead would
 * shrink them against λ and against untouched rows. The growth is capped (MAX_ITEM_HALF_LIVES) so published
 * values stay finite in float32 whatever the clock says; past the cap recency among late events is not told apart
 * until a rebuild moves the unit time (13 days after the build at the 8-hour social half-life).
 *
 * Known users keep their version InterestedIn: it was computed from their whole history (follows, decayed favs,
 * social proof, top clusters), which the overlay does not hold, and the batch rule the stream must reproduce
 * (batch = stream) adds the version's vectors. Users unknown to the version get a folded-in row.
 */
import { readItemPopularity } from '../../artifacts/inputs.ts';
import { interestedInKey, KEYS } from '../../artifacts/keys.ts';
import { readKnownFor, readSimClustersMeta } from '../../artifacts/simclusters.ts';
import type { CsrMatrix } from '../../core/csr.ts';
import { SimrecError } from '../../core/errors.ts';
import { type ItemEvent, isItemEvent, type LoggedRecord, type UserEvent } from '../../core/event.ts';
import { selectTop } from '../../core/topk.ts';
import { ACTION_POSITIVE, ACTION_UNFAV } from '../../simclusters/embedding-types.ts';
import {
  INTERESTED_IN_DEFAULTS,
  INTERESTED_IN_SCORES,
  type InterestedInParams,
  type InterestedInScore,
  RAW_SCORES,
} from '../../simclusters/interested-in.ts';
import {
  applyEngagement,
  createEngagementEvent,
  createItemState,
  type EngagementEvent,
  EngagementOutcome,
  ITEM_EMBEDDING_DEFAULTS,
  type ItemEmbeddingParams,
  type ItemEmbeddingState,
  type ItemUpdateRule,
  itemUpdateRule,
  pairUndoMass,
  readItemState,
  recordPairOutcome,
  resetItemState,
  type UserVectorView,
} from '../../simclusters/item-embeddings.ts';
import type { SparseRow } from '../../store/store.ts';
import type { LiveBase, ModelOverlay, ServingModel } from '../serving-model.ts';
import { ensureLength, indexIn, RankedList, SlotArena, sortedIndex } from './buffers.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { FoldInScratch, foldInRow, KIND_OFFSET } from './fold-in.ts';

export interface LiveOverlayOptions {
  /** Offset the version already absorbed: records at or below it are skipped (default −1: none). */
  fromOffset?: number;
  /** Actions besides `fav` that are positive engagements (the build config's engagement actions). */
  engagementActions?: readonly string[];
  /**
   * Half-life of the trending counters, in hours: the version's item half-life by default; catalogues (whose
   * item embeddings do not decay) use 24 hours, so "trending" still means recent.
   */
  trendingHalfLifeHours?: number;
}

/** Trending half-life of versions whose items do not decay. */
export const DEFAULT_TRENDING_HALF_LIFE_HOURS = 24;
/** Impressions remembered per user (the most recent). */
export const SEEN_PER_USER = 256;

/** Why records were not applied, counted in stats().skipped. */
export type SkipReason =
  | 'unknownAction'
  | 'missingTarget'
  | 'unfavWithoutFav'
  | 'deleteUnknownItem'
  | 'followNotProducer'
  | 'ownItem'
  | 'itemTooOld';

export interface LiveOverlayStats {
  version: string;
  appliedOffset: number;
  applied: number;
  newItems: number;
  newUsers: number;
  itemRows: number;
  usersWithState: number;
  deletedItems: number;
  latestTs: number | null;
  skipped: Record<SkipReason, number>;
}

/** Per-item live counters. */
export interface ItemCounters {
  /** Decayed positive engagements, as of the overlay's latest event time. */
  engagements: number;
  impressions: number;
  clicks: number;
}

const NO_IDS = new Int32Array(0);
const NO_VALUES = new Float32Array(0);

/** One overlay per ServingModel (version). Not thread-safe; apply() and reads run on one event loop. */
export class LiveOverlay implements ModelOverlay {
  // ---- the version ----
  readonly version: string;
  private readonly nV: number;
  private readonly nU: number;
  private readonly k: number;
  private readonly social: boolean;
  private readonly rule: ItemUpdateRule;
  private readonly itemParams: ItemEmbeddingParams;
  private readonly iiParams: InterestedInParams;
  private readonly positive: ReadonlySet<string>;
  private readonly trendHalfLife: number | null;
  private readonly favHalfLife: number | null;
  private readonly lambda: number;
  /** InterestedIn of the version, per kind (null: not stored). */
  private readonly ii: Partial<Record<InterestedInScore, CsrMatrix>>;
  private readonly xKind: InterestedInScore;
  /** Raw kinds' column norms, kind-major (3 × k). */
  private readonly columnNorms: Float64Array;
  private readonly kfCluster: Int32Array;
  private readonly kfScore: Float32Array;
  private readonly versionPopularity: Float64Array;
  private readonly foldScratch: FoldInScratch;

  // ---- time ----
  /** The unit time of every published value (the version's builtNow, else its data time, else the first event). */
  private ref: number;
  private latest = Number.NaN;

  // ---- offsets and counters ----
  appliedOffset: number;
  private applied = 0;
  private readonly skipped: Record<SkipReason, number> = {
    unknownAction: 0,
    missingTarget: 0,
    unfavWithoutFav: 0,
    deleteUnknownItem: 0,
    followNotProducer: 0,
    ownItem: 0,
    itemTooOld: 0,
  };

  // ---- items (version 0..nV−1, new nV..) ----
  private readonly newItemIds: string[] = [];
  private readonly newItemIndex = new Map<string, number>();
  private nItems: number;
  itemNorms: Float32Array;
  private created: Float64Array;
  private hasCreated: boolean;
  private author: Int32Array;
  private deleted: Uint8Array;
  private nDeleted = 0;
  private slotOf: Int32Array;
  private engage: Float64Array;
  /** Items whose trending counter is positive. */
  private liveItems = 0;
  private impressions: Float64Array;
  private clicks: Float64Array;
  private readonly tags = new Map<number, readonly string[]>();
  /** Version items whose version row and entries are hidden (superseded or deleted), and the change journal. */
  private versionHiddenFlag: Uint8Array;
  private journal = new Int32Array(64);
  private nJournal = 0;

  // ---- item rows (slots) ----
  private nSlots = 0;
  private slotItem = new Int32Array(16);
  /** Full W per slot: cluster ids and values as of stTs, in the rule's touched order. */
  private readonly st = new SlotArena([Int32Array, Float64Array], [1, 1]);
  private stTs = new Float64Array(16);
  private stEng = new Int32Array(16);
  private stPeak = new Float64Array(16);
  /**
   * The published view per slot: clusters ascending, values (builtNow units), and each entry's key in its
   * cluster's list (NaN: not listed).
   */
  private readonly vw = new SlotArena([Int32Array, Float32Array, Float64Array], [1, 1, 1]);
  private readonly lists: RankedList[];

  // ---- users (version 0..nU−1, new nU..) ----
  private readonly newUserIds: string[] = [];
  private readonly newUserIndex = new Map<string, number>();
  private nUsers: number;
  private userSlotOf: Int32Array;
  private nUserSlots = 0;
  /**
   * Per user slot, the items engaged with, and per pair the rule's ledger [mass, massTs] (item-embeddings.ts)
   * and [fold mass (fav half-life), trending mass], both in builtNow units.
   */
  private readonly ui = new SlotArena([Int32Array, Float64Array, Float64Array], [1, 2, 2]);
  private readonly uh = new SlotArena([Int32Array], [1]);
  /** Impressions, a ring of SEEN_PER_USER per user. */
  private readonly us = new SlotArena([Int32Array], [1]);
  private uSeenNext = new Int32Array(16);
  /** Followed producers. */
  private readonly uf = new SlotArena([Int32Array], [1]);
  private readonly uTopics = new Map<number, string[]>();
  /** Folded-in InterestedIn of new users: clusters, then the six kinds in INTERESTED_IN_SCORES order. */
  private readonly ur = new SlotArena(
    [Int32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array],
    [1, 1, 1, 1, 1, 1, 1],
  );

  // ---- scratch ----
  private readonly state: ItemEmbeddingState;
  private readonly event: EngagementEvent = createEngagementEvent();
  private readonly view: UserVectorView;
  private readonly readIds: Int32Array;
  private readonly readVals: Float64Array;
  private readonly dense: Float64Array;
  private readonly pick: Int32Array;
  private readonly pickValue: Float64Array;
  /** A slot's listed entries (cluster, key) while publish() rewrites its view. */
  private readonly oldIds: Int32Array;
  private readonly oldKeys: Float64Array;
  private readonly oldHints: Int32Array;
  /**
   * Per entry of the published view (by its offset in the arena), where its list entry was put last: a hint
   * for finding it again, not state — stale after the arena moves a row, never serialized, and any value gives
   * the same lists (RankedList.positionNear).
   */
  private vwHint = new Int32Array(64);
  private readonly pairFav = { producer: new Int32Array(16), mass: new Float64Array(16) };
  private servingModel: ServingModel | null = null;

  private constructor(
    private readonly base: LiveBase,
    parts: VersionParts,
    options: LiveOverlayOptions,
  ) {
    this.version = base.version;
    this.nV = base.items.size;
    this.nU = base.users.size;
    this.k = base.k;
    this.social = base.social;
    this.itemParams = parts.itemParams;
    this.rule = parts.rule;
    this.iiParams = parts.iiParams;
    this.ii = parts.ii;
    this.xKind = parts.itemParams.userScore;
    this.columnNorms = parts.columnNorms;
    this.kfCluster = parts.kfCluster;
    this.kfScore = parts.kfScore;
    this.versionPopularity = parts.popularity;
    this.positive = new Set(['fav', ...(options.engagementActions ?? [])]);
    const trendHours =
      options.trendingHalfLifeHours ??
      (this.rule.halfLifeSeconds !== null
        ? this.rule.halfLifeSeconds / 3600
        : DEFAULT_TRENDING_HALF_LIFE_HOURS);
    this.trendHalfLife = trendHours * 3600;
    this.favHalfLife = this.iiParams.favHalfLifeDays === null ? null : this.iiParams.favHalfLifeDays * 86400;
    const annIndex = base.annIndex;
    // The cosine order of the version's queries: the shrinkage they default to (the build's), in median norms.
    this.lambda = (annIndex?.defaultShrinkage ?? this.itemParams.shrinkage) * base.medianItemNorm;
    this.ref = base.builtNow ?? base.dataTime ?? Number.NaN;
    this.appliedOffset = options.fromOffset ?? -1;

    const nV = this.nV;
    this.nItems = nV;
    this.itemNorms = new Float32Array(nV + 16);
    for (let i = 0; i < nV; i++) this.itemNorms[i] = base.versionItemNorm(i);
    this.created = new Float64Array(nV + 16).fill(Number.NaN);
    this.hasCreated = annIndex?.itemCreatedTs !== undefined || parts.created !== null;
    const created = annIndex?.itemCreatedTs ?? parts.created;
    if (created) this.created.set(created.subarray(0, Math.min(nV, created.length)));
    this.author = new Int32Array(nV + 16).fill(-1);
    if (parts.author) this.author.set(parts.author.subarray(0, Math.min(nV, parts.author.length)));
    this.deleted = new Uint8Array(nV + 16);
    this.slotOf = new Int32Array(nV + 16).fill(-1);
    this.engage = new Float64Array(nV + 16);
    this.impressions = new Float64Array(nV + 16);
    this.clicks = new Float64Array(nV + 16);
    this.versionHiddenFlag = new Uint8Array(nV);
    this.lists = Array.from({ length: this.k }, () => new RankedList());

    this.nUsers = this.nU;
    this.userSlotOf = new Int32Array(this.nU + 16).fill(-1);

    const k = this.k;
    this.state = createItemState(k);
    this.view = { ids: NO_IDS, values: NO_VALUES, gate: NO_VALUES, start: 0, end: 0 };
    this.readIds = new Int32Array(k);
    this.readVals = new Float64Array(k);
    this.dense = new Float64Array(k);
    this.pick = new Int32Array(k);
    this.pickValue = new Float64Array(k);
    this.oldIds = new Int32Array(k);
    this.oldKeys = new Float64Array(k);
    this.oldHints = new Int32Array(k);
    this.foldScratch = new FoldInScratch(k, this.kfCluster.length);
  }

  /**
   * An overlay over `model`'s version, empty. Reads what apply() needs synchronously (InterestedIn, KnownFor,
   * item authors, the update rule the version was built with) once.
   */
  static async create(model: ServingModel, options: LiveOverlayOptions = {}): Promise<LiveOverlay> {
    const base = model.liveBase();
    return new LiveOverlay(base, await readVersionParts(base), options);
  }

  /** A ServingModel answering from the version and this overlay (every route); one per overlay. */
  get model(): ServingModel {
    if (!this.servingModel) this.servingModel = this.base.model.withOverlay(this);
    return this.servingModel;
  }

  /** The time unit of published values (Unix seconds), NaN before any is known. */
  get asOf(): number {
    return this.ref;
  }

  /** The latest event time applied (Unix seconds), NaN before any. */
  get latestTs(): number {
    return this.latest;
  }

  // ---- apply --------------------------------------------------------------------------------------------

  /**
   * Applies records in offset order; records at or below appliedOffset are skipped (a replay changes nothing).
   * Synchronous; the effect is visible to the next query.
   */
  apply(records: readonly LoggedRecord[]): void {
    for (let j = 0; j < records.length; j++) {
      const r = records[j];
      if (!(r.offset > this.appliedOffset)) continue;
      if (Number.isFinite(r.ts)) {
        if (Number.isNaN(this.ref)) this.ref = r.ts;
        if (!(r.ts <= this.latest)) this.latest = r.ts;
      }
      if (isItemEvent(r)) this.applyItemEvent(r);
      else this.applyUserEvent(r);
      this.appliedOffset = r.offset;
      this.applied++;
    }
  }

  private applyItemEvent(r: ItemEvent): void {
    if (r.action === 'item_delete') {
      const i = this.lookupItem(r.itemId);
      if (i < 0) {
        this.skipped.deleteUnknownItem++;
        return;
      }
      if (this.deleted[i]) return;
      this.deleted[i] = 1;
      this.nDeleted++;
      const s = this.slotOf[i];
      if (s >= 0) this.unlist(s);
      this.itemNorms[i] = 0;
      this.syncHidden(i);
      return;
    }
    const i = this.internItem(r.itemId);
    if (r.authorId !== undefined) this.author[i] = this.internUser(r.authorId);
    if (r.createdTs !== undefined && Number.isFinite(r.createdTs)) {
      this.created[i] = r.createdTs;
      this.hasCreated = true;
    }
    if (r.tags !== undefined) this.tags.set(i, [...r.tags]);
    if (this.deleted[i]) {
      this.deleted[i] = 0;
      this.nDeleted--;
      const s = this.slotOf[i];
      if (s >= 0) this.publish(s, this.latest);
      else if (i < this.nV) this.itemNorms[i] = this.base.versionItemNorm(i);
      this.syncHidden(i);
    }
  }

  private applyUserEvent(r: UserEvent): void {
    const a = r.action;
    const positive = this.positive.has(a);
    if (positive || a === 'unfav' || a === 'click' || a === 'impression' || a === 'hide') {
      if (r.itemId === undefined) {
        this.skipped.missingTarget++;
        return;
      }
      const u = this.internUser(r.userId);
      const i = this.internItem(r.itemId);
      if (positive) this.engagement(u, i, r.ts, r.weight, true);
      else if (a === 'unfav') this.engagement(u, i, r.ts, r.weight, false);
      else if (a === 'click') this.clicks[i]++;
      else if (a === 'impression') {
        this.impressions[i]++;
        this.markSeen(this.userSlot(u), i);
      } else this.addHide(this.userSlot(u), i);
      return;
    }
    if (a === 'follow' || a === 'unfollow') {
      if (r.producerId === undefined) {
        this.skipped.missingTarget++;
        return;
      }
      const u = this.internUser(r.userId);
      const p = this.producerOf(r.producerId);
      if (p < 0) {
        this.skipped.followNotProducer++;
        return;
      }
      const s = this.userSlot(u);
      const f = this.uf;
      const n = f.len[s];
      const at = indexIn(f.cols[0] as Int32Array, f.off[s], n, p);
      if (a === 'follow' && at < 0) {
        const o = f.reserve(s, n + 1);
        f.cols[0][o + n] = p;
        f.len[s] = n + 1;
      } else if (a === 'unfollow' && at >= 0) {
        const o = f.off[s];
        f.cols[0][o + at] = f.cols[0][o + n - 1];
        f.len[s] = n - 1;
      } else return;
      if (u >= this.nU) this.foldIn(s);
      return;
    }
    if (a === 'topic_follow') {
      if (r.topic === undefined) {
        this.skipped.missingTarget++;
        return;
      }
      const s = this.userSlot(this.internUser(r.userId));
      const topics = this.uTopics.get(s);
      if (!topics) this.uTopics.set(s, [r.topic]);
      else if (!topics.includes(r.topic)) topics.push(r.topic);
      return;
    }
    this.skipped.unknownAction++;
  }

  /** A positive engagement or an unfav of user u with item i. */
  private engagement(u: number, i: number, ts: number, weight: number, positive: boolean): void {
    const s = this.userSlot(u);
    const ui = this.ui;
    let p = indexIn(ui.cols[0] as Int32Array, ui.off[s], ui.len[s], i);
    if (p < 0) {
      if (!positive) {
        this.skipped.unfavWithoutFav++;
        return;
      }
      p = this.addPair(s, i);
    }
    // The pair's position in the arena's columns.
    p += ui.off[s];
    const mass = ui.cols[2];
    const amount = this.rule.weighted ? weight : 1;
    const wasLive = this.engage[i] > 0;
    if (positive) {
      const t = amount * growth(ts - this.ref, this.trendHalfLife, MAX_COUNTER_HALF_LIVES);
      this.engage[i] += t;
      mass[2 * p + 1] += t;
      mass[2 * p] += weight * growth(ts - this.ref, this.favHalfLife);
    } else {
      this.engage[i] = Math.max(0, this.engage[i] - mass[2 * p + 1]);
      mass[2 * p] = 0;
      mass[2 * p + 1] = 0;
    }
    this.liveItems += (this.engage[i] > 0 ? 1 : 0) - (wasLive ? 1 : 0);
    if (this.k > 0) this.embed(u, p, i, ts, weight, positive);
    if (u >= this.nU) this.foldIn(s);
  }

  /** The §3.5 rule on item i's row for one engagement (applyEngagement, as the batch job folds it). */
  private embed(u: number, pair: number, i: number, ts: number, weight: number, positive: boolean): void {
    const ev = this.event;
    const ledger = this.ui.cols[1] as Float64Array;
    ev.ts = ts;
    ev.action = positive ? ACTION_POSITIVE : ACTION_UNFAV;
    ev.weight = weight;
    ev.itemCreatedTs = this.created[i];
    // An author's engagement with their own item is skipped (DESIGN §3.5) exactly when the batch job skips it:
    // the author is a producer of the version (the build knows authors as producers only).
    ev.byAuthor = this.social && this.author[i] === u && u < this.nU && this.base.entityProducer[u] >= 0;
    ev.undoMass = positive ? 0 : pairUndoMass(ledger, pair, ts, this.rule);
    if (!positive && !(ev.undoMass > 0)) {
      this.skipped.unfavWithoutFav++;
      return;
    }
    if (positive && ev.byAuthor) {
      this.skipped.ownItem++;
      return;
    }
    if (
      positive &&
      this.rule.maxItemAgeSeconds !== null &&
      ts - ev.itemCreatedTs > this.rule.maxItemAgeSeconds
    ) {
      this.skipped.itemTooOld++;
      return;
    }
    this.userVector(u, this.view);
    const slot = this.itemSlot(i);
    const st = this.state;
    this.load(st, slot);
    const outcome = applyEngagement(st, ev, this.view, this.rule);
    recordPairOutcome(ledger, pair, ev, outcome, this.rule);
    if (outcome !== EngagementOutcome.Applied && outcome !== EngagementOutcome.AppliedPeak) return;
    const n = readItemState(st, Number.NaN, this.rule.halfLifeSeconds, this.readIds, this.readVals);
    const a = this.st;
    const o = a.reserve(slot, n);
    const ids = a.cols[0];
    const vals = a.cols[1];
    for (let j = 0; j < n; j++) {
      ids[o + j] = this.readIds[j];
      vals[o + j] = this.readVals[j];
    }
    a.len[slot] = n;
    this.stTs[slot] = st.lastUpdateTs;
    this.stEng[slot] = st.engagements;
    this.stPeak[slot] = st.peakNorm2;
    this.publish(slot, ts);
  }

  /** loadItemState for a slot's stored W, without views over its arrays. */
  private load(st: ItemEmbeddingState, slot: number): void {
    resetItemState(st);
    const a = this.st;
    const ids = a.cols[0];
    const vals = a.cols[1];
    let norm2 = 0;
    const o = a.off[slot];
    for (let j = o; j < o + a.len[slot]; j++) {
      const c = ids[j];
      const v = vals[j];
      if (!(v > 0)) continue;
      st.isTouched[c] = 1;
      st.touched[st.nTouched++] = c;
      st.value[c] = v;
      norm2 += v * v;
    }
    st.norm2 = norm2;
    st.lastUpdateTs = this.stTs[slot];
    st.engagements = this.stEng[slot];
    st.peakNorm2 = Math.max(this.stPeak[slot], norm2);
  }

  /** Points `view` at user u's vector: the version's InterestedIn for known users, the fold-in for new ones. */
  private userVector(u: number, view: UserVectorView): void {
    if (u < this.nU) {
      const x = this.ii[this.xKind];
      const gate = this.ii.favScore;
      if (x && gate && u < x.nRows) {
        view.ids = x.indices;
        view.values = x.values ?? NO_VALUES;
        view.gate = gate.values ?? NO_VALUES;
        view.start = x.indptr[u];
        view.end = x.indptr[u + 1];
        return;
      }
    } else {
      const s = this.userSlotOf[u];
      const r = this.ur;
      if (s >= 0 && s < r.slots && r.len[s] > 0) {
        view.ids = r.cols[0] as Int32Array;
        view.values = r.cols[1 + KIND_OFFSET[this.xKind]] as Float32Array;
        view.gate = r.cols[1 + KIND_OFFSET.favScore] as Float32Array;
        view.start = r.off[s];
        view.end = r.off[s] + r.len[s];
        return;
      }
    }
    view.ids = NO_IDS;
    view.values = NO_VALUES;
    view.gate = NO_VALUES;
    view.start = 0;
    view.end = 0;
  }

  /**
   * Recomputes slot s's published view — top maxClustersPerItem clusters with value ≥ minItemScore, in builtNow
   * units — its norm, and its entries in the cluster lists (value ≥ minIndexScore, item not deleted, not older
   * than the age limit at `atTs`). The lists end as if every old entry were removed and the new ones inserted
   * in cluster order; an entry listed before and after is re-keyed in place (RankedList.move), which leaves the
   * same list and moves only what lies between its old and new rank.
   */
  private publish(slot: number, atTs: number): void {
    const item = this.slotItem[slot];
    const vw = this.vw;
    // The entries listed now, by cluster ascending (the view's order), before the view is overwritten.
    const oldIds = this.oldIds;
    const oldKeys = this.oldKeys;
    const oldHints = this.oldHints;
    let nOld = 0;
    {
      const o = vw.off[slot];
      const ids = vw.cols[0];
      const keys = vw.cols[2];
      for (let j = o; j < o + vw.len[slot]; j++) {
        if (Number.isNaN(keys[j])) continue;
        oldIds[nOld] = ids[j];
        oldHints[nOld] = j < this.vwHint.length ? this.vwHint[j] : 0;
        oldKeys[nOld++] = keys[j];
      }
    }
    const a = this.st;
    const n = a.len[slot];
    const o = a.off[slot];
    const ids = a.cols[0];
    const vals = a.cols[1];
    const g = growth(this.stTs[slot] - this.ref, this.rule.halfLifeSeconds);
    const dense = this.dense;
    const pick = this.pick;
    const pickValue = this.pickValue;
    const p = this.itemParams;
    let m = 0;
    for (let j = o; j < o + n; j++) {
      const v = vals[j] * g;
      if (!(v > 0) || v < p.minItemScore) continue;
      dense[ids[j]] = v;
      pickValue[m] = v;
      pick[m++] = ids[j];
    }
    if (m > p.maxClustersPerItem) {
      // The best by (value desc, cluster asc), as a sort would choose them, without sorting all.
      selectTop(pick, pickValue, m, p.maxClustersPerItem);
      for (let j = p.maxClustersPerItem; j < m; j++) dense[pick[j]] = 0;
      m = p.maxClustersPerItem;
    }
    sortAscending(pick, m);
    const vo = vw.reserve(slot, m);
    const vIds = vw.cols[0];
    const vVals = vw.cols[1];
    const vKey = vw.cols[2];
    let sq = 0;
    for (let j = vo; j < vo + m; j++) {
      const c = pick[j - vo];
      vIds[j] = c;
      vVals[j] = dense[c];
      dense[c] = 0;
      sq += vVals[j] * vVals[j];
      vKey[j] = Number.NaN;
    }
    vw.len[slot] = m;
    const norm = Math.sqrt(sq);
    this.itemNorms[item] = this.deleted[item] ? 0 : norm;
    const maxAge = this.rule.maxItemAgeSeconds;
    const tooOld = maxAge !== null && atTs - this.created[item] > maxAge;
    const listed = !this.deleted[item] && !tooOld;
    const byCosine = p.indexOrder === 'cosine';
    const den = norm + this.lambda;
    const lists = this.lists;
    if (this.vwHint.length < vw.cols[0].length) this.vwHint = ensureLength(this.vwHint, vw.cols[0].length);
    const hints = this.vwHint;
    let q = 0;
    for (let j = vo; j < vo + m; j++) {
      const c = vIds[j];
      while (q < nOld && oldIds[q] < c) {
        lists[oldIds[q]].remove(item, oldKeys[q]);
        q++;
      }
      const had = q < nOld && oldIds[q] === c;
      const oldKey = had ? oldKeys[q] : Number.NaN;
      const hint = had ? oldHints[q++] : 0;
      const w = vVals[j];
      if (!listed || w < p.minIndexScore) {
        if (had) lists[c].remove(item, oldKey);
        continue;
      }
      const key = byCosine ? w / den : w;
      const list = lists[c];
      if (had) {
        list.move(item, oldKey, key, w, hint);
        vKey[j] = key;
        hints[j] = list.lastAt;
        continue;
      }
      const evicted = list.insert(item, key, w, p.topItemsPerCluster);
      if (evicted === -2) continue;
      vKey[j] = key;
      hints[j] = list.lastAt;
      if (evicted >= 0) this.forgetEntry(evicted, c);
    }
    for (; q < nOld; q++) lists[oldIds[q]].remove(item, oldKeys[q]);
  }

  /** Removes slot s's entries from the cluster lists. */
  private unlist(slot: number): void {
    const item = this.slotItem[slot];
    const vw = this.vw;
    const ids = vw.cols[0];
    const keys = vw.cols[2];
    const o = vw.off[slot];
    for (let j = o; j < o + vw.len[slot]; j++) {
      if (Number.isNaN(keys[j])) continue;
      this.lists[ids[j]].remove(item, keys[j]);
      keys[j] = Number.NaN;
    }
  }

  /** An item's entry in cluster c was evicted from the list: its view no longer points at it. */
  private forgetEntry(item: number, c: number): void {
    const s = this.slotOf[item];
    if (s < 0) return;
    const vw = this.vw;
    const j = sortedIndex(vw.cols[0] as Int32Array, vw.off[s], vw.len[s], c);
    if (j >= 0) vw.cols[2][vw.off[s] + j] = Number.NaN;
  }

  // ---- users ----------------------------------------------------------------------------------------------

  private foldIn(s: number): void {
    const ui = this.ui;
    const n = ui.len[s];
    const pf = this.pairFav;
    if (pf.producer.length < n) {
      pf.producer = ensureLength(pf.producer, n);
      pf.mass = ensureLength(pf.mass, n);
    }
    const items = ui.cols[0];
    const mass = ui.cols[2];
    const o = ui.off[s];
    for (let j = 0; j < n; j++) {
      pf.producer[j] = this.itemProducer(items[o + j]);
      pf.mass[j] = mass[2 * (o + j)];
    }
    const f = this.uf;
    const row = foldInRow(
      (f.cols[0] as Int32Array).subarray(f.off[s], f.off[s] + f.len[s]),
      f.len[s],
      pf.producer,
      pf.mass,
      n,
      this.kfCluster,
      this.kfScore,
      this.columnNorms,
      this.iiParams,
      this.foldScratch,
    );
    const r = this.ur;
    r.ensureSlots(s + 1);
    const m = row.ids.length;
    const ro = r.reserve(s, m);
    r.cols[0].set(row.ids, ro);
    for (let q = 0; q < 6; q++) r.cols[1 + q].set(row.values.subarray(q * m, (q + 1) * m), ro);
    r.len[s] = m;
  }

  /** The producer an engagement with item i reaches: its author's (social), the item itself (catalogue). */
  private itemProducer(i: number): number {
    if (this.social) {
      const a = this.author[i];
      return a >= 0 && a < this.nU ? this.base.entityProducer[a] : -1;
    }
    return i < this.nV && i < this.base.entityProducer.length ? this.base.entityProducer[i] : -1;
  }

  /** Producer index of an external producer id (−1 when the version has no such producer). */
  private producerOf(id: string): number {
    const e = this.social ? this.base.users.get(id) : this.base.items.get(id);
    return e >= 0 && e < this.base.entityProducer.length ? this.base.entityProducer[e] : -1;
  }

  private addPair(s: number, i: number): number {
    const ui = this.ui;
    const n = ui.len[s];
    const o = ui.reserve(s, n + 1) + n;
    ui.cols[0][o] = i;
    ui.cols[1][2 * o] = 0;
    ui.cols[1][2 * o + 1] = Number.NaN;
    ui.cols[2][2 * o] = 0;
    ui.cols[2][2 * o + 1] = 0;
    ui.len[s] = n + 1;
    return n;
  }

  private addHide(s: number, i: number): void {
    const h = this.uh;
    const n = h.len[s];
    if (indexIn(h.cols[0] as Int32Array, h.off[s], n, i) >= 0) return;
    const o = h.reserve(s, n + 1);
    h.cols[0][o + n] = i;
    h.len[s] = n + 1;
  }

  private markSeen(s: number, i: number): void {
    const a = this.us;
    const n = a.len[s];
    if (indexIn(a.cols[0] as Int32Array, a.off[s], n, i) >= 0) return;
    if (n < SEEN_PER_USER) {
      const o = a.reserve(s, n + 1);
      a.cols[0][o + n] = i;
      a.len[s] = n + 1;
      return;
    }
    // Full: the oldest impression gives way.
    const at = this.uSeenNext[s];
    a.cols[0][a.off[s] + at] = i;
    this.uSeenNext[s] = (at + 1) % SEEN_PER_USER;
  }

  private userSlot(u: number): number {
    let s = this.userSlotOf[u];
    if (s >= 0) return s;
    s = this.nUserSlots++;
    this.userSlotOf[u] = s;
    for (const a of [this.ui, this.uh, this.us, this.uf]) a.ensureSlots(s + 1);
    this.uSeenNext = ensureLength(this.uSeenNext, s + 1);
    return s;
  }

  private internUser(id: string): number {
    const u = this.base.users.get(id);
    if (u >= 0) return u;
    let n = this.newUserIndex.get(id);
    if (n === undefined) {
      n = this.nUsers++;
      this.newUserIndex.set(id, n);
      this.newUserIds.push(id);
      this.userSlotOf = ensureLength(this.userSlotOf, this.nUsers, -1);
    }
    return n;
  }

  // ---- items ----------------------------------------------------------------------------------------------

  /** Index of an item id, version or new, deleted or not; −1 when unknown. */
  private lookupItem(id: string): number {
    const i = this.base.items.get(id);
    if (i >= 0) return i;
    return this.newItemIndex.get(id) ?? -1;
  }

  private internItem(id: string): number {
    const i = this.lookupItem(id);
    if (i >= 0) return i;
    const n = this.nItems++;
    this.newItemIndex.set(id, n);
    this.newItemIds.push(id);
    const need = this.nItems;
    this.itemNorms = ensureLength(this.itemNorms, need);
    this.created = ensureLength(this.created, need, Number.NaN);
    this.author = ensureLength(this.author, need, -1);
    this.deleted = ensureLength(this.deleted, need);
    this.slotOf = ensureLength(this.slotOf, need, -1);
    this.engage = ensureLength(this.engage, need);
    this.impressions = ensureLength(this.impressions, need);
    this.clicks = ensureLength(this.clicks, need);
    return n;
  }

  /** Item i's row slot, created on first touch from the version's stored row (as of builtNow). */
  private itemSlot(i: number): number {
    let s = this.slotOf[i];
    if (s >= 0) return s;
    s = this.nSlots++;
    this.slotOf[i] = s;
    this.slotItem = ensureLength(this.slotItem, s + 1);
    this.stTs = ensureLength(this.stTs, s + 1);
    this.stEng = ensureLength(this.stEng, s + 1);
    this.stPeak = ensureLength(this.stPeak, s + 1);
    this.st.ensureSlots(s + 1);
    this.vw.ensureSlots(s + 1);
    this.slotItem[s] = i;
    this.stTs[s] = Number.NaN;
    this.stPeak[s] = 0;
    const emb = this.base.annIndex?.itemEmbeddings;
    if (i < this.nV && emb && i < emb.nRows) {
      const from = emb.indptr[i];
      const n = emb.indptr[i + 1] - from;
      const so = this.st.reserve(s, n);
      const vo = this.vw.reserve(s, n);
      let sq = 0;
      for (let j = 0; j < n; j++) {
        const c = emb.indices[from + j];
        const v = emb.values ? emb.values[from + j] : 1;
        this.st.cols[0][so + j] = c;
        this.st.cols[1][so + j] = v;
        // The version's row and its index entries stay as they are until published again.
        this.vw.cols[0][vo + j] = c;
        this.vw.cols[1][vo + j] = v;
        this.vw.cols[2][vo + j] = Number.NaN;
        sq += v * v;
      }
      this.st.len[s] = n;
      this.vw.len[s] = n;
      this.stTs[s] = this.ref;
      this.stPeak[s] = sq;
    }
    this.stEng[s] = 0;
    this.syncHidden(i);
    return s;
  }

  /** Journals a version item whose "version entries hidden" state changed. */
  private syncHidden(i: number): void {
    if (i >= this.nV) return;
    const hidden = this.deleted[i] === 1 || this.slotOf[i] >= 0 ? 1 : 0;
    if (this.versionHiddenFlag[i] === hidden) return;
    this.versionHiddenFlag[i] = hidden;
    this.journal = ensureLength(this.journal, this.nJournal + 1);
    this.journal[this.nJournal++] = i;
  }

  // ---- AnnOverlayView ---------------------------------------------------------------------------------------

  get itemCount(): number {
    return this.nItems;
  }

  get indexTouched(): boolean {
    return this.nSlots > 0 || this.nItems > this.nV || this.nJournal > 0;
  }

  get itemCreatedTs(): Float64Array | null {
    return this.hasCreated ? this.created : null;
  }

  get hiddenChanges(): number {
    return this.nJournal;
  }

  hiddenChangeAt(j: number): number {
    return this.journal[j];
  }

  versionHidden(item: number): boolean {
    return this.versionHiddenFlag[item] === 1;
  }

  isDeleted(item: number): boolean {
    return this.deleted[item] === 1;
  }

  rowSlot(item: number): number {
    return item < this.nItems ? this.slotOf[item] : -1;
  }

  rowStart(slot: number): number {
    return this.vw.off[slot];
  }

  rowLength(slot: number): number {
    return this.vw.len[slot];
  }

  get rowIds(): Int32Array {
    return this.vw.cols[0] as Int32Array;
  }

  get rowValues(): Float32Array {
    return this.vw.cols[1] as Float32Array;
  }

  clusterLength(c: number): number {
    return c < this.k ? this.lists[c].length : 0;
  }

  clusterIds(c: number): Int32Array {
    return this.lists[c].ids;
  }

  clusterScores(c: number): Float32Array {
    return this.lists[c].scores;
  }

  // ---- ModelOverlay -----------------------------------------------------------------------------------------

  /** A user unknown to the version: its index (≥ the version's user count), −1 when the overlay has none. */
  userIndex(id: string): number {
    return this.newUserIndex.get(id) ?? -1;
  }

  userId(u: number): string {
    return u < this.nU ? this.base.users.id(u) : this.newUserIds[u - this.nU];
  }

  /** An item unknown to the version, not deleted: its index; −1 otherwise. */
  itemIndex(id: string): number {
    const i = this.newItemIndex.get(id);
    return i === undefined || this.deleted[i] ? -1 : i;
  }

  itemId(i: number): string {
    return i < this.nV ? this.base.items.id(i) : this.newItemIds[i - this.nV];
  }

  /** An item's overlay row (published view, builtNow units) or null when the overlay holds none. */
  itemRow(i: number): SparseRow | null {
    const s = this.rowSlot(i);
    if (s < 0) return null;
    const o = this.vw.off[s];
    const n = this.vw.len[s];
    return { ids: this.rowIds.slice(o, o + n), values: this.rowValues.slice(o, o + n) };
  }

  /**
   * The InterestedIn the overlay gives a user, or null to use the version's row (known users). A new user's row
   * is the fold-in of `kind`. As a query source (`asSource`), when that kind is empty (a user who only follows
   * has no fav scores) it is the followScoreClusterNormalized row; with neither (no follows, no favs of
   * producers' items), the L2-normalised sum of the current embeddings of the items they engaged with (the
   * cosine does not see the scale).
   */
  userRow(u: number, kind: InterestedInScore, asSource = true): SparseRow | null {
    if (u < this.nU) return null;
    const s = this.userSlotOf[u];
    if (s < 0) return { ids: NO_IDS, values: NO_VALUES };
    const r = this.ur;
    const o = s < r.slots ? r.off[s] : 0;
    const n = s < r.slots ? r.len[s] : 0;
    const row = (q: InterestedInScore) => ({
      ids: (r.cols[0] as Int32Array).slice(o, o + n),
      values: (r.cols[1 + KIND_OFFSET[q]] as Float32Array).slice(o, o + n),
    });
    if (!asSource) return row(kind);
    for (const q of [kind, 'followScoreClusterNormalized'] as const) {
      const r = row(q);
      if (r.values.some((v) => v > 0)) return r;
    }
    return this.engagedItemsVector(s);
  }

  private engagedItemsVector(s: number): SparseRow {
    const dense = this.dense;
    const mark = this.pick;
    let m = 0;
    const ui = this.ui;
    const items = ui.cols[0];
    const mass = ui.cols[2];
    for (let j = ui.off[s]; j < ui.off[s] + ui.len[s]; j++) {
      if (!(mass[2 * j + 1] > 0)) continue;
      const i = items[j];
      const row = this.currentRow(i);
      for (let q = 0; q < row.ids.length; q++) {
        const c = row.ids[q];
        if (dense[c] === 0) mark[m++] = c;
        dense[c] += row.values[q];
      }
    }
    const ids = Int32Array.from(mark.subarray(0, m)).sort();
    let sq = 0;
    for (let j = 0; j < m; j++) sq += dense[ids[j]] * dense[ids[j]];
    const norm = Math.sqrt(sq);
    const values = new Float32Array(m);
    for (let j = 0; j < m; j++) {
      values[j] = norm > 0 ? dense[ids[j]] / norm : 0;
      dense[ids[j]] = 0;
    }
    return { ids, values };
  }

  /** Item i's row as queries see it: the overlay's, else the version's. */
  private currentRow(i: number): SparseRow {
    const s = this.rowSlot(i);
    if (s >= 0) {
      const o = this.vw.off[s];
      return {
        ids: this.rowIds.subarray(o, o + this.vw.len[s]),
        values: this.rowValues.subarray(o, o + this.vw.len[s]),
      };
    }
    const emb = this.base.annIndex?.itemEmbeddings;
    if (!emb || i >= emb.nRows) return { ids: NO_IDS, values: NO_VALUES };
    return emb.row(i);
  }

  /** A user's slot, −1 when the overlay holds nothing for the user. */
  private slotOfUser(u: number): number {
    return u >= 0 && u < this.userSlotOf.length ? this.userSlotOf[u] : -1;
  }

  /** Slot s's row of an Int32 list arena, copied. */
  private static listOf(a: SlotArena, s: number): Int32Array {
    if (s < 0 || s >= a.slots) return NO_IDS;
    return (a.cols[0] as Int32Array).slice(a.off[s], a.off[s] + a.len[s]);
  }

  /** Items the overlay excludes from a user's candidates: engaged (any fav or engagement action) and hidden. */
  userExclusions(u: number): Int32Array {
    const s = this.slotOfUser(u);
    if (s < 0) return NO_IDS;
    const a = LiveOverlay.listOf(this.ui, s);
    const b = LiveOverlay.listOf(this.uh, s);
    const out = new Int32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  /** Items the overlay has seen the user engage with (fav or engagement action), in first-engagement order. */
  userEngaged(u: number): Int32Array {
    return LiveOverlay.listOf(this.ui, this.slotOfUser(u));
  }

  userHidden(u: number): Int32Array {
    return LiveOverlay.listOf(this.uh, this.slotOfUser(u));
  }

  /** The most recent impressions of a user (at most SEEN_PER_USER), unordered. */
  userSeen(u: number): Int32Array {
    return LiveOverlay.listOf(this.us, this.slotOfUser(u));
  }

  /** Producers a user follows in the overlay (producer indices), and followed topics. */
  userFollows(u: number): { producers: Int32Array; topics: readonly string[] } {
    const s = this.slotOfUser(u);
    return { producers: LiveOverlay.listOf(this.uf, s), topics: [...(this.uTopics.get(s) ?? [])] };
  }

  /** Version items deleted by the overlay (for sources that index the version only, e.g. dense). */
  deletedVersionItems(): Int32Array {
    if (this.nDeleted === 0) return NO_IDS;
    const out: number[] = [];
    for (let i = 0; i < this.nV; i++) if (this.deleted[i]) out.push(i);
    return Int32Array.from(out);
  }

  get deletedCount(): number {
    return this.nDeleted;
  }

  /** The author of item i as a user index (−1 none). */
  itemAuthor(i: number): number {
    return i < this.author.length ? this.author[i] : -1;
  }

  /** Metadata an upsert gave (author as a user id, creation time, tags); undefined fields were never given. */
  itemMeta(i: number): { authorId?: string; createdTs?: number; tags?: readonly string[] } {
    const a = this.author[i];
    return {
      authorId: a >= 0 ? this.userId(a) : undefined,
      createdTs: Number.isFinite(this.created[i]) ? this.created[i] : undefined,
      tags: this.tags.get(i),
    };
  }

  // ---- counters ---------------------------------------------------------------------------------------------

  /** Live counters of item i (zeros for an item the overlay never saw). */
  itemCounters(i: number): ItemCounters {
    const f = this.trendingToLatest;
    return { engagements: this.engage[i] * f, impressions: this.impressions[i], clicks: this.clicks[i] };
  }

  /** Whether any live positive engagement is counted (popular falls back to the version's counts otherwise). */
  get hasLiveEngagement(): boolean {
    return this.liveItems > 0;
  }

  /**
   * Decayed engagement counter per item in builtNow units (length ≥ itemCount): ranks like the counters
   * decayed to any common time. Read-only.
   */
  get trendingScores(): Float64Array {
    return this.engage;
  }

  /** The factor turning trendingScores into values as of the latest event. */
  get trendingToLatest(): number {
    // The inverse of the (capped) growth the counters were added with.
    return Number.isNaN(this.latest)
      ? 1
      : 1 / growth(this.latest - this.ref, this.trendHalfLife, MAX_COUNTER_HALF_LIVES);
  }

  /** Distinct users per item in the version's engagement log (the version's popularity), length nV. */
  get versionItemPopularity(): Float64Array {
    return this.versionPopularity;
  }

  stats(): LiveOverlayStats {
    return {
      version: this.version,
      appliedOffset: this.appliedOffset,
      applied: this.applied,
      newItems: this.nItems - this.nV,
      newUsers: this.nUsers - this.nU,
      itemRows: this.nSlots,
      usersWithState: this.nUserSlots,
      deletedItems: this.nDeleted,
      latestTs: Number.isNaN(this.latest) ? null : this.latest,
      skipped: { ...this.skipped },
    };
  }

  // ---- checkpoints ------------------------------------------------------------------------------------------

  /** The whole state as bytes, for LiveOverlay.restore over the same version. */
  serialize(): Uint8Array {
    return writeCheckpoint(this as unknown as Record<string, unknown>, CHECKPOINT_FIELDS, {
      version: this.version,
    });
  }

  /**
   * The overlay `bytes` were serialized from, over `model` (which must be the same version).
   * @throws SimrecError ARTIFACT_CORRUPT when the bytes are not a checkpoint or belong to another version
   */
  static async restore(
    model: ServingModel,
    bytes: Uint8Array,
    options: LiveOverlayOptions = {},
  ): Promise<LiveOverlay> {
    const overlay = await LiveOverlay.create(model, options);
    readCheckpoint(bytes, overlay as unknown as Record<string, unknown>, CHECKPOINT_FIELDS, (header) => {
      if (header.version !== overlay.version)
        throw new SimrecError(
          'ARTIFACT_CORRUPT',
          `checkpoint of version ${String(header.version)} cannot restore an overlay over version ${overlay.version}`,
          { field: 'checkpoint' },
        );
    });
    overlay.rebuildIndexes();
    return overlay;
  }

  /** Id maps of new entities, rebuilt after a restore. */
  private rebuildIndexes(): void {
    this.newItemIndex.clear();
    for (let j = 0; j < this.newItemIds.length; j++) this.newItemIndex.set(this.newItemIds[j], this.nV + j);
    this.newUserIndex.clear();
    for (let j = 0; j < this.newUserIds.length; j++) this.newUserIndex.set(this.newUserIds[j], this.nU + j);
  }
}

/**
 * Every field of the state, by kind, in checkpoint order. Scalars and strings travel in the JSON header, typed
 * arrays and lists of them as binary sections (checkpoint.ts).
 */
const CHECKPOINT_FIELDS = {
  scalars: [
    'ref',
    'latest',
    'appliedOffset',
    'applied',
    'nItems',
    'hasCreated',
    'nDeleted',
    'nJournal',
    'nSlots',
    'nUsers',
    'nUserSlots',
    'liveItems',
  ],
  json: ['skipped', 'newItemIds', 'newUserIds', 'tags', 'uTopics'],
  arrays: [
    'itemNorms',
    'created',
    'author',
    'deleted',
    'slotOf',
    'engage',
    'impressions',
    'clicks',
    'versionHiddenFlag',
    'journal',
    'slotItem',
    'stTs',
    'stEng',
    'stPeak',
    'userSlotOf',
    'uSeenNext',
  ],
  arenas: ['st', 'vw', 'ui', 'uh', 'us', 'uf', 'ur'],
  ranked: ['lists'],
} as const;

/** Sorts a[0..n) ascending in place: by insertion for the short rows publish() sees, natively beyond. */
function sortAscending(a: Int32Array, n: number): void {
  if (n > 64) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/**
 * Half-lives past the unit time beyond which a value stops growing. Published item values are float32 and their
 * squares are summed (norms, the ANN's accumulators): 2^40 leaves room for sums of many engagements squared under
 * float32's 2^128. Counters are float64 and only summed, so they may grow much further. An event later than the
 * cap (13 days at the 8-hour social half-life) counts as if at the cap: still far above every version value, but
 * no longer ahead of an older event past the cap; the next build moves the unit time (its builtNow) forward.
 */
const MAX_ITEM_HALF_LIVES = 40;
const MAX_COUNTER_HALF_LIVES = 900;

/**
 * 2^(dt/halfLife): the factor taking a value at time t to the unit time t − dt; 1 without decay or time. A
 * positive exponent is capped at `maxHalfLives` (see MAX_ITEM_HALF_LIVES); a negative one only decays.
 */
function growth(dt: number, halfLifeSeconds: number | null, maxHalfLives = MAX_ITEM_HALF_LIVES): number {
  if (halfLifeSeconds === null || !Number.isFinite(dt)) return 1;
  return Math.exp(Math.min(dt / halfLifeSeconds, maxHalfLives) * Math.LN2);
}

// ---- what the overlay reads from the version once --------------------------------------------------------------

interface VersionParts {
  itemParams: ItemEmbeddingParams;
  rule: ItemUpdateRule;
  iiParams: InterestedInParams;
  ii: Partial<Record<InterestedInScore, CsrMatrix>>;
  columnNorms: Float64Array;
  kfCluster: Int32Array;
  kfScore: Float32Array;
  author: Int32Array | null;
  created: Float64Array | null;
  popularity: Float64Array;
}

async function readVersionParts(base: LiveBase): Promise<VersionParts> {
  const reader = base.reader;
  const c = base.social ? 'social' : 'catalogue';
  let stored: Record<string, unknown> = {};
  let storedRule: unknown = null;
  if (base.hasSimClusters) {
    const meta = await readSimClustersMeta(reader);
    stored = meta.params;
    storedRule = meta.itemRule ?? null;
  }
  const itemParams: ItemEmbeddingParams = {
    ...ITEM_EMBEDDING_DEFAULTS[c],
    ...((stored.itemEmbeddings as Partial<ItemEmbeddingParams> | undefined) ?? {}),
  };
  const rule = isRule(storedRule) ? storedRule : itemUpdateRule(itemParams);
  const iiParams: InterestedInParams = {
    ...INTERESTED_IN_DEFAULTS[c],
    ...((stored.interestedIn as Partial<InterestedInParams> | undefined) ?? {}),
  };
  const read = async (kinds: readonly InterestedInScore[]) => {
    const out: Partial<Record<InterestedInScore, CsrMatrix>> = {};
    for (const kind of kinds) {
      const key = interestedInKey(kind);
      if (reader.has(key)) out[kind] = await reader.csr(key);
    }
    return out;
  };
  // What the rule reads of a known user: the vector it adds and the favScore gate.
  const ii = await read([itemParams.userScore, 'favScore']);
  const k = base.k;
  let columnNorms: Float64Array;
  if (reader.has(KEYS.interestedInColumnNorms)) {
    columnNorms = Float64Array.from(await reader.typedArray(KEYS.interestedInColumnNorms, 'float64'));
  } else {
    // Versions written before the norms were stored: a normalised entry is its raw one over the column norm,
    // so every column some user kept gives its norm back (to float32 precision).
    columnNorms = new Float64Array(3 * k);
    const all = await read(INTERESTED_IN_SCORES);
    RAW_SCORES.forEach((raw, q) => {
      const r = all[raw];
      const n = all[`${raw}ClusterNormalized` as InterestedInScore];
      if (!r?.values || !n?.values) return;
      for (let j = 0; j < r.values.length; j++) {
        const c2 = r.indices[j];
        if (columnNorms[q * k + c2] > 0 || !(r.values[j] > 0) || !(n.values[j] > 0)) continue;
        columnNorms[q * k + c2] = r.values[j] / n.values[j];
      }
    });
  }
  const kf = base.hasSimClusters
    ? await readKnownFor(reader)
    : { cluster: new Int32Array(0), score: new Float32Array(0) };
  const author = reader.has(KEYS.itemAuthor) ? await reader.typedArray(KEYS.itemAuthor, 'int32') : null;
  const created = reader.has(KEYS.itemCreatedTs)
    ? await reader.typedArray(KEYS.itemCreatedTs, 'float64')
    : null;
  const popularity = await readItemPopularity(reader, base.items.size);
  return {
    itemParams,
    rule,
    iiParams,
    ii,
    columnNorms,
    kfCluster: kf.cluster,
    kfScore: kf.score,
    author,
    created,
    popularity,
  };
}

function isRule(r: unknown): r is ItemUpdateRule {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  const nullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
  return (
    nullableNumber(o.halfLifeSeconds) &&
    nullableNumber(o.maxItemAgeSeconds) &&
    typeof o.minFavScore === 'number' &&
    typeof o.weighted === 'boolean'
  );
}
