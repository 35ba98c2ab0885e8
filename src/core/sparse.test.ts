import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from './errors.ts';
import { Rng } from './prng.ts';
import {
  addScaled,
  assertSparseVector,
  cosine,
  dot,
  emptySparse,
  l2Distance,
  lowerBound,
  norm2,
  prune,
  type SparseVector,
  scale,
  sparseFromPairs,
  sparseGet,
  sumOfUnitRows,
  topN,
} from './sparse.ts';

const sv = (ids: number[], values: number[]): SparseVector => ({
  ids: Int32Array.from(ids),
  values: Float32Array.from(values),
});
const plain = (v: SparseVector) => ({ ids: Array.from(v.ids), values: Array.from(v.values) });
const isCode = (code: string) => (e: unknown) => e instanceof SimrecError && e.code === code;

// a = {1: 1, 3: 2, 7: 2}, b = {0: 5, 3: 3, 7: -1, 9: 4}
const a = sv([1, 3, 7], [1, 2, 2]);
const b = sv([0, 3, 7, 9], [5, 3, -1, 4]);

test('sparseFromPairs sorts, sums duplicates and drops zeros', () => {
  const v = sparseFromPairs([7, 2, 7, 5, 2, 9, 0], [1, 0.5, 2, 0, -0.5, 4, 1.5]);
  // 7: 1+2 = 3; 2: 0.5−0.5 = 0 (dropped); 5: explicit 0 (dropped); 9: 4; 0: 1.5
  assert.deepEqual(plain(v), { ids: [0, 7, 9], values: [1.5, 3, 4] });
  assertSparseVector(v);
  assert.deepEqual(
    plain(sparseFromPairs([2, 4], [1, 2])),
    { ids: [2, 4], values: [1, 2] },
    'sorted fast path',
  );
  assert.deepEqual(plain(sparseFromPairs([], [])), { ids: [], values: [] });
  assert.throws(() => sparseFromPairs([1], [1, 2]), isCode('INTERNAL'));
  assert.throws(() => sparseFromPairs([-1], [1]), isCode('INTERNAL'));
  assert.throws(() => sparseFromPairs([1.5], [1]), isCode('INTERNAL'));
  assert.throws(() => sparseFromPairs([1], [Number.NaN]), isCode('INTERNAL'));
});

test('sparseFromPairs agrees with a Map-based reference on seeded random pairs', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const n = rng.int(40);
    const ids = Array.from({ length: n }, () => rng.int(15));
    const values = Array.from({ length: n }, () => rng.int(7) - 3);
    const ref = new Map<number, number>();
    for (let i = 0; i < n; i++) ref.set(ids[i], (ref.get(ids[i]) ?? 0) + values[i]);
    const want = [...ref].filter(([, v]) => v !== 0).sort((x, y) => x[0] - y[0]);
    const got = sparseFromPairs(ids, values);
    assert.deepEqual(plain(got), { ids: want.map((e) => e[0]), values: want.map((e) => e[1]) });
  }
});

test('assertSparseVector rejects broken invariants', () => {
  assert.throws(() => assertSparseVector(sv([1, 1], [1, 2])), isCode('INTERNAL'));
  assert.throws(() => assertSparseVector(sv([2, 1], [1, 2])), isCode('INTERNAL'));
  assert.throws(() => assertSparseVector(sv([-1], [1])), isCode('INTERNAL'));
  assert.throws(() => assertSparseVector(sv([1], [0])), isCode('INTERNAL'));
  assert.throws(
    () => assertSparseVector({ ids: new Int32Array(2), values: new Float32Array(1) }),
    isCode('INTERNAL'),
  );
  assertSparseVector(emptySparse());
});

test('dot, norm2, cosine, l2Distance on a hand-computed pair', () => {
  // common ids 3 and 7: 2·3 + 2·(−1) = 4
  assert.equal(dot(a, b), 4);
  assert.equal(dot(b, a), 4);
  // ‖a‖ = √(1+4+4) = 3, ‖b‖ = √(25+9+1+16) = √51
  assert.equal(norm2(a), 3);
  assert.equal(norm2(b), Math.sqrt(51));
  assert.equal(cosine(a, b), 4 / (3 * Math.sqrt(51)));
  assert.equal(cosine(a, a), 1);
  assert.equal(cosine(a, emptySparse()), 0);
  assert.equal(cosine(emptySparse(), emptySparse()), 0);
  // a − b = {0: −5, 1: 1, 3: −1, 7: 3, 9: −4}: 25 + 1 + 1 + 9 + 16 = 52
  assert.equal(l2Distance(a, b), Math.sqrt(52));
  assert.equal(l2Distance(b, a), Math.sqrt(52));
  assert.equal(l2Distance(a, a), 0);
  assert.equal(l2Distance(a, emptySparse()), 3);
  assert.equal(dot(a, emptySparse()), 0);
});

