import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import { evaluateModels, measureRecommender, trainData } from './evaluate.ts';
import { type EvalData, interactionsFromPairs, toCatalogue } from './interactions.ts';
import { createModels } from './models.ts';
import { PopularityRecommender, RandomRecommender, type Recommender } from './recommender.ts';

const close = (a: number, b: number, msg = '') => assert.ok(Math.abs(a - b) < 1e-12, `${msg} ${a} != ${b}`);
const L3 = 1 / Math.log2(3);

/**
 * 3 users × 4 items. train: u0 {0, 1}, u1 {0, 2}, u2 {0}; test: u0 {2}, u1 {3}; u2 has no test item.
 * Popularity counts: [3, 1, 1, 0].
 */
function tiny(): EvalData {
  return toCatalogue({
    split: {
      train: interactionsFromPairs(3, 4, [0, 0, 1, 1, 2], [0, 1, 0, 2, 0]),
      test: interactionsFromPairs(3, 4, [0, 1], [2, 3]),
    },
    users: IdMap.from(['a', 'b', 'c']),
    items: IdMap.from(['w', 'x', 'y', 'z']),
  });
}

test('popularity on a hand-built split: every metric by hand', async () => {
  const data = tiny();
  const report = await evaluateModels(
    data,
    [new PopularityRecommender()],
    { dataset: 'tiny', split: 'given' },
    {
      ks: [2, 1],
    },
  );
  assert.deepEqual(report.protocol.ks, [1, 2]);
  assert.deepEqual(report.counts, {
    users: 3,
    evaluatedUsers: 2,
    items: 4,
    trainPositives: 5,
    testPositives: 2,
    coldTestPositives: 1,
    itemFeatures: 0,
  });
  const m = report.models.popularity;
  // u0 ranks 2*, 3; u1 ranks 1, 3*.
  close(m['precision@1'], 0.5);
  close(m['precision@2'], 0.5);
  close(m['recall@1'], 0.5);
  close(m['recall@2'], 1);
  close(m['ndcg@1'], 0.5);
  close(m['ndcg@2'], (1 + L3) / 2);
  close(m['map@1'], 0.5);
  close(m['map@2'], (1 + 1 / 2) / 2);
  close(m['hit_rate@1'], 0.5);
  close(m['hit_rate@2'], 1);
  close(m.auc, 0.5);
  close(m['coverage@1'], 2 / 4);
  close(m['coverage@2'], 3 / 4);
  // Popularity shares [1, 1/3, 1/3, 0] over the 3 training users.
  close(m['popularity@1'], 1 / 3);
  close(m['popularity@2'], 1 / 6);
  assert.equal(m.users, 2);
  assert.equal(m.invalid_scores, 0);
  assert.ok(m.train_seconds >= 0 && m.eval_seconds >= 0);
  assert.equal(m.sampled_auc, undefined);
});

test('the sampled protocol adds its metrics; the same seed gives the same figures', async () => {
  const data = tiny();
  const run = () =>
    evaluateModels(
      data,
      [new RandomRecommender()],
      { dataset: 't', split: 'given' },
      { seed: 7, sampledNegatives: 100 },
    );
  const a = await run();
  const b = await run();
  assert.deepEqual(
    Object.fromEntries(Object.entries(a.models.random).filter(([k]) => !k.endsWith('_seconds'))),
    Object.fromEntries(Object.entries(b.models.random).filter(([k]) => !k.endsWith('_seconds'))),
  );
  for (const key of ['sampled_hit_rate@5', 'sampled_ndcg@10', 'sampled_auc', 'sampled_mrr'])
    assert.equal(typeof a.models.random[key], 'number', key);
  // Two candidates per user at most (the catalogue minus train and test): everything is in the top 5.
  assert.equal(a.models.random['sampled_hit_rate@5'], 1);
});

test('scores are read once per evaluated user into one buffer; a repeated model is refused', async () => {
  const data = tiny();
  const calls: number[] = [];
  const buffers = new Set<Float32Array>();
  const spy: Recommender = {
    name: 'spy',
    async fit() {},
    scoreUser(u, out) {
      calls.push(u);
      buffers.add(out);
      out.fill(0);
    },
  };
  measureRecommender(data, spy);
  assert.deepEqual(calls, [0, 1]);
  assert.equal(buffers.size, 1);
  await assert.rejects(
    evaluateModels(data, [new PopularityRecommender(), new PopularityRecommender()], {
      dataset: 't',
      split: 's',
    }),
    { code: 'CONFIG_INVALID' },
  );
  assert.equal(trainData(data).nItems, 4);
});

test('createModels: unknown, repeated and feature-less requests are CONFIG_INVALID', () => {
  assert.deepEqual(
    createModels(['popularity', 'random'], { hasItemFeatures: false }).map((m) => m.name),
    ['popularity', 'random'],
  );
  assert.throws(() => createModels(['nope'], { hasItemFeatures: false }), {
    code: 'CONFIG_INVALID',
    message: /unknown/,
  });
  assert.throws(() => createModels(['random', 'random'], { hasItemFeatures: false }), {
    code: 'CONFIG_INVALID',
  });
  assert.throws(() => createModels([], { hasItemFeatures: false }), { code: 'CONFIG_INVALID' });
  const needs = [{ name: 'f', summary: '', needsItemFeatures: true, create: () => new RandomRecommender() }];
  assert.throws(() => createModels(['f'], { hasItemFeatures: false }, needs), /needs item features/);
  assert.equal(createModels(['f'], { hasItemFeatures: true }, needs).length, 1);
});
