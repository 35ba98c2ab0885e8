/**
 * Item (tweet) embeddings (DESIGN §3.5), batch and real time through one update rule.
 *
 * Each engagement of user u with item i adds u's vector x[u,·] (logFavScoreClusterNormalized by default) over the
 * clusters where u's favScore ≥ the threshold (when none of u's clusters reaches it, over those where u's favScore
 * is largest, so that a user of a few engagements is not left out of every item):
 *
 *     W[i,c] ← W[i,c] · 2^(−Δt / halfLife) + x[u,c]            (halfLife 8 h social; none for catalogues)
 *
 * stored as (values, lastUpdateTs) so any reader can decay to "now". {@link applyEngagement} is that rule, one
 * deterministic function of (state, event, user vector, rule) with no hidden inputs; the stream consumer calls it
 * per event and {@link computeItemEmbeddings} folds it over the log, item by item, in (ts, log position) order, so
 * both produce the same W.
 *
 * Skipped: a user's engagement with an item they authored, and engagements when the item is older than
 * maxItemAge (3 days social; unlimited catalogues). An unknown creation time or event time never skips.
 *
 * Unfavs. "What the fav added" is defined as the fav's contribution decayed to the unfav's time: a fav at t₁
 * added x[u]·s (s = 1, or the event weight when `weighted`), which by the unfav's time t₂ has become
 * x[u]·s·2^(−(t₂−t₁)/halfLife); the unfav subtracts exactly that (per cluster, clamped at 0), so the item ends up
 * as if the fav had never happened. Several applied favs of the same pair accumulate into one decayed "mass"
 * Σ s_j·2^(−(t₂−t_j)/halfLife) and one unfav removes all of them. The mass is tracked per (user, item) by a small
 * ledger ({@link pairUndoMass} / {@link recordPairOutcome}), passed to the rule in `event.undoMass`. An unfav with
 * nothing applied to undo (the fav was skipped, or already undone) changes nothing; an unfav is applied whatever
 * the item's age, since undoing must stay possible. x[u] is read at the unfav's time: it equals the fav's x in
 * batch; in streaming, if u's vector changed in between, the clamp keeps every entry ≥ 0.
 *
 * Time: events with unknown time (NaN) sort first, add without decay and do not move lastUpdateTs; an event older
 * than the state (late arrival in a stream) adds its contribution decayed to the state's time, which gives the
 * same W as in-order application (decay is linear) except where a clamp intervened.
 *
 * Views: item → top maxClustersPerItem clusters with score ≥ minItemScore; cluster → top M items (score ≥
 * minIndexScore, computed from the full W, not the truncated view; items past the age limit at "now" are not
 * indexed); for items with ≥ minEngagementsForLongest applied engagements, the "longest-L2" embedding: W at the
 * moment its L2 norm peaked (undecayed, as it was then), under the same view rule.
 */
import { type CsrMatrix, rowOfEntry } from '../core/csr.ts';
import { medianPositive } from '../core/median.ts';
import { ClusterTopAccumulator, type ClusterTopList } from './cluster-index.ts';
import {
  ACTION_POSITIVE,
  ACTION_UNFAV,
  CsrRowWriter,
  checkBoolean,
  checkChoice,
  checkEngagementLog,
  checkNow,
  checkNullableParam,
  checkParam,
  decayFactor,
  type EngagementLog,
  resolveNow,
  SECONDS_PER_HOUR,
  selectFirst,
  shapeError,
} from './embedding-types.ts';
import { checkScoreKind, type InterestedIn, type InterestedInScore } from './interested-in.ts';

