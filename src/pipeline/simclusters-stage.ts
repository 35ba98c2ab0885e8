/**
 * The build's SimClusters stage: maps a Dataset onto the inputs of src/simclusters (choosing the social or the
 * catalogue case), runs it, stores every output under KEYS, and — when the data carries planted ground truth —
 * records how well KnownFor recovered it.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import type { Dataset } from '../data/dataset.ts';
import { communityLabels } from '../data/synthetic/truth.ts';
import { clusteringAgreement } from '../eval/clustering.ts';
import { positivesFromEngagements } from '../eval/interactions.ts';
import type { ClusterTopList } from '../simclusters/cluster-index.ts';
import { INTERESTED_IN_SCORES, interestedInMatrix } from '../simclusters/interested-in.ts';
import { runSimClusters, type SimClustersInput, type SimClustersOutput } from '../simclusters/pipeline.ts';
import type { ArtifactStore, VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
import { interestedInKey, KEYS } from './keys.ts';
import { readProducerCommunities } from './truth.ts';

/** What the build keeps beside the stored outputs: producer ids and the truth comparison. */
export interface SimClustersSummary {
  case: 'social' | 'catalogue';
  k: number;
  producers: number;
  producersWithKnownFor: number;
  /** Producer index → external id. */
  producerIds: (p: number) => string;
  output: SimClustersOutput;
  truth: { nmi: number; ari: number; pairPrecision: number; pairRecall: number; compared: number } | null;
}

/** Social case when there are follows; catalogue case (producers are items) otherwise. */
export function simclustersInput(d: Dataset): { input: SimClustersInput; producers: Int32Array; ids: IdMap } {
  if (d.follows && d.follows.nnz > 0) {
    const follows = d.follows;
    const followers = follows.colCounts();
    const producerOf = new Int32Array(d.users.size).fill(-1);
    let n = 0;
    for (let u = 0; u < followers.length; u++) if (followers[u] > 0) producerOf[u] = n++;
    const producers = new Int32Array(n);
    for (let u = 0; u < producerOf.length; u++) if (producerOf[u] >= 0) producers[producerOf[u]] = u;
    // Renumbering is monotone, so every row stays sorted.
    const indices = new Int32Array(follows.nnz);
    for (let k = 0; k < indices.length; k++) indices[k] = producerOf[follows.indices[k]];
    const A = new CsrMatrix(follows.nRows, n, follows.indptr, indices, null);
    const itemAuthor = new Int32Array(d.itemAuthor.length);
    for (let i = 0; i < itemAuthor.length; i++)
      itemAuthor[i] = d.itemAuthor[i] >= 0 ? producerOf[d.itemAuthor[i]] : -1;
    return {
      input: {
        case: 'social',
        A,
        engagements: d.engagements,
        itemAuthor,
        userProducer: producerOf,
        itemCreatedTs: d.itemCreatedTs,
        itemTags: d.itemTags,
        topicFollows: d.topicFollows,
      },
      producers,
      ids: d.users,
    };
  }
  if (!d.engagements) throw new SimrecError('INPUT_MISSING', 'SimClusters needs follows or engagements');
  const A = positivesFromEngagements(d.engagements).matrix;
  const producers = new Int32Array(d.items.size);
  for (let i = 0; i < producers.length; i++) producers[i] = i;
  return {
    input: {
      case: 'catalogue',
      A,
      engagements: d.engagements,
      itemAuthor: null,
      userProducer: null,
      itemCreatedTs: d.itemCreatedTs,
      itemTags: d.itemTags,
      topicFollows: d.topicFollows,
    },
    producers,
    ids: d.items,
  };
}

/**
 * A previous build's KnownFor mapped onto this build's producers by external id (−1 for new producers), so
 * cluster ids stay stable between builds.
 */
export async function warmStartFrom(
  store: ArtifactStore,
  producerIds: (p: number) => string,
  nProducers: number,
): Promise<{ assignment: Int32Array; version: string; matched: number }> {
  const r = await store.openVersion();
  try {
    if (!r.has(KEYS.knownForCluster)) {
      throw new SimrecError('ARTIFACT_MISSING', `warm start: version ${r.id} has no KnownFor`);
    }
    const meta = await r.json<{ case: 'social' | 'catalogue' }>(KEYS.simclustersMeta);
    const prevIds = await r.idMap(meta.case === 'social' ? KEYS.users : KEYS.items);
    const prevProducers = await r.typedArray(KEYS.producers, 'int32');
    const prevCluster = await r.typedArray(KEYS.knownForCluster, 'int32');
    const byId = new Map<string, number>();
    for (let p = 0; p < prevProducers.length; p++)
      if (prevCluster[p] >= 0) byId.set(prevIds.id(prevProducers[p]), prevCluster[p]);
    const assignment = new Int32Array(nProducers).fill(-1);
    let matched = 0;
    for (let p = 0; p < nProducers; p++) {
      const c = byId.get(producerIds(p));
      if (c !== undefined) {
        assignment[p] = c;
        matched++;
      }
    }
    return { assignment, version: r.id, matched };
  } finally {
    await r.close();
  }
}

