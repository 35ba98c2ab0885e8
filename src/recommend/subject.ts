/**
 * Whom a recommendation is for, resolved against a (possibly live) model: a user of the version or of the
 * overlay, a visitor's session (`items`), or a raw SimClusters embedding. What the sources and the features
 * need of the subject is gathered here once: its interest vector, engaged items (most recent first), follows,
 * followed topics, hidden and seen items.
 */
import { SimrecError } from '../core/errors.ts';
import type { ServingModel } from '../query/serving-model.ts';
import type { SparseRow } from '../store/store.ts';
import type { VersionData } from './version-data.ts';

export type RecommendSubject =
  | { userId: string; items?: readonly string[] }
  | { items: readonly string[] }
  | { embedding: ReadonlyArray<readonly [number, number]> };

/** Most ids a session subject may carry. */
export const MAX_SESSION_ITEMS = 1000;

export interface SubjectState {
  kind: 'user' | 'session' | 'embedding' | 'unknown-user';
  /** The user's index (version or overlay), −1 for a session, an embedding or a user nobody knows. */
  user: number;
  userId: string | null;
  /** SimClusters interest (sorted cluster ids), empty when there is none. */
  interest: SparseRow;
  /** Every item the subject engaged with (version and live; a session's items). */
  engaged: Int32Array;
  /** The most recent engaged items, most recent first. */
  recent: Int32Array;
  /** Producers the subject follows (version and live). */
  follows: Int32Array;
  /** Topic indices the subject follows (version and live). */
  topics: Int32Array;
  hidden: Int32Array;
  seen: Int32Array;
}

const EMPTY_ROW: SparseRow = { ids: new Int32Array(0), values: new Float32Array(0) };
const NONE: Int32Array = new Int32Array(0);

/** How many recent engagements seed item → item retrieval. */
export const RECENT_ITEMS = 10;

/**
 * Resolves a subject. A user unknown to the version and the overlay is not an error: it gets what any visitor
 * gets (trending, the catalogue), so an answer is never empty while the catalogue is not.
 * @throws SimrecError CONFIG_INVALID for a malformed subject (naming the field)
 */
export async function resolveSubject(
  model: ServingModel,
  data: VersionData,
  subject: RecommendSubject,
): Promise<SubjectState> {
  const s = subject as Partial<{ userId: unknown; items: unknown; embedding: unknown }>;
  if (s.userId !== undefined && typeof s.userId !== 'string')
    throw new SimrecError('CONFIG_INVALID', 'userId must be a string', { field: 'userId' });
  if (s.items !== undefined) {
    if (!Array.isArray(s.items) || s.items.some((x) => typeof x !== 'string'))
      throw new SimrecError('CONFIG_INVALID', 'items must be a list of item ids', { field: 'items' });
    if (s.items.length > MAX_SESSION_ITEMS)
      throw new SimrecError(
        'CONFIG_INVALID',
        `items holds ${s.items.length} ids, at most ${MAX_SESSION_ITEMS}`,
        {
          field: 'items',
        },
      );
  }
  const given = knownItems(model, (s.items as string[] | undefined) ?? []);
  if (s.userId !== undefined) {
    let u = -1;
    try {
      u = model.userIndex(s.userId);
    } catch (e) {
      if (!(e instanceof SimrecError && e.code === 'NOT_FOUND')) throw e;
    }
    if (u < 0) {
      if (given.length > 0) return { ...(await sessionState(model, given)), userId: s.userId };
      return { ...emptyState('unknown-user'), userId: s.userId };
    }
    return userState(model, data, u, s.userId, given);
  }
  if (s.embedding !== undefined) {
    if (!Array.isArray(s.embedding))
      throw new SimrecError('CONFIG_INVALID', 'embedding must be a list of [clusterId, score] pairs', {
        field: 'embedding',
      });
    return { ...emptyState('embedding'), interest: embeddingRow(model, s.embedding as [number, number][]) };
  }
  if (s.items !== undefined) return sessionState(model, given);
  throw new SimrecError('CONFIG_INVALID', 'a subject needs one of userId, items, embedding', {
    field: 'subject',
  });
}

function emptyState(kind: SubjectState['kind']): SubjectState {
  return {
    kind,
    user: -1,
    userId: null,
    interest: EMPTY_ROW,
    engaged: NONE,
    recent: NONE,
    follows: NONE,
    topics: NONE,
    hidden: NONE,
    seen: NONE,
  };
}

function knownItems(model: ServingModel, ids: readonly string[]): Int32Array {
  const out: number[] = [];
  for (const id of ids) {
    try {
      out.push(model.itemIndex(id));
    } catch (e) {
      if (!(e instanceof SimrecError && e.code === 'NOT_FOUND')) throw e;
    }
  }
  return Int32Array.from(out);
}

