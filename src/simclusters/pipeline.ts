/**
 * The SimClusters offline stages of DESIGN §3 in data-flow order — similarity → KnownFor → InterestedIn →
 * producer, item and topic embeddings → cluster indexes — for both cases DESIGN §2 names: the social case
 * (A = follows; producers are followed users; favs are engagements with items they authored) and the catalogue
 * case (A = positive engagements; producers are the items themselves).
 */
import type { CsrMatrix } from '../core/csr.ts';
import { type ClusterTopList, clusterTopFromEmbeddings } from './cluster-index.ts';
import type { EngagementLog } from './embedding-types.ts';
import {
  computeInterestedIn,
  INTERESTED_IN_DEFAULTS,
  type InterestedIn,
  type InterestedInParams,
} from './interested-in.ts';
import {
  computeItemEmbeddings,
  ITEM_EMBEDDING_DEFAULTS,
  type ItemEmbeddingParams,
  type ItemEmbeddings,
} from './item-embeddings.ts';
import { type KnownForParams, type KnownForResult, knownFor, resolveKnownForParams } from './known-for.ts';
import { extendKnownFor } from './known-for-extend.ts';
import {
  computeProducerEmbeddings,
  PRODUCER_EMBEDDING_DEFAULTS,
  type ProducerEmbeddingParams,
  type ProducerEmbeddings,
} from './producer-embeddings.ts';
import {
  computeSimilarity,
  resolveSimilarityParams,
  type SimilarityParams,
  type SimilarityResult,
} from './similarity.ts';
import {
  computeTopicEmbeddings,
  TOPIC_EMBEDDING_DEFAULTS,
  type TopicEmbeddingParams,
  type TopicEmbeddings,
} from './topic-embeddings.ts';

export type SimClustersCase = 'social' | 'catalogue';

/** Stage overrides; whatever is not given takes the stage's default for the case. */
export interface SimClustersParams {
  similarity?: Partial<SimilarityParams>;
  knownFor?: Partial<KnownForParams>;
  interestedIn?: Partial<InterestedInParams>;
  producerEmbeddings?: Partial<ProducerEmbeddingParams>;
  itemEmbeddings?: Partial<ItemEmbeddingParams>;
  topicEmbeddings?: Partial<TopicEmbeddingParams>;
  /** Topics kept per cluster in the cluster → top topics index. */
  topTopicsPerCluster?: number;
}

export interface SimClustersInput {
  case: SimClustersCase;
  /** consumers × producers: follows (social) or positive engagements (catalogue). */
  A: CsrMatrix;
  /** users × items engagement log (favs, unfavs, ratings), or null when there is none. */
  engagements: EngagementLog | null;
  /** Social case: per item, its author's producer index or −1. */
  itemAuthor: Int32Array | null;
  /** Social case: per user, the user's producer index or −1 (an author's own engagement is skipped). */
  userProducer: Int32Array | null;
  itemCreatedTs: Float64Array | null;
  itemTags: CsrMatrix | null;
  topicFollows: CsrMatrix | null;
  /** Previous KnownFor per producer (−1 none) for a warm start with stable cluster ids. */
  warmStart?: Int32Array;
  /**
   * Communities already found for these producers (another run's similarity and extended KnownFor): the
   * similarity and KnownFor stages are skipped and every later stage computed from these.
   */
  communities?: { similarity: SimilarityResult; knownFor: KnownForResult };
}

export interface SimClustersOptions {
  seed: number;
  threads: number;
  onProgress?: (stage: string, done: number, total?: number) => void;
  /** Called after each stage with its wall time. */
  onStage?: (stage: string, seconds: number, detail: Record<string, unknown>) => void;
}

export interface SimClustersOutput {
  case: SimClustersCase;
  similarity: SimilarityResult;
  knownFor: KnownForResult;
  interestedIn: InterestedIn;
  producers: ProducerEmbeddings;
  items: ItemEmbeddings | null;
  topics: TopicEmbeddings | null;
  clusterTopics: ClusterTopList | null;
  /** The effective parameters of every stage. */
  params: Record<string, unknown>;
}

