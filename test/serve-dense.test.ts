/**
 * Dense (MF) serving on a real build (issue 7): the movies preset built with SimClusters and MF, served through
 * the HTTP app. A new user folded in from items of one planted taste cluster gets candidates from that cluster
 * (truth/item_community.csv), concurrent fold-ins do not disturb each other, and the HNSW indexes answer like
 * the exact scan.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Rng } from '../src/core/prng.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { readTruth, type Truth } from '../src/data/synthetic/truth.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { buildApp, type SimrecFastify } from '../src/serve/app.ts';

let root: string;
let app: SimrecFastify;
let truth: Truth;
/** Community → its item ids, most engaged first. */
let byCommunity: Map<number, string[]>;

interface Answer {
  source: string;
  candidates: { itemId: string; score: number }[];
  params: { mode: string; excluded: number };
  stats: { index: string; foldInItems?: number; foldInSkipped?: number };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-serve-dense-'));
  const data = join(root, 'data');
  const out = join(root, 'art');
  // Scale 0.5 gives 2000 items: the MF stage builds HNSW graphs from 2000 vectors on.
  await generateSynthetic({ preset: 'movies', outDir: data, seed: 4, scale: 0.5 });
  const build = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, {
      seed: 3,
      threads: 1,
      mf: { enabled: true, epochs: 8, params: { components: 32 } },
      ranker: { enabled: false },
    }),
  });
  assert.equal(build.mf?.dense.kind, 'hnsw');
  assert.equal(build.mf?.similarDense.kind, 'hnsw');
  truth = await readTruth(data);
  app = await buildApp({ artifacts: out, pollMs: 0, docs: false });
  byCommunity = new Map();
  for (const [item, c] of truth.itemCommunity) {
    const list = byCommunity.get(c) ?? [];
    list.push(item);
    byCommunity.set(c, list);
  }
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

async function dense(payload: unknown): Promise<Answer> {
  const res = await app.inject({ method: 'POST', url: '/v1/candidates/dense', payload: payload as object });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Answer;
}

const ids = (a: Answer) => a.candidates.map((c) => c.itemId);

test('a new user folded in from one taste cluster gets candidates from that cluster', async () => {
  const rng = new Rng('serve-dense-fold-in');
  let inCluster = 0;
  let total = 0;
  let clusters = 0;
  for (const [c, items] of byCommunity) {
    if (items.length < 40) continue;
    clusters++;
    // Five items of the cluster, as a new user's history.
    const history = Array.from({ length: 5 }, () => items[rng.int(items.length)]);
    const a = await dense({ source: { items: history }, params: { limit: 20 } });
    assert.equal(a.source, 'mf:fold-in');
    assert.equal(a.candidates.length, 20);
    for (const id of ids(a)) {
      assert.ok(!history.includes(id), `${id} was in the history`);
      if (truth.itemCommunity.get(id) === c) inCluster++;
      total++;
    }
  }
  assert.ok(clusters >= 5, `${clusters} clusters`);
  const share = inCluster / total;
  // Measured 1.0 over the 10 clusters, which hold 6–23% of the catalogue each.
  assert.ok(share >= 0.9, `in-cluster share of fold-in candidates ${share} over ${clusters} clusters`);
});

test('fold-in: unknown ids skipped, an unknown userId with items is the same fold-in, deterministic', async () => {
  const items = [...byCommunity.values()].find((l) => l.length >= 10)!.slice(0, 4);
  const anon = await dense({ source: { items: [...items, 'no-such-item'] } });
  assert.deepEqual(anon.stats.foldInItems, 4);
  assert.deepEqual(anon.stats.foldInSkipped, 1);
  assert.equal(anon.params.excluded, 4);
  const named = await dense({ source: { userId: 'someone-new', items } });
  assert.equal(named.source, 'mf:fold-in');
  assert.deepEqual(named.candidates, anon.candidates);
  // a user the model knows keeps their own vector; the items are only excluded
  const known = await dense({ source: { userId: [...truth.consumerInterests.keys()][0], items } });
  assert.equal(known.source, 'mf:user');
  for (const id of items) assert.ok(!ids(known).includes(id));
});

test('concurrent fold-ins do not disturb each other', async () => {
  const rng = new Rng('serve-dense-concurrent');
  const pool = [...truth.itemCommunity.keys()];
  const users = [...truth.consumerInterests.keys()];
  const bodies = Array.from({ length: 24 }, (_, j) => ({
    source:
      j % 3 === 0
        ? { userId: users[j] }
        : { items: Array.from({ length: 1 + rng.int(8) }, () => pool[rng.int(pool.length)]) },
    params: { limit: 15, mode: j % 2 === 0 ? 'ann' : 'exact' },
  }));
  const one = [];
  for (const b of bodies) one.push(await dense(b));
  const together = await Promise.all(bodies.map((b) => dense(b)));
  assert.deepEqual(together, one);
});

test('the HNSW indexes answer like the exact scan (users, fold-ins, items)', async () => {
  const rng = new Rng('serve-dense-recall');
  const pool = [...truth.itemCommunity.keys()];
  const users = [...truth.consumerInterests.keys()];
  let hits = 0;
  let total = 0;
  for (let q = 0; q < 60; q++) {
    const source =
      q % 3 === 0
        ? { userId: users[rng.int(users.length)] }
        : q % 3 === 1
          ? { items: Array.from({ length: 3 }, () => pool[rng.int(pool.length)]) }
          : { itemId: pool[rng.int(pool.length)] };
    const ann = await dense({ source, params: { limit: 10 } });
    const exact = await dense({ source, params: { limit: 10, mode: 'exact' } });
    assert.equal(ann.stats.index, 'hnsw');
    assert.equal(exact.stats.index, 'scan');
    const want = new Set(ids(exact));
    for (const id of ids(ann)) if (want.has(id)) hits++;
    total += want.size;
  }
  const recall = hits / total;
  // Measured 0.978 (the HNSW builds are seeded and single-threaded, so this is not a sample that moves).
  assert.ok(recall >= 0.95, `recall@10 of the dense routes against the exact scan: ${recall}`);
});

test('fold-in: a repeated item counts once, so ["a","a","a"] is the fold-in of ["a"]; similar-item cosines stay ≤ 1', async () => {
  const items = [...byCommunity.values()].find((l) => l.length >= 10)!.slice(0, 2);
  const once = await dense({ source: { items } });
  const repeated = await dense({ source: { items: [items[0], items[0], items[0], items[1]] } });
  assert.deepEqual(repeated.candidates, once.candidates);
  assert.equal(repeated.stats.foldInItems, 2);
  assert.equal(repeated.stats.foldInSkipped, 0);
  assert.equal(repeated.params.excluded, 2);
  for (const mode of ['ann', 'exact']) {
    const sim = await dense({ source: { itemId: items[0] }, params: { limit: 50, mode } });
    for (const c of sim.candidates)
      assert.ok(c.score <= 1 && c.score >= -1, `${mode} ${c.itemId} ${c.score}`);
  }
});
