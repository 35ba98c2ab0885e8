/**
 * Runs models side by side on one split (DESIGN §8): each is fitted on the train positives, then every user with
 * a test positive is scored over the whole catalogue and measured (metrics.ts). The report's `models` section is
 * the machine-readable result of `simrec eval --json`: one flat object of metrics per model, one key per k.
 */
import { SimrecError } from '../core/errors.ts';
import type { EvalData } from './interactions.ts';
import {
  itemPopularity,
  type MetricSummary,
  RankingEvaluator,
  SampledEvaluator,
  type SampledSummary,
} from './metrics.ts';
import { DEFAULT_FIT_OPTIONS, type FitOptions, type Recommender, type TrainData } from './recommender.ts';

export interface EvaluateOptions extends Partial<FitOptions> {
  /** Cut-offs (default 5, 10). */
  ks?: readonly number[];
  /** Also run the sampled protocol with this many negatives per test positive (NCF style: 100); null = no. */
  sampledNegatives?: number | null;
}

/** Metric name → value, e.g. `precision@10`, `auc`, `train_seconds`. */
export type ModelMetrics = Record<string, number>;

export interface EvalCounts {
  users: number;
  /** Users with at least one test positive: the ones averaged over. */
  evaluatedUsers: number;
  /** Catalogue size: items with a positive in train or test. */
  items: number;
  trainPositives: number;
  testPositives: number;
  /** Test positives whose item has no train positive at all (cold items). */
  coldTestPositives: number;
  /** Item feature columns (0 without features). */
  itemFeatures: number;
}

/** What every evaluation here measures the same way (the split evaluation and the served one). */
export const PROTOCOL_RULES = {
  catalogue: 'items with a train or test positive',
  trainPositivesExcluded: true,
  averagedOver: 'users with at least one test positive',
  ties: 'ranked list: by item index; auc: ½',
} as const;

export interface EvalReport {
  dataset: string;
  split: string;
  protocol: {
    catalogue: 'items with a train or test positive';
    trainPositivesExcluded: true;
    averagedOver: 'users with at least one test positive';
    ties: 'ranked list: by item index; auc: ½';
    ks: number[];
    sampledNegatives: number | null;
    seed: number;
    epochs: number;
    dim: number;
    threads: number;
  };
  counts: EvalCounts;
  models: Record<string, ModelMetrics>;
}

/** The train side of an EvalData, as models see it. */
export function trainData(data: EvalData): TrainData {
  const m = data.train.matrix;
  return {
    nUsers: m.nRows,
    nItems: m.nCols,
    interactions: m,
    ts: data.train.ts,
    itemFeatures: data.itemFeatures,
  };
}

export function countsOf(data: EvalData): EvalCounts {
  const tr = data.train.matrix;
  const te = data.test.matrix;
  const inTrain = new Uint8Array(tr.nCols);
  for (let k = 0; k < tr.nnz; k++) inTrain[tr.indices[k]] = 1;
  let cold = 0;
  for (let k = 0; k < te.nnz; k++) if (!inTrain[te.indices[k]]) cold++;
  let evaluated = 0;
  for (let u = 0; u < te.nRows; u++) if (te.indptr[u + 1] > te.indptr[u]) evaluated++;
  return {
    users: tr.nRows,
    evaluatedUsers: evaluated,
    items: tr.nCols,
    trainPositives: tr.nnz,
    testPositives: te.nnz,
    coldTestPositives: cold,
    itemFeatures: data.itemFeatures ? data.itemFeatures.nCols : 0,
  };
}

export interface RecommenderResult {
  full: MetricSummary;
  sampled: SampledSummary | null;
  evalSeconds: number;
}

/**
 * Measures a fitted recommender on the split's test positives. Scores go into one reused buffer per user; the
 * sampled protocol (when asked) reads them before the full protocol masks the train positives.
 */
export function measureRecommender(
  data: EvalData,
  rec: Recommender,
  opts: {
    ks?: readonly number[];
    sampledNegatives?: number | null;
    seed?: number;
    onProgress?: FitOptions['onProgress'];
  } = {},
): RecommenderResult {
  const started = performance.now();
  const tr = data.train.matrix;
  const te = data.test.matrix;
  const nItems = tr.nCols;
  const ks = opts.ks ?? [5, 10];
  const full = new RankingEvaluator(nItems, ks, itemPopularity(tr));
  const sampled =
    opts.sampledNegatives != null
      ? new SampledEvaluator(nItems, ks, opts.sampledNegatives, opts.seed ?? 0)
      : null;
  const scoreUser = rec.scoreUser?.bind(rec);
  if (!scoreUser)
    throw new SimrecError('INTERNAL', `${rec.name} ranks rather than scores: use measureRankedRecommender`);
  const scores = new Float32Array(nItems);
  const nUsers = te.nRows;
  for (let u = 0; u < nUsers; u++) {
    if (te.indptr[u + 1] === te.indptr[u]) continue;
    scoreUser(u, scores);
    const train = tr.rowIndices(u);
    const test = te.rowIndices(u);
    sampled?.addUser(u, scores, train, test);
    full.addUser(scores, train, test);
    if ((u & 1023) === 0) opts.onProgress?.(`evaluate ${rec.name}`, u, nUsers);
  }
  opts.onProgress?.(`evaluate ${rec.name}`, nUsers, nUsers);
  return {
    full: full.summary(),
    sampled: sampled ? sampled.summary() : null,
    evalSeconds: (performance.now() - started) / 1000,
  };
}

/**
 * Measures a fitted ranking recommender (one with rankUser) on the split's test positives: each user's served
 * top max-k is the ranked list, so the list metrics are comparable with measureRecommender's and the AUC is
 * undefined (NaN). `tied_top@k` in `extra` is the share of users whose k-th place was decided by a tie.
 */
