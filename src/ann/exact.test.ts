import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import type { DenseMetric } from './dense/dense-index.ts';
import { ExactIndex, ExactScan, exactTopK } from './exact.ts';

/** Row-major matrix of small integers: every dot product is exact in float64, whatever the summation order. */
function intMatrix(rng: Rng, rows: number, dim: number): Float32Array {
  const m = new Float32Array(rows * dim);
  for (let i = 0; i < m.length; i++) m[i] = rng.int(9) - 4;
  return m;
}

/** Brute force by full sort: score desc, id asc; NaN-free. */
function bruteForce(
  m: Float32Array,
  dim: number,
  q: ArrayLike<number>,
  metric: DenseMetric,
  k: number,
  keep: (id: number) => boolean = () => true,
): { ids: number[]; scores: number[] } {
  const rows = m.length / dim;
  let qn = 0;
  for (let d = 0; d < dim; d++) qn += q[d] * q[d];
  const all: { id: number; s: number }[] = [];
  for (let r = 0; r < rows; r++) {
    if (!keep(r)) continue;
    let s = 0;
    let rn = 0;
    for (let d = 0; d < dim; d++) {
      s += m[r * dim + d] * q[d];
      rn += m[r * dim + d] ** 2;
    }
    if (metric === 'cosine') s = rn === 0 || qn === 0 ? 0 : s / Math.sqrt(rn * qn);
    all.push({ id: r, s: Math.fround(s) });
  }
  all.sort((a, b) => b.s - a.s || a.id - b.id);
  const top = all.slice(0, k);
  return { ids: top.map((e) => e.id), scores: top.map((e) => e.s) };
}

/** Scores equal to 1e-6 and every returned id at least as good as the best one left out. */
function assertSameTopK(
  got: { ids: Int32Array; scores: Float32Array },
  want: { ids: number[]; scores: number[] },
  all: { ids: number[]; scores: number[] },
): void {
  assert.equal(got.ids.length, want.ids.length);
  for (let i = 0; i < want.scores.length; i++) assert.ok(Math.abs(got.scores[i] - want.scores[i]) < 1e-6);
  const cut = all.scores[want.ids.length] ?? Number.NEGATIVE_INFINITY;
  const byId = new Map(all.ids.map((id, i) => [id, all.scores[i]]));
  for (const id of got.ids)
    assert.ok((byId.get(id) ?? Number.NaN) >= cut - 1e-6, `id ${id} is not in the top k`);
}

test('hand-computed: inner product and cosine order, cosine ties broken by the smaller id', () => {
  const m = Float32Array.from([1, 0, 0, 2, 3, 4, -1, -1]);
  const q = Float32Array.from([1, 1]);
  const ids = new Int32Array(4);
  const scores = new Float32Array(4);
  const buf = new Float32Array(4);
  assert.equal(exactTopK(m, 2, q, 4, 'ip', buf, ids, scores), 4);
  assert.deepEqual([...ids], [2, 1, 0, 3]);
  assert.deepEqual([...scores], [7, 2, 1, -2]);
  assert.equal(exactTopK(m, 2, q, 3, 'cosine', buf, ids, scores), 3);
  assert.deepEqual([...ids.subarray(0, 3)], [2, 0, 1]);
  assert.ok(Math.abs(scores[0] - 7 / 5 / Math.SQRT2) < 1e-7);
  assert.equal(scores[1], scores[2]);
  assert.ok(Math.abs(scores[1] - Math.SQRT1_2) < 1e-7);

  const index = new ExactIndex(2, 'cosine');
  index.add(Int32Array.from([10, 11, 12, 13]), m);
  const r = index.search(q, 4);
  assert.deepEqual([...r.ids], [12, 10, 11, 13]);
  assert.ok(Math.abs(r.scores[3] + 1) < 1e-7);
});

test('exactTopK equals a full sort on integer data (exact sums), ties included', () => {
  const rng = new Rng(7);
  const dim = 12;
  const rows = 400;
  const m = intMatrix(rng, rows, dim);
  // Duplicate rows force exact score ties that only the id order can break.
  m.copyWithin(50 * dim, 10 * dim, 11 * dim);
  m.copyWithin(300 * dim, 10 * dim, 11 * dim);
  const scores = new Float32Array(rows);
  for (let t = 0; t < 25; t++) {
    const q = intMatrix(rng, 1, dim);
    if (t === 0) q.set(m.subarray(10 * dim, 11 * dim));
    for (const k of [1, 10, 57, rows + 5]) {
      const ids = new Int32Array(Math.min(k, rows));
      const out = new Float32Array(ids.length);
      const n = exactTopK(m, dim, q, k, 'ip', scores, ids, out);
      const want = bruteForce(m, dim, q, 'ip', k);
      assert.equal(n, want.ids.length);
      assert.deepEqual([...ids], want.ids);
      assert.deepEqual([...out], want.scores);
    }
  }
});

