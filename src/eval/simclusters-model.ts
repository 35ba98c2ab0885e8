/**
 * SimClusters as a recommender for offline evaluation, in the catalogue case (items are the producers of their own
 * engagement, DESIGN §2): on the train positives A (users × items) the offline pipeline runs as a build would —
 * item–item cosine similarity (§3.1) → KnownFor (§3.2) → InterestedIn (§3.3) → item embeddings (§3.5) — and
 *
 *     score(u, i) = InterestedIn(u) · itemEmbedding(i)
 *
 * computed for all items at once by walking u's clusters through the clusters × items transpose of the item
 * embeddings (a user touches only the items of their clusters; everything else scores 0 and ranks by index).
 * This is the exhaustive form of what SimClusters ANN (§4) approximates, so the figures bound the ANN path.
 * (Dividing by ‖W(i)‖, §4's cosine, was measured on ml-latest-small-split and ranks items with a single engagement
 * first: precision@10 fell from 0.13 to 0.007, so the plain dot product it is.)
 */
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import {
  computeInterestedIn,
  INTERESTED_IN_DEFAULTS,
  type InterestedIn,
  type InterestedInParams,
  type InterestedInScore,
} from '../simclusters/interested-in.ts';
import {
  computeItemEmbeddings,
  ITEM_EMBEDDING_DEFAULTS,
  type ItemEmbeddingParams,
} from '../simclusters/item-embeddings.ts';
import { type KnownForParams, knownFor } from '../simclusters/known-for.ts';
import { computeSimilarity, type SimilarityParams } from '../simclusters/similarity.ts';
import type { FitOptions, Recommender, TrainData } from './recommender.ts';

export interface SimClustersModelParams {
  similarity: Partial<SimilarityParams>;
  knownFor: Partial<KnownForParams>;
  interestedIn: Partial<InterestedInParams>;
  itemEmbeddings: Partial<ItemEmbeddingParams>;
  /** The InterestedIn score a user's vector is read from when scoring. */
  userScore: InterestedInScore;
}

/**
 * Defaults for evaluation-sized catalogues (10³–10⁵ items): the §3 values scaled down the way DESIGN allows —
 * fewer followers needed to take part, smaller communities — so that a MovieLens-sized train split yields tens of
 * communities rather than a handful. Everything else is the catalogue default of each stage.
 */
export const SIMCLUSTERS_MODEL_DEFAULTS: Readonly<SimClustersModelParams> = Object.freeze({
  similarity: { minFollowers: 3, maxNeighbors: 100, minSimilarity: 0.02 },
  knownFor: { nodesPerCommunity: 30, maxEpochs: 10 },
  interestedIn: {},
  itemEmbeddings: {},
  userScore: 'logFavScoreClusterNormalized',
});

export class SimClustersRecommender implements Recommender {
  readonly name: string;
  private readonly params: SimClustersModelParams;
  private ii: InterestedIn | null = null;
  private userValues: Float32Array = new Float32Array(0);
  /** clusters × items. */
  private itemsByCluster: CsrMatrix | null = null;
  /** What the fit produced, for reports and tests. */
  stats: {
    clusters: number;
    itemsWithCluster: number;
    usersWithEmbedding: number;
    itemsWithEmbedding: number;
  } | null = null;

  constructor(params: Partial<SimClustersModelParams> = {}, name = 'simclusters') {
    const d = SIMCLUSTERS_MODEL_DEFAULTS;
    this.params = {
      similarity: { ...d.similarity, ...params.similarity },
      knownFor: { ...d.knownFor, ...params.knownFor },
      interestedIn: { ...d.interestedIn, ...params.interestedIn },
      itemEmbeddings: { ...d.itemEmbeddings, ...params.itemEmbeddings },
      userScore: params.userScore ?? d.userScore,
    };
    this.name = name;
  }

  async fit(data: TrainData, opts: FitOptions): Promise<void> {
    const A = data.interactions;
    const p = this.params;
    const sim = await computeSimilarity(A, p.similarity, {
      seed: opts.seed,
      threads: opts.threads,
      onProgress: opts.onProgress,
    });
    const kf = await knownFor(sim.graph, p.knownFor, {
      seed: opts.seed,
      threads: opts.threads,
      onProgress: opts.onProgress,
    });
    const known = { cluster: kf.cluster, score: kf.score, k: kf.k };
    // Catalogue case: the log's columns are the producers themselves (no itemAuthor), favs are A's weights.
    const ii = computeInterestedIn(
      { follows: A, knownFor: known },
      { ...INTERESTED_IN_DEFAULTS.catalogue, ...p.interestedIn },
    );
    const log = {
      matrix: A,
      ts: data.ts,
      action: new Uint8Array(A.nnz),
    };
    const items = computeItemEmbeddings(
      { engagements: log, interestedIn: ii },
      { ...ITEM_EMBEDDING_DEFAULTS.catalogue, ...p.itemEmbeddings },
    );
    this.ii = ii;
    this.userValues = ii.scores[p.userScore];
    this.itemsByCluster = items.embedding.transpose();
    let itemsWithCluster = 0;
    for (let i = 0; i < kf.cluster.length; i++) if (kf.cluster[i] >= 0) itemsWithCluster++;
    this.stats = {
      clusters: kf.k,
      itemsWithCluster,
      usersWithEmbedding: ii.stats.usersWithEmbedding,
      itemsWithEmbedding: items.stats.itemsWithEmbedding,
    };
  }

  scoreUser(user: number, out: Float32Array): void {
    const ii = this.ii;
    const W = this.itemsByCluster;
    if (!ii || !W) throw new SimrecError('INTERNAL', 'simclusters: scoreUser before fit');
    if (out.length !== W.nCols)
      throw new SimrecError('INTERNAL', `simclusters: out has ${out.length} items, the model ${W.nCols}`);
    out.fill(0);
    const x = this.userValues;
    const idx = W.indices;
    const w = W.values!;
    for (let k = ii.indptr[user]; k < ii.indptr[user + 1]; k++) {
      const c = ii.clusters[k];
      const xc = x[k];
      for (let q = W.indptr[c]; q < W.indptr[c + 1]; q++) out[idx[q]] += xc * w[q];
    }
  }
}
