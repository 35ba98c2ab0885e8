import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import { buildFeatureSpace, type FeatureSpace, identitySpace } from './features.ts';
import { type KernelConfig, LOSS_CODES, MfKernel, randomIndex, type TrainData } from './kernel.ts';
import { bprLoss, logisticLoss, warpLoss, warpWeight } from './losses.ts';
import { ParamStore } from './memory.ts';
import type { MfLoss } from './params.ts';

const DIM = 3;
const STRIDE = DIM + 1;
const LR = 0.01;

/** Two users, eight items; user 0 likes items 1 and 5, user 1 likes item 2 (sample weights 1.5, 0.5, 2). */
const POS = new CsrMatrix(2, 8, Int32Array.of(0, 2, 3), Int32Array.of(1, 5, 2), Float32Array.of(1.5, 0.5, 2));

interface Tiny {
  store: ParamStore;
  data: TrainData;
  userSpace: FeatureSpace;
  itemSpace: FeatureSpace;
}

/**
 * A tiny model with small random parameters, so every |score| < 0.3 and every negative violates WARP's
 * margin. With features, users and items share side rows, and items 1 and 2 share tag 1 with items 5 and 4.
 */
function tiny(features: boolean, adadelta = false): Tiny {
  const userSpace = features
    ? buildFeatureSpace(
        2,
        new CsrMatrix(2, 2, Int32Array.of(0, 1, 3), Int32Array.of(0, 0, 1), Float32Array.of(0.5, 1, 0.7)),
        'none',
        'user',
      )
    : identitySpace(2);
  // Item i has tag i % 3 (weight 1); items 1, 2, 4 also tag 1 or 2 at weight 0.5.
  const tagRows = [[0], [1, 2], [2, 1], [0], [1, 2], [2], [0], [1]];
  const tagW = [[1], [1, 0.5], [1, 0.5], [1], [1, 0.5], [1], [1], [1]];
  const itemSpace = features
    ? buildFeatureSpace(
        8,
        CsrMatrix.fromCoo(
          Int32Array.from(tagRows.flatMap((r, i) => r.map(() => i))),
          Int32Array.from(tagRows.flat()),
          Float32Array.from(tagW.flat()),
          8,
          3,
        ),
        'none',
        'item',
      )
    : identitySpace(8);
  const rng = new Rng('tiny');
  const store = ParamStore.allocate(DIM, userSpace.nFeatures, itemSpace.nFeatures, adadelta, 2);
  for (const side of ['user', 'item'] as const)
    for (let r = 0; r < store.rows(side); r++) {
      const row = Array.from({ length: DIM }, () => (rng.next() - 0.5) * 0.2);
      store.writeRow(side, 'params', r, [...row, (rng.next() - 0.5) * 0.1]);
    }
  const data: TrainData = {
    nUsers: 2,
    nItems: 8,
    indptr: POS.indptr,
    indices: POS.indices,
    weights: POS.values,
    entryUser: Int32Array.of(0, 0, 1),
    user: { indptr: userSpace.indptr, indices: userSpace.indices, weights: userSpace.weights },
    item: { indptr: itemSpace.indptr, indices: itemSpace.indices, weights: itemSpace.weights },
    order: new Int32Array(1),
  };
  return { store, data, userSpace, itemSpace };
}

function config(loss: MfLoss, over: Partial<KernelConfig> = {}): KernelConfig {
  return {
    loss: LOSS_CODES[loss],
    adadelta: false,
    learningRate: LR,
    rho: 0.95,
    epsilon: 1e-6,
    itemAlpha: 0,
    userAlpha: 0,
    maxSampled: 10,
    maxLoss: 10,
    kosK: 2,
    kosN: 3,
    negatives: 0,
    foldIn: false,
    ...over,
  };
}

/** A slab as plain rows of DIM + 1 floats. */
const slab = (t: Tiny, side: 'user' | 'item', which: 'params' | 'acc' | 'delta' = 'params') =>
  t.store.exportSlab(side, which);

