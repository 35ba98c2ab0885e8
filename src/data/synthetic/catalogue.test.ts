import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CatalogueCounts } from './catalogue.ts';
import { type GeneratorSummary, generateSynthetic } from './generate.ts';
import { GENRES } from './params.ts';
import { readTable, type Table } from './test-support.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-catalogue-'));
after(() => rmSync(root, { recursive: true, force: true }));

let summary: GeneratorSummary;
let items: Table;
let ratings: Table;
let interests: Table;
let producerTruth: Table;
let itemTruth: Table;
const dir = join(root, 'movies');

before(async () => {
  // A quarter of the preset: 1,500 users, 1,000 movies, 5 taste clusters, ~75k ratings.
  summary = await generateSynthetic({ preset: 'movies', outDir: dir, seed: 5, scale: 0.25 });
  items = readTable(join(dir, 'items.csv'));
  ratings = readTable(join(dir, 'engagements.csv'));
  interests = readTable(join(dir, 'truth/consumer_interests.csv'));
  producerTruth = readTable(join(dir, 'truth/producer_community.csv'));
  itemTruth = readTable(join(dir, 'truth/item_community.csv'));
});

test('movies: catalogue files, no follows or topic follows, items without author', () => {
  assert.deepEqual(readdirSync(dir).sort(), ['engagements.csv', 'generator.json', 'items.csv', 'truth']);
  assert.equal(items.header, 'item_id,created_ts,tags');
  assert.equal(ratings.header, 'user_id,item_id,action,weight,ts');
  assert.equal(producerTruth.header, 'producer_id,community');
  assert.equal(itemTruth.header, 'item_id,community');
  const c = summary.counts as CatalogueCounts;
  assert.equal(c.users, 1500);
  assert.equal(c.items, 1000);
  assert.equal(c.communities, 5);
  assert.equal(items.rows.length, 1000);
  assert.equal(ratings.rows.length, c.ratings);
  // Items are the producers of their own engagement: the two truths are the same table.
  assert.deepEqual(producerTruth.rows, itemTruth.rows);
});

test('movies: 1–3 genres per item from the vocabulary; a cluster’s items share its favoured genres', () => {
  const cluster = new Map(itemTruth.rows.map(([i, c]) => [i, Number(c)]));
  const perCluster = new Map<number, Map<string, number>>();
  const overall = new Map<string, number>();
  for (const [id, , tags] of items.rows) {
    const list = tags.split('|');
    assert.ok(list.length >= 1 && list.length <= 3, tags);
    assert.equal(new Set(list).size, list.length);
    for (const g of list) assert.ok(GENRES.includes(g), g);
    // Written in vocabulary order.
    assert.deepEqual(
      list,
      [...list].sort((a, b) => GENRES.indexOf(a) - GENRES.indexOf(b)),
    );
    const c = cluster.get(id)!;
    const m = perCluster.get(c) ?? new Map<string, number>();
    perCluster.set(c, m);
    for (const g of list) {
      m.set(g, (m.get(g) ?? 0) + 1);
      overall.set(g, (overall.get(g) ?? 0) + 1);
    }
  }
  assert.equal(GENRES.length, 18);
  // With 3 favoured genres holding 90% of a profile's mass, a cluster's top 3 genres carry most of its tags;
  // the same 3 genres carry far less of the whole catalogue's.
  for (const [, m] of perCluster) {
    const counts = [...m.entries()].sort((a, b) => b[1] - a[1]);
    const total = counts.reduce((s, [, n]) => s + n, 0);
    const top3 = counts.slice(0, 3);
    const share = top3.reduce((s, [, n]) => s + n, 0) / total;
    assert.ok(share > 0.75, `cluster top-3 share ${share}`);
    const all = [...overall.values()].reduce((s, n) => s + n, 0);
    const elsewhere = top3.reduce((s, [g]) => s + overall.get(g)!, 0) / all;
    assert.ok(elsewhere < share - 0.2, `same genres overall ${elsewhere} vs ${share}`);
  }
});

test('movies: ratings 1–5, higher inside a user’s tastes; ≈ 1 − μ of them inside; after release', () => {
  const cluster = new Map(itemTruth.rows.map(([i, c]) => [i, Number(c)]));
  const created = new Map(items.rows.map(([i, t]) => [i, Number(t)]));
  const tastes = new Map<string, Set<number>>();
  for (const [u, c, w] of interests.rows) {
    const s = tastes.get(u) ?? new Set<number>();
    tastes.set(u, s);
    s.add(Number(c));
    assert.ok(Number(w) > 0 && Number(w) <= 1);
  }
  for (const s of tastes.values()) assert.ok(s.size === 1 || s.size === 2);
  const sizes = new Map<number, number>();
  for (const c of cluster.values()) sizes.set(c, (sizes.get(c) ?? 0) + 1);

  const seen = new Set<string>();
  const perUser = new Map<string, number>();
  let inside = 0;
  let chance = 0;
  let inSum = 0;
  let outSum = 0;
  for (const [u, i, action, weight, ts] of ratings.rows) {
    assert.equal(action, 'rating');
    const r = Number(weight);
    assert.ok(Number.isInteger(r) && r >= 1 && r <= 5, weight);
    assert.ok(!seen.has(`${u},${i}`), 'each user rates an item once');
    seen.add(`${u},${i}`);
    assert.ok(Number(ts) > created.get(i)!, 'rated after release');
    assert.ok(Number(ts) >= 1_700_000_000 && Number(ts) < 1_700_000_000 + 730 * 86400);
    const mine = tastes.get(u)!;
    let n = 0;
    for (const c of mine) n += sizes.get(c)!;
    chance += n / 1000;
    if (mine.has(cluster.get(i)!)) {
      inside++;
      inSum += r;
    } else outSum += r;
    perUser.set(u, (perUser.get(u) ?? 0) + 1);
  }
  const c = summary.counts as CatalogueCounts;
  assert.equal(inside, c.inTasteRatings);
  const n = ratings.rows.length;
  const mu = 0.15;
  const expected = 1 - mu + (mu * chance) / n;
  assert.ok(Math.abs(inside / n - expected) < 0.01, `inside ${inside / n} vs ${expected}`);
  // Means of round(N(4.1, 0.9)) and round(N(2.6, 0.9)) clamped to 1..5, from the normal CDF: 4.036, 2.609.
  assert.ok(Math.abs(inSum / inside - 4.036) < 0.03, `in-taste mean ${inSum / inside}`);
  assert.ok(Math.abs(outSum / (n - inside) - 2.609) < 0.06, `out-of-taste mean ${outSum / (n - inside)}`);
  // Every user rates at least the minimum of 10; the count is heavy-tailed around a mean of 50.
  assert.equal(perUser.size, 1500);
  const counts = [...perUser.values()];
  assert.ok(Math.min(...counts) >= 10);
  assert.ok(Math.abs(n / 1500 - 50) < 5, `mean ratings per user ${n / 1500}`);
  assert.ok(Math.max(...counts) > 200);
});
