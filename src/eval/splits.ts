/**
 * Train/test splits of positive interactions (DESIGN §8). Every split is a partition of the input pairs: each
 * pair lands in exactly one side, with its weight and time, so nothing leaks. All are deterministic per seed.
 *
 * - `random`: per interaction, LightFM's `random_train_test_split`: the pairs (in user, item order) shuffled
 *   once, the first ⌊(1 − f)·n⌋ to train, the rest to test.
 * - `user`: per-user holdout: each user with ≥ 2 positives holds out round(f·n) of them (at least 1, at most
 *   n − 1) chosen uniformly at random; users with one positive keep it in train.
 * - `temporal`: one global cut time t: pairs whose latest positive event is before t train, the others test. t is
 *   given, or chosen so that a fraction f of the pairs is at or after it (pairs at t go to test). Needs times.
 * - `loo`: leave-one-out: each user with ≥ 2 positives holds out their most recent one (unknown times count as
 *   oldest; ties, and users with no known time at all, are broken uniformly at random).
 */
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import type { Interactions } from '../data/positives.ts';
import { selectEntries, type TrainTest } from './interactions.ts';

export type SplitKind = 'random' | 'user' | 'temporal' | 'loo';

export const SPLIT_KINDS: readonly SplitKind[] = ['random', 'user', 'temporal', 'loo'];

export interface SplitOptions {
  /** Share of the pairs (random, temporal) or of each user's pairs (user) that goes to test; default 0.2. */
  testFraction?: number;
  seed?: number;
  /** temporal: the cut time in Unix seconds; default from testFraction. */
  time?: number | null;
}

/** Dispatches on the split kind. */
export function splitInteractions(x: Interactions, kind: SplitKind, opts: SplitOptions = {}): TrainTest {
  switch (kind) {
    case 'random':
      return randomSplit(x, opts);
    case 'user':
      return userHoldoutSplit(x, opts);
    case 'temporal':
      return temporalSplit(x, opts);
    case 'loo':
      return leaveOneOutSplit(x, opts);
    default:
      throw new SimrecError(
        'CONFIG_INVALID',
        `unknown split '${String(kind)}' (expected ${SPLIT_KINDS.join(', ')})`,
        {
          field: 'split',
        },
      );
  }
}

function fractionOf(opts: SplitOptions): number {
  const f = opts.testFraction ?? 0.2;
  if (!(f > 0 && f < 1))
    throw new SimrecError('CONFIG_INVALID', `test fraction must be in (0, 1), got ${f}`, {
      field: 'testFraction',
    });
  return f;
}

/** Partition by a per-entry flag: 1 = test. */
function partition(x: Interactions, toTest: Uint8Array): TrainTest {
  const toTrain = new Uint8Array(toTest.length);
  for (let k = 0; k < toTest.length; k++) toTrain[k] = toTest[k] ^ 1;
  return { train: selectEntries(x, toTrain), test: selectEntries(x, toTest) };
}

/** Per-interaction random split (LightFM's random_train_test_split). */
export function randomSplit(x: Interactions, opts: SplitOptions = {}): TrainTest {
  const f = fractionOf(opts);
  const n = x.matrix.nnz;
  const perm = new Rng(opts.seed ?? 0).permutation(n);
  const nTrain = Math.floor((1 - f) * n);
  const toTest = new Uint8Array(n);
  for (let q = nTrain; q < n; q++) toTest[perm[q]] = 1;
  return partition(x, toTest);
}

/** Per-user holdout: a fraction of each user's positives to test. */
export function userHoldoutSplit(x: Interactions, opts: SplitOptions = {}): TrainTest {
  const f = fractionOf(opts);
  const rng = new Rng(opts.seed ?? 0);
  const m = x.matrix;
  const toTest = new Uint8Array(m.nnz);
  const scratch = new Int32Array(maxRow(m.indptr));
  for (let u = 0; u < m.nRows; u++) {
    const start = m.indptr[u];
    const n = m.indptr[u + 1] - start;
    if (n < 2) continue;
    const nTest = Math.min(n - 1, Math.max(1, Math.round(f * n)));
    // Partial Fisher–Yates: the first nTest slots of a shuffled 0..n−1.
    for (let i = 0; i < n; i++) scratch[i] = i;
    for (let i = 0; i < nTest; i++) {
      const j = i + rng.int(n - i);
      const t = scratch[i];
      scratch[i] = scratch[j];
      scratch[j] = t;
      toTest[start + scratch[i]] = 1;
    }
  }
  return partition(x, toTest);
}

/** Global time cut: before t trains, at or after t tests. */
export function temporalSplit(x: Interactions, opts: SplitOptions = {}): TrainTest {
  const n = x.ts.length;
  let missing = 0;
  for (let k = 0; k < n; k++) if (Number.isNaN(x.ts[k])) missing++;
  if (missing > 0)
    throw new SimrecError(
      'CONFIG_INVALID',
      `a temporal split needs a time on every positive; ${missing} of ${n} have none`,
      { field: 'split' },
    );
  let t = opts.time ?? null;
  if (t === null) {
    const f = fractionOf(opts);
    if (n === 0) t = 0;
    else {
      const sorted = Float64Array.from(x.ts).sort();
      t = sorted[Math.min(n - 1, Math.floor((1 - f) * n))];
    }
  } else if (!Number.isFinite(t)) {
    throw new SimrecError('CONFIG_INVALID', `split time must be finite, got ${t}`, { field: 'time' });
  }
  const toTest = new Uint8Array(n);
  for (let k = 0; k < n; k++) if (x.ts[k] >= t) toTest[k] = 1;
  return partition(x, toTest);
}

/** Leave-one-out: each user's most recent positive to test. */
export function leaveOneOutSplit(x: Interactions, opts: SplitOptions = {}): TrainTest {
  const rng = new Rng(opts.seed ?? 0);
  const m = x.matrix;
  const toTest = new Uint8Array(m.nnz);
  for (let u = 0; u < m.nRows; u++) {
    const start = m.indptr[u];
    const end = m.indptr[u + 1];
    if (end - start < 2) continue;
    let best = -1;
    let bestKey = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let k = start; k < end; k++) {
      const key = Number.isNaN(x.ts[k]) ? Number.NEGATIVE_INFINITY : x.ts[k];
      if (best < 0 || key > bestKey) {
        best = k;
        bestKey = key;
        ties = 1;
      } else if (key === bestKey) {
        // Reservoir sampling over the tied entries: each ends up chosen with probability 1/ties.
        ties++;
        if (rng.int(ties) === 0) best = k;
      }
    }
    toTest[best] = 1;
  }
  return partition(x, toTest);
}

function maxRow(indptr: Int32Array): number {
  let m = 0;
  for (let r = 0; r + 1 < indptr.length; r++) m = Math.max(m, indptr[r + 1] - indptr[r]);
  return m;
}
