import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import { Rng } from '../core/prng.ts';
import { runBuild } from '../pipeline/build.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { ServingModel } from '../query/serving-model.ts';
import { buildApp } from '../serve/app.ts';
import { openArtifactStore } from '../store/open.ts';
import { trainData } from './evaluate.ts';
import { interactionsFromPairs, toCatalogue } from './interactions.ts';
import { evaluateServed, readTestPairs, type ServedFamily } from './served.ts';
import { writeTrainDir } from './simclusters-model.ts';
import { randomSplit } from './splits.ts';

function planted() {
  const rng = new Rng(5);
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 50; u++) {
    const base = u < 25 ? 0 : 12;
    const chosen = new Set<number>();
    while (chosen.size < 6) chosen.add(base + rng.int(12));
    for (const i of chosen) {
      users.push(u);
      items.push(i);
    }
  }
  return toCatalogue({
    split: randomSplit(interactionsFromPairs(50, 24, users, items), { seed: 3, testFraction: 0.25 }),
    users: IdMap.from(Array.from({ length: 50 }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: 24 }, (_, i) => `i${i}`)),
  });
}

test('eval --artifacts answers every test user with what the HTTP routes answer, each family side by side', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-served-'));
  try {
    const data = planted();
    writeTrainDir(join(dir, 'data'), trainData(data));
    const config = resolveBuildConfig(undefined, {
      threads: 1,
      mf: { enabled: true, epochs: 5 },
      recommend: {
        strategies: {
          'sc-only': {
            ranker: false,
            budgets: { item2item: 0, producers: 0, dense: 0, popular: 0, topics: 0 },
          },
        },
      },
    });
    await runBuild({ data: join(dir, 'data'), out: join(dir, 'art'), config });
    // Test pairs by external id (the build names index u "u<u>", item i "i<i>"), plus an unknown user, a
    // repeated pair and an unknown (cold) item, each of which must be counted rather than dropped silently.
    const te = data.test.matrix;
    const lines = ['user_id,item_id'];
    for (let u = 0; u < te.nRows; u++) for (const i of te.rowIndices(u)) lines.push(`u${u},i${i}`);
    const first = lines[1];
    lines.push(first, 'nobody,i1', 'u0,i999');
    writeFileSync(join(dir, 'test.csv'), `${lines.join('\n')}\n`);
    const pairs = await readTestPairs(join(dir, 'test.csv'));
    assert.equal(pairs.duplicates, 1);

    const store = openArtifactStore(join(dir, 'art'));
    const reader = await store.openVersion();
    const lists: Record<string, Map<string, string[]>> = {};
    let result: Awaited<ReturnType<typeof evaluateServed>>;
    try {
      const model = await ServingModel.load(reader);
      await assert.rejects(evaluateServed(reader, model, pairs, { strategies: ['nope'] }), {
        code: 'CONFIG_INVALID',
        detail: { field: 'strategies' },
      });
      result = await evaluateServed(reader, model, pairs, {
        ks: [5],
        strategies: ['sc-only'],
        onList: (family: ServedFamily, user, items) => {
          lists[family] ??= new Map();
          lists[family].set(user, items);
        },
      });
    } finally {
      await reader.close();
      await store.close();
    }
    const { report, notes } = result;
    assert.deepEqual(Object.keys(report.models), [
      'two-stage',
      'two-stage:sc-only',
      'simclusters-ann',
      'mf',
      'popularity',
    ]);
    assert.ok(notes.some((n) => n.startsWith('1 test user(s) unknown')));
    assert.ok(notes.some((n) => n.startsWith('1 repeated test pair(s)')));
    assert.equal(report.counts.coldTestPositives >= 1, true);

    const app = await buildApp({ artifacts: join(dir, 'art'), pollMs: 0 });
    try {
      for (const [family, url] of [
        ['simclusters-ann', '/v1/candidates/simclusters'],
        ['mf', '/v1/candidates/dense'],
      ] as const) {
        const got = lists[family];
        assert.equal(got.size, report.counts.evaluatedUsers);
        for (const [user, items] of got) {
          const res = await app.inject({
            method: 'POST',
            url,
            payload: { source: { userId: user }, params: { limit: 6 } },
          });
          assert.equal(res.statusCode, 200, res.body);
          const http = (res.json() as { candidates: { itemId: string }[] }).candidates.map((c) => c.itemId);
          assert.deepEqual(items, http.slice(0, 5), `${family} ${user}`);
        }
      }
      // The two-stage families: what GET /v1/users/:userId/recommendations answers with explore=0 for the
      // limit asked (the largest k + 1), its first k.
      for (const [family, strategy] of [
        ['two-stage', 'default'],
        ['two-stage:sc-only', 'sc-only'],
      ] as const) {
        const got = lists[family];
        assert.equal(got.size, report.counts.evaluatedUsers);
        for (const [user, items] of got) {
          const res = await app.inject({
            method: 'GET',
            url: `/v1/users/${user}/recommendations?limit=6&explore=0&strategy=${strategy}`,
          });
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json() as { items: { itemId: string; sources: { source: string }[] }[] };
          assert.deepEqual(
            items,
            body.items.slice(0, 5).map((c) => c.itemId),
            `${family} ${user}`,
          );
          if (strategy === 'sc-only')
            for (const c of body.items)
              assert.ok(c.sources.every((p) => p.source === 'simclusters' || p.source === 'catalogue'));
        }
      }
    } finally {
      await app.close();
    }

    // Popularity, computed independently: train counts, the user's own train items left out, ties by index.
    const tr = data.train.matrix;
    const count = new Array<number>(24).fill(0);
    for (let k = 0; k < tr.nnz; k++) count[tr.indices[k]]++;
    let precision = 0;
    let users = 0;
    for (let u = 0; u < te.nRows; u++) {
      const test = new Set(te.rowIndices(u));
      if (u === 0) test.add(-1); // the cold item: a positive no list can hold
      if (test.size === 0) continue;
      const train = new Set(tr.rowIndices(u));
      const ranked = Array.from({ length: 24 }, (_, i) => i)
        .filter((i) => !train.has(i))
        .sort((a, b) => count[b] - count[a] || a - b)
        .slice(0, 5);
      precision += ranked.filter((i) => test.has(i)).length / 5;
      users++;
    }
    assert.equal(report.models.popularity.users, users);
    assert.ok(Math.abs(report.models.popularity['precision@5'] - precision / users) < 1e-12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('test pairs: a header naming user_id and item_id is required, bad rows name file and line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-served-pairs-'));
  try {
    const f = join(dir, 't.csv');
    writeFileSync(f, 'user,item\n1,2\n');
    await assert.rejects(() => readTestPairs(f), { code: 'INPUT_BAD_HEADER' });
    writeFileSync(f, 'item_id,user_id\n2,1\n,3\n');
    await assert.rejects(() => readTestPairs(f), {
      code: 'INPUT_BAD_ROW',
      detail: { file: f, line: 3, column: 'item_id' },
    });
    writeFileSync(f, 'item_id,user_id,rating\n2,1,5\n');
    assert.deepEqual((await readTestPairs(f)).pairs, [['1', '2']]);
    await assert.rejects(() => readTestPairs(join(dir, 'none.csv')), { code: 'INPUT_MISSING' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
