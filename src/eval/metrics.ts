/**
 * Ranking metrics over the full catalogue (DESIGN §8), one user at a time, from the model's scores.
 *
 * Protocol (LightFM-compatible): a user's train positives are excluded from their ranking; every other catalogue
 * item is a candidate; the user's test positives are the relevant ones. Users with no test positive are not
 * evaluated. Definitions, with L the user's ranked list, T their test positives, rel_j = [L_j ∈ T]:
 *
 * - precision@k = |L[0,k) ∩ T| / k (k, not |L|, as LightFM: a short list is not rewarded)
 * - recall@k    = |L[0,k) ∩ T| / |T|
 * - ndcg@k      = Σ_{j<k} rel_j / log2(j + 2)  ÷  Σ_{j<min(k,|T|)} 1 / log2(j + 2)
 * - map@k       = Σ_{j<k} rel_j · precision@(j+1)  ÷  min(k, |T|)          (average precision, cut at k)
 * - hit_rate@k  = [|L[0,k) ∩ T| > 0]
 * - auc         = P(score(t) > score(n)) over t ∈ T and n among the other non-train items, a tie counting ½
 *                 (sklearn's roc_auc_score; LightFM's auc_score counts a tie against the positive, so the two
 *                 differ only for models that tie, e.g. popularity). 0.5 when there is no negative.
 *
 * Ties in the ranked list are broken by item index, smaller first (the order of core/topk.ts), so the list is
 * the one a serving path would return and every metric is a deterministic function of the scores.
 * Catalogue-level: coverage@k = share of catalogue items in at least one evaluated user's top k;
 * popularity@k = mean over users of the mean train popularity (share of training users with the item as a
 * positive) of their top-k items: higher means a bias toward what is already popular.
 *
 * Scores that are NaN (a diverged model) rank as −∞ and are counted in `invalidScores`.
 */
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { topKIndices } from '../core/topk.ts';

/** Validated cut-offs: distinct positive integers, ascending. */
export function normalizeKs(ks: readonly number[]): number[] {
  if (ks.length === 0) throw new SimrecError('CONFIG_INVALID', 'at least one k is needed', { field: 'k' });
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1)
      throw new SimrecError('CONFIG_INVALID', `k must be a positive integer, got ${k}`, { field: 'k' });
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** Per item, the share of users with at least one train positive that have it as a train positive. */
export function itemPopularity(train: {
  nRows: number;
  nCols: number;
  indptr: Int32Array;
  indices: Int32Array;
}) {
  const pop = new Float64Array(train.nCols);
  let users = 0;
  for (let u = 0; u < train.nRows; u++) {
    if (train.indptr[u + 1] === train.indptr[u]) continue;
    users++;
    for (let k = train.indptr[u]; k < train.indptr[u + 1]; k++) pop[train.indices[k]]++;
  }
  if (users > 0) for (let i = 0; i < pop.length; i++) pop[i] /= users;
  return pop;
}

/** One user's metrics, per k (aligned with the evaluator's ks) and overall. Reused between calls. */
export interface UserMetrics {
  /** Test positives of the user. */
  nTest: number;
  /** Candidates that are not test positives (the AUC's negatives). */
  nNegatives: number;
  hits: Int32Array;
  precision: Float64Array;
  recall: Float64Array;
  ndcg: Float64Array;
  map: Float64Array;
  hitRate: Float64Array;
  popularity: Float64Array;
  auc: number;
  /** The ranked list (best first) and its length (≤ max k). */
  top: Int32Array;
  topLength: number;
}

/** Metrics averaged over the evaluated users, per k, plus the catalogue-level ones. */
export interface MetricSummary {
  ks: number[];
  users: number;
  precision: number[];
  recall: number[];
  ndcg: number[];
  map: number[];
  hitRate: number[];
  coverage: number[];
  popularity: number[];
  auc: number;
  /** NaN scores seen (ranked as −∞). */
  invalidScores: number;
}

