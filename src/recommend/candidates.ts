/**
 * The first stage (issue 16 item 2): candidates from every source a strategy budgets, asked concurrently.
 *
 * - simclusters: SimClusters ANN from the subject's interest: for a user, the query `POST /v1/candidates/
 *   simclusters` asks with (InterestedIn plus the engaged items it does not cover, simclusters/user-query.ts;
 *   the overlay's fold-in for new users); a session's summed item embeddings; a raw embedding.
 * - item2item: SimClusters ANN from the subject's most recent engagements; an item's score is the sum over
 *   seeds of its cosine with the seed, the j-th most recent seed weighted 1/(1 + j), asked as one query
 *   (summedQuery) that leaves out everything the subject engaged with, so the budget goes to items it may see.
 * - producers (in-network): the newest items of the producers the subject follows (weight 1) and of the
 *   producers most similar to those by the version's producer similarity graph (weight = similarity / the
 *   best similarity of that followed producer, halved), each item's score its producer's weight decayed by
 *   the item's age (half-life PRODUCER_HALF_LIFE_HOURS).
 * - dense: MF retrieval (the user's folded vector, or a fold-in of the session / a new user's items).
 * - popular: trending (live) or the version's most engaged items.
 * - topics: SimClusters ANN from the followed topics' embeddings, cosines summed (one query, as item2item).
 *
 * A source that cannot answer for this subject (no interest, no follows, a version without MF) returns nothing
 * and says why in its stats; it never fails the request.
 */

import { DEFAULT_ANN_PARAMS } from '../ann/simclusters.ts';
import { SimrecError } from '../core/errors.ts';
import { norm2, sumOfUnitRows } from '../core/sparse.ts';
import { TopK } from '../core/topk.ts';
import type { ServingModel } from '../query/serving-model.ts';
import type { SparseRow } from '../store/store.ts';
import type { SourceName, Strategy } from './strategy.ts';
import { SOURCES } from './strategy.ts';
import type { SubjectState } from './subject.ts';
import type { VersionData } from './version-data.ts';

export interface SourceList {
  source: SourceName;
  items: Int32Array;
  scores: Float32Array;
  /** What the source did; `skipped` says why it returned nothing. */
  stats: Record<string, number | string>;
}

/** Age half-life of in-network items. */
export const PRODUCER_HALF_LIFE_HOURS = 24;
/** The topics source reads each cluster's top-items list this many times its budget deep (at most the ANN's M). */
export const TOPIC_DEPTH_PER_WANTED = 4;
/** Newest items read per producer. */
export const ITEMS_PER_PRODUCER = 20;
/** Similar producers read per followed producer. */
export const SIMILAR_PER_PRODUCER = 5;

const NO_ITEMS = new Int32Array(0);
const NO_SCORES = new Float32Array(0);

/** Every budgeted source's list, in SOURCES order (sources with budget 0 are absent). */
export async function generateCandidates(
  model: ServingModel,
  data: VersionData,
  state: SubjectState,
  strategy: Strategy,
): Promise<SourceList[]> {
  const jobs: Promise<SourceList>[] = [];
  for (const source of SOURCES) {
    const budget = strategy.budgets[source];
    if (budget > 0) jobs.push(runSource(source, model, data, state, budget));
  }
  return Promise.all(jobs);
}

async function runSource(
  source: SourceName,
  model: ServingModel,
  data: VersionData,
  state: SubjectState,
  budget: number,
): Promise<SourceList> {
  try {
    switch (source) {
      case 'simclusters':
        return await simclusters(model, state, budget);
      case 'item2item':
        return await item2item(model, state, budget);
      case 'producers':
        return producers(model, data, state, budget);
      case 'dense':
        return await dense(model, state, budget);
      case 'popular':
        return await popular(model, state, budget);
      case 'topics':
        return await topics(model, data, state, budget);
    }
  } catch (e) {
    // A source that cannot serve this subject (no item index, no MF vectors, nothing to fold in) is skipped.
    if (e instanceof SimrecError && (e.code === 'NOT_FOUND' || e.code === 'ARTIFACT_MISSING'))
      return skipped(source, e.message);
    throw e;
  }
}

function skipped(source: SourceName, why: string): SourceList {
  return { source, items: NO_ITEMS, scores: NO_SCORES, stats: { skipped: why } };
}

