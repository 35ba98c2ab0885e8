import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type EngagementLog, type KnownFor } from './embedding-types.ts';
import {
  computeInterestedIn,
  INTERESTED_IN_DEFAULTS,
  INTERESTED_IN_SCORES,
  type InterestedIn,
  interestedInMatrix,
} from './interested-in.ts';

const DAY = 86400;
const T = 1_000_000_000;

/** A CSR from (row, col, value) triples; duplicates kept in the given order. */
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

/** An engagement log from (user, item, weight, ts, action) events, entries aligned through cooOrder. */
function makeLog(
  nUsers: number,
  nItems: number,
  events: [number, number, number, number, number][],
): EngagementLog {
  const matrix = CsrMatrix.fromCoo(
    Int32Array.from(events, (e) => e[0]),
    Int32Array.from(events, (e) => e[1]),
    Float32Array.from(events, (e) => e[2]),
    nUsers,
    nItems,
    'keep',
  );
  // fromCoo('keep') is a stable sort by (user, item); replay it to align ts/action.
  const order = events
    .map((_, i) => i)
    .sort((a, b) => events[a][0] - events[b][0] || events[a][1] - events[b][1] || a - b);
  return {
    matrix,
    ts: Float64Array.from(order, (i) => events[i][3]),
    action: Uint8Array.from(order, (i) => events[i][4]),
  };
}

/** Row u of a score kind as [cluster, value] pairs. */
function row(ii: InterestedIn, u: number, score: keyof InterestedIn['scores']): [number, number][] {
  const out: [number, number][] = [];
  for (let j = ii.indptr[u]; j < ii.indptr[u + 1]; j++) out.push([ii.clusters[j], ii.scores[score][j]]);
  return out;
}

function assertRow(actual: [number, number][], expected: [number, number][], msg: string): void {
  assert.equal(actual.length, expected.length, `${msg}: ${JSON.stringify(actual)}`);
  for (let j = 0; j < expected.length; j++) {
    assert.equal(actual[j][0], expected[j][0], msg);
    assert.ok(Math.abs(actual[j][1] - expected[j][1]) < 1e-6, `${msg}: ${actual[j][1]} vs ${expected[j][1]}`);
  }
}

/*
 * The toy: 3 users × 4 producers, k = 2.
 *   KnownFor: p0 → c0 (0.5), p1 → c0 (1.0), p2 → c1 (0.8), p3 → c1 (0.25).
 *   Follows:  u0 → p0 p1 p2;  u1 → p0 p2 p3;  u2 → p0 p1 p2 p3.
 *   Items i0..i4 authored by p0 p1 p2 p3 p1. now = T (latest event); fav half-life 100 days.
 *   Favs:  u0: i0 (w 1, T−100d → 0.5), i1 (w 1, T → 1), i2 (w 1, T → 1), i4 (w 1, T−200d → 0.25)
 *          u1: i2 (w 2, T → 2), i3 (w 1, T−100d) then unfav of i3 at T−50d → 0
 *          u2: i0 (w 1, T → 1), i3 (w 4, T−200d → 1)
 *   fav(u,p): u0: p0 0.5, p1 1.25, p2 1;  u1: p2 2, p3 0;  u2: p0 1, p3 1.
 *
 *   u0 c0 (p0, p1): follow 0.5+1 = 1.5; fav 0.5·0.5 + 1.25·1 = 1.5;
 *                   logFav 0.5·log10(1.5) + 1·log10(2.25) = 0.0880456 + 0.3521825 = 0.4402281
 *   u0 c1 (p2 only) → dropped by social proof.
 *   u1 c0 (p0 only) → dropped.  u1 c1 (p2, p3): follow 0.8+0.25 = 1.05; fav 2·0.8 + 0 = 1.6;
 *                   logFav 0.8·log10(3) + 0 = 0.3816970
 *   u2 c0 (p0, p1): follow 1.5; fav 1·0.5 = 0.5; logFav 0.5·log10(2) = 0.1505150
 *   u2 c1 (p2, p3): follow 1.05; fav 1·0.25 = 0.25; logFav 0.25·log10(2) = 0.0752575
 *
 *   Column norms: c0 follow √(1.5²+1.5²) = 2.1213203, fav √(1.5²+0.5²) = 1.5811388,
 *                    logFav √(0.4402281²+0.1505150²) = 0.4652479
 *                 c1 follow √(1.05²+1.05²) = 1.4849242, fav √(1.6²+0.25²) = 1.6194135,
 *                    logFav √(0.3816970²+0.0752575²) = 0.3890454
 */
