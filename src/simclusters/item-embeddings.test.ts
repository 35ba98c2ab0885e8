import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { clusterTop } from './cluster-index.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type EngagementLog, type KnownFor } from './embedding-types.ts';
import {
  computeInterestedIn,
  INTERESTED_IN_DEFAULTS,
  INTERESTED_IN_SCORES,
  type InterestedIn,
} from './interested-in.ts';
import {
  applyEngagement,
  computeItemEmbeddings,
  createEngagementEvent,
  createItemState,
  type EngagementEvent,
  EngagementOutcome,
  ITEM_EMBEDDING_DEFAULTS,
  type ItemEmbeddingParams,
  type ItemEmbeddingState,
  type ItemUpdateRule,
  itemEventOrder,
  itemUpdateRule,
  loadItemState,
  pairUndoMass,
  readItemState,
  recordPairOutcome,
  type UserVectorView,
  userVectorView,
} from './item-embeddings.ts';

const H = 3600;

/** An InterestedIn with, per user, [cluster, x (logFavScoreClusterNormalized), gate (favScore)] entries. */
function handInterestedIn(k: number, rows: [number, number, number][][]): InterestedIn {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, u) => {
    indptr[u + 1] = indptr[u] + r.length;
  });
  const flat = rows.flat();
  const x = Float32Array.from(flat, (e) => e[1]);
  const gate = Float32Array.from(flat, (e) => e[2]);
  const scores = {} as Record<(typeof INTERESTED_IN_SCORES)[number], Float32Array>;
  for (const kind of INTERESTED_IN_SCORES) scores[kind] = x;
  scores.favScore = gate;
  const zeros = new Float64Array(k);
  return {
    nUsers: rows.length,
    k,
    indptr,
    clusters: Int32Array.from(flat, (e) => e[0]),
    scores,
    columnNorms: { followScore: zeros, favScore: zeros, logFavScore: zeros },
    stats: {
      users: rows.length,
      usersWithEmbedding: rows.length,
      entries: flat.length,
      usersCapped: 0,
      droppedBySocialProof: 0,
      keptWithoutProof: 0,
      droppedByTopK: 0,
      now: Number.NaN,
    },
  };
}

function vec(ids: number[], values: number[], gate: number[]): UserVectorView {
  return {
    ids: Int32Array.from(ids),
    values: Float32Array.from(values),
    gate: Float32Array.from(gate),
    start: 0,
    end: ids.length,
  };
}

function event(ts: number, action = ACTION_POSITIVE, extra: Partial<EngagementEvent> = {}): EngagementEvent {
  return { ...createEngagementEvent(), ts, action, ...extra };
}

function read(s: ItemEmbeddingState, at: number, rule: ItemUpdateRule): [number, number][] {
  const ids = new Int32Array(s.k);
  const values = new Float64Array(s.k);
  const n = readItemState(s, at, rule.halfLifeSeconds, ids, values);
  return Array.from(ids.subarray(0, n), (c, j): [number, number] => [c, values[j]]).sort(
    (a, b) => a[0] - b[0],
  );
}

/** Float32 inputs (x is stored as Float32) make hand values exact only to ~1e-7. */
function approx(actual: ArrayLike<number>, expected: number[], msg = ''): void {
  assert.equal(actual.length, expected.length, msg);
  for (let j = 0; j < expected.length; j++)
    assert.ok(Math.abs(actual[j] - expected[j]) < 1e-6, `${msg}: ${actual[j]}`);
}

function close(actual: [number, number][], expected: [number, number][], msg: string): void {
  assert.equal(actual.length, expected.length, `${msg}: ${JSON.stringify(actual)}`);
  for (let j = 0; j < expected.length; j++) {
    assert.equal(actual[j][0], expected[j][0], msg);
    assert.ok(Math.abs(actual[j][1] - expected[j][1]) < 1e-6, `${msg}: ${actual[j][1]} vs ${expected[j][1]}`);
  }
}

const social: ItemUpdateRule = {
  halfLifeSeconds: 8 * H,
  maxItemAgeSeconds: 72 * H,
  minFavScore: 0.3,
  weighted: false,
};
// User A: x = (0.6, 0.2), favScore (0.5, 0.1) → only c0 passes 0.3. User B: x = (0.4, 0.5), favScore (1, 1).
const userA = vec([0, 1], [0.6, 0.2], [0.5, 0.1]);
const userB = vec([0, 1], [0.4, 0.5], [1, 1]);

