import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { clusterTop } from './cluster-index.ts';
import { INTERESTED_IN_SCORES, type InterestedIn, type InterestedInScore } from './interested-in.ts';
import {
  computeProducerEmbeddings,
  PRODUCER_EMBEDDING_DEFAULTS,
  projectOntoClusters,
} from './producer-embeddings.ts';

function csr(nRows: number, nCols: number, entries: [number, number, number][], binary = false): CsrMatrix {
  return CsrMatrix.fromCoo(
    Int32Array.from(entries, (e) => e[0]),
    Int32Array.from(entries, (e) => e[1]),
    binary ? null : Float32Array.from(entries, (e) => e[2]),
    nRows,
    nCols,
  );
}

/** An InterestedIn whose every score kind holds the given values (only favScore matters to these tests). */
function handInterestedIn(nUsers: number, k: number, entries: [number, number, number][]): InterestedIn {
  const m = csr(nUsers, k, entries);
  const scores = {} as Record<InterestedInScore, Float32Array>;
  for (const kind of INTERESTED_IN_SCORES) scores[kind] = m.values!;
  const zeros = new Float64Array(k);
  return {
    nUsers,
    k,
    indptr: m.indptr,
    clusters: m.indices,
    scores,
    columnNorms: { followScore: zeros, favScore: zeros, logFavScore: zeros },
    stats: {
      users: nUsers,
      usersWithEmbedding: 0,
      entries: m.nnz,
      usersCapped: 0,
      droppedBySocialProof: 0,
      keptWithoutProof: 0,
      droppedByTopK: 0,
      now: Number.NaN,
    },
  };
}

function rowOf(m: CsrMatrix, r: number): [number, number][] {
  return Array.from(m.rowIndices(r), (c, j) => [c, m.rowValues(r)![j]]);
}

function assertRow(actual: [number, number][], expected: [number, number][], msg: string): void {
  assert.equal(actual.length, expected.length, `${msg}: ${JSON.stringify(actual)}`);
  for (let j = 0; j < expected.length; j++) {
    assert.equal(actual[j][0], expected[j][0], msg);
    assert.ok(Math.abs(actual[j][1] - expected[j][1]) < 1e-6, `${msg}: ${actual[j][1]} vs ${expected[j][1]}`);
  }
}

/*
 * U (favScore): u0 = {c0: 3}, u1 = {c0: 4, c1: 1}, u2 = {c1: 2}; column norms ‖U[:,c0]‖ = 5, ‖U[:,c1]‖ = √5.
 * A: p0 ← u0, u1 (weight 1); p1 ← u2; p2 ← u1 (weight 2), u2 (weight 1); ‖A[:,p2]‖ = √5.
 *   Ṽ[p0,c0] = (1/√2)(3/5 + 4/5) = 0.9899495       Ṽ[p0,c1] = (1/√2)(1/√5) = 0.3162278
 *   Ṽ[p1,c1] = 1 · 2/√5 = 0.8944272 (one follower)
 *   Ṽ[p2,c0] = (2/√5)(4/5) = 0.7155418             Ṽ[p2,c1] = (2/√5)(1/√5) + (1/√5)(2/√5) = 0.8
 */
const U = handInterestedIn(3, 2, [
  [0, 0, 3],
  [1, 0, 4],
  [1, 1, 1],
  [2, 1, 2],
]);
const A = csr(3, 3, [
  [0, 0, 1],
  [1, 0, 1],
  [2, 1, 1],
  [1, 2, 2],
  [2, 2, 1],
]);

test('producer embeddings on a toy equal the hand-computed cosines; minFollowers drops p1', () => {
  const p = { ...PRODUCER_EMBEDDING_DEFAULTS.social, minFollowers: 2 };
  const { embedding, clusterTopProducers, stats } = computeProducerEmbeddings(A, U, p);
  assertRow(
    rowOf(embedding, 0),
    [
      [0, 0.9899495],
      [1, 0.3162278],
    ],
    'p0',
  );
  assertRow(rowOf(embedding, 1), [], 'p1');
  assertRow(
    rowOf(embedding, 2),
    [
      [0, 0.7155418],
      [1, 0.8],
    ],
    'p2',
  );
  assert.deepEqual(stats, { producers: 3, eligibleProducers: 2, producersWithEmbedding: 2, entries: 4 });
  assert.deepEqual(Array.from(clusterTop(clusterTopProducers, 0).ids), [0, 2]);
  assert.deepEqual(Array.from(clusterTop(clusterTopProducers, 1).ids), [2, 0]);
  const one = computeProducerEmbeddings(A, U, { ...p, minFollowers: 1 });
  assertRow(rowOf(one.embedding, 1), [[1, 0.8944272]], 'p1 with one follower');
});

