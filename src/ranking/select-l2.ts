/**
 * The L2 penalty of the ranker chosen from the data: k-fold cross-validation over groups of examples (one user's
 * each, so no user is on both sides of a fold), scored by the held-out fold's weighted logloss — a proper
 * scoring rule, with the example weights that make sampled negatives stand for all of them. How strongly to
 * shrink depends on how many examples stand behind each hashed slot, which no fixed default fits: a few
 * hundred users' examples overfit the hashed clusters and crosses under a penalty that suits a click log.
 */
import { SimrecError } from '../core/errors.ts';
import { ExampleSet } from './examples.ts';
import { type FeatureSpec, FeatureVector } from './hashing.ts';
import { type LogisticModel, type LogisticOptions, trainLogistic } from './logistic.ts';
import { logloss } from './metrics.ts';

/** The penalties tried by default: decades around the trainer's default. */
export const L2_GRID: readonly number[] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

export interface L2Selection {
  l2: number;
  folds: number;
  /** Per penalty tried: the mean held-out weighted logloss over the folds. */
  grid: { l2: number; logloss: number }[];
}

/** The examples of `set` whose group `fold[g]` is (or is not, `inside` false) `k`. */
function foldSet(
  set: ExampleSet,
  groups: ArrayLike<number>,
  fold: Int32Array,
  k: number,
  inside: boolean,
): ExampleSet {
  const out = new ExampleSet(
    Math.max(1, set.length),
    Math.max(1, Math.ceil(set.nnz / Math.max(1, set.length))),
  );
  const v = new FeatureVector();
  for (let g = 0; g + 1 < groups.length; g++) {
    if ((fold[g] === k) !== inside) continue;
    for (let i = groups[g]; i < groups[g + 1]; i++) {
      v.clear();
      for (let j = set.offsets[i]; j < set.offsets[i + 1]; j++) v.push(set.slots[j], set.values[j], 0);
      out.add(v, set.labels[i] as 0 | 1, set.weights[i]);
    }
  }
  return out;
}

function predictAll(model: LogisticModel, set: ExampleSet): Float64Array {
  const out = new Float64Array(set.length);
  const v = new FeatureVector();
  for (let i = 0; i < set.length; i++) {
    v.clear();
    for (let j = set.offsets[i]; j < set.offsets[i + 1]; j++) v.push(set.slots[j], set.values[j], 0);
    out[i] = model.predict(v);
  }
  return out;
}

/**
 * The penalty of `grid` with the lowest mean held-out weighted logloss over `folds` folds of the groups
 * (group g is examples groups[g]..groups[g+1]; group g goes to fold g mod folds, so callers pass the groups in
 * a seeded order when their order means something). A fold whose training or held-out side lacks a class is
 * skipped; with no usable fold, `fallback` (the trainer's default unless given) is returned.
 */
export function selectL2(
  spec: FeatureSpec,
  set: ExampleSet,
  groups: ArrayLike<number>,
  options: Omit<LogisticOptions, 'l2'> & { grid?: readonly number[]; folds?: number; fallback?: number } = {},
): L2Selection {
  const grid = options.grid ?? L2_GRID;
  const folds = options.folds ?? 3;
  if (grid.length === 0) throw new SimrecError('CONFIG_INVALID', 'the L2 grid is empty', { field: 'l2' });
  if (!Number.isInteger(folds) || folds < 2)
    throw new SimrecError('CONFIG_INVALID', `folds must be an integer ≥ 2, got ${folds}`, { field: 'folds' });
  const nGroups = groups.length - 1;
  const fold = new Int32Array(Math.max(0, nGroups));
  for (let g = 0; g < nGroups; g++) fold[g] = g % folds;
  const sums = new Float64Array(grid.length);
  let used = 0;
  for (let k = 0; k < folds; k++) {
    const fit = foldSet(set, groups, fold, k, false);
    const held = foldSet(set, groups, fold, k, true);
    const a = fit.counts();
    const b = held.counts();
    if (a.positives === 0 || a.negatives === 0 || b.positives === 0 || b.negatives === 0) continue;
    used++;
    const labels = held.labels.subarray(0, held.length);
    const weights = held.weights.subarray(0, held.length);
    const { grid: _, folds: __, fallback: ___, ...train } = options;
    grid.forEach((l2, q) => {
      const { model } = trainLogistic(spec, fit, { ...train, l2 });
      sums[q] += logloss(labels, predictAll(model, held), weights);
    });
  }
  const table = grid.map((l2, q) => ({ l2, logloss: used > 0 ? sums[q] / used : Number.NaN }));
  if (used === 0) return { l2: options.fallback ?? 1e-4, folds: 0, grid: table };
  let best = 0;
  for (let q = 1; q < table.length; q++) if (table[q].logloss < table[best].logloss) best = q;
  return { l2: grid[best], folds: used, grid: table };
}
