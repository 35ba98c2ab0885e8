import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { HybridMF, type MfBuffers, type MfFitInput } from './model.ts';

/**
 * Planted taste clusters: item i belongs to cluster i % k; user u to cluster u % k and picks 80% of its items
 * from its cluster (popular ones more often), 20% anywhere. The last fifth of each user's picks is the test.
 */
function planted(seed: number, nUsers = 240, nItems = 120, k = 4, perUser = 15) {
  const rng = new Rng(seed);
  const rows: number[] = [];
  const cols: number[] = [];
  const testRows: number[] = [];
  const testCols: number[] = [];
  const pick = (cluster: number) => {
    // Zipf-ish within the cluster: index ⌊m·U²⌋ favours the cluster's first items.
    const m = Math.floor(nItems / k);
    return cluster + k * Math.floor(m * rng.next() ** 2);
  };
  for (let u = 0; u < nUsers; u++) {
    const chosen = new Set<number>();
    while (chosen.size < perUser) chosen.add(rng.next() < 0.8 ? pick(u % k) : rng.int(nItems));
    const list = [...chosen];
    list.forEach((i, n) => {
      if (n < perUser * 0.8) {
        rows.push(u);
        cols.push(i);
      } else {
        testRows.push(u);
        testCols.push(i);
      }
    });
  }
  const csr = (r: number[], c: number[]) =>
    CsrMatrix.fromCoo(Int32Array.from(r), Int32Array.from(c), null, nUsers, nItems);
  // Side features: the item's cluster (a perfect genre) and a noise tag.
  const tagRows: number[] = [];
  const tagCols: number[] = [];
  for (let i = 0; i < nItems; i++) {
    tagRows.push(i, i);
    tagCols.push(i % k, k + (i % 3));
  }
  return {
    input: { nUsers, nItems, interactions: csr(rows, cols) } as MfFitInput,
    test: csr(testRows, testCols),
    tags: CsrMatrix.fromCoo(Int32Array.from(tagRows), Int32Array.from(tagCols), null, nItems, k + 3),
    k,
  };
}

const DATA = planted(1);
const FAST = { components: 8 };

function bytesOf(m: HybridMF): MfBuffers {
  return m.toBuffers();
}

function precisionAt10(model: HybridMF, data = DATA): number {
  const scores = new Float32Array(data.input.nItems);
  let p = 0;
  let users = 0;
  for (let u = 0; u < data.input.nUsers; u++) {
    const test = new Set(data.test.rowIndices(u));
    if (test.size === 0) continue;
    model.scoreUser(u, scores);
    for (const i of data.input.interactions.rowIndices(u)) scores[i] = Number.NEGATIVE_INFINITY;
    const top = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, 10);
    p += top.filter((i) => test.has(i)).length / 10;
    users++;
  }
  return p / users;
}

test('one thread is exactly reproducible, in the calling thread or in a worker', async () => {
  const a = new HybridMF(FAST);
  const b = new HybridMF(FAST);
  const c = new HybridMF(FAST);
  await a.fit(DATA.input, { epochs: 3, seed: 7 });
  await b.fit(DATA.input, { epochs: 3, seed: 7 });
  await c.fit(DATA.input, { epochs: 3, seed: 7, inline: false });
  assert.deepEqual(bytesOf(b), bytesOf(a));
  assert.deepEqual(bytesOf(c), bytesOf(a));
  const d = new HybridMF(FAST);
  await d.fit(DATA.input, { epochs: 3, seed: 8 });
  assert.notDeepEqual(bytesOf(d).itemParams, bytesOf(a).itemParams);
});

test('fit for k epochs then fitPartial for m more equals fitting k + m epochs', async () => {
  for (const params of [FAST, { ...FAST, loss: 'bpr' as const, learningSchedule: 'adadelta' as const }]) {
    const whole = new HybridMF(params);
    await whole.fit({ ...DATA.input, itemFeatures: DATA.tags }, { epochs: 4, seed: 3 });
    const parts = new HybridMF(params);
    await parts.fit({ ...DATA.input, itemFeatures: DATA.tags }, { epochs: 1, seed: 3 });
    await parts.fitPartial({ ...DATA.input, itemFeatures: DATA.tags }, { epochs: 3, seed: 3 });
    assert.equal(parts.epochsTrained, 4);
    assert.deepEqual(bytesOf(parts), bytesOf(whole));
  }
});

