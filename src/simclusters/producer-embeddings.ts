/**
 * Producer embeddings (DESIGN §3.4):
 *
 *   Ṽ[p,c] = cosine(p's follower vector, column c of U) = Σ_u A[u,p]/‖A[:,p]‖ · U[u,c]/‖U[:,c]‖
 *
 * with U the stored InterestedIn (favScore by default). Both factors are non-negative, so every entry is a cosine
 * in [0, 1]. Column norms of U are taken over U as stored (after its per-user truncation), so Ṽ is exactly the
 * cosine against the vectors that are served. The same projection gives topic embeddings (§3.6), with a topic's
 * followers or engagers in place of A's column; see {@link projectOntoClusters}.
 */
import type { CsrMatrix } from '../core/csr.ts';
import { type ClusterTopList, clusterTopFromEmbeddings } from './cluster-index.ts';
import { CsrRowWriter, checkParam, checkRowsSorted, selectFirst, shapeError } from './embedding-types.ts';
import {
  checkScoreKind,
  type InterestedIn,
  type InterestedInScore,
  interestedInMatrix,
} from './interested-in.ts';

export interface ProducerEmbeddingParams {
  /** Which InterestedIn score U uses (favScore). */
  userScore: InterestedInScore;
  /** Producers with fewer followers (stored entries in A's column) get no embedding (100 originally; scaled). */
  minFollowers: number;
  /** Entries below this cosine are dropped (0.01). */
  minScore: number;
  /** Clusters kept per producer (60). */
  maxClustersPerProducer: number;
  /** Reverse index: producers kept per cluster (300). */
  topProducersPerCluster: number;
}

/**
 * Defaults. minFollowers scales the original 100 down to the size of our graphs: 10 matches the similarity
 * stage's eligibility (§3.1) in the social case; catalogue items are embedded from 5 engagers.
 */
export const PRODUCER_EMBEDDING_DEFAULTS: Readonly<{
  social: Readonly<ProducerEmbeddingParams>;
  catalogue: Readonly<ProducerEmbeddingParams>;
}> = Object.freeze({
  social: Object.freeze({
    userScore: 'favScore',
    minFollowers: 10,
    minScore: 0.01,
    maxClustersPerProducer: 60,
    topProducersPerCluster: 300,
  }),
  catalogue: Object.freeze({
    userScore: 'favScore',
    minFollowers: 5,
    minScore: 0.01,
    maxClustersPerProducer: 60,
    topProducersPerCluster: 300,
  }),
});

export interface ProjectionOptions {
  /** Entities with fewer stored entries in B's column are skipped. */
  minDegree: number;
  /** Threshold on the cosine. */
  minScore: number;
  /** true: keep score ≥ minScore; false: keep score > minScore. */
  inclusive: boolean;
  /** Clusters kept per entity, by score then smaller cluster id. */
  maxClusters: number;
}

export interface Projection {
  /** entities × clusters, Float32 cosines, rows sorted by cluster id. */
  embedding: CsrMatrix;
  /** Entities that met minDegree. */
  eligible: number;
}

/**
 * T[e,c] = Σ_u B[u,e]/‖B[:,e]‖ · U[u,c]/‖U[:,c]‖ for B users × entities (values null = binary) and U users ×
 * clusters. Work is Σ over B's entries of the user's U row length; one dense accumulator over clusters, reset
 * through a touched list. Entities or clusters with zero norm contribute nothing (never NaN).
 */
