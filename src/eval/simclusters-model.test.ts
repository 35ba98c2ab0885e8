import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import { Rng } from '../core/prng.ts';
import { runBuild } from '../pipeline/build.ts';
import { buildApp } from '../serve/app.ts';
import { evaluateModels, trainData } from './evaluate.ts';
import { type EvalData, interactionsFromPairs, toCatalogue } from './interactions.ts';
import { DEFAULT_FIT_OPTIONS, PopularityRecommender } from './recommender.ts';
import { SimClustersRecommender, writeTrainDir } from './simclusters-model.ts';
import { randomSplit } from './splits.ts';

/** Two planted tastes: users 0..29 engage with items 0..14, users 30..59 with items 15..29, 7 items each. */
function planted(): EvalData {
  const rng = new Rng(11);
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 60; u++) {
    const base = u < 30 ? 0 : 15;
    const chosen = new Set<number>(u < 30 ? [] : [15, 16, 17]);
    while (chosen.size < 7) chosen.add(base + rng.int(15));
    for (const i of chosen) {
      users.push(u);
      items.push(i);
    }
  }
  const all = interactionsFromPairs(60, 30, users, items);
  return toCatalogue({
    split: randomSplit(all, { seed: 2, testFraction: 0.2 }),
    users: IdMap.from(Array.from({ length: 60 }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: 30 }, (_, i) => `i${i}`)),
  });
}

test('the split evaluation ranks each user by what POST /v1/candidates/simclusters answers for a build of the train positives', async () => {
  const data = planted();
  const fit = { ...DEFAULT_FIT_OPTIONS, threads: 1 };
  const rec = new SimClustersRecommender();
  const dir = mkdtempSync(join(tmpdir(), 'simrec-eval-sc-test-'));
  try {
    await rec.fit(trainData(data), fit);
    assert.ok(rec.stats && rec.stats.clusters >= 1);
    // The same train positives built the way a user builds them, then asked over HTTP.
    writeTrainDir(join(dir, 'data'), trainData(data));
    await runBuild({ data: join(dir, 'data'), out: join(dir, 'art'), config: rec.buildConfig(fit) });
    const app = await buildApp({ artifacts: join(dir, 'art'), pollMs: 0 });
    try {
      let nonEmpty = 0;
      for (let u = 0; u < 60; u++) {
        const served = await rec.rankUser(u, 10);
        const res = await app.inject({
          method: 'POST',
          url: '/v1/candidates/simclusters',
          payload: { source: { userId: `u${u}` }, params: { limit: 10 } },
        });
        const http =
          res.statusCode === 404
            ? []
            : (res.json() as { candidates: { itemId: string }[] }).candidates.map((c) =>
                Number(c.itemId.slice(1)),
              );
        assert.deepEqual([...served.items], http, `user ${u}`);
        // Never a train positive of the user (the serving path excludes engaged items).
        const train = new Set(data.train.matrix.rowIndices(u));
        for (const i of served.items) assert.ok(!train.has(i), `user ${u} got train item ${i}`);
        if (served.items.length > 0) nonEmpty++;
      }
      assert.ok(nonEmpty > 0, 'some user is answered');
    } finally {
      await app.close();
    }
  } finally {
    await rec.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(() => new SimClustersRecommender().rankUser(0, 5), /before fit/);
});

test('a ranked model is reported beside scored ones: list metrics, no AUC, tie and empty-list shares', async () => {
  const data = planted();
  const report = await evaluateModels(
    data,
    [new PopularityRecommender(), new SimClustersRecommender()],
    { dataset: 'planted', split: 'random' },
    { ks: [3], threads: 1, seed: 4 },
  );
  const sc = report.models.simclusters;
  assert.ok(Number.isNaN(sc.auc));
  assert.ok(sc['precision@3'] >= 0 && sc['precision@3'] <= 1);
  assert.ok(sc['tied_top@3'] >= 0 && sc['tied_top@3'] <= 1);
  assert.ok(sc.empty_lists >= 0 && sc.empty_lists <= 1);
  assert.equal(sc.users, report.models.popularity.users);
  assert.ok(!Number.isNaN(report.models.popularity.auc));
});
