/**
 * The ranker's features (issue 16 item 3), one module for training (pipeline/ranker-stage.ts) and serving
 * (engine.ts), so a model sees at serving exactly what it was trained on.
 *
 * - user: activity (log 1 + engaged items), follows (log 1 + producers followed), interest spread (the
 *   effective number of clusters of the interest vector, (Σv)² / Σv², log 1 +).
 * - item: age (log 1 + hours; unknown → 0 and age bucket `unknown`), the version's popularity (log 1 + users),
 *   live decayed engagements and impressions (log 1 +), CTR from impressions (Laplace-smoothed, 0 without
 *   impressions), author and tags (hashed).
 * - user × item: SimClusters cosine of interest and the item's current embedding, MF score (folded u·i),
 *   author followed, the author's in-network weight when not followed (similar to a followed producer), tag
 *   overlap with the user's history (mean over the item's tags of the share of the user's items carrying it),
 *   co-engagement (item-based collaborative filtering over the version's log, its pairs of any action as
 *   popularity counts them: Σ over the item's users v of |v's items ∩ the user's| / √|v's items|, divided by
 *   √|the item's users| · √|the user's items| — a cosine between the item's users and the users who share the
 *   subject's items, which neither the MF score, a low-rank summary of the same log, nor the cluster cosine, a
 *   summary through ~100 communities, keeps),
 *   each source's rank as 1 / (1 + rank) (0 when the source did not return it), the number of sources.
 * - hashed crosses: user top cluster × item top cluster, source × age bucket.
 *
 * Ids are hashed by their external form (author id, tag name), never by a version's dense index, so a model
 * trained on one version means the same on the next. Cluster ids are a version's own; the build trains on a
 * state warm-started from the version's KnownFor, so they agree with the version it ships in.
 *
 * Per candidate nothing is allocated: the user is scattered once per request into dense buffers (cleared by
 * a touched list), and every value is written into the builder's reused vector.
 */

import type { ServingModel } from '../query/serving-model.ts';
import { FeatureBuilder, FeatureSpec, type FeatureSpecInit, type FeatureVector } from '../ranking/hashing.ts';
import type { CandidateMerger } from '../ranking/merge.ts';
import { networkProducers } from './candidates.ts';
import { CoEngagementWalk } from './co-engagement.ts';
import { SOURCES } from './strategy.ts';
import type { SubjectState } from './subject.ts';
import type { VersionData } from './version-data.ts';

export const NUMERIC_FEATURES = [
  'user_activity',
  'user_follows',
  'user_spread',
  'item_age',
  'item_popularity',
  'item_trending',
  'item_impressions',
  'item_ctr',
  'sc_cosine',
  'mf_score',
  'author_followed',
  'author_similarity',
  'tag_overlap',
  'co_engagement',
  ...SOURCES.map((s) => `rank_${s}`),
  'sources',
] as const;

/** The co-engagement feature's index in NUMERIC_FEATURES. */
const CO_ENGAGEMENT = NUMERIC_FEATURES.indexOf('co_engagement');

export const FEATURES: FeatureSpecInit = {
  bits: 16,
  numeric: NUMERIC_FEATURES,
  categorical: ['author', 'tag', 'user_cluster', 'item_cluster', 'source', 'age_bucket'],
  crosses: [
    ['user_cluster', 'item_cluster'],
    ['source', 'age_bucket'],
  ],
  seed: 0,
};

const AGE_BUCKETS: readonly [number, string][] = [
  [1, '<1h'],
  [6, '<6h'],
  [24, '<1d'],
  [168, '<1w'],
  [720, '<30d'],
  [8760, '<1y'],
];

/** What a request knows about its subject for the features, gathered before the synchronous phase. */
export interface UserFeatures {
  state: SubjectState;
  /** The folded MF query vector, null without one. */
  mf: Float32Array | null;
}

/** The user side, with what needs I/O (the MF vector) read. */
export async function userFeatures(model: ServingModel, state: SubjectState): Promise<UserFeatures> {
  let mf: Float32Array | null = null;
  if (model.dense) {
    try {
      if (state.kind === 'user' && state.userId !== null && state.user < model.versionUserCount)
        mf = (await model.dense.queryVector({ userId: state.userId })).vector;
      else if (state.engaged.length > 0)
        mf = (await model.dense.queryVector({ items: Array.from(state.engaged, (i) => model.itemId(i)) }))
          .vector;
    } catch {
      // No vector for this subject (unknown to MF, no MF model to fold in): the feature stays 0.
      mf = null;
    }
  }
  return { state, mf };
}