/**
 * Accumulates full-catalogue ranking metrics user by user. Buffers are allocated once for the catalogue size;
 * each call costs one pass over the scores, a bounded heap for the top max-k, and a binary search per negative
 * over the user's sorted test scores for the AUC.
 */
export class RankingEvaluator {
  readonly ks: number[];
  private readonly maxK: number;
  private readonly isTest: Uint8Array;
  private readonly topScores: Float32Array;
  private readonly posScores: Float64Array;
  private readonly idcg: Float64Array;
  private readonly firstRank: Int32Array;
  private readonly popularity: Float64Array | null;
  private readonly sums: Record<
    'precision' | 'recall' | 'ndcg' | 'map' | 'hitRate' | 'popularity',
    Float64Array
  >;
  private aucSum = 0;
  /** Users added with scores (addUser): the AUC's average; addList users have no AUC. */
  private aucUsers = 0;
  private users = 0;
  private invalid = 0;
  /** The last user's metrics (overwritten by each call). */
  readonly user: UserMetrics;

  /**
   * @param nItems catalogue size: every scores array has this length.
   * @param popularity per-item train popularity for popularity@k (see {@link itemPopularity}); null skips it.
   */
  constructor(
    readonly nItems: number,
    ks: readonly number[],
    popularity: Float64Array | null = null,
  ) {
    this.ks = normalizeKs(ks);
    this.maxK = this.ks[this.ks.length - 1];
    this.isTest = new Uint8Array(nItems);
    const listLength = Math.min(this.maxK, nItems);
    this.topScores = new Float32Array(listLength);
    this.posScores = new Float64Array(nItems);
    // idcg[n] = Σ_{j<n} 1/log2(j+2), the ideal DCG with n relevant items in the first n slots.
    this.idcg = new Float64Array(this.maxK + 1);
    for (let j = 0; j < this.maxK; j++) this.idcg[j + 1] = this.idcg[j] + 1 / Math.log2(j + 2);
    this.firstRank = new Int32Array(nItems).fill(0x7fffffff);
    if (popularity && popularity.length !== nItems)
      throw new SimrecError('INTERNAL', `popularity has ${popularity.length} items, the catalogue ${nItems}`);
    this.popularity = popularity;
    const nk = this.ks.length;
    this.sums = {
      precision: new Float64Array(nk),
      recall: new Float64Array(nk),
      ndcg: new Float64Array(nk),
      map: new Float64Array(nk),
      hitRate: new Float64Array(nk),
      popularity: new Float64Array(nk),
    };
    this.user = {
      nTest: 0,
      nNegatives: 0,
      hits: new Int32Array(nk),
      precision: new Float64Array(nk),
      recall: new Float64Array(nk),
      ndcg: new Float64Array(nk),
      map: new Float64Array(nk),
      hitRate: new Float64Array(nk),
      popularity: new Float64Array(nk),
      auc: 0,
      top: new Int32Array(listLength),
      topLength: 0,
    };
  }