test('exactTopK under cosine matches brute force, with and without precomputed inverse norms', () => {
  const rng = new Rng(8);
  const dim = 16;
  const rows = 300;
  const m = new Float32Array(rows * dim).map(() => rng.normal());
  m.fill(0, 5 * dim, 6 * dim); // a zero row scores 0
  const inv = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += m[r * dim + d] ** 2;
    inv[r] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  const buf = new Float32Array(rows);
  for (let t = 0; t < 10; t++) {
    const q = new Float32Array(dim).map(() => rng.normal());
    const all = bruteForce(m, dim, q, 'cosine', rows);
    const want = bruteForce(m, dim, q, 'cosine', 20);
    for (const norms of [undefined, inv]) {
      const ids = new Int32Array(20);
      const scores = new Float32Array(20);
      assert.equal(exactTopK(m, dim, q, 20, 'cosine', buf, ids, scores, norms), 20);
      assertSameTopK({ ids, scores }, want, all);
    }
    assert.equal(buf[5], 0);
  }
});

test('ExactIndex: sparse ids, update in place, remove and revive, k beyond size, k = 0', () => {
  const rng = new Rng(9);
  const dim = 8;
  const m = intMatrix(rng, 60, dim);
  const ids = Int32Array.from({ length: 60 }, (_, i) => 3 * i + 1);
  const index = new ExactIndex(dim, 'ip');
  index.add(ids, m);
  assert.equal(index.size, 60);
  assert.equal(index.idLimit, 3 * 59 + 2);
  const q = intMatrix(rng, 1, dim);
  const toId = (r: number) => 3 * r + 1;
  let want = bruteForce(m, dim, q, 'ip', 10);
  let got = index.search(q, 10);
  assert.deepEqual([...got.ids], want.ids.map(toId));
  assert.deepEqual([...got.scores], want.scores);

  // Update: row 0 becomes a copy of the best row, so it ties and wins by the smaller id.
  const best = want.ids[0];
  const upd = m.slice(best * dim, (best + 1) * dim);
  index.add(Int32Array.of(toId(0)), upd);
  m.set(upd, 0);
  assert.equal(index.size, 60);
  got = index.search(q, 3);
  want = bruteForce(m, dim, q, 'ip', 3);
  assert.deepEqual([...got.ids], want.ids.map(toId));
  assert.deepEqual([...index.vector(toId(0))!], [...upd]);

  assert.equal(index.remove(toId(0)), true);
  assert.equal(index.remove(toId(0)), false);
  assert.equal(index.remove(2), false);
  assert.equal(index.has(toId(0)), false);
  assert.equal(index.isRemoved(toId(0)), true);
  assert.equal(index.vector(toId(0)), undefined);
  assert.equal(index.size, 59);
  got = index.search(q, 100);
  assert.equal(got.ids.length, 59);
  assert.ok(!got.ids.includes(toId(0)));
  index.add(Int32Array.of(toId(0)), upd);
  assert.equal(index.size, 60);
  assert.equal(want.ids[0], 0);
  assert.equal(index.search(q, 1).ids[0], toId(0));
  assert.equal(index.search(q, 0).ids.length, 0);
  assert.equal(new ExactIndex(dim, 'ip').search(q, 5).ids.length, 0);
});

test('ExactIndex filters: allow (repeats, unknown and removed ids ignored), deny, both, empty allow', () => {
  const rng = new Rng(10);
  const dim = 6;
  const rows = 200;
  const m = intMatrix(rng, rows, dim);
  const index = new ExactIndex(dim, 'ip');
  index.add(
    Int32Array.from({ length: rows }, (_, i) => i),
    m,
  );
  index.remove(7);
  const q = intMatrix(rng, 1, dim);
  const allow = [3, 7, 9, 9, 150, 1000, -1, 2.5, 42, 3];
  const allowSet = new Set([3, 9, 150, 42]);
  let got = index.search(q, 3, { filter: { allow } });
  let want = bruteForce(m, dim, q, 'ip', 3, (id) => allowSet.has(id));
  assert.deepEqual([...got.ids], want.ids);
  assert.deepEqual([...got.scores], want.scores);
  got = index.search(q, 10, { filter: { allow } });
  assert.equal(got.ids.length, 4);

  const deny = Int32Array.from(bruteForce(m, dim, q, 'ip', 5).ids);
  got = index.search(q, 10, { filter: { deny } });
  want = bruteForce(m, dim, q, 'ip', 10, (id) => id !== 7 && !deny.includes(id));
  assert.deepEqual([...got.ids], want.ids);

  got = index.search(q, 10, { filter: { allow, deny: [9, 3] } });
  want = bruteForce(m, dim, q, 'ip', 10, (id) => id === 150 || id === 42);
  assert.deepEqual([...got.ids], want.ids);

  assert.equal(index.search(q, 10, { filter: { allow: [] } }).ids.length, 0);
  assert.equal(index.search(q, 10, { filter: { deny: [] } }).ids.length, 10);
});

