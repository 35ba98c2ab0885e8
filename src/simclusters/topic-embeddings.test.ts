import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type EngagementLog } from './embedding-types.ts';
import { INTERESTED_IN_SCORES, type InterestedIn, type InterestedInScore } from './interested-in.ts';
import { computeTopicEmbeddings, TOPIC_EMBEDDING_DEFAULTS, topicUsersFromTags } from './topic-embeddings.ts';

function csr(nRows: number, nCols: number, entries: [number, number, number][], binary = false): CsrMatrix {
  return CsrMatrix.fromCoo(
    Int32Array.from(entries, (e) => e[0]),
    Int32Array.from(entries, (e) => e[1]),
    binary ? null : Float32Array.from(entries, (e) => e[2]),
    nRows,
    nCols,
    'keep',
  );
}

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

// favScore: u0 = {c0: 3}, u1 = {c0: 4, c1: 1}, u2 = {c1: 2}; ‖U[:,c0]‖ = 5, ‖U[:,c1]‖ = √5.
const U = handInterestedIn(3, 2, [
  [0, 0, 3],
  [1, 0, 4],
  [1, 1, 1],
  [2, 1, 2],
]);

test('social topics: cosine of the topic followers with the favScore columns', () => {
  // t0 ← u1, u2 (‖·‖ = √2): c0 = (4/5)/√2 = 0.5656854; c1 = (1/√5 + 2/√5)/√2 = 0.9486833.
  // t1 ← u0 only: c0 = 3/5 = 0.6 (c1 0). With minFollowers 2, t1 is skipped.
  const follows = csr(
    3,
    2,
    [
      [1, 0, 1],
      [2, 0, 1],
      [0, 1, 1],
    ],
    true,
  );
  const p = { ...TOPIC_EMBEDDING_DEFAULTS.social, minFollowers: 2 };
  const r = computeTopicEmbeddings({ interestedIn: U, topicFollows: follows }, p);
  assert.equal(r.source, 'follows');
  assertRow(
    rowOf(r.embedding, 0),
    [
      [0, 0.5656854],
      [1, 0.9486833],
    ],
    't0',
  );
  assertRow(rowOf(r.embedding, 1), [], 't1');
  assert.deepEqual(r.stats, { topics: 2, eligibleTopics: 1, topicsWithEmbedding: 1, entries: 2 });
  const all = computeTopicEmbeddings({ interestedIn: U, topicFollows: follows }, { ...p, minFollowers: 1 });
  assertRow(rowOf(all.embedding, 1), [[0, 0.6]], 't1');
  // Top 1 cluster per topic, and the strict threshold: 0.6 is not > 0.6.
  const top1 = computeTopicEmbeddings(
    { interestedIn: U, topicFollows: follows },
    { ...p, minFollowers: 1, maxClustersPerTopic: 1, minScore: 0.6 },
  );
  assertRow(rowOf(top1.embedding, 0), [[1, 0.9486833]], 't0 best');
  assertRow(rowOf(top1.embedding, 1), [], 't1 at the threshold');
});

/*
 * Catalogue: items i0 {t0}, i1 {t0, t1}, i2 {t1}.
 * u0 engaged i0 and i1; u1 engaged i1 but unfaved it later, and engaged i2; u2 engaged i2.
 * Tag users: t0 = {u0}, t1 = {u0, u1, u2}.
 *   t1: ‖·‖ = √3; c0 = (3/5 + 4/5)/√3 = 0.8082904; c1 = (1/√5 + 2/√5)/√3 = 0.7745967.
 */
const log: EngagementLog = (() => {
  const events: [number, number, number, number][] = [
    [0, 0, 10, ACTION_POSITIVE],
    [0, 1, 11, ACTION_POSITIVE],
    [1, 1, 12, ACTION_POSITIVE],
    [1, 1, 13, ACTION_UNFAV],
    [1, 2, 14, ACTION_POSITIVE],
    [2, 2, 15, ACTION_POSITIVE],
  ];
  return {
    matrix: csr(
      3,
      3,
      events.map((e) => [e[0], e[1], 1]),
    ),
    ts: Float64Array.from(events, (e) => e[2]),
    action: Uint8Array.from(events, (e) => e[3]),
  };
})();
const itemTags = csr(
  3,
  2,
  [
    [0, 0, 1],
    [1, 0, 1],
    [1, 1, 1],
    [2, 1, 1],
  ],
  true,
);

test('catalogue topics: a tag’s users are the users who engaged with its items (net of unfavs)', () => {
  const users = topicUsersFromTags(log, itemTags);
  assert.deepEqual(Array.from(users.indptr), [0, 2, 3, 4]);
  assert.deepEqual(Array.from(users.indices), [0, 1, 1, 1]);
  const r = computeTopicEmbeddings(
    { interestedIn: U, itemTags, engagements: log },
    { ...TOPIC_EMBEDDING_DEFAULTS.catalogue, minFollowers: 2 },
  );
  assert.equal(r.source, 'tags');
  assertRow(rowOf(r.embedding, 0), [], 't0 has one user');
  assertRow(
    rowOf(r.embedding, 1),
    [
      [0, 0.8082904],
      [1, 0.7745967],
    ],
    't1',
  );
  // As of t = 12.5, u1's unfav has not happened and u2 has not engaged yet: t0 = t1 = {u0, u1}.
  // ‖·‖ = √2: c0 = (3/5 + 4/5)/√2 = 0.9899495; c1 = (1/√5)/√2 = 0.3162278.
  const early = computeTopicEmbeddings(
    { interestedIn: U, itemTags, engagements: log },
    { ...TOPIC_EMBEDDING_DEFAULTS.catalogue, minFollowers: 2, now: 12.5 },
  );
  assertRow(
    rowOf(early.embedding, 1),
    [
      [0, 0.9899495],
      [1, 0.3162278],
    ],
    't1 early',
  );
});

test('no topic source gives an empty result; empty users give empty rows', () => {
  const none = computeTopicEmbeddings({ interestedIn: U });
  assert.equal(none.source, 'none');
  assert.equal(none.embedding.nRows, 0);
  const nobody = computeTopicEmbeddings(
    { interestedIn: handInterestedIn(3, 2, []), topicFollows: csr(3, 2, [[0, 0, 1]], true) },
    { ...TOPIC_EMBEDDING_DEFAULTS.social, minFollowers: 0 },
  );
  assert.equal(nobody.embedding.nnz, 0);
  for (const v of nobody.embedding.values!) assert.ok(Number.isFinite(v));
});
