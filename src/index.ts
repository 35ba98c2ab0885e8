/**
 * simrec's public API. Everything a library user may import is re-exported here by name.
 */

export { buildDenseIndex, type DenseBuildReport, measureRecall } from './ann/dense/build.ts';
export {
  DEFAULT_HNSW_PARAMS,
  type DenseFilter,
  type DenseIndex,
  type DenseMetric,
  type DenseSearchResult,
  type HnswIpLayout,
  type HnswParams,
} from './ann/dense/dense-index.ts';
export { HnswIndex } from './ann/dense/hnsw/hnsw-index.ts';
export { lazyDenseIndex, loadDenseIndex, saveDenseIndex } from './ann/dense/persist.ts';
export { ExactIndex, exactTopK } from './ann/exact.ts';
// ann: candidate retrieval
export {
  ANN_LIMITS,
  type AnnFilters,
  type AnnParams,
  type AnnResult,
  DEFAULT_ANN_PARAMS,
  type Scoring,
  SimClustersAnn,
  type SimClustersIndex,
} from './ann/simclusters.ts';
export { interestedInKey, KEYS } from './artifacts/keys.ts';
export { loadSimClustersIndex } from './artifacts/simclusters.ts';
// eval
export {
  adjustedRandIndex,
  clusteringAgreement,
  nmi,
  pairPrecisionRecall,
} from './core/clustering-agreement.ts';
// core: pure primitives
export { CsrMatrix, cooOrder, type Duplicates, rowOfEntry, transposeOrder } from './core/csr.ts';
export { ERROR_CODES, type ErrorCode, type ErrorDetail, isSimrecError, SimrecError } from './core/errors.ts';
export { IdMap } from './core/id-map.ts';
export { hashString, Rng } from './core/prng.ts';
export {
  addScaled,
  cosine,
  dot,
  emptySparse,
  l2Distance,
  norm2,
  prune,
  type SparseVector,
  scale,
  sparseFromPairs,
  sparseGet,
  topN,
} from './core/sparse.ts';
export { TOPK_MAX_CAPACITY, TopK, topKIndices } from './core/topk.ts';
export { CODE_VERSION } from './core/version.ts';
export { runWorkers, sharedArray, startWorker, toShared, workerDone } from './core/workers.ts';
// data: ingest, validation, MovieLens, synthetic data
export {
  ACTION_POSITIVE,
  ACTION_UNFAV,
  type Dataset,
  type DatasetStats,
  type Engagements,
  INPUT_KINDS,
  type InputFileInfo,
  type InputKind,
  type LoadOptions,
} from './data/dataset.ts';
export { loadDataset, validateDataset } from './data/load.ts';
export { detectMovieLens, loadMovieLensSplit, type MovieLensSplit } from './data/movielens.ts';
export { type Interactions, positivesFromEngagements } from './data/positives.ts';
export { type GenerateOptions, type GeneratorSummary, generateSynthetic } from './data/synthetic/generate.ts';
export { PRESET_NAMES, PRESETS, type PresetName, type SyntheticParams } from './data/synthetic/params.ts';
export { communityLabels, primaryInterests, readTruth, type Truth } from './data/synthetic/truth.ts';
export { formatProblem, type ValidationReport } from './data/validate.ts';
export { type EvalReport, evaluateModels, measureRecommender } from './eval/evaluate.ts';
export { dropOverlap, type EvalData, type TrainTest, toCatalogue } from './eval/interactions.ts';
export { loadDatasetEval, loadFilesEval } from './eval/load.ts';
export { itemPopularity, type MetricSummary, RankingEvaluator, SampledEvaluator } from './eval/metrics.ts';
export { MfRecommender } from './eval/mf-model.ts';
export { createModels, MODEL_FACTORIES } from './eval/models.ts';
export {
  type FitOptions,
  type ModelFactory,
  PopularityRecommender,
  RandomRecommender,
  type Recommender,
  type TrainData,
} from './eval/recommender.ts';
export { renderHtml, renderTable } from './eval/report.ts';
export { SimClustersRecommender } from './eval/simclusters-model.ts';
export {
  leaveOneOutSplit,
  randomSplit,
  type SplitKind,
  splitInteractions,
  temporalSplit,
  userHoldoutSplit,
} from './eval/splits.ts';
// mf: hybrid matrix factorization (DESIGN §5)
export { type FeatureNormalization, tagMatrix } from './mf/features.ts';
export {
  type FoldedVectors,
  HybridMF,
  MAX_THREADS,
  type MfBuffers,
  type MfFitInput,
  type MfFitOptions,
  type MfProgress,
} from './mf/model.ts';
export {
  DEFAULT_MF_PARAMS,
  MF_LOSSES,
  type MfLoss,
  type MfParams,
  type MfSchedule,
  resolveParams as resolveMfParams,
} from './mf/params.ts';
// pipeline: build and export
export { type BuildOptions, type BuildResult, runBuild } from './pipeline/build.ts';
export { type BuildConfig, BuildConfigSchema, resolveBuildConfig } from './pipeline/config.ts';
export { EXPORT_KINDS, type ExportKind, exportArtifacts } from './pipeline/export.ts';
export type {
  CandidateFilter,
  CandidateList,
  CandidateSource,
  CandidateSubject,
} from './query/candidate-source.ts';
export {
  type ItemCounters,
  LiveOverlay,
  type LiveOverlayOptions,
  type LiveOverlayStats,
} from './query/live/overlay.ts';
export {
  type CandidateFilters,
  type CandidateResult,
  type ClusterView,
  LiveModel,
  type LiveModelOptions,
  type ModelOverlay,
  type PopularResult,
  type QuerySubject,
  ServingModel,
  type ServingModelOptions,
} from './query/serving-model.ts';
export { candidateSources, SOURCE_FACTORIES } from './query/sources/registry.ts';
// ranking: features, ranker, metrics, exploration, merge and filters (DESIGN §7)
export { ArrayCounters, type EngagementCounters } from './ranking/counters.ts';
export { ExampleSet } from './ranking/examples.ts';
export {
  ageWindow,
  allowOnly,
  capPerAuthor,
  DROP,
  type DropReason,
  diversityDiscount,
  excludeItems,
  excludeOwn,
  excludeSeen,
} from './ranking/filters.ts';
export {
  FeatureBuilder,
  FeatureSpec,
  type FeatureSpecInit,
  FeatureVector,
  MAX_HASH_BITS,
  murmur3Bytes,
  murmur3Pair,
  murmur3String,
} from './ranking/hashing.ts';
export {
  LogisticModel,
  type LogisticOptions,
  type LogisticTrainingReport,
  trainLogistic,
} from './ranking/logistic.ts';
export { CandidateMerger, MAX_SOURCES, type Provenance, RRF_K } from './ranking/merge.ts';
export { auc, type Calibration, calibration, logloss, type ReliabilityBin } from './ranking/metrics.ts';
export type { FeatureContribution, Ranker } from './ranking/ranker.ts';
export {
  DEFAULT_SIMULATION,
  type ExplorationOutcome,
  type ExplorationPolicy,
  type ExplorationSimulation,
  simulateExploration,
} from './ranking/simulate.ts';
export { StampCounts, StampSet } from './ranking/stamps.ts';
export {
  DEFAULT_EXPLORE_SHARE,
  type ExploreOptions,
  Explorer,
  explorationSlots,
  explore,
  sampleBeta,
  sampleGamma,
} from './ranking/thompson.ts';
// recommend: the two-stage engine (issue 16)
export {
  type ClusterExplanation,
  Engine as RecommendEngine,
  type Explanation,
  RECOMMEND_LIMITS,
  type Recommendation,
  type RecommendedItem,
  type RecommendFilters,
  type RecommendOptions,
  recommend,
} from './recommend/engine.ts';
export { FEATURES as RANKER_FEATURES, FeatureHydrator } from './recommend/features.ts';
export {
  DEFAULT_STRATEGY,
  SOURCES as RECOMMEND_SOURCES,
  type Strategy,
  type StrategyFilters,
} from './recommend/strategy.ts';
export type { RecommendSubject } from './recommend/subject.ts';
// serve: the HTTP server (DESIGN §10)
export { type AppOptions, buildApp, type EventOptions, type SimrecFastify } from './serve/app.ts';
export { type ApplierOptions, LogApplier, liveOverlays, type OverlayFactory } from './serve/applier.ts';
export { API_KEYS_ENV, loadApiKeys } from './serve/auth.ts';
export { HTTP_ERROR_CODES, HTTP_STATUS, type HttpErrorCode, toHttpError } from './serve/errors.ts';
export { type RunningServer, type ServerOptions, startServer, untilSignalled } from './serve/server.ts';
// simclusters: the offline stages (DESIGN §3)
export {
  buildClusterTopItems,
  buildClusterTopProducers,
  type ClusterTopList,
  clusterTop,
} from './simclusters/cluster-index.ts';
export type { EngagementLog, KnownFor } from './simclusters/embedding-types.ts';
export {
  computeInterestedIn,
  INTERESTED_IN_DEFAULTS,
  INTERESTED_IN_SCORES,
  type InterestedIn,
  type InterestedInParams,
  type InterestedInScore,
  interestedInMatrix,
} from './simclusters/interested-in.ts';
export {
  applyEngagement,
  computeItemEmbeddings,
  ITEM_EMBEDDING_DEFAULTS,
  type ItemEmbeddingParams,
  type ItemEmbeddings,
} from './simclusters/item-embeddings.ts';
export {
  KNOWN_FOR_DEFAULTS,
  type KnownForParams,
  type KnownForResult,
  knownFor,
  knownForScores,
} from './simclusters/known-for.ts';
export {
  runSimClusters,
  type SimClustersInput,
  type SimClustersOutput,
  type SimClustersParams,
} from './simclusters/pipeline.ts';
export {
  computeProducerEmbeddings,
  PRODUCER_EMBEDDING_DEFAULTS,
  type ProducerEmbeddingParams,
} from './simclusters/producer-embeddings.ts';
export { computeSimilarity, SIMILARITY_DEFAULTS, type SimilarityParams } from './simclusters/similarity.ts';
export {
  computeTopicEmbeddings,
  TOPIC_EMBEDDING_DEFAULTS,
  type TopicEmbeddingParams,
} from './simclusters/topic-embeddings.ts';
// store: versioned artifacts
export { LmdbArtifactStore } from './store/lmdb/lmdb-store.ts';
export { type ReaderLease, ReloadingReader, type ReloadingReaderOptions } from './store/reloading-reader.ts';
export type {
  ArtifactStore,
  Manifest,
  ManifestFields,
  VersionReader,
  VersionWriter,
} from './store/store.ts';