async function simclusters(model: ServingModel, st: SubjectState, budget: number): Promise<SourceList> {
  if (!model.hasSimClusters || !model.hasItemIndex)
    return skipped('simclusters', 'no SimClusters item index');
  if (st.interest.ids.length === 0) return skipped('simclusters', 'the subject has no SimClusters interest');
  const exclude = st.user >= 0 ? undefined : Array.from(st.engaged, (i) => model.itemId(i));
  const r =
    st.user >= 0 && st.userId !== null && st.kind === 'user'
      ? await model.candidates({ userId: st.userId }, { limit: budget })
      : await model.candidates(
          { embedding: Array.from(st.interest.ids, (c, j) => [c, st.interest.values[j]] as const) },
          { limit: budget },
          { exclude },
        );
  return {
    source: 'simclusters',
    items: r.result.items,
    scores: r.result.scores,
    stats: { returned: r.result.items.length, sourceEmbedding: r.sourceEmbedding },
  };
}

async function item2item(model: ServingModel, st: SubjectState, budget: number): Promise<SourceList> {
  if (!model.hasSimClusters || !model.hasItemIndex) return skipped('item2item', 'no SimClusters item index');
  if (st.recent.length === 0) return skipped('item2item', 'the subject engaged with nothing');
  const ids = Array.from(st.recent, (i) => model.itemId(i));
  const rows = await Promise.all(ids.map((id) => model.itemEmbedding(id, 'auto').then((e) => e.embedding)));
  const r = await summedQuery(
    model,
    rows,
    rows.map((_, j) => 1 / (1 + j)),
    budget,
    Array.from(st.engaged, (i) => model.itemId(i)),
  );
  return { source: 'item2item', ...r, stats: { returned: r.items.length, seeds: rows.length } };
}

/**
 * The best `budget` items by Σ_j w_j · cos(item, seed_j), asked as one ANN query. The ANN's (shrunk) cosine is
 * linear in the item side, cos(x, s) = ŝ·x / (‖x‖ + λ), so that sum is ‖q‖ · cos(x, q) for q = Σ_j w_j ŝ_j (ŝ the
 * L2-normalised seed): one query from q, scores times ‖q‖, gives every seed's contribution to every item it
 * reaches, where a query per seed would cost one ANN run each and see each seed's own top list only.
 * Empty seeds contribute nothing; `exclude` (external ids) are left out.
 */
async function summedQuery(
  model: ServingModel,
  rows: readonly SparseRow[],
  weights: readonly number[],
  budget: number,
  exclude?: string[],
  itemsPerCluster?: number,
): Promise<{ items: Int32Array; scores: Float32Array }> {
  const q = sumOfUnitRows(rows, weights);
  if (q.ids.length === 0) return { items: NO_ITEMS, scores: NO_SCORES };
  const r = await model.candidates(
    { embedding: Array.from(q.ids, (c, j) => [c, q.values[j]] as const) },
    itemsPerCluster === undefined ? { limit: budget } : { limit: budget, itemsPerCluster },
    { exclude },
  );
  const norm = norm2(q);
  const scores = new Float32Array(r.result.scores.length);
  for (let j = 0; j < scores.length; j++) scores[j] = Math.max(0, r.result.scores[j]) * norm;
  return { items: r.result.items, scores };
}

/**
 * Producers the subject reaches in-network: the followed ones (weight 1) and their most similar ones by the
 * similarity graph (weight ½ · sim / the followed producer's best sim), best weight kept. Returns producer →
 * weight pairs.
 */
export function networkProducers(data: VersionData, follows: Int32Array): Map<number, number> {
  const w = new Map<number, number>();
  for (const p of follows) w.set(p, 1);
  const g = data.similarity;
  if (g)
    for (const p of follows) {
      if (p >= g.nRows) continue;
      const a = g.indptr[p];
      const b = g.indptr[p + 1];
      if (a === b) continue;
      const top = new TopK(Math.min(SIMILAR_PER_PRODUCER, b - a));
      for (let j = a; j < b; j++) if (g.indices[j] !== p) top.push(g.indices[j], g.values ? g.values[j] : 1);
      const ids = new Int32Array(top.size);
      const sims = new Float64Array(top.size);
      top.drainSorted(ids, sims);
      const best = sims[0] > 0 ? sims[0] : 1;
      for (let j = 0; j < ids.length; j++) {
        const weight = (0.5 * sims[j]) / best;
        if (weight > (w.get(ids[j]) ?? 0)) w.set(ids[j], weight);
      }
    }
  return w;
}

