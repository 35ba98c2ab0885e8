import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import {
  buildClusterTopItems,
  buildClusterTopProducers,
  ClusterTopAccumulator,
  clusterTop,
  clusterTopFromEmbeddings,
} from './cluster-index.ts';

function embedding(nRows: number, nCols: number, entries: [number, number, number][]): CsrMatrix {
  return CsrMatrix.fromCoo(
    Int32Array.from(entries, (e) => e[0]),
    Int32Array.from(entries, (e) => e[1]),
    Float32Array.from(entries, (e) => e[2]),
    nRows,
    nCols,
  );
}

test('cluster → top items: best first, ties by smaller item id, capacity and threshold applied', () => {
  // Cluster 0 scores: i0 0.5, i1 0.9, i2 0.5, i3 0.0005 (below 0.001), i4 0.7.
  // Cluster 1: i1 0.001 (exactly the threshold, kept), i3 0.3.
  const emb = embedding(5, 3, [
    [0, 0, 0.5],
    [1, 0, 0.9],
    [1, 1, 0.001],
    [2, 0, 0.5],
    [3, 0, 0.0005],
    [3, 1, 0.3],
    [4, 0, 0.7],
  ]);
  const all = buildClusterTopItems(emb, { topItemsPerCluster: 10, minItemScore: 0.001 });
  assert.deepEqual(Array.from(clusterTop(all, 0).ids), [1, 4, 0, 2]);
  assert.deepEqual(Array.from(clusterTop(all, 0).scores), [0.9, 0.7, 0.5, 0.5].map(Math.fround));
  assert.deepEqual(Array.from(clusterTop(all, 1).ids), [3, 1]);
  assert.equal(clusterTop(all, 2).ids.length, 0);
  // Capacity 3: cluster 0 keeps i1, i4 and, of the tied i0/i2, the smaller id.
  const top3 = buildClusterTopItems(emb, { topItemsPerCluster: 3, minItemScore: 0.001 });
  assert.deepEqual(Array.from(clusterTop(top3, 0).ids), [1, 4, 0]);
  // Eligibility flags drop items (e.g. too old to index).
  const young = buildClusterTopItems(
    emb,
    { topItemsPerCluster: 3, minItemScore: 0.001 },
    Uint8Array.from([1, 0, 1, 1, 1]),
  );
  assert.deepEqual(Array.from(clusterTop(young, 0).ids), [4, 0, 2]);
  assert.deepEqual(Array.from(clusterTop(young, 1).ids), [3]);
});

test('cluster → top producers keeps the first N per cluster', () => {
  const emb = embedding(3, 1, [
    [0, 0, 0.2],
    [1, 0, 0.6],
    [2, 0, 0.4],
  ]);
  const list = buildClusterTopProducers(emb, { topProducersPerCluster: 2, minProducerScore: 0 });
  assert.deepEqual(Array.from(clusterTop(list, 0).ids), [1, 2]);
  assert.equal(list.nEntities, 3);
});

test('the accumulator equals a full sort on random data with many ties, pushed in any order', () => {
  const rng = new Rng(11);
  const nClusters = 7;
  const nItems = 500;
  const capacity = 37;
  const acc = new ClusterTopAccumulator(nClusters, nItems, capacity);
  const byCluster: [number, number][][] = Array.from({ length: nClusters }, () => []);
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < nItems; i++) {
    for (let c = 0; c < nClusters; c++) {
      if (rng.next() < 0.4) pairs.push([c, i, Math.fround(rng.int(20) / 20)]);
    }
  }
  rng.shuffle(pairs);
  for (const [c, i, s] of pairs) {
    acc.push(c, i, s);
    byCluster[c].push([i, s]);
  }
  const list = acc.finish();
  for (let c = 0; c < nClusters; c++) {
    const expected = byCluster[c].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, capacity);
    const got = clusterTop(list, c);
    assert.deepEqual(
      Array.from(got.ids),
      expected.map((e) => e[0]),
    );
    assert.deepEqual(
      Array.from(got.scores),
      expected.map((e) => e[1]),
    );
  }
});

test('empty embeddings and zero capacity give empty lists; bad capacity is a config error', () => {
  const empty = clusterTopFromEmbeddings(embedding(0, 4, []), 10, 0);
  assert.equal(empty.nClusters, 4);
  assert.deepEqual(Array.from(empty.indptr), [0, 0, 0, 0, 0]);
  const zero = clusterTopFromEmbeddings(embedding(2, 1, [[0, 0, 1]]), 0, 0);
  assert.equal(zero.ids.length, 0);
  assert.throws(
    () => clusterTopFromEmbeddings(embedding(2, 1, []), 1.5, 0),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
});
