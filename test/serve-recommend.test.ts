// The recommendation routes over a version with a trained ranker (the tiny preset built with a strategy of its
// own): the ranker scores, explanations carry its feature contributions (w·x = contribution), a config strategy
// is picked by name, and live events through the overlay reach the ranker's features (an item that exists only
// in the log, faved by users, is scored from its overlay row).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import type { Recommendation } from '../src/recommend/engine.ts';
import { buildApp, type SimrecFastify } from '../src/serve/app.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-serve-recommend-'));
let app: SimrecFastify;
let users: string[];

before(async () => {
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 1 });
  const out = join(root, 'art');
  const built = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, {
      threads: 1,
      seed: 1,
      recommend: { strategies: { 'no-ranker': { ranker: false, budgets: { popular: 0 } } } },
    }),
  });
  assert.ok(built.manifest.stages.includes('ranker'));
  users = [5, 6, 7].map((u) => built.dataset.users.id(u));
  app = await buildApp({ artifacts: out, pollMs: 0, docs: false });
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

function ok(res: { statusCode: number; body: string; json(): unknown }): Recommendation {
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Recommendation;
}
const get = (url: string) => app.inject({ method: 'GET', url });

test('ranker scoring: probabilities best first, explanations with feature contributions', async () => {
  const r = ok(await get(`/v1/users/${users[0]}/recommendations?limit=8&explain=true&explore=0`));
  assert.equal(r.scoring, 'ranker');
  assert.equal(r.items.length, 8);
  for (let j = 0; j < r.items.length; j++) {
    const item = r.items[j];
    assert.ok(item.score > 0 && item.score < 1, `score ${item.score}`);
    if (j > 0) assert.ok(r.items[j - 1].score >= item.score);
    assert.ok(item.sources.length > 0);
    const f = item.explanation!.features;
    assert.ok(f.length > 0 && f.length <= 5);
    for (const c of f) assert.ok(Math.abs(c.contribution - c.weight * c.value) < 1e-9, c.name);
    for (let q = 1; q < f.length; q++)
      assert.ok(Math.abs(f[q - 1].contribution) >= Math.abs(f[q].contribution));
  }
  // At least one item's clusters explain a SimClusters match, each cluster with its top producers.
  const clustered = r.items.flatMap((x) => x.explanation!.clusters);
  assert.ok(clustered.length > 0);
  for (const c of clustered) assert.ok(c.contribution > 0 && c.topProducers.length > 0);
});

test('a strategy of the build config: fusion without the popular source', async () => {
  const r = ok(await get(`/v1/users/${users[0]}/recommendations?limit=5&strategy=no-ranker&explore=0`));
  assert.equal(r.strategy, 'no-ranker');
  assert.equal(r.scoring, 'fusion');
  assert.equal(r.stats.sources.popular, undefined);
  assert.ok(r.items.every((x) => x.sources.every((p) => p.source !== 'popular')));
  const res = await get(`/v1/users/${users[0]}/recommendations?strategy=other`);
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error.field, 'strategy');
  assert.match(res.json().error.message, /default, no-ranker/);
});

test('a new item faved through the event log is a candidate the ranker scores from its overlay row', async () => {
  const [a, b, c] = users;
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    payload: {
      events: [
        { userId: a, action: 'fav', itemId: 'brand-new' },
        { userId: b, action: 'fav', itemId: 'brand-new' },
      ],
    },
  });
  assert.equal(res.statusCode, 202, res.body);
  await app.simrec.applier?.waitFor(app.simrec.events?.log.end() ?? 0);
  // c asks with a session of brand-new: item → item and the session's interest come from its live row.
  const r = ok(
    await app.inject({
      method: 'POST',
      url: '/v1/recommendations',
      payload: { subject: { userId: c, items: ['brand-new'] }, limit: 10, explore: 0, explain: true },
    }),
  );
  assert.equal(r.scoring, 'ranker');
  assert.ok(!r.items.some((x) => x.itemId === 'brand-new'));
  // a's answer no longer holds what a faved; b's may hold it only if b did not engage (b did).
  const ra = ok(await get(`/v1/users/${a}/recommendations?limit=20&explore=0`));
  assert.ok(!ra.items.some((x) => x.itemId === 'brand-new'));
  const trending = ok(
    await app.inject({
      method: 'POST',
      url: '/v1/recommendations',
      payload: {
        subject: { userId: c },
        limit: 50,
        explore: 0,
        explain: true,
        filters: { allow: ['brand-new'] },
      },
    }),
  );
  // Engaged by two users in the log, the new item is trending: the popular source returns it for c.
  assert.deepEqual(
    trending.items.map((x) => x.itemId),
    ['brand-new'],
  );
  assert.ok(trending.items[0].sources.some((p) => p.source === 'popular'));
  assert.ok(trending.items[0].score > 0 && trending.items[0].score < 1);
  // Its favs came at the receive time, years after the preset's data: the live row's raw values are grown to
  // the version's time unit by as much, and the explanation still reads on the normalised scale.
  assert.ok(trending.items[0].explanation!.clusters.length > 0);
  for (const k of trending.items[0].explanation!.clusters) {
    assert.ok(k.itemScore > 0 && k.itemScore <= 1 + 1e-9, `itemScore ${k.itemScore}`);
    assert.ok(Math.abs(k.contribution - k.subjectScore * k.itemScore) < 1e-9);
  }
});