test('ExactIndex under cosine normalises vectors and queries; zero vectors score 0', () => {
  const index = new ExactIndex(3, 'cosine');
  index.add(Int32Array.of(0, 1, 2), Float32Array.of(2, 0, 0, 0, 0, 0, 0, 3, 4));
  const v = index.vector(2)!;
  assert.ok(Math.abs(v[1] - 0.6) < 1e-7 && Math.abs(v[2] - 0.8) < 1e-7);
  const r = index.search(Float32Array.of(0, 6, 8), 3);
  assert.deepEqual([...r.ids], [2, 0, 1]);
  assert.ok(Math.abs(r.scores[0] - 1) < 1e-6);
  assert.equal(r.scores[1], 0);
  assert.equal(r.scores[2], 0);
  const zero = index.search(Float32Array.of(0, 0, 0), 3);
  assert.deepEqual([...zero.scores], [0, 0, 0]);
  assert.deepEqual([...zero.ids], [0, 1, 2]);
});

test('searchInto writes into caller buffers and agrees with search', () => {
  const rng = new Rng(11);
  const dim = 10;
  const m = intMatrix(rng, 100, dim);
  const index = new ExactIndex(dim, 'ip');
  index.add(
    Int32Array.from({ length: 100 }, (_, i) => i),
    m,
  );
  const outIds = new Int32Array(16);
  const outScores = new Float32Array(16);
  for (let t = 0; t < 5; t++) {
    const q = intMatrix(rng, 1, dim);
    const n = index.searchInto(q, 16, outIds, outScores);
    const r = index.search(q, 16);
    assert.equal(n, 16);
    assert.deepEqual([...outIds], [...r.ids]);
    assert.deepEqual([...outScores], [...r.scores]);
  }
  assert.throws(
    () => index.searchInto(intMatrix(rng, 1, dim), 17, outIds, outScores),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'out',
  );
});

