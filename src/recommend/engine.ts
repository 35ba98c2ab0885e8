/**
 * The two-stage recommender (issue 16, DESIGN §7), independent of HTTP:
 *
 *   recommend(model, subject, { limit, explain, strategy, seed, explore, filters })
 *
 * 1. candidates from every source the strategy budgets (candidates.ts), merged with de-duplication and
 *    provenance (ranking/merge.ts); a subject with too few candidates gets the catalogue, newest first;
 * 2. filters (engaged, hidden, own, seen, allow/deny, age window) — before scoring, so nothing is scored for
 *    nothing;
 * 3. scores: the version's ranker over the features (features.ts) when it has one and the strategy wants it,
 *    else reciprocal-rank fusion of the sources; then at most N per author, best first;
 * 4. Thompson-sampling exploration (ranking/thompson.ts) over the live impression/click counters, a share of
 *    the slots (the strategy's, 0.1 by default; `explore: 0` off), reproducible with the request's seed;
 * 5. explanations on request: the sources with rank and score, the clusters that contributed most to the
 *    subject–item match with each cluster's top producers, the ranker's top feature contributions.
 *
 * `model` is any ServingModel: a version alone, or version + live overlay (`overlay.model`), whose new items,
 * new users, follows, hides, impressions and counters are then used. One engine per model keeps the reusable
 * buffers; everything between the merge and the answer runs synchronously, so concurrent requests on one
 * event loop never share them mid-way.
 */
import { SimrecError } from '../core/errors.ts';
import type { ServingModel } from '../query/serving-model.ts';
import type { EngagementCounters } from '../ranking/counters.ts';
import { ageWindow, allowOnly, DROP, excludeItems } from '../ranking/filters.ts';
import type { FeatureSpec } from '../ranking/hashing.ts';
import { CandidateMerger, type Provenance } from '../ranking/merge.ts';
import { StampCounts, StampSet } from '../ranking/stamps.ts';
import { Explorer } from '../ranking/thompson.ts';
import { catalogueFallback, generateCandidates, type SourceList } from './candidates.ts';
import { FeatureHydrator, type UserFeatures, userFeatures } from './features.ts';
import { FALLBACK_SOURCE, pickStrategy, SOURCES, type Strategy } from './strategy.ts';
import { type RecommendSubject, resolveSubject, type SubjectState } from './subject.ts';
import { VersionData } from './version-data.ts';

export const RECOMMEND_LIMITS = { limit: 1000, defaultLimit: 10, idList: 10_000 } as const;

/** Per-request filters, on top of (and overriding) the strategy's. Item ids are external; unknown ones ignored. */
export interface RecommendFilters {
  exclude?: readonly string[];
  allow?: readonly string[];
  minAgeHours?: number | null;
  maxAgeHours?: number | null;
  maxPerAuthor?: number | null;
  excludeEngaged?: boolean;
  excludeHidden?: boolean;
  excludeOwn?: boolean;
  excludeSeen?: boolean;
  /** Unix seconds the age window counts from (default: the model's current time). */
  now?: number;
}

export interface RecommendOptions {
  limit?: number;
  explain?: boolean;
  /** A strategy of the version (default `default`). */
  strategy?: string;
  /** Exploration's seed: the same seed, model and counters give the same answer (default: the user id). */
  seed?: number | string;
  /** Exploration share, overriding the strategy's (0: off). */
  explore?: number;
  filters?: RecommendFilters;
}

export interface ClusterExplanation {
  clusterId: number;
  /** The cluster's share of the subject–item match: subject interest × the item's normalised score on it. */
  contribution: number;
  subjectScore: number;
  /** The item's score on the cluster, its embedding L2-normalised. */
  itemScore: number;
  /** The cluster's top producers (ServingModel.cluster). */
  topProducers: { producerId: string; score: number }[];
}

