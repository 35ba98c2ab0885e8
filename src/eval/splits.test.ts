import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import type { Interactions } from '../data/positives.ts';
import { countOverlap, interactionsFromPairs, type TrainTest } from './interactions.ts';
import {
  leaveOneOutSplit,
  randomSplit,
  SPLIT_KINDS,
  splitInteractions,
  temporalSplit,
  userHoldoutSplit,
} from './splits.ts';

/** 60 users × 50 items, 0–20 positives each, integer times with repeats (ties). */
function data(seed = 1, withTimes = true): Interactions {
  const rng = new Rng(seed);
  const users: number[] = [];
  const items: number[] = [];
  const ts: number[] = [];
  for (let u = 0; u < 60; u++) {
    const n = rng.int(21);
    const perm = rng.permutation(50);
    for (let j = 0; j < n; j++) {
      users.push(u);
      items.push(perm[j]);
      ts.push(withTimes ? 1000 + rng.int(40) : Number.NaN);
    }
  }
  return interactionsFromPairs(
    60,
    50,
    users,
    items,
    items.map((i) => 1 + (i % 3)),
    ts,
  );
}

type Pair = string;
function pairSet(x: Interactions): Map<Pair, [number, number]> {
  const out = new Map<Pair, [number, number]>();
  const m = x.matrix;
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++)
      out.set(`${u}:${m.indices[k]}`, [m.values![k], x.ts[k]]);
  return out;
}

/** Train and test partition the input exactly: disjoint, together everything, weights and times intact. */
function assertPartition(x: Interactions, s: TrainTest): void {
  assert.equal(countOverlap(s.train.matrix, s.test.matrix), 0);
  const all = pairSet(x);
  const tr = pairSet(s.train);
  const te = pairSet(s.test);
  assert.equal(tr.size + te.size, all.size);
  for (const [key, v] of [...tr, ...te]) assert.deepEqual(v, all.get(key), key);
  for (const y of [s.train, s.test]) {
    assert.equal(y.matrix.nRows, x.matrix.nRows);
    assert.equal(y.matrix.nCols, x.matrix.nCols);
  }
}

function rowCounts(x: Interactions): number[] {
  return Array.from({ length: x.matrix.nRows }, (_, u) => x.matrix.rowNnz(u));
}

test('every split is a partition of the positives, deterministic per seed', () => {
  const x = data();
  for (const kind of SPLIT_KINDS) {
    const a = splitInteractions(x, kind, { seed: 3 });
    assertPartition(x, a);
    const b = splitInteractions(x, kind, { seed: 3 });
    assert.deepEqual(pairSet(a.test), pairSet(b.test), kind);
    assert.ok(a.test.matrix.nnz > 0, kind);
  }
});

test('random: ⌊0.8·n⌋ pairs train, the rest test, a different draw per seed', () => {
  const x = data();
  const n = x.matrix.nnz;
  const s = randomSplit(x, { seed: 42, testFraction: 0.2 });
  assert.equal(s.train.matrix.nnz, Math.floor(0.8 * n));
  assert.equal(s.test.matrix.nnz, n - Math.floor(0.8 * n));
  const other = randomSplit(x, { seed: 43 });
  assert.notDeepEqual(pairSet(s.test), pairSet(other.test));
  assert.throws(() => randomSplit(x, { testFraction: 1 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => randomSplit(x, { testFraction: 0 }), { code: 'CONFIG_INVALID' });
});

test('user holdout: round(f·n) of each user with ≥ 2 positives, at least 1, never all', () => {
  const x = data();
  const s = userHoldoutSplit(x, { seed: 5, testFraction: 0.3 });
  const all = rowCounts(x);
  const te = rowCounts(s.test);
  const tr = rowCounts(s.train);
  all.forEach((n, u) => {
    const expected = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(0.3 * n)));
    assert.equal(te[u], expected, `user ${u} of ${n}`);
    assert.equal(tr[u], n - expected);
  });
});

test('temporal: every train time is before every test time; an explicit cut is exact', () => {
  const x = data();
  const s = temporalSplit(x, { testFraction: 0.25 });
  const maxTrain = Math.max(...s.train.ts);
  const minTest = Math.min(...s.test.ts);
  assert.ok(maxTrain < minTest);
  // Ties at the cut go to test, so test holds at least the fraction asked for.
  assert.ok(s.test.matrix.nnz >= 0.25 * x.matrix.nnz);
  const cut = temporalSplit(x, { time: 1020 });
  assert.ok(Math.max(...cut.train.ts) < 1020);
  assert.ok(Math.min(...cut.test.ts) >= 1020);
  let expected = 0;
  for (const t of x.ts) if (t >= 1020) expected++;
  assert.equal(cut.test.matrix.nnz, expected);
  assert.throws(() => temporalSplit(data(1, false)), { code: 'CONFIG_INVALID', message: /needs a time/ });
});

test('leave-one-out: one latest positive per user with ≥ 2; ties and unknown times chosen by seed', () => {
  const x = data();
  const s = leaveOneOutSplit(x, { seed: 9 });
  const all = rowCounts(x);
  const m = x.matrix;
  for (let u = 0; u < m.nRows; u++) {
    const te = s.test.matrix;
    assert.equal(te.rowNnz(u), all[u] >= 2 ? 1 : 0);
    if (all[u] < 2) continue;
    const latest = Math.max(...x.ts.subarray(m.indptr[u], m.indptr[u + 1]));
    assert.equal(s.test.ts[te.indptr[u]], latest);
  }
  // Two positives at the same time: each is held out under some seed.
  const tie = interactionsFromPairs(1, 3, [0, 0, 0], [0, 1, 2], null, [5, 9, 9]);
  const chosen = new Set<number>();
  for (let seed = 0; seed < 30; seed++) chosen.add(leaveOneOutSplit(tie, { seed }).test.matrix.indices[0]);
  assert.deepEqual([...chosen].sort(), [1, 2]);
  // Without times: one positive per user, at random.
  const noTime = data(2, false);
  const t = leaveOneOutSplit(noTime, { seed: 1 });
  assertPartition(noTime, t);
  const counts = rowCounts(noTime);
  for (let u = 0; u < counts.length; u++) assert.equal(t.test.matrix.rowNnz(u), counts[u] >= 2 ? 1 : 0);
});