test('decay and unfav by hand: the unfav removes exactly the fav’s decayed contribution', () => {
  const s = createItemState(2);
  const ledgerA = Float64Array.from([0, Number.NaN]);
  const ledgerB = Float64Array.from([0, Number.NaN]);
  // t = 0: A favs → W = (0.6, 0). ‖W‖² = 0.36, a new peak.
  let e = event(0);
  let out = applyEngagement(s, e, userA, social);
  recordPairOutcome(ledgerA, 0, e, out, social);
  assert.equal(out, EngagementOutcome.AppliedPeak);
  close(read(s, 0, social), [[0, 0.6]], 't=0');
  // t = 8 h: B favs → W = (0.6·½ + 0.4, 0.5) = (0.7, 0.5). ‖W‖² = 0.74, a new peak.
  e = event(8 * H);
  out = applyEngagement(s, e, userB, social);
  recordPairOutcome(ledgerB, 0, e, out, social);
  assert.equal(out, EngagementOutcome.AppliedPeak);
  close(
    read(s, 8 * H, social),
    [
      [0, 0.7],
      [1, 0.5],
    ],
    't=8h',
  );
  // t = 16 h: A unfavs. A's fav (mass 1 at t = 0) has decayed to 2^(−16/8) = ¼, so the unfav subtracts
  // 0.6·¼ = 0.15 from c0 after decaying W to 16 h: (0.35 − 0.15, 0.25) = (0.2, 0.25) — exactly B's fav alone,
  // decayed 8 h: (0.4·½, 0.5·½).
  e = event(16 * H, ACTION_UNFAV);
  e.undoMass = pairUndoMass(ledgerA, 0, e.ts, social);
  assert.equal(e.undoMass, 0.25);
  out = applyEngagement(s, e, userA, social);
  recordPairOutcome(ledgerA, 0, e, out, social);
  assert.equal(out, EngagementOutcome.Applied);
  close(
    read(s, 16 * H, social),
    [
      [0, 0.2],
      [1, 0.25],
    ],
    't=16h',
  );
  // Readers decay to now: at 24 h, (0.1, 0.125).
  close(
    read(s, 24 * H, social),
    [
      [0, 0.1],
      [1, 0.125],
    ],
    'at 24h',
  );
  // A second unfav has nothing left to undo.
  e = event(20 * H, ACTION_UNFAV);
  e.undoMass = pairUndoMass(ledgerA, 0, e.ts, social);
  assert.equal(e.undoMass, 0);
  assert.equal(applyEngagement(s, e, userA, social), EngagementOutcome.SkippedNothingToUndo);
  assert.equal(s.engagements, 2);
  assert.equal(s.lastUpdateTs, 16 * H);
  assert.ok(Math.abs(s.peakNorm2 - 0.74) < 1e-6);
});

test('a user none of whose clusters reaches the threshold adds the strongest ones, and undoes them alike', () => {
  // User C: favScore (0.2, 0.1, 0.2), all below 0.3 → the threshold falls to 0.2: c0 and c2 count, c1 does not.
  const userC = vec([0, 1, 2], [0.5, 0.3, 0.1], [0.2, 0.1, 0.2]);
  // A user with follows only (favScore 0 everywhere) has no strongest cluster: nothing passes.
  const followOnly = vec([0], [0.7], [0]);
  const s = createItemState(3);
  const ledger = Float64Array.from([0, Number.NaN]);
  let e = event(0);
  let out = applyEngagement(s, e, userC, social);
  recordPairOutcome(ledger, 0, e, out, social);
  close(
    read(s, 0, social),
    [
      [0, 0.5],
      [2, 0.1],
    ],
    'C fav',
  );
  // User A keeps the published rule: c0 (0.5) passes, c1 (0.1) does not; W = (0.5 + 0.6, 0, 0.1).
  applyEngagement(s, event(0), userA, social);
  applyEngagement(s, event(0), followOnly, social);
  close(
    read(s, 0, social),
    [
      [0, 1.1],
      [2, 0.1],
    ],
    'A and follow-only favs',
  );
  // C's unfav subtracts what its fav added, over the same clusters: (0.6, 0, 0).
  e = event(0, ACTION_UNFAV, { undoMass: pairUndoMass(ledger, 0, 0, social) });
  out = applyEngagement(s, e, userC, social);
  assert.equal(out, EngagementOutcome.Applied);
  close(read(s, 0, social), [[0, 0.6]], 'C unfav');
});

