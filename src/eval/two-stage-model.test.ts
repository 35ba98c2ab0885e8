import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import { Rng } from '../core/prng.ts';
import { runBuild } from '../pipeline/build.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { buildApp } from '../serve/app.ts';
import { evaluateModels, trainData } from './evaluate.ts';
import { type EvalData, interactionsFromPairs, toCatalogue } from './interactions.ts';
import { createModels } from './models.ts';
import { DEFAULT_FIT_OPTIONS, PopularityRecommender } from './recommender.ts';
import { writeTrainDir } from './simclusters-model.ts';
import { randomSplit } from './splits.ts';
import { TwoStageRecommender } from './two-stage-model.ts';

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

test('the two-stage model ranks each user by what GET /v1/users/:userId/recommendations answers (explore 0)', async () => {
  const data = planted();
  const fit = { ...DEFAULT_FIT_OPTIONS, threads: 1 };
  const rec = new TwoStageRecommender();
  const dir = mkdtempSync(join(tmpdir(), 'simrec-eval-2s-test-'));
  try {
    await rec.fit(trainData(data), fit);
    // The build config is the build's own: nothing is switched off for the evaluation.
    const defaults = resolveBuildConfig(undefined, {});
    assert.equal(rec.buildConfig(fit).mf.enabled, defaults.mf.enabled);
    assert.equal(rec.buildConfig(fit).ranker.enabled, defaults.ranker.enabled);
    writeTrainDir(join(dir, 'data'), trainData(data));
    await runBuild({ data: join(dir, 'data'), out: join(dir, 'art'), config: rec.buildConfig(fit) });
    const app = await buildApp({ artifacts: join(dir, 'art'), pollMs: 0 });
    try {
      for (let u = 0; u < 60; u++) {
        const served = await rec.rankUser(u, 10);
        const res = await app.inject({
          method: 'GET',
          url: `/v1/users/u${u}/recommendations?limit=10&explore=0`,
        });
        assert.equal(res.statusCode, 200, res.body);
        const http = (res.json() as { items: { itemId: string }[] }).items.map((c) =>
          Number(c.itemId.slice(1)),
        );
        assert.deepEqual([...served.items], http, `user ${u}`);
        // Never empty, never a train positive of the user.
        assert.equal(served.items.length, 10);
        const train = new Set(data.train.matrix.rowIndices(u));
        for (const i of served.items) assert.ok(!train.has(i), `user ${u} got train item ${i}`);
      }
    } finally {
      await app.close();
    }
  } finally {
    await rec.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(() => new TwoStageRecommender().rankUser(0, 5), /before fit/);
});

test('two-stage in the split evaluation beside popularity: a ranked model, personalised above the popular list', async () => {
  const data = planted();
  const [model] = createModels(['two-stage'], { hasItemFeatures: false });
  assert.ok(model instanceof TwoStageRecommender);
  const report = await evaluateModels(
    data,
    [new PopularityRecommender(), model],
    { dataset: 'planted', split: 'random' },
    { ks: [3], threads: 1, seed: 4 },
  );
  const ts = report.models['two-stage'];
  assert.ok(Number.isNaN(ts.auc));
  assert.equal(ts.users, report.models.popularity.users);
  assert.equal(ts.empty_lists, 0);
  // Two disjoint tastes: one popular list serves half the users badly; the two-stage list follows each taste.
  assert.ok(
    ts['precision@3'] > report.models.popularity['precision@3'],
    `${ts['precision@3']} vs ${report.models.popularity['precision@3']}`,
  );
});
