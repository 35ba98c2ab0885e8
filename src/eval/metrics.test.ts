import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { itemPopularity, normalizeKs, RankingEvaluator, SampledEvaluator } from './metrics.ts';

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);
const L3 = 1 / Math.log2(3);
const L4 = 1 / Math.log2(4);
const L5 = 1 / Math.log2(5);
const L6 = 1 / Math.log2(6);

test('hand-computed ranking: train positive excluded, every metric at k = 1, 3, 5', () => {
  const ev = new RankingEvaluator(6, [5, 1, 3, 3]);
  assert.deepEqual(ev.ks, [1, 3, 5]);
  // Ranked (item 0 excluded): 1, 2*, 3, 4, 5*.
  const scores = Float32Array.from([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]);
  assert.equal(ev.addUser(scores, [0], [2, 5]), true);
  const u = ev.user;
  assert.deepEqual([...u.top.subarray(0, u.topLength)], [1, 2, 3, 4, 5]);
  assert.deepEqual([...u.hits], [0, 1, 2]);
  assert.deepEqual([...u.precision], [0, 1 / 3, 2 / 5]);
  assert.deepEqual([...u.recall], [0, 0.5, 1]);
  close(u.ndcg[0], 0);
  close(u.ndcg[1], L3 / (1 + L3));
  close(u.ndcg[2], (L3 + L6) / (1 + L3));
  close(u.map[0], 0);
  close(u.map[1], 0.5 / 2);
  close(u.map[2], (1 / 2 + 2 / 5) / 2);
  assert.deepEqual([...u.hitRate], [0, 1, 1]);
  // Negatives 1 (0.8), 3 (0.6), 4 (0.5) against positives 0.7 and 0.4: 2 of 6 pairs won.
  assert.equal(u.nNegatives, 3);
  close(u.auc, 2 / 6);
});

test('ties rank by item index and count ½ in the AUC', () => {
  const ev = new RankingEvaluator(4, [1, 2, 4]);
  ev.addUser(Float32Array.from([0.5, 0.7, 0.5, 0.5]), [], [2]);
  // 1 (0.7), then the tied 0, 2, 3 by index.
  assert.deepEqual([...ev.user.top], [1, 0, 2, 3]);
  assert.deepEqual([...ev.user.hits], [0, 0, 1]);
  close(ev.user.ndcg[2], L4);
  // Negatives: 0 tie, 1 loss, 3 tie → 1 − (1 + ½·2)/3.
  close(ev.user.auc, 1 / 3);

  const allTied = new RankingEvaluator(4, [4]);
  allTied.addUser(new Float32Array(4).fill(1), [], [3]);
  close(allTied.user.precision[0], 1 / 4);
  close(allTied.user.ndcg[0], L5);
  close(allTied.user.auc, 0.5);
});

test('users without test positives are not evaluated; averages, coverage and popularity', () => {
  const pop = Float64Array.from([0.5, 0.25, 0, 1]);
  const ev = new RankingEvaluator(4, [1, 2], pop);
  assert.equal(ev.addUser(Float32Array.from([4, 3, 2, 1]), [0], []), false);
  ev.addUser(Float32Array.from([4, 3, 2, 1]), [], [1]); // list 0, 1*, 2, 3
  ev.addUser(Float32Array.from([1, 2, 3, 4]), [3], [0, 2]); // list 2*, 1, 0*
  const s = ev.summary();
  assert.equal(s.users, 2);
  assert.deepEqual(s.ks, [1, 2]);
  close(s.precision[0], (0 + 1) / 2);
  close(s.precision[1], (1 / 2 + 1 / 2) / 2);
  close(s.recall[0], (0 + 1 / 2) / 2);
  close(s.recall[1], (1 + 1 / 2) / 2);
  close(s.hitRate[0], 1 / 2);
  close(s.hitRate[1], 1);
  // AP@2: user 1: hit at rank 2 → (1/2)/1; user 2: hit at rank 1 → 1/min(2,2).
  close(s.map[1], (1 / 2 + 1 / 2) / 2);
  // NDCG@2: user 1: L3/1; user 2: 1/(1 + L3).
  close(s.ndcg[1], (L3 + 1 / (1 + L3)) / 2);
  // Top-1 lists {0}, {2}; top-2 lists {0,1}, {2,1}.
  assert.deepEqual(s.coverage, [2 / 4, 3 / 4]);
  close(s.popularity[0], (0.5 + 0) / 2);
  close(s.popularity[1], ((0.5 + 0.25) / 2 + (0 + 0.25) / 2) / 2);
  // AUC: user 1: 1 positive (3) vs 3 negatives, beaten by 0 only → 2/3; user 2: positives 1, 3 vs negative 2 → 1/2.
  close(s.auc, (2 / 3 + 1 / 2) / 2);
  assert.equal(s.invalidScores, 0);
});