export async function measureRankedRecommender(
  data: EvalData,
  rec: Recommender,
  opts: { ks?: readonly number[]; onProgress?: FitOptions['onProgress'] } = {},
): Promise<RecommenderResult & { extra: ModelMetrics }> {
  const rankUser = rec.rankUser?.bind(rec);
  if (!rankUser) throw new SimrecError('INTERNAL', `${rec.name} has no rankUser`);
  const started = performance.now();
  const tr = data.train.matrix;
  const te = data.test.matrix;
  const ks = [...new Set(opts.ks ?? [5, 10])].sort((a, b) => a - b);
  const maxK = ks[ks.length - 1];
  const full = new RankingEvaluator(tr.nCols, ks, itemPopularity(tr));
  const tied = new Float64Array(ks.length);
  let empty = 0;
  let users = 0;
  const nUsers = te.nRows;
  for (let u = 0; u < nUsers; u++) {
    if (te.indptr[u + 1] === te.indptr[u]) continue;
    // One more than the largest k, to see whether the k-th place was decided by a tie.
    const r = await rankUser(u, maxK + 1);
    const list = r.items.subarray(0, maxK);
    if (list.length === 0) empty++;
    for (let q = 0; q < ks.length; q++) if (tiedAt(r.scores, ks[q])) tied[q]++;
    full.addList(list, te.rowIndices(u));
    users++;
    if ((u & 1023) === 0) opts.onProgress?.(`evaluate ${rec.name}`, u, nUsers);
  }
  opts.onProgress?.(`evaluate ${rec.name}`, nUsers, nUsers);
  const extra: ModelMetrics = {};
  for (let q = 0; q < ks.length; q++) extra[`tied_top@${ks[q]}`] = users > 0 ? tied[q] / users : 0;
  extra.empty_lists = users > 0 ? empty / users : 0;
  return { full: full.summary(), sampled: null, evalSeconds: (performance.now() - started) / 1000, extra };
}

/** Whether the k-th place of a list sorted by descending score shares its score with a neighbour within k+1. */
export function tiedAt(scores: ArrayLike<number>, k: number): boolean {
  const last = Math.min(k, scores.length - 1);
  for (let j = 0; j < last; j++) if (scores[j] === scores[j + 1]) return true;
  return false;
}

/** The flat metric object of one model, as in the JSON report. */
export function flattenMetrics(r: RecommenderResult, trainSeconds: number): ModelMetrics {
  const out: ModelMetrics = {};
  const f = r.full;
  const atK = (name: string, ks: number[], values: number[]) => {
    for (let q = 0; q < ks.length; q++) out[`${name}@${ks[q]}`] = values[q];
  };
  atK('precision', f.ks, f.precision);
  atK('recall', f.ks, f.recall);
  atK('ndcg', f.ks, f.ndcg);
  atK('map', f.ks, f.map);
  atK('hit_rate', f.ks, f.hitRate);
  out.auc = f.auc;
  atK('coverage', f.ks, f.coverage);
  atK('popularity', f.ks, f.popularity);
  if (r.sampled) {
    const s = r.sampled;
    atK('sampled_hit_rate', s.ks, s.hitRate);
    atK('sampled_ndcg', s.ks, s.ndcg);
    out.sampled_auc = s.auc;
    out.sampled_mrr = s.mrr;
  }
  out.users = f.users;
  out.invalid_scores = f.invalidScores;
  out.train_seconds = trainSeconds;
  out.eval_seconds = r.evalSeconds;
  return out;
}

/**
 * Fits and measures each model in turn on the same split. Models are created by the caller (see models.ts) so
 * that any Recommender can take part; each is disposed after its measurement.
 */
export async function evaluateModels(
  data: EvalData,
  models: readonly Recommender[],
  names: { dataset: string; split: string },
  opts: EvaluateOptions = {},
): Promise<EvalReport> {
  const fit: FitOptions = {
    seed: opts.seed ?? DEFAULT_FIT_OPTIONS.seed,
    threads: opts.threads ?? DEFAULT_FIT_OPTIONS.threads,
    epochs: opts.epochs ?? DEFAULT_FIT_OPTIONS.epochs,
    dim: opts.dim ?? DEFAULT_FIT_OPTIONS.dim,
    onProgress: opts.onProgress,
  };
  const ks = [...new Set(opts.ks ?? [5, 10])].sort((a, b) => a - b);
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name))
      throw new SimrecError('CONFIG_INVALID', `model '${m.name}' is listed twice`, { field: 'models' });
    seen.add(m.name);
  }
  const counts = countsOf(data);
  const train = trainData(data);
  const results: Record<string, ModelMetrics> = {};
  for (const rec of models) {
    try {
      const t0 = performance.now();
      await rec.fit(train, fit);
      const trainSeconds = (performance.now() - t0) / 1000;
      if (rec.rankUser) {
        const r = await measureRankedRecommender(data, rec, { ks, onProgress: opts.onProgress });
        results[rec.name] = { ...flattenMetrics(r, trainSeconds), ...r.extra };
        continue;
      }
      const r = measureRecommender(data, rec, {
        ks,
        sampledNegatives: opts.sampledNegatives ?? null,
        seed: fit.seed,
        onProgress: opts.onProgress,
      });
      results[rec.name] = flattenMetrics(r, trainSeconds);
    } finally {
      await rec.dispose?.();
    }
  }
  return {
    dataset: names.dataset,
    split: names.split,
    protocol: {
      ...PROTOCOL_RULES,
      ks,
      sampledNegatives: opts.sampledNegatives ?? null,
      seed: fit.seed,
      epochs: fit.epochs,
      dim: fit.dim,
      threads: fit.threads,
    },
    counts,
    models: results,
  };
}