test('dot gallops through a much longer vector and still matches the merge', () => {
  const longIds = Array.from({ length: 1000 }, (_, i) => 2 * i);
  const long = sv(
    longIds,
    longIds.map((i) => (i % 7) + 1),
  );
  // ids 0, 1 (absent), 998, 1998 (last), 2001 (beyond the end)
  const short = sv([0, 1, 998, 1998, 2001], [1, 100, 2, 3, 100]);
  // long[0] = 1, long[998] = 998 % 7 + 1 = 5, long[1998] = 1998 % 7 + 1 = 4
  assert.equal(dot(short, long), 1 * 1 + 2 * 5 + 3 * 4);
  assert.equal(dot(long, short), 23);
});

test('lowerBound and sparseGet', () => {
  const ids = Int32Array.from([1, 3, 3, 8, 20, 21]);
  assert.equal(lowerBound(ids, 0), 0);
  assert.equal(lowerBound(ids, 3), 1);
  assert.equal(lowerBound(ids, 4), 3);
  assert.equal(lowerBound(ids, 21), 5);
  assert.equal(lowerBound(ids, 22), 6);
  assert.equal(lowerBound(ids, 8, 4), 4, 'never goes below from');
  assert.equal(lowerBound(ids, 21, 0, 4), 4, 'never goes past to');
  assert.equal(lowerBound(new Int32Array(0), 5), 0);
  const rng = new Rng(9);
  for (let trial = 0; trial < 200; trial++) {
    const arr = Int32Array.from({ length: rng.int(50) }, () => rng.int(60)).sort();
    const target = rng.int(62);
    const from = rng.int(arr.length + 1);
    let want = from;
    while (want < arr.length && arr[want] < target) want++;
    assert.equal(lowerBound(arr, target, from), want);
  }
  assert.equal(sparseGet(b, 7), -1);
  assert.equal(sparseGet(b, 8), 0);
  assert.equal(sparseGet(b, 100), 0);
});

test('addScaled merges the union and drops cancelled entries', () => {
  // a + 2b = {0: 10, 1: 1, 3: 2+6 = 8, 7: 2−2 = 0 (dropped), 9: 8}
  assert.deepEqual(plain(addScaled(a, b, 2)), { ids: [0, 1, 3, 9], values: [10, 1, 8, 8] });
  assert.deepEqual(plain(addScaled(a, a, -1)), { ids: [], values: [] });
  assert.deepEqual(plain(addScaled(emptySparse(), a, 0.5)), { ids: [1, 3, 7], values: [0.5, 1, 1] });
  assert.deepEqual(plain(addScaled(a, b, 0)), plain(a));
  assert.throws(() => addScaled(a, b, Number.POSITIVE_INFINITY), isCode('CONFIG_INVALID'));
});

test('scale and prune', () => {
  assert.deepEqual(plain(scale(b, -0.5)), { ids: [0, 3, 7, 9], values: [-2.5, -1.5, 0.5, -2] });
  assert.deepEqual(plain(scale(b, 0)), { ids: [], values: [] });
  assert.throws(() => scale(b, Number.NaN), isCode('CONFIG_INVALID'));
  assert.deepEqual(plain(prune(b, 3)), { ids: [0, 3, 9], values: [5, 3, 4] }, 'keeps values ≥ minValue');
  assert.deepEqual(plain(prune(b, 100)), { ids: [], values: [] });
  assert.deepEqual(plain(prune(b, Number.NEGATIVE_INFINITY)), plain(b));
  assert.throws(() => prune(b, Number.NaN), isCode('CONFIG_INVALID'));
});

test('topN keeps the largest values, ties to the smaller id, result sorted by id', () => {
  const v = sv([2, 4, 5, 8, 11, 12], [0.3, 0.9, 0.3, -1, 0.5, 0.3]);
  // ranking: 4 (0.9), 11 (0.5), then the 0.3 tie 2 < 5 < 12, then 8 (−1)
  assert.deepEqual(plain(topN(v, 3)), { ids: [2, 4, 11], values: [0.3, 0.9, 0.5].map(Math.fround) });
  assert.deepEqual(plain(topN(v, 4)), { ids: [2, 4, 5, 11], values: [0.3, 0.9, 0.3, 0.5].map(Math.fround) });
  assert.deepEqual(plain(topN(v, 0)), { ids: [], values: [] });
  const all = topN(v, 10);
  assert.deepEqual(plain(all), plain(v));
  assert.notEqual(all.ids, v.ids, 'a copy, not the input buffers');
  assert.throws(() => topN(v, -1), isCode('CONFIG_INVALID'));
});

test('sumOfUnitRows: each row by its direction times its weight; empty rows add nothing', () => {
  // (3, 4) has length 5, (0, 2) length 2: 2·(0.6, 0.8) + 1·(0, 1) = (1.2, 2.6) on ids (1, 4).
  const q = sumOfUnitRows([sv([1, 4], [3, 4]), sv([4], [2]), sv([], [])], [2, 1, 5]);
  assert.deepEqual(Array.from(q.ids), [1, 4]);
  assert.ok(Math.abs(q.values[0] - 1.2) < 1e-6 && Math.abs(q.values[1] - 2.6) < 1e-6, `${q.values}`);
  // Unweighted, and rows whose entries cancel leave nothing behind.
  const c = sumOfUnitRows([sv([2], [5]), sv([2], [-1])]);
  assert.equal(c.ids.length, 0);
});
