/**
 * Hyper-parameters of the hybrid matrix factorization model (DESIGN §5), their defaults and validation.
 */
import { SimrecError } from '../core/errors.ts';
import type { FeatureNormalization } from './features.ts';

export type MfLoss = 'warp' | 'bpr' | 'logistic' | 'warp-kos';
export type MfSchedule = 'adagrad' | 'adadelta';
export const MF_LOSSES: readonly MfLoss[] = ['warp', 'bpr', 'logistic', 'warp-kos'];
export const MF_SCHEDULES: readonly MfSchedule[] = ['adagrad', 'adadelta'];
const FEATURE_NORMALIZATIONS: readonly FeatureNormalization[] = ['side', 'row', 'none'];

export interface MfParams {
  /** Latent dimensions of every feature embedding. */
  components: number;
  loss: MfLoss;
  learningSchedule: MfSchedule;
  /** Adagrad step size (Adadelta has none). */
  learningRate: number;
  /** Adadelta decay of the running averages. */
  rho: number;
  /** Adadelta conditioning constant (> 0: with 0 a fresh row could never move). */
  epsilon: number;
  /**
   * L2 penalty on item feature parameters, applied to the parameters an example touches
   * (a term alpha/2·‖θ‖² per update), so frequent features are held back in proportion to their use.
   */
  itemAlpha: number;
  /** L2 penalty on user feature parameters, applied like {@link itemAlpha}. */
  userAlpha: number;
  /**
   * Decoupled weight decay (Loshchilov & Hutter 2019): after every epoch all parameters, embeddings and
   * biases, shrink by this fraction. Unlike the alphas it reaches every row, so the rarely seen items and
   * users, which the data barely constrain, are pulled toward the popularity order of the biases instead of
   * keeping large arbitrary vectors.
   */
  decay: number;
  /** WARP / WARP-kos: negatives drawn per positive before giving up on finding a violation. */
  maxSampled: number;
  /** WARP / WARP-kos: cap on the rank weight ln⌊(nItems−1)/draws⌋, against huge steps early in training. */
  maxLoss: number;
  /** WARP-kos: the k-th best of the sampled positives is the one trained on. */
  kosK: number;
  /** WARP-kos: positives sampled per example. */
  kosN: number;
  /**
   * logistic: uniformly sampled unobserved items trained as negatives (label 0) per positive. With implicit
   * feedback only (every stored interaction is a positive), 0 would just push every score up.
   */
  negatives: number;
  /**
   * Feature weight scaling (features.ts): 'side' (identity 1, side features summing to 1: an item is its own
   * vector plus the mean of its tags), 'row' (the whole row sums to 1, as LightFM's Dataset does) or 'none'.
   * 'side' keeps items with many tags from becoming larger vectors without drowning the identity, which 'row'
   * does to a well-tagged item. No effect on identity-only sides.
   */
  featureNormalization: FeatureNormalization;
  /** Initial embeddings are uniform in ±initScale/2 / components (LightFM's initialisation); biases start at 0. */
  initScale: number;
}

/**
 * Defaults. Learning rate 0.05 with Adagrad (accumulators starting at 1), WARP with 10 draws and the
 * initialisation are LightFM's well-tested settings. Two choices differ from LightFM, both checked on
 * ml-latest-small under the fixed split and under other random splits and user subsamples, never tuned to
 * one split: decay 0.05 (WARP precision@10 +0.02 on every split tried; neutral for BPR and logistic) and
 * 'side' feature normalisation (as good as unnormalised tags, far better than 'row'). The alphas stay 0: the
 * sparse L2 they add did not help under any setting tried. Logistic trains one sampled negative per
 * positive, since implicit feedback has no explicit negatives.
 */
export const DEFAULT_MF_PARAMS: Readonly<MfParams> = Object.freeze({
  components: 64,
  loss: 'warp',
  learningSchedule: 'adagrad',
  learningRate: 0.05,
  rho: 0.95,
  epsilon: 1e-6,
  itemAlpha: 0,
  userAlpha: 0,
  decay: 0.05,
  maxSampled: 10,
  maxLoss: 10,
  kosK: 5,
  kosN: 10,
  negatives: 1,
  featureNormalization: 'side',
  initScale: 1,
});

function bad(field: string, message: string): SimrecError {
  return new SimrecError('CONFIG_INVALID', `mf.${field}: ${message}`, { field: `mf.${field}` });
}

function checkNumber(p: MfParams, field: keyof MfParams, lo: number, hi: number, integer: boolean): void {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v)))
    throw bad(field, `must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${String(v)}`);
}

/** Defaults overlaid with `given`, every value checked; a bad one is CONFIG_INVALID naming `mf.<field>`. */
export function resolveParams(given: Partial<MfParams> = {}): MfParams {
  for (const key of Object.keys(given)) {
    if (!(key in DEFAULT_MF_PARAMS)) throw bad(key, 'unknown parameter');
  }
  const p: MfParams = { ...DEFAULT_MF_PARAMS };
  for (const [k, v] of Object.entries(given))
    if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  if (!MF_LOSSES.includes(p.loss))
    throw bad('loss', `must be one of ${MF_LOSSES.join(', ')}, got '${p.loss}'`);
  if (!MF_SCHEDULES.includes(p.learningSchedule))
    throw bad('learningSchedule', `must be one of ${MF_SCHEDULES.join(', ')}, got '${p.learningSchedule}'`);
  checkNumber(p, 'components', 1, 4096, true);
  checkNumber(p, 'learningRate', Number.MIN_VALUE, 1e3, false);
  checkNumber(p, 'rho', Number.MIN_VALUE, 1 - Number.EPSILON, false);
  checkNumber(p, 'epsilon', Number.MIN_VALUE, 1, false);
  checkNumber(p, 'itemAlpha', 0, 1e3, false);
  checkNumber(p, 'userAlpha', 0, 1e3, false);
  checkNumber(p, 'decay', 0, 0.999, false);
  checkNumber(p, 'maxSampled', 1, 1e6, true);
  checkNumber(p, 'maxLoss', Number.MIN_VALUE, 1e6, false);
  checkNumber(p, 'kosK', 1, 1e6, true);
  checkNumber(p, 'kosN', 1, 1e6, true);
  checkNumber(p, 'negatives', 0, 1e3, true);
  checkNumber(p, 'initScale', 0, 1e3, false);
  if (p.kosK > p.kosN) throw bad('kosK', `must not exceed kosN (${p.kosN}), got ${p.kosK}`);
  if (!FEATURE_NORMALIZATIONS.includes(p.featureNormalization))
    throw bad(
      'featureNormalization',
      `must be one of ${FEATURE_NORMALIZATIONS.join(', ')}, got '${p.featureNormalization}'`,
    );
  return p;
}