export async function simclustersStage(
  d: Dataset,
  config: BuildConfig,
  writer: VersionWriter,
  opts: {
    dataDir: string;
    warmStart?: ArtifactStore;
    onProgress?: (stage: string, done: number, total?: number) => void;
    onStage?: (stage: string, seconds: number, detail: Record<string, unknown>) => void;
  },
): Promise<SimClustersSummary> {
  const { input, producers, ids } = simclustersInput(d);
  const producerIds = (p: number) => ids.id(producers[p]);
  let warmInfo: Record<string, unknown> | null = null;
  if (opts.warmStart) {
    const w = await warmStartFrom(opts.warmStart, producerIds, producers.length);
    input.warmStart = w.assignment;
    warmInfo = { version: w.version, producersMatched: w.matched };
  }
  const { enabled: _enabled, topTopicsPerCluster, ...stages } = config.simclusters;
  const out = await runSimClusters(
    input,
    { ...stages, topTopicsPerCluster },
    {
      seed: config.seed,
      threads: config.threads,
      onProgress: opts.onProgress,
      onStage: opts.onStage,
    },
  );
  // Timed as stages of their own: on the medium preset storing the outputs takes as long as computing some.
  let t0 = performance.now();
  await storeOutputs(writer, out, producers, warmInfo);
  opts.onStage?.('store-simclusters', (performance.now() - t0) / 1000, {});
  t0 = performance.now();
  const truth = await compareWithTruth(opts.dataDir, out, producerIds, producers.length);
  if (truth) opts.onStage?.('truth-comparison', (performance.now() - t0) / 1000, { nmi: truth.nmi });

  let withKf = 0;
  for (let p = 0; p < out.knownFor.cluster.length; p++) if (out.knownFor.cluster[p] >= 0) withKf++;
  return {
    case: out.case,
    k: out.knownFor.k,
    producers: producers.length,
    producersWithKnownFor: withKf,
    producerIds,
    output: out,
    truth,
  };
}

async function storeOutputs(
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
  await w.putSparseRows(KEYS.producerEmbeddings, out.producers.embedding);
  await w.putCsr(KEYS.clusterProducers, ranked(out.producers.clusterTopProducers));
  if (out.items) {
    await w.putSparseRows(KEYS.itemEmbeddings, out.items.embedding);
    await w.putTypedArray(KEYS.itemEmbeddingsUpdatedTs, out.items.lastUpdateTs);
    await w.putSparseRows(KEYS.itemLongestEmbeddings, out.items.longest);
    await w.putCsr(KEYS.clusterItems, ranked(out.items.clusterTopItems));
  }
  if (out.topics) await w.putSparseRows(KEYS.topicEmbeddings, out.topics.embedding);
  if (out.clusterTopics) await w.putCsr(KEYS.clusterTopics, ranked(out.clusterTopics));
  await w.putJson(KEYS.simclustersMeta, {
    k: out.knownFor.k,
    case: out.case,
    now: out.items ? out.items.asOf : null,
    params: out.params,
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
export function ranked(list: ClusterTopList): CsrMatrix {
  return new CsrMatrix(list.nClusters, list.nEntities, list.indptr, list.ids, list.scores);
}

async function compareWithTruth(
  dataDir: string,
  out: SimClustersOutput,
  producerIds: (p: number) => string,
  n: number,
): Promise<SimClustersSummary['truth']> {
  const producerCommunity = await readProducerCommunities(dataDir);
  if (!producerCommunity) return null;
  const ids = Array.from({ length: n }, (_, p) => producerIds(p));
  const planted = communityLabels(producerCommunity, ids);
  const a = clusteringAgreement(out.knownFor.cluster, planted);
  return {
    nmi: a.nmi,
    ari: a.ari,
    pairPrecision: a.pairs.precision,
    pairRecall: a.pairs.recall,
    compared: a.n,
  };
}
