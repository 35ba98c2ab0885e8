/**
 * The SimClusters part of an artifact version: the `sc/meta` record, the producer index → entity map, the ranked
 * cluster lists and the ANN index parts, written by the build's SimClusters stage and read by the server, the
 * exporter, warm starts and the public `loadSimClustersIndex`. Readers check what they decode, so a damaged or
 * foreign version fails with ARTIFACT_CORRUPT / ARTIFACT_MISSING naming the key, never with a wrong answer.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import type { ClusterTopList } from '../simclusters/cluster-index.ts';
import { INTERESTED_IN_SCORES, interestedInMatrix, RAW_SCORES } from '../simclusters/interested-in.ts';
import type { ItemUpdateRule } from '../simclusters/item-embeddings.ts';
import type { SimClustersCase, SimClustersOutput } from '../simclusters/pipeline.ts';
import type { VersionReader, VersionWriter } from '../store/store.ts';
import { interestedInKey, KEYS } from './keys.ts';

/** The `sc/meta` record. */
export interface SimClustersMeta {
  /** Community ids in use: KnownFor clusters are in [0, k). */
  k: number;
  case: SimClustersCase;
  /** The "now" item embeddings were decayed to (Unix seconds); null without items or timestamps. */
  now: number | null;
  /** The effective parameters of every stage (SimClustersOutput.params). */
  params: Record<string, unknown>;
  /**
   * The item update rule the build resolved (threshold scaled to the data): what the live overlay applies to
   * later events, so batch and stream agree. Absent in versions built before it was stored.
   */
  itemRule?: ItemUpdateRule | null;
  /** The version KnownFor was warm-started from and how many producers matched, or null. */
  warmStart?: Record<string, unknown> | null;
  /** Per-stage statistics without wall times. */
  diagnostics?: unknown;
}

/** Producers of a version: producer index → entity index in `entityIds` (users, social case; items, catalogue). */
export interface StoredProducers {
  social: boolean;
  entity: Int32Array;
  entityIds: IdMap;
  /** Producer index → external id. */
  id(p: number): string;
}

/** The SimClusters ANN index parts of a version (ann/simclusters.ts SimClustersIndex). */
export interface StoredItemIndex {
  itemEmbeddings: CsrMatrix;
  clusterItems: ClusterTopList;
  itemCreatedTs?: Float64Array;
  defaultShrinkage: number;
}

/** Writes every SimClusters output of a build (`producers`: producer index → user or item index). */
export async function writeSimClustersOutputs(
  w: VersionWriter,
  out: SimClustersOutput,
  producers: Int32Array,
  warm: Record<string, unknown> | null,
): Promise<void> {
  await w.putTypedArray(KEYS.producers, producers);
  await w.putCsr(KEYS.similarity, out.similarity.graph);
  await w.putTypedArray(KEYS.knownForCluster, out.knownFor.cluster);
  await w.putTypedArray(KEYS.knownForScore, out.knownFor.score);
  for (const kind of INTERESTED_IN_SCORES)
    await w.putSparseRows(interestedInKey(kind), interestedInMatrix(out.interestedIn, kind));
  const norms = out.interestedIn.columnNorms;
  const k = out.interestedIn.k;
  const columnNorms = new Float64Array(3 * k);
  for (let q = 0; q < RAW_SCORES.length; q++) columnNorms.set(norms[RAW_SCORES[q]].subarray(0, k), q * k);
  await w.putTypedArray(KEYS.interestedInColumnNorms, columnNorms);
  const flags = out.interestedIn.withoutProof;
  if (flags) {
    let n = 0;
    for (let u = 0; u < flags.length; u++) n += flags[u];
    const list = new Int32Array(n);
    for (let u = 0, j = 0; u < flags.length; u++) if (flags[u]) list[j++] = u;
    await w.putTypedArray(KEYS.interestedInWithoutProof, list);
  }
  await w.putSparseRows(KEYS.producerEmbeddings, out.producers.embedding);
  await w.putCsr(KEYS.clusterProducers, topListAsCsr(out.producers.clusterTopProducers));
  if (out.items) {
    await w.putSparseRows(KEYS.itemEmbeddings, out.items.embedding);
    await w.putTypedArray(KEYS.itemEmbeddingsUpdatedTs, out.items.lastUpdateTs);
    await w.putSparseRows(KEYS.itemLongestEmbeddings, out.items.longest);
    await w.putCsr(KEYS.clusterItems, topListAsCsr(out.items.clusterTopItems));
  }
  if (out.topics) await w.putSparseRows(KEYS.topicEmbeddings, out.topics.embedding);
  if (out.clusterTopics) await w.putCsr(KEYS.clusterTopics, topListAsCsr(out.clusterTopics));
  await writeSimClustersMeta(w, {
    k: out.knownFor.k,
    case: out.case,
    now: out.items ? out.items.asOf : null,
    params: out.params,
    itemRule: out.items ? out.items.rule : null,
    warmStart: warm,
    // Wall times live in the manifest; without them the entry is a pure function of data, config and seed.
    diagnostics: withoutTimings({
      similarity: out.similarity.stats,
      knownFor: out.knownFor.diagnostics,
      interestedIn: out.interestedIn.stats,
      producers: out.producers.stats,
      items: out.items?.stats ?? null,
      topics: out.topics?.stats ?? null,
    }),
  });
}