test('every loss learns the planted clusters well above popularity, with Hogwild threads too', async () => {
  // Popularity baseline: item counts in train, same exclusions.
  const counts = DATA.input.interactions.colCounts();
  const pop = { scoreUser: (_u: number, out: Float32Array) => out.set(counts) } as unknown as HybridMF;
  const popP = precisionAt10(pop);
  // Two threads: the calling thread and a worker (inline), or two workers.
  for (const [loss, threads, inline] of [
    ['warp', 2, true],
    ['bpr', 2, false],
    ['logistic', 1, true],
    ['warp-kos', 1, true],
  ] as const) {
    const m = new HybridMF({ components: 16, loss });
    await m.fit(DATA.input, { epochs: 20, seed: 1, threads, inline });
    const p = precisionAt10(m);
    assert.ok(p > 3 * popP, `${loss}: precision@10 ${p.toFixed(3)} vs popularity ${popP.toFixed(3)}`);
  }
});

test('folded representations reproduce scoreUser by a plain dot product', async () => {
  for (const itemFeatures of [undefined, DATA.tags]) {
    const m = new HybridMF(FAST);
    await m.fit({ ...DATA.input, itemFeatures }, { epochs: 2, seed: 2 });
    const items = m.itemRepresentations();
    const users = m.userRepresentations();
    assert.equal(items.dim, 10);
    assert.equal(users.vectors.length, DATA.input.nUsers * 10);
    const scores = new Float32Array(DATA.input.nItems);
    for (const u of [0, 17, 239]) {
      m.scoreUser(u, scores);
      const rep = m.userRepresentation(u);
      assert.deepEqual(rep, users.vectors.subarray(u * 10, u * 10 + 10));
      assert.equal(rep[9], 1);
      for (let i = 0; i < DATA.input.nItems; i++) {
        let s = 0;
        for (let j = 0; j < 10; j++) s += rep[j] * items.vectors[i * 10 + j];
        assert.ok(Math.abs(s - scores[i]) < 1e-5, `user ${u} item ${i}: ${s} vs ${scores[i]}`);
      }
      const viaRep = new Float32Array(DATA.input.nItems);
      m.scoreRepresentation(rep, viaRep);
      for (let i = 0; i < DATA.input.nItems; i++) assert.ok(Math.abs(viaRep[i] - scores[i]) < 1e-5);
    }
  }
});

test('toBuffers/fromBuffers round-trips scores and optimiser state; damage is ARTIFACT_CORRUPT', async () => {
  const input = { ...DATA.input, itemFeatures: DATA.tags };
  const m = new HybridMF({ ...FAST, loss: 'bpr' });
  await m.fit(input, { epochs: 2, seed: 4 });
  const bufs = m.toBuffers();
  const back = HybridMF.fromBuffers(bufs);
  assert.equal(back.nUsers, m.nUsers);
  assert.equal(back.epochsTrained, 2);
  assert.deepEqual(back.params, m.params);
  const s1 = new Float32Array(DATA.input.nItems);
  const s2 = new Float32Array(DATA.input.nItems);
  m.scoreUser(5, s1);
  back.scoreUser(5, s2);
  assert.deepEqual(s2, s1);
  // Continuing after a reload is continuing in memory.
  await m.fitPartial(input, { epochs: 1, seed: 4 });
  await back.fitPartial(input, { epochs: 1, seed: 4 });
  assert.deepEqual(back.toBuffers(), m.toBuffers());

  const corrupt = (b: MfBuffers) =>
    assert.throws(() => HybridMF.fromBuffers(b), { code: 'ARTIFACT_CORRUPT' });
  corrupt({ ...bufs, itemParams: bufs.itemParams.subarray(4) });
  corrupt({ ...bufs, meta: new TextEncoder().encode('{"format":"other"}') });
  corrupt({ ...bufs, meta: Uint8Array.of(0xff, 0x7b) });
  const { itemIndices: _, ...noIndices } = bufs;
  corrupt(noIndices);
  const badIdx = new Int32Array(bufs.itemIndices.slice().buffer);
  badIdx[0] = 1 << 30;
  corrupt({ ...bufs, itemIndices: new Uint8Array(badIdx.buffer) });
});

