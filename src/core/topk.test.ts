import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from './errors.ts';
import { Rng } from './prng.ts';
import { insertRanked, selectTop, TopK, topKIndices } from './topk.ts';

/** The reference: every non-NaN (id, score), fully sorted by score descending then id ascending. */
function bruteForce(
  ids: ArrayLike<number>,
  scores: ArrayLike<number>,
  k: number,
): { ids: number[]; scores: number[] } {
  const all: [number, number][] = [];
  for (let i = 0; i < ids.length; i++) if (!Number.isNaN(scores[i])) all.push([ids[i], scores[i]]);
  all.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  const top = all.slice(0, k);
  return { ids: top.map((e) => e[0]), scores: top.map((e) => e[1]) };
}

/** Scores drawn from few distinct values so ties are common, with some NaN and ±Infinity. */
function randomScores(rng: Rng, n: number, distinct: number): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.int(distinct + 3);
    s[i] =
      u === distinct
        ? Number.NaN
        : u === distinct + 1
          ? Number.POSITIVE_INFINITY
          : u === distinct + 2
            ? -1 / 0
            : u / 7;
  }
  return s;
}

test('TopK matches a full sort on seeded random data, in any push order', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(60);
    const k = rng.int(70);
    const scores = randomScores(rng, n, 1 + rng.int(12));
    const ids = rng.permutation(n);
    const order = rng.permutation(n);
    const heap = new TopK(k);
    for (let t = 0; t < n; t++) heap.push(ids[order[t]], scores[order[t]]);
    const outIds = new Int32Array(k);
    const outScores = new Float64Array(k);
    const count = heap.drainSorted(outIds, outScores);
    const want = bruteForce(ids, scores, k);
    assert.equal(count, want.ids.length, `trial ${trial}`);
    assert.deepEqual(Array.from(outIds.subarray(0, count)), want.ids, `trial ${trial}`);
    assert.deepEqual(Array.from(outScores.subarray(0, count)), want.scores, `trial ${trial}`);
    assert.equal(heap.size, 0, 'drain empties the heap');
  }
});

test('TopK.drainUnordered gives the same entries as drainSorted, in heap order, and empties the heap', () => {
  const rng = new Rng(11);
  const a = new TopK(25);
  const b = new TopK(25);
  for (let id = 0; id < 500; id++) {
    const score = Math.floor(rng.next() * 40) / 4; // many ties
    a.push(id, score);
    b.push(id, score);
  }
  const sortedIds = new Int32Array(25);
  const sortedScores = new Float64Array(25);
  const ids = new Int32Array(30);
  const scores = new Float64Array(30);
  assert.equal(a.drainSorted(sortedIds, sortedScores), 25);
  assert.equal(b.drainUnordered(ids, scores), 25);
  assert.equal(b.size, 0);
  const pairs = Array.from(ids.subarray(0, 25), (id, j) => [id, scores[j]]);
  pairs.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  assert.deepEqual(
    pairs,
    Array.from(sortedIds, (id, j) => [id, sortedScores[j]]),
  );
  a.push(1, 1);
  assert.throws(() => a.drainUnordered(new Int32Array(0), new Float64Array(0)), SimrecError);
});

test('TopK ties: equal scores keep the smallest ids, listed in ascending id order', () => {
  const heap = new TopK(3);
  for (const id of [9, 4, 7, 1, 8, 2]) heap.push(id, 5);
  heap.push(6, 6);
  const ids = new Int32Array(3);
  const scores = new Float32Array(3);
  assert.equal(heap.drainSorted(ids, scores), 3);
  assert.deepEqual(Array.from(ids), [6, 1, 2]);
  assert.deepEqual(Array.from(scores), [6, 5, 5]);
});