test('two favs of one pair are undone together; the clamp keeps W ≥ 0 when the user vector grew', () => {
  const s = createItemState(1);
  const ledger = Float64Array.from([0, Number.NaN]);
  const small = vec([0], [0.1], [1]);
  // Favs at 0 and 8 h: mass = 1·½ + 1 = 1.5 at 8 h; W = 0.1·½ + 0.1 = 0.15.
  for (const t of [0, 8 * H]) {
    const e = event(t);
    recordPairOutcome(ledger, 0, e, applyEngagement(s, e, small, social), social);
  }
  assert.deepEqual(Array.from(ledger), [1.5, 8 * H]);
  close(read(s, 8 * H, social), [[0, 0.15]], 'two favs');
  // Unfav at 8 h with the same vector: subtracts 0.1·1.5 = 0.15 → 0.
  const e = event(8 * H, ACTION_UNFAV, { undoMass: pairUndoMass(ledger, 0, 8 * H, social) });
  const copy = createItemState(1);
  loadItemState(copy, Int32Array.from([0]), Float64Array.from([0.15]), 8 * H);
  applyEngagement(s, e, small, social);
  close(read(s, 8 * H, social), [], 'undone');
  // The same unfav when the user's vector has meanwhile grown to 0.5: 0.15 − 0.75 → clamped to 0, not negative.
  applyEngagement(copy, e, vec([0], [0.5], [1]), social);
  close(read(copy, 8 * H, social), [], 'clamped');
  assert.equal(copy.value[0], 0);
});

test('skips: the author’s own engagement, items past the age limit (strictly), unknown ages pass', () => {
  const s = createItemState(2);
  assert.equal(
    applyEngagement(s, event(0, ACTION_POSITIVE, { byAuthor: true }), userB, social),
    EngagementOutcome.SkippedOwnItem,
  );
  const created = 1000;
  assert.equal(
    applyEngagement(
      s,
      event(created + 72 * H + 1, ACTION_POSITIVE, { itemCreatedTs: created }),
      userB,
      social,
    ),
    EngagementOutcome.SkippedTooOld,
  );
  assert.equal(s.engagements, 0);
  assert.equal(s.nTouched, 0);
  assert.equal(
    applyEngagement(s, event(created + 72 * H, ACTION_POSITIVE, { itemCreatedTs: created }), userB, social),
    EngagementOutcome.AppliedPeak,
  );
  assert.equal(
    applyEngagement(s, event(1e12, ACTION_POSITIVE, { itemCreatedTs: Number.NaN }), userB, social),
    EngagementOutcome.Applied,
  );
  // The catalogue rule has no age limit and no decay.
  const catalogue = itemUpdateRule(ITEM_EMBEDDING_DEFAULTS.catalogue);
  const c = createItemState(2);
  applyEngagement(c, event(0, ACTION_POSITIVE, { itemCreatedTs: -1e9 }), userB, catalogue);
  applyEngagement(c, event(1e9), userB, catalogue);
  close(
    read(c, 2e9, catalogue),
    [
      [0, 0.8],
      [1, 1],
    ],
    'catalogue',
  );
});

test('late and untimed events: a late fav adds its decayed contribution; unknown time adds undecayed', () => {
  const inOrder = createItemState(2);
  applyEngagement(inOrder, event(0), userB, social);
  applyEngagement(inOrder, event(8 * H), userB, social);
  const late = createItemState(2);
  applyEngagement(late, event(8 * H), userB, social);
  applyEngagement(late, event(0), userB, social);
  // Both: x·(½ + 1) = (0.6, 0.75) at 8 h.
  close(read(late, 8 * H, social), read(inOrder, 8 * H, social), 'late');
  close(
    read(late, 8 * H, social),
    [
      [0, 0.6],
      [1, 0.75],
    ],
    'value',
  );
  assert.equal(late.lastUpdateTs, 8 * H);
  applyEngagement(late, event(Number.NaN), userB, social);
  assert.equal(late.lastUpdateTs, 8 * H);
  close(
    read(late, 8 * H, social),
    [
      [0, 1.0],
      [1, 1.25],
    ],
    'untimed',
  );
  // Weighted rule: a weight-3 event adds 3·x.
  const weighted = { ...social, weighted: true };
  const w = createItemState(2);
  applyEngagement(w, event(0, ACTION_POSITIVE, { weight: 3 }), userB, weighted);
  close(
    read(w, 0, weighted),
    [
      [0, 1.2],
      [1, 1.5],
    ],
    'weighted',
  );
});