test('fromBuffers without user rows: no users, and fold-ins and item vectors exactly as the full model', async () => {
  // User side features too (each user tagged u % 3), so the user slabs hold side rows after the skipped ones.
  const userFeatures = CsrMatrix.fromCoo(
    Int32Array.from({ length: DATA.input.nUsers }, (_, u) => u),
    Int32Array.from({ length: DATA.input.nUsers }, (_, u) => u % 3),
    null,
    DATA.input.nUsers,
    3,
  );
  for (const schedule of ['adagrad', 'adadelta'] as const) {
    const m = new HybridMF({ ...FAST, learningSchedule: schedule });
    await m.fit({ ...DATA.input, itemFeatures: DATA.tags, userFeatures }, { epochs: 2, seed: 6 });
    const items = HybridMF.fromBuffers(m.toBuffers(), { userRows: false });
    assert.equal(items.nUsers, 0);
    assert.equal(items.nItems, m.nItems);
    assert.deepEqual(items.itemRepresentations(), m.itemRepresentations());
    for (const history of [Int32Array.of(3, 7, 11), Int32Array.of(0, 0, 5, 119)])
      assert.deepEqual(items.foldInUser(history), m.foldInUser(history), schedule);
    assert.throws(() => items.userRepresentation(0), { code: 'NOT_FOUND' });
    // damage is still detected in the arrays read in part
    const bufs = m.toBuffers();
    assert.throws(
      () => HybridMF.fromBuffers({ ...bufs, userAcc: bufs.userAcc.subarray(4) }, { userRows: false }),
      {
        code: 'ARTIFACT_CORRUPT',
      },
    );
  }
});

test('fold-in places a new user in the cluster of their items, deterministically', async () => {
  const m = new HybridMF({ components: 16 });
  await m.fit(DATA.input, { epochs: 20, seed: 5 });
  const scores = new Float32Array(DATA.input.nItems);
  for (let c = 0; c < DATA.k; c++) {
    // Five items of cluster c (the history of a user the model never saw).
    const items = Int32Array.from([0, 1, 2, 3, 4], (n) => c + DATA.k * n);
    const rep = m.foldInUser(items);
    assert.deepEqual(m.foldInUser(items), rep);
    m.scoreRepresentation(rep, scores);
    for (const i of items) scores[i] = Number.NEGATIVE_INFINITY;
    const top = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a])
      .slice(0, 10);
    const inCluster = top.filter((i) => i % DATA.k === c).length;
    assert.ok(inCluster >= 8, `cluster ${c}: ${inCluster}/10 of the top 10 in cluster`);
  }
  // Weights matter: all weight on one cluster's items wins over a lighter other cluster.
  const mixed = Int32Array.of(0, 4, 8, 1, 5, 9);
  const rep = m.foldInUser(mixed, Float32Array.of(5, 5, 5, 0, 0, 0));
  m.scoreRepresentation(rep, scores);
  assert.ok(scores[12] > scores[13], 'a cluster-0 item outranks a cluster-1 item');
  assert.deepEqual(m.foldInUser(new Int32Array(0)), new Float32Array([...new Array(16).fill(0), 0, 1]));
  assert.throws(() => m.foldInUser(Int32Array.of(DATA.input.nItems)), { code: 'NOT_FOUND' });
  assert.throws(() => m.foldInUser(Int32Array.of(1), Float32Array.of(-1)), { code: 'INPUT_BAD_ROW' });
});

