import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { extendKnownFor } from './known-for-extend.ts';

/** consumers × producers from (consumer, producer) pairs. */
function follows(nC: number, nP: number, pairs: [number, number][]): CsrMatrix {
  return CsrMatrix.fromCoo(
    Int32Array.from(pairs, (p) => p[0]),
    Int32Array.from(pairs, (p) => p[1]),
    null,
    nC,
    nP,
    'max',
  );
}

test('a producer left out takes the majority community of its co-followed producers', () => {
  // Producers 0,1 in community 0; 2,3 in community 1; 4 and 5 unclustered.
  // Consumer 0 follows 0,1,4; consumer 1 follows 0,4; consumer 2 follows 2,3,5; consumer 3 follows 0,2,5.
  const A = follows(4, 6, [
    [0, 0],
    [0, 1],
    [0, 4],
    [1, 0],
    [1, 4],
    [2, 2],
    [2, 3],
    [2, 5],
    [3, 0],
    [3, 2],
    [3, 5],
  ]);
  const cluster = Int32Array.from([0, 0, 1, 1, -1, -1]);
  const score = Float32Array.from([1, 0.5, 1, 1, 0, 0]);
  const r = extendKnownFor(A, cluster, score, 2);
  // Producer 4: votes 1/√3 (0, via c0) + 1/√1 (1, via c0) + 1/√3 (0, via c1), all for community 0.
  assert.equal(cluster[4], 0);
  assert.ok(Math.abs(score[4] - 0.75) < 1e-6, `score ${score[4]}`); // share 1 × mean score (1 + 0.5) / 2
  // Producer 5: community 1 gets 1/√2 + 1/√1 (c2) + 1/√2 (c3) = 2.414…, community 0 gets 1/√3 (c3): share 0.807.
  assert.equal(cluster[5], 1);
  const share = (2 / Math.SQRT2 + 1) / (2 / Math.SQRT2 + 1 + 1 / Math.sqrt(3));
  assert.ok(Math.abs(score[5] - share) < 1e-6, `score ${score[5]}`);
  assert.deepEqual(r, { extended: 2, undecided: 0 });
});

test('no majority, no assignment; producers without followers are left alone', () => {
  // Producer 2 is co-followed once with community 0 and once with community 1: each holds half of its summed
  // cosine, below minShare 0.6, so it stays undecided. Producers 3 and 4 have no follower and are not counted.
  const A = follows(2, 5, [
    [0, 0],
    [0, 2],
    [1, 1],
    [1, 2],
  ]);
  const cluster = Int32Array.from([0, 1, -1, -1, -1]);
  const score = Float32Array.from([1, 1, 0, 0, 0]);
  const r = extendKnownFor(A, cluster, score, 2, 0.6);
  assert.deepEqual([...cluster], [0, 1, -1, -1, -1]);
  assert.deepEqual(r, { extended: 0, undecided: 1 });
});