test('decay over a year of half-lives stays exact (scale folding), never NaN or Infinity', () => {
  const s = createItemState(1);
  const u = vec([0], [1], [1]);
  // One fav every 8 h for 400 days: W converges to 1/(1 − ½) = 2 right after each fav.
  for (let n = 0; n < 1200; n++) applyEngagement(s, event(n * 8 * H), u, social);
  close(read(s, 1199 * 8 * H, social), [[0, 2]], 'steady state');
  assert.ok(Number.isFinite(s.norm2) && Number.isFinite(s.scale));
});

/** (user, item, weight, ts, action) events → a log aligned with fromCoo('keep'). */
function makeLog(
  nUsers: number,
  nItems: number,
  events: [number, number, number, number, number][],
): EngagementLog {
  const order = events
    .map((_, i) => i)
    .sort((a, b) => events[a][0] - events[b][0] || events[a][1] - events[b][1] || a - b);
  const sorted = order.map((i) => events[i]);
  return {
    matrix: CsrMatrix.fromCoo(
      Int32Array.from(sorted, (e) => e[0]),
      Int32Array.from(sorted, (e) => e[1]),
      Float32Array.from(sorted, (e) => e[2]),
      nUsers,
      nItems,
      'keep',
    ),
    ts: Float64Array.from(sorted, (e) => e[3]),
    action: Uint8Array.from(sorted, (e) => e[4]),
  };
}

test('batch on the hand example: view, index, longest-L2 and time order independent of log order', () => {
  // u0 = A, u1 = B of the hand test; the log lists A's unfav (16 h) before its fav (0) and B's fav (8 h) last.
  const ii = handInterestedIn(2, [
    [
      [0, 0.6, 0.5],
      [1, 0.2, 0.1],
    ],
    [
      [0, 0.4, 1],
      [1, 0.5, 1],
    ],
  ]);
  const log = makeLog(2, 1, [
    [0, 0, 1, 16 * H, ACTION_UNFAV],
    [0, 0, 1, 0, ACTION_POSITIVE],
    [1, 0, 1, 8 * H, ACTION_POSITIVE],
  ]);
  const params: ItemEmbeddingParams = {
    ...ITEM_EMBEDDING_DEFAULTS.social,
    now: 24 * H,
    minEngagementsForLongest: 2,
  };
  const r = computeItemEmbeddings({ engagements: log, interestedIn: ii }, params);
  // At 24 h: (0.1, 0.125), both ≥ 0.02.
  assert.deepEqual(Array.from(r.embedding.rowIndices(0)), [0, 1]);
  approx(r.embedding.rowValues(0)!, [0.1, 0.125]);
  assert.equal(r.asOf, 24 * H);
  assert.equal(r.lastUpdateTs[0], 16 * H);
  assert.equal(r.engagements[0], 2);
  // Longest-L2: the state right after B's fav, (0.7, 0.5) at 8 h.
  approx(r.longest.rowValues(0)!, [0.7, 0.5]);
  assert.equal(r.longestTs[0], 8 * H);
  approx(clusterTop(r.clusterTopItems, 1).scores, [0.125]);
  assert.equal(r.stats.positivesApplied, 2);
  assert.equal(r.stats.unfavsApplied, 1);
  // One cluster per item keeps c1; a 0.11 threshold drops c0 (0.1) from the view. The cosine-ordered index
  // (default) follows the view, which is what the exact step scores; the score-ordered one the raw state.
  const narrow = computeItemEmbeddings(
    { engagements: log, interestedIn: ii },
    { ...params, maxClustersPerItem: 1 },
  );
  assert.deepEqual(Array.from(narrow.embedding.rowIndices(0)), [1]);
  const high = computeItemEmbeddings(
    { engagements: log, interestedIn: ii },
    { ...params, minItemScore: 0.11 },
  );
  assert.deepEqual(Array.from(high.embedding.rowIndices(0)), [1]);
  assert.deepEqual(Array.from(clusterTop(high.clusterTopItems, 0).ids), []);
  // ...and its score there is the stored W: 0.125 (the whole view), ranked by cosine 1.
  approx(clusterTop(high.clusterTopItems, 1).scores, [0.125]);
  const highByScore = computeItemEmbeddings(
    { engagements: log, interestedIn: ii },
    { ...params, minItemScore: 0.11, indexOrder: 'score' },
  );
  assert.deepEqual(Array.from(clusterTop(highByScore.clusterTopItems, 0).ids), [0]);
  // Past the age limit at now (created 100 h before now): still embedded, not indexed.
  const old = computeItemEmbeddings(
    { engagements: log, interestedIn: ii, itemCreatedTs: Float64Array.from([24 * H - 100 * H]) },
    params,
  );
  assert.equal(old.clusterTopItems.ids.length, 0);
  // Events after `now` are ignored: as of 12 h only A's fav and B's fav have happened.
  const early = computeItemEmbeddings({ engagements: log, interestedIn: ii }, { ...params, now: 12 * H });
  assert.equal(early.stats.eventsAfterNow, 1);
  // (0.7, 0.5) at 8 h decayed 4 h: ·2^(−½).
  const f = 2 ** -0.5;
  approx(early.embedding.rowValues(0)!, [0.7 * f, 0.5 * f]);
});