test('a short list still divides precision by k; NaN scores rank last and are counted', () => {
  const ev = new RankingEvaluator(3, [5]);
  ev.addUser(Float32Array.from([Number.NaN, 1, 2]), [2], [0]);
  assert.deepEqual([...ev.user.top.subarray(0, ev.user.topLength)], [1, 0]);
  close(ev.user.precision[0], 1 / 5);
  close(ev.user.recall[0], 1);
  close(ev.user.map[0], 1 / 2);
  close(ev.user.auc, 0);
  assert.equal(ev.summary().invalidScores, 1);
  // Only test positives left: no negative, AUC ½.
  const none = new RankingEvaluator(2, [1]);
  none.addUser(Float32Array.from([1, 2]), [0], [1]);
  close(none.user.auc, 0.5);
  assert.equal(none.user.nNegatives, 0);
});

test('bad input is refused', () => {
  const ev = new RankingEvaluator(3, [1]);
  assert.throws(() => ev.addUser(new Float32Array(2), [], [0]), SimrecError);
  assert.throws(() => ev.addUser(new Float32Array(3), [1], [1]), /both a train and a test/);
  for (const ks of [[], [0], [1.5], [-2]]) assert.throws(() => normalizeKs(ks), { code: 'CONFIG_INVALID' });
});

/** Reference metrics by full sort and pairwise AUC, straight from the definitions. */
function reference(scores: Float32Array, train: Set<number>, test: Set<number>, k: number) {
  const cand = [...scores.keys()].filter((i) => !train.has(i));
  cand.sort((a, b) => scores[b] - scores[a] || a - b);
  const list = cand.slice(0, k);
  let hits = 0;
  let dcg = 0;
  let ap = 0;
  list.forEach((item, j) => {
    if (!test.has(item)) return;
    hits++;
    dcg += 1 / Math.log2(j + 2);
    ap += hits / (j + 1);
  });
  let idcg = 0;
  for (let j = 0; j < Math.min(k, test.size); j++) idcg += 1 / Math.log2(j + 2);
  let wins = 0;
  let pairs = 0;
  for (const p of test) {
    for (const n of cand) {
      if (test.has(n)) continue;
      pairs++;
      wins += scores[p] > scores[n] ? 1 : scores[p] === scores[n] ? 0.5 : 0;
    }
  }
  return {
    precision: hits / k,
    recall: hits / test.size,
    ndcg: dcg / idcg,
    map: ap / Math.min(k, test.size),
    auc: pairs > 0 ? wins / pairs : 0.5,
  };
}

test('random users with many ties agree with a sort-based reference', () => {
  const rng = new Rng(7);
  const n = 40;
  const ks = [1, 3, 10, 50];
  const ev = new RankingEvaluator(n, ks);
  for (let trial = 0; trial < 200; trial++) {
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) scores[i] = rng.int(6); // few distinct values: ties everywhere
    const perm = rng.permutation(n);
    const nTrain = rng.int(10);
    const nTest = 1 + rng.int(8);
    const train = [...perm.subarray(0, nTrain)].sort((a, b) => a - b);
    const testItems = [...perm.subarray(nTrain, nTrain + nTest)].sort((a, b) => a - b);
    const copy = scores.slice();
    ev.addUser(copy, train, testItems);
    ks.forEach((k, q) => {
      const r = reference(scores, new Set(train), new Set(testItems), k);
      close(ev.user.precision[q], r.precision, `precision@${k}`);
      close(ev.user.recall[q], r.recall, `recall@${k}`);
      close(ev.user.ndcg[q], r.ndcg, `ndcg@${k}`);
      close(ev.user.map[q], r.map, `map@${k}`);
      close(ev.user.auc, r.auc, 'auc');
    });
  }
});

test('item popularity is the share of training users with the item', () => {
  const train = {
    nRows: 3,
    nCols: 3,
    indptr: Int32Array.from([0, 2, 2, 3]),
    indices: Int32Array.from([0, 2, 2]),
  };
  assert.deepEqual([...itemPopularity(train)], [0.5, 0, 1]);
});