const kf: KnownFor = {
  cluster: Int32Array.from([0, 0, 1, 1]),
  score: Float32Array.from([0.5, 1.0, 0.8, 0.25]),
  k: 2,
};
const follows = csr(
  3,
  4,
  [
    [0, 0, 1],
    [0, 1, 1],
    [0, 2, 1],
    [1, 0, 1],
    [1, 2, 1],
    [1, 3, 1],
    [2, 0, 1],
    [2, 1, 1],
    [2, 2, 1],
    [2, 3, 1],
  ],
  true,
);
const itemAuthor = Int32Array.from([0, 1, 2, 3, 1]);
const log = makeLog(3, 5, [
  [0, 0, 1, T - 100 * DAY, ACTION_POSITIVE],
  [0, 1, 1, T, ACTION_POSITIVE],
  [0, 2, 1, T, ACTION_POSITIVE],
  [0, 4, 1, T - 200 * DAY, ACTION_POSITIVE],
  [1, 2, 2, T, ACTION_POSITIVE],
  [1, 3, 1, T - 100 * DAY, ACTION_POSITIVE],
  [1, 3, 1, T - 50 * DAY, ACTION_UNFAV],
  [2, 0, 1, T, ACTION_POSITIVE],
  [2, 3, 4, T - 200 * DAY, ACTION_POSITIVE],
]);

test('InterestedIn on the 3-user × 4-producer toy matches the hand computation', () => {
  const ii = computeInterestedIn({ follows, knownFor: kf, engagements: log, itemAuthor });
  assert.equal(ii.stats.now, T);
  assert.equal(ii.stats.droppedBySocialProof, 2);
  assert.equal(ii.stats.usersWithEmbedding, 3);
  assert.deepEqual(Array.from(ii.withoutProof ?? []), [0, 0, 0]);
  assert.deepEqual(Array.from(ii.indptr), [0, 1, 2, 4]);
  assertRow(row(ii, 0, 'followScore'), [[0, 1.5]], 'u0 follow');
  assertRow(row(ii, 0, 'favScore'), [[0, 1.5]], 'u0 fav');
  assertRow(row(ii, 0, 'logFavScore'), [[0, 0.4402281]], 'u0 logFav');
  assertRow(row(ii, 1, 'followScore'), [[1, 1.05]], 'u1 follow');
  assertRow(row(ii, 1, 'favScore'), [[1, 1.6]], 'u1 fav');
  assertRow(row(ii, 1, 'logFavScore'), [[1, 0.381697]], 'u1 logFav');
  assertRow(
    row(ii, 2, 'followScore'),
    [
      [0, 1.5],
      [1, 1.05],
    ],
    'u2 follow',
  );
  assertRow(
    row(ii, 2, 'favScore'),
    [
      [0, 0.5],
      [1, 0.25],
    ],
    'u2 fav',
  );
  assertRow(
    row(ii, 2, 'logFavScore'),
    [
      [0, 0.150515],
      [1, 0.0752575],
    ],
    'u2 logFav',
  );
  // Normalised: u0 c0 follow 1.5/2.1213203 = 0.7071068, fav 1.5/1.5811388 = 0.9486833, logFav 0.4402281/0.4652479
  // = 0.9462228; u1 c1: 1.05/1.4849242 = 0.7071068, 1.6/1.6194135 = 0.9880120, 0.3816970/0.3890454 = 0.9811118;
  // u2 c0: 0.7071068, 0.5/1.5811388 = 0.3162278, 0.1505150/0.4652479 = 0.3235157;
  // u2 c1: 0.7071068, 0.25/1.6194135 = 0.1543769, 0.0752575/0.3890454 = 0.1934414.
  assertRow(row(ii, 0, 'favScoreClusterNormalized'), [[0, 0.9486833]], 'u0 favN');
  assertRow(row(ii, 0, 'logFavScoreClusterNormalized'), [[0, 0.9462228]], 'u0 logFavN');
  assertRow(row(ii, 0, 'followScoreClusterNormalized'), [[0, Math.SQRT1_2]], 'u0 followN');
  assertRow(row(ii, 1, 'favScoreClusterNormalized'), [[1, 0.988012]], 'u1 favN');
  assertRow(row(ii, 1, 'logFavScoreClusterNormalized'), [[1, 0.9811118]], 'u1 logFavN');
  assertRow(
    row(ii, 2, 'favScoreClusterNormalized'),
    [
      [0, 0.3162278],
      [1, 0.1543769],
    ],
    'u2 favN',
  );
  assertRow(
    row(ii, 2, 'logFavScoreClusterNormalized'),
    [
      [0, 0.3235157],
      [1, 0.1934414],
    ],
    'u2 logFavN',
  );
  assert.ok(Math.abs(ii.columnNorms.favScore[1] - 1.6194135) < 1e-6);
  assert.ok(Math.abs(ii.columnNorms.logFavScore[0] - 0.4652479) < 1e-6);
  const m = interestedInMatrix(ii, 'logFavScore');
  assert.ok(Math.abs(m.get(2, 1) - 0.0752575) < 1e-6);
});