/**
 * The reference: every event through the same applyEngagement in one global time order, with Map state per item
 * and per (user, item) pair, snapshots copied on each new peak, and views/index built by plain sorting.
 */
function naive(
  log: EngagementLog,
  ii: InterestedIn,
  params: ItemEmbeddingParams,
  itemAuthor: Int32Array,
  userProducer: Int32Array,
  created: Float64Array,
) {
  const rule = itemUpdateRule(params, log);
  let now = params.now ?? -Infinity;
  if (params.now === null) for (const t of log.ts) if (t > now) now = t;
  const m = log.matrix;
  const userOfEntry: number[] = [];
  for (let u = 0; u < m.nRows; u++) for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) userOfEntry[p] = u;
  const key = (t: number) => (Number.isNaN(t) ? -Infinity : t);
  const events = [...Array(m.nnz).keys()]
    .filter((p) => !(log.ts[p] > now))
    .sort((a, b) => key(log.ts[a]) - key(log.ts[b]) || a - b);
  const states = new Map<number, ItemEmbeddingState>();
  const pairs = new Map<string, Float64Array>();
  const snapshots = new Map<number, { values: [number, number][]; ts: number }>();
  for (const p of events) {
    const u = userOfEntry[p];
    const i = m.indices[p];
    if (!states.has(i)) states.set(i, createItemState(ii.k));
    const s = states.get(i)!;
    const pk = `${u},${i}`;
    if (!pairs.has(pk)) pairs.set(pk, Float64Array.from([0, Number.NaN]));
    const ledger = pairs.get(pk)!;
    const e: EngagementEvent = {
      ts: log.ts[p],
      action: log.action[p],
      weight: m.values ? m.values[p] : 1,
      itemCreatedTs: created[i],
      byAuthor: itemAuthor[i] >= 0 && userProducer[u] === itemAuthor[i],
      undoMass: log.action[p] === ACTION_UNFAV ? pairUndoMass(ledger, 0, log.ts[p], rule) : 0,
    };
    const out = applyEngagement(s, e, userVectorView(ii, u, params.userScore), rule);
    recordPairOutcome(ledger, 0, e, out, rule);
    if (out === EngagementOutcome.AppliedPeak)
      snapshots.set(i, { values: read(s, Number.NaN, rule), ts: s.lastUpdateTs });
  }
  const viewOf = (entries: [number, number][]) =>
    entries
      .filter(([, v]) => v >= params.minItemScore)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, params.maxClustersPerItem)
      .sort((a, b) => a[0] - b[0])
      .map(([c, v]): [number, number] => [c, Math.fround(v)]);
  const views: [number, number][][] = [];
  const longest: [number, number][][] = [];
  const index: [number, number][][] = Array.from({ length: ii.k }, () => []);
  for (let i = 0; i < m.nCols; i++) {
    const s = states.get(i);
    const full = s ? read(s, now, rule) : [];
    views.push(viewOf(full));
    const tooOld = rule.maxItemAgeSeconds !== null && now - created[i] > rule.maxItemAgeSeconds;
    if (!tooOld) for (const [c, v] of full) if (v >= params.minIndexScore) index[c].push([i, Math.fround(v)]);
    const snap = snapshots.get(i);
    longest.push(s && snap && s.engagements >= params.minEngagementsForLongest ? viewOf(snap.values) : []);
  }
  for (const list of index) list.sort((a, b) => b[1] - a[1] || a[0] - b[0]).splice(params.topItemsPerCluster);
  return { views, longest, index, states };
}