test('producer embeddings: minScore, clusters per producer and producers per cluster', () => {
  const p = { ...PRODUCER_EMBEDDING_DEFAULTS.social, minFollowers: 2, minScore: 0.75 };
  const strict = computeProducerEmbeddings(A, U, p);
  assertRow(rowOf(strict.embedding, 0), [[0, 0.9899495]], 'p0');
  assertRow(rowOf(strict.embedding, 2), [[1, 0.8]], 'p2');
  const top1 = computeProducerEmbeddings(A, U, { ...p, minScore: 0.01, maxClustersPerProducer: 1 });
  assertRow(rowOf(top1.embedding, 0), [[0, 0.9899495]], 'p0 best');
  assertRow(rowOf(top1.embedding, 2), [[1, 0.8]], 'p2 best');
  const index1 = computeProducerEmbeddings(A, U, { ...p, minScore: 0.01, topProducersPerCluster: 1 });
  assert.deepEqual(Array.from(clusterTop(index1.clusterTopProducers, 0).ids), [0]);
  assert.deepEqual(Array.from(clusterTop(index1.clusterTopProducers, 1).ids), [2]);
  // The threshold is inclusive for producers: a cosine of exactly 1 survives minScore = 1.
  const lone = projectOntoClusters(csr(1, 1, [[0, 0, 1]], true), csr(1, 1, [[0, 0, 7]]), {
    minDegree: 1,
    minScore: 1,
    inclusive: true,
    maxClusters: 5,
  });
  assertRow(rowOf(lone.embedding, 0), [[0, 1]], 'inclusive');
});

test('projection equals a brute-force cosine on random data, with zero-valued U entries listed once', () => {
  const rng = new Rng(5);
  const nUsers = 50;
  const nEnt = 20;
  const k = 8;
  const b: [number, number, number][] = [];
  const u: [number, number, number][] = [];
  for (let i = 0; i < nUsers; i++) {
    for (let e = 0; e < nEnt; e++) if (rng.next() < 0.3) b.push([i, e, 1 + rng.int(3)]);
    for (let c = 0; c < k; c++) if (rng.next() < 0.4) u.push([i, c, rng.next() < 0.2 ? 0 : rng.next()]);
  }
  const B = csr(nUsers, nEnt, b);
  const Um = csr(nUsers, k, u);
  const { embedding } = projectOntoClusters(B, Um, {
    minDegree: 0,
    minScore: 0,
    inclusive: false,
    maxClusters: k,
  });
  for (let e = 0; e < nEnt; e++) {
    const expected: [number, number][] = [];
    for (let c = 0; c < k; c++) {
      let dot = 0;
      let nb = 0;
      let nu = 0;
      for (let i = 0; i < nUsers; i++) {
        dot += B.get(i, e) * Um.get(i, c);
        nb += B.get(i, e) ** 2;
        nu += Um.get(i, c) ** 2;
      }
      const cos = nb > 0 && nu > 0 ? dot / Math.sqrt(nb * nu) : 0;
      if (cos > 0) expected.push([c, cos]);
    }
    assertRow(rowOf(embedding, e), expected, `entity ${e}`);
  }
});

test('empty inputs: no producers, no users, no clusters — no NaN', () => {
  const none = computeProducerEmbeddings(csr(0, 0, []), handInterestedIn(0, 0, []));
  assert.equal(none.embedding.nRows, 0);
  assert.equal(none.clusterTopProducers.nClusters, 0);
  // Followers whose InterestedIn is empty: producers are eligible but get nothing.
  const empty = computeProducerEmbeddings(csr(2, 1, [[0, 0, 1]], true), handInterestedIn(2, 3, []), {
    ...PRODUCER_EMBEDDING_DEFAULTS.social,
    minFollowers: 1,
  });
  assert.equal(empty.embedding.nnz, 0);
  assert.equal(empty.stats.eligibleProducers, 1);
  assert.throws(
    () =>
      computeProducerEmbeddings(A, U, {
        ...PRODUCER_EMBEDDING_DEFAULTS.social,
        userScore: 'nope' as 'favScore',
      }),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
});