/** The field order here is the stored JSON's: artifact bytes depend on it. */
export async function writeSimClustersMeta(w: VersionWriter, meta: SimClustersMeta): Promise<void> {
  await w.putJson(KEYS.simclustersMeta, meta);
}

function withoutTimings(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(withoutTimings);
  if (o === null || typeof o !== 'object') return o;
  return Object.fromEntries(
    Object.entries(o)
      .filter(([k]) => !/seconds/i.test(k))
      .map(([k, v]) => [k, withoutTimings(v)]),
  );
}

/** A cluster → top entities list as a CSR entry whose rows are ranked (best first), not id-sorted. */
export function topListAsCsr(list: ClusterTopList): CsrMatrix {
  return new CsrMatrix(list.nClusters, list.nEntities, list.indptr, list.ids, list.scores);
}

/** The inverse of topListAsCsr; a list stored without scores ranks every entry 1. */
export function csrAsTopList(m: CsrMatrix): ClusterTopList {
  return {
    nClusters: m.nRows,
    nEntities: m.nCols,
    indptr: m.indptr,
    ids: m.indices,
    scores: m.values ?? new Float32Array(m.nnz).fill(1),
  };
}

/** Whether the version holds SimClusters outputs at all (an MF-only build does not). */
export function hasSimClusters(reader: VersionReader): boolean {
  return reader.has(KEYS.simclustersMeta);
}

/**
 * @throws SimrecError ARTIFACT_MISSING without `sc/meta`; ARTIFACT_CORRUPT when k is not a positive integer or
 *   the case is unknown
 */
export async function readSimClustersMeta(reader: VersionReader): Promise<SimClustersMeta> {
  requireKeys(reader, [KEYS.simclustersMeta], 'SimClusters outputs');
  const raw = await reader.json<Partial<SimClustersMeta> | null>(KEYS.simclustersMeta);
  const meta = raw && typeof raw === 'object' ? raw : {};
  if (
    typeof meta.k !== 'number' ||
    !Number.isInteger(meta.k) ||
    meta.k < 1 ||
    (meta.case !== 'social' && meta.case !== 'catalogue')
  )
    throw new SimrecError('ARTIFACT_CORRUPT', `version ${reader.id}: ${KEYS.simclustersMeta} is malformed`, {
      field: KEYS.simclustersMeta,
    });
  return {
    ...meta,
    k: meta.k,
    case: meta.case,
    now: typeof meta.now === 'number' ? meta.now : null,
    params: meta.params && typeof meta.params === 'object' ? meta.params : {},
  };
}

/**
 * The producer index → entity map, checked against the id map it points into. A caller that has already
 * loaded the users and items maps passes them, so they are not decoded twice.
 * @throws SimrecError ARTIFACT_CORRUPT when a producer maps outside that id map
 */