/** Why an item was recommended, beyond its `sources` (which every item carries). */
export interface Explanation {
  clusters: ClusterExplanation[];
  /** The ranker's top feature contributions (w·x), largest |w·x| first; empty when scored by fusion. */
  features: { name: string; value: number; weight: number; contribution: number }[];
  /** Set for an explored slot: the CTR sampled from its Beta posterior. */
  sampledCtr?: number;
}

export interface RecommendedItem {
  itemId: string;
  /** The ranker's probability of engagement, or the sources' fused reciprocal-rank score. */
  score: number;
  /** Filled by exploration rather than by rank. */
  explored: boolean;
  sources: Provenance[];
  explanation?: Explanation;
}

export interface Recommendation {
  items: RecommendedItem[];
  version: string;
  strategy: string;
  subject: SubjectState['kind'];
  scoring: 'ranker' | 'fusion';
  stats: {
    sources: Record<string, Record<string, number | string>>;
    /** Distinct candidates merged. */
    candidates: number;
    /** Candidates dropped, by reason. */
    dropped: Record<string, number>;
    explored: number;
  };
}

const DROP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DROP).map(([k, v]) => [v, k]));

/** Recommendations for a subject from a (possibly live) model. See the module comment. */
export async function recommend(
  model: ServingModel,
  subject: RecommendSubject,
  options: RecommendOptions = {},
): Promise<Recommendation> {
  return (await Engine.for(model)).recommend(subject, options);
}

export class Engine {
  private static readonly engines = new WeakMap<ServingModel, Promise<Engine>>();

  readonly merger: CandidateMerger;
  readonly hydrator: FeatureHydrator;
  private readonly exclude = new StampSet();
  private readonly allow = new StampSet();
  private readonly seenSet = new StampSet();
  private readonly perAuthor = new StampCounts();
  private readonly explorer = new Explorer();
  private dropped = new Uint8Array(512);
  private score = new Float64Array(512);
  private order = new Int32Array(512);
  private ranked = new Int32Array(512);
  private readonly counters: EngagementCounters;

  private constructor(
    readonly model: ServingModel,
    readonly data: VersionData,
    spec?: FeatureSpec,
  ) {
    this.merger = new CandidateMerger([...SOURCES, FALLBACK_SOURCE], model.itemCount);
    this.hydrator = new FeatureHydrator(model, data, spec ?? data.ranker?.spec);
    const ov = model.live;
    this.counters = ov
      ? { impressions: (i) => ov.itemCounters(i).impressions, clicks: (i) => ov.itemCounters(i).clicks }
      : { impressions: () => 0, clicks: () => 0 };
  }

  /**
   * The engine of a model (one per model, made on first use). With `spec`, a new engine whose features use
   * that spec instead of the version ranker's (the build's ranker stage, training a new one).
   */
  static for(model: ServingModel, spec?: FeatureSpec): Promise<Engine> {
    if (spec) return VersionData.for(model).then((d) => new Engine(model, d, spec));
    let e = Engine.engines.get(model);
    if (!e) {
      e = VersionData.for(model).then((d) => new Engine(model, d));
      Engine.engines.set(model, e);
      e.catch(() => Engine.engines.delete(model));
    }
    return e;
  }

  /** The strategies this version serves. */
  get strategies(): string[] {
    return [...this.data.strategies.keys()];
  }

