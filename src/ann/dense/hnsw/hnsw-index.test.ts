import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../../../core/errors.ts';
import { Rng } from '../../../core/prng.ts';
import { ExactIndex } from '../../exact.ts';
import type { DenseFilter, DenseMetric, HnswParams } from '../dense-index.ts';
import { HnswIndex } from './hnsw-index.ts';

const DIM = 16;
const PARAMS: Partial<HnswParams> = { m: 12, efConstruction: 80, ef: 48 };

/** Gaussian mixture (the shape of learned embeddings: taste clusters), row-major. */
function mixture(rng: Rng, n: number, dim: number, centres: Float32Array): Float32Array {
  const out = new Float32Array(n * dim);
  const nc = centres.length / dim;
  for (let i = 0; i < n; i++) {
    const c = rng.int(nc);
    for (let d = 0; d < dim; d++) out[i * dim + d] = centres[c * dim + d] + 0.7 * rng.normal();
  }
  return out;
}

function dataset(seed: number, n: number, nq: number) {
  const rng = new Rng(seed);
  const centres = new Float32Array(40 * DIM).map(() => rng.normal());
  return {
    vectors: mixture(rng, n, DIM, centres),
    queries: mixture(rng, nq, DIM, centres),
    ids: Int32Array.from({ length: n }, (_, i) => i),
  };
}

/** Mean |approx ∩ exact| / |exact| over the queries, with filters applied to both. */
function recall(
  approx: HnswIndex,
  exact: ExactIndex,
  queries: Float32Array,
  k: number,
  filter?: (q: number) => DenseFilter,
): number {
  let sum = 0;
  const nq = queries.length / DIM;
  for (let q = 0; q < nq; q++) {
    const qv = queries.subarray(q * DIM, (q + 1) * DIM);
    const want = exact.search(qv, k, { filter: filter?.(q) });
    const got = approx.search(qv, k, { filter: filter?.(q) });
    if (want.ids.length === 0) {
      sum += got.ids.length === 0 ? 1 : 0;
      continue;
    }
    let hit = 0;
    for (const id of got.ids) if (want.ids.includes(id)) hit++;
    sum += hit / want.ids.length;
  }
  return sum / nq;
}

const built = new Map<string, { hnsw: HnswIndex; exact: ExactIndex; data: ReturnType<typeof dataset> }>();
function build(metric: DenseMetric, n = 3000) {
  const key = `${metric}:${n}`;
  let b = built.get(key);
  if (!b) {
    const data = dataset(1, n, 150);
    const hnsw = HnswIndex.create(DIM, metric, PARAMS, 256);
    hnsw.add(data.ids, data.vectors);
    const exact = new ExactIndex(DIM, metric);
    exact.add(data.ids, data.vectors);
    b = { hnsw, exact, data };
    built.set(key, b);
  }
  return b;
}

test('recall@10 ≥ 0.95 against exact search under both metrics; scores are the exact ones', () => {
  for (const metric of ['ip', 'cosine'] as const) {
    const { hnsw, exact, data } = build(metric);
    assert.equal(hnsw.size, 3000);
    const r = recall(hnsw, exact, data.queries, 10);
    assert.ok(r >= 0.95, `${metric} recall@10 ${r}`);
    const q = data.queries.subarray(0, DIM);
    const got = hnsw.search(q, 10);
    for (let i = 0; i < got.ids.length; i++) {
      const v = exact.vector(got.ids[i])!;
      let s = 0;
      let qn = 0;
      for (let d = 0; d < DIM; d++) {
        s += v[d] * q[d];
        qn += q[d] * q[d];
      }
      if (metric === 'cosine') s /= Math.sqrt(qn);
      assert.ok(Math.abs(got.scores[i] - s) < 1e-5);
      if (i > 0) assert.ok(got.scores[i] <= got.scores[i - 1]);
    }
  }
});