  /**
   * Evaluates one user and adds them to the averages. `scores` (length nItems) is overwritten: train positives
   * become NaN. `train` and `test` are the user's positives (item indices, disjoint). Returns false, and counts
   * nothing, for a user without test positives.
   */
  addUser(scores: Float32Array, train: ArrayLike<number>, test: ArrayLike<number>): boolean {
    const n = this.nItems;
    if (scores.length !== n)
      throw new SimrecError('INTERNAL', `scores has ${scores.length} entries, the catalogue ${n}`);
    const nTest = test.length;
    if (nTest === 0) return false;
    const isTest = this.isTest;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(scores[i])) {
        scores[i] = Number.NEGATIVE_INFINITY;
        this.invalid++;
      }
    }
    for (let k = 0; k < train.length; k++) scores[train[k]] = Number.NaN;
    const pos = this.posScores;
    for (let k = 0; k < nTest; k++) {
      const item = test[k];
      if (Number.isNaN(scores[item]))
        throw new SimrecError('INTERNAL', `item ${item} is both a train and a test positive of one user`);
      isTest[item] = 1;
      pos[k] = scores[item];
    }
    const u = this.user;
    u.nTest = nTest;
    try {
      this.rankMetrics(scores, nTest);
      u.auc = this.auc(scores, nTest);
    } finally {
      for (let k = 0; k < nTest; k++) isTest[test[k]] = 0;
    }
    this.accumulate(true);
    return true;
  }

  /**
   * Evaluates one user from a ranked list a serving path returned (best first, already without the user's train
   * positives) rather than from scores: the list metrics as addUser computes them; the AUC, which needs a score
   * for every item, is left out of this user's average. Returns false, and counts nothing, without test positives.
   */
  addList(list: ArrayLike<number>, test: ArrayLike<number>): boolean {
    const nTest = test.length;
    if (nTest === 0) return false;
    const u = this.user;
    const count = Math.min(list.length, u.top.length);
    for (let j = 0; j < count; j++) {
      const item = list[j];
      if (!(item >= 0 && item < this.nItems))
        throw new SimrecError('INTERNAL', `ranked list names item ${item} outside the catalogue`);
      u.top[j] = item;
    }
    u.topLength = count;
    const isTest = this.isTest;
    for (let k = 0; k < nTest; k++) isTest[test[k]] = 1;
    try {
      this.listMetrics(nTest);
    } finally {
      for (let k = 0; k < nTest; k++) isTest[test[k]] = 0;
    }
    u.nTest = nTest;
    u.nNegatives = 0;
    u.auc = Number.NaN;
    this.accumulate(false);
    return true;
  }

  private accumulate(withAuc: boolean): void {
    const u = this.user;
    const s = this.sums;
    for (let q = 0; q < this.ks.length; q++) {
      s.precision[q] += u.precision[q];
      s.recall[q] += u.recall[q];
      s.ndcg[q] += u.ndcg[q];
      s.map[q] += u.map[q];
      s.hitRate[q] += u.hitRate[q];
      s.popularity[q] += u.popularity[q];
    }
    if (withAuc) {
      this.aucSum += u.auc;
      this.aucUsers++;
    }
    this.users++;
  }

  private rankMetrics(scores: Float32Array, nTest: number): void {
    const u = this.user;
    u.topLength = topKIndices(scores, u.top.length, u.top, this.topScores);
    this.listMetrics(nTest);
  }

  /** Metrics of the list in user.top[0, topLength), the user's test positives marked in isTest. */
  private listMetrics(nTest: number): void {
    const u = this.user;
    const top = u.top;
    const count = u.topLength;
    const isTest = this.isTest;
    const pop = this.popularity;
    let q = 0;
    let hits = 0;
    let dcg = 0;
    let apSum = 0;
    let popSum = 0;
    const ks = this.ks;
    const finish = () => {
      const k = ks[q];
      const listed = Math.min(k, count);
      u.hits[q] = hits;
      u.precision[q] = hits / k;
      u.recall[q] = hits / nTest;
      u.ndcg[q] = dcg / this.idcg[Math.min(k, nTest)];
      u.map[q] = apSum / Math.min(k, nTest);
      u.hitRate[q] = hits > 0 ? 1 : 0;
      u.popularity[q] = listed > 0 ? popSum / listed : 0;
    };
    for (let j = 0; j < count; j++) {
      for (; q < ks.length && ks[q] === j; q++) finish();
      const item = top[j];
      if (j < this.firstRank[item]) this.firstRank[item] = j;
      if (pop) popSum += pop[item];
      if (isTest[item]) {
        hits++;
        dcg += 1 / Math.log2(j + 2);
        apSum += hits / (j + 1);
      }
    }
    for (; q < ks.length; q++) finish();
  }

  /** AUC with ties ½: each negative counts the positives it beats or ties, by binary search in sorted scores. */
  private auc(scores: Float32Array, nTest: number): number {
    const pos = this.posScores.subarray(0, nTest).sort();
    const isTest = this.isTest;
    let negatives = 0;
    let losses = 0;
    let ties = 0;
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i];
      if (Number.isNaN(s) || isTest[i]) continue;
      negatives++;
      const below = lowerBound(pos, s);
      losses += below;
      if (below < nTest && pos[below] === s) ties += upperBound(pos, s, below) - below;
    }
    this.user.nNegatives = negatives;
    if (negatives === 0) return 0.5;
    return 1 - (losses + 0.5 * ties) / (nTest * negatives);
  }

  /** Averages over the users added so far. */
  summary(): MetricSummary {
    const n = this.users;
    const avg = (a: Float64Array) => Array.from(a, (v) => (n > 0 ? v / n : 0));
    const coverage = this.ks.map((k) => {
      let c = 0;
      for (let i = 0; i < this.nItems; i++) if (this.firstRank[i] < k) c++;
      return this.nItems > 0 ? c / this.nItems : 0;
    });
    return {
      ks: [...this.ks],
      users: n,
      precision: avg(this.sums.precision),
      recall: avg(this.sums.recall),
      ndcg: avg(this.sums.ndcg),
      map: avg(this.sums.map),
      hitRate: avg(this.sums.hitRate),
      coverage,
      popularity: this.popularity ? avg(this.sums.popularity) : this.ks.map(() => Number.NaN),
      auc: this.aucUsers > 0 ? this.aucSum / this.aucUsers : n > 0 ? Number.NaN : 0,
      invalidScores: this.invalid,
    };
  }
}