test('social proof: a cluster reached through one producer only is dropped, two suffice', () => {
  // With minProducersPerCluster = 1 the single-producer entries come back:
  // u0 c1 (p2): follow 0.8, fav 1·0.8 = 0.8;  u1 c0 (p0): follow 0.5, fav 0.
  const p = { ...INTERESTED_IN_DEFAULTS.social, minProducersPerCluster: 1 };
  const ii = computeInterestedIn({ follows, knownFor: kf, engagements: log, itemAuthor }, p);
  assert.equal(ii.stats.droppedBySocialProof, 0);
  assertRow(
    row(ii, 0, 'favScore'),
    [
      [0, 1.5],
      [1, 0.8],
    ],
    'u0 fav',
  );
  assertRow(
    row(ii, 1, 'followScore'),
    [
      [0, 0.5],
      [1, 1.05],
    ],
    'u1 follow',
  );
  assertRow(
    row(ii, 1, 'favScore'),
    [
      [0, 0],
      [1, 1.6],
    ],
    'u1 fav',
  );
  // Requiring 3 producers proves no cluster (no user reaches 3 producers of one cluster), so each user keeps
  // only their strongest by favScore: u0 c0 (1.5 > 0.8), u1 c1 (1.6 > 0), u2 c0 (0.5 > 0.25).
  const strict = computeInterestedIn(
    { follows, knownFor: kf, engagements: log, itemAuthor },
    { ...INTERESTED_IN_DEFAULTS.social, minProducersPerCluster: 3 },
  );
  assert.equal(strict.stats.entries, 3);
  assert.equal(strict.stats.keptWithoutProof, 3);
  assert.deepEqual(Array.from(strict.withoutProof ?? []), [1, 1, 1]);
  assert.equal(strict.stats.droppedBySocialProof, 3);
  assertRow(row(strict, 0, 'favScore'), [[0, 1.5]], 'u0 strongest');
  assertRow(row(strict, 1, 'favScore'), [[1, 1.6]], 'u1 strongest');
  assertRow(row(strict, 2, 'favScore'), [[0, 0.5]], 'u2 strongest');
});

test('top-k truncation keeps the best cluster; column norms are taken before truncation', () => {
  const p = { ...INTERESTED_IN_DEFAULTS.social, maxClustersPerUser: 1 };
  const ii = computeInterestedIn({ follows, knownFor: kf, engagements: log, itemAuthor }, p);
  // u2: fav 0.5 on c0 beats 0.25 on c1.
  assertRow(row(ii, 2, 'favScore'), [[0, 0.5]], 'u2 fav');
  assert.equal(ii.stats.droppedByTopK, 1);
  // u1's c1 is still normalised by √(1.6² + 0.25²), u2's truncated entry included.
  assertRow(row(ii, 1, 'favScoreClusterNormalized'), [[1, 0.988012]], 'u1 favN');
});