export interface ItemEmbeddingParams {
  /** Half-life of W, in hours (8 social); null = no decay (catalogues). */
  halfLifeHours: number | null;
  /** Engagements with items older than this (hours since creation) are skipped (72 social); null = unlimited. */
  maxItemAgeHours: number | null;
  /** Base favScore threshold for a cluster of u to count (0.3; a user below it everywhere keeps the strongest clusters); see `scaleMinFavScore`. */
  minFavScore: number;
  /**
   * How the threshold is scaled to the data. 'meanWeight' multiplies it by the mean weight of the positive events
   * in the log: the published 0.3 was in units of one fav (weight 1), so with ratings as weights (≈ 4) the
   * threshold becomes ≈ 1.2, i.e. still "about a third of one typical engagement from a producer with KnownFor
   * score 1". With unit weights both modes agree. 'none' uses minFavScore as is.
   */
  scaleMinFavScore: 'none' | 'meanWeight';
  /** The user vector x added per engagement (logFavScoreClusterNormalized). */
  userScore: InterestedInScore;
  /** true: an engagement adds weight·x (ratings count more); false: it adds x, as published. */
  weighted: boolean;
  /** View: clusters kept per item (50). */
  maxClustersPerItem: number;
  /** View: entries below this are dropped (0.02). */
  minItemScore: number;
  /** Index: items kept per cluster (1600). */
  topItemsPerCluster: number;
  /** Index: entries below this are not indexed (0.001). */
  minIndexScore: number;
  /** Items with at least this many applied engagements keep their longest-L2 embedding (8). */
  minEngagementsForLongest: number;
  /** "now" (Unix seconds) everything is decayed to; null = the latest event time. Later events are ignored. */
  now: number | null;
  /**
   * How each cluster's top items are chosen: 'cosine' ranks by W[i,c]/‖W_i‖, the share of the item's embedding
   * on c, which is what the exact cosine step of SimClustersAnn rewards; 'score' ranks by W[i,c] itself (popular
   * items first). Either way the index stores W[i,c]. Measured on the social preset (300 users, N = 50, X = 200):
   * recall@50 against exhaustive exact cosine 0.48 ('score', M = 400) against 0.92 ('cosine').
   */
  indexOrder: 'cosine' | 'score';
  /**
   * λ of the shrunk cosine u·W/(‖u‖(‖W‖ + λ)), in median item norms: the default of SimClusters ANN queries on
   * this version (stored with the version; a request's `shrinkage` overrides it) and the order of the cosine
   * index (W[i,c]/(‖W_i‖ + λ)). ‖W_i‖ grows with an item's engagement mass, so an item seen by few users no
   * longer scores like a copy of their vectors, and items that point the same way (one-hot in one cluster,
   * common on real data) are ordered by evidence instead of tying. The support shrinkage of neighbourhood
   * similarities (Koren, KDD 2008), with the mass in place of the co-rating count. 0 = plain cosine.
   */
  shrinkage: number;
}

const SHARED = {
  minFavScore: 0.3,
  scaleMinFavScore: 'meanWeight',
  userScore: 'logFavScoreClusterNormalized',
  weighted: false,
  maxClustersPerItem: 50,
  minItemScore: 0.02,
  topItemsPerCluster: 1600,
  minIndexScore: 0.001,
  minEngagementsForLongest: 8,
  now: null,
  indexOrder: 'cosine',
  shrinkage: 10,
} as const;

export const ITEM_EMBEDDING_DEFAULTS: Readonly<{
  social: Readonly<ItemEmbeddingParams>;
  catalogue: Readonly<ItemEmbeddingParams>;
}> = Object.freeze({
  social: Object.freeze({ ...SHARED, halfLifeHours: 8, maxItemAgeHours: 72 }),
  catalogue: Object.freeze({ ...SHARED, halfLifeHours: null, maxItemAgeHours: null }),
});

/** The update rule's parameters in the units it works in, threshold already scaled to the data. */
export interface ItemUpdateRule {
  readonly halfLifeSeconds: number | null;
  readonly maxItemAgeSeconds: number | null;
  /** Effective favScore threshold. */
  readonly minFavScore: number;
  readonly weighted: boolean;
}

export function checkItemEmbeddingParams(p: ItemEmbeddingParams): void {
  const s = 'itemEmbeddings';
  checkNullableParam(s, 'halfLifeHours', p.halfLifeHours);
  checkNullableParam(s, 'maxItemAgeHours', p.maxItemAgeHours);
  checkParam(s, 'minFavScore', p.minFavScore, 0);
  checkChoice(s, 'scaleMinFavScore', p.scaleMinFavScore, ['none', 'meanWeight']);
  checkScoreKind(s, 'userScore', p.userScore);
  checkBoolean(s, 'weighted', p.weighted);
  checkParam(s, 'maxClustersPerItem', p.maxClustersPerItem, 0, true);
  checkParam(s, 'minItemScore', p.minItemScore, 0);
  checkParam(s, 'topItemsPerCluster', p.topItemsPerCluster, 0, true);
  checkParam(s, 'minIndexScore', p.minIndexScore, 0);
  checkParam(s, 'shrinkage', p.shrinkage, 0);
  checkParam(s, 'minEngagementsForLongest', p.minEngagementsForLongest, 0, true);
  checkNow(s, p.now);
  checkChoice(s, 'indexOrder', p.indexOrder, ['cosine', 'score']);
}

