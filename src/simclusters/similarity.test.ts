import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { capFollows, computeSimilarity, type SimilarityParams, symmetrizeMax } from './similarity.ts';

/** consumers × producers from per-consumer followee lists (with optional weights). */
function bipartite(nProducers: number, rows: number[][], weights?: number[][]): CsrMatrix {
  const r: number[] = [];
  const c: number[] = [];
  const w: number[] = [];
  rows.forEach((list, i) => {
    list.forEach((p, j) => {
      r.push(i);
      c.push(p);
      if (weights) w.push(weights[i][j]);
    });
  });
  return CsrMatrix.fromCoo(
    Int32Array.from(r),
    Int32Array.from(c),
    weights ? Float32Array.from(w) : null,
    rows.length,
    nProducers,
  );
}

/** The graph as {"u-v": weight} over u < v, after checking it is symmetric with no self loops. */
function edges(g: CsrMatrix): Record<string, number> {
  const out: Record<string, number> = {};
  for (let u = 0; u < g.nRows; u++) {
    const row = g.rowIndices(u);
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      assert.notEqual(u, v, 'self loop');
      if (i > 0) assert.ok(row[i - 1] < v, 'row not sorted');
      assert.equal(g.get(v, u), g.get(u, v), `asymmetric ${u}-${v}`);
      if (u < v) out[`${u}-${v}`] = g.get(u, v);
    }
  }
  return out;
}

function assertEdges(g: CsrMatrix, expected: Record<string, number>): void {
  const got = edges(g);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
  for (const k of Object.keys(expected))
    assert.ok(Math.abs(got[k] - expected[k]) < 1e-6, `${k}: ${got[k]} vs ${expected[k]}`);
}

// F(p0)={c0,c1,c2,c5}, F(p1)={c0,c1,c3}, F(p2)={c1,c2,c3}, F(p3)={c3,c4,c5}, F(p4)={c0,c1}.
const TOY = bipartite(5, [[0, 1, 4], [0, 1, 2, 4], [0, 2], [1, 2, 3], [3], [0, 3]]);
const s = Math.sqrt;
const run = (A: CsrMatrix, p: Partial<SimilarityParams>, seed = 1, threads = 1) =>
  computeSimilarity(A, p, { seed, threads });

test('binary cosine on a hand-computed toy, all pairs', async () => {
  const { graph, stats } = await run(TOY, { minFollowers: 1, minSimilarity: 0 });
  assertEdges(graph, {
    '0-1': 2 / s(12),
    '0-2': 2 / s(12),
    '0-3': 1 / s(12),
    '0-4': 2 / s(8),
    '1-2': 2 / 3,
    '1-3': 1 / 3,
    '1-4': 2 / s(6),
    '2-3': 1 / 3,
    '2-4': 1 / s(6),
  });
  assert.equal(stats.eligibleProducers, 5);
  assert.equal(stats.edgesKept, 9);
  assert.equal(stats.candidatePairs, 9);
  // C(3,2)+C(4,2)+C(2,2)+C(3,2)+0+C(2,2)
  assert.equal(stats.pairsEnumerated, 3 + 6 + 1 + 3 + 0 + 1);
  assert.equal(stats.consumersCapped, 0);
  assert.equal(stats.followsDropped, 0);
});

test('minFollowers drops producers without changing the others', async () => {
  const { graph, stats } = await run(TOY, { minFollowers: 3, minSimilarity: 0 });
  assertEdges(graph, {
    '0-1': 2 / s(12),
    '0-2': 2 / s(12),
    '0-3': 1 / s(12),
    '1-2': 2 / 3,
    '1-3': 1 / 3,
    '2-3': 1 / 3,
  });
  assert.equal(stats.eligibleProducers, 4);
  assert.equal(stats.followsIneligible, 2);
  assert.equal(graph.rowNnz(4), 0);
  const none = await run(TOY, { minFollowers: 5 });
  assert.equal(none.graph.nnz, 0);
  assert.equal(none.stats.eligibleProducers, 0);
});

test('maxNeighbors keeps the best (ties to the smaller id) and the union symmetrises', async () => {
  // Kept: 0→1 (1 and 2 tie at 2/√12), 1→2, 2→1, 3→1 (1 and 2 tie at 1/3).
  const { graph, stats } = await run(TOY, { minFollowers: 3, maxNeighbors: 1, minSimilarity: 0 });
  assertEdges(graph, { '0-1': 2 / s(12), '1-2': 2 / 3, '1-3': 1 / 3 });
  assert.equal(stats.directedKept, 4);
  assert.equal(stats.edgesKept, 3);
  const zero = await run(TOY, { minFollowers: 1, maxNeighbors: 0 });
  assert.equal(zero.graph.nnz, 0);
});