test('top-k ties: favScore, then logFavScore, then followScore, then the smaller cluster id', () => {
  // Catalogue case without a log: fav(u,p) = A[u,p]. One user, KnownFor scores 1.
  // c0 via producers with favs 3 and 1: fav 4, logFav log10(4)+log10(2) = 0.9031
  // c1 via producers with favs 2 and 2: fav 4, logFav 2·log10(3) = 0.9542  → c1 wins on logFav.
  const A = csr(1, 4, [
    [0, 0, 3],
    [0, 1, 1],
    [0, 2, 2],
    [0, 3, 2],
  ]);
  const k1: KnownFor = { cluster: Int32Array.from([0, 0, 1, 1]), score: new Float32Array(4).fill(1), k: 2 };
  const p = { ...INTERESTED_IN_DEFAULTS.catalogue, maxClustersPerUser: 1 };
  assertRow(
    row(computeInterestedIn({ follows: A, knownFor: k1 }, p), 0, 'favScore'),
    [[1, 4]],
    'logFav decides',
  );
  // Social case without favs: everything ties at 0 but follow. c0: kf 0.5+0.5 = 1.0 > c1: 0.3+0.4 = 0.7.
  const B = csr(1, 4, [
    [0, 0, 1],
    [0, 1, 1],
    [0, 2, 1],
    [0, 3, 1],
  ]);
  const k2: KnownFor = {
    cluster: Int32Array.from([0, 0, 1, 1]),
    score: Float32Array.from([0.5, 0.5, 0.3, 0.4]),
    k: 2,
  };
  const q = { ...INTERESTED_IN_DEFAULTS.social, maxClustersPerUser: 1 };
  assertRow(
    row(computeInterestedIn({ follows: B, knownFor: k2 }, q), 0, 'followScore'),
    [[0, 1]],
    'follow decides',
  );
  // Full tie → smaller cluster id.
  const k3: KnownFor = { cluster: Int32Array.from([1, 1, 0, 0]), score: new Float32Array(4).fill(0.5), k: 2 };
  assertRow(
    row(computeInterestedIn({ follows: B, knownFor: k3 }, q), 0, 'followScore'),
    [[0, 1]],
    'id decides',
  );
});

test('maxNeighborsPerUser keeps the top producers by fav, then weight, then id', () => {
  // u2 has 4 producers; with a cap of 3 it keeps p0 (fav 1), p3 (fav 1, tie on weight → id), p1 (fav 0, id < p2).
  // c0 = {p0, p1}: follow 1.5, fav 0.5; c1 = {p3} alone → dropped by social proof.
  const p = { ...INTERESTED_IN_DEFAULTS.social, maxNeighborsPerUser: 3 };
  const ii = computeInterestedIn({ follows, knownFor: kf, engagements: log, itemAuthor }, p);
  assert.equal(ii.stats.usersCapped, 1);
  assertRow(row(ii, 2, 'followScore'), [[0, 1.5]], 'u2 follow');
  assertRow(row(ii, 2, 'favScore'), [[0, 0.5]], 'u2 fav');
  // u0 and u1 have exactly 3 producers: unchanged.
  assertRow(row(ii, 0, 'favScore'), [[0, 1.5]], 'u0 fav');
});

test('catalogue case with a log: favs are the engagement weights on the producer items, undecayed', () => {
  // 2 users × 3 items (= producers), KnownFor c0 = {0, 1} (scores 1, 0.5), item 2 → c1.
  // u0 rated item 0 (4) years ago, item 1 (5) now, and unfavs nothing: fav 4 and 5 (no decay in the catalogue).
  // favScore c0 = 4·1 + 5·0.5 = 6.5; logFav = log10(5) + 0.5·log10(6) = 0.69897 + 0.389076 = 1.088046.
  // u1 engaged item 0 then unfaved it, and item 1: only item 1 counts → c0 has one producer, below social proof,
  // but it is u1's only cluster, so it is kept: fav 5·0.5 = 2.5.
  const lg = makeLog(2, 3, [
    [0, 0, 4, T - 3000 * DAY, ACTION_POSITIVE],
    [0, 1, 5, T, ACTION_POSITIVE],
    [1, 0, 3, T - 10, ACTION_POSITIVE],
    [1, 0, 1, T - 5, ACTION_UNFAV],
    [1, 1, 5, T, ACTION_POSITIVE],
  ]);
  const A = csr(2, 3, [], true);
  const k1: KnownFor = { cluster: Int32Array.from([0, 0, 1]), score: Float32Array.from([1, 0.5, 1]), k: 2 };
  const ii = computeInterestedIn(
    { follows: A, knownFor: k1, engagements: lg },
    INTERESTED_IN_DEFAULTS.catalogue,
  );
  assertRow(row(ii, 0, 'favScore'), [[0, 6.5]], 'u0 fav');
  assertRow(row(ii, 0, 'logFavScore'), [[0, 1.088046]], 'u0 logFav');
  assertRow(row(ii, 0, 'followScore'), [[0, 0]], 'u0 follows nothing');
  assertRow(row(ii, 1, 'favScore'), [[0, 2.5]], 'u1 keeps its only cluster');
  assert.equal(ii.stats.keptWithoutProof, 1);
  assert.equal(ii.stats.droppedBySocialProof, 0);
});