/** r̂(u, i) computed independently of the kernel, in float64, from parameter copies. */
function score(t: Tiny, U: Float64Array, I: Float64Array, u: number, i: number): number {
  const rep = (P: Float64Array, s: FeatureSpace, e: number) => {
    const out = new Float64Array(STRIDE);
    const rows = s.indptr ? Array.from(s.indices!.subarray(s.indptr[e], s.indptr[e + 1])) : [e];
    const ws = s.indptr ? Array.from(s.weights!.subarray(s.indptr[e], s.indptr[e + 1])) : [1];
    rows.forEach((f, k) => {
      for (let j = 0; j < STRIDE; j++) out[j] += ws[k] * P[f * STRIDE + j];
    });
    return out;
  };
  const a = rep(U, t.userSpace, u);
  const b = rep(I, t.itemSpace, i);
  let s = a[DIM] + b[DIM];
  for (let j = 0; j < DIM; j++) s += a[j] * b[j];
  return s;
}

function isPos(u: number, i: number): boolean {
  return Array.from(POS.rowIndices(u)).includes(i);
}

/**
 * The loss the kernel's step on `entry` must descend, found by replaying its random draws: which negative
 * (and after how many draws) WARP and BPR take, which positive k-OS picks.
 */
function exampleLoss(t: Tiny, loss: MfLoss, cfg: KernelConfig, entry: number, seed: string) {
  const rng = new Rng(seed);
  const u = t.data.entryUser[entry];
  let pos = POS.indices[entry];
  let w = POS.values![entry];
  const warpFrom = () => {
    for (let draws = 1; draws <= cfg.maxSampled; draws++) {
      const neg = randomIndex(rng, 8);
      if (isPos(u, neg)) continue; // every negative violates (tiny scores), so only positives are skipped
      const weight = w * warpWeight(8, draws, cfg.maxLoss);
      return (U: Float64Array, I: Float64Array) =>
        warpLoss(score(t, U, I, u, pos), score(t, U, I, u, neg), weight);
    }
    throw new Error('no negative drawn');
  };
  if (loss === 'warp') return warpFrom();
  if (loss === 'warp-kos') {
    const start = POS.indptr[u];
    const m = POS.rowNnz(u);
    const U0 = new Float64Array(slab(t, 'user'));
    const I0 = new Float64Array(slab(t, 'item'));
    const drawn = Array.from({ length: Math.min(cfg.kosN, m) }, () => start + randomIndex(rng, m));
    const ranked = drawn
      .map((k, order) => ({ k, order, s: score(t, U0, I0, u, POS.indices[k]) }))
      .sort((a, b) => b.s - a.s || a.order - b.order);
    const pick = ranked[Math.min(cfg.kosK, drawn.length) - 1].k;
    pos = POS.indices[pick];
    w = POS.values![pick];
    return warpFrom();
  }
  if (loss === 'bpr') {
    let neg = -1;
    for (let tries = 0; tries < cfg.maxSampled && neg < 0; tries++) {
      const i = randomIndex(rng, 8);
      if (!isPos(u, i)) neg = i;
    }
    return (U: Float64Array, I: Float64Array) => w * bprLoss(score(t, U, I, u, pos), score(t, U, I, u, neg));
  }
  // Logistic: the positive (label 1) and cfg.negatives drawn non-positives (label 0), one summed loss.
  const negs: number[] = [];
  for (let k = 0; k < cfg.negatives; k++) {
    let neg = -1;
    for (let tries = 0; tries < cfg.maxSampled && neg < 0; tries++) {
      const i = randomIndex(rng, 8);
      if (!isPos(u, i)) neg = i;
    }
    negs.push(neg);
  }
  return (U: Float64Array, I: Float64Array) =>
    w * logisticLoss(score(t, U, I, u, pos), 1) +
    negs.reduce((sum, neg) => sum + w * logisticLoss(score(t, U, I, u, neg), 0), 0);
}

/** Central differences of f over every parameter of both sides. */
function numericGradient(t: Tiny, f: (U: Float64Array, I: Float64Array) => number) {
  const U = new Float64Array(slab(t, 'user'));
  const I = new Float64Array(slab(t, 'item'));
  const h = 1e-6;
  const grad = (A: Float64Array) => {
    const g = new Float64Array(A.length);
    for (let k = 0; k < A.length; k++) {
      const keep = A[k];
      A[k] = keep + h;
      const up = f(U, I);
      A[k] = keep - h;
      const down = f(U, I);
      A[k] = keep;
      g[k] = (up - down) / (2 * h);
    }
    return g;
  };
  return { user: grad(U), item: grad(I) };
}