/** First index in ascending a with a[i] ≥ x. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index ≥ from in ascending a with a[i] > x. */
function upperBound(a: Float64Array, x: number, from: number): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------------------------
// Sampled protocol.

/** Sampled-protocol averages: per user the mean over their test positives, then the mean over users. */
export interface SampledSummary {
  ks: number[];
  negatives: number;
  users: number;
  hitRate: number[];
  ndcg: number[];
  auc: number;
  /** Mean 1/(rank+1) of the positive among its sampled candidates. */
  mrr: number;
}

/**
 * The sampled-negative protocol (NCF and the engines that report it): each test positive is ranked against
 * `negatives` items sampled uniformly without replacement from the catalogue minus the user's train and test
 * positives (all of them when fewer remain). rank = negatives scored higher, plus those tied with a smaller item
 * index (the full protocol's tie rule); hit_rate@k = [rank < k], ndcg@k = [rank < k] / log2(rank + 2), auc =
 * share of negatives scored below (ties ½).
 *
 * The sample depends only on (seed, user, positive's position), never on the scores, so every model is measured
 * against the same negatives.
 */
export class SampledEvaluator {
  readonly ks: number[];
  private readonly mark: Int32Array;
  private stamp = 0;
  private readonly pool: Int32Array;
  private readonly sample: Int32Array;
  private readonly base: Rng;
  private readonly hitSum: Float64Array;
  private readonly ndcgSum: Float64Array;
  private readonly userHit: Float64Array;
  private readonly userNdcg: Float64Array;
  private aucSum = 0;
  private mrrSum = 0;
  private users = 0;
  private lastCount = 0;

  constructor(
    readonly nItems: number,
    ks: readonly number[],
    readonly negatives = 100,
    seed = 0,
  ) {
    this.ks = normalizeKs(ks);
    if (!Number.isInteger(negatives) || negatives < 1)
      throw new SimrecError(
        'CONFIG_INVALID',
        `sampled negatives must be a positive integer, got ${negatives}`,
        {
          field: 'negatives',
        },
      );
    this.mark = new Int32Array(nItems);
    this.pool = new Int32Array(nItems);
    this.sample = new Int32Array(Math.min(negatives, nItems));
    this.base = new Rng(seed);
    this.hitSum = new Float64Array(this.ks.length);
    this.ndcgSum = new Float64Array(this.ks.length);
    this.userHit = new Float64Array(this.ks.length);
    this.userNdcg = new Float64Array(this.ks.length);
  }