export async function readProducers(
  reader: VersionReader,
  meta: SimClustersMeta,
  loaded: { users?: IdMap; items?: IdMap } = {},
): Promise<StoredProducers> {
  const social = meta.case === 'social';
  const idsKey = social ? KEYS.users : KEYS.items;
  requireKeys(reader, [KEYS.producers, idsKey], 'producers');
  const entityIds = (social ? loaded.users : loaded.items) ?? (await reader.idMap(idsKey));
  const entity = await reader.typedArray(KEYS.producers, 'int32');
  for (let p = 0; p < entity.length; p++) {
    const e = entity[p];
    if (e < 0 || e >= entityIds.size)
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `version ${reader.id}: producer ${p} maps outside the id map`,
        {
          field: KEYS.producers,
        },
      );
  }
  return { social, entity, entityIds, id: (p) => entityIds.id(entity[p]) };
}

export function hasKnownFor(reader: VersionReader): boolean {
  return reader.has(KEYS.knownForCluster);
}

/**
 * KnownFor per producer: cluster (−1 none) and score. Versions stored without scores rank every producer 1.
 * @throws SimrecError ARTIFACT_MISSING without the cluster entry
 */
export async function readKnownFor(
  reader: VersionReader,
): Promise<{ cluster: Int32Array; score: Float32Array }> {
  requireKeys(reader, [KEYS.knownForCluster], 'KnownFor');
  const cluster = await reader.typedArray(KEYS.knownForCluster, 'int32');
  const score = reader.has(KEYS.knownForScore)
    ? await reader.typedArray(KEYS.knownForScore, 'float32')
    : new Float32Array(cluster.length).fill(1);
  return { cluster, score };
}

/** A ranked cluster list (KEYS.clusterItems / clusterProducers / clusterTopics), or null when not stored. */
export async function readTopList(
  reader: VersionReader,
  key: typeof KEYS.clusterItems | typeof KEYS.clusterProducers | typeof KEYS.clusterTopics,
): Promise<ClusterTopList | null> {
  return reader.has(key) ? csrAsTopList(await reader.csr(key)) : null;
}

/**
 * Opens the SimClusters ANN index of a version: item embeddings, the cluster → top items index, item creation
 * times and the item-embedding shrinkage the build ranked with.
 * @throws SimrecError ARTIFACT_MISSING when the version has no item embeddings or cluster → items index
 */
export async function loadSimClustersIndex(reader: VersionReader): Promise<StoredItemIndex> {
  for (const key of [KEYS.itemEmbeddings, KEYS.clusterItems]) {
    if (!reader.has(key)) {
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${reader.id} has no ${key}: build it with engagements`,
      );
    }
  }
  const itemEmbeddings = await reader.csr(KEYS.itemEmbeddings);
  const ranked = await reader.csr(KEYS.clusterItems);
  const itemCreatedTs = reader.has(KEYS.itemCreatedTs)
    ? await reader.typedArray(KEYS.itemCreatedTs, 'float64')
    : undefined;
  const meta = reader.has(KEYS.simclustersMeta)
    ? await reader.json<{ params?: { itemEmbeddings?: { shrinkage?: unknown } } } | null>(
        KEYS.simclustersMeta,
      )
    : null;
  const shrinkage = meta?.params?.itemEmbeddings?.shrinkage;
  return {
    // Versions built before shrinkage existed were ranked by the plain cosine: they keep it.
    defaultShrinkage:
      typeof shrinkage === 'number' && shrinkage >= 0 && Number.isFinite(shrinkage) ? shrinkage : 0,
    itemEmbeddings,
    clusterItems: csrAsTopList(ranked),
    itemCreatedTs,
  };
}

/** @throws SimrecError ARTIFACT_MISSING naming the first absent key */
export function requireKeys(reader: VersionReader, keys: readonly string[], what: string): void {
  for (const key of keys)
    if (!reader.has(key))
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${reader.id} has no ${what} (key ${key}); rebuild with this simrec version`,
        { field: key },
      );
}