export function projectOntoClusters(B: CsrMatrix, U: CsrMatrix, opts: ProjectionOptions): Projection {
  if (B.nRows !== U.nRows) throw shapeError(`B has ${B.nRows} users, U has ${U.nRows}`, 'users');
  checkParam('projection', 'minDegree', opts.minDegree, 0);
  checkParam('projection', 'minScore', opts.minScore, -Infinity);
  checkParam('projection', 'maxClusters', opts.maxClusters, 0, true);
  checkRowsSorted(B, 'B');
  const k = U.nCols;
  const uVals = U.values;
  // U[u,c]/‖U[:,c]‖ precomputed per stored entry.
  const colSq = new Float64Array(k);
  for (let j = 0; j < U.nnz; j++) {
    const v = uVals ? uVals[j] : 1;
    colSq[U.indices[j]] += v * v;
  }
  const uNorm = new Float64Array(U.nnz);
  for (let j = 0; j < U.nnz; j++) {
    const n = colSq[U.indices[j]];
    uNorm[j] = n > 0 ? (uVals ? uVals[j] : 1) / Math.sqrt(n) : 0;
  }

  const Bt = B.transpose();
  const bVals = Bt.values;
  const acc = new Float64Array(k);
  const touched = new Int32Array(k);
  // A separate mark, not acc[c] === 0: zero-valued U entries (e.g. favScore 0 next to a follow) must not be listed
  // twice.
  const mark = new Uint8Array(k);
  const byScore = (a: number, b: number): number => acc[b] - acc[a] || a - b;
  const writer = new CsrRowWriter(Bt.nRows, k, Math.min(Bt.nRows * opts.maxClusters, B.nnz * 4) + 16);
  let eligible = 0;

  for (let e = 0; e < Bt.nRows; e++) {
    const start = Bt.indptr[e];
    const end = Bt.indptr[e + 1];
    if (end - start < opts.minDegree || end === start) {
      writer.endRow();
      continue;
    }
    eligible++;
    let sq = 0;
    for (let j = start; j < end; j++) {
      const w = bVals ? bVals[j] : 1;
      sq += w * w;
    }
    if (!(sq > 0)) {
      writer.endRow();
      continue;
    }
    const inv = 1 / Math.sqrt(sq);
    let nt = 0;
    for (let j = start; j < end; j++) {
      const u = Bt.indices[j];
      const w = (bVals ? bVals[j] : 1) * inv;
      for (let q = U.indptr[u]; q < U.indptr[u + 1]; q++) {
        const c = U.indices[q];
        if (mark[c] === 0) {
          mark[c] = 1;
          touched[nt++] = c;
        }
        acc[c] += w * uNorm[q];
      }
    }
    let kept = 0;
    for (let j = 0; j < nt; j++) {
      const c = touched[j];
      mark[c] = 0;
      const s = acc[c];
      if (s > opts.minScore || (opts.inclusive && s === opts.minScore)) touched[kept++] = c;
      else acc[c] = 0;
    }
    const n = selectFirst(touched, kept, opts.maxClusters, byScore);
    const row = touched.subarray(0, n).sort();
    writer.ensure(n);
    const out = writer.values[0];
    for (let j = 0; j < n; j++) {
      writer.indices[writer.nnz] = row[j];
      out[writer.nnz++] = acc[row[j]];
    }
    writer.endRow();
    for (let j = 0; j < kept; j++) acc[touched[j]] = 0;
  }
  return { embedding: writer.finish(), eligible };
}

export interface ProducerEmbeddings {
  /** producers × clusters, top maxClustersPerProducer entries ≥ minScore, rows sorted by cluster id. */
  embedding: CsrMatrix;
  /** cluster → top producers (best first). */
  clusterTopProducers: ClusterTopList;
  stats: { producers: number; eligibleProducers: number; producersWithEmbedding: number; entries: number };
}

export function checkProducerEmbeddingParams(p: ProducerEmbeddingParams): void {
  checkScoreKind('producerEmbeddings', 'userScore', p.userScore);
  checkParam('producerEmbeddings', 'minFollowers', p.minFollowers, 0, true);
  checkParam('producerEmbeddings', 'minScore', p.minScore, 0);
  checkParam('producerEmbeddings', 'maxClustersPerProducer', p.maxClustersPerProducer, 0, true);
  checkParam('producerEmbeddings', 'topProducersPerCluster', p.topProducersPerCluster, 0, true);
}

/**
 * Producer embeddings and the cluster → top producers index (DESIGN §3.4). `follows` is A (consumers ×
 * producers; engagements users × items in the catalogue case), `interestedIn` the consumers' InterestedIn.
 */
export function computeProducerEmbeddings(
  follows: CsrMatrix,
  interestedIn: InterestedIn,
  params: ProducerEmbeddingParams = PRODUCER_EMBEDDING_DEFAULTS.social,
): ProducerEmbeddings {
  checkProducerEmbeddingParams(params);
  const U = interestedInMatrix(interestedIn, params.userScore);
  const { embedding, eligible } = projectOntoClusters(follows, U, {
    minDegree: Math.max(1, params.minFollowers),
    minScore: params.minScore,
    inclusive: true,
    maxClusters: params.maxClustersPerProducer,
  });
  const clusterTopProducers = clusterTopFromEmbeddings(
    embedding,
    params.topProducersPerCluster,
    params.minScore,
  );
  let producersWithEmbedding = 0;
  for (let p = 0; p < embedding.nRows; p++) if (embedding.rowNnz(p) > 0) producersWithEmbedding++;
  return {
    embedding,
    clusterTopProducers,
    stats: {
      producers: follows.nCols,
      eligibleProducers: eligible,
      producersWithEmbedding,
      entries: embedding.nnz,
    },
  };
}