function randomCase(seed: number) {
  const rng = new Rng(seed);
  const nUsers = 30;
  const nProducers = 12;
  const nItems = 25;
  const k = 6;
  const T0 = 1_700_000_000;
  const follows: [number, number][] = [];
  for (let u = 0; u < nUsers; u++)
    for (let p = 0; p < nProducers; p++) if (rng.next() < 0.35) follows.push([u, p]);
  const A = CsrMatrix.fromCoo(
    Int32Array.from(follows, (f) => f[0]),
    Int32Array.from(follows, (f) => f[1]),
    null,
    nUsers,
    nProducers,
  );
  const knownFor: KnownFor = {
    cluster: Int32Array.from({ length: nProducers }, () => rng.int(k + 1) - 1),
    score: Float32Array.from({ length: nProducers }, () => 0.2 + 0.8 * rng.next()),
    k,
  };
  const itemAuthor = Int32Array.from({ length: nItems }, () => rng.int(nProducers + 1) - 1);
  const userProducer = Int32Array.from({ length: nUsers }, (_, u) => (u < nProducers ? u : -1));
  const created = Float64Array.from({ length: nItems }, () =>
    rng.next() < 0.15 ? Number.NaN : T0 - rng.int(48) * H,
  );
  const events: [number, number, number, number, number][] = [];
  for (let n = 0; n < 900; n++) {
    const ts = rng.next() < 0.05 ? Number.NaN : T0 + rng.int(120) * 900; // 15-minute steps: many equal times
    events.push([rng.int(nUsers), rng.int(nItems), 1 + rng.int(5), ts, rng.next() < 0.2 ? ACTION_UNFAV : 0]);
  }
  const log = makeLog(nUsers, nItems, events);
  const ii = computeInterestedIn(
    { follows: A, knownFor, engagements: log, itemAuthor },
    { ...INTERESTED_IN_DEFAULTS.social, favHalfLifeDays: 1 },
  );
  return { log, ii, itemAuthor, userProducer, created };
}

