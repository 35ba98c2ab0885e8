/**
 * Small artifact versions written by hand, for tests of anything that reads a build's SimClusters outputs (the
 * server, the CLI commands on top of it). Entities are named by external id and embeddings given as
 * `[cluster, score]` pairs, so a test states its data and its expected answers in the same terms. The cluster
 * indexes (`sc/cluster/*`) are derived from the embeddings the way the build derives them, unless given.
 */
import { buildDenseIndex } from '../ann/dense/build.ts';
import { saveDenseIndex } from '../ann/dense/persist.ts';
import { interestedInKey, KEYS } from '../artifacts/keys.ts';
import { writeMfModel } from '../artifacts/mf.ts';
import { topListAsCsr, writeSimClustersMeta } from '../artifacts/simclusters.ts';
import { CsrMatrix } from '../core/csr.ts';
import { IdMap } from '../core/id-map.ts';
import type { HybridMF } from '../mf/model.ts';
import { type ClusterTopList, clusterTopFromEmbeddings } from '../simclusters/cluster-index.ts';
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../simclusters/interested-in.ts';
import { openArtifactStore } from '../store/open.ts';
import type { VersionWriter } from '../store/store.ts';

/** Every key of a version's SimClusters outputs: omitted, a spec with `mf` is what an MF-only build writes. */
export const SIMCLUSTERS_KEYS = [
  KEYS.simclustersMeta,
  KEYS.producers,
  KEYS.knownForCluster,
  KEYS.knownForScore,
  ...INTERESTED_IN_SCORES.map(interestedInKey),
  KEYS.producerEmbeddings,
  KEYS.itemEmbeddings,
  KEYS.itemEmbeddingsUpdatedTs,
  KEYS.itemLongestEmbeddings,
  KEYS.topicEmbeddings,
  KEYS.clusterItems,
  KEYS.clusterProducers,
  KEYS.clusterTopics,
];

/** A sparse embedding as `[clusterId, score]` pairs, in any order. */
export type Pairs = ReadonlyArray<readonly [number, number]>;

export interface TestArtifactSpec {
  /** Number of clusters. */
  k: number;
  /** 'social' (producers are users, default) or 'catalogue' (producers are items). */
  case?: 'social' | 'catalogue';
  /** `now` recorded in sc/meta (Unix seconds), default null. */
  now?: number | null;
  users: readonly string[];
  items: readonly string[];
  topics?: readonly string[];
  /** Producers in producer-index order, as user ids (social) or item ids (catalogue). */
  producers: readonly string[];
  /** Producer id → [KnownFor cluster, score]; producers not listed have none (−1). */
  knownFor?: Readonly<Record<string, readonly [number, number]>>;
  /** User id → InterestedIn, stored under every score kind unless `interestedInByKind` overrides one. */
  interestedIn?: Readonly<Record<string, Pairs>>;
  interestedInByKind?: Partial<Record<InterestedInScore, Readonly<Record<string, Pairs>>>>;
  /** Users whose InterestedIn has no social proof (KEYS.interestedInWithoutProof); absent: the key is not written. */
  withoutProof?: readonly string[];
  producerEmbeddings?: Readonly<Record<string, Pairs>>;
  itemEmbeddings?: Readonly<Record<string, Pairs>>;
  itemLongest?: Readonly<Record<string, Pairs>>;
  topicEmbeddings?: Readonly<Record<string, Pairs>>;
  /** User id → the item ids they engaged with. */
  engagements?: Readonly<Record<string, readonly string[]>>;
  /** Item id → creation time (Unix seconds); items not listed are NaN (unknown). */
  itemCreatedTs?: Readonly<Record<string, number>>;
  /**
   * Cluster → [item id, score] in stored order, instead of deriving the index from the item embeddings (a build
   * may order it by another score than the one it stores, e.g. item-embeddings indexOrder cosine).
   */
  clusterItems?: Readonly<Record<number, ReadonlyArray<readonly [string, number]>>>;
  /** Cluster index sizes when derived (defaults 1600 items, 300 producers, 100 topics per cluster). */
  clusterTop?: { items?: number; producers?: number; topics?: number };
  /** Hybrid MF vectors and indexes (mf/*), as the build's MF stage writes them. */
  mf?: TestMfSpec;
  /** Keys not to write, to test what a server does without them (`KEYS.mfModelPrefix`: the whole MF model). */
  omit?: readonly string[];
  /** The SimClusters parameters recorded in sc/meta (e.g. `{ itemEmbeddings: { topItemsPerCluster: 4 } }`). */
  simclustersParams?: Record<string, unknown>;
}