test('sampled protocol: all candidates when fewer than the sample size remain, hand-computed', () => {
  const ev = new SampledEvaluator(6, [1, 3], 100, 1);
  // Candidates for user 0: 1, 2, 3 (0 is train, 4 and 5 are test).
  const scores = Float32Array.from([9, 0.5, 0.7, 0.6, 0.6, 0.1]);
  ev.addUser(0, scores, [0], [4, 5]);
  assert.deepEqual([...ev.lastSample].sort(), [1, 2, 3]);
  // Positive 4 (0.6): above it 2 (0.7) and the tied 3, whose index is smaller → rank 2. Positive 5 (0.1): rank 3.
  const s = ev.summary();
  assert.equal(s.users, 1);
  assert.deepEqual(s.hitRate, [0, 1 / 2]);
  close(s.ndcg[0], 0);
  close(s.ndcg[1], L4 / 2);
  // AUC: positive 4 beats 1 and ties 3 → 1.5/3; positive 5 beats nothing.
  close(s.auc, (1.5 / 3 + 0) / 2);
  close(s.mrr, (1 / 3 + 1 / 4) / 2);
});

test('sampled negatives are distinct, never the user positives, and the same for every model', () => {
  const n = 500;
  const train = Array.from({ length: 40 }, (_, i) => i * 3);
  const testItems = [1, 4, 7];
  const draw = (scores: Float32Array) => {
    const ev = new SampledEvaluator(n, [10], 100, 99);
    const samples: number[][] = [];
    for (const t of testItems) {
      ev.addUser(5, scores, train, [t]);
      samples.push([...ev.lastSample]);
    }
    return { samples, summary: ev.summary() };
  };
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) scores[i] = (i * 7919) % 101;
  const a = draw(scores);
  const b = draw(new Float32Array(n));
  assert.deepEqual(a.samples, b.samples);
  const excluded = new Set([...train, ...testItems]);
  for (const s of a.samples) {
    assert.equal(s.length, 100);
    assert.equal(new Set(s).size, 100);
    for (const i of s) assert.ok(!excluded.has(i) && i >= 0 && i < n);
  }
  // The pool path (few candidates left) also draws distinct candidates.
  const ev = new SampledEvaluator(150, [1], 100, 3);
  const big = Array.from({ length: 40 }, (_, i) => i);
  ev.addUser(0, new Float32Array(150), big, [149]);
  const s = [...ev.lastSample];
  assert.equal(new Set(s).size, 100);
  for (const i of s) assert.ok(i >= 40 && i < 149);
  // Train items scored highest never outrank the positive: they are never sampled.
  const rig = new Float32Array(n);
  for (const i of train) rig[i] = 100;
  for (const t of testItems) rig[t] = 50;
  const ev2 = new SampledEvaluator(n, [1], 100, 5);
  ev2.addUser(0, rig, train, testItems);
  assert.deepEqual(ev2.summary().hitRate, [1]);
});

test('a served list is measured like the top of a score vector, without an AUC', () => {
  // Catalogue of 6, k = 2 and 4; the user's test positives are 1 and 4; the list served is [4, 0, 1].
  const ev = new RankingEvaluator(6, [2, 4]);
  assert.equal(ev.addList(Int32Array.of(4, 0, 1), [1, 4]), true);
  const u = ev.user;
  assert.deepEqual([...u.precision], [1 / 2, 2 / 4]);
  assert.deepEqual([...u.recall], [1 / 2, 1]);
  const idcg2 = 1 + 1 / Math.log2(3);
  assert.ok(Math.abs(u.ndcg[0] - 1 / idcg2) < 1e-12);
  assert.ok(Math.abs(u.ndcg[1] - (1 + 1 / Math.log2(4)) / idcg2) < 1e-12);
  // The same ranking as scores gives the same list metrics (and an AUC).
  const scored = new RankingEvaluator(6, [2, 4]);
  scored.addUser(Float32Array.of(0.8, 0.5, 0, 0, 0.9, 0), [], [1, 4]);
  assert.deepEqual([...scored.user.precision], [...u.precision]);
  assert.deepEqual([...scored.user.ndcg], [...u.ndcg]);
  assert.ok(Number.isNaN(ev.summary().auc));
  assert.equal(ev.summary().users, 1);
  // An empty list is all misses; a user without test positives is not counted.
  assert.equal(ev.addList(new Int32Array(0), [3]), true);
  assert.equal(ev.addList(Int32Array.of(3), []), false);
  assert.deepEqual(ev.summary().precision, [1 / 4, 1 / 4]);
  assert.throws(() => ev.addList(Int32Array.of(9), [1]), { code: 'INTERNAL' });
});
