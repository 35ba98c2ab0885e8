/**
 * InterestedIn: consumer embeddings U = A·V (DESIGN §3.3). For consumer u and cluster c, over the producers p that
 * u follows or engages with and whose KnownFor cluster is c (kf(p) its KnownFor score):
 *
 *   followScore[u,c] = Σ_{p followed}  1 · kf(p)
 *   favScore[u,c]    = Σ_p fav(u,p) · kf(p)              fav decayed with a 100-day half-life to "now"
 *   logFavScore[u,c] = Σ_p log10(1 + fav(u,p)) · kf(p)
 *
 * fav(u,p): in the social case (an `itemAuthor` map is given) the sum of u's favs on items authored by p; in the
 * catalogue case u's engagement with item p itself (from the log, or A's value when there is no log). Each
 * (user, item) pair contributes its net favs: positives after the pair's last unfav (see `pairFav`).
 *
 * Storage: one sparsity pattern (indptr + cluster ids, rows sorted by cluster) with six parallel Float32 value
 * arrays, one per score kind; {@link interestedInMatrix} wraps any of them as a CsrMatrix without copying.
 * Column norms for the `…ClusterNormalized` kinds are taken over every (u, c) that passed social proof, before
 * the per-user top-`maxClustersPerUser` truncation, as in the published job; they are returned so a streaming
 * consumer can normalise new users the same way.
 */
import { CsrMatrix } from '../core/csr.ts';
import {
  CsrRowWriter,
  checkChoice,
  checkEngagementLog,
  checkKnownFor,
  checkNow,
  checkNullableParam,
  checkParam,
  checkRowsSorted,
  type EngagementLog,
  type KnownFor,
  pairFav,
  resolveNow,
  SECONDS_PER_DAY,
  selectFirst,
  shapeError,
} from './embedding-types.ts';

/** The raw score kinds of §3.3. */
export type RawScore = 'followScore' | 'favScore' | 'logFavScore';
/** Every stored score kind: the raw ones and each divided by its cluster column's L2 norm. */
export type InterestedInScore =
  | RawScore
  | 'followScoreClusterNormalized'
  | 'favScoreClusterNormalized'
  | 'logFavScoreClusterNormalized';

export const RAW_SCORES: readonly RawScore[] = ['followScore', 'favScore', 'logFavScore'];
export const INTERESTED_IN_SCORES: readonly InterestedInScore[] = [
  'followScore',
  'favScore',
  'logFavScore',
  'followScoreClusterNormalized',
  'favScoreClusterNormalized',
  'logFavScoreClusterNormalized',
];

export interface InterestedInParams {
  /** Half-life of fav weights, in days (DESIGN: 100); null = no decay. */
  favHalfLifeDays: number | null;
  /** Social proof: keep (u, c) only if u follows/engaged with at least this many distinct producers of c (2). */
  minProducersPerCluster: number;
  /** Clusters kept per user, ranked by favScore, then logFavScore, then followScore (50). */
  maxClustersPerUser: number;
  /**
   * Users with more producers than this keep the top ones, ranked by fav(u,p), then A[u,p], then producer id
   * (2000). Favs come first because they are the fresher, decayed signal; for a binary follow graph A only breaks
   * ties among producers without favs.
   */
  maxNeighborsPerUser: number;
  /** "now" in Unix seconds; null = the latest event time in the log. Events after now are ignored. */
  now: number | null;
}

/**
 * Defaults. The catalogue variant does not decay favs: catalogue logs (MovieLens) span decades, and a 100-day
 * half-life measured from the last rating would erase nearly every user's history.
 */
export const INTERESTED_IN_DEFAULTS: Readonly<{
  social: Readonly<InterestedInParams>;
  catalogue: Readonly<InterestedInParams>;
}> = Object.freeze({
  social: Object.freeze({
    favHalfLifeDays: 100,
    minProducersPerCluster: 2,
    maxClustersPerUser: 50,
    maxNeighborsPerUser: 2000,
    now: null,
  }),
  catalogue: Object.freeze({
    favHalfLifeDays: null,
    minProducersPerCluster: 2,
    maxClustersPerUser: 50,
    maxNeighborsPerUser: 2000,
    now: null,
  }),
});