test('inner product reproduces a plain dot-product ranking (MF vectors with biases folded in)', () => {
  // user [q_u, 1, b_u] · item [p_i, b_i, 1] = q_u·p_i + b_i + b_u: the ranking by model score.
  const rng = new Rng(5);
  const f = 8;
  const nItems = 2500;
  const items = new Float32Array(nItems * (f + 2));
  const bias = new Float32Array(nItems);
  for (let i = 0; i < nItems; i++) {
    for (let d = 0; d < f; d++) items[i * (f + 2) + d] = 0.5 * rng.normal();
    bias[i] = 0.8 * rng.normal();
    items[i * (f + 2) + f] = bias[i];
    items[i * (f + 2) + f + 1] = 1;
  }
  const index = HnswIndex.create(f + 2, 'ip', PARAMS);
  index.add(
    Int32Array.from({ length: nItems }, (_, i) => i),
    items,
  );
  let hits = 0;
  const users = 60;
  for (let u = 0; u < users; u++) {
    const qu = new Float32Array(f).map(() => 0.5 * rng.normal());
    const bu = rng.normal();
    const query = new Float32Array(f + 2);
    query.set(qu);
    query[f] = 1;
    query[f + 1] = bu;
    const model = Array.from({ length: nItems }, (_, i) => {
      let s = bu + bias[i];
      for (let d = 0; d < f; d++) s += qu[d] * items[i * (f + 2) + d];
      return { i, s };
    }).sort((a, b) => b.s - a.s || a.i - b.i);
    const got = index.search(query, 10);
    for (let j = 0; j < got.ids.length; j++) {
      const m = model.find((e) => e.i === got.ids[j])!;
      assert.ok(Math.abs(m.s - got.scores[j]) < 1e-4, 'score is the model score');
    }
    const top = new Set(model.slice(0, 10).map((e) => e.i));
    for (const id of got.ids) if (top.has(id)) hits++;
  }
  assert.ok(hits / (users * 10) >= 0.95, `model-score recall ${hits / (users * 10)}`);
});

test('save/load round trip answers identically, keeps removals, and the loaded index stays mutable', () => {
  const data = dataset(2, 1500, 40);
  const a = HnswIndex.create(DIM, 'cosine', PARAMS);
  a.add(data.ids, data.vectors);
  for (let id = 0; id < 1500; id += 7) a.remove(id);
  const bytes = a.toBytes();
  // An unaligned copy, as a store may hand back.
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  for (const blob of [bytes, shifted.subarray(3)]) {
    const b = HnswIndex.fromBytes(blob);
    assert.equal(b.size, a.size);
    assert.equal(b.metric, 'cosine');
    assert.deepEqual(b.params, a.params);
    assert.deepEqual(b.stats(), a.stats());
    assert.equal(b.has(7), false);
    assert.deepEqual(b.vector(8), a.vector(8));
    for (let q = 0; q < 40; q++) {
      const qv = data.queries.subarray(q * DIM, (q + 1) * DIM);
      assert.deepEqual(b.search(qv, 10), a.search(qv, 10));
      assert.deepEqual(
        b.search(qv, 5, { filter: { deny: [1, 2, 3] } }),
        a.search(qv, 5, { filter: { deny: [1, 2, 3] } }),
      );
    }
    // Mutations after load: revive removed id 7 with row 0's vector (id 0 itself is removed), add id 1500
    // beyond the loaded capacity with row 1's.
    b.add(Int32Array.of(7, 1500), data.vectors.slice(0, 2 * DIM));
    assert.equal(b.size, a.size + 2);
    assert.equal(b.search(data.vectors.subarray(0, DIM), 1).ids[0], 7);
    assert.deepEqual([...b.search(data.vectors.subarray(DIM, 2 * DIM), 2).ids].sort(), [1, 1500]);
    assert.equal(b.remove(1500), true);
  }
});

test('empty index: searches return nothing, and it round-trips', () => {
  const e = HnswIndex.create(4, 'ip');
  assert.equal(e.search(Float32Array.of(1, 2, 3, 4), 5).ids.length, 0);
  const back = HnswIndex.fromBytes(e.toBytes());
  assert.equal(back.size, 0);
  back.add(Int32Array.of(3), Float32Array.of(1, 0, 0, 0));
  assert.deepEqual([...back.search(Float32Array.of(1, 0, 0, 0), 5).ids], [3]);
});

test('same seed, same insertion order: byte-identical index', () => {
  const data = dataset(3, 800, 0);
  const one = HnswIndex.create(DIM, 'ip', { ...PARAMS, seed: 42 });
  one.add(data.ids, data.vectors);
  const two = HnswIndex.create(DIM, 'ip', { ...PARAMS, seed: 42 });
  two.add(data.ids, data.vectors);
  assert.deepEqual(one.toBytes(), two.toBytes());
});

test('add after build: new vectors are found, the graph grows past its capacity, recall holds', () => {
  const data = dataset(4, 3000, 150);
  const index = HnswIndex.create(DIM, 'cosine', PARAMS, 100);
  index.add(data.ids.subarray(0, 2000), data.vectors.subarray(0, 2000 * DIM));
  for (let start = 2000; start < 3000; start += 250)
    index.add(data.ids.subarray(start, start + 250), data.vectors.subarray(start * DIM, (start + 250) * DIM));
  assert.equal(index.size, 3000);
  assert.ok(index.stats().maxElements >= 3000);
  const exact = new ExactIndex(DIM, 'cosine');
  exact.add(data.ids, data.vectors);
  assert.ok(recall(index, exact, data.queries, 10) >= 0.95);
  for (const id of [2000, 2500, 2999]) {
    const r = index.search(data.vectors.subarray(id * DIM, (id + 1) * DIM), 1);
    assert.equal(r.ids[0], id);
    assert.ok(Math.abs(r.scores[0] - 1) < 1e-6);
  }
  // Updating a present id moves it: its new vector is found under the id.
  const moved = data.vectors.slice(5 * DIM, 6 * DIM);
  index.add(Int32Array.of(10), moved);
  const r = index.search(moved, 2);
  assert.deepEqual(
    [...r.ids].sort((x, y) => x - y),
    [5, 10],
  );
  assert.equal(index.size, 3000);
});