/**
 * MF vectors given by hand: each entity as its embedding followed by its bias. Items are stored folded as
 * [p, 1, b_i] and users as [q, b_u, 1], so u·i = q·p + b_u + b_i, the model's score.
 */
export interface TestMfSpec {
  /** Item id → [p…, b_i]; every item of the spec must be listed, all with the same length. */
  items: Readonly<Record<string, readonly number[]>>;
  /** User id → [q…, b_u]; users not listed get zeros. */
  users?: Readonly<Record<string, readonly number[]>>;
  /** Backend of both item indexes (default 'exact'; 'hnsw' builds graphs, answering like exact on this size). */
  index?: 'exact' | 'hnsw';
  /** A fitted model over the same items, stored as mf/model/* (what a fold-in reads). */
  model?: HybridMF;
}

export interface WriteTestArtifactsOptions {
  /** Switch `current` to the new version (default true). */
  activate?: boolean;
}

/**
 * Writes one committed version of `spec` into the artifact store at `dir` (created if needed) and returns its
 * id. Unknown ids or clusters outside [0, k) in the spec throw, so a fixture cannot silently drop data.
 */
export async function writeTestArtifacts(
  dir: string,
  spec: TestArtifactSpec,
  options: WriteTestArtifactsOptions = {},
): Promise<string> {
  const store = openArtifactStore(dir);
  const w = await store.createVersion();
  try {
    const omit = new Set(spec.omit ?? []);
    const put = async (key: string, write: () => Promise<void>) => {
      if (!omit.has(key)) await write();
    };
    const users = IdMap.from(spec.users);
    const items = IdMap.from(spec.items);
    const topics = IdMap.from(spec.topics ?? []);
    const social = (spec.case ?? 'social') === 'social';
    const producerSpace = social ? users : items;
    const producerIdx = new Int32Array(spec.producers.length);
    spec.producers.forEach((id, p) => {
      producerIdx[p] = indexOf(producerSpace, id, 'producer');
    });
    const producers = IdMap.from(spec.producers);
    const k = spec.k;

    await put(KEYS.users, () => w.putIdMap(KEYS.users, users));
    await put(KEYS.items, () => w.putIdMap(KEYS.items, items));
    if (spec.topics) await put(KEYS.topics, () => w.putIdMap(KEYS.topics, topics));
    await put(KEYS.producers, () => w.putTypedArray(KEYS.producers, producerIdx));

    const kfCluster = new Int32Array(producers.size).fill(-1);
    const kfScore = new Float32Array(producers.size);
    for (const [id, [c, s]] of Object.entries(spec.knownFor ?? {})) {
      const p = indexOf(producers, id, 'producer');
      kfCluster[p] = checkCluster(c, k);
      kfScore[p] = s;
    }
    await put(KEYS.knownForCluster, () => w.putTypedArray(KEYS.knownForCluster, kfCluster));
    await put(KEYS.knownForScore, () => w.putTypedArray(KEYS.knownForScore, kfScore));

    for (const kind of INTERESTED_IN_SCORES) {
      const rows = spec.interestedInByKind?.[kind] ?? spec.interestedIn ?? {};
      const key = interestedInKey(kind);
      await put(key, () => w.putSparseRows(key, embedding(rows, users, k, 'user')));
    }
    if (spec.withoutProof) {
      const list = Int32Array.from(spec.withoutProof, (id) => {
        const u = users.get(id);
        if (u < 0) throw new Error(`withoutProof: unknown user ${id}`);
        return u;
      }).sort();
      await put(KEYS.interestedInWithoutProof, () => w.putTypedArray(KEYS.interestedInWithoutProof, list));
    }
    const producerEmb = embedding(spec.producerEmbeddings ?? {}, producers, k, 'producer');
    await put(KEYS.producerEmbeddings, () => w.putSparseRows(KEYS.producerEmbeddings, producerEmb));
    const top = spec.clusterTop ?? {};
    await put(KEYS.clusterProducers, () =>
      w.putCsr(
        KEYS.clusterProducers,
        topListAsCsr(clusterTopFromEmbeddings(producerEmb, top.producers ?? 300, 0)),
      ),
    );

    if (spec.itemEmbeddings) {
      const itemEmb = embedding(spec.itemEmbeddings, items, k, 'item');
      await put(KEYS.itemEmbeddings, () => w.putSparseRows(KEYS.itemEmbeddings, itemEmb));
      await put(KEYS.itemLongestEmbeddings, () =>
        w.putSparseRows(KEYS.itemLongestEmbeddings, embedding(spec.itemLongest ?? {}, items, k, 'item')),
      );
      const index = spec.clusterItems
        ? givenIndex(spec.clusterItems, items, k)
        : clusterTopFromEmbeddings(itemEmb, top.items ?? 1600, 0);
      await put(KEYS.clusterItems, () => w.putCsr(KEYS.clusterItems, topListAsCsr(index)));
    }
    if (spec.topicEmbeddings) {
      const topicEmb = embedding(spec.topicEmbeddings, topics, k, 'topic');
      await put(KEYS.topicEmbeddings, () => w.putSparseRows(KEYS.topicEmbeddings, topicEmb));
      await put(KEYS.clusterTopics, () =>
        w.putCsr(KEYS.clusterTopics, topListAsCsr(clusterTopFromEmbeddings(topicEmb, top.topics ?? 100, 0))),
      );
    }
    if (spec.engagements) {
      const rows: number[] = [];
      const cols: number[] = [];
      for (const [u, list] of Object.entries(spec.engagements)) {
        const r = indexOf(users, u, 'user');
        for (const i of list) {
          rows.push(r);
          cols.push(indexOf(items, i, 'item'));
        }
      }
      const m = CsrMatrix.fromCoo(
        Int32Array.from(rows),
        Int32Array.from(cols),
        new Float32Array(rows.length).fill(1),
        users.size,
        items.size,
        'max',
      );
      await put(KEYS.engagements, () => w.putSparseRows(KEYS.engagements, m));
    }
    if (spec.itemCreatedTs) {
      const ts = new Float64Array(items.size).fill(Number.NaN);
      for (const [id, t] of Object.entries(spec.itemCreatedTs)) ts[indexOf(items, id, 'item')] = t;
      await put(KEYS.itemCreatedTs, () => w.putTypedArray(KEYS.itemCreatedTs, ts));
    }
    if (spec.mf) await writeMf(w, spec.mf, users, items, put);
    await put(KEYS.simclustersMeta, () =>
      writeSimClustersMeta(w, {
        k,
        case: social ? 'social' : 'catalogue',
        now: spec.now ?? null,
        params: spec.simclustersParams ?? {},
      }),
    );
    const manifest = await w.commit(
      { seed: 0, counts: { users: users.size, items: items.size, clusters: k } },
      { activate: options.activate !== false },
    );
    return manifest.id;
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  } finally {
    await store.close();
  }
}