async function userState(
  model: ServingModel,
  data: VersionData,
  u: number,
  userId: string,
  given: Int32Array,
): Promise<SubjectState> {
  const ov = model.live;
  const nU = model.versionUserCount;
  let interest = EMPTY_ROW;
  if (model.hasSimClusters) interest = await model.userEmbedding(userId);
  // Version engagements, most recent first (by the log's times; index order when untimed), then live ones
  // (the overlay lists them in first-engagement order, so the last is the most recent).
  const version: number[] = [];
  const times: number[] = [];
  const e = data.engagements;
  if (e && u < nU && u < e.nRows)
    for (let j = e.indptr[u]; j < e.indptr[u + 1]; j++) {
      version.push(e.indices[j]);
      times.push(data.engagementTs ? data.engagementTs[j] : Number.NaN);
    }
  const order = version.map((_, j) => j);
  const t = (j: number) => (Number.isNaN(times[j]) ? Number.NEGATIVE_INFINITY : times[j]);
  order.sort((a, b) => t(b) - t(a) || b - a);
  const live = ov ? ov.userEngaged(u) : NONE;
  const engaged = new Int32Array(version.length + live.length + given.length);
  engaged.set(Int32Array.from(version), 0);
  engaged.set(live, version.length);
  engaged.set(given, version.length + live.length);
  const recent: number[] = [];
  const seenRecent = new Set<number>();
  const pushRecent = (i: number) => {
    if (recent.length < RECENT_ITEMS && !seenRecent.has(i)) {
      seenRecent.add(i);
      recent.push(i);
    }
  };
  for (let j = given.length - 1; j >= 0; j--) pushRecent(given[j]);
  for (let j = live.length - 1; j >= 0; j--) pushRecent(live[j]);
  for (const j of order) pushRecent(version[j]);

  const follows: number[] = [];
  if (data.follows && u < data.follows.nRows)
    for (let j = data.follows.indptr[u]; j < data.follows.indptr[u + 1]; j++) {
      const p = model.producerOfEntity(data.follows.indices[j]);
      if (p >= 0) follows.push(p);
    }
  const topics: number[] = [];
  if (data.topicFollows && u < data.topicFollows.nRows)
    for (let j = data.topicFollows.indptr[u]; j < data.topicFollows.indptr[u + 1]; j++)
      topics.push(data.topicFollows.indices[j]);
  let hidden: Int32Array = NONE;
  let seen: Int32Array = NONE;
  if (ov) {
    const f = ov.userFollows(u);
    for (const p of f.producers) if (!follows.includes(p)) follows.push(p);
    for (const name of f.topics) {
      const t = data.topics ? data.topics.get(name) : -1;
      if (t >= 0 && !topics.includes(t)) topics.push(t);
    }
    hidden = ov.userHidden(u);
    seen = ov.userSeen(u);
  }
  return {
    kind: 'user',
    user: u,
    userId,
    interest,
    engaged,
    recent: Int32Array.from(recent),
    follows: Int32Array.from(follows),
    topics: Int32Array.from(topics),
    hidden,
    seen,
  };
}

/** A visitor's session: interest = the normalised sum of the items' current embeddings. */
async function sessionState(model: ServingModel, items: Int32Array): Promise<SubjectState> {
  const st = emptyState('session');
  st.engaged = items;
  const recent: number[] = [];
  for (let j = items.length - 1; j >= 0 && recent.length < RECENT_ITEMS; j--)
    if (!recent.includes(items[j])) recent.push(items[j]);
  st.recent = Int32Array.from(recent);
  if (model.hasSimClusters && model.k > 0) {
    const sum = new Float64Array(model.k);
    for (const i of items) {
      const { embedding } = await model.itemEmbedding(model.itemId(i));
      for (let q = 0; q < embedding.ids.length; q++) sum[embedding.ids[q]] += embedding.values[q];
    }
    let sq = 0;
    for (let c = 0; c < sum.length; c++) sq += sum[c] * sum[c];
    const norm = Math.sqrt(sq);
    const ids: number[] = [];
    const values: number[] = [];
    if (norm > 0)
      for (let c = 0; c < sum.length; c++)
        if (sum[c] > 0) {
          ids.push(c);
          values.push(sum[c] / norm);
        }
    st.interest = { ids: Int32Array.from(ids), values: Float32Array.from(values) };
  }
  return st;
}

function embeddingRow(model: ServingModel, pairs: ReadonlyArray<readonly [number, number]>): SparseRow {
  const k = model.k;
  const seen = new Set<number>();
  const sorted = [...pairs].map((p, j) => {
    if (!Array.isArray(p) || p.length !== 2)
      throw new SimrecError('CONFIG_INVALID', 'each embedding entry is [clusterId, score]', {
        field: `embedding.${j}`,
      });
    const [c, v] = p;
    if (!Number.isInteger(c) || c < 0 || c >= k)
      throw new SimrecError('CONFIG_INVALID', `cluster ${c} outside [0, ${k})`, {
        field: `embedding.${j}.0`,
      });
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new SimrecError('CONFIG_INVALID', `score ${v} is not finite`, { field: `embedding.${j}.1` });
    if (seen.has(c))
      throw new SimrecError('CONFIG_INVALID', `cluster ${c} appears more than once`, {
        field: `embedding.${j}.0`,
      });
    seen.add(c);
    return [c, v] as const;
  });
  sorted.sort((a, b) => a[0] - b[0]);
  return { ids: Int32Array.from(sorted, (p) => p[0]), values: Float32Array.from(sorted, (p) => p[1]) };
}