  private nextStamp(): number {
    if (this.stamp >= 0x3fffffff) {
      this.mark.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  /**
   * Evaluates one user (index `user`, which seeds their sample) from unmodified scores (NaN ranks as −∞).
   * Returns false for a user without test positives.
   */
  addUser(user: number, scores: Float32Array, train: ArrayLike<number>, test: ArrayLike<number>): boolean {
    const nTest = test.length;
    if (nTest === 0) return false;
    if (scores.length !== this.nItems)
      throw new SimrecError('INTERNAL', `scores has ${scores.length} entries, the catalogue ${this.nItems}`);
    const rng = this.base.fork(user);
    const mark = this.mark;
    const userStamp = this.nextStamp();
    for (let k = 0; k < train.length; k++) mark[train[k]] = userStamp;
    for (let k = 0; k < test.length; k++) mark[test[k]] = userStamp;
    // Train and test are disjoint and duplicate-free (EvalData), so this counts the candidates exactly.
    const available = this.nItems - train.length - test.length;
    const m = Math.min(this.negatives, Math.max(0, available));
    // With few candidates left, rejection sampling would spin: enumerate them once instead.
    let poolSize = -1;
    if (available <= 2 * m) {
      poolSize = 0;
      for (let i = 0; i < this.nItems; i++) if (mark[i] !== userStamp) this.pool[poolSize++] = i;
    }
    this.userHit.fill(0);
    this.userNdcg.fill(0);
    let aucU = 0;
    let mrrU = 0;
    for (let t = 0; t < nTest; t++) {
      const p = test[t];
      this.draw(rng, m, userStamp, poolSize);
      const sp = Number.isNaN(scores[p]) ? Number.NEGATIVE_INFINITY : scores[p];
      let above = 0;
      let below = 0;
      let tied = 0;
      let tiedBefore = 0;
      for (let j = 0; j < m; j++) {
        const i = this.sample[j];
        const s = Number.isNaN(scores[i]) ? Number.NEGATIVE_INFINITY : scores[i];
        if (s > sp) above++;
        else if (s < sp) below++;
        else {
          tied++;
          if (i < p) tiedBefore++;
        }
      }
      const rank = above + tiedBefore;
      for (let q = 0; q < this.ks.length; q++) {
        if (rank < this.ks[q]) {
          this.userHit[q]++;
          this.userNdcg[q] += 1 / Math.log2(rank + 2);
        }
      }
      aucU += m > 0 ? (below + 0.5 * tied) / m : 0.5;
      mrrU += 1 / (rank + 1);
    }
    for (let q = 0; q < this.ks.length; q++) {
      this.hitSum[q] += this.userHit[q] / nTest;
      this.ndcgSum[q] += this.userNdcg[q] / nTest;
    }
    this.aucSum += aucU / nTest;
    this.mrrSum += mrrU / nTest;
    this.users++;
    return true;
  }

  /** The negatives drawn for the last positive evaluated (a view; for tests and diagnostics). */
  get lastSample(): Int32Array {
    return this.sample.subarray(0, this.lastCount);
  }

  /** Fills sample[0..m) with distinct items not marked with userStamp. */
  private draw(rng: Rng, m: number, userStamp: number, poolSize: number): void {
    this.lastCount = m;
    if (poolSize >= 0) {
      const pool = this.pool;
      for (let j = 0; j < m; j++) {
        const r = j + rng.int(poolSize - j);
        const t = pool[j];
        pool[j] = pool[r];
        pool[r] = t;
        this.sample[j] = pool[j];
      }
      return;
    }
    const mark = this.mark;
    const drawStamp = this.nextStamp();
    let j = 0;
    while (j < m) {
      const i = rng.int(this.nItems);
      const s = mark[i];
      if (s === userStamp || s === drawStamp) continue;
      mark[i] = drawStamp;
      this.sample[j++] = i;
    }
  }

  summary(): SampledSummary {
    const n = this.users;
    return {
      ks: [...this.ks],
      negatives: this.negatives,
      users: n,
      hitRate: Array.from(this.hitSum, (v) => (n > 0 ? v / n : 0)),
      ndcg: Array.from(this.ndcgSum, (v) => (n > 0 ? v / n : 0)),
      auc: n > 0 ? this.aucSum / n : 0,
      mrr: n > 0 ? this.mrrSum / n : 0,
    };
  }
}