test('minSimilarity is inclusive', async () => {
  const { graph } = await run(TOY, { minFollowers: 3, minSimilarity: 1 / 3 });
  assertEdges(graph, { '0-1': 2 / s(12), '0-2': 2 / s(12), '1-2': 2 / 3, '1-3': 1 / 3, '2-3': 1 / 3 });
  const hi = await run(TOY, { minFollowers: 3, minSimilarity: 0.6 });
  assertEdges(hi.graph, { '1-2': 2 / 3 });
});

test('squareWeights gives 10·sim²', async () => {
  const { graph } = await run(TOY, { minFollowers: 3, minSimilarity: 0.5, squareWeights: true });
  assertEdges(graph, { '0-1': 10 / 3, '0-2': 10 / 3, '1-2': 40 / 9 });
});

test('weighted cosine uses the values; unweighted ignores them; zero weights are no follow', async () => {
  // Columns p0=(1,2,0), p1=(2,1,1), p2=(0,3,1).
  const A = bipartite(
    3,
    [
      [0, 1],
      [0, 1, 2],
      [1, 2],
    ],
    [
      [1, 2],
      [2, 1, 3],
      [1, 1],
    ],
  );
  const w = await run(A, { minFollowers: 1, minSimilarity: 0, weighted: true });
  assertEdges(w.graph, { '0-1': 4 / s(30), '0-2': 6 / s(50), '1-2': 4 / s(60) });
  const b = await run(A, { minFollowers: 1, minSimilarity: 0 });
  assertEdges(b.graph, { '0-1': 2 / s(6), '0-2': 1 / 2, '1-2': 2 / s(6) });
  const z = bipartite(
    2,
    [
      [0, 1],
      [0, 1],
    ],
    [
      [1, 0],
      [1, 1],
    ],
  );
  const wz = await run(z, { minFollowers: 1, minSimilarity: 0, weighted: true });
  assertEdges(wz.graph, { '0-1': 1 / s(2) });
  await assert.rejects(run(bipartite(2, [[0, 1]], [[1, -1]]), { weighted: true }), SimrecError);
});

test('symmetrizeMax keeps an edge either side kept, with the larger weight', () => {
  const R = CsrMatrix.fromCoo(
    Int32Array.from([0, 1, 1, 2]),
    Int32Array.from([1, 0, 2, 0]),
    Float32Array.from([0.5, 0.75, 0.25, 0.125]),
    3,
    3,
  );
  const g = symmetrizeMax(R);
  assert.deepEqual(edges(g), { '0-1': 0.75, '1-2': 0.25, '0-2': 0.125 });
});

test('bad parameters are CONFIG_INVALID naming the parameter', async () => {
  const bad = async (p: Record<string, unknown>, field: string) => {
    await assert.rejects(
      run(TOY, p as Partial<SimilarityParams>),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field,
    );
  };
  await bad({ minSimilarity: 1.5 }, 'minSimilarity');
  await bad({ maxNeighbors: -1 }, 'maxNeighbors');
  await bad({ maxFollowsPerConsumer: 1 }, 'maxFollowsPerConsumer');
  await bad({ minFollower: 3 }, 'minFollower');
  await assert.rejects(computeSimilarity(TOY, {}, { seed: 1, threads: 0 }), SimrecError);
  const dflt = await run(TOY, { minFollowers: 1, maxNeighbors: undefined, minSimilarity: 0 });
  assert.equal(dflt.stats.edgesKept, 9);
});

test('progress ends with every producer row done', async () => {
  let last = '';
  await computeSimilarity(
    TOY,
    { minFollowers: 1 },
    { seed: 1, onProgress: (s, d, t) => (last = `${s} ${d}/${t}`) },
  );
  assert.equal(last, 'similarity: pairs 5/5');
});

/** A seeded random bipartite graph with skewed degrees. */
function randomBipartite(seed: number, consumers: number, producers: number, weighted: boolean): CsrMatrix {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const weights: number[][] = [];
  for (let c = 0; c < consumers; c++) {
    const d = 1 + Math.floor(rng.next() ** 3 * 30);
    const set = new Set<number>();
    // Popularity skew: low producer ids are followed more often.
    while (set.size < d) set.add(Math.floor(rng.next() ** 1.7 * producers));
    const list = [...set].sort((a, b) => a - b);
    rows.push(list);
    weights.push(list.map(() => 1 + rng.int(5)));
  }
  return bipartite(producers, rows, weighted ? weights : undefined);
}

