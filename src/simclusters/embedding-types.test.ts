import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import {
  ACTION_POSITIVE,
  ACTION_UNFAV,
  CsrRowWriter,
  decayFactor,
  type EngagementLog,
  eventAfter,
  pairFav,
  resolveNow,
  selectFirst,
} from './embedding-types.ts';

test('selectFirst keeps exactly the k first under the order, on random data with ties', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(60);
    const k = rng.int(70);
    const key = Float64Array.from({ length: n }, () => rng.int(8)); // many ties, broken by id
    const cmp = (a: number, b: number): number => key[b] - key[a] || a - b;
    const ids = Int32Array.from({ length: n }, (_, i) => i);
    rng.shuffle(ids);
    const m = selectFirst(ids, n, k, cmp);
    assert.equal(m, Math.min(n, k));
    const expected = Array.from({ length: n }, (_, i) => i)
      .sort(cmp)
      .slice(0, m)
      .sort((a, b) => a - b);
    assert.deepEqual(
      Array.from(ids.subarray(0, m)).sort((a, b) => a - b),
      expected,
    );
  }
});

test('decayFactor halves per half-life, ignores unknown or negative gaps and a null half-life', () => {
  assert.equal(decayFactor(3600, 3600), 0.5);
  assert.equal(decayFactor(7200, 3600), 0.25);
  assert.equal(decayFactor(0, 3600), 1);
  assert.equal(decayFactor(-5, 3600), 1);
  assert.equal(decayFactor(Number.NaN, 3600), 1);
  assert.equal(decayFactor(1e9, null), 1);
});

test('eventAfter orders by time (unknown first), then by log position', () => {
  assert.ok(eventAfter(10, 0, 5, 9));
  assert.ok(eventAfter(5, 3, 5, 2));
  assert.ok(!eventAfter(5, 2, 5, 3));
  assert.ok(eventAfter(0, 0, Number.NaN, 7));
  assert.ok(eventAfter(Number.NaN, 2, Number.NaN, 1));
});

function oneUserLog(events: [number, number, number][]): EngagementLog {
  // One user, one item: (weight, ts, action) in log order.
  const n = events.length;
  return {
    matrix: new CsrMatrix(
      1,
      1,
      Int32Array.from([0, n]),
      new Int32Array(n),
      Float32Array.from(events, (e) => e[0]),
    ),
    ts: Float64Array.from(events, (e) => e[1]),
    action: Uint8Array.from(events, (e) => e[2]),
  };
}

test('pairFav: positives after the last unfav, decayed to now; later events ignored', () => {
  const h = 100;
  // fav 2 at t=0, unfav at 50, fav 3 at 100, fav 1 at 300 (after now = 200).
  // Only the fav at 100 survives: 3 · 2^(−(200−100)/100) = 1.5.
  const log = oneUserLog([
    [2, 0, ACTION_POSITIVE],
    [1, 50, ACTION_UNFAV],
    [3, 100, ACTION_POSITIVE],
    [1, 300, ACTION_POSITIVE],
  ]);
  assert.equal(pairFav(log, 0, 4, 200, h), 1.5);
  // The unfav listed first in the log but later in time still cancels the fav before it.
  const swapped = oneUserLog([
    [1, 50, ACTION_UNFAV],
    [2, 0, ACTION_POSITIVE],
  ]);
  assert.equal(pairFav(swapped, 0, 2, 200, h), 0);
  // Same time: log position decides. fav then unfav → 0; unfav then fav → the fav counts.
  assert.equal(
    pairFav(
      oneUserLog([
        [2, 7, ACTION_POSITIVE],
        [1, 7, ACTION_UNFAV],
      ]),
      0,
      2,
      7,
      h,
    ),
    0,
  );
  assert.equal(
    pairFav(
      oneUserLog([
        [1, 7, ACTION_UNFAV],
        [2, 7, ACTION_POSITIVE],
      ]),
      0,
      2,
      7,
      h,
    ),
    2,
  );
  assert.equal(resolveNow(log, null), 300);
  assert.equal(resolveNow(log, 42), 42);
  assert.ok(Number.isNaN(resolveNow(oneUserLog([[1, Number.NaN, ACTION_POSITIVE]]), null)));
});

test('CsrRowWriter grows and keeps parallel value arrays aligned', () => {
  const w = new CsrRowWriter(3, 100, 1, 2);
  for (let r = 0; r < 2; r++) {
    w.ensure(40);
    for (let j = 0; j < 40; j++) {
      w.indices[w.nnz] = j;
      w.values[0][w.nnz] = r * 100 + j;
      w.values[1][w.nnz] = -j;
      w.nnz++;
    }
    w.endRow();
  }
  const [a, b] = w.finishAll();
  assert.deepEqual(Array.from(a.indptr), [0, 40, 80, 80]);
  assert.equal(a.get(1, 39), 139);
  assert.equal(b.get(1, 39), -39);
  assert.equal(a.indices, b.indices);
});