test('bad input is a CONFIG_INVALID error and a rejected batch changes nothing', () => {
  const code = (field: string) => (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field;
  assert.throws(() => new ExactIndex(0, 'ip'), code('dim'));
  assert.throws(() => new ExactIndex(4, 'l2' as DenseMetric), code('metric'));
  const index = new ExactIndex(2, 'ip');
  index.add(Int32Array.of(0), Float32Array.of(1, 1));
  assert.throws(() => index.add(Int32Array.of(1, 2), Float32Array.of(1, 2, 3)), code('vectors'));
  assert.throws(() => index.add(Int32Array.of(1, 2), Float32Array.of(1, 2, 3, Number.NaN)), code('vectors'));
  assert.throws(() => index.add(Int32Array.of(1, -2), Float32Array.of(1, 2, 3, 4)), code('ids'));
  assert.throws(() => index.add(Int32Array.of(5_000_000), Float32Array.of(1, 2)), code('ids'));
  assert.equal(index.size, 1);
  assert.equal(index.idLimit, 1);
  assert.throws(() => index.search(Float32Array.of(1, 2, 3), 1), code('query'));
  assert.throws(() => index.search(Float32Array.of(1, Number.POSITIVE_INFINITY), 1), code('query'));
  assert.throws(() => index.search(Float32Array.of(1, 2), -1), code('k'));
  assert.throws(() => index.search(Float32Array.of(1, 2), 1.5), code('k'));
  assert.throws(
    () =>
      exactTopK(
        Float32Array.of(1, 2, 3),
        2,
        Float32Array.of(1, 2),
        1,
        'ip',
        new Float32Array(1),
        new Int32Array(1),
        new Float32Array(1),
      ),
    code('matrix'),
  );
  assert.throws(
    () =>
      exactTopK(
        Float32Array.of(1, 2),
        2,
        Float32Array.of(1, 2),
        1,
        'ip',
        new Float32Array(2),
        new Int32Array(1),
        new Float32Array(1),
      ),
    code('scores'),
  );
});

test('toBytes/fromBytes round-trips answers bit for bit, from an unaligned copy too; corrupt blobs are refused', () => {
  const rng = new Rng(12);
  const dim = 7;
  const index = new ExactIndex(dim, 'cosine');
  const m = new Float32Array(50 * dim).map(() => rng.normal());
  index.add(
    Int32Array.from({ length: 50 }, (_, i) => 2 * i),
    m,
  );
  index.remove(4);
  const bytes = index.toBytes();
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  for (const b of [bytes, shifted.subarray(1)]) {
    const back = ExactIndex.fromBytes(b);
    assert.equal(back.size, 49);
    assert.equal(back.metric, 'cosine');
    assert.equal(back.has(4), false);
    for (let t = 0; t < 5; t++) {
      const q = new Float32Array(dim).map(() => rng.normal());
      assert.deepEqual(back.search(q, 12), index.search(q, 12));
    }
  }
  const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';
  assert.throws(() => ExactIndex.fromBytes(bytes.subarray(0, bytes.length - 4)), corrupt);
  assert.throws(() => ExactIndex.fromBytes(bytes.subarray(0, 8)), corrupt);
  const bad = bytes.slice();
  bad[0] ^= 1;
  assert.throws(() => ExactIndex.fromBytes(bad), corrupt);
});

test('short and long candidate lists rank alike (insertion vs heap), exact ties included', () => {
  const rng = new Rng(13);
  const dim = 6;
  const rows = 120;
  const m = intMatrix(rng, rows, dim);
  for (let r = 0; r < rows; r += 3) m.copyWithin((r + 1) * dim, r * dim, (r + 1) * dim); // pairs of twins
  const index = new ExactIndex(dim, 'ip');
  index.add(
    Int32Array.from({ length: rows }, (_, i) => i),
    m,
  );
  for (let t = 0; t < 20; t++) {
    const q = intMatrix(rng, 1, dim);
    for (const size of [3, 40, 100]) {
      const allow = Int32Array.from({ length: size }, () => rng.int(rows));
      const set = new Set(allow);
      for (const k of [1, 5, 50]) {
        const want = bruteForce(m, dim, q, 'ip', k, (id) => set.has(id));
        const got = index.search(q, k, { filter: { allow } });
        assert.deepEqual([...got.ids], want.ids);
        assert.deepEqual([...got.scores], want.scores);
      }
    }
  }
});

/** Columns [0, width) of a row-major matrix of the given stride. */
function prefix(m: Float32Array, stride: number, width: number): Float32Array {
  const rows = m.length / stride;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * stride, r * stride + width), r * width);
  return out;
}

