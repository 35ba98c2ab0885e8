import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import { Rng } from '../../core/prng.ts';
import { openArtifactStore } from '../../store/open.ts';
import { ExactIndex } from '../exact.ts';
import { encodeEnvelope } from './envelope.ts';
import { HnswIndex } from './hnsw/hnsw-index.ts';
import {
  denseIndexFromBytes,
  LazyDenseIndex,
  lazyDenseIndex,
  loadDenseIndex,
  saveDenseIndex,
} from './persist.ts';

const DIM = 12;

function data(n: number) {
  const rng = new Rng(21);
  return {
    ids: Int32Array.from({ length: n }, (_, i) => i),
    vectors: new Float32Array(n * DIM).map(() => rng.normal()),
    queries: new Float32Array(20 * DIM).map(() => rng.normal()),
  };
}

test('both backends are saved with an artifact version and load lazily to identical answers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-dense-'));
  try {
    const d = data(1200);
    const hnsw = HnswIndex.create(DIM, 'cosine', { m: 8, efConstruction: 60, ef: 40 });
    hnsw.add(d.ids, d.vectors);
    hnsw.remove(3);
    const exact = new ExactIndex(DIM, 'ip');
    exact.add(d.ids, d.vectors);
    const store = openArtifactStore(root);
    const w = await store.createVersion();
    await saveDenseIndex(w, 'ann/dense/items', hnsw);
    await saveDenseIndex(w, 'ann/exact/items', exact);
    await w.commit({ extra: { note: 'dense test' } });

    const reader = await store.openVersion();
    const lazy = lazyDenseIndex(reader, 'ann/dense/items');
    assert.equal(lazy.loaded, false);
    const [a, b] = await Promise.all([lazy.get(), lazy.get()]);
    assert.equal(a, b, 'concurrent first calls share one load');
    assert.equal(lazy.loaded, true);
    const exactBack = await loadDenseIndex(reader, 'ann/exact/items');
    await reader.close();
    await store.close();
    // The loaded indexes own their memory: they answer after the reader is closed.
    assert.equal(a.kind, 'hnsw');
    assert.equal(exactBack.kind, 'exact');
    assert.equal(a.size, 1199);
    for (let q = 0; q < 20; q++) {
      const qv = d.queries.subarray(q * DIM, (q + 1) * DIM);
      assert.deepEqual(a.search(qv, 10), hnsw.search(qv, 10));
      assert.deepEqual(exactBack.search(qv, 10), exact.search(qv, 10));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a failed lazy load is reported and retried on the next call', async () => {
  let calls = 0;
  const good = new ExactIndex(2, 'ip');
  good.add(Int32Array.of(1), Float32Array.of(1, 2));
  const lazy = new LazyDenseIndex(async () => {
    calls++;
    if (calls === 1) throw new SimrecError('ARTIFACT_MISSING', 'not yet');
    return good.toBytes();
  });
  await assert.rejects(lazy.get(), (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_MISSING');
  assert.equal(lazy.loaded, false);
  const idx = await lazy.get();
  assert.equal(idx.size, 1);
  assert.equal(calls, 2);
  assert.equal(lazy.current, idx);
});

test('unknown kinds and foreign blobs are ARTIFACT_CORRUPT', () => {
  const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';
  assert.throws(() => denseIndexFromBytes(encodeEnvelope({ kind: 'ivf' }, [])), corrupt);
  assert.throws(() => denseIndexFromBytes(new TextEncoder().encode('{"kind":"hnsw"}')), corrupt);
});