test('TopK: k larger than the input, k = 0, NaN skipped, reset and reuse', () => {
  const big = new TopK(10);
  assert.equal(big.push(3, 0.5), true);
  assert.equal(big.push(1, Number.NaN), false);
  big.push(2, -2);
  assert.equal(big.size, 2);
  assert.equal(big.isFull, false);
  assert.equal(big.threshold, Number.NEGATIVE_INFINITY);
  const ids = new Int32Array(2);
  const scores = new Float64Array(2);
  assert.equal(big.drainSorted(ids, scores), 2);
  assert.deepEqual(Array.from(ids), [3, 2]);
  assert.deepEqual(Array.from(scores), [0.5, -2]);

  const zero = new TopK(0);
  assert.equal(zero.push(1, 100), false);
  assert.equal(zero.drainSorted(new Int32Array(0), new Float32Array(0)), 0);

  const h = new TopK(2);
  h.push(1, 1);
  h.push(2, 2);
  assert.equal(h.threshold, 1);
  assert.equal(h.push(3, 0.5), false, 'below the k-th best is rejected');
  assert.equal(h.push(0, 1), true, 'an equal score with a smaller id displaces the k-th best');
  assert.equal(h.push(5, 1), false, 'an equal score with a larger id does not');
  h.reset();
  assert.equal(h.size, 0);
  h.push(7, 3);
  const o = new Int32Array(2);
  assert.equal(h.drainSorted(o, new Float32Array(2)), 1);
  assert.equal(o[0], 7);
});

test('TopK keeps float64 precision internally and rounds only on float32 output', () => {
  const h = new TopK(1);
  h.push(1, 1 + 1e-12);
  h.push(0, 1);
  const ids = new Int32Array(1);
  const scores = new Float32Array(1);
  h.drainSorted(ids, scores);
  assert.equal(ids[0], 1, 'the larger float64 score wins although both round to 1 in float32');
  assert.equal(scores[0], 1);
});

test('TopK rejects a bad k and output buffers that are too small', () => {
  for (const k of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => new TopK(k),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
    );
  }
  const h = new TopK(3);
  h.push(1, 1);
  h.push(2, 2);
  assert.throws(
    () => h.drainSorted(new Int32Array(1), new Float32Array(3)),
    (e: unknown) => e instanceof SimrecError && e.code === 'INTERNAL',
  );
});

test('topKIndices over a whole array matches a full sort (float32 and float64 scores)', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(80);
    const k = rng.int(90);
    const s64 = randomScores(rng, n, 1 + rng.int(20));
    const positions = Array.from({ length: n }, (_, i) => i);
    for (const scores of [s64, Float32Array.from(s64)]) {
      const cap = Math.min(k, n);
      const outIds = new Int32Array(cap);
      const outScores = new Float32Array(cap);
      const count = topKIndices(scores, k, outIds, outScores);
      const want = bruteForce(positions, scores, k);
      assert.equal(count, want.ids.length, `trial ${trial}`);
      assert.deepEqual(Array.from(outIds.subarray(0, count)), want.ids, `trial ${trial}`);
      assert.deepEqual(
        Array.from(outScores.subarray(0, count)),
        want.scores.map(Math.fround),
        `trial ${trial}`,
      );
    }
  }
});

test('topKIndices over a candidate list looks only at the first nCandidates candidates', () => {
  const rng = new Rng(8);
  for (let trial = 0; trial < 100; trial++) {
    const n = 1 + rng.int(100);
    const scores = randomScores(rng, n, 1 + rng.int(10));
    const cands = rng.permutation(n);
    const nCand = rng.int(n + 1);
    const k = rng.int(20);
    const outIds = new Int32Array(k);
    const outScores = new Float64Array(k);
    const count = topKIndices(scores, k, outIds, outScores, cands, nCand);
    const used = Array.from(cands.subarray(0, nCand));
    const want = bruteForce(
      used,
      used.map((i) => scores[i]),
      k,
    );
    assert.deepEqual(Array.from(outIds.subarray(0, count)), want.ids, `trial ${trial}`);
    assert.deepEqual(Array.from(outScores.subarray(0, count)), want.scores, `trial ${trial}`);
  }
});