test('an explicit now ignores later events and decays to that time', () => {
  // now = T − 100d: u0's fav of i0 at T − 100d is fresh (1), i4 at T − 200d is 0.5, events at T are ignored.
  // u0 c0 = {p0 fav 1, p1 fav 0.5}: fav 1·0.5 + 0.5·1 = 1.0.
  const p = { ...INTERESTED_IN_DEFAULTS.social, now: T - 100 * DAY };
  const ii = computeInterestedIn({ follows, knownFor: kf, engagements: log, itemAuthor }, p);
  assertRow(row(ii, 0, 'favScore'), [[0, 1]], 'u0 fav');
});

test('cluster-normalised columns have unit L2 norm on a random graph', () => {
  const rng = new Rng(7);
  const nUsers = 60;
  const nProducers = 40;
  const entries: [number, number, number][] = [];
  for (let u = 0; u < nUsers; u++)
    for (let p = 0; p < nProducers; p++) if (rng.next() < 0.2) entries.push([u, p, 1]);
  const A = csr(nUsers, nProducers, entries, true);
  const knownFor: KnownFor = {
    cluster: Int32Array.from({ length: nProducers }, () => rng.int(6) - 1),
    score: Float32Array.from({ length: nProducers }, () => rng.next()),
    k: 5,
  };
  const ii = computeInterestedIn({ follows: A, knownFor }, { ...INTERESTED_IN_DEFAULTS.catalogue });
  for (const kind of ['followScoreClusterNormalized', 'favScoreClusterNormalized'] as const) {
    const sq = new Float64Array(5);
    const v = ii.scores[kind];
    for (let j = 0; j < v.length; j++) sq[ii.clusters[j]] += v[j] * v[j];
    for (let c = 0; c < 5; c++)
      if (sq[c] > 0) assert.ok(Math.abs(sq[c] - 1) < 1e-5, `${kind} c${c}: ${sq[c]}`);
  }
  for (const kind of INTERESTED_IN_SCORES) for (const v of ii.scores[kind]) assert.ok(Number.isFinite(v));
});

test('empty inputs give empty embeddings, never NaN', () => {
  const none = computeInterestedIn({
    follows: csr(0, 0, []),
    knownFor: { cluster: new Int32Array(0), score: new Float32Array(0), k: 0 },
  });
  assert.equal(none.nUsers, 0);
  assert.equal(none.stats.entries, 0);
  assert.ok(Number.isNaN(none.stats.now));
  // Users with no producers, producers without KnownFor.
  const ii = computeInterestedIn({
    follows: csr(3, 2, [[1, 0, 1]], true),
    knownFor: { cluster: Int32Array.from([-1, -1]), score: new Float32Array(2), k: 4 },
  });
  assert.deepEqual(Array.from(ii.indptr), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(ii.columnNorms.favScore), [0, 0, 0, 0]);
});

test('bad parameters and inconsistent shapes are coded errors', () => {
  assert.throws(
    () => computeInterestedIn({ follows, knownFor: kf }, { ...INTERESTED_IN_DEFAULTS.social, now: Infinity }),
    (e: unknown) =>
      e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'interestedIn.now',
  );
  assert.throws(
    () => computeInterestedIn({ follows: csr(1, 4, [[0, 1, Number.NaN]]), knownFor: kf }),
    (e: unknown) => e instanceof SimrecError && e.code === 'INPUT_BAD_ROW' && e.detail.field === 'weight',
  );
  assert.throws(
    () =>
      computeInterestedIn(
        { follows, knownFor: kf },
        { ...INTERESTED_IN_DEFAULTS.social, maxClustersPerUser: -1 },
      ),
    (e: unknown) =>
      e instanceof SimrecError &&
      e.code === 'CONFIG_INVALID' &&
      e.detail.field === 'interestedIn.maxClustersPerUser',
  );
  assert.throws(
    () => computeInterestedIn({ follows, knownFor: { ...kf, k: 1 } }),
    (e: unknown) => e instanceof SimrecError && e.code === 'INTERNAL',
  );
  assert.throws(
    () =>
      computeInterestedIn({
        follows,
        knownFor: kf,
        engagements: log,
        itemAuthor: Int32Array.from([0, 1, 9, 3, 1]),
      }),
    (e: unknown) => e instanceof SimrecError && e.detail.field === 'itemAuthor',
  );
});
