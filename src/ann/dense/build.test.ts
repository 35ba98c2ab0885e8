import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import { Rng } from '../../core/prng.ts';
import { ExactIndex } from '../exact.ts';
import { buildDenseIndex, measureRecall } from './build.ts';
import { HnswIndex } from './hnsw/hnsw-index.ts';

const DIM = 10;

function clustered(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const centres = new Float32Array(25 * DIM).map(() => rng.normal());
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const c = rng.int(25);
    for (let d = 0; d < DIM; d++) out[i * DIM + d] = centres[c * DIM + d] + 0.6 * rng.normal();
  }
  return out;
}

test('auto picks exact below the threshold and HNSW above; every build reports recall@k', () => {
  const small = buildDenseIndex(
    Int32Array.of(0, 1),
    Float32Array.from({ length: 2 * DIM }, (_, i) => i),
    DIM,
    {
      metric: 'ip',
    },
  );
  assert.equal(small.index.kind, 'exact');
  assert.equal(small.report.recall?.recallAtK, 1);
  assert.equal(small.report.params, null);

  const n = 2500;
  const vectors = clustered(1, n);
  // Ids in reverse order, to check chunked insertion accepts any order.
  const ids = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
  const progress: number[] = [];
  const { index, report } = buildDenseIndex(ids, vectors, DIM, {
    metric: 'cosine',
    hnsw: { m: 10, efConstruction: 60, ef: 40 },
    recall: { k: 10, sample: 100, seed: 4 },
    onProgress: (done) => progress.push(done),
  });
  assert.ok(index instanceof HnswIndex);
  assert.equal(report.kind, 'hnsw');
  assert.equal(report.size, n);
  assert.deepEqual(progress, [n]);
  assert.equal(report.params?.m, 10);
  assert.equal(report.recall?.queries, 100);
  assert.ok(report.recall!.recallAtK >= 0.95 && report.recall!.recallAtK <= 1, `${report.recall?.recallAtK}`);
  assert.ok(report.recall!.qps > 0 && report.recall!.exactQps > 0);

  // The same sample measured by hand agrees with the report.
  const again = buildDenseIndex(ids, vectors, DIM, {
    metric: 'cosine',
    hnsw: { m: 10, efConstruction: 60, ef: 40 },
    recall: { k: 10, sample: 100, seed: 4 },
  });
  assert.equal(again.report.recall?.recallAtK, report.recall?.recallAtK);
});

test('measureRecall: 1 against itself, lower for a crippled graph, ties count as hits', () => {
  const n = 3000;
  const vectors = clustered(2, n);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const exact = new ExactIndex(DIM, 'ip');
  exact.add(ids, vectors);
  const queries = clustered(3, 80);
  assert.equal(measureRecall(exact, exact, queries, 10).recallAtK, 1);
  const weak = HnswIndex.create(DIM, 'ip', { m: 2, efConstruction: 2, ef: 1 });
  weak.add(ids, vectors);
  const r = measureRecall(weak, exact, queries, 10);
  assert.ok(r.recallAtK < 0.9, `a degree-2 graph searched with ef 1 should miss neighbours (${r.recallAtK})`);

  // Two identical vectors tie at the cut-off: returning either is a full hit.
  const tie = new ExactIndex(2, 'ip');
  tie.add(Int32Array.of(0, 1, 2), Float32Array.of(5, 0, 1, 0, 1, 0));
  class ReturnsTheOtherTwin extends ExactIndex {
    override searchInto(_q: Float32Array, _k: number, outIds: Int32Array, outScores: Float32Array): number {
      outIds.set([0, 2]);
      outScores.set([5, 1]);
      return 2;
    }
  }
  const other = new ReturnsTheOtherTwin(2, 'ip');
  assert.equal(measureRecall(other, tie, Float32Array.of(1, 0), 2).recallAtK, 1);
});

test('bad build options are CONFIG_INVALID', () => {
  const invalid = (field: string) => (e: unknown) =>
    e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field;
  const ids = Int32Array.of(0);
  const v = new Float32Array(DIM);
  assert.throws(() => buildDenseIndex(ids, v, DIM, { metric: 'ip', exactBelow: -1 }), invalid('exactBelow'));
  assert.throws(() => buildDenseIndex(ids, v, DIM, { metric: 'ip', kind: 'ivf' as 'hnsw' }), invalid('kind'));
  assert.throws(() => buildDenseIndex(ids, v.subarray(1), DIM, { metric: 'ip' }), invalid('vectors'));
  assert.throws(
    () => buildDenseIndex(ids, v, DIM, { metric: 'ip', kind: 'hnsw', recall: { sample: -1 } }),
    invalid('sample'),
  );
  assert.throws(
    () => measureRecall(new ExactIndex(DIM, 'ip'), new ExactIndex(DIM, 'ip'), v, 0),
    invalid('k'),
  );
});

test('ip over several chunks: Φ is the largest norm up front (no rebuild), every id keeps its own vector', () => {
  const n = 12_000;
  const vectors = clustered(7, n);
  const rng = new Rng(8);
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const s = 1 + 4 * rng.next();
    let sq = 0;
    for (let d = 0; d < DIM; d++) {
      vectors[i * DIM + d] *= s;
      sq += vectors[i * DIM + d] ** 2;
    }
    longest = Math.max(longest, Math.sqrt(sq));
  }
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % n);
  const progress: number[] = [];
  const { index, report } = buildDenseIndex(ids, vectors, DIM, {
    metric: 'ip',
    hnsw: { m: 8, efConstruction: 40, ef: 40 },
    recall: { k: 10, sample: 100 },
    onProgress: (done) => progress.push(done),
  });
  assert.ok(index instanceof HnswIndex);
  assert.deepEqual(progress, [10_000, 12_000]);
  assert.equal(index.stats().maxNorm, longest);
  assert.equal(index.stats().slots, n);
  for (const i of [0, 1, 4321, n - 1])
    assert.deepEqual(index.vector(ids[i]), vectors.slice(i * DIM, (i + 1) * DIM));
  assert.ok(report.recall!.recallAtK >= 0.95, `${report.recall?.recallAtK}`);
});

test("ip layout 'raw': the build inserts in the caller's order with no Φ, as one add of the same rows would", () => {
  const n = 3000;
  const vectors = clustered(9, n);
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 1009) % n);
  const hnsw = { m: 8, efConstruction: 40, ef: 40, ipLayout: 'raw' } as const;
  const { index, report } = buildDenseIndex(ids, vectors, DIM, {
    metric: 'ip',
    kind: 'hnsw',
    hnsw,
    recall: { k: 10, sample: 100 },
  });
  assert.ok(index instanceof HnswIndex);
  assert.equal(index.stats().maxNorm, null);
  assert.equal(report.params?.ipLayout, 'raw');
  const direct = HnswIndex.create(DIM, 'ip', hnsw, n);
  direct.add(ids, vectors);
  assert.deepEqual(index.toBytes(), direct.toBytes());
  assert.ok(report.recall!.recallAtK >= 0.9, `${report.recall?.recallAtK}`);
});