test('fitPartial grows to new users, items and features, keeping what was learnt', async () => {
  const small = planted(9, 120, 60);
  const m = new HybridMF(FAST);
  await m.fit({ ...small.input, itemFeatures: small.tags }, { epochs: 2, seed: 6 });
  const rep0 = m.userRepresentation(3);
  const items0 = m.itemRepresentations().vectors;
  // 10 more users and 6 more items, one more tag column, no interactions for them yet; 0 epochs.
  const m2 = small.input.interactions;
  const grownInteractions = new CsrMatrix(
    130,
    66,
    Int32Array.from({ length: 131 }, (_, u) => m2.indptr[Math.min(u, 120)]),
    m2.indices,
    null,
  );
  const t = small.tags;
  const grownTags = new CsrMatrix(
    66,
    t.nCols + 1,
    Int32Array.from({ length: 67 }, (_, i) => (i <= 60 ? t.indptr[i] : t.indptr[60] + (i - 60))),
    Int32Array.from([...t.indices, ...new Array(6).fill(t.nCols)]),
    null,
  );
  await m.fitPartial(
    { nUsers: 130, nItems: 66, interactions: grownInteractions, itemFeatures: grownTags },
    { epochs: 0, seed: 6 },
  );
  assert.equal(m.nUsers, 130);
  assert.equal(m.nItems, 66);
  assert.deepEqual(m.userRepresentation(3), rep0);
  assert.deepEqual(m.itemRepresentations().vectors.subarray(0, items0.length), items0);
  assert.equal(m.userRepresentation(125).length, FAST.components + 2);
  await assert.rejects(m.fitPartial(small.input, { epochs: 1, seed: 6 }), { code: 'CONFIG_INVALID' });
});

test('progress is reported once per epoch', async () => {
  const seen: number[] = [];
  const m = new HybridMF(FAST);
  await m.fit(DATA.input, { epochs: 3, seed: 1, onProgress: (p) => seen.push(p.epoch * 10 + p.epochs) });
  assert.deepEqual(seen, [13, 23, 33]);
  const seen2: number[] = [];
  await m.fit(DATA.input, { epochs: 2, seed: 1, threads: 2, onProgress: (p) => seen2.push(p.epoch) });
  assert.deepEqual(seen2, [1, 2]);
});

test('bad parameters and inputs are coded errors', async () => {
  const code = (c: string) => (e: unknown) => e instanceof SimrecError && e.code === c;
  assert.throws(() => new HybridMF({ components: 0 }), code('CONFIG_INVALID'));
  assert.throws(() => new HybridMF({ loss: 'hinge' as never }), code('CONFIG_INVALID'));
  assert.throws(() => new HybridMF({ learningRate: Number.NaN }), code('CONFIG_INVALID'));
  assert.throws(() => new HybridMF({ kosK: 11, kosN: 10 }), code('CONFIG_INVALID'));
  assert.throws(() => new HybridMF({ nope: 1 } as never), /mf\.nope/);
  const m = new HybridMF(FAST);
  assert.throws(() => m.scoreUser(0, new Float32Array(120)), code('NOT_FOUND'));
  const base = DATA.input;
  await assert.rejects(m.fit({ ...base, nItems: 121 }, { seed: 1 }), code('CONFIG_INVALID'));
  await assert.rejects(m.fit(base, { seed: 1, threads: 0 }), code('CONFIG_INVALID'));
  await assert.rejects(m.fit(base, { seed: 1, epochs: -1 }), code('CONFIG_INVALID'));
  const unsorted = new CsrMatrix(1, 3, Int32Array.of(0, 2), Int32Array.of(2, 1), null);
  await assert.rejects(
    m.fit({ nUsers: 1, nItems: 3, interactions: unsorted }, { seed: 1 }),
    code('INPUT_BAD_ROW'),
  );
  const nanWeight = new CsrMatrix(1, 3, Int32Array.of(0, 1), Int32Array.of(1), Float32Array.of(Number.NaN));
  await assert.rejects(
    m.fit({ nUsers: 1, nItems: 3, interactions: nanWeight }, { seed: 1 }),
    code('INPUT_BAD_ROW'),
  );
  await m.fit(base, { epochs: 1, seed: 1 });
  assert.throws(() => m.scoreUser(240, new Float32Array(120)), code('NOT_FOUND'));
  // A rejected fit leaves the fitted model as it was.
  const kept = m.toBuffers();
  await assert.rejects(
    m.fit({ nUsers: 1, nItems: 3, interactions: unsorted }, { seed: 2 }),
    code('INPUT_BAD_ROW'),
  );
  assert.deepEqual(m.toBuffers(), kept);
  assert.throws(() => m.scoreUser(0, new Float32Array(10)), code('CONFIG_INVALID'));
});
