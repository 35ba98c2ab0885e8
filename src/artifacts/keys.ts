/**
 * The names under which a build stores its outputs in an artifact version. One place, so the build, the
 * exporter and the server cannot disagree on a key.
 */
import type { InterestedInScore } from '../simclusters/interested-in.ts';

export const KEYS = {
  // Id maps (external string id ↔ dense index).
  users: 'ids/users',
  items: 'ids/items',
  topics: 'ids/topics',
  /** Producer index → user index (social case) or item index (catalogue case). */
  producers: 'ids/producers',

  // Inputs as ingested.
  follows: 'graph/follows',
  engagements: 'graph/engagements',
  engagementTs: 'graph/engagements.ts',
  engagementAction: 'graph/engagements.action',
  topicFollows: 'graph/topic-follows',
  itemAuthor: 'items/author',
  itemCreatedTs: 'items/created-ts',
  itemTags: 'items/tags',

  // SimClusters (DESIGN §3). Matrices are entities × clusters unless said otherwise.
  /** producers × producers, symmetric weighted similarity graph (csr). */
  similarity: 'sc/similarity',
  /** Per producer: KnownFor cluster (int32, −1 none) and score (float32). */
  knownForCluster: 'sc/known-for/cluster',
  knownForScore: 'sc/known-for/score',
  /** InterestedIn, one sparse-rows entry per score kind: `sc/interested-in/<kind>` (users × clusters). */
  interestedInPrefix: 'sc/interested-in/',
  /**
   * The L2 norm of each InterestedIn column per raw kind (float64, followScore, favScore, logFavScore, k each),
   * over every user before the top-k cut: what a new user's folded-in row is normalised by (query/live).
   */
  interestedInColumnNorms: 'sc/interested-in-column-norms',
  /**
   * Users (int32 indices, ascending) none of whose InterestedIn clusters passed social proof: their candidates are
   * asked from the embeddings of the items they engaged with (query/serving-model.ts). Absent: no user is.
   */
  interestedInWithoutProof: 'sc/interested-in-without-proof',
  /** producers × clusters (sparse-rows). */
  producerEmbeddings: 'sc/producer-embeddings',
  /** items × clusters, decayed to the build's "now" (sparse-rows); per-item last update time (float64). */
  itemEmbeddings: 'sc/item-embeddings',
  itemEmbeddingsUpdatedTs: 'sc/item-embeddings/updated-ts',
  /** items × clusters: the longest-L2 embedding of items with enough engagements (sparse-rows). */
  itemLongestEmbeddings: 'sc/item-embeddings/longest',
  /** topics × clusters (sparse-rows). */
  topicEmbeddings: 'sc/topic-embeddings',
  /** clusters × items / producers / topics, each row best first (csr with rows ranked, not id-sorted). */
  clusterItems: 'sc/cluster/items',
  clusterProducers: 'sc/cluster/producers',
  clusterTopics: 'sc/cluster/topics',
  /** JSON: k, case ('social' | 'catalogue'), now, parameters used, diagnostics. */
  simclustersMeta: 'sc/meta',

  // Hybrid MF (DESIGN §5) and its dense index (§6).
  /** The trained model's buffers, one blob per name: `mf/model/<name>`. */
  mfModelPrefix: 'mf/model/',
  /** users × (dim + 2) and items × (dim + 2), biases folded in so u·i is the model's score (dense). */
  mfUsers: 'mf/users',
  mfItems: 'mf/items',
  /** The dense ANN index over mfItems (inner product), one blob. */
  mfItemIndex: 'mf/items-index',
  /**
   * The dense ANN index over the embedding part of mfItems (the first dim − 2 columns, no biases) by cosine,
   * one blob: item → item similarity (query/dense-model.ts says why cosine).
   */
  mfItemSimilarIndex: 'mf/items-similar-index',
  /** JSON: params, epochs, fit seconds, dense index report (recall@k against exact). */
  mfMeta: 'mf/meta',

  // The two-stage recommender's ranker (issue 16).
  /** The trained ranker, serialized by its kind (ranking/logistic.ts: `SRLR` bytes), one blob. */
  rankerModel: 'ranker/model',
  /** JSON: the training report (split, examples, logloss, AUC, calibration on the held-out slice). */
  rankerMeta: 'ranker/meta',
} as const;

/**
 * Entries a server reads late or never (MF's ANN indexes, loaded on the first dense query, and the MF training
 * state, read by a fold-in and by warm-started builds): written to the version's lazy part, whose checksum is
 * checked on the first read of one of them rather than when a server opens the version.
 */
export const LAZY_PREFIXES: readonly string[] = [
  KEYS.mfItemIndex,
  KEYS.mfItemSimilarIndex,
  KEYS.mfModelPrefix,
];

/** The key of one InterestedIn score kind (every kind in INTERESTED_IN_SCORES is stored). */
export function interestedInKey(kind: InterestedInScore): string {
  return `${KEYS.interestedInPrefix}${kind}`;
}

export type ArtifactKey = (typeof KEYS)[keyof typeof KEYS];
