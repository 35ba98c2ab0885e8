/**
 * Offline metrics of a probabilistic ranker on held-out examples: logloss, ROC AUC and calibration (expected
 * calibration error over equal-width bins, with the reliability table it is computed from).
 */
import { SimrecError } from '../core/errors.ts';

type Numbers = ArrayLike<number>;

function sameLength(labels: Numbers, predictions: Numbers, what: string): void {
  if (labels.length !== predictions.length)
    throw new SimrecError(
      'INTERNAL',
      `${what}: ${labels.length} labels but ${predictions.length} predictions (they must be parallel)`,
    );
}

function checkPrediction(p: number, i: number, what: string): void {
  if (Number.isNaN(p)) throw new SimrecError('INTERNAL', `${what}: prediction ${i} is NaN`);
}

/**
 * Mean (weighted) negative log-likelihood of binary labels under predicted probabilities, natural log;
 * predictions are clipped to [eps, 1 − eps] so one confident mistake costs a finite amount (as scikit-learn does).
 * NaN for no examples.
 */
export function logloss(labels: Numbers, predictions: Numbers, weights?: Numbers, eps = 1e-15): number {
  sameLength(labels, predictions, 'logloss');
  let sum = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p0 = predictions[i];
    checkPrediction(p0, i, 'logloss');
    const p = Math.min(1 - eps, Math.max(eps, p0));
    const w = weights ? weights[i] : 1;
    sum -= w * (labels[i] ? Math.log(p) : Math.log(1 - p));
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative, a tie
 * counting one half. Computed from the Mann–Whitney U statistic with tied scores given their average rank, in
 * O(n log n). NaN when either class is empty.
 */
export function auc(labels: Numbers, scores: Numbers): number {
  sameLength(labels, scores, 'auc');
  const n = labels.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    checkPrediction(scores[i], i, 'auc');
    order[i] = i;
  }
  order.sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let lo = 0; lo < n; ) {
    let hi = lo + 1;
    while (hi < n && scores[order[hi]] === scores[order[lo]]) hi++;
    // Ranks lo+1..hi (1-based) share their mean.
    const rank = (lo + 1 + hi) / 2;
    for (let k = lo; k < hi; k++) {
      if (labels[order[k]]) {
        positives++;
        rankSum += rank;
      }
    }
    lo = hi;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** One bin of a reliability table: predictions in [lower, upper) (the last bin includes 1). */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean prediction in the bin; null for an empty bin. */
  meanPredicted: number | null;
  /** Fraction of positives in the bin; null for an empty bin. */
  observedRate: number | null;
}

export interface Calibration {
  /** Σ_b (n_b / n)·|mean predicted_b − observed rate_b| (Naeini et al. 2015); NaN for no examples. */
  ece: number;
  /** The largest |mean predicted − observed rate| over non-empty bins. */
  mce: number;
  table: ReliabilityBin[];
}

/**
 * Expected calibration error and the reliability table over `bins` equal-width bins of [0, 1]. Predictions
 * outside [0, 1] are refused: they are not probabilities.
 */
export function calibration(labels: Numbers, predictions: Numbers, bins = 10): Calibration {
  sameLength(labels, predictions, 'calibration');
  if (!Number.isInteger(bins) || bins < 1)
    throw new SimrecError('CONFIG_INVALID', `calibration bins must be a positive integer, got ${bins}`, {
      field: 'bins',
    });
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const p = predictions[i];
    checkPrediction(p, i, 'calibration');
    if (p < 0 || p > 1)
      throw new SimrecError('INTERNAL', `calibration: prediction ${i} is ${p}, not in [0, 1]`);
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]++;
    sumP[b] += p;
    sumY[b] += labels[i] ? 1 : 0;
  }
  let ece = 0;
  let mce = 0;
  const table: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b];
    const meanPredicted = c > 0 ? sumP[b] / c : null;
    const observedRate = c > 0 ? sumY[b] / c : null;
    if (c > 0) {
      const gap = Math.abs((meanPredicted as number) - (observedRate as number));
      ece += (c / n) * gap;
      mce = Math.max(mce, gap);
    }
    table.push({ lower: b / bins, upper: (b + 1) / bins, count: c, meanPredicted, observedRate });
  }
  return { ece: n > 0 ? ece : Number.NaN, mce, table };
}

/** Mean NDCG@k and precision@k over groups, and the number of groups. */
export interface ListQuality {
  ndcg: number;
  precision: number;
  groups: number;
}

/**
 * List quality of a scoring over groups of candidates (one user's pool each: group g is examples
 * offsets[g]..offsets[g+1]): each group is ranked by score, best first, ties by `tiebreak` ascending (serving
 * breaks them by item index), and an example scoring −∞ is left out of the list (a source that did not return
 * it). `relevant[g]` counts the group's relevant items in all, those the candidates missed included, so the
 * ideal DCG is the one of the whole held-out set, as an evaluation of the served list computes it:
 * NDCG@k = Σ_{j<k} rel_j / log2(j + 2) ÷ Σ_{j<min(k, relevant)} 1 / log2(j + 2), precision@k = hits / k.
 * Groups without a relevant item are skipped. NaN means for no group.
 */
export function listQuality(
  offsets: ArrayLike<number>,
  labels: Numbers,
  scores: Numbers,
  relevant: Numbers,
  k: number,
  tiebreak?: Numbers,
): ListQuality {
  sameLength(labels, scores, 'listQuality');
  if (!Number.isInteger(k) || k < 1)
    throw new SimrecError('CONFIG_INVALID', `k must be a positive integer, got ${k}`, { field: 'k' });
  const groups = offsets.length - 1;
  if (relevant.length < groups)
    throw new SimrecError('INTERNAL', `listQuality: ${groups} groups but ${relevant.length} relevant counts`);
  let ndcg = 0;
  let precision = 0;
  let counted = 0;
  const order: number[] = [];
  for (let g = 0; g < groups; g++) {
    if (!(relevant[g] > 0)) continue;
    order.length = 0;
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      checkPrediction(scores[i], i, 'listQuality');
      if (scores[i] !== Number.NEGATIVE_INFINITY) order.push(i);
    }
    order.sort((a, b) => scores[b] - scores[a] || (tiebreak ? tiebreak[a] - tiebreak[b] : a - b));
    let dcg = 0;
    let hits = 0;
    for (let j = 0; j < Math.min(k, order.length); j++)
      if (labels[order[j]]) {
        dcg += 1 / Math.log2(j + 2);
        hits++;
      }
    let ideal = 0;
    for (let j = 0; j < Math.min(k, relevant[g]); j++) ideal += 1 / Math.log2(j + 2);
    ndcg += dcg / ideal;
    precision += hits / k;
    counted++;
  }
  return {
    ndcg: counted > 0 ? ndcg / counted : Number.NaN,
    precision: counted > 0 ? precision / counted : Number.NaN,
    groups: counted,
  };
}