function producers(model: ServingModel, data: VersionData, st: SubjectState, budget: number): SourceList {
  if (!model.hasSimClusters || !model.socialCase)
    return skipped('producers', 'producers author no items here');
  if (st.follows.length === 0) return skipped('producers', 'the subject follows nobody');
  const weights = networkProducers(data, st.follows);
  const now = model.currentTime ?? Date.now() / 1000;
  const created = model.live?.itemCreatedTs ?? data.itemCreatedTs;
  const byAuthor = data.authorItems;
  const top = new TopK(budget);
  let read = 0;
  for (const [p, weight] of weights) {
    const author = model.producerEntityIndex(p);
    if (author >= byAuthor.nRows) continue;
    const a = byAuthor.indptr[author];
    const b = Math.min(byAuthor.indptr[author + 1], a + ITEMS_PER_PRODUCER);
    for (let j = a; j < b; j++) {
      const i = byAuthor.indices[j];
      if (model.live?.isDeleted(i)) continue;
      const ts = i < created.length ? created[i] : Number.NaN;
      const ageHours = Number.isNaN(ts) ? 0 : Math.max(0, (now - ts) / 3600);
      top.push(i, weight * 2 ** (-ageHours / PRODUCER_HALF_LIFE_HOURS));
      read++;
    }
  }
  const items = new Int32Array(top.size);
  const scores = new Float32Array(top.size);
  top.drainSorted(items, scores);
  return {
    source: 'producers',
    items,
    scores,
    stats: { returned: items.length, producers: weights.size, followed: st.follows.length, itemsRead: read },
  };
}

async function dense(model: ServingModel, st: SubjectState, budget: number): Promise<SourceList> {
  if (!model.hasDense) return skipped('dense', 'the version has no MF vectors');
  const ids = Array.from(st.engaged, (i) => model.itemId(i));
  let source: { userId: string; items?: string[] } | { items: string[] };
  if (st.kind === 'user' && st.userId !== null && st.user < model.versionUserCount)
    source = { userId: st.userId };
  else if (ids.length > 0) source = { items: ids };
  else return skipped('dense', 'the subject has no MF vector and no items to fold in');
  const r = await model.denseCandidates(source, { limit: Math.min(budget, 1000) }, { exclude: ids });
  return {
    source: 'dense',
    items: r.items,
    scores: r.scores,
    stats: { returned: r.items.length, sourceEmbedding: r.sourceEmbedding },
  };
}

async function popular(model: ServingModel, st: SubjectState, budget: number): Promise<SourceList> {
  const r = await model.popular(
    st.kind === 'user' && st.userId !== null ? { userId: st.userId } : {},
    budget,
    st.kind === 'user' ? {} : { exclude: Array.from(st.engaged, (i) => model.itemId(i)) },
  );
  return {
    source: 'popular',
    items: r.items,
    scores: r.scores,
    stats: { returned: r.items.length, mode: r.mode },
  };
}

async function topics(
  model: ServingModel,
  data: VersionData,
  st: SubjectState,
  budget: number,
): Promise<SourceList> {
  if (!model.hasSimClusters || !model.hasItemIndex) return skipped('topics', 'no SimClusters item index');
  if (st.topics.length === 0 || !data.topics) return skipped('topics', 'the subject follows no topic');
  const rows = await Promise.all(
    Array.from(st.topics, (t) =>
      model.topicEmbedding(data.topics!.id(t)).catch((e) => {
        if (e instanceof SimrecError && e.code === 'NOT_FOUND') return { ids: NO_ITEMS, values: NO_SCORES };
        throw e;
      }),
    ),
  );
  // A topic spreads over many clusters and the source wants few items: reading each cluster's list 4 × the budget
  // deep (not the default M) finds the same top items at a fraction of the scan.
  const fused = await summedQuery(
    model,
    rows,
    rows.map(() => 1),
    budget,
    undefined,
    Math.min(DEFAULT_ANN_PARAMS.itemsPerCluster, TOPIC_DEPTH_PER_WANTED * budget),
  );
  return { source: 'topics', ...fused, stats: { returned: fused.items.length, topics: rows.length } };
}

/**
 * The catalogue, newest first (index order without times), minus `skip`: the last resort when every source
 * together returned fewer than `need` items, so an answer is never empty while the catalogue is not.
 */
export function catalogueFallback(
  model: ServingModel,
  data: VersionData,
  need: number,
  skip: (i: number) => boolean,
): { items: Int32Array; scores: Float32Array } {
  const n = model.itemCount;
  const created = model.live?.itemCreatedTs ?? data.itemCreatedTs;
  const top = new TopK(Math.max(1, need));
  for (let i = 0; i < n; i++) {
    if (model.live?.isDeleted(i) || skip(i)) continue;
    const ts = i < created.length && !Number.isNaN(created[i]) ? created[i] : 0;
    top.push(i, ts);
  }
  const items = new Int32Array(top.size);
  const scores = new Float32Array(top.size);
  top.drainSorted(items, scores);
  return { items, scores };
}
