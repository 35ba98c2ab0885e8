import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { auc, calibration, listQuality, logloss } from './metrics.ts';

function bruteAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j]) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('logloss by hand', () => {
  // −(ln 0.8 + ln(1 − 0.4) + ln 0.5) / 3
  const want = -(Math.log(0.8) + Math.log(0.6) + Math.log(0.5)) / 3;
  assert.ok(Math.abs(logloss([1, 0, 1], [0.8, 0.4, 0.5]) - want) < 1e-12);
  // Weighted: the second example counts twice.
  const w = -(Math.log(0.8) + 2 * Math.log(0.6)) / 3;
  assert.ok(Math.abs(logloss([1, 0], [0.8, 0.4], [1, 2]) - w) < 1e-12);
  // A confident mistake is clipped, not infinite.
  assert.ok(Math.abs(logloss([1], [0]) - -Math.log(1e-15)) < 1e-9);
  assert.ok(Number.isNaN(logloss([], [])));
});

test('AUC by hand: perfect, reversed, all tied, and one mixed case', () => {
  assert.equal(auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1);
  assert.equal(auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0);
  assert.equal(auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  // Positives 0.8, 0.4; negatives 0.6, 0.4, 0.1: pairs 0.8>all (3), 0.4>0.1 (1), 0.4=0.4 (½) → 4.5 / 6.
  assert.equal(auc([1, 0, 1, 0, 0], [0.8, 0.6, 0.4, 0.4, 0.1]), 0.75);
  assert.ok(Number.isNaN(auc([1, 1], [0.2, 0.3])));
});

test('AUC with average ranks equals the brute-force pairwise count on random inputs with many ties', () => {
  const rng = new Rng(5);
  for (let t = 0; t < 50; t++) {
    const n = 2 + rng.int(40);
    const labels = Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    const scores = Array.from({ length: n }, () => rng.int(6) / 5);
    assert.ok(Math.abs(auc(labels, scores) - bruteAuc(labels, scores)) < 1e-12, `trial ${t}`);
  }
});

test('calibration: the reliability table and ECE by hand', () => {
  // Bins of width 0.5: [0, .5) holds 0.1, 0.2, 0.3 with one positive; [.5, 1] holds 0.9 and 1.0, both positive.
  const c = calibration([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.9, 1.0], 2);
  assert.equal(c.table.length, 2);
  assert.deepEqual(
    c.table.map((b) => [b.lower, b.upper, b.count]),
    [
      [0, 0.5, 3],
      [0.5, 1, 2],
    ],
  );
  assert.ok(Math.abs((c.table[0].meanPredicted ?? 0) - 0.2) < 1e-12);
  assert.ok(Math.abs((c.table[0].observedRate ?? 0) - 1 / 3) < 1e-12);
  assert.ok(Math.abs((c.table[1].meanPredicted ?? 0) - 0.95) < 1e-12);
  assert.equal(c.table[1].observedRate, 1);
  // ECE = 3/5·|0.2 − 1/3| + 2/5·|0.95 − 1| = 0.08 + 0.02
  assert.ok(Math.abs(c.ece - 0.1) < 1e-12);
  assert.ok(Math.abs(c.mce - 2 / 15) < 1e-12);
  const empty = calibration([1], [0.05], 4);
  assert.deepEqual(empty.table[3], {
    lower: 0.75,
    upper: 1,
    count: 0,
    meanPredicted: null,
    observedRate: null,
  });
});

test('calibrated predictions have a small ECE, shifted ones a large one', () => {
  const rng = new Rng(9);
  const n = 20000;
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = rng.next();
    y[i] = rng.next() < p[i] ? 1 : 0;
  }
  assert.ok(calibration(y, p).ece < 0.02);
  const shifted = p.map((v) => Math.min(1, v + 0.2));
  assert.ok(calibration(y, shifted).ece > 0.15);
});

test('bad inputs are refused with a coded error', () => {
  assert.throws(() => auc([1, 0], [0.5]), { code: 'INTERNAL' });
  assert.throws(() => logloss([1], [Number.NaN]), { code: 'INTERNAL' });
  assert.throws(() => calibration([1], [1.5]), { code: 'INTERNAL' });
  assert.throws(() => calibration([1], [0.5], 0), { code: 'CONFIG_INVALID' });
});

test('listQuality by hand: ranked per group, unlisted left out, the ideal over every relevant item', () => {
  const L = 1 / Math.log2(3);
  // Group 0: ranked e0 (miss), e1 (hit), e2 (hit); k = 2 sees one hit at rank 2 of 2 relevant.
  // Group 1: e3 is relevant but unlisted (−∞), e4 misses; 3 relevant in all: NDCG 0.
  // Group 2: no relevant item: skipped.
  const q = listQuality(
    [0, 3, 5, 6],
    [0, 1, 1, 1, 0, 0],
    [3, 2, 1, Number.NEGATIVE_INFINITY, 5, 1],
    [2, 3, 0],
    2,
  );
  assert.equal(q.groups, 2);
  assert.ok(Math.abs(q.ndcg - (L / (1 + L) + 0) / 2) < 1e-12);
  assert.equal(q.precision, (1 / 2 + 0) / 2);
  // Tied scores are ordered by the tie-break, smaller first (serving's item index).
  const tied = (tb: number[]) => listQuality([0, 2], [0, 1], [1, 1], [1], 1, tb).ndcg;
  assert.equal(tied([5, 4]), 1);
  assert.equal(tied([4, 5]), 0);
  assert.throws(() => listQuality([0, 1], [1], [Number.NaN], [1], 1), /NaN/);
});