/**
 * Resolves the rule from the parameters and, for 'meanWeight' scaling, the log (positive events up to `now`).
 * The stream consumer should use the rule recorded by the batch build so both agree.
 */
export function itemUpdateRule(
  params: ItemEmbeddingParams,
  log: EngagementLog | null = null,
): ItemUpdateRule {
  checkItemEmbeddingParams(params);
  let minFavScore = params.minFavScore;
  if (params.scaleMinFavScore === 'meanWeight' && log?.matrix.values) {
    const now = resolveNow(log, params.now);
    const w = log.matrix.values;
    let sum = 0;
    let n = 0;
    for (let k = 0; k < w.length; k++) {
      if (log.action[k] !== ACTION_POSITIVE || log.ts[k] > now) continue;
      sum += w[k];
      n++;
    }
    if (n > 0 && sum > 0) minFavScore *= sum / n;
  }
  return {
    halfLifeSeconds: params.halfLifeHours === null ? null : params.halfLifeHours * SECONDS_PER_HOUR,
    maxItemAgeSeconds: params.maxItemAgeHours === null ? null : params.maxItemAgeHours * SECONDS_PER_HOUR,
    minFavScore,
    weighted: params.weighted,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The update rule.

/** One engagement as the rule sees it. The batch job reuses one mutable instance for every event. */
export interface EngagementEvent {
  /** Unix seconds; NaN = unknown. */
  ts: number;
  /** ACTION_POSITIVE or ACTION_UNFAV. */
  action: number;
  /** Event weight (used when the rule is weighted). */
  weight: number;
  /** The item's creation time; NaN = unknown. */
  itemCreatedTs: number;
  /** The user authored the item. */
  byAuthor: boolean;
  /** Unfav only: the pair's applied mass still to undo, as of `ts` (see {@link pairUndoMass}). */
  undoMass: number;
}

export function createEngagementEvent(): EngagementEvent {
  return {
    ts: Number.NaN,
    action: ACTION_POSITIVE,
    weight: 1,
    itemCreatedTs: Number.NaN,
    byAuthor: false,
    undoMass: 0,
  };
}

/**
 * The engaging user's vector as a window [start, end) over parallel arrays: cluster ids, the values x added, and
 * the gate (favScore) compared with the threshold. A window over InterestedIn's stored arrays costs no copy.
 */
export interface UserVectorView {
  ids: Int32Array;
  values: Float32Array;
  gate: Float32Array;
  start: number;
  end: number;
}

/** Points `out` (or a new view) at user u's InterestedIn row: x = `score`, gate = favScore. */
export function userVectorView(
  ii: InterestedIn,
  u: number,
  score: InterestedInScore = 'logFavScoreClusterNormalized',
  out?: UserVectorView,
): UserVectorView {
  const view = out ?? {
    ids: ii.clusters,
    values: ii.scores[score],
    gate: ii.scores.favScore,
    start: 0,
    end: 0,
  };
  view.ids = ii.clusters;
  view.values = ii.scores[score];
  view.gate = ii.scores.favScore;
  view.start = ii.indptr[u];
  view.end = ii.indptr[u + 1];
  return view;
}

/**
 * One item's W as a dense vector over clusters with a touched list. True values are value[c]·scale: decay
 * multiplies `scale` alone (O(1) per event instead of O(clusters)), and the values are folded back into
 * `scale = 1` before they could overflow.
 */
export interface ItemEmbeddingState {
  readonly k: number;
  readonly value: Float64Array;
  readonly touched: Int32Array;
  readonly isTouched: Uint8Array;
  nTouched: number;
  scale: number;
  /** Σ value[c]² in stored units (true squared norm = norm2·scale²). */
  norm2: number;
  /** Time of the last timed update; NaN = none yet. */
  lastUpdateTs: number;
  /** Applied positive engagements. */
  engagements: number;
  /** Largest true squared L2 norm reached so far. */
  peakNorm2: number;
}

export function createItemState(k: number): ItemEmbeddingState {
  return {
    k,
    value: new Float64Array(k),
    touched: new Int32Array(k),
    isTouched: new Uint8Array(k),
    nTouched: 0,
    scale: 1,
    norm2: 0,
    lastUpdateTs: Number.NaN,
    engagements: 0,
    peakNorm2: 0,
  };
}

/** Back to the empty item, in O(touched). */
export function resetItemState(s: ItemEmbeddingState): void {
  for (let j = 0; j < s.nTouched; j++) {
    const c = s.touched[j];
    s.value[c] = 0;
    s.isTouched[c] = 0;
  }
  s.nTouched = 0;
  s.scale = 1;
  s.norm2 = 0;
  s.lastUpdateTs = Number.NaN;
  s.engagements = 0;
  s.peakNorm2 = 0;
}

/** Loads a stored sparse W (values as of lastUpdateTs) into a reset state, e.g. before a streaming update. */
export function loadItemState(
  s: ItemEmbeddingState,
  ids: Int32Array,
  values: Float32Array | Float64Array,
  lastUpdateTs: number,
  engagements = 0,
  peakNorm2 = 0,
): void {
  resetItemState(s);
  for (let j = 0; j < ids.length; j++) {
    const c = ids[j];
    if (c < 0 || c >= s.k) throw shapeError(`cluster ${c} outside [0, ${s.k})`, 'ids');
    const v = values[j];
    if (!(v > 0)) continue;
    if (s.isTouched[c] === 0) {
      s.isTouched[c] = 1;
      s.touched[s.nTouched++] = c;
    }
    s.norm2 += v * v - s.value[c] * s.value[c];
    s.value[c] = v;
  }
  s.lastUpdateTs = lastUpdateTs;
  s.engagements = engagements;
  s.peakNorm2 = Math.max(peakNorm2, s.norm2);
}

/**
 * Writes W's positive entries decayed to `atTs` (NaN or earlier than the state: no decay) into outIds/outValues
 * in touched order; returns their count. Buffers need room for k entries.
 */
export function readItemState(
  s: ItemEmbeddingState,
  atTs: number,
  halfLifeSeconds: number | null,
  outIds: Int32Array,
  outValues: Float64Array,
): number {
  const f = s.scale * decayFactor(atTs - s.lastUpdateTs, halfLifeSeconds);
  let n = 0;
  for (let j = 0; j < s.nTouched; j++) {
    const c = s.touched[j];
    const v = s.value[c] * f;
    if (v > 0) {
      outIds[n] = c;
      outValues[n++] = v;
    }
  }
  return n;
}

/** What {@link applyEngagement} did. */
export const EngagementOutcome = {
  Applied: 0,
  /** Applied, and W's L2 norm is the largest so far (a new longest-L2 snapshot). */
  AppliedPeak: 1,
  SkippedOwnItem: 2,
  SkippedTooOld: 3,
  SkippedNothingToUndo: 4,
} as const;
export type EngagementOutcome = (typeof EngagementOutcome)[keyof typeof EngagementOutcome];

/** The amount a positive event adds to its pair's mass: its weight when the rule is weighted, else 1. */
export function eventAmount(event: EngagementEvent, rule: ItemUpdateRule): number {
  return rule.weighted ? event.weight : 1;
}

/** Below this scale the stored values are folded back (values stay < ~1e60, squares far from overflow). */
const MIN_SCALE = 1e-60;

/**
 * The update rule of DESIGN §3.5 (see the module comment for skips, unfavs and time). Mutates `state` only;
 * reads nothing else. Returns the outcome.
 */
export function applyEngagement(
  state: ItemEmbeddingState,
  event: EngagementEvent,
  user: UserVectorView,
  rule: ItemUpdateRule,
): EngagementOutcome {
  const positive = event.action === ACTION_POSITIVE;
  if (!positive && event.action !== ACTION_UNFAV) {
    throw shapeError(`unknown engagement action ${event.action}`, 'action');
  }
  if (positive) {
    if (event.byAuthor) return EngagementOutcome.SkippedOwnItem;
    if (rule.maxItemAgeSeconds !== null && event.ts - event.itemCreatedTs > rule.maxItemAgeSeconds) {
      return EngagementOutcome.SkippedTooOld;
    }
  } else if (!(event.undoMass > 0)) {
    return EngagementOutcome.SkippedNothingToUndo;
  }

  let amount = positive ? eventAmount(event, rule) : -event.undoMass;
  const t = event.ts;
  if (!Number.isNaN(t)) {
    const last = state.lastUpdateTs;
    if (Number.isNaN(last) || t >= last) {
      if (!Number.isNaN(last)) state.scale *= decayFactor(t - last, rule.halfLifeSeconds);
      state.lastUpdateTs = t;
    } else {
      amount *= decayFactor(last - t, rule.halfLifeSeconds);
    }
  }
  if (state.scale < MIN_SCALE) foldScale(state);

  const inv = amount / state.scale;
  const { value, touched, isTouched } = state;
  const { ids, values, gate } = user;
  // The threshold drops a user's weak clusters, not the user: when none of u's clusters reaches it (a user of a
  // few engagements with producers of low KnownFor score, most raters of a sparse catalogue), u's strongest
  // clusters still count, as InterestedIn keeps a user whose clusters all lack social proof.
  let threshold = rule.minFavScore;
  let strongest = 0;
  for (let j = user.start; j < user.end; j++) if (gate[j] > strongest) strongest = gate[j];
  if (strongest > 0 && strongest < threshold) threshold = strongest;
  let norm2 = state.norm2;
  for (let j = user.start; j < user.end; j++) {
    const x = values[j];
    if (x === 0 || !(gate[j] >= threshold)) continue;
    const c = ids[j];
    const old = value[c];
    let v = old + x * inv;
    if (v < 0) v = 0;
    value[c] = v;
    norm2 += v * v - old * old;
    if (isTouched[c] === 0) {
      isTouched[c] = 1;
      touched[state.nTouched++] = c;
    }
  }
  state.norm2 = Math.max(norm2, 0);
  if (positive) state.engagements++;
  const trueNorm2 = state.norm2 * state.scale * state.scale;
  if (trueNorm2 > state.peakNorm2) {
    state.peakNorm2 = trueNorm2;
    return EngagementOutcome.AppliedPeak;
  }
  return EngagementOutcome.Applied;
}

function foldScale(s: ItemEmbeddingState): void {
  const f = s.scale;
  for (let j = 0; j < s.nTouched; j++) s.value[s.touched[j]] *= f;
  s.norm2 *= f * f;
  s.scale = 1;
}

/**
 * The pair ledger: per (user, item) slot, [mass, massTs] at ledger[2·slot], ledger[2·slot + 1] — the applied
 * positive mass not yet undone, as of massTs. An empty slot is [0, NaN].
 * Returns the mass an unfav at `ts` undoes: the mass decayed to ts.
 */
export function pairUndoMass(ledger: Float64Array, slot: number, ts: number, rule: ItemUpdateRule): number {
  const mass = ledger[2 * slot];
  return mass > 0 ? mass * decayFactor(ts - ledger[2 * slot + 1], rule.halfLifeSeconds) : 0;
}

/** Updates a pair's ledger slot after {@link applyEngagement} returned `outcome` for `event`. */
export function recordPairOutcome(
  ledger: Float64Array,
  slot: number,
  event: EngagementEvent,
  outcome: EngagementOutcome,
  rule: ItemUpdateRule,
): void {
  if (outcome !== EngagementOutcome.Applied && outcome !== EngagementOutcome.AppliedPeak) return;
  const m = 2 * slot;
  if (event.action !== ACTION_POSITIVE) {
    ledger[m] = 0;
    ledger[m + 1] = Number.NaN;
    return;
  }
  const amount = eventAmount(event, rule);
  const t = event.ts;
  const mass = ledger[m];
  const massTs = ledger[m + 1];
  if (mass === 0) {
    ledger[m] = amount;
    ledger[m + 1] = t;
  } else if (Number.isNaN(t)) {
    ledger[m] = mass + amount;
  } else if (Number.isNaN(massTs) || t >= massTs) {
    ledger[m] = mass * decayFactor(t - massTs, rule.halfLifeSeconds) + amount;
    ledger[m + 1] = t;
  } else {
    ledger[m] = mass + amount * decayFactor(massTs - t, rule.halfLifeSeconds);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The batch job.

export interface ItemEmbeddingInput {
  /** users × items, one entry per event. */
  engagements: EngagementLog;
  interestedIn: InterestedIn;
  /** item → authoring producer (-1 none); with userProducer, identifies a user's own items. */
  itemAuthor?: Int32Array | null;
  /** user → the producer index of that same account (-1 none). Absent: no user authors items. */
  userProducer?: Int32Array | null;
  /** item → creation time (NaN unknown). Absent: every age unknown. */
  itemCreatedTs?: Float64Array | null;
}

export interface ItemEmbeddingStats {
  events: number;
  eventsAfterNow: number;
  positivesApplied: number;
  unfavsApplied: number;
  skippedOwnItem: number;
  skippedTooOld: number;
  skippedNothingToUndo: number;
  items: number;
  itemsWithEmbedding: number;
  itemsWithLongest: number;
  indexedItems: number;
}

export interface ItemEmbeddings {
  /** items × clusters, the view (top maxClustersPerItem ≥ minItemScore), values decayed to `asOf`. */
  embedding: CsrMatrix;
  /** The time values are decayed to (NaN: no known time, nothing decayed). */
  asOf: number;
  /** Per item, the time of its last timed update (NaN none), for readers that keep decaying. */
  lastUpdateTs: Float64Array;
  /** Per item, applied positive engagements. */
  engagements: Int32Array;
  /** items × clusters: the longest-L2 view for items with ≥ minEngagementsForLongest engagements, else empty. */
  longest: CsrMatrix;
  /** Per item, when the longest-L2 snapshot was taken (NaN none/unknown). */
  longestTs: Float64Array;
  /** cluster → top items by W decayed to asOf, best first. */
  clusterTopItems: ClusterTopList;
  /** The resolved rule (effective threshold), for the stream consumer to reuse. */
  rule: ItemUpdateRule;
  stats: ItemEmbeddingStats;
}

/** Groups at most this long are insertion-sorted; longer ones use a comparator sort. */
const INSERTION_SORT_MAX = 32;

/**
 * The log's events grouped by item, each group in (ts, log position) order with unknown times first; events after
 * `now` are left out. A stable counting sort by item, then a sort within each group: insertion sort for the
 * typical short group (few comparisons, no allocation), a comparator sort for long ones (viral items).
 */
export function itemEventOrder(log: EngagementLog, now: number): { order: Int32Array; itemPtr: Int32Array } {
  const m = log.matrix;
  const E = m.nnz;
  const ts = log.ts;
  const nItems = m.nCols;
  // Unknown times sort first: key −∞.
  const key = new Float64Array(E);
  const itemPtr = new Int32Array(nItems + 1);
  for (let p = 0; p < E; p++) {
    const t = ts[p];
    key[p] = Number.isNaN(t) ? -Infinity : t;
    if (!(t > now)) itemPtr[m.indices[p] + 1]++;
  }
  for (let i = 0; i < nItems; i++) itemPtr[i + 1] += itemPtr[i];
  const next = itemPtr.slice(0, nItems);
  const order = new Int32Array(itemPtr[nItems]);
  for (let p = 0; p < E; p++) if (!(ts[p] > now)) order[next[m.indices[p]]++] = p;
  const byTime = (a: number, b: number): number => key[a] - key[b] || a - b;
  for (let i = 0; i < nItems; i++) {
    const from = itemPtr[i];
    const to = itemPtr[i + 1];
    if (to - from > INSERTION_SORT_MAX) {
      order.subarray(from, to).sort(byTime);
      continue;
    }
    // Positions within a group ascend, so only the time key can put an event before its predecessor.
    for (let q = from + 1; q < to; q++) {
      const p = order[q];
      const kp = key[p];
      let r = q - 1;
      while (r >= from && key[order[r]] > kp) {
        order[r + 1] = order[r];
        r--;
      }
      order[r + 1] = p;
    }
  }
  return { order, itemPtr };
}

/**
 * Batch item embeddings (DESIGN §3.5): folds {@link applyEngagement} over the log in time order, decays every item
 * to "now", and builds the item view, the longest-L2 view and the cluster → top items index. One reusable dense
 * state and one pair ledger over users serve all items; nothing is allocated per event.
 */
/** The index ranked by share of the item's norm, with W[i,c] (share × ‖W_i‖) stored back as the score. */
function rescale(list: ClusterTopList, norm: Float64Array): ClusterTopList {
  const scores = new Float32Array(list.scores.length);
  for (let j = 0; j < scores.length; j++) scores[j] = list.scores[j] * norm[list.ids[j]];
  return { ...list, scores };
}

export function computeItemEmbeddings(
  input: ItemEmbeddingInput,
  params: ItemEmbeddingParams = ITEM_EMBEDDING_DEFAULTS.social,
): ItemEmbeddings {
  const log = input.engagements;
  const ii = input.interestedIn;
  const nUsers = log.matrix.nRows;
  const nItems = log.matrix.nCols;
  const k = ii.k;
  if (ii.nUsers !== nUsers)
    throw shapeError(`interestedIn has ${ii.nUsers} users, the log ${nUsers}`, 'interestedIn');
  checkEngagementLog(log, nUsers, nItems);
  const author = input.itemAuthor ?? null;
  const userProducer = input.userProducer ?? null;
  const created = input.itemCreatedTs ?? null;
  if (author && author.length !== nItems)
    throw shapeError(`itemAuthor has ${author.length} items`, 'itemAuthor');
  if (userProducer && userProducer.length !== nUsers) {
    throw shapeError(`userProducer has ${userProducer.length} users`, 'userProducer');
  }
  if (created && created.length !== nItems)
    throw shapeError(`itemCreatedTs has ${created.length} items`, 'itemCreatedTs');

  const rule = itemUpdateRule(params, log);
  const now = resolveNow(log, params.now);
  const h = rule.halfLifeSeconds;
  const { order, itemPtr } = itemEventOrder(log, now);
  // The fold walks the events item by item, the log is stored user by user: the columns the fold reads are
  // gathered into item order once — a loop of independent loads the CPU overlaps — so the fold (and the
  // longest-L2 replay) scans them instead of missing the cache on every event.
  const nEvents = order.length;
  const evUser = new Int32Array(nEvents);
  const evTs = new Float64Array(nEvents);
  const evAction = new Uint8Array(nEvents);
  const evWeight = log.matrix.values ? new Float32Array(nEvents) : null;
  {
    const userOf = rowOfEntry(log.matrix);
    const weights = log.matrix.values;
    for (let q = 0; q < nEvents; q++) {
      const p = order[q];
      evUser[q] = userOf[p];
      evTs[q] = log.ts[p];
      evAction[q] = log.action[p];
    }
    if (weights && evWeight) for (let q = 0; q < nEvents; q++) evWeight[q] = weights[order[q]];
  }

  const state = createItemState(k);
  const event = createEngagementEvent();
  const view = userVectorView(ii, 0, params.userScore);
  const ledger = new Float64Array(2 * nUsers).fill(Number.NaN);
  for (let u = 0; u < nUsers; u++) ledger[2 * u] = 0;
  const ledgerUsed = new Uint8Array(nUsers);
  const ledgerUsers = new Int32Array(nUsers);
  const readIds = new Int32Array(k);
  const readValues = new Float64Array(k);
  const dense = new Float64Array(k);
  const pick = new Int32Array(k);
  const byValue = (a: number, b: number): number => dense[b] - dense[a] || a - b;

  // Outcome tallies of the main fold (the longest-L2 refold replays events and is not counted).
  const tally = new Float64Array(5);
  let unfavsApplied = 0;
  /** Folds the item's events order[from..to) into the reset state; stops after position `stopAt`. */
  const foldItem = (item: number, from: number, to: number, stopAt: number, count: boolean): number => {
    let peak = -1;
    let nLedger = 0;
    const itemAuthor = author ? author[item] : -1;
    event.itemCreatedTs = created ? created[item] : Number.NaN;
    for (let q = from; q < to; q++) {
      const u = evUser[q];
      event.ts = evTs[q];
      event.action = evAction[q];
      event.weight = evWeight ? evWeight[q] : 1;
      event.byAuthor = itemAuthor >= 0 && userProducer !== null && userProducer[u] === itemAuthor;
      event.undoMass = event.action === ACTION_UNFAV ? pairUndoMass(ledger, u, event.ts, rule) : 0;
      view.start = ii.indptr[u];
      view.end = ii.indptr[u + 1];
      const outcome = applyEngagement(state, event, view, rule);
      recordPairOutcome(ledger, u, event, outcome, rule);
      if (ledgerUsed[u] === 0) {
        ledgerUsed[u] = 1;
        ledgerUsers[nLedger++] = u;
      }
      if (count) {
        tally[outcome]++;
        if (event.action === ACTION_UNFAV && outcome <= EngagementOutcome.AppliedPeak) unfavsApplied++;
      }
      if (outcome === EngagementOutcome.AppliedPeak) peak = q;
      if (q === stopAt) break;
    }
    for (let j = 0; j < nLedger; j++) {
      const u = ledgerUsers[j];
      ledgerUsed[u] = 0;
      ledger[2 * u] = 0;
      ledger[2 * u + 1] = Number.NaN;
    }
    return peak;
  };

  /** Writes the view (top maxClustersPerItem ≥ minItemScore, sorted by cluster) of the read-out buffers. */
  const writeView = (writer: CsrRowWriter, n: number): number => {
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (readValues[j] < params.minItemScore) continue;
      dense[readIds[j]] = readValues[j];
      pick[m++] = readIds[j];
    }
    const kept = selectFirst(pick, m, params.maxClustersPerItem, byValue);
    const row = pick.subarray(0, kept).sort();
    writer.ensure(kept);
    const out = writer.values[0];
    for (let j = 0; j < kept; j++) {
      writer.indices[writer.nnz] = row[j];
      out[writer.nnz++] = dense[row[j]];
    }
    for (let j = 0; j < m; j++) dense[pick[j]] = 0;
    writer.endRow();
    return kept;
  };

  const cap = Math.min(order.length, nItems * params.maxClustersPerItem) + 16;
  const embWriter = new CsrRowWriter(nItems, k, cap);
  const longestWriter = new CsrRowWriter(nItems, k, 1024);
  const index = new ClusterTopAccumulator(k, nItems, params.topItemsPerCluster);
  const lastUpdateTs = new Float64Array(nItems);
  const engagements = new Int32Array(nItems);
  const longestTs = new Float64Array(nItems).fill(Number.NaN);
  let itemsWithEmbedding = 0;
  let itemsWithLongest = 0;
  const indexed = new Uint8Array(nItems);
  const maxAge = rule.maxItemAgeSeconds;
  const byCosine = params.indexOrder === 'cosine';
  const itemNorm = byCosine ? new Float64Array(nItems) : null;

  for (let i = 0; i < nItems; i++) {
    const from = itemPtr[i];
    const to = itemPtr[i + 1];
    resetItemState(state);
    const peak = foldItem(i, from, to, -1, true);
    lastUpdateTs[i] = state.lastUpdateTs;
    engagements[i] = state.engagements;
    let n = readItemState(state, now, h, readIds, readValues);
    const tooOld = maxAge !== null && created !== null && now - created[i] > maxAge;
    if (!tooOld && !byCosine) {
      for (let j = 0; j < n; j++) {
        if (readValues[j] < params.minIndexScore) continue;
        index.push(readIds[j], i, readValues[j]);
        indexed[i] = 1;
      }
    }
    const rowStart = embWriter.nnz;
    const kept = writeView(embWriter, n);
    if (kept > 0) itemsWithEmbedding++;
    if (!tooOld && byCosine && kept > 0) {
      const values = embWriter.values[0];
      let sq = 0;
      for (let j = rowStart; j < rowStart + kept; j++) sq += values[j] * values[j];
      itemNorm![i] = Math.sqrt(sq);
    }

    if (state.engagements >= params.minEngagementsForLongest && peak >= 0) {
      // The peak state is the final one when the last event made it; otherwise replay up to the peak.
      if (peak !== to - 1) {
        resetItemState(state);
        foldItem(i, from, to, peak, false);
      }
      n = readItemState(state, Number.NaN, h, readIds, readValues);
      if (writeView(longestWriter, n) > 0) {
        itemsWithLongest++;
        longestTs[i] = state.lastUpdateTs;
      }
    } else {
      longestWriter.endRow();
    }
  }
  const embedding = embWriter.finish();
  if (itemNorm) {
    // Cosine order ranks by the share of the stored view on c, the vector the exact step scores (an entry the
    // view dropped would rank an item whose stored embedding lacks c, often at the very top: a lone tiny entry
    // is all of its raw norm), shrunk as the version's ANN queries shrink it: W[i,c] / (‖W_i‖ + λ), λ =
    // shrinkage × the median item norm. Without it every item one-hot in c has share 1, and the top M of a cluster with more
    // such items than M is a tie decided by id.
    const lambda = params.shrinkage * medianPositive(itemNorm);
    const ids = embedding.indices;
    const values = embedding.values!;
    for (let i = 0; i < nItems; i++) {
      if (itemNorm[i] === 0) continue;
      const den = itemNorm[i] + lambda;
      for (let j = embedding.indptr[i]; j < embedding.indptr[i + 1]; j++) {
        if (values[j] < params.minIndexScore) continue;
        index.push(ids[j], i, values[j] / den);
        indexed[i] = 1;
      }
    }
    for (let i = 0; i < nItems; i++) itemNorm[i] += itemNorm[i] > 0 ? lambda : 0;
  }
  const events = log.matrix.nnz;
  let indexedItems = 0;
  for (let i = 0; i < nItems; i++) indexedItems += indexed[i];
  const stats: ItemEmbeddingStats = {
    events,
    eventsAfterNow: events - order.length,
    positivesApplied: tally[EngagementOutcome.Applied] + tally[EngagementOutcome.AppliedPeak] - unfavsApplied,
    unfavsApplied,
    skippedOwnItem: tally[EngagementOutcome.SkippedOwnItem],
    skippedTooOld: tally[EngagementOutcome.SkippedTooOld],
    skippedNothingToUndo: tally[EngagementOutcome.SkippedNothingToUndo],
    items: nItems,
    itemsWithEmbedding,
    itemsWithLongest,
    indexedItems,
  };
  return {
    embedding,
    asOf: now,
    lastUpdateTs,
    engagements,
    longest: longestWriter.finish(),
    longestTs,
    clusterTopItems: itemNorm ? rescale(index.finish(), itemNorm) : index.finish(),
    rule,
    stats,
  };
}