/** Indices of a spec's fields by name, −1 for a name the spec does not have (a model trained with fewer). */
function numericIndex(spec: FeatureSpec, name: string): number {
  return spec.numericNames.indexOf(name);
}

export class FeatureHydrator {
  readonly spec: FeatureSpec;
  readonly builder: FeatureBuilder;
  private readonly num: Int32Array;
  private readonly rank: Int32Array;
  private readonly cat: { author: number; tag: number; uc: number; ic: number; source: number; age: number };
  // The user, scattered once per request.
  private userDense: Float32Array;
  private userTouched: Int32Array;
  private nUserTouched = 0;
  private userNorm = 0;
  private userTop = -1;
  private tagProfile: Float32Array;
  private tagTouched: Int32Array;
  private nTagTouched = 0;
  private network: Float32Array;
  private followed: Uint8Array;
  private netTouched: Int32Array;
  private nNetTouched = 0;
  private mf: Float32Array | null = null;
  /** The co-engagement feature's subject side (co-engagement.ts); null when the ranker does not use it. */
  private co: CoEngagementWalk | null = null;
  private userVals = new Float64Array(3);
  /**
   * Token hashes of the categorical values every candidate meets, computed once instead of re-hashing the same
   * strings per candidate: per topic (tag), per cluster (item cluster), per age bucket, per merger source name,
   * and per version user as an author (filled on first use; `authorHashed` says which are).
   */
  private readonly tagHash: Int32Array;
  private readonly clusterHash: Int32Array;
  private readonly ageHash: Int32Array;
  private sourceNames: readonly string[] = [];
  private sourceHash = new Int32Array(0);
  private authorHash: Int32Array | null = null;
  private authorHashed: Uint8Array | null = null;
  /** Scratch of one item: cosine parts and top cluster. */
  private readonly item = new Float64Array(3);

  constructor(
    private readonly model: ServingModel,
    private readonly data: VersionData,
    spec: FeatureSpec = new FeatureSpec(FEATURES),
  ) {
    this.spec = spec;
    this.builder = new FeatureBuilder(spec);
    this.num = Int32Array.from(NUMERIC_FEATURES, (n) => numericIndex(spec, n));
    this.rank = Int32Array.from(SOURCES, (s) => numericIndex(spec, `rank_${s}`));
    const c = (n: string) => spec.categoricalNames.indexOf(n);
    this.cat = {
      author: c('author'),
      tag: c('tag'),
      uc: c('user_cluster'),
      ic: c('item_cluster'),
      source: c('source'),
      age: c('age_bucket'),
    };
    const sp = this.spec;
    const topics = data.topics;
    this.tagHash = new Int32Array(this.cat.tag >= 0 && topics ? topics.size : 0);
    for (let t = 0; t < this.tagHash.length; t++) this.tagHash[t] = sp.tokenHash(this.cat.tag, topics!.id(t));
    this.clusterHash = new Int32Array(this.cat.ic >= 0 ? model.k : 0);
    for (let c = 0; c < this.clusterHash.length; c++) this.clusterHash[c] = sp.tokenHash(this.cat.ic, c);
    this.ageHash = new Int32Array(this.cat.age >= 0 ? AGE_NAMES.length : 0);
    for (let a = 0; a < this.ageHash.length; a++) this.ageHash[a] = sp.tokenHash(this.cat.age, AGE_NAMES[a]);
    this.userDense = new Float32Array(Math.max(1, model.k));
    this.userTouched = new Int32Array(Math.max(1, model.k));
    const nTopics = data.topics?.size ?? 0;
    this.tagProfile = new Float32Array(Math.max(1, nTopics));
    this.tagTouched = new Int32Array(Math.max(1, nTopics));
    const nProducers = model.producerCount;
    this.network = new Float32Array(Math.max(1, nProducers));
    this.followed = new Uint8Array(Math.max(1, nProducers));
    this.netTouched = new Int32Array(Math.max(1, nProducers));
    const co = this.num[CO_ENGAGEMENT] >= 0 ? data.coEngagement : null;
    if (co) this.co = new CoEngagementWalk(co);
  }