  async recommend(subject: RecommendSubject, options: RecommendOptions = {}): Promise<Recommendation> {
    const limit = options.limit ?? RECOMMEND_LIMITS.defaultLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > RECOMMEND_LIMITS.limit)
      throw new SimrecError(
        'CONFIG_INVALID',
        `limit must be an integer in [1, ${RECOMMEND_LIMITS.limit}], got ${limit}`,
        {
          field: 'limit',
        },
      );
    const strategy = pickStrategy(this.data.strategies, options.strategy);
    const share = options.explore ?? strategy.explore;
    if (typeof share !== 'number' || !(share >= 0 && share <= 1))
      throw new SimrecError('CONFIG_INVALID', `explore must be a share in [0, 1], got ${share}`, {
        field: 'explore',
      });
    const f = checkFilters(options.filters ?? {});
    const state = await resolveSubject(this.model, this.data, subject);
    const [lists, user] = await Promise.all([
      generateCandidates(this.model, this.data, state, strategy),
      userFeatures(this.model, state),
    ]);
    const out = this.rank(state, user, lists, strategy, {
      limit,
      share,
      seed: options.seed ?? state.userId ?? 'anonymous',
      explain: options.explain === true,
      filters: f,
    });
    if (options.explain) await this.explainClusters(state, out.items);
    return out;
  }

  /** Adds the sources' lists to the (reset) merger. */
  merge(lists: readonly SourceList[]): void {
    const m = this.merger;
    m.reset();
    for (const l of lists) m.add(l.source, l.items, l.scores);
  }

  /** Everything after the I/O, synchronously: merge, filter, score, cap, explore, answer. */
  private rank(
    state: SubjectState,
    user: UserFeatures,
    lists: readonly SourceList[],
    strategy: Strategy,
    o: { limit: number; share: number; seed: number | string; explain: boolean; filters: RecommendFilters },
  ): Recommendation {
    const model = this.model;
    const m = this.merger;
    this.merge(lists);
    const sf = { ...strategy.filters, ...definedOnly(o.filters) };
    // Exclusions: what the subject engaged with / hid, and the request's deny list.
    const ex = this.exclude;
    ex.clear();
    if (sf.excludeEngaged) ex.addAll(state.engaged);
    if (sf.excludeHidden) ex.addAll(state.hidden);
    for (const id of o.filters.exclude ?? []) {
      const i = lookup(model, id);
      if (i >= 0) ex.add(i);
    }
    const al = this.allow;
    al.clear();
    if (o.filters.allow)
      for (const id of o.filters.allow) {
        const i = lookup(model, id);
        if (i >= 0) al.add(i);
      }
    const now = o.filters.now ?? model.currentTime ?? Date.now() / 1000;
    const created = model.live?.itemCreatedTs ?? this.data.itemCreatedTs;
    const seen = this.seenSet;
    seen.clear();
    if (sf.excludeSeen) seen.addAll(state.seen);

    const stats: Recommendation['stats'] = { sources: {}, candidates: 0, dropped: {}, explored: 0 };
    for (const l of lists) stats.sources[l.source] = l.stats;
    let n = this.filterPool(state, sf, o.filters.allow !== undefined, now, created);
    if (n < o.limit) {
      // Too few: the catalogue, newest first, skipping what is already in the pool or excluded.
      const fb = catalogueFallback(
        model,
        this.data,
        o.limit - n + m.size,
        (i) => m.entry(i) >= 0 || ex.has(i),
      );
      if (fb.items.length > 0) {
        m.add(FALLBACK_SOURCE, fb.items, fb.scores);
        stats.sources[FALLBACK_SOURCE] = { returned: fb.items.length };
        n = this.filterPool(state, sf, o.filters.allow !== undefined, now, created);
      }
    }
    stats.candidates = m.size;
    for (let e = 0; e < m.size; e++)
      if (this.dropped[e]) {
        const why = DROP_NAMES[this.dropped[e]] ?? String(this.dropped[e]);
        stats.dropped[why] = (stats.dropped[why] ?? 0) + 1;
      }

    // Score the survivors.
    const ranker = strategy.ranker ? this.data.ranker : null;
    const h = this.hydrator;
    if (ranker) h.setUser(user);
    let kept = 0;
    for (let e = 0; e < m.size; e++) {
      if (this.dropped[e]) continue;
      this.score[e] = ranker ? ranker.predict(h.build(m.items[e], m, e, now)) : m.fused[e];
      this.order[kept++] = e;
    }
    const score = this.score;
    const items = m.items;
    const fused = m.fused;
    const pop = this.data.popularity;
    // Scored by fusion, the catalogue's newest items (the last resort when the sources gave too few) would earn
    // a source's top reciprocal rank and interleave with the best candidates: they follow every sourced item.
    const mask = m.sourceMask;
    const fallbackOnly = ranker ? 0 : 1 << m.sourceIndex(FALLBACK_SOURCE);
    const last = (e: number) => (fallbackOnly !== 0 && mask[e] === fallbackOnly ? 1 : 0);
    // Equal scores (candidates the ranker sees alike) are ordered by the sources' agreement, then by how many
    // users engaged with the item, and only then by index, so no place in the list is decided by an id.
    this.order
      .subarray(0, kept)
      .sort(
        (a, b) =>
          last(a) - last(b) ||
          score[b] - score[a] ||
          fused[b] - fused[a] ||
          (items[b] < pop.length ? pop[items[b]] : 0) - (items[a] < pop.length ? pop[items[a]] : 0) ||
          items[a] - items[b],
      );
    // At most N per author, best first.
    let ranked = 0;
    const cap = sf.maxPerAuthor;
    this.perAuthor.clear();
    for (let j = 0; j < kept; j++) {
      const e = this.order[j];
      if (cap !== null && cap !== undefined) {
        const a = h.authorOf(items[e]);
        if (a >= 0 && this.perAuthor.increment(a) >= cap) {
          stats.dropped.authorCap = (stats.dropped.authorCap ?? 0) + 1;
          continue;
        }
      }
      this.order[ranked] = e;
      this.ranked[ranked++] = items[e];
    }
    const x = this.explorer;
    const size = x.run(this.ranked, ranked, this.counters, { slots: o.limit, share: o.share, seed: o.seed });
    const answer: RecommendedItem[] = [];
    for (let s = 0; s < size; s++) {
      const item = x.items[s];
      const e = m.entry(item);
      const r: RecommendedItem = {
        itemId: model.itemId(item),
        score: this.score[e],
        explored: x.explored[s] === 1,
        sources: m.provenance(e),
      };
      if (r.explored) stats.explored++;
      if (o.explain) {
        r.explanation = { clusters: [], features: [] };
        if (ranker)
          r.explanation.features = ranker.contributions(h.build(item, m, e, now), 5).map((c) => ({
            name: c.name,
            value: c.value,
            weight: c.weight,
            contribution: c.contribution,
          }));
        if (r.explored) r.explanation.sampledCtr = x.sampled[s];
      }
      answer.push(r);
    }
    if (ranker) h.clearUser();
    return {
      items: answer,
      version: model.version,
      strategy: strategy.name,
      subject: state.kind,
      scoring: ranker ? 'ranker' : 'fusion',
      stats,
    };
  }

  /** Marks dropped pool entries (reasons in `dropped`); returns the entries left. */
  private filterPool(
    state: SubjectState,
    sf: Strategy['filters'],
    hasAllow: boolean,
    now: number,
    created: Float64Array,
  ): number {
    const m = this.merger;
    const n = m.size;
    if (this.dropped.length < n) {
      const c = Math.max(n, this.dropped.length * 2);
      this.dropped = new Uint8Array(c);
      this.score = new Float64Array(c);
      this.order = new Int32Array(c);
      this.ranked = new Int32Array(c);
    }
    const dropped = this.dropped;
    dropped.fill(0, 0, n);
    excludeItems(m.items, n, dropped, this.exclude);
    if (hasAllow) allowOnly(m.items, n, dropped, this.allow);
    if (sf.excludeOwn && state.user >= 0)
      for (let e = 0; e < n; e++)
        if (dropped[e] === 0 && this.hydrator.authorOf(m.items[e]) === state.user) dropped[e] = DROP.own;
    if (sf.minAgeHours != null || sf.maxAgeHours != null)
      ageWindow(m.items, n, dropped, created, now, {
        minAgeHours: sf.minAgeHours ?? undefined,
        maxAgeHours: sf.maxAgeHours ?? undefined,
      });
    if (sf.excludeSeen)
      for (let e = 0; e < n; e++)
        if (dropped[e] === 0 && this.seenSet.has(m.items[e])) dropped[e] = DROP.seen;
    let left = 0;
    for (let e = 0; e < n; e++) if (dropped[e] === 0) left++;
    return left;
  }

  /** Fills each explanation's clusters: the subject interest × item embedding, top 3, with top producers. */
  private async explainClusters(state: SubjectState, items: RecommendedItem[]): Promise<void> {
    const model = this.model;
    if (!model.hasSimClusters) return;
    const interest = new Map<number, number>();
    for (let q = 0; q < state.interest.ids.length; q++)
      interest.set(state.interest.ids[q], state.interest.values[q]);
    for (const r of items) {
      const { embedding } = await model.itemEmbedding(r.itemId);
      // The item's row is taken L2-normalised: a live item's values are in the version's time unit and grow
      // with the time since the build (an item faved a week later holds values 2^(days / half-life) larger),
      // so raw products would not compare across items; normalised, a contribution is the cluster's share of
      // the subject–item cosine (times the subject's norm).
      let sq = 0;
      for (let q = 0; q < embedding.values.length; q++) sq += embedding.values[q] * embedding.values[q];
      const norm = Math.sqrt(sq);
      const parts: { c: number; contribution: number; u: number; w: number }[] = [];
      for (let q = 0; q < embedding.ids.length; q++) {
        const c = embedding.ids[q];
        const w = embedding.values[q];
        // A subject without interest: the item's own strongest clusters.
        const u = interest.size > 0 ? (interest.get(c) ?? 0) : 1;
        if (u * w > 0) parts.push({ c, contribution: u * w, u: interest.size > 0 ? u : 0, w });
      }
      parts.sort((a, b) => b.contribution - a.contribution || a.c - b.c);
      r.explanation!.clusters = parts.slice(0, 3).map((p) => {
        const producers = model.clusterTopProducers(p.c, 3);
        return {
          clusterId: p.c,
          // Ordered by the raw products (one item's norm scales them alike, and exact ties stay ties).
          contribution: p.contribution / norm,
          subjectScore: p.u,
          itemScore: p.w / norm,
          topProducers: Array.from(producers.ids, (id, j) => ({
            producerId: model.producerId(id),
            score: producers.scores[j],
          })),
        };
      });
    }
  }
}

