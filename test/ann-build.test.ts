/**
 * SimClusters ANN over a real build of generated data (issue 6): recall@50 of the default parameters against
 * the exhaustive exact mode, and community precision of user candidates against the planted truth.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimClustersAnn } from '../src/ann/simclusters.ts';
import { interestedInKey, KEYS } from '../src/artifacts/keys.ts';
import { loadSimClustersIndex } from '../src/artifacts/simclusters.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { readTruth } from '../src/data/synthetic/truth.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { openArtifactStore } from '../src/store/open.ts';

test('user candidates: recall@50 ≥ 0.9 against exact, and mostly from the user’s planted interests', async () => {
  const data = mkdtempSync(join(tmpdir(), 'simrec-ann-'));
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await generateSynthetic({ preset: 'social', outDir: data, seed: 11 });
  await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, { seed: 2, mf: { enabled: false }, ranker: { enabled: false } }),
  });
  const truth = await readTruth(data);
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  const ann = new SimClustersAnn(await loadSimClustersIndex(r));
  const users = await r.idMap(KEYS.users);
  const items = await r.idMap(KEYS.items);
  const ii = await r.csr(interestedInKey('logFavScoreClusterNormalized'));
  const engaged = await r.csr(KEYS.engagements);

  let hits = 0;
  let wanted = 0;
  let inInterest = 0;
  let returned = 0;
  let queried = 0;
  for (let u = 0; u < users.size && queried < 200; u += 331) {
    const ids = ii.rowIndices(u);
    if (ids.length === 0) continue;
    queried++;
    const source = { ids, values: ii.rowValues(u)! };
    const filters = { exclude: engaged.rowIndices(u) };
    const exact = ann.query(source, { mode: 'exact', limit: 50 }, filters);
    const approx = ann.query(source, { limit: 50 }, filters);
    // Tie-aware: items whose embedding lies in one cluster share one exact cosine, so the exact top-50 is an
    // arbitrary (id-ordered) cut through a tie. An answer counts as a hit when its exact score reaches the
    // 50th exact score; approximate results carry their exact score after the rerank.
    const kth = exact.scores[exact.scores.length - 1] ?? 0;
    for (let j = 0; j < approx.items.length; j++) if (approx.scores[j] >= kth - 1e-6) hits++;
    wanted += exact.items.length;
    const interests = new Set((truth.consumerInterests.get(users.id(u)) ?? []).map((x) => x.community));
    for (const it of approx.items) {
      returned++;
      if (interests.has(truth.itemCommunity.get(items.id(it)) ?? -1)) inInterest++;
    }
  }
  assert.ok(queried >= 100, `only ${queried} users had an InterestedIn`);
  const recall = hits / wanted;
  const precision = inInterest / returned;
  // Measured 0.912 here (seed 11), 0.933 on seed 1. What is lost are items whose mass is split across the
  // user's clusters: ranked by share they sit below the top M = 400 of every cluster list. Ranking the index by
  // W[i,c] or scoring by the partial norm instead cost far more (0.46–0.88).
  assert.ok(recall >= 0.9, `recall@50 ${recall}`);
  // Measured 0.896: favs go to interest communities with probability 1 − μ = 0.9.
  assert.ok(precision >= 0.8, `community precision ${precision}`);
  await r.close();
  await store.close();
});
