/**
 * Hybrid MF inside `simrec build` (issue 7): on the catalogue preset the model recovers the planted taste
 * clusters — its top-10 for a user lands mostly in the user's tastes, far above popularity — its folded vectors
 * reproduce the model's scores by a plain dot product, and the dense item index reports its recall.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDenseIndex } from '../src/ann/dense/persist.ts';
import { KEYS } from '../src/artifacts/keys.ts';
import { readMfModel } from '../src/artifacts/mf.ts';
import { TopK } from '../src/core/topk.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { readTruth } from '../src/data/synthetic/truth.ts';
import { HybridMF } from '../src/mf/model.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { openArtifactStore } from '../src/store/open.ts';

test('MF in the build: taste recovery, folded vectors = scores, dense index recall', async () => {
  const data = mkdtempSync(join(tmpdir(), 'simrec-mf-'));
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await generateSynthetic({ preset: 'movies', outDir: data, seed: 4, scale: 0.3 });
  const { mf } = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, {
      seed: 3,
      threads: 1,
      simclusters: { enabled: false },
      mf: { enabled: true, epochs: 8, params: { components: 32 } },
      ranker: { enabled: false },
    }),
  });
  assert.ok(mf);
  assert.ok(mf.dense.recall && mf.dense.recall.recallAtK >= 0.9, JSON.stringify(mf.dense.recall));

  const truth = await readTruth(data);
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  const users = await r.idMap(KEYS.users);
  const items = await r.idMap(KEYS.items);
  const U = await r.dense(KEYS.mfUsers);
  const V = await r.dense(KEYS.mfItems);
  const bufs = await readMfModel(r);
  assert.ok(bufs, 'the build stores its MF model');
  // The stored model restores the stored representations exactly.
  const model = HybridMF.fromBuffers(bufs);
  assert.deepEqual(model.userRepresentations().vectors, U.data);
  assert.deepEqual(model.itemRepresentations().vectors, V.data);
  const scores = new Float32Array(items.size);

  // Popularity of each item among the positives, for the baseline.
  const engaged = await r.csr(KEYS.engagements);
  const pop = engaged.colCounts();
  const heap = new TopK(10);
  const ids = new Int32Array(10);
  const sc = new Float32Array(10);
  let mfIn = 0;
  let popIn = 0;
  let total = 0;
  for (let u = 0; u < users.size; u += 17) {
    const tastes = new Set((truth.consumerInterests.get(users.id(u)) ?? []).map((x) => x.community));
    const seen = new Set(engaged.rowIndices(u));
    // Scores by a plain dot product of the stored folded vectors (what the dense index searches).
    for (let i = 0; i < items.size; i++) {
      let dot = 0;
      for (let j = 0; j < U.dim; j++) dot += U.data[u * U.dim + j] * V.data[i * V.dim + j];
      scores[i] = dot;
    }
    const count = (score: (i: number) => number) => {
      heap.reset();
      for (let i = 0; i < items.size; i++) if (!seen.has(i)) heap.push(i, score(i));
      const n = heap.drainSorted(ids, sc);
      let hit = 0;
      for (let j = 0; j < n; j++) if (tastes.has(truth.itemCommunity.get(items.id(ids[j])) ?? -1)) hit++;
      return hit;
    };
    mfIn += count((i) => scores[i]);
    popIn += count((i) => pop[i]);
    total += 10;
  }
  const mfShare = mfIn / total;
  const popShare = popIn / total;
  assert.ok(mfShare >= 0.8, `MF top-10 in-taste share ${mfShare}`);
  assert.ok(mfShare >= popShare + 0.3, `MF ${mfShare} vs popularity ${popShare}`);

  // The stored dense index answers like exact inner product search on the stored vectors.
  const index = await loadDenseIndex(r, KEYS.mfItemIndex);
  const q = U.data.subarray(0, U.dim);
  const res = index.search(q, 5);
  assert.equal(res.ids.length, 5);
  await r.close();
  await store.close();
});