  /** Scatters the user side into the dense buffers (synchronous; call clearUser before the next user). */
  setUser(u: UserFeatures): void {
    this.clearUser();
    const st = u.state;
    const ids = st.interest.ids;
    const vals = st.interest.values;
    let l1 = 0;
    let l2 = 0;
    let best = 0;
    for (let q = 0; q < ids.length; q++) {
      const c = ids[q];
      if (c >= this.userDense.length) continue;
      this.userDense[c] = vals[q];
      this.userTouched[this.nUserTouched++] = c;
      l1 += Math.abs(vals[q]);
      l2 += vals[q] * vals[q];
      if (vals[q] > best) {
        best = vals[q];
        this.userTop = c;
      }
    }
    this.userNorm = Math.sqrt(l2);
    const tags = this.data.itemTags;
    let tagged = 0;
    if (tags)
      for (const i of st.engaged) {
        if (i >= tags.nRows) continue;
        tagged++;
        for (let j: number = tags.indptr[i]; j < tags.indptr[i + 1]; j++) {
          const t = tags.indices[j];
          if (this.tagProfile[t] === 0) this.tagTouched[this.nTagTouched++] = t;
          this.tagProfile[t] += 1;
        }
      }
    if (tagged > 0) for (let j = 0; j < this.nTagTouched; j++) this.tagProfile[this.tagTouched[j]] /= tagged;
    if (st.follows.length > 0 && this.model.socialCase)
      for (const [p, w] of networkProducers(this.data, st.follows)) {
        if (p >= this.network.length) continue;
        this.network[p] = w;
        this.netTouched[this.nNetTouched++] = p;
      }
    for (const p of st.follows) if (p < this.followed.length) this.followed[p] = 1;
    this.mf = u.mf;
    this.co?.set(st.engaged);
    this.userVals[0] = Math.log1p(st.engaged.length);
    this.userVals[1] = Math.log1p(st.follows.length);
    this.userVals[2] = l2 > 0 ? Math.log1p((l1 * l1) / l2) : 0;
    this.followsOf = st.follows;
  }

  private followsOf: Int32Array = new Int32Array(0);

  clearUser(): void {
    for (let j = 0; j < this.nUserTouched; j++) this.userDense[this.userTouched[j]] = 0;
    for (let j = 0; j < this.nTagTouched; j++) this.tagProfile[this.tagTouched[j]] = 0;
    for (let j = 0; j < this.nNetTouched; j++) this.network[this.netTouched[j]] = 0;
    for (const p of this.followsOf) if (p < this.followed.length) this.followed[p] = 0;
    this.followsOf = new Int32Array(0);
    this.nUserTouched = 0;
    this.nTagTouched = 0;
    this.nNetTouched = 0;
    this.co?.clear();
    this.userNorm = 0;
    this.userTop = -1;
    this.mf = null;
  }

  /** Cosine of the user's interest with item i's current embedding (item[0]), and i's top cluster (item[2]). */
  private itemClusters(i: number): void {
    const out = this.item;
    let dot = 0;
    let sq = 0;
    let top = -1;
    let best = 0;
    const ov = this.model.live;
    const slot = ov ? ov.rowSlot(i) : -1;
    const u = this.userDense;
    if (ov && slot >= 0) {
      const from = ov.rowStart(slot);
      const to = from + ov.rowLength(slot);
      const ids = ov.rowIds;
      const vals = ov.rowValues;
      for (let q = from; q < to; q++) {
        const v = vals[q];
        if (ids[q] < u.length) dot += u[ids[q]] * v;
        sq += v * v;
        if (v > best) {
          best = v;
          top = ids[q];
        }
      }
    } else {
      const m = this.model.itemEmbeddingMatrix;
      if (m && i < m.nRows)
        for (let j = m.indptr[i]; j < m.indptr[i + 1]; j++) {
          const v: number = m.values ? m.values[j] : 1;
          const c = m.indices[j];
          if (c < u.length) dot += u[c] * v;
          sq += v * v;
          if (v > best) {
            best = v;
            top = c;
          }
        }
    }
    out[0] = sq > 0 && this.userNorm > 0 ? dot / (Math.sqrt(sq) * this.userNorm) : 0;
    out[2] = top;
  }

  /** Sets NUMERIC_FEATURES[k] when the spec has it (bound once, so a candidate allocates no closure). */
  private readonly setNumeric = (k: number, x: number): void => {
    if (this.num[k] >= 0) this.builder.numeric(this.num[k], x);
  };

  /** The author of item i as a user index, −1 none. */
  authorOf(i: number): number {
    const ov = this.model.live;
    if (ov) return ov.itemAuthor(i);
    return i < this.data.itemAuthor.length ? this.data.itemAuthor[i] : -1;
  }