/** O(P²) dense cosine, per-producer top-K with ties to the smaller id, union with max. */
function bruteForce(
  A: CsrMatrix,
  p: SimilarityParams & { minFollowers: number; maxNeighbors: number },
): Map<string, number> {
  const P = A.nCols;
  const cols: Float64Array[] = [];
  for (let v = 0; v < P; v++) cols.push(new Float64Array(A.nRows));
  for (let c = 0; c < A.nRows; c++) {
    const idx = A.rowIndices(c);
    const val = A.rowValues(c);
    for (let i = 0; i < idx.length; i++) cols[idx[i]][c] = p.weighted && val ? val[i] : 1;
  }
  const followers = A.colCounts();
  const eligible = (v: number) => followers[v] >= p.minFollowers;
  const norm = cols.map((col) => col.reduce((a, x) => a + x * x, 0));
  const out = new Map<string, number>();
  for (let u = 0; u < P; u++) {
    if (!eligible(u)) continue;
    const cands: [number, number][] = [];
    for (let v = 0; v < P; v++) {
      if (v === u || !eligible(v)) continue;
      let dot = 0;
      for (let c = 0; c < A.nRows; c++) dot += cols[u][c] * cols[v][c];
      if (dot === 0) continue;
      const sim = dot / Math.sqrt(norm[u] * norm[v]);
      if (sim >= p.minSimilarity) cands.push([v, sim]);
    }
    cands.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [v, sim] of cands.slice(0, p.maxNeighbors)) {
      const w = Math.fround(p.squareWeights ? 10 * sim * sim : sim);
      const key = u < v ? `${u}-${v}` : `${v}-${u}`;
      out.set(key, Math.max(out.get(key) ?? 0, w));
    }
  }
  return out;
}

for (const weighted of [false, true]) {
  test(`equals a brute-force O(P²) cosine on a random graph (${weighted ? 'weighted' : 'binary'})`, async () => {
    const A = randomBipartite(weighted ? 7 : 3, 400, 90, weighted);
    const params = {
      minFollowers: 4,
      maxNeighbors: 6,
      minSimilarity: 0.05,
      squareWeights: weighted,
      weighted,
      maxFollowsPerConsumer: 1000,
    };
    const { graph, stats } = await run(A, params);
    const expected = bruteForce(A, params);
    const got = edges(graph);
    assert.equal(Object.keys(got).length, expected.size);
    for (const [k, w] of expected) assert.equal(got[k], w, k);
    assert.ok(stats.edgesKept > 100, `too few edges to mean anything: ${stats.edgesKept}`);
  });
}

test('threads 1 and 2 give identical graphs (capped, weighted)', async () => {
  const A = randomBipartite(11, 600, 120, true);
  const p: Partial<SimilarityParams> = {
    minFollowers: 2,
    maxNeighbors: 8,
    weighted: true,
    maxFollowsPerConsumer: 12,
  };
  const one = await run(A, p, 5, 1);
  const two = await run(A, p, 5, 2);
  assert.ok(one.stats.consumersCapped > 0);
  assert.deepEqual(two.graph.indptr, one.graph.indptr);
  assert.deepEqual(two.graph.indices, one.graph.indices);
  assert.deepEqual(two.graph.values, one.graph.values);
  assert.deepEqual({ ...two.stats, seconds: 0, threads: 0 }, { ...one.stats, seconds: 0, threads: 0 });
});

test('the follow cap samples deterministically per seed, uniformly, and is recorded', async () => {
  const A = bipartite(12, [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [0, 1],
    [10, 11, 0],
  ]);
  const all = new Uint8Array(12).fill(1);
  const a = capFollows(A, all, 4, false, new Rng(1));
  const b = capFollows(A, all, 4, false, new Rng(1));
  assert.deepEqual(a.matrix.indices, b.matrix.indices);
  assert.equal(a.consumersCapped, 1);
  assert.equal(a.dropped, 6);
  assert.equal(a.matrix.rowNnz(0), 4);
  assert.deepEqual(Array.from(a.matrix.rowIndices(1)), [0, 1]);
  assert.deepEqual(Array.from(a.matrix.rowIndices(2)), [0, 10, 11]);
  assert.equal(a.pairs, 6 + 1 + 3);
  // Over many seeds each of the 10 followees is kept about 4/10 of the time, and rows stay sorted.
  const hits = new Int32Array(10);
  for (let seed = 0; seed < 2000; seed++) {
    const row = capFollows(A, all, 4, false, new Rng(seed)).matrix.rowIndices(0);
    for (let i = 0; i < row.length; i++) {
      hits[row[i]]++;
      if (i > 0) assert.ok(row[i - 1] < row[i]);
    }
  }
  for (let v = 0; v < 10; v++) assert.ok(Math.abs(hits[v] / 2000 - 0.4) < 0.05, `followee ${v}: ${hits[v]}`);
  const { stats } = await run(A, { minFollowers: 1, maxFollowsPerConsumer: 4 });
  assert.equal(stats.cap, 4);
  assert.equal(stats.consumersCapped, 1);
  assert.equal(stats.followsDropped, 6);
  assert.equal(stats.followsUsed, 4 + 2 + 3);
});