test('deletions: removed ids never come back, revive in place, compact reclaims their slots', () => {
  const data = dataset(6, 2000, 100);
  const index = HnswIndex.create(DIM, 'ip', PARAMS);
  index.add(data.ids, data.vectors);
  const exact = new ExactIndex(DIM, 'ip');
  exact.add(data.ids, data.vectors);
  for (let id = 0; id < 2000; id += 5) {
    assert.equal(index.remove(id), true);
    exact.remove(id);
  }
  assert.equal(index.remove(0), false);
  assert.equal(index.remove(99_999), false);
  assert.equal(index.size, 1600);
  assert.deepEqual(index.stats().removed, 400);
  for (let q = 0; q < 100; q++) {
    const r = index.search(data.queries.subarray(q * DIM, (q + 1) * DIM), 20);
    for (const id of r.ids) assert.notEqual(id % 5, 0);
  }
  assert.ok(recall(index, exact, data.queries, 10) >= 0.95);
  index.add(Int32Array.of(5), data.vectors.slice(5 * DIM, 6 * DIM));
  assert.equal(index.stats().slots, 2000, 'revived in its old slot');
  assert.equal(
    index.search(data.vectors.subarray(5 * DIM, 6 * DIM), 1, { filter: { allow: [5, 6] } }).ids[0],
    5,
  );
  exact.add(Int32Array.of(5), data.vectors.slice(5 * DIM, 6 * DIM));
  assert.equal(index.compact(), 399);
  assert.deepEqual(index.stats().slots, 1601);
  assert.equal(index.stats().removed, 0);
  assert.ok(recall(index, exact, data.queries, 10) >= 0.95);
  index.add(Int32Array.of(10), data.vectors.slice(10 * DIM, 11 * DIM));
  assert.equal(index.size, 1602);
});

test('filters: short allow lists are exact, long ones filter inside the graph walk, deny lists never leak', () => {
  const { hnsw, exact, data } = build('cosine');
  const nq = data.queries.length / DIM;
  const rng = new Rng(9);
  const short = Int32Array.from({ length: 300 }, () => rng.int(3000));
  // Exact path: identical to brute force over the allow list.
  for (let q = 0; q < nq; q++) {
    const qv = data.queries.subarray(q * DIM, (q + 1) * DIM);
    assert.deepEqual(
      hnsw.search(qv, 10, { filter: { allow: short } }),
      exact.search(qv, 10, { filter: { allow: short } }),
    );
  }
  const even = Int32Array.from({ length: 1500 }, (_, i) => 2 * i);
  const walk = HnswIndex.fromBytes(hnsw.toBytes());
  walk.exactAllowMax = 0;
  for (let q = 0; q < nq; q++) {
    const r = walk.search(data.queries.subarray(q * DIM, (q + 1) * DIM), 10, {
      filter: { allow: even, deny: [0, 2, 4] },
    });
    assert.equal(r.ids.length, 10);
    for (const id of r.ids) assert.ok(id % 2 === 0 && id > 4);
  }
  assert.ok(recall(walk, exact, data.queries, 10, () => ({ allow: even })) >= 0.95);
  // Deny: the exact top-5 of each query, alone and padded with 400 more ids; both filter inside the walk.
  const padding = Int32Array.from({ length: 400 }, (_, i) => 3 * i + 1);
  for (const pad of [false, true]) {
    const denyOf = (q: number) => {
      const top = exact.search(data.queries.subarray(q * DIM, (q + 1) * DIM), 5).ids;
      return { deny: pad ? Int32Array.from([...top, ...padding]) : top };
    };
    for (let q = 0; q < nq; q++) {
      const r = hnsw.search(data.queries.subarray(q * DIM, (q + 1) * DIM), 10, { filter: denyOf(q) });
      assert.equal(r.ids.length, 10);
      for (const id of r.ids) assert.ok(!denyOf(q).deny.includes(id));
    }
    assert.ok(recall(hnsw, exact, data.queries, 10, denyOf) >= 0.95);
  }
  const q0 = data.queries.subarray(0, DIM);
  assert.equal(hnsw.search(q0, 10, { filter: { allow: [] } }).ids.length, 0);
  assert.equal(walk.search(q0, 10, { filter: { allow: [] } }).ids.length, 0);
  assert.deepEqual([...walk.search(q0, 10, { filter: { allow: [17, 17, 5000, -3] } }).ids], [17]);
});

