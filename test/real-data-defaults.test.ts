// SimClusters with default settings on the public real data sets in ../shared/datasets (skipped when absent):
// the catalogue case (MovieLens) and the sparse social case (FilmTrust: a thin trust graph beside a rating log).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';

const DATASETS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../shared/datasets');
const ML = join(DATASETS, 'ml-latest-small');
const FILMTRUST = join(DATASETS, 'filmtrust');

test('ml-latest-small with defaults: tens of clusters, all non-empty, no tied or empty top 10', {
  skip: !existsSync(join(ML, 'ratings.csv')),
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'simrec-ml-'));
  const b = await runBuild({
    data: ML,
    out,
    config: resolveBuildConfig(undefined, { threads: 1, ingest: { format: 'movielens', minRating: 4 } }),
  });
  const c = b.simclusters!.clusters;
  assert.equal(c.graph.used, 'engagements');
  assert.equal(c.kMode, 'auto');
  assert.ok(c.nonEmpty >= 0.9 * c.k, `${c.nonEmpty} of ${c.k} clusters non-empty`);
  assert.ok(c.nonEmpty >= 4 && c.nonEmpty <= 100, `${c.nonEmpty} clusters`);
  assert.ok(c.top10.sampled >= 150);
  assert.ok(c.top10.fullyTied <= 0.05, `${c.top10.fullyTied} fully tied`);
  assert.ok(c.top10.empty <= 0.05, `${c.top10.empty} empty`);
  assert.deepEqual(c.warnings, []);
  // Most users rate in one sitting over 22 years: the ranker holds out a random share of each user's items, and
  // what it learns from that ranks held-out lists better than the sources' fusion, so it is shipped.
  const r = b.ranker!;
  assert.equal(r.split.kind, 'user');
  assert.ok(r.split.warmShare !== null && r.split.warmShare < 0.5, `warm share ${r.split.warmShare}`);
  assert.equal(r.cuts, null);
  assert.equal(r.scoring, 'ranker');
  assert.ok(r.eval.lists.ranker.ndcg > r.eval.lists.fusion.ndcg, JSON.stringify(r.eval.lists));
});

test('FilmTrust with defaults: the engagement graph carries the communities; most rated items get an embedding', {
  skip: !existsSync(join(FILMTRUST, 'ratings.txt')),
}, async () => {
  const data = mkdtempSync(join(tmpdir(), 'simrec-filmtrust-'));
  mkdirSync(data, { recursive: true });
  const rows = (f: string) => readFileSync(join(FILMTRUST, f), 'utf8').trim().split('\n');
  writeFileSync(
    join(data, 'follows.csv'),
    `consumer_id,producer_id\n${rows('trust.txt')
      .map((l) => l.split(' ').slice(0, 2).join(','))
      .join('\n')}\n`,
  );
  const ratings = rows('ratings.txt').map((l) => l.split(' '));
  writeFileSync(
    join(data, 'engagements.csv'),
    `user_id,item_id,weight\n${ratings.map(([u, i, r]) => `${u},${i},${r}`).join('\n')}\n`,
  );
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const b = await runBuild({ data, out, config: resolveBuildConfig(undefined, { threads: 1 }) });
  const sc = b.simclusters!;
  // 1,853 trust edges beside 35,497 ratings of films no user authored.
  assert.equal(sc.clusters.graph.used, 'engagements');
  assert.equal(sc.case, 'catalogue');
  const rated = new Set(ratings.map((r) => r[1])).size;
  const withEmbedding = sc.output.items!.stats.itemsWithEmbedding;
  assert.ok(withEmbedding >= 0.8 * rated, `${withEmbedding} of ${rated} rated films have an embedding`);
  assert.ok(sc.clusters.nonEmpty >= 4, `${sc.clusters.nonEmpty} clusters`);
  assert.ok(sc.output.interestedIn.stats.usersWithEmbedding >= 0.8 * b.dataset.stats.users);
  assert.ok(sc.clusters.top10.empty <= 0.05, `${sc.clusters.top10.empty} empty`);
});