/** Runs one example through the kernel; returns the parameters before and after. */
function runOne(t: Tiny, cfg: KernelConfig, entry: number, seed: string) {
  const before = { user: slab(t, 'user'), item: slab(t, 'item') };
  t.data.order[0] = entry;
  new MfKernel(t.store, t.data, cfg, 0).runRange(new Rng(seed), 0, 1);
  return { before, after: { user: slab(t, 'user'), item: slab(t, 'item') } };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4) {
  assert.equal(actual.length, expected.length);
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k];
    const e = expected[k];
    assert.ok(Math.abs(a - e) <= tol + 1e-3 * Math.abs(e), `${what}[${k}]: applied ${a}, expected ${e}`);
  }
}

for (const features of [false, true])
  for (const loss of ['warp', 'bpr', 'logistic', 'warp-kos'] as const)
    test(`${loss}${features ? ' with user and item features' : ''}: one Adagrad step is −lr·∇loss (finite differences)`, () => {
      for (const [entry, seed] of [
        [0, 's1'],
        [1, 's2'],
        [2, 's3'],
        [2, 's4'],
        [0, 's5'],
      ] as const) {
        const t = tiny(features);
        // Logistic draws three negatives, so a repeated draw or a tag shared with the positive is covered.
        const cfg = config(loss, { negatives: loss === 'logistic' ? 3 : 0 });
        const loss0 = exampleLoss(t, loss, cfg, entry, seed);
        const g = numericGradient(t, loss0);
        const { before, after } = runOne(t, cfg, entry, seed);
        // Fresh Adagrad accumulators are 1, so the first step is exactly −lr·g.
        const applied = (b: Float32Array, a: Float32Array) => Array.from(b, (v, k) => (v - a[k]) / LR);
        assertClose(applied(before.user, after.user), g.user, `${loss} user`);
        assertClose(applied(before.item, after.item), g.item, `${loss} item`);
        assert.ok(
          g.item.some((v) => Math.abs(v) > 1e-3),
          'the example moved something',
        );
        // And each accumulator gained that step's g².
        const acc = Array.from(slab(t, 'item', 'acc'), (v) => v - 1);
        assertClose(
          acc,
          Array.from(g.item, (v) => v * v),
          'item acc',
          1e-5,
        );
      }
    });

test('L2 (itemAlpha, userAlpha) adds alpha·θ on the rows an example touches', () => {
  for (const loss of ['warp', 'logistic'] as const) {
    const cfg = config(loss, { itemAlpha: 0.3, userAlpha: 0.2 });
    const t = tiny(false);
    const data = exampleLoss(t, loss, cfg, 2, 'l2');
    const { before, after } = runOne(tiny(false), cfg, 2, 'l2');
    // WARP touches user 1's embedding (its bias cancels), item 2 and the chosen negative; logistic touches
    // user 1's row and item 2's row, bias included.
    const changedItems = new Set<number>();
    for (let k = 0; k < before.item.length; k++)
      if (before.item[k] !== after.item[k]) changedItems.add(Math.floor(k / STRIDE));
    assert.equal(changedItems.size, loss === 'warp' ? 2 : 1);
    const touchesUserBias = loss === 'logistic';
    const reg = (U: Float64Array, I: Float64Array) => {
      let r = 0;
      for (let j = 0; j < (touchesUserBias ? STRIDE : DIM); j++) r += 0.2 * 0.5 * U[1 * STRIDE + j] ** 2;
      for (const i of changedItems) for (let j = 0; j < STRIDE; j++) r += 0.3 * 0.5 * I[i * STRIDE + j] ** 2;
      return r;
    };
    const g = numericGradient(t, (U, I) => data(U, I) + reg(U, I));
    assertClose(
      Array.from(before.user, (v, k) => (v - after.user[k]) / LR),
      g.user,
      `${loss} user`,
    );
    assertClose(
      Array.from(before.item, (v, k) => (v - after.item[k]) / LR),
      g.item,
      `${loss} item`,
    );
  }
});

