import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type Engagements } from './dataset.ts';
import { type Interactions, positivesFromEngagements } from './positives.ts';

const P = ACTION_POSITIVE;
const U = ACTION_UNFAV;

/** An engagement log from rows [user, item, weight, ts, action], stored as the loader stores it. */
function log(nUsers: number, nItems: number, rows: [number, number, number, number, number][]): Engagements {
  const order = rows
    .map((r, k) => ({ r, k }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.k - b.k)
    .map((x) => x.r);
  const indptr = new Int32Array(nUsers + 1);
  for (const r of order) indptr[r[0] + 1]++;
  for (let u = 0; u < nUsers; u++) indptr[u + 1] += indptr[u];
  return {
    matrix: new CsrMatrix(
      nUsers,
      nItems,
      indptr,
      Int32Array.from(order, (r) => r[1]),
      Float32Array.from(order, (r) => r[2]),
    ),
    ts: Float64Array.from(order, (r) => r[3]),
    action: Uint8Array.from(order, (r) => r[4]),
  };
}

function pairs(x: Interactions): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  const m = x.matrix;
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) out.push([u, m.indices[k], m.values![k], x.ts[k]]);
  return out;
}

test('positives: an unfav cancels earlier favs, a later fav counts again, light events do not count', () => {
  const NaN_ = Number.NaN;
  const e = log(3, 4, [
    [0, 0, 1, 10, P],
    [0, 0, 1, 20, U], // fav then unfav: not positive
    [0, 1, 1, 10, P],
    [0, 1, 1, 20, U],
    [0, 1, 2, 30, P], // re-fav after the unfav: positive, weight 2, ts 30
    [0, 2, 5, 40, P],
    [0, 2, 3, 50, P], // two favs: weight 8, latest ts 50
    [1, 3, 1, NaN_, P], // unknown time: positive, ts unknown
    [1, 0, 2, 5, P],
    [1, 0, 1, NaN_, U], // unknown-time unfav sorts first: it undoes nothing after it
    [2, 1, 0.5, 7, P], // below minWeight 1
    [2, 2, 4, 8, P],
  ]);
  const all = positivesFromEngagements(e);
  assert.deepEqual(pairs(all), [
    [0, 1, 2, 30],
    [0, 2, 8, 50],
    [1, 0, 2, 5],
    [1, 3, 1, NaN_],
    [2, 1, 0.5, 7],
    [2, 2, 4, 8],
  ]);
  const heavy = positivesFromEngagements(e, { minWeight: 1 });
  assert.deepEqual(
    pairs(heavy).map((p) => p.slice(0, 2)),
    [
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 3],
      [2, 2],
    ],
  );
});