async function writeMf(
  w: VersionWriter,
  spec: TestMfSpec,
  users: IdMap,
  items: IdMap,
  put: (key: string, write: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const rows = Object.values(spec.items);
  const dim = rows.length > 0 ? rows[0].length - 1 : 0;
  if (dim < 1) throw new RangeError('test fixture: mf items need an embedding and a bias');
  const D = dim + 2;
  const itemVectors = new Float32Array(items.size * D);
  let listed = 0;
  for (const [id, row] of Object.entries(spec.items)) {
    if (row.length !== dim + 1)
      throw new RangeError(`test fixture: mf item '${id}' has ${row.length} values`);
    const i = indexOf(items, id, 'item');
    itemVectors.set(row.slice(0, dim), i * D);
    itemVectors[i * D + dim] = 1;
    itemVectors[i * D + dim + 1] = row[dim];
    listed++;
  }
  if (listed !== items.size) throw new RangeError('test fixture: every item needs an mf vector');
  const userVectors = new Float32Array(users.size * D);
  for (let u = 0; u < users.size; u++) userVectors[u * D + D - 1] = 1;
  for (const [id, row] of Object.entries(spec.users ?? {})) {
    if (row.length !== dim + 1)
      throw new RangeError(`test fixture: mf user '${id}' has ${row.length} values`);
    userVectors.set(row, indexOf(users, id, 'user') * D);
  }
  await put(KEYS.mfItems, () => w.putDense(KEYS.mfItems, { rows: items.size, dim: D, data: itemVectors }));
  await put(KEYS.mfUsers, () => w.putDense(KEYS.mfUsers, { rows: users.size, dim: D, data: userVectors }));
  const ids = new Int32Array(items.size);
  for (let i = 0; i < ids.length; i++) ids[i] = i;
  const kind = spec.index ?? 'exact';
  await put(KEYS.mfItemIndex, () =>
    saveDenseIndex(w, KEYS.mfItemIndex, buildDenseIndex(ids, itemVectors, D, { metric: 'ip', kind }).index),
  );
  const parts = new Float32Array(items.size * dim);
  for (let i = 0; i < items.size; i++) parts.set(itemVectors.subarray(i * D, i * D + dim), i * dim);
  await put(KEYS.mfItemSimilarIndex, () =>
    saveDenseIndex(
      w,
      KEYS.mfItemSimilarIndex,
      buildDenseIndex(ids, parts, dim, { metric: 'cosine', kind }).index,
    ),
  );
  const model = spec.model;
  if (model) await put(KEYS.mfModelPrefix, () => writeMfModel(w, model.toBuffers()));
}

function indexOf(map: IdMap, id: string, what: string): number {
  const i = map.get(id);
  if (i < 0) throw new RangeError(`test fixture: unknown ${what} '${id}'`);
  return i;
}

function checkCluster(c: number, k: number): number {
  if (!Number.isInteger(c) || c < 0 || c >= k)
    throw new RangeError(`test fixture: cluster ${c} outside [0, ${k})`);
  return c;
}

/** Entities × k CSR with rows sorted by cluster id. */
function embedding(rows: Readonly<Record<string, Pairs>>, ids: IdMap, k: number, what: string): CsrMatrix {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (const [id, pairs] of Object.entries(rows)) {
    const e = indexOf(ids, id, what);
    for (const [cluster, score] of pairs) {
      r.push(e);
      c.push(checkCluster(cluster, k));
      v.push(score);
    }
  }
  return CsrMatrix.fromCoo(Int32Array.from(r), Int32Array.from(c), Float32Array.from(v), ids.size, k, 'sum');
}

/**
 * A hand-sized social version with answers that can be worked out on paper (k = 4):
 *
 * | item | embedding        | cos(dave)      | cos(i4)  | created     |
 * |------|------------------|----------------|----------|-------------|
 * | i0   | c0 0.6, c1 0.8   | 0.96           | 0.48     | now − 1 h   |
 * | i1   | c0 1             | 0.8 (engaged)  | 0.8      | now − 2 h   |
 * | i2   | c1 1             | 0.6            | 0        | now − 10 h  |
 * | i3   | c2 0.6, c3 0.8   | 0              | 0.36     | now − 100 h |
 * | i4   | c0 0.8, c2 0.6   | 0.64           | (itself) | now − 30 h  |
 * | i5   | c3 1             | 0              | 0        | unknown     |
 *
 * dave's InterestedIn is c0 0.8, c1 0.6 (favScore: c0 2, c1 1) and he engaged with i1; erin's is c3 1 and she
 * engaged with i3 and i5. i0's longest embedding is c1 1, so "similar to i0" is i2 (1.0) alone; i4 has no longest
 * one and uses its current embedding. Producers: alice, bob, carol (users 0–2) with KnownFor alice c0 0.9, bob c0
 * 0.5, carol c2 0.8. Topics: cats c0 1, dogs c3 1, fish (no embedding).
 */
export const SMALL_FIXTURE: TestArtifactSpec = {
  k: 4,
  now: 1_700_000_000,
  users: ['alice', 'bob', 'carol', 'dave', 'erin'],
  items: ['i0', 'i1', 'i2', 'i3', 'i4', 'i5'],
  topics: ['cats', 'dogs', 'fish'],
  producers: ['alice', 'bob', 'carol'],
  knownFor: { alice: [0, 0.9], bob: [0, 0.5], carol: [2, 0.8] },
  interestedIn: {
    dave: [
      [0, 0.8],
      [1, 0.6],
    ],
    erin: [[3, 1]],
  },
  interestedInByKind: {
    favScore: {
      dave: [
        [0, 2],
        [1, 1],
      ],
      erin: [[3, 5]],
    },
  },
  producerEmbeddings: {
    alice: [
      [0, 0.9],
      [1, 0.1],
    ],
    bob: [[0, 0.5]],
    carol: [[2, 0.7]],
  },
  itemEmbeddings: {
    i0: [
      [0, 0.6],
      [1, 0.8],
    ],
    i1: [[0, 1]],
    i2: [[1, 1]],
    i3: [
      [2, 0.6],
      [3, 0.8],
    ],
    i4: [
      [0, 0.8],
      [2, 0.6],
    ],
    i5: [[3, 1]],
  },
  itemLongest: { i0: [[1, 1]] },
  topicEmbeddings: { cats: [[0, 1]], dogs: [[3, 1]] },
  engagements: { dave: ['i1'], erin: ['i5', 'i3'] },
  itemCreatedTs: {
    i0: 1_700_000_000 - 3600,
    i1: 1_700_000_000 - 2 * 3600,
    i2: 1_700_000_000 - 10 * 3600,
    i3: 1_700_000_000 - 100 * 3600,
    i4: 1_700_000_000 - 30 * 3600,
  },
};

/**
 * SMALL_FIXTURE with hand-made MF vectors (2 components; items folded [p, 1, b_i], users [q, b_u, 1]):
 *
 * | item | p        | b_i  | dave: q (1, 0), b_u 0.1 | erin: q (0, 1), b_u 0 | cos(p, p_i0) |
 * |------|----------|------|-------------------------|-----------------------|--------------|
 * | i0   | (1, 0)   | 0    | 1.1                     | 0                     | (itself)     |
 * | i1   | (0, 1)   | 0    | 0.1 (engaged)           | 1                     | 0            |
 * | i2   | (2, 0)   | 0.5  | 2.6                     | 0.5                   | 1            |
 * | i3   | (1, 1)   | 0    | 1.1                     | 1 (engaged)           | 0.70710678   |
 * | i4   | (−1, 0)  | 0    | −0.9                    | 0                     | −1           |
 * | i5   | (0.6, 0.8) | −1 | −0.3                    | −0.2 (engaged)        | 0.6          |
 *
 * So dave's dense candidates are i2 2.6, i0 1.1, i3 1.1 (a tie: smaller index first), i5 −0.3, i4 −0.9; erin's
 * i1 1, i2 0.5, i0 0, i4 0; "similar to i0" by cosine is i2 1, i3 0.7071, i5 0.6, i1 0, i4 −1 — where the inner
 * product p·p_i0 would put i2 (2) far ahead and tie i3 with i5's 0.6 below it. The other users have no MF
 * vector of their own (zeros: their scores are the item biases). No MF model is stored (no fold-in).
 */
export const MF_FIXTURE: TestArtifactSpec = {
  ...SMALL_FIXTURE,
  mf: {
    items: {
      i0: [1, 0, 0],
      i1: [0, 1, 0],
      i2: [2, 0, 0.5],
      i3: [1, 1, 0],
      i4: [-1, 0, 0],
      i5: [0.6, 0.8, -1],
    },
    users: { dave: [1, 0, 0.1], erin: [0, 1, 0] },
  },
};

/** A cluster → items index as given, in the given order. */
function givenIndex(
  lists: Readonly<Record<number, ReadonlyArray<readonly [string, number]>>>,
  items: IdMap,
  k: number,
): ClusterTopList {
  const indptr = new Int32Array(k + 1);
  const ids: number[] = [];
  const scores: number[] = [];
  for (let c = 0; c < k; c++) {
    for (const [id, s] of lists[c] ?? []) {
      ids.push(indexOf(items, id, 'item'));
      scores.push(s);
    }
    indptr[c + 1] = ids.length;
  }
  return {
    nClusters: k,
    nEntities: items.size,
    indptr,
    ids: Int32Array.from(ids),
    scores: Float32Array.from(scores),
  };
}
