/**
 * The shared ml-latest-small split (DESIGN §5) through the whole eval path — file loading, catalogue, metrics —
 * for the popularity model, against a plain reference that reads the CSVs itself and ranks with a full sort.
 * Skipped when ../shared/datasets is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateModels } from '../src/eval/evaluate.ts';
import { loadFilesEval } from '../src/eval/load.ts';
import { createModels } from '../src/eval/models.ts';
import { PopularityRecommender } from '../src/eval/recommender.ts';
import { SimClustersRecommender } from '../src/eval/simclusters-model.ts';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const SPLIT = resolve(repo, '../shared/datasets/ml-latest-small-split');
const MOVIES = resolve(repo, '../shared/datasets/ml-latest-small/movies.csv');
const present = existsSync(resolve(SPLIT, 'train.csv')) && existsSync(resolve(SPLIT, 'test.csv'));

function pairs(file: string): [string, string][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(',') as [string, string]);
}

test('popularity on ml-latest-small-split matches a sort-based reference', { skip: !present }, async () => {
  const loaded = await loadFilesEval({
    train: resolve(SPLIT, 'train.csv'),
    test: resolve(SPLIT, 'test.csv'),
    itemFeatures: existsSync(MOVIES) ? MOVIES : null,
  });
  const d = loaded.data;
  assert.equal(d.train.matrix.nnz, 38864);
  assert.equal(d.test.matrix.nnz, 9716);
  assert.equal(d.itemIds.length, 6298);
  if (existsSync(MOVIES)) assert.equal(d.featureNames?.length, 19);
  const report = await evaluateModels(
    d,
    [new PopularityRecommender()],
    { dataset: 'ml', split: 'given' },
    { ks: [10] },
  );
  const got = report.models.popularity;

  // Reference: item order = first appearance in train then test (the id order of the loader), popularity =
  // train users per item, rank by (count desc, item order asc), train positives out.
  const train = pairs(resolve(SPLIT, 'train.csv'));
  const testPairs = pairs(resolve(SPLIT, 'test.csv'));
  const order = new Map<string, number>();
  for (const [, i] of [...train, ...testPairs]) if (!order.has(i)) order.set(i, order.size);
  const count = new Map<string, number>();
  const trainOf = new Map<string, Set<string>>();
  for (const [u, i] of train) {
    count.set(i, (count.get(i) ?? 0) + 1);
    if (!trainOf.has(u)) trainOf.set(u, new Set());
    trainOf.get(u)!.add(i);
  }
  const testOf = new Map<string, Set<string>>();
  for (const [u, i] of testPairs) {
    if (!testOf.has(u)) testOf.set(u, new Set());
    testOf.get(u)!.add(i);
  }
  const items = [...order.keys()];
  const score = (i: string) => count.get(i) ?? 0;
  const scores = items.map(score);
  const ranked = [...items].sort((a, b) => score(b) - score(a) || order.get(a)! - order.get(b)!);
  let p = 0;
  let r = 0;
  let auc = 0;
  for (const [u, pos] of testOf) {
    const seen = trainOf.get(u) ?? new Set<string>();
    const top = ranked.filter((i) => !seen.has(i)).slice(0, 10);
    const hits = top.filter((i) => pos.has(i)).length;
    p += hits / 10;
    r += hits / pos.size;
    // Pairwise, over plain arrays: every (test positive, negative) pair, a tie counting ½.
    const posScores = [...pos].map(score);
    let wins = 0;
    let n = 0;
    for (let j = 0; j < items.length; j++) {
      const i = items[j];
      if (seen.has(i) || pos.has(i)) continue;
      n++;
      const s = scores[j];
      for (const t of posScores) wins += t > s ? 1 : t === s ? 0.5 : 0;
    }
    auc += wins / (n * pos.size);
  }
  const users = testOf.size;
  assert.equal(got.users, users);
  assert.ok(Math.abs(got['precision@10'] - p / users) < 1e-9);
  assert.ok(Math.abs(got['recall@10'] - r / users) < 1e-9);
  assert.ok(Math.abs(got.auc - auc / users) < 1e-9);
});

test('SimClusters on ml-latest-small-split, as built and served with the defaults, beats popularity', {
  skip: !present,
}, async () => {
  const loaded = await loadFilesEval({
    train: resolve(SPLIT, 'train.csv'),
    test: resolve(SPLIT, 'test.csv'),
  });
  const report = await evaluateModels(
    loaded.data,
    [new PopularityRecommender(), new SimClustersRecommender()],
    { dataset: 'ml', split: 'given' },
    { ks: [10], threads: 2, seed: 42 },
  );
  const sc = report.models.simclusters;
  const c = report.counts;
  // A uniformly random top 10 hits a test positive with probability |T_u| / (catalogue − |train_u|); over this
  // split that averages below 0.004. Popularity is the floor a personalised model must clear: measured 0.147
  // against 0.111 (1.33×); the margin asserted leaves room for seed-level variation of the communities.
  const chance = c.testPositives / c.evaluatedUsers / (c.items - c.trainPositives / c.users);
  assert.ok(chance < 0.004, `chance ${chance}`);
  const pop = report.models.popularity['precision@10'];
  assert.ok(sc['precision@10'] > 1.15 * pop, `${sc['precision@10']} vs popularity ${pop}`);
  assert.ok(sc['tied_top@10'] <= 0.05, `tied ${sc['tied_top@10']}`);
  assert.equal(sc.users, report.models.popularity.users);
  assert.ok(Number.isNaN(sc.auc), 'a served list has no AUC');
});

test('MF (WARP, with and without genres) on ml-latest-small-split beats popularity after 20 epochs', {
  skip: !present || !existsSync(MOVIES),
}, async () => {
  const loaded = await loadFilesEval({
    train: resolve(SPLIT, 'train.csv'),
    test: resolve(SPLIT, 'test.csv'),
    itemFeatures: MOVIES,
  });
  const report = await evaluateModels(
    loaded.data,
    createModels(['popularity', 'mf-warp', 'mf-warp-features'], { hasItemFeatures: true }),
    { dataset: 'ml', split: 'given' },
    { ks: [10], epochs: 20, dim: 32, threads: 2, seed: 42 },
  );
  const pop = report.models.popularity;
  // Measured (2 threads): precision@10 0.164 and 0.147 vs 0.111, AUC 0.913 and 0.909 vs 0.869.
  for (const name of ['mf-warp', 'mf-warp-features']) {
    const m = report.models[name];
    assert.ok(
      m['precision@10'] > pop['precision@10'] * 1.15,
      `${name}: ${m['precision@10']} vs ${pop['precision@10']}`,
    );
    assert.ok(m.auc > pop.auc + 0.02, `${name}: ${m.auc} vs ${pop.auc}`);
  }
});
