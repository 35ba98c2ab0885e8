/**
 * Fold-in: a representation for a user the model has never seen, from the items they engaged with, without
 * retraining. A fresh user row (zeros, fresh optimiser state) gets a few epochs of the model's own loss over
 * those items while every item parameter stays fixed, so the result lives in the trained item space.
 */
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { type KernelConfig, MfKernel, type SideRows } from './kernel.ts';
import type { ParamStore } from './memory.ts';

export interface FoldInContext {
  store: ParamStore;
  itemRows: SideRows;
  nItems: number;
  /** The model's kernel configuration with foldIn set. */
  cfg: KernelConfig;
  seed: number;
}

/**
 * The new user's raw row (embedding, then bias; length dim + 1). Uses the store's fold-in row and last
 * scratch slot, so it never disturbs training threads; calls must not overlap (JavaScript's one thread
 * guarantees it within a process). `items` may be unsorted and repeat (weights
 * of a repeated item add up); `weights` are per entry of `items`, default 1.
 */
export function foldInRow(
  ctx: FoldInContext,
  items: Int32Array,
  weights: Float32Array | undefined,
  steps: number,
): Float32Array {
  const { nItems, store } = ctx;
  const l = store.layout;
  if (!Number.isInteger(steps) || steps < 0)
    throw new SimrecError('CONFIG_INVALID', `fold-in steps must be an integer ≥ 0, got ${steps}`, {
      field: 'steps',
    });
  if (weights && weights.length !== items.length)
    throw new SimrecError(
      'CONFIG_INVALID',
      `fold-in weights length ${weights.length} != items length ${items.length}`,
      { field: 'weights' },
    );
  // Sort and merge: the kernel's positive check is a binary search over a sorted, duplicate-free row.
  const perm = Array.from(items.keys()).sort((a, b) => items[a] - items[b]);
  const sorted = new Int32Array(items.length);
  const w = new Float32Array(items.length);
  let m = 0;
  for (const k of perm) {
    const it = items[k];
    if (!Number.isInteger(it) || it < 0 || it >= nItems)
      throw new SimrecError('NOT_FOUND', `fold-in item ${it} is not in the model (${nItems} items)`, {
        field: 'items',
      });
    const wt = weights ? weights[k] : 1;
    if (!(wt >= 0) || !Number.isFinite(wt))
      throw new SimrecError('INPUT_BAD_ROW', `fold-in weight ${wt} of item ${it} must be finite and ≥ 0`, {
        field: 'weights',
      });
    if (m > 0 && sorted[m - 1] === it) w[m - 1] += wt;
    else {
      sorted[m] = it;
      w[m] = wt;
      m++;
    }
  }
  // The store's fold-in row: zero parameters, fresh optimiser state (Adagrad accumulators at 1).
  const f32 = store.f32;
  f32.fill(0, l.foldParams, l.foldParams + l.stride);
  f32.fill(l.adadelta ? 0 : 1, l.foldAcc, l.foldAcc + l.stride);
  f32.fill(0, l.foldDelta, l.foldDelta + l.stride);
  const row = new Float32Array(l.dim + 1);
  if (m === 0 || steps === 0) return row;
  const order = new Int32Array(m);
  const kernel = new MfKernel(
    store,
    {
      nUsers: 1,
      nItems,
      indptr: Int32Array.of(0, m),
      indices: sorted.subarray(0, m),
      weights: w.subarray(0, m),
      entryUser: new Int32Array(m),
      user: { indptr: null, indices: null, weights: null },
      item: ctx.itemRows,
      order,
    },
    { ...ctx.cfg, foldIn: true },
    l.slots - 1,
  );
  // Seeded by the model and the input alone, so folding in the same history twice gives the same vector.
  const rng = new Rng(`mf:${ctx.seed}:fold-in:${m}:${sorted[0]}:${sorted[m - 1]}`);
  for (let s = 0; s < steps; s++) {
    rng.permutation(m, order);
    kernel.runRange(rng, 0, m);
  }
  for (let j = 0; j < l.dim; j++) row[j] = f32[l.foldParams + j];
  row[l.dim] = f32[l.foldParams + l.dimPad];
  return row;
}