test('a per-query ef applies to that search only: the index default stays, the answer is the one that ef gives', () => {
  const { hnsw, exact, data } = build('cosine');
  assert.equal(hnsw.ef, 48);
  const nq = data.queries.length / DIM;
  const query = (q: number) => data.queries.subarray(q * DIM, (q + 1) * DIM);
  const baseline = Array.from({ length: nq }, (_, q) => hnsw.search(query(q), 10));
  // k = 10 raises ef 1 to 10, the shortest list a walk for 10 can keep, and ef ≥ n makes the walk exact.
  const narrow = Array.from({ length: nq }, (_, q) => hnsw.search(query(q), 10, { ef: 1 }));
  const wide = Array.from({ length: nq }, (_, q) => hnsw.search(query(q), 10, { ef: 3000 }));
  assert.equal(hnsw.ef, 48);
  assert.equal(hnsw.stats().ef, 48);
  for (let q = 0; q < nq; q++) assert.deepEqual(hnsw.search(query(q), 10), baseline[q]);
  // Each per-query answer is the answer of the index with that default, so the ef reached the graph.
  let narrowHits = 0;
  let wideHits = 0;
  for (const [ef, got] of [
    [10, narrow],
    [3000, wide],
  ] as const) {
    hnsw.ef = ef;
    for (let q = 0; q < nq; q++) {
      assert.deepEqual(hnsw.search(query(q), 10), got[q], `ef ${ef} query ${q}`);
      const want = exact.search(query(q), 10).ids;
      const hits = [...got[q].ids].filter((id) => want.includes(id)).length;
      if (ef === 10) narrowHits += hits;
      else wideHits += hits;
    }
  }
  hnsw.ef = 48;
  assert.equal(wideHits, nq * 10);
  assert.ok(narrowHits < wideHits, `ef 10 found ${narrowHits} of ${wideHits}`);
  // A filtered walk and searchInto take it too; a short allow list is answered exactly, whatever the ef.
  const deny = { deny: [...exact.search(query(0), 3).ids] };
  const ids = new Int32Array(10);
  const scores = new Float32Array(10);
  assert.equal(hnsw.searchInto(query(0), 10, ids, scores, { ef: 3000, filter: deny }), 10);
  const truth = exact.search(query(0), 10, { filter: deny });
  // hnswlib's float32 SIMD dot product is a few ulps from the exact one.
  assert.deepEqual(ids, truth.ids);
  for (let j = 0; j < 10; j++) assert.ok(Math.abs(scores[j] - truth.scores[j]) < 1e-6);
  const allow = { allow: [5, 6, 7, 8] };
  assert.deepEqual(
    hnsw.search(query(1), 2, { ef: 1, filter: allow }),
    exact.search(query(1), 2, { filter: allow }),
  );
  assert.equal(hnsw.ef, 48);
  // Bad options fail before the graph is touched, and leave the default as it was.
  const invalid = (field: string) => (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field;
  assert.throws(() => hnsw.search(query(0), 10, { ef: 0 }), invalid('ef'));
  assert.throws(() => hnsw.search(query(0), 10, { ef: 2.5 }), invalid('ef'));
  assert.throws(() => hnsw.search(Float32Array.of(1), 10, { ef: 500 }), invalid('query'));
  assert.throws(() => hnsw.search(query(0), 10, { deny: [1] } as never), invalid('deny'));
  assert.equal(hnsw.ef, 48);
  assert.deepEqual(hnsw.search(query(0), 10), baseline[0]);
});

test('k beyond the size, k = 0, reused output buffers', () => {
  const small = HnswIndex.create(3, 'ip', PARAMS);
  small.add(Int32Array.of(4, 9, 2), Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
  const q = Float32Array.of(3, 2, 1);
  assert.deepEqual([...small.search(q, 50).ids], [4, 9, 2]);
  assert.deepEqual([...small.search(q, 50).scores], [3, 2, 1]);
  assert.equal(small.search(q, 0).ids.length, 0);
  const ids = new Int32Array(2);
  const scores = new Float32Array(2);
  assert.equal(small.searchInto(q, 2, ids, scores), 2);
  assert.deepEqual([...ids], [4, 9]);
});

test('bad parameters and inputs are CONFIG_INVALID; a damaged blob is ARTIFACT_CORRUPT', () => {
  const invalid = (field: string) => (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field;
  assert.throws(() => HnswIndex.create(8, 'ip', { m: 1 }), invalid('m'));
  assert.throws(() => HnswIndex.create(8, 'ip', { ef: 0 }), invalid('ef'));
  assert.throws(() => HnswIndex.create(8, 'ip', { efConstruction: 2.5 }), invalid('efConstruction'));
  assert.throws(() => HnswIndex.create(8, 'ip', { seed: -1 }), invalid('seed'));
  assert.throws(() => HnswIndex.create(0, 'ip'), invalid('dim'));
  const index = HnswIndex.create(2, 'ip', PARAMS);
  assert.throws(() => index.add(Int32Array.of(1), Float32Array.of(1, Number.NaN)), invalid('vectors'));
  assert.equal(index.size, 0);
  assert.equal(index.stats().slots, 0);
  assert.throws(() => index.search(Float32Array.of(1), 1), invalid('query'));
  assert.throws(() => {
    index.ef = 0;
  }, invalid('ef'));

  const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';
  index.add(Int32Array.of(0, 1, 2), Float32Array.of(1, 0, 0, 1, 1, 1));
  const bytes = index.toBytes();
  assert.throws(() => HnswIndex.fromBytes(bytes.subarray(0, bytes.length - 1)), corrupt);
  const exactBlob = new ExactIndex(2, 'ip').toBytes();
  assert.throws(() => HnswIndex.fromBytes(exactBlob), corrupt);
});

/** The mixture with every row scaled by a seeded factor log-uniform in [1, 10]: norms differing tenfold. */
function unequalNorms(seed: number, n: number, nq: number) {
  const data = dataset(seed, n, nq);
  const rng = new Rng(seed + 1000);
  for (let i = 0; i < n; i++) {
    const s = 10 ** rng.next();
    for (let d = 0; d < DIM; d++) data.vectors[i * DIM + d] *= s;
  }
  return data;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += a[d] * b[d];
  return s;
}

test('ip over norms differing 10×: recall@10 ≥ 0.95, the exact top-10 mostly verbatim, true dot-product scores', () => {
  const data = unequalNorms(11, 3000, 150);
  const index = HnswIndex.create(DIM, 'ip', PARAMS);
  index.add(data.ids, data.vectors);
  const exact = new ExactIndex(DIM, 'ip');
  exact.add(data.ids, data.vectors);
  assert.ok(recall(index, exact, data.queries, 10) >= 0.95);
  let verbatim = 0;
  for (let q = 0; q < 150; q++) {
    const qv = data.queries.subarray(q * DIM, (q + 1) * DIM);
    const got = index.search(qv, 10);
    const want = exact.search(qv, 10);
    if (got.ids.join() === want.ids.join()) verbatim++;
    for (let i = 0; i < got.ids.length; i++) {
      const s = dot(qv, exact.vector(got.ids[i])!);
      assert.ok(Math.abs(got.scores[i] - s) <= 1e-5 * Math.max(1, Math.abs(s)), 'score is q·x');
    }
  }
  assert.ok(verbatim >= 135, `exact top-10 returned verbatim for ${verbatim} of 150 queries`);
  // Φ is the largest norm: the reduction lifts every vector to it.
  let longest = 0;
  for (let i = 0; i < 3000; i++)
    longest = Math.max(
      longest,
      Math.sqrt(
        dot(data.vectors.subarray(i * DIM, (i + 1) * DIM), data.vectors.subarray(i * DIM, (i + 1) * DIM)),
      ),
    );
  assert.equal(index.stats().maxNorm, longest);
  assert.equal(build('cosine').hnsw.stats().maxNorm, null);
});

test('ip add after build: a vector longer than Φ rebuilds the graph with Φ raised, and is found', () => {
  const data = unequalNorms(12, 2000, 100);
  const index = HnswIndex.create(DIM, 'ip', PARAMS);
  index.add(data.ids.subarray(0, 1500), data.vectors.subarray(0, 1500 * DIM));
  const phi = index.stats().maxNorm!;
  for (let id = 0; id < 1500; id += 10) index.remove(id);
  // Shorter than Φ: inserted into the graph as it is, removed slots stay.
  index.add(
    data.ids.subarray(1500, 1600),
    data.vectors.subarray(1500 * DIM, 1600 * DIM).map((x) => x * 0),
  );
  assert.equal(index.stats().maxNorm, phi);
  assert.equal(index.stats().removed, 150);
  // Three times Φ along the first query: the top answer for it, and Φ becomes 9/8 of its norm.
  const q0 = data.queries.subarray(0, DIM);
  const long = q0.map((x) => x);
  const scale = (3 * phi) / Math.sqrt(dot(long, long));
  for (let d = 0; d < DIM; d++) long[d] *= scale;
  index.add(Int32Array.of(1999), long);
  const stats = index.stats();
  const n = Math.sqrt(dot(long, long));
  assert.ok(Math.abs(stats.maxNorm! - 1.125 * n) < 1e-9 * n);
  assert.equal(stats.removed, 0, 'the rebuild drops removed slots, as compact does');
  assert.equal(index.size, 1350 + 100 + 1);
  const top = index.search(q0, 3);
  assert.equal(top.ids[0], 1999);
  assert.ok(Math.abs(top.scores[0] - dot(q0, long)) <= 1e-5 * dot(q0, long));
  for (let id = 0; id < 1500; id += 10) assert.equal(index.has(id), false);
  // Recall over everything present, against exact search over the same vectors.
  const exact = new ExactIndex(DIM, 'ip');
  index.exactCopy().forEachLive((id, v, off) => exact.add(Int32Array.of(id), v.slice(off, off + DIM)));
  assert.equal(exact.size, index.size);
  assert.ok(recall(index, exact, data.queries, 10) >= 0.95);
  // reserveNorm: free on an empty graph, nothing to do under cosine, a rebuild on a filled one.
  const empty = HnswIndex.create(DIM, 'ip', PARAMS);
  empty.reserveNorm(7);
  empty.add(data.ids.subarray(0, 10), data.vectors.subarray(0, 10 * DIM));
  assert.equal(empty.stats().maxNorm, Math.max(7, empty.stats().maxNorm!));
  empty.reserveNorm(1e6);
  assert.equal(empty.stats().maxNorm, 1e6);
  assert.equal(empty.search(data.vectors.subarray(0, DIM), 1).ids.length, 1);
  assert.throws(
    () => empty.reserveNorm(Number.NaN),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
});

test('ip save/load round trip keeps Φ and answers; a raw-layout ip blob of earlier versions is refused', async () => {
  const { encodeEnvelope, decodeEnvelope } = await import('../envelope.ts');
  const data = unequalNorms(13, 1500, 40);
  const a = HnswIndex.create(DIM, 'ip', PARAMS);
  a.add(data.ids, data.vectors);
  for (let id = 0; id < 1500; id += 9) a.remove(id);
  const b = HnswIndex.fromBytes(a.toBytes());
  assert.deepEqual(b.stats(), a.stats());
  assert.deepEqual(b.vector(10), a.vector(10));
  for (let q = 0; q < 40; q++) {
    const qv = data.queries.subarray(q * DIM, (q + 1) * DIM);
    assert.deepEqual(b.search(qv, 10), a.search(qv, 10));
  }
  // The loaded index still lifts new vectors with the saved Φ, and rebuilds past it.
  b.add(Int32Array.of(0), data.vectors.slice(DIM, 2 * DIM));
  assert.equal(b.stats().maxNorm, a.stats().maxNorm);
  assert.deepEqual(b.vector(0), data.vectors.slice(DIM, 2 * DIM));
  assert.ok(recall(b, b.exactCopy(), data.queries, 10) >= 0.95);

  const { header, payload } = decodeEnvelope(a.toBytes());
  const { layout: _layout, maxNorm: _maxNorm, ...raw } = header;
  const old = encodeEnvelope(raw as typeof header, [payload]);
  assert.throws(
    () => HnswIndex.fromBytes(old),
    (e: unknown) =>
      e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT' && /raw layout.*rebuild/.test(e.message),
  );
  const wrongPhi = encodeEnvelope({ ...header, maxNorm: (header.maxNorm as number) / 2 }, [payload]);
  assert.throws(
    () => HnswIndex.fromBytes(wrongPhi),
    (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT',
  );
});

/**
 * 120 vectors in 8 dimensions on 120 distinct directions with norms 1 + i/120 (norms spread, so no two dot
 * products with a generic query tie), and 20 queries.
 */
function separated() {
  const rng = new Rng(21);
  const n = 120;
  const dim = 8;
  const vectors = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const row = vectors.subarray(i * dim, (i + 1) * dim);
    for (let d = 0; d < dim; d++) row[d] = rng.normal();
    const scale = (1 + i / n) / Math.sqrt(dot(row, row));
    for (let d = 0; d < dim; d++) row[d] *= scale;
  }
  const queries = new Float32Array(20 * dim).map(() => rng.normal());
  // Ids in a shuffled order: the raw layout inserts in the caller's order, not by id or norm.
  const ids = rng.permutation(n);
  return { n, dim, vectors, queries, ids };
}

test("ip layout 'raw': exactly the exact top-k, the graph hnswlib's own ip space builds, no Φ", async () => {
  const { n, dim, vectors, queries, ids } = separated();
  // ef above the size: the walk cannot stop before it has seen every node it can reach, so it is exact.
  const params: Partial<HnswParams> = { m: 8, efConstruction: 64, ef: 200, ipLayout: 'raw' };
  const index = HnswIndex.create(dim, 'ip', params, n);
  index.add(ids, vectors);
  assert.equal(index.params.ipLayout, 'raw');
  assert.equal(index.stats().maxNorm, null);
  const exact = new ExactIndex(dim, 'ip');
  exact.add(ids, vectors);
  for (let q = 0; q < 20; q++) {
    const qv = queries.subarray(q * dim, (q + 1) * dim);
    const got = index.search(qv, 10);
    const want = exact.search(qv, 10);
    assert.deepEqual([...got.ids], [...want.ids]);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(got.scores[i] - want.scores[i]) <= 1e-5);
  }
  // The saved graph is byte for byte what hnswlib-node's 'ip' space builds from the same rows in the same
  // order with the same seed: the vectors as they are (dim coordinates), no lifting, no reordering.
  const { createRequire } = await import('node:module');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { decodeEnvelope } = await import('../envelope.ts');
  const hnswlib = createRequire(import.meta.url)('hnswlib-node') as typeof import('hnswlib-node');
  const direct = new hnswlib.HierarchicalNSW('ip', dim);
  direct.initIndex({ maxElements: n, m: 8, efConstruction: 64, randomSeed: 100, allowReplaceDeleted: false });
  for (let i = 0; i < n; i++) direct.addPoint(Array.from(vectors.subarray(i * dim, (i + 1) * dim)), ids[i]);
  const dir = mkdtempSync(join(tmpdir(), 'simrec-hnsw-test-'));
  try {
    direct.writeIndexSync(join(dir, 'direct.bin'));
    const { header, payload } = decodeEnvelope(index.toBytes());
    assert.equal(header.layout, 'raw');
    assert.equal(header.maxNorm, undefined);
    assert.deepEqual(Buffer.from(payload), readFileSync(join(dir, 'direct.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ip layout 'raw': add after build, removal, filters, exact fallback, compact, save/load keep the layout", () => {
  const { n, dim, vectors, queries, ids } = separated();
  const params: Partial<HnswParams> = { m: 8, efConstruction: 64, ef: 300, ipLayout: 'raw' };
  const index = HnswIndex.create(dim, 'ip', params, 32);
  index.add(ids.subarray(0, 60), vectors.subarray(0, 60 * dim));
  // A batch far longer than everything before: no Φ, so no rebuild (removed slots stay), the graph grows.
  for (let i = 0; i < 60; i += 6) index.remove(ids[i]);
  const longer = vectors.slice(60 * dim).map((x) => 10 * x);
  index.add(ids.subarray(60), longer);
  assert.equal(index.stats().removed, 10);
  assert.equal(index.stats().maxNorm, null);
  assert.equal(index.size, n - 10);
  const exact = new ExactIndex(dim, 'ip');
  index.exactCopy().forEachLive((id, v, off) => exact.add(Int32Array.of(id), v.slice(off, off + dim)));
  const filters: DenseFilter[] = [
    {},
    { allow: ids.subarray(0, 50) }, // short: scored exactly
    { deny: ids.subarray(60, 70) }, // filtered inside the walk
  ];
  const same = (a: HnswIndex, f: DenseFilter) => {
    for (let q = 0; q < 20; q++) {
      const qv = queries.subarray(q * dim, (q + 1) * dim);
      assert.deepEqual(
        [...a.search(qv, 10, { filter: f }).ids],
        [...exact.search(qv, 10, { filter: f }).ids],
      );
    }
  };
  for (const f of filters) same(index, f);
  // A long allow list walks the graph with the filter.
  index.exactAllowMax = 0;
  same(index, { allow: ids.subarray(0, 100) });
  index.exactAllowMax = 4096;
  for (let i = 0; i < 60; i += 6) assert.equal(index.has(ids[i]), false);

  const loaded = HnswIndex.fromBytes(index.toBytes());
  assert.equal(loaded.params.ipLayout, 'raw');
  assert.deepEqual(loaded.stats(), index.stats());
  for (const f of filters) same(loaded, f);
  // The loaded index stays mutable in its layout; compact drops the removed slots.
  loaded.add(Int32Array.of(ids[0]), vectors.slice(0, dim));
  exact.add(Int32Array.of(ids[0]), vectors.slice(0, dim));
  assert.equal(loaded.stats().removed, 9, 'the re-added id revives its slot');
  assert.equal(loaded.compact(), 9);
  assert.equal(loaded.stats().slots, loaded.size);
  assert.equal(loaded.params.ipLayout, 'raw');
  same(loaded, {});
});

test("saved blobs load in their own layout: 'raw' as raw, 'mips' as mips; contradictions are refused", async () => {
  const { encodeEnvelope, decodeEnvelope } = await import('../envelope.ts');
  const { denseIndexFromBytes } = await import('../persist.ts');
  const { n, dim, vectors, queries, ids } = separated();
  const blobs = new Map<string, Uint8Array>();
  const answers = new Map<string, number[][]>();
  for (const layout of ['raw', 'mips'] as const) {
    const index = HnswIndex.create(dim, 'ip', { m: 8, efConstruction: 64, ef: 200, ipLayout: layout });
    index.add(ids, vectors);
    blobs.set(layout, index.toBytes());
    answers.set(
      layout,
      Array.from({ length: 20 }, (_, q) => [
        ...index.search(queries.subarray(q * dim, (q + 1) * dim), 5).ids,
      ]),
    );
  }
  const raw = denseIndexFromBytes(blobs.get('raw')!) as HnswIndex;
  const mips = denseIndexFromBytes(blobs.get('mips')!) as HnswIndex;
  assert.equal(raw.params.ipLayout, 'raw');
  assert.equal(raw.stats().maxNorm, null);
  assert.equal(mips.params.ipLayout, 'mips');
  // Φ of the mips blob: the longest vector, norm 1 + 119/120 up to float32 rounding.
  assert.ok(Math.abs(mips.stats().maxNorm! - (1 + (n - 1) / n)) < 1e-6);
  for (let q = 0; q < 20; q++) {
    const qv = queries.subarray(q * dim, (q + 1) * dim);
    assert.deepEqual([...raw.search(qv, 5).ids], answers.get('raw')![q]);
    assert.deepEqual([...mips.search(qv, 5).ids], answers.get('mips')![q]);
  }
  // The graphs differ in width: a raw graph read as mips (or the reverse) is not a consistent blob.
  const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';
  const r = decodeEnvelope(blobs.get('raw')!);
  const m = decodeEnvelope(blobs.get('mips')!);
  const { maxNorm, ...mHeader } = m.header;
  assert.throws(
    () => HnswIndex.fromBytes(encodeEnvelope({ ...r.header, layout: 'mips', maxNorm }, [r.payload])),
    corrupt,
  );
  assert.throws(
    () => HnswIndex.fromBytes(encodeEnvelope({ ...mHeader, layout: 'raw' }, [m.payload])),
    corrupt,
  );
  // params naming the other layout, a layout unknown to ip, and 'raw' under cosine are refused.
  const params = r.header.params as HnswParams;
  assert.throws(
    () =>
      HnswIndex.fromBytes(
        encodeEnvelope({ ...r.header, params: { ...params, ipLayout: 'mips' } }, [r.payload]),
      ),
    corrupt,
  );
  assert.throws(
    () => HnswIndex.fromBytes(encodeEnvelope({ ...r.header, layout: 'plain' }, [r.payload])),
    corrupt,
  );
  const cos = HnswIndex.create(dim, 'cosine', { m: 8 });
  cos.add(ids, vectors);
  const c = decodeEnvelope(cos.toBytes());
  assert.throws(
    () => HnswIndex.fromBytes(encodeEnvelope({ ...c.header, layout: 'raw' }, [c.payload])),
    corrupt,
  );
  // A mips blob written before ipLayout was a parameter (no params.ipLayout) still loads as mips.
  const { ipLayout: _ipLayout, ...oldParams } = m.header.params as HnswParams;
  const old = HnswIndex.fromBytes(encodeEnvelope({ ...m.header, params: oldParams }, [m.payload]));
  assert.equal(old.params.ipLayout, 'mips');
});

test('a bad ipLayout is CONFIG_INVALID naming the field', async () => {
  const { buildDenseIndex } = await import('../build.ts');
  const invalid = (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'ipLayout';
  for (const bad of ['plain', 'MIPS', '', null, 1])
    assert.throws(() => HnswIndex.create(8, 'ip', { ipLayout: bad as never }), invalid);
  assert.throws(
    () =>
      buildDenseIndex(Int32Array.of(0), new Float32Array(8), 8, {
        metric: 'ip',
        kind: 'hnsw',
        hnsw: { ipLayout: 'lifted' as never },
      }),
    invalid,
  );
});

test('insertThreads: two threads build a graph of the same recall; one rebuilds the same bytes', () => {
  for (const metric of ['ip', 'cosine'] as const) {
    const { exact, data } = build(metric);
    const parallel = HnswIndex.create(DIM, metric, PARAMS, 256);
    parallel.insertThreads = 2;
    parallel.add(data.ids, data.vectors);
    assert.equal(parallel.size, 3000);
    assert.equal(parallel.stats().slots, 3000);
    const r = recall(parallel, exact, data.queries, 10);
    assert.ok(r >= 0.95, `${metric} recall@10 ${r} with two insertion threads`);
    // Every id is in the graph exactly once: an exhaustive walk (ef ≥ n) returns the exact top-k.
    parallel.ef = 3000;
    for (let q = 0; q < 5; q++) {
      const qv = data.queries.subarray(q * DIM, (q + 1) * DIM);
      assert.deepEqual(parallel.search(qv, 10).ids, exact.search(qv, 10).ids);
    }
  }
  const a = HnswIndex.create(DIM, 'ip', PARAMS, 256);
  const b = HnswIndex.create(DIM, 'ip', PARAMS, 256);
  b.insertThreads = 1;
  const { data } = build('ip');
  a.add(data.ids, data.vectors);
  b.add(data.ids, data.vectors);
  assert.deepEqual(a.toBytes(), b.toBytes());
  assert.throws(
    () => {
      a.insertThreads = 0;
    },
    (e: SimrecError) => e.code === 'CONFIG_INVALID' && e.detail.field === 'insertThreads',
  );
});
