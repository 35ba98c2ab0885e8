/**
 * The build's SimClusters stage: maps a Dataset onto the inputs of src/simclusters (choosing the social or the
 * catalogue case), runs it, stores every output (artifacts/simclusters.ts), and — when the data carries planted
 * ground truth — records how well KnownFor recovered it.
 */
import { SimClustersAnn } from '../ann/simclusters.ts';
import {
  hasKnownFor,
  readKnownFor,
  readProducers,
  readSimClustersMeta,
  writeSimClustersOutputs,
} from '../artifacts/simclusters.ts';
import { clusteringAgreement } from '../core/clustering-agreement.ts';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import { type SparseVector, sumOfUnitRows } from '../core/sparse.ts';
import type { Dataset } from '../data/dataset.ts';
import { positivesFromEngagements } from '../data/positives.ts';
import { communityLabels, readProducerCommunities } from '../data/synthetic/truth.ts';
import { interestedInMatrix } from '../simclusters/interested-in.ts';
import { runSimClusters, type SimClustersInput, type SimClustersOutput } from '../simclusters/pipeline.ts';
import { queryItems, userQuery } from '../simclusters/user-query.ts';
import type { ArtifactStore, VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';

/** What the build keeps beside the stored outputs: producer ids and the truth comparison. */
export interface SimClustersSummary {
  case: 'social' | 'catalogue';
  k: number;
  /** What the build reports about the communities (summary and manifest). */
  clusters: ClusterReport;
  producers: number;
  producersWithKnownFor: number;
  /** Producer index → external id. */
  producerIds: (p: number) => string;
  output: SimClustersOutput;
  truth: { nmi: number; ari: number; pairPrecision: number; pairRecall: number; compared: number } | null;
}

export interface ClusterReport {
  kMode: 'auto' | 'fixed';
  /** Community ids in use (k) and how many of them hold a producer. */
  k: number;
  nonEmpty: number;
  sizes: { min: number; median: number; p90: number; max: number };
  /**
   * Producers with a KnownFor / producers with at least one follower (an item nobody engaged with positively,
   * such as a film rated only below minRating, cannot be placed), and how many got theirs from their neighbours.
   */
  coverage: number;
  extended: number;
  /** The graph the communities were found on, and why it was chosen. */
  graph: GraphChoice;
  /**
   * Sampled users with an InterestedIn, asked for their top 10 as `simrec serve` answers them by default (ANN
   * with exact rerank, engaged items excluded): the share whose ten scores are all equal, and whose list is
   * empty. A tied top 10 is ordered by the tie-break, not by the model.
   */
  top10: { sampled: number; fullyTied: number; empty: number };
  /** Stages that turned non-empty input into empty output, or results that make the version weak. */
  warnings: string[];
}

export type GraphMode = 'auto' | 'follows' | 'engagements';

export interface GraphChoice {
  used: 'follows' | 'engagements';
  reason: string;
}

/**
 * Which graph SimClusters runs on. 'auto': the follow graph when items are authored by users (the social case
 * of DESIGN §2, where engagements reach producers through authors) or when it has at least as many edges as the
 * positive engagements; otherwise the user–item engagement graph (the catalogue case). A thin trust graph beside
 * a rich rating log (FilmTrust: 1,853 trust edges, 35,497 ratings of unauthored films) cannot support
 * communities, while the ratings can.
 */
export function chooseGraph(d: Dataset, mode: GraphMode = 'auto'): GraphChoice {
  const follows = d.follows?.nnz ?? 0;
  const engagements = d.engagements?.matrix.nnz ?? 0;
  if (mode === 'follows') {
    if (follows === 0)
      throw new SimrecError('INPUT_MISSING', 'simclusters.graph is follows but there are no follows');
    return { used: 'follows', reason: 'simclusters.graph: follows' };
  }
  if (mode === 'engagements') {
    if (engagements === 0)
      throw new SimrecError('INPUT_MISSING', 'simclusters.graph is engagements but there are no engagements');
    return { used: 'engagements', reason: 'simclusters.graph: engagements' };
  }
  if (follows === 0) {
    if (engagements === 0) throw new SimrecError('INPUT_MISSING', 'SimClusters needs follows or engagements');
    return { used: 'engagements', reason: 'no follows' };
  }
  if (engagements === 0) return { used: 'follows', reason: 'no engagements' };
  let authored = 0;
  for (let i = 0; i < d.itemAuthor.length; i++) if (d.itemAuthor[i] >= 0) authored++;
  if (authored > 0) return { used: 'follows', reason: `${authored} items have an author among the users` };
  if (follows >= engagements)
    return { used: 'follows', reason: `${follows} follow edges ≥ ${engagements} engagements` };
  return {
    used: 'engagements',
    reason: `items have no authors and the ${follows} follow edges are fewer than the ${engagements} engagements`,
  };
}

/** Social case on the follow graph; catalogue case (producers are items) on the engagement graph. */
export function simclustersInput(
  d: Dataset,
  graph: GraphChoice = chooseGraph(d),
): { input: SimClustersInput; producers: Int32Array; ids: IdMap } {
  if (graph.used === 'follows' && d.follows) {
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
  const A = logWeights(positivesFromEngagements(d.engagements).matrix);
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
 * Engagement weights (ratings, play counts, summed repeats) as log(1 + w) for the weighted cosine: a play count
 * of 1,000 then weighs about 3× a count of 10, not 100×, so one heavy listener does not define an item.
 */
function logWeights(m: CsrMatrix): CsrMatrix {
  if (!m.values) return m;
  const v = new Float32Array(m.values.length);
  for (let k = 0; k < v.length; k++) v[k] = Math.log1p(Math.max(0, m.values[k]));
  return new CsrMatrix(m.nRows, m.nCols, m.indptr, m.indices, v);
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
    if (!hasKnownFor(r)) {
      throw new SimrecError('ARTIFACT_MISSING', `warm start: version ${r.id} has no KnownFor`);
    }
    const prev = await readProducers(r, await readSimClustersMeta(r));
    const prevCluster = (await readKnownFor(r)).cluster;
    const byId = new Map<string, number>();
    for (let p = 0; p < prev.entity.length; p++)
      if (prevCluster[p] >= 0) byId.set(prev.id(p), prevCluster[p]);
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
    /**
     * Another run's similarity and KnownFor over the same producers, reused instead of computed (the ranker's
     * pre-split state: its cluster ids are then the version's).
     */
    communities?: SimClustersInput['communities'];
    onProgress?: (stage: string, done: number, total?: number) => void;
    onStage?: (stage: string, seconds: number, detail: Record<string, unknown>) => void;
  },
): Promise<SimClustersSummary> {
  const { graph: graphMode, ...scConfig } = config.simclusters;
  const graph = chooseGraph(d, graphMode ?? 'auto');
  const { input, producers, ids } = simclustersInput(d, graph);
  const producerIds = (p: number) => ids.id(producers[p]);
  let warmInfo: Record<string, unknown> | null = null;
  if (opts.warmStart) {
    const w = await warmStartFrom(opts.warmStart, producerIds, producers.length);
    input.warmStart = w.assignment;
    warmInfo = { version: w.version, producersMatched: w.matched };
  }
  if (opts.communities && opts.communities.knownFor.cluster.length === producers.length)
    input.communities = opts.communities;
  const { enabled: _enabled, topTopicsPerCluster, ...stages } = scConfig;
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
  await writeSimClustersOutputs(writer, out, producers, warmInfo);
  opts.onStage?.('store-simclusters', (performance.now() - t0) / 1000, {});
  t0 = performance.now();
  const truth = await compareWithTruth(opts.dataDir, out, producerIds, producers.length);
  if (truth) opts.onStage?.('truth-comparison', (performance.now() - t0) / 1000, { nmi: truth.nmi });

  let withKf = 0;
  for (let p = 0; p < out.knownFor.cluster.length; p++) if (out.knownFor.cluster[p] >= 0) withKf++;
  const followed = input.A.colCounts();
  let withFollowers = 0;
  for (let p = 0; p < followed.length; p++) if (followed[p] > 0) withFollowers++;
  const clusters = clusterReport(out, graph, withKf, withFollowers, d);
  return {
    clusters,
    case: out.case,
    k: out.knownFor.k,
    producers: producers.length,
    producersWithKnownFor: withKf,
    producerIds,
    output: out,
    truth,
  };
}

function clusterReport(
  out: SimClustersOutput,
  graph: GraphChoice,
  withKf: number,
  /** Producers with at least one follower. */
  nProducers: number,
  d: Dataset,
): ClusterReport {
  const kf = out.knownFor;
  const sizes = new Int32Array(kf.k);
  for (let p = 0; p < kf.cluster.length; p++) if (kf.cluster[p] >= 0) sizes[kf.cluster[p]]++;
  const nonEmpty = Array.from(sizes)
    .filter((x) => x > 0)
    .sort((a, b) => a - b);
  const at = (q: number) =>
    nonEmpty.length ? nonEmpty[Math.min(nonEmpty.length - 1, Math.floor(q * nonEmpty.length))] : 0;
  const warnings: string[] = [];
  if (nonEmpty.length <= 1 && nProducers > 1)
    warnings.push(`KnownFor found ${nonEmpty.length} community: embeddings cannot tell users or items apart`);
  if (nProducers > 0 && withKf / nProducers < 0.5)
    warnings.push(`only ${withKf} of the ${nProducers} producers with a follower have a KnownFor`);
  if (d.users.size > 0 && out.interestedIn.stats.usersWithEmbedding === 0)
    warnings.push('InterestedIn is empty: no user has an embedding');
  if (d.engagements && d.engagements.matrix.nnz > 0 && out.items && out.items.stats.itemsWithEmbedding === 0)
    warnings.push(`item embeddings are empty although there are ${d.engagements.matrix.nnz} engagements`);
  const top10 = top10Ties(out, d);
  if (top10.sampled > 0 && top10.fullyTied > 0.05)
    warnings.push(`${(100 * top10.fullyTied).toFixed(1)}% of sampled users get a top 10 of equal scores`);
  return {
    top10,
    kMode: kf.diagnostics.kMode,
    k: kf.k,
    nonEmpty: nonEmpty.length,
    sizes: {
      min: at(0),
      median: at(0.5),
      p90: at(0.9),
      max: nonEmpty.length ? nonEmpty[nonEmpty.length - 1] : 0,
    },
    coverage: nProducers > 0 ? withKf / nProducers : 0,
    extended: kf.diagnostics.extended,
    graph,
    warnings,
  };
}

/** See {@link ClusterReport.top10}: up to `sample` users, evenly spaced over the user ids. */
export function top10Ties(out: SimClustersOutput, d: Dataset, sample = 200): ClusterReport['top10'] {
  if (!out.items) return { sampled: 0, fullyTied: 0, empty: 0 };
  const ann = new SimClustersAnn({
    itemEmbeddings: out.items.embedding,
    clusterItems: out.items.clusterTopItems,
    itemCreatedTs: d.itemCreatedTs ?? undefined,
    defaultShrinkage: (out.params.itemEmbeddings as { shrinkage: number }).shrinkage,
  });
  const U = interestedInMatrix(out.interestedIn, 'logFavScoreClusterNormalized');
  const E = d.engagements?.matrix ?? null;
  let withVector = 0;
  for (let u = 0; u < U.nRows; u++) if (U.indptr[u + 1] > U.indptr[u]) withVector++;
  const step = Math.max(1, withVector / sample);
  let sampled = 0;
  let tied = 0;
  let empty = 0;
  let seen = 0;
  let next = 0;
  for (let u = 0; u < U.nRows; u++) {
    if (U.indptr[u + 1] === U.indptr[u]) continue;
    if (seen++ < next) continue;
    next += step;
    const exclude = E && u < E.nRows ? E.indices.subarray(E.indptr[u], E.indptr[u + 1]) : undefined;
    // The query the server asks for this user (query/serving-model.ts): its engaged items' embeddings when its
    // InterestedIn lacks social proof, else the InterestedIn with the items it does not cover.
    const interest = {
      ids: U.indices.subarray(U.indptr[u], U.indptr[u + 1]),
      values: U.values!.subarray(U.indptr[u], U.indptr[u + 1]),
    };
    const items = exclude ? engagedItemRows(out.items.embedding, queryItems(exclude)) : [];
    const fromItems = out.interestedIn.withoutProof?.[u] === 1 ? sumOfUnitRows(items) : null;
    const r = ann.query(
      fromItems && fromItems.ids.length > 0 ? fromItems : userQuery(interest, items).vector,
      { limit: 10 },
      { exclude },
    );
    sampled++;
    if (r.scores.length === 0) empty++;
    else if (r.scores.length > 1 && r.scores[0] === r.scores[r.scores.length - 1]) tied++;
  }
  return { sampled, fullyTied: sampled ? tied / sampled : 0, empty: sampled ? empty / sampled : 0 };
}

/** The non-empty rows of `W` for `items` (distinct ids, as an engagement row holds them). */
export function engagedItemRows(W: CsrMatrix, items: ArrayLike<number>): SparseVector[] {
  const rows: SparseVector[] = [];
  for (let j = 0; j < items.length; j++)
    if (items[j] < W.nRows) {
      const row = W.row(items[j]);
      if (row.ids.length > 0) rows.push(row);
    }
  return rows;
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