function lookup(model: ServingModel, id: string): number {
  try {
    return model.itemIndex(id);
  } catch (e) {
    if (e instanceof SimrecError && e.code === 'NOT_FOUND') return -1;
    throw e;
  }
}

function definedOnly(f: RecommendFilters): Partial<Strategy['filters']> {
  const out: Record<string, unknown> = {};
  for (const k of [
    'excludeEngaged',
    'excludeHidden',
    'excludeOwn',
    'excludeSeen',
    'maxPerAuthor',
    'minAgeHours',
    'maxAgeHours',
  ] as const)
    if (f[k] !== undefined) out[k] = f[k];
  return out as Partial<Strategy['filters']>;
}

function checkFilters(f: RecommendFilters): RecommendFilters {
  const bad = (field: string, why: string): never => {
    throw new SimrecError('CONFIG_INVALID', `filters.${field} ${why}`, { field: `filters.${field}` });
  };
  for (const k of ['exclude', 'allow'] as const) {
    const v = f[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(k, 'must be a list of item ids');
    if (v.length > RECOMMEND_LIMITS.idList)
      bad(k, `holds ${v.length} ids, at most ${RECOMMEND_LIMITS.idList}`);
  }
  for (const k of ['minAgeHours', 'maxAgeHours'] as const) {
    const v = f[k];
    if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0))
      bad(k, `must be a number ≥ 0, got ${v}`);
  }
  const cap = f.maxPerAuthor;
  if (cap !== undefined && cap !== null && !(Number.isInteger(cap) && cap >= 1))
    bad('maxPerAuthor', `must be a positive integer, got ${cap}`);
  if (f.now !== undefined && !Number.isFinite(f.now)) bad('now', 'must be a finite Unix time');
  return f;
}