test('ExactScan over strided rows: ip over whole rows, cosine over a prefix, filters; equals brute force', () => {
  const rng = new Rng(21);
  const stride = 6;
  const rows = 90;
  const m = intMatrix(rng, rows, stride);
  // Rows 10 and 11 repeat row 3 (exact ties, smaller row first); row 12's prefix is zero (cosine 0).
  for (const r of [10, 11]) m.copyWithin(r * stride, 3 * stride, 4 * stride);
  m.fill(0, 12 * stride, 12 * stride + 4);
  m[12 * stride + 4] = 5;
  const scan = new ExactScan(m, rows, stride);
  const ids = new Int32Array(rows);
  const scores = new Float32Array(rows);
  const denyList = [7, 3, 3, -1, 500, 2.5, 40];
  const denied = new Set([7, 3, 40]);
  const longAllow = Array.from({ length: 70 }, (_, i) => (i * 7) % rows).concat([5, 5, 95]);
  const shortAllow = [11, 10, 3, 12, 60, 60, 7, -4];
  const cases: { filter?: { allow?: number[]; deny?: number[] }; keep: (r: number) => boolean }[] = [
    { keep: () => true },
    { filter: { deny: denyList }, keep: (r) => !denied.has(r) },
    { filter: { allow: longAllow, deny: denyList }, keep: (r) => longAllow.includes(r) && !denied.has(r) },
    { filter: { allow: shortAllow }, keep: (r) => shortAllow.includes(r) },
    { filter: { allow: [] }, keep: () => false },
  ];
  for (let t = 0; t < 12; t++) {
    const q = intMatrix(rng, 1, stride);
    if (t === 0) q.set(m.subarray(3 * stride, 4 * stride));
    for (const { filter, keep } of cases) {
      const qualifying = Array.from({ length: rows }, (_, r) => r).filter(keep).length;
      for (const k of [1, 5, rows]) {
        // ip over whole rows: integer data, so the sums are exact and the answer is the full sort's, verbatim.
        const n = scan.searchInto(q, stride, 'ip', k, ids, scores, filter);
        const want = bruteForce(m, stride, q, 'ip', k, keep);
        assert.deepEqual([...ids.subarray(0, n)], want.ids, `ip t ${t} k ${k} ${JSON.stringify(filter)}`);
        assert.deepEqual([...scores.subarray(0, n)], want.scores);
        assert.equal(scan.scored, qualifying);
        // cosine over the first 4 values: the prefix rows' cosines.
        const qc = q.subarray(0, 4);
        const c = scan.searchInto(qc, 4, 'cosine', k, ids, scores, filter);
        const pm = prefix(m, stride, 4);
        assertSameTopK(
          { ids: ids.slice(0, c), scores: scores.slice(0, c) },
          bruteForce(pm, 4, qc, 'cosine', k, keep),
          bruteForce(pm, 4, qc, 'cosine', rows, keep),
        );
        assert.equal(scan.scored, qualifying);
      }
    }
  }
  // The query equal to row 3: its repeats tie with it under cosine, smaller row first; the zero prefix is 0.
  const q3 = m.slice(3 * stride, 3 * stride + 4);
  const top = scan.searchInto(q3, 4, 'cosine', rows, ids, scores);
  assert.deepEqual([...ids.subarray(0, 3)], [3, 10, 11]);
  assert.ok(Math.abs(scores[0] - 1) < 1e-6 && scores[1] === scores[0] && scores[2] === scores[0]);
  assert.equal(scores[[...ids.subarray(0, top)].indexOf(12)], 0);
  // Cosine at another width recomputes the norms: the whole rows' cosines, as exactTopK gives them.
  const whole = scan.searchInto(m.slice(0, stride), stride, 'cosine', 8, ids, scores);
  const ref = new Int32Array(8);
  const refScores = new Float32Array(8);
  exactTopK(m, stride, m.slice(0, stride), 8, 'cosine', new Float32Array(rows), ref, refScores);
  // exactTopK keeps 1/‖row‖ in float64, the scan in float32: the same rows, scores an ulp or so apart.
  assert.deepEqual(ids.slice(0, whole), ref);
  for (let j = 0; j < whole; j++) assert.ok(Math.abs(scores[j] - refScores[j]) < 1e-6);
});

test('ExactScan and search options: bad widths, queries and shapes, bad ef and a bare filter are refused', () => {
  const code = (field: string) => (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field;
  assert.throws(() => new ExactScan(new Float32Array(7), 2, 4), code('matrix'));
  const scan = new ExactScan(Float32Array.of(1, 2, 3, 4, 5, 6), 2, 3);
  const ids = new Int32Array(2);
  const scores = new Float32Array(2);
  assert.throws(() => scan.searchInto(Float32Array.of(1, 2, 3, 4), 4, 'ip', 1, ids, scores), code('width'));
  assert.throws(() => scan.searchInto(Float32Array.of(1), 0, 'ip', 1, ids, scores), code('width'));
  assert.throws(() => scan.searchInto(Float32Array.of(1, 2, 3), 2, 'ip', 1, ids, scores), code('query'));
  assert.throws(
    () => scan.searchInto(Float32Array.of(1, 2), 2, 'ip', 3, ids.subarray(0, 1), scores),
    code('out'),
  );
  assert.equal(scan.searchInto(Float32Array.of(0, 1), 2, 'ip', 2, ids, scores), 2);
  assert.deepEqual([...ids], [1, 0]);
  // The exact backend ignores ef (there is no search list), but still refuses a malformed one.
  const index = new ExactIndex(2, 'ip');
  index.add(Int32Array.of(0, 1, 2), Float32Array.of(1, 0, 0, 1, 1, 1));
  const q = Float32Array.of(1, 2);
  assert.equal(index.ef, undefined);
  assert.deepEqual(index.search(q, 2, { ef: 1 }), index.search(q, 2));
  assert.deepEqual(
    index.search(q, 3, { ef: 7, filter: { deny: [2] } }),
    index.search(q, 3, { filter: { deny: [2] } }),
  );
  assert.throws(() => index.search(q, 2, { ef: 0 }), code('ef'));
  assert.throws(() => index.search(q, 2, { ef: Number.NaN }), code('ef'));
  assert.throws(() => index.search(q, 2, { allow: [1] } as never), code('allow'));
  assert.throws(() => index.searchInto(q, 2, ids, scores, { deny: [1] } as never), code('deny'));
});