export interface InterestedInInput {
  /** A: consumers × producers (follows, or engagements in the catalogue case); values null = binary. */
  follows: CsrMatrix;
  knownFor: KnownFor;
  /** The engagement log (users × items); absent = no favs (social) or A's values as favs (catalogue). */
  engagements?: EngagementLog | null;
  /** Social case: item → authoring producer (-1 none). Absent = catalogue case: log columns are producers. */
  itemAuthor?: Int32Array | null;
}

export interface InterestedInStats {
  users: number;
  usersWithEmbedding: number;
  entries: number;
  /** Users whose producer list was cut to maxNeighborsPerUser. */
  usersCapped: number;
  /** (u, c) pairs dropped by the social-proof rule. */
  droppedBySocialProof: number;
  /** Users none of whose clusters passed social proof, who kept their strongest one. */
  keptWithoutProof: number;
  /** (u, c) pairs dropped by the per-user top-maxClustersPerUser cut. */
  droppedByTopK: number;
  /** The "now" favs were decayed to (NaN: no known time). */
  now: number;
}

export interface InterestedIn {
  readonly nUsers: number;
  readonly k: number;
  /** Row u spans clusters[indptr[u] .. indptr[u+1]), sorted by cluster id. */
  readonly indptr: Int32Array;
  readonly clusters: Int32Array;
  /**
   * Per user, 1 when none of its clusters passed social proof and its row is the one unproven cluster kept: the
   * row is a guess among clusters each backed by a single producer (served from the user's engaged items
   * instead, query/serving-model.ts). Absent in hand-made values: no user is flagged.
   */
  readonly withoutProof?: Uint8Array;
  /** One Float32 array per score kind, aligned with `clusters`. */
  readonly scores: Readonly<Record<InterestedInScore, Float32Array>>;
  /** Per raw kind, the L2 norm of each cluster column (over all users, before top-k truncation). */
  readonly columnNorms: Readonly<Record<RawScore, Float64Array>>;
  readonly stats: InterestedInStats;
}

/** InterestedIn under one score kind, as a users × clusters CsrMatrix sharing the stored arrays. */
export function interestedInMatrix(ii: InterestedIn, score: InterestedInScore = 'favScore'): CsrMatrix {
  return new CsrMatrix(ii.nUsers, ii.k, ii.indptr, ii.clusters, ii.scores[score]);
}

export function checkInterestedInParams(p: InterestedInParams): void {
  checkNullableParam('interestedIn', 'favHalfLifeDays', p.favHalfLifeDays);
  checkParam('interestedIn', 'minProducersPerCluster', p.minProducersPerCluster, 1, true);
  checkParam('interestedIn', 'maxClustersPerUser', p.maxClustersPerUser, 0, true);
  checkParam('interestedIn', 'maxNeighborsPerUser', p.maxNeighborsPerUser, 0, true);
  checkNow('interestedIn', p.now);
}

export function checkScoreKind(stage: string, name: string, value: unknown): void {
  checkChoice(stage, name, value, INTERESTED_IN_SCORES);
}

const FOLLOWED = 1;
const FAVED = 2;