test('Adadelta: the first step from zero state is √ε/√((1−ρ)g²+ε)·g', () => {
  const t = tiny(true, true);
  const cfg = config('bpr', { adadelta: true, rho: 0.9, epsilon: 1e-4 });
  const g = numericGradient(t, exampleLoss(t, 'bpr', cfg, 0, 'ad'));
  const { before, after } = runOne(t, cfg, 0, 'ad');
  const step = (x: number) => (Math.sqrt(1e-4) / Math.sqrt(0.1 * x * x + 1e-4)) * x;
  const applied = Array.from(before.item, (v, k) => v - after.item[k]);
  assertClose(applied, Array.from(g.item, step), 'item step', 1e-6);
  // E[g²] and E[Δ²] hold (1−ρ)g² and (1−ρ)Δ².
  assertClose(
    slab(t, 'item', 'acc'),
    Array.from(g.item, (x) => 0.1 * x * x),
    'E[g²]',
    1e-7,
  );
  assertClose(
    slab(t, 'item', 'delta'),
    Array.from(g.item, (x) => 0.1 * step(x) ** 2),
    'E[Δ²]',
    1e-9,
  );
});

test('a zero sample weight makes no step; in fold-in items never move and the fold-in row does', () => {
  const t = tiny(false);
  t.data.weights = Float32Array.of(0, 0, 0);
  const zero = runOne(t, config('warp'), 1, 'z');
  assert.deepEqual(zero.after, zero.before);
  const f = tiny(true);
  const l = f.store.layout;
  f.store.f32.fill(1, l.foldAcc, l.foldAcc + l.stride);
  const fold = runOne(f, config('warp', { foldIn: true }), 0, 'z');
  assert.deepEqual(fold.after, fold.before);
  assert.ok(f.store.f32.subarray(l.foldParams, l.foldParams + l.stride).some((v) => v !== 0));
});

test("WARP's weight on a hand example: one violating item among ten negatives, found on draw d, weighs ln⌊10/d⌋", () => {
  // Eleven items, the user's positive is item 10. All embeddings are zero, so scores are item biases:
  // item 10 has 0, item 3 has +0.5 (violates: 0.5 > 0 − 1), every other item −5 (never violates).
  const seen = new Set<number>();
  for (const seed of ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8']) {
    const store = ParamStore.allocate(DIM, 1, 11, false, 1);
    for (let i = 0; i < 10; i++) store.writeRow('item', 'params', i, [0, 0, 0, i === 3 ? 0.5 : -5]);
    const data: TrainData = {
      nUsers: 1,
      nItems: 11,
      indptr: Int32Array.of(0, 1),
      indices: Int32Array.of(10),
      weights: null,
      entryUser: Int32Array.of(0),
      user: { indptr: null, indices: null, weights: null },
      item: { indptr: null, indices: null, weights: null },
      order: Int32Array.of(0),
    };
    new MfKernel(store, data, config('warp', { maxSampled: 12 }), 0).runRange(new Rng(seed), 0, 1);
    const bias = (i: number) =>
      store.f32[store.layout.itemParams + i * store.layout.stride + store.layout.dimPad];
    const replay = new Rng(seed);
    let d = 1;
    while (d <= 12 && randomIndex(replay, 11) !== 3) d++;
    // ∂(s_neg − s_pos)/∂b_pos = −1: the positive's bias rises by lr·weight, the violator's falls by as much.
    const expected = d <= 12 ? Math.log(Math.max(1, Math.floor(10 / d))) : 0;
    assert.ok(Math.abs(bias(10) / LR - expected) < 1e-5, `seed ${seed}: d=${d}`);
    assert.ok(Math.abs((bias(3) - 0.5) / LR + expected) < 1e-4);
    seen.add(d);
  }
  // The seeds cover a first-draw hit (ln 10) and later ones.
  assert.ok(seen.has(1) || seen.size >= 3, `draws seen: ${[...seen]}`);
});

test('randomIndex stays in range and is close to uniform', () => {
  const rng = new Rng(5);
  const counts = new Int32Array(7);
  for (let k = 0; k < 70_000; k++) counts[randomIndex(rng, 7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, String(c));
  assert.equal(randomIndex(rng, 1), 0);
});