  /**
   * Item `item` (pool entry e of `merger`, whose sources are SOURCES in order, possibly followed by others)
   * as a feature vector; valid until the next call.
   */
  build(item: number, merger: CandidateMerger, e: number, now: number): FeatureVector {
    const b = this.builder.begin();
    const set = this.setNumeric;
    const model = this.model;
    const data = this.data;
    set(0, this.userVals[0]);
    set(1, this.userVals[1]);
    set(2, this.userVals[2]);
    const created = model.live?.itemCreatedTs ?? data.itemCreatedTs;
    const ts = item < created.length ? created[item] : Number.NaN;
    const ageHours = Number.isNaN(ts) ? Number.NaN : Math.max(0, (now - ts) / 3600);
    set(3, Number.isNaN(ageHours) ? 0 : Math.log1p(ageHours));
    set(4, Math.log1p(item < data.popularity.length ? data.popularity[item] : 0));
    const ov = model.live;
    if (ov) {
      const c = ov.itemCounters(item);
      set(5, Math.log1p(Math.max(0, c.engagements)));
      set(6, Math.log1p(c.impressions));
      set(7, c.impressions > 0 ? (c.clicks + 1) / (c.impressions + 2) : 0);
    }
    this.itemClusters(item);
    set(8, this.item[0]);
    if (this.mf && model.dense) {
      const dot = model.dense.itemDot(item, this.mf);
      if (!Number.isNaN(dot)) set(9, dot);
    }
    const author = this.authorOf(item);
    const ap =
      author >= 0 && author < model.versionUserCount && model.socialCase
        ? model.producerOfEntity(author)
        : -1;
    if (ap >= 0 && ap < this.followed.length) {
      if (this.followed[ap]) set(10, 1);
      else set(11, this.network[ap]);
    }
    const tags = data.itemTags;
    if (tags && item < tags.nRows) {
      const a = tags.indptr[item];
      const z = tags.indptr[item + 1];
      if (z > a) {
        let overlap = 0;
        for (let j = a; j < z; j++) {
          overlap += this.tagProfile[tags.indices[j]];
          const t = tags.indices[j];
          if (t < this.tagHash.length) b.categoricalHash(this.cat.tag, this.tagHash[t]);
          else if (this.cat.tag >= 0 && data.topics) b.categorical(this.cat.tag, data.topics.id(t));
        }
        set(12, overlap / (z - a));
      }
    }
    if (this.co?.active) set(CO_ENGAGEMENT, this.co.of(item));
    let nSources = 0;
    const ns = merger.sources.length;
    if (this.cat.source >= 0 && this.sourceNames !== merger.sources) this.hashSources(merger.sources);
    for (let s = 0; s < ns; s++) {
      const r = merger.ranks[e * ns + s];
      if (r < 0) continue;
      nSources++;
      if (s < SOURCES.length && this.rank[s] >= 0) b.numeric(this.rank[s], 1 / (1 + r));
      if (this.cat.source >= 0) b.categoricalHash(this.cat.source, this.sourceHash[s]);
    }
    set(NUMERIC_FEATURES.length - 1, nSources);
    if (this.cat.author >= 0 && author >= 0) b.categoricalHash(this.cat.author, this.authorTokenHash(author));
    if (this.cat.uc >= 0 && this.userTop >= 0) b.categorical(this.cat.uc, this.userTop);
    const ic = this.item[2];
    if (ic >= 0 && ic < this.clusterHash.length) b.categoricalHash(this.cat.ic, this.clusterHash[ic]);
    else if (this.cat.ic >= 0 && ic >= 0) b.categorical(this.cat.ic, ic);
    if (this.cat.age >= 0) b.categoricalHash(this.cat.age, this.ageHash[ageBucket(ageHours)]);
    return b.end();
  }

  /** The author token's hash: cached per version user, computed for a user the version does not hold. */
  private authorTokenHash(author: number): number {
    const n = this.model.versionUserCount;
    if (author >= n) return this.spec.tokenHash(this.cat.author, this.model.userId(author));
    if (!this.authorHash || !this.authorHashed) {
      this.authorHash = new Int32Array(n);
      this.authorHashed = new Uint8Array(n);
    }
    if (!this.authorHashed[author]) {
      this.authorHash[author] = this.spec.tokenHash(this.cat.author, this.model.userId(author));
      this.authorHashed[author] = 1;
    }
    return this.authorHash[author];
  }

  private hashSources(names: readonly string[]): void {
    this.sourceNames = names;
    this.sourceHash = Int32Array.from(names, (n) => this.spec.tokenHash(this.cat.source, n));
  }
}

const AGE_NAMES: readonly string[] = [...AGE_BUCKETS.map(([, name]) => name), 'old', 'unknown'];
const AGE_OLD = AGE_BUCKETS.length;
const AGE_UNKNOWN = AGE_BUCKETS.length + 1;

/** The age bucket's index in AGE_NAMES. */
function ageBucket(hours: number): number {
  if (Number.isNaN(hours)) return AGE_UNKNOWN;
  for (let a = 0; a < AGE_BUCKETS.length; a++) if (hours < AGE_BUCKETS[a][0]) return a;
  return AGE_OLD;
}