test('the batch fold equals event-by-event application with Map state, on a random seeded log', () => {
  // The reference ranks the index by W[i,c] ('score'); the 'cosine' order is tested by hand below.
  const variants: ItemEmbeddingParams[] = [
    {
      ...ITEM_EMBEDDING_DEFAULTS.social,
      indexOrder: 'score',
      maxItemAgeHours: 24,
      minFavScore: 0.05,
      maxClustersPerItem: 3,
      topItemsPerCluster: 5,
      minEngagementsForLongest: 3,
    },
    {
      ...ITEM_EMBEDDING_DEFAULTS.catalogue,
      indexOrder: 'score',
      minFavScore: 0.05,
      weighted: true,
      minEngagementsForLongest: 2,
    },
    {
      ...ITEM_EMBEDDING_DEFAULTS.social,
      indexOrder: 'score',
      now: 1_700_000_000 + 60 * 900,
      scaleMinFavScore: 'none',
    },
  ];
  for (const [seed, params] of variants.entries()) {
    const { log, ii, itemAuthor, userProducer, created } = randomCase(seed + 1);
    const batch = computeItemEmbeddings(
      { engagements: log, interestedIn: ii, itemAuthor, userProducer, itemCreatedTs: created },
      params,
    );
    const ref = naive(log, ii, params, itemAuthor, userProducer, created);
    let nonEmpty = 0;
    let withLongest = 0;
    for (let i = 0; i < log.matrix.nCols; i++) {
      const got = Array.from(batch.embedding.rowIndices(i), (c, j): [number, number] => [
        c,
        batch.embedding.rowValues(i)![j],
      ]);
      assert.deepEqual(got, ref.views[i], `variant ${seed} item ${i}`);
      const gotLongest = Array.from(batch.longest.rowIndices(i), (c, j): [number, number] => [
        c,
        batch.longest.rowValues(i)![j],
      ]);
      assert.deepEqual(gotLongest, ref.longest[i], `variant ${seed} longest ${i}`);
      const s = ref.states.get(i);
      assert.equal(batch.engagements[i], s ? s.engagements : 0);
      assert.equal(batch.lastUpdateTs[i], s ? s.lastUpdateTs : Number.NaN);
      if (got.length > 0) nonEmpty++;
      if (gotLongest.length > 0) withLongest++;
    }
    for (let c = 0; c < ii.k; c++) {
      const top = clusterTop(batch.clusterTopItems, c);
      assert.deepEqual(
        Array.from(top.ids, (id, j): [number, number] => [id, top.scores[j]]),
        ref.index[c],
        `variant ${seed} cluster ${c}`,
      );
    }
    // The comparison must not be vacuous: most items are embedded, some keep a longest-L2 view, rules fire.
    assert.ok(nonEmpty > 10, `variant ${seed}: ${nonEmpty} embedded items`);
    assert.ok(withLongest > 0, `variant ${seed}: no longest-L2 views`);
    assert.ok(
      batch.stats.unfavsApplied > 0 && batch.stats.skippedNothingToUndo > 0,
      JSON.stringify(batch.stats),
    );
    if (seed === 0) assert.ok(batch.stats.skippedTooOld > 0 && batch.stats.skippedOwnItem > 0);
    for (const v of batch.embedding.values!) assert.ok(Number.isFinite(v) && v > 0);
  }
});

test('event order: groups by item in (time, position) order, short and long groups alike', () => {
  // 900 events over 25 items: groups of ~36 exercise both the insertion sort and the comparator sort.
  const { log } = randomCase(9);
  const now = 1_700_000_000 + 100 * 900;
  const a = itemEventOrder(log, now);
  const key = (t: number) => (Number.isNaN(t) ? -Infinity : t);
  for (let i = 0; i < log.matrix.nCols; i++) {
    for (let q = a.itemPtr[i]; q < a.itemPtr[i + 1]; q++) {
      const p = a.order[q];
      assert.equal(log.matrix.indices[p], i);
      assert.ok(!(log.ts[p] > now));
      if (q > a.itemPtr[i]) {
        const prev = a.order[q - 1];
        assert.ok(key(log.ts[prev]) < key(log.ts[p]) || (key(log.ts[prev]) === key(log.ts[p]) && prev < p));
      }
    }
  }
  let long = 0;
  for (let i = 0; i < log.matrix.nCols; i++) if (a.itemPtr[i + 1] - a.itemPtr[i] > 32) long++;
  assert.ok(long > 0 && long < log.matrix.nCols, `${long} long groups`);
  let excluded = 0;
  for (const t of log.ts) if (t > now) excluded++;
  assert.ok(excluded > 0);
  assert.equal(a.order.length, log.matrix.nnz - excluded);
});

test('meanWeight scaling multiplies the threshold by the mean positive weight', () => {
  const log = makeLog(1, 1, [
    [0, 0, 2, 0, ACTION_POSITIVE],
    [0, 0, 4, 1, ACTION_POSITIVE],
    [0, 0, 100, 2, ACTION_UNFAV],
  ]);
  assert.ok(Math.abs(itemUpdateRule(ITEM_EMBEDDING_DEFAULTS.social, log).minFavScore - 0.9) < 1e-12);
  assert.equal(
    itemUpdateRule({ ...ITEM_EMBEDDING_DEFAULTS.social, scaleMinFavScore: 'none' }, log).minFavScore,
    0.3,
  );
});