/** Computes InterestedIn (DESIGN §3.3). Deterministic; O(nnz(A) + nnz(log) + output). */
export function computeInterestedIn(
  input: InterestedInInput,
  params: InterestedInParams = INTERESTED_IN_DEFAULTS.social,
): InterestedIn {
  checkInterestedInParams(params);
  const A = input.follows;
  const kf = input.knownFor;
  const log = input.engagements ?? null;
  const author = input.itemAuthor ?? null;
  const nUsers = A.nRows;
  const nProducers = A.nCols;
  const k = kf.k;
  checkKnownFor(kf, nProducers);
  checkRowsSorted(A, 'follows');
  if (log) {
    checkEngagementLog(log, nUsers, author ? author.length : nProducers);
    if (author) {
      for (let i = 0; i < author.length; i++) {
        if (author[i] < -1 || author[i] >= nProducers) {
          throw shapeError(`itemAuthor[${i}] = ${author[i]} is not a producer index or -1`, 'itemAuthor');
        }
      }
    }
  }
  const now = resolveNow(log, params.now);
  const halfLife = params.favHalfLifeDays === null ? null : params.favHalfLifeDays * SECONDS_PER_DAY;

  // Per-user scratch over producers and clusters, reset through touched lists.
  const mark = new Uint8Array(nProducers);
  const fav = new Float64Array(nProducers);
  const aw = new Float64Array(nProducers);
  const plist = new Int32Array(nProducers);
  const count = new Int32Array(k);
  const follow = new Float64Array(k);
  const favS = new Float64Array(k);
  const logFav = new Float64Array(k);
  const clist = new Int32Array(k);
  const colSq = [new Float64Array(k), new Float64Array(k), new Float64Array(k)];

  const byFavThenWeight = (a: number, b: number): number => fav[b] - fav[a] || aw[b] - aw[a] || a - b;
  const byScores = (a: number, b: number): number =>
    favS[b] - favS[a] || logFav[b] - logFav[a] || follow[b] - follow[a] || a - b;

  const writer = new CsrRowWriter(nUsers, k, Math.min(nUsers * params.maxClustersPerUser, A.nnz) + 16, 3);
  let usersCapped = 0;
  let droppedBySocialProof = 0;
  let keptWithoutProof = 0;
  const withoutProof = new Uint8Array(nUsers);
  let droppedByTopK = 0;
  let usersWithEmbedding = 0;
  const aValues = A.values;

  for (let u = 0; u < nUsers; u++) {
    let np = 0;
    for (let j = A.indptr[u]; j < A.indptr[u + 1]; j++) {
      const p = A.indices[j];
      if (mark[p] === 0) plist[np++] = p;
      mark[p] |= FOLLOWED;
      aw[p] = aValues ? aValues[j] : 1;
      if (!log) {
        fav[p] = aw[p];
        if (aw[p] > 0) mark[p] |= FAVED;
      }
    }
    if (log) {
      const lm = log.matrix;
      const end = lm.indptr[u + 1];
      let s = lm.indptr[u];
      while (s < end) {
        const item = lm.indices[s];
        let e = s + 1;
        while (e < end && lm.indices[e] === item) e++;
        const f = pairFav(log, s, e, now, halfLife);
        s = e;
        if (!(f > 0)) continue;
        const p = author ? author[item] : item;
        if (p < 0) continue;
        if (mark[p] === 0) plist[np++] = p;
        mark[p] |= FAVED;
        fav[p] += f;
      }
    }
    if (np > params.maxNeighborsPerUser) {
      usersCapped++;
      np = selectFirst(plist, np, params.maxNeighborsPerUser, byFavThenWeight);
    }

    let nc = 0;
    for (let j = 0; j < np; j++) {
      const p = plist[j];
      const c = kf.cluster[p];
      if (c < 0) continue;
      const s = kf.score[p];
      if (count[c] === 0) clist[nc++] = c;
      count[c]++;
      if (mark[p] & FOLLOWED) follow[c] += s;
      const f = fav[p];
      if (f > 0) {
        favS[c] += f * s;
        logFav[c] += Math.log10(1 + f) * s;
      }
    }
    // Social proof, then drop entries that carry no signal at all (every producer had a zero KnownFor score).
    // Social proof sorts signal from noise among a user's clusters; it never empties a user: when no cluster
    // passes, the strongest unproven one is kept (most users of real logs engage a handful of items, and without
    // it a third of CiaoDVD's raters got no embedding and no candidates at all).
    let kept = 0;
    let best = -1;
    let bestFollow = 0;
    let bestFav = 0;
    let bestLog = 0;
    for (let j = 0; j < nc; j++) {
      const c = clist[j];
      const proven = count[c] >= params.minProducersPerCluster;
      const signal = follow[c] > 0 || favS[c] > 0 || logFav[c] > 0;
      if (proven && signal) {
        colSq[0][c] += follow[c] * follow[c];
        colSq[1][c] += favS[c] * favS[c];
        colSq[2][c] += logFav[c] * logFav[c];
        clist[kept++] = c;
        continue;
      }
      if (!proven) droppedBySocialProof++;
      if (
        signal &&
        (best < 0 ||
          favS[c] > bestFav ||
          (favS[c] === bestFav && (logFav[c] > bestLog || (logFav[c] === bestLog && follow[c] > bestFollow))))
      ) {
        best = c;
        bestFollow = follow[c];
        bestFav = favS[c];
        bestLog = logFav[c];
      }
      count[c] = 0;
      follow[c] = favS[c] = logFav[c] = 0;
    }
    if (kept === 0 && best >= 0) {
      follow[best] = bestFollow;
      favS[best] = bestFav;
      logFav[best] = bestLog;
      count[best] = 1;
      colSq[0][best] += bestFollow * bestFollow;
      colSq[1][best] += bestFav * bestFav;
      colSq[2][best] += bestLog * bestLog;
      clist[kept++] = best;
      droppedBySocialProof--;
      keptWithoutProof++;
      withoutProof[u] = 1;
    }
    const nKeep = selectFirst(clist, kept, params.maxClustersPerUser, byScores);
    droppedByTopK += kept - nKeep;
    const row = clist.subarray(0, nKeep).sort();
    writer.ensure(nKeep);
    const [outFollow, outFav, outLogFav] = writer.values;
    for (let j = 0; j < nKeep; j++) {
      const c = row[j];
      const at = writer.nnz++;
      writer.indices[at] = c;
      outFollow[at] = follow[c];
      outFav[at] = favS[c];
      outLogFav[at] = logFav[c];
    }
    writer.endRow();
    if (nKeep > 0) usersWithEmbedding++;

    // Reset what this user touched: its surviving clusters (kept and truncated) and every producer it reached,
    // including those cut by the neighbour cap.
    for (let j = 0; j < kept; j++) {
      const c = clist[j];
      count[c] = 0;
      follow[c] = favS[c] = logFav[c] = 0;
    }
    for (let j = A.indptr[u]; j < A.indptr[u + 1]; j++) clearProducer(A.indices[j], mark, fav, aw);
    if (log) {
      const lm = log.matrix;
      for (let j = lm.indptr[u]; j < lm.indptr[u + 1]; j++) {
        const p = author ? author[lm.indices[j]] : lm.indices[j];
        if (p >= 0) clearProducer(p, mark, fav, aw);
      }
    }
  }
  const [pattern, favMatrix, logFavMatrix] = writer.finishAll();
  const nnz = pattern.nnz;
  const followScore = pattern.values!;
  const favScore = favMatrix.values!;
  const logFavScore = logFavMatrix.values!;
  const norms = colSq.map((sq) => sq.map(Math.sqrt)) as [Float64Array, Float64Array, Float64Array];
  const normalized = [followScore, favScore, logFavScore].map((values, kind) => {
    const out = new Float32Array(nnz);
    const norm = norms[kind];
    for (let j = 0; j < nnz; j++) {
      const n = norm[pattern.indices[j]];
      out[j] = n > 0 ? values[j] / n : 0;
    }
    return out;
  });

  return {
    nUsers,
    k,
    indptr: pattern.indptr,
    clusters: pattern.indices,
    withoutProof,
    scores: {
      followScore,
      favScore,
      logFavScore,
      followScoreClusterNormalized: normalized[0],
      favScoreClusterNormalized: normalized[1],
      logFavScoreClusterNormalized: normalized[2],
    },
    columnNorms: { followScore: norms[0], favScore: norms[1], logFavScore: norms[2] },
    stats: {
      users: nUsers,
      usersWithEmbedding,
      entries: nnz,
      usersCapped,
      droppedBySocialProof,
      keptWithoutProof,
      droppedByTopK,
      now,
    },
  };
}

function clearProducer(p: number, mark: Uint8Array, fav: Float64Array, aw: Float64Array): void {
  mark[p] = 0;
  fav[p] = 0;
  aw[p] = 0;
}
