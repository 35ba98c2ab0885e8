import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import { Rng } from '../core/prng.ts';
import { evaluateModels, trainData } from './evaluate.ts';
import { type EvalData, interactionsFromPairs, toCatalogue } from './interactions.ts';
import { DEFAULT_FIT_OPTIONS, PopularityRecommender } from './recommender.ts';
import { SimClustersRecommender } from './simclusters-model.ts';
import { randomSplit } from './splits.ts';

/**
 * Two planted tastes: users 0..29 engage only with items 0..14, users 30..59 only with items 15..29, 7 items
 * each. Every B user takes items 15, 16 and 17, which makes them the most popular items overall, so popularity
 * recommends B's favourites to A users too.
 */
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

test('a SimClusters build on the train split scores a user only on items of their own community', async () => {
  const data = planted();
  const m = new SimClustersRecommender({ knownFor: { k: 2 } });
  await m.fit(trainData(data), { ...DEFAULT_FIT_OPTIONS, threads: 1 });
  assert.equal(m.stats!.clusters, 2);
  const n = data.itemIds.length;
  const group = (i: number) => (Number(data.itemIds[i].slice(1)) < 15 ? 0 : 1);
  const out = new Float32Array(n);
  let checked = 0;
  for (let u = 0; u < 60; u++) {
    m.scoreUser(u, out);
    if (out.every((v) => v === 0)) continue; // no InterestedIn (social proof not met)
    const own = u < 30 ? 0 : 1;
    for (let i = 0; i < n; i++) {
      if (group(i) !== own) assert.equal(out[i], 0, `user ${u} item ${data.itemIds[i]}`);
    }
    checked++;
  }
  assert.ok(checked >= 50, `${checked} users with an embedding`);
  assert.throws(() => m.scoreUser(0, new Float32Array(n + 1)), { code: 'INTERNAL' });
  assert.throws(() => new SimClustersRecommender().scoreUser(0, out), /before fit/);
});

test('on planted tastes SimClusters beats popularity, which pushes the other group favourites', async () => {
  const data = planted();
  const report = await evaluateModels(
    data,
    [new PopularityRecommender(), new SimClustersRecommender({ knownFor: { k: 2 } })],
    { dataset: 'planted', split: 'random' },
    { ks: [3], threads: 1, seed: 4 },
  );
  const pop = report.models.popularity;
  const sc = report.models.simclusters;
  assert.ok(sc['recall@3'] > pop['recall@3'] + 0.1, `${sc['recall@3']} vs ${pop['recall@3']}`);
  assert.ok(sc.auc > pop.auc, `${sc.auc} vs ${pop.auc}`);
});
