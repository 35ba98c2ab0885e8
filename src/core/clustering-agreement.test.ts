import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adjustedRandIndex,
  clusteringAgreement,
  nmi,
  pairPrecisionRecall,
  type UnassignedMode,
} from './clustering-agreement.ts';
import { SimrecError } from './errors.ts';
import { Rng } from './prng.ts';

const L = (xs: number[]) => Int32Array.from(xs);
const close = (actual: number, expected: number, what = '') =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`);

test('worked example computed by hand', () => {
  // a = {0,1,2}{3,4,5}, b = {0,1}{2,3}{4,5}; contingency rows a, columns b: [[2,1,0],[0,1,2]], n = 6.
  // NMI: H(a) = ln 2, H(b) = ln 3. MI = Σ nij/n · ln(n·nij / (ai·bj)):
  //   cells of 2: 2/6 · ln(12/6) = ln2/3 each; cells of 1: 1/6 · ln(6/6) = 0.  MI = 2·ln2/3.
  //   NMI = MI / ((ln2 + ln3)/2) = 4·ln2 / (3·ln6) ≈ 0.515804.
  // ARI: together = C(2,2)+C(2,2) = 2; in a = 2·C(3,2) = 6; in b = 3·C(2,2) = 3; all = C(6,2) = 15.
  //   expected = 6·3/15 = 1.2, max = (6+3)/2 = 4.5, ARI = (2−1.2)/(4.5−1.2) = 8/33.
  // Pairs of a against b: precision 2/6, recall 2/3, F1 = 2·(2/9)/(1/3+2/3) = 4/9.
  const a = L([0, 0, 0, 1, 1, 1]);
  const b = L([0, 0, 1, 1, 2, 2]);
  close(nmi(a, b), (4 * Math.LN2) / (3 * Math.log(6)), 'nmi');
  close(nmi(a, b), 0.5158037429793888, 'nmi (numpy cross-check)');
  close(adjustedRandIndex(a, b), 8 / 33, 'ari');
  const p = pairPrecisionRecall(a, b);
  assert.deepEqual(
    { truePairs: p.truePairs, predictedPairs: p.predictedPairs, referencePairs: p.referencePairs },
    { truePairs: 2, predictedPairs: 6, referencePairs: 3 },
  );
  close(p.precision, 1 / 3);
  close(p.recall, 2 / 3);
  close(p.f1, 4 / 9);
  const q = pairPrecisionRecall(b, a);
  close(q.precision, 2 / 3, 'swapping the partitions swaps precision and recall');
  close(q.recall, 1 / 3);
});

test('textbook values: scikit-learn documentation examples and independent partitions', () => {
  // sklearn docs: adjusted_rand_score([0,0,1,2],[0,0,1,1]) = 0.57…: together 1, in a 1, in b 2, all 6,
  // expected 1/3, max 3/2 → (2/3)/(7/6) = 4/7.
  close(adjustedRandIndex(L([0, 0, 1, 2]), L([0, 0, 1, 1])), 4 / 7);
  // sklearn docs: completely split classes give ARI 0 and NMI 0.
  assert.equal(adjustedRandIndex(L([0, 0, 0, 0]), L([0, 1, 2, 3])), 0);
  assert.equal(nmi(L([0, 0, 0, 0]), L([0, 1, 2, 3])), 0);
  // Exactly independent: every cell is ai·bj/n, so MI is exactly 0; ARI: together 0, in a 2, in b 2,
  // all 6 → expected 2/3, max 2 → (0 − 2/3)/(4/3) = −1/2 (below chance).
  assert.equal(nmi(L([0, 0, 1, 1]), L([0, 1, 0, 1])), 0);
  close(adjustedRandIndex(L([0, 0, 1, 1]), L([0, 1, 0, 1])), -0.5);
});

test('identical partitions up to relabelling score 1 everywhere', () => {
  const a = L([5, 5, 9, 9, 9, 2, 7, 7]);
  const b = L([-40, -40, 1e9, 1e9, 1e9, 0, 3, 3]);
  assert.equal(nmi(a, b), 1);
  assert.equal(adjustedRandIndex(a, b), 1);
  const p = pairPrecisionRecall(a, b);
  assert.deepEqual([p.precision, p.recall, p.f1], [1, 1, 1]);
});

test('limit cases: no items, one cluster each, all singletons each, one side all singletons', () => {
  const none = new Int32Array(0);
  assert.equal(nmi(none, none), 1);
  assert.equal(adjustedRandIndex(none, none), 1);
  const one = L([4, 4, 4]);
  assert.equal(nmi(one, L([1, 1, 1])), 1);
  assert.equal(adjustedRandIndex(one, L([1, 1, 1])), 1);
  const singles = L([0, 1, 2]);
  assert.equal(nmi(singles, L([9, 8, 7])), 1);
  assert.equal(adjustedRandIndex(singles, L([9, 8, 7])), 1);
  assert.deepEqual(pairPrecisionRecall(singles, L([9, 8, 7])), {
    truePairs: 0,
    predictedPairs: 0,
    referencePairs: 0,
    precision: 1,
    recall: 1,
    f1: 1,
  });
  // a claims no pairs while b has 3: precision has nothing to count (0 by convention), recall 0.
  const p = pairPrecisionRecall(singles, one);
  assert.deepEqual([p.precision, p.recall, p.f1], [0, 0, 0]);
  assert.equal(nmi(singles, one), 0);
  assert.equal(adjustedRandIndex(singles, one), 0);
});

test('unassigned (−1) handling in each mode, with sparse large labels (values from numpy)', () => {
  const a = L([
    7, 7, 7, 7, 2147483647, 2147483647, 2147483647, -1, -1, 1000000, 1000000, 1000000, -2147483648,
    -2147483648, -1, 7, -1, 1000000, 2147483647, -2147483648,
  ]);
  const b = L([3, 3, 3, -1, 9, 9, 9, 9, -1, 5, 5, 5, 5, -1, -1, 3, 4, 4, 9, 4]);
  // Expected values from an independent numpy implementation (dense contingency matrix, sklearn formulas,
  // ARI in sklearn's pair-confusion form).
  const want: Record<
    UnassignedMode,
    { n: number; nmi: number; ari: number; tp: number; inA: number; f1: number }
  > = {
    'own-cluster': {
      n: 20,
      nmi: 0.6177968591902612,
      ari: 0.4217894096165551,
      tp: 16,
      inA: 31,
      f1: 0.5161290322580645,
    },
    singleton: { n: 20, nmi: 0.7853010098827382, ari: 0.5393939393939394, tp: 15, inA: 25, f1: 0.6 },
    drop: {
      n: 14,
      nmi: 0.8078922290335706,
      ari: 0.7339181286549707,
      tp: 15,
      inA: 19,
      f1: 0.7894736842105263,
    },
  };
  for (const mode of Object.keys(want) as UnassignedMode[]) {
    const w = want[mode];
    const got = clusteringAgreement(a, b, { unassigned: mode });
    assert.equal(got.n, w.n, mode);
    close(got.nmi, w.nmi, `${mode} nmi`);
    close(got.ari, w.ari, `${mode} ari`);
    assert.equal(got.pairs.truePairs, w.tp, mode);
    assert.equal(got.pairs.predictedPairs, w.inA, mode);
    close(got.pairs.f1, w.f1, `${mode} f1`);
    assert.equal(nmi(a, b, { unassigned: mode }), got.nmi);
    assert.equal(adjustedRandIndex(a, b, { unassigned: mode }), got.ari);
  }
  close(nmi(a, b), want['own-cluster'].nmi, "'own-cluster' is the default");
  const drop = clusteringAgreement(a, b, { unassigned: 'drop' });
  assert.deepEqual([drop.clustersA, drop.clustersB], [4, 4]);
  const single = clusteringAgreement(a, b, { unassigned: 'singleton' });
  assert.deepEqual([single.clustersA, single.clustersB], [4 + 4, 4 + 4], 'each −1 becomes a cluster');
});

/** O(n²) reference: count pairs directly, and NMI from a Map-based contingency table. */
function reference(a: Int32Array, b: Int32Array) {
  const n = a.length;
  let together = 0;
  let inA = 0;
  let inB = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const sa = a[i] === a[j];
      const sb = b[i] === b[j];
      if (sa) inA++;
      if (sb) inB++;
      if (sa && sb) together++;
    }
  const all = (n * (n - 1)) / 2;
  const expected = (inA * inB) / all;
  const ari = (together - expected) / ((inA + inB) / 2 - expected);
  const count = (keys: string[]) => {
    const m = new Map<string, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const ca = count(Array.from(a, String));
  const cb = count(Array.from(b, String));
  const cab = count(Array.from(a, (x, i) => `${x}|${b[i]}`));
  const h = (m: Map<string, number>) => [...m.values()].reduce((s, c) => s - (c / n) * Math.log(c / n), 0);
  let mi = 0;
  for (const [k, c] of cab) {
    const [x, y] = k.split('|');
    mi += (c / n) * Math.log(c / n / ((ca.get(x)! / n) * (cb.get(y)! / n)));
  }
  return { together, inA, inB, ari, nmi: mi / ((h(ca) + h(cb)) / 2) };
}

test('matches brute-force pair counting and a Map-based NMI on seeded random partitions', () => {
  const rng = new Rng(17);
  for (let trial = 0; trial < 30; trial++) {
    const n = 20 + rng.int(150);
    const ka = 2 + rng.int(8);
    const kb = 2 + rng.int(8);
    // b is a noisy copy of a, so agreement ranges from strong to weak across trials.
    const noise = rng.next();
    const a = Int32Array.from({ length: n }, () => rng.int(ka) * 1000003);
    const b = Int32Array.from(a, (x) => (rng.next() < noise ? rng.int(kb) : (x / 1000003) % kb));
    const ref = reference(a, b);
    const got = clusteringAgreement(a, b);
    assert.equal(got.pairs.truePairs, ref.together);
    assert.equal(got.pairs.predictedPairs, ref.inA);
    assert.equal(got.pairs.referencePairs, ref.inB);
    close(got.ari, ref.ari, `trial ${trial} ari`);
    assert.ok(Math.abs(got.nmi - ref.nmi) < 1e-9, `trial ${trial} nmi ${got.nmi} vs ${ref.nmi}`);
    close(nmi(b, a), got.nmi, 'nmi is symmetric');
    close(adjustedRandIndex(b, a), got.ari, 'ari is symmetric');
  }
});

test('independent random partitions score near 0; many distinct labels grow the hash tables', () => {
  const rng = new Rng(99);
  const n = 100_000;
  const a = Int32Array.from({ length: n }, () => rng.int(20));
  const b = Int32Array.from({ length: n }, () => rng.int(20));
  // Finite-sample MI bias is about (20−1)²/(2n) ≈ 0.002 nats against entropies ≈ ln 20 ≈ 3.
  assert.ok(nmi(a, b) < 0.005, `nmi ${nmi(a, b)}`);
  assert.ok(Math.abs(adjustedRandIndex(a, b)) < 0.005);
  const many = Int32Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 40_000);
  const relabelled = Int32Array.from(many, (x) => -3 - 2 * x);
  assert.equal(nmi(many, relabelled), 1);
  assert.equal(adjustedRandIndex(many, relabelled), 1);
  assert.equal(clusteringAgreement(many, relabelled).clustersA, 40_000);
});

test('bad input: partitions of different lengths, unknown unassigned mode', () => {
  assert.throws(
    () => nmi(L([0, 1]), L([0])),
    (e: unknown) => e instanceof SimrecError && e.code === 'INTERNAL',
  );
  assert.throws(
    () => adjustedRandIndex(L([0]), L([0]), { unassigned: 'ignore' as UnassignedMode }),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
});