test('topKIndices: hand-checked example, k = 0, k > n, all NaN', () => {
  const scores = Float32Array.from([0.1, 0.9, Number.NaN, 0.9, 0.5, 0.2]);
  const ids = new Int32Array(6);
  const out = new Float32Array(6);
  assert.equal(topKIndices(scores, 3, ids, out), 3);
  assert.deepEqual(Array.from(ids.subarray(0, 3)), [1, 3, 4]);
  assert.deepEqual(Array.from(out.subarray(0, 3)), [Math.fround(0.9), Math.fround(0.9), Math.fround(0.5)]);
  assert.equal(topKIndices(scores, 100, ids, out), 5, 'k > n returns every non-NaN entry');
  assert.deepEqual(Array.from(ids.subarray(0, 5)), [1, 3, 4, 5, 0]);
  assert.equal(topKIndices(scores, 0, new Int32Array(0), new Float32Array(0)), 0);
  assert.equal(topKIndices(new Float64Array([Number.NaN, Number.NaN]), 2, ids, out), 0);
  assert.equal(topKIndices(scores, 2, ids, out, new Int32Array([5, 0, 2]), 3), 2);
  assert.deepEqual(Array.from(ids.subarray(0, 2)), [5, 0]);
});

test('topKIndices rejects bad arguments with coded errors', () => {
  const scores = new Float32Array(4);
  const isCode = (code: string) => (e: unknown) => e instanceof SimrecError && e.code === code;
  assert.throws(
    () => topKIndices(scores, -1, new Int32Array(4), new Float32Array(4)),
    isCode('CONFIG_INVALID'),
  );
  assert.throws(() => topKIndices(scores, 3, new Int32Array(2), new Float32Array(3)), isCode('INTERNAL'));
  assert.throws(
    () => topKIndices(scores, 2, new Int32Array(2), new Float32Array(2), new Int32Array([0, 4]), 2),
    isCode('INTERNAL'),
  );
  assert.throws(
    () => topKIndices(scores, 2, new Int32Array(2), new Float32Array(2), new Int32Array([0, 1]), 3),
    isCode('INTERNAL'),
  );
});

test('selectTop moves exactly the set a TopK keeps to the front, ties by smaller id', () => {
  const rng = new Rng(5);
  for (let round = 0; round < 300; round++) {
    const n = 1 + rng.int(400);
    const k = rng.int(n + 5);
    const levels = 1 + rng.int(6); // few distinct scores: heavy ties
    const ids = new Int32Array(n);
    const scores = new Float64Array(n);
    const used = new Set<number>();
    for (let i = 0; i < n; i++) {
      let id = rng.int(100_000);
      while (used.has(id)) id = rng.int(100_000);
      used.add(id);
      ids[i] = id;
      scores[i] = round % 3 === 0 ? i : rng.int(levels) / levels; // sorted input every third round
    }
    const heap = new TopK(Math.min(k, n));
    for (let i = 0; i < n; i++) heap.push(ids[i], scores[i]);
    const want = new Int32Array(heap.size);
    heap.drainSorted(want, new Float64Array(want.length));
    const before = new Map(Array.from(ids, (id, i) => [id, scores[i]]));
    const m = selectTop(ids, scores, n, k);
    assert.equal(m, Math.min(k, n));
    assert.deepEqual(
      Array.from(ids.subarray(0, m)).sort((a, b) => a - b),
      Array.from(want).sort((a, b) => a - b),
    );
    // a permutation: every id keeps its score
    for (let i = 0; i < n; i++) assert.equal(scores[i], before.get(ids[i]));
  }
});

test('selectTop: hand example and edge sizes', () => {
  const ids = Int32Array.from([4, 2, 9, 7, 1]);
  const scores = Float64Array.from([0.5, 0.9, 0.5, 0.1, 0.5]);
  assert.equal(selectTop(ids, scores, 5, 3), 3);
  assert.deepEqual(Array.from(ids.subarray(0, 3)).sort(), [1, 2, 4]); // 0.9, then the 0.5 ties by id: 1, 4
  assert.equal(selectTop(ids, scores, 5, 0), 0);
  assert.equal(selectTop(ids, scores, 5, 9), 5);
});

test('insertRanked keeps a prefix ranked by score, ties by smaller id', () => {
  const ids = new Int32Array(5);
  const scores = new Float32Array(5);
  const input: [number, number][] = [
    [7, 0.5],
    [3, 0.9],
    [9, 0.5],
    [1, 0.5],
    [4, 1],
  ];
  for (let n = 0; n < input.length; n++) insertRanked(ids, scores, n, input[n][0], input[n][1]);
  assert.deepEqual(Array.from(ids), [4, 3, 1, 7, 9]);
  assert.deepEqual(Array.from(scores), [1, Math.fround(0.9), 0.5, 0.5, 0.5]);
});
