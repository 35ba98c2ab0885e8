import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { IdMap } from '../core/id-map.ts';
import { Rng } from '../core/prng.ts';
import { evaluateModels, trainData } from './evaluate.ts';
import { type EvalData, interactionsFromPairs, toCatalogue } from './interactions.ts';
import { MfRecommender } from './mf-model.ts';
import { createModels } from './models.ts';
import { DEFAULT_FIT_OPTIONS } from './recommender.ts';
import { userHoldoutSplit } from './splits.ts';

/**
 * Three planted tastes over 36 items (12 each, tagged with their taste), 90 users with 8 positives each, mostly
 * within their taste; the first item of taste 0 is liked by nearly everyone, so popularity alone is a weak guide.
 */
function planted(withTags: boolean): EvalData {
  const rng = new Rng(21);
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 90; u++) {
    const taste = u % 3;
    const chosen = new Set<number>([0]);
    while (chosen.size < 8) chosen.add(rng.next() < 0.9 ? taste * 12 + rng.int(12) : rng.int(36));
    for (const i of chosen) {
      users.push(u);
      items.push(i);
    }
  }
  const all = interactionsFromPairs(90, 36, users, items);
  const tags = new CsrMatrix(
    36,
    3,
    Int32Array.from({ length: 37 }, (_, i) => i),
    Int32Array.from({ length: 36 }, (_, i) => Math.floor(i / 12)),
    null,
  );
  return toCatalogue({
    split: userHoldoutSplit(all, { seed: 1, testFraction: 0.25 }),
    users: IdMap.from(Array.from({ length: 90 }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: 36 }, (_, i) => `i${i}`)),
    itemTags: withTags ? tags : null,
    topics: withTags ? IdMap.from(['a', 'b', 'c']) : null,
  });
}

test('MF models learn planted tastes and beat popularity', async () => {
  const data = planted(true);
  const models = createModels(['popularity', 'mf-warp', 'mf-bpr', 'mf-warp-features'], {
    hasItemFeatures: true,
  });
  const report = await evaluateModels(
    data,
    models,
    { dataset: 'planted', split: 'user' },
    {
      ks: [5],
      epochs: 50,
      dim: 8,
      threads: 1,
      seed: 3,
    },
  );
  const pop = report.models.popularity;
  for (const name of ['mf-warp', 'mf-bpr', 'mf-warp-features']) {
    const m = report.models[name];
    assert.ok(
      m['recall@5'] > pop['recall@5'] + 0.1,
      `${name}: recall@5 ${m['recall@5']} vs ${pop['recall@5']}`,
    );
    assert.ok(m.auc > pop.auc + 0.15, `${name}: auc ${m.auc} vs ${pop.auc}`);
  }
});

test('one thread and one seed reproduce the same scores; misuse is refused', async () => {
  const data = planted(false);
  const fit = { ...DEFAULT_FIT_OPTIONS, epochs: 3, dim: 4, threads: 1, seed: 9 };
  const a = new MfRecommender('a', { loss: 'warp' });
  const b = new MfRecommender('b', { loss: 'warp' });
  await a.fit(trainData(data), fit);
  await b.fit(trainData(data), fit);
  const n = data.itemIds.length;
  const sa = new Float32Array(n);
  const sb = new Float32Array(n);
  a.scoreUser(5, sa);
  b.scoreUser(5, sb);
  assert.deepEqual(sa, sb);
  assert.ok(sa.some((v) => v !== sa[0]));
  assert.throws(() => a.scoreUser(5, new Float32Array(n + 1)), { code: 'INTERNAL' });
  assert.throws(() => new MfRecommender('c', {}).scoreUser(0, sa), /before fit/);
  await assert.rejects(new MfRecommender('f', {}, true).fit(trainData(data), fit), /needs item features/);
  assert.throws(() => createModels(['mf-warp-features'], { hasItemFeatures: false }), {
    code: 'CONFIG_INVALID',
  });
});