test('empty inputs: no items, no events, no clusters', () => {
  const empty = makeLog(0, 0, []);
  const r = computeItemEmbeddings({ engagements: empty, interestedIn: handInterestedIn(0, []) });
  assert.equal(r.embedding.nRows, 0);
  assert.ok(Number.isNaN(r.asOf));
  const noEvents = computeItemEmbeddings({
    engagements: makeLog(2, 3, []),
    interestedIn: handInterestedIn(4, [[], []]),
  });
  assert.deepEqual(Array.from(noEvents.embedding.indptr), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(noEvents.longest.indptr), [0, 0, 0, 0]);
  assert.equal(noEvents.clusterTopItems.nClusters, 4);
  assert.throws(
    () => computeItemEmbeddings({ engagements: makeLog(2, 3, []), interestedIn: handInterestedIn(4, [[]]) }),
    (e: unknown) => e instanceof SimrecError && e.code === 'INTERNAL',
  );
  assert.throws(
    () =>
      computeItemEmbeddings(
        { engagements: makeLog(1, 1, []), interestedIn: handInterestedIn(1, [[]]) },
        { ...ITEM_EMBEDDING_DEFAULTS.social, halfLifeHours: 0 },
      ),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
});

test("indexOrder 'cosine' ranks a cluster's items by their shrunk share W[i,c]/(‖W_i‖ + λ) and stores W[i,c]", () => {
  // Two users on clusters (0, 1): user 0 has (1, 0) on c0 only, user 1 has (0.6, 0.8) on both.
  // Item 0: fav by user 0 → W = (1, 0), norm 1. Item 1: favs by users 0 and 1 → W = (1.6, 0.8), norm √3.2.
  // With shrinkage 1, λ = the median item norm (upper of two) = √3.2. Item 0: 1/(1 + √3.2) = 0.359; item 1: 1.6/(2√3.2) = 0.447:
  // the item with two engagements ranks first although its share (0.894) is below item 0's (1).
  const ii = {
    nUsers: 2,
    k: 2,
    indptr: Int32Array.from([0, 1, 3]),
    clusters: Int32Array.from([0, 0, 1]),
    scores: Object.fromEntries(
      [
        'followScore',
        'favScore',
        'logFavScore',
        'followScoreClusterNormalized',
        'favScoreClusterNormalized',
        'logFavScoreClusterNormalized',
      ].map((k) => [k, Float32Array.from([1, 0.6, 0.8])]),
    ),
    columnNorms: {
      followScore: new Float64Array(2),
      favScore: new Float64Array(2),
      logFavScore: new Float64Array(2),
    },
    stats: {
      users: 2,
      usersWithEmbedding: 2,
      entries: 3,
      usersCapped: 0,
      droppedBySocialProof: 0,
      keptWithoutProof: 0,
      droppedByTopK: 0,
      now: 0,
    },
  } as unknown as Parameters<typeof computeItemEmbeddings>[0]['interestedIn'];
  const log = makeLog(2, 2, [
    [0, 0, 1, 0, ACTION_POSITIVE],
    [0, 1, 1, 0, ACTION_POSITIVE],
    [1, 1, 1, 0, ACTION_POSITIVE],
  ]);
  const base = {
    ...ITEM_EMBEDDING_DEFAULTS.catalogue,
    minFavScore: 0.1,
    scaleMinFavScore: 'none' as const,
    shrinkage: 1,
  };
  const byCosine = computeItemEmbeddings(
    { engagements: log, interestedIn: ii },
    { ...base, indexOrder: 'cosine' },
  );
  const top = clusterTop(byCosine.clusterTopItems, 0);
  assert.deepEqual(Array.from(top.ids), [1, 0]);
  approx(top.scores, [1.6, 1]);
  // shrinkage 0: the plain share, where the single-engagement item (share 1) comes first.
  const plain = computeItemEmbeddings({ engagements: log, interestedIn: ii }, { ...base, shrinkage: 0 });
  assert.deepEqual(Array.from(clusterTop(plain.clusterTopItems, 0).ids), [0, 1]);
  const byScore = computeItemEmbeddings(
    { engagements: log, interestedIn: ii },
    { ...base, indexOrder: 'score' },
  );
  assert.deepEqual(Array.from(clusterTop(byScore.clusterTopItems, 0).ids), [1, 0]);
});