export async function runSimClusters(
  input: SimClustersInput,
  params: SimClustersParams,
  opts: SimClustersOptions,
): Promise<SimClustersOutput> {
  const c = input.case;
  const stage = async <T>(
    name: string,
    fn: () => Promise<T> | T,
    detail: (v: T) => Record<string, unknown>,
  ) => {
    const t0 = performance.now();
    const v = await fn();
    opts.onStage?.(name, (performance.now() - t0) / 1000, detail(v));
    return v;
  };
  const run = { seed: opts.seed, threads: opts.threads, onProgress: opts.onProgress };

  let similarity: SimilarityResult;
  let kf: KnownForResult;
  if (input.communities) {
    similarity = input.communities.similarity;
    kf = input.communities.knownFor;
  } else {
    similarity = await stage(
      'similarity',
      () => computeSimilarity(input.A, similarityParams(c, params), run),
      (s) => ({ ...s.stats }),
    );
    kf = await stage(
      'known-for',
      () => knownFor(similarity.graph, params.knownFor ?? {}, { ...run, warmStart: input.warmStart }),
      (r) => ({ k: r.k, ...summarizeKnownFor(r) }),
    );
    const ext = extendKnownFor(input.A, kf.cluster, kf.score, kf.k);
    kf.diagnostics.extended = ext.extended;
    kf.diagnostics.undecided = ext.undecided;
  }
  const known = { cluster: kf.cluster, score: kf.score, k: kf.k };

  const iiParams = { ...INTERESTED_IN_DEFAULTS[c], ...params.interestedIn };
  const interestedIn = await stage(
    'interested-in',
    () =>
      computeInterestedIn(
        {
          follows: input.A,
          knownFor: known,
          engagements: input.engagements,
          itemAuthor: c === 'social' ? input.itemAuthor : null,
        },
        iiParams,
      ),
    (ii) => ({ ...ii.stats }),
  );
  const producerParams = { ...PRODUCER_EMBEDDING_DEFAULTS[c], ...params.producerEmbeddings };
  const producers = await stage(
    'producer-embeddings',
    () => computeProducerEmbeddings(input.A, interestedIn, producerParams),
    (p) => ({ ...p.stats }),
  );
  const itemParams = { ...ITEM_EMBEDDING_DEFAULTS[c], ...params.itemEmbeddings };
  const items = input.engagements
    ? await stage(
        'item-embeddings',
        () =>
          computeItemEmbeddings(
            {
              engagements: input.engagements!,
              interestedIn,
              itemAuthor: c === 'social' ? input.itemAuthor : null,
              userProducer: c === 'social' ? input.userProducer : null,
              itemCreatedTs: input.itemCreatedTs,
            },
            itemParams,
          ),
        (it) => ({ ...it.stats }),
      )
    : null;
  const topicParams = { ...TOPIC_EMBEDDING_DEFAULTS[c], ...params.topicEmbeddings };
  const hasTopics = input.topicFollows !== null || (input.itemTags !== null && input.engagements !== null);
  const topics = hasTopics
    ? await stage(
        'topic-embeddings',
        () =>
          computeTopicEmbeddings(
            {
              interestedIn,
              topicFollows: input.topicFollows,
              itemTags: input.itemTags,
              engagements: input.engagements,
            },
            topicParams,
          ),
        (t) => ({ source: t.source, ...t.stats }),
      )
    : null;
  const topTopics = params.topTopicsPerCluster ?? 50;
  const clusterTopics = topics ? clusterTopFromEmbeddings(topics.embedding, topTopics, 0) : null;

  return {
    case: c,
    similarity,
    knownFor: kf,
    interestedIn,
    producers,
    items,
    topics,
    clusterTopics,
    params: {
      similarity: resolveSimilarityParams(similarityParams(c, params)),
      knownFor: resolveKnownForParams(params.knownFor),
      interestedIn: iiParams,
      producerEmbeddings: producerParams,
      itemEmbeddings: itemParams,
      topicEmbeddings: topicParams,
      topTopicsPerCluster: topTopics,
    },
  };
}

/** The catalogue case weighs engagements (log(1 + w), see the build stage) unless told otherwise. */
function similarityParams(c: SimClustersCase, params: SimClustersParams): Partial<SimilarityParams> {
  return c === 'catalogue' ? { weighted: true, ...params.similarity } : { ...params.similarity };
}

function summarizeKnownFor(r: KnownForResult): Record<string, unknown> {
  const d = r.diagnostics;
  return {
    warm: d.warm,
    kMode: d.kMode,
    merge: d.merge,
    extended: d.extended,
    epochs: d.epochs,
    acceptRates: d.acceptRates,
    moved: d.moved,
    clusterSizes: d.clusterSizes,
    orphanRate: d.orphanRate,
    edgePrecision: d.edgePrecision,
    edgeRecall: d.edgeRecall,
    edgeF1: d.edgeF1,
  };
}
