// The next build absorbs the log and a server switching to it rebases its overlay (issue 15 item 5): what the
// version absorbed is not applied again. Favs of a brand-new item give it an embedding through the overlay; after
// the rebuild the item's embedding comes from the version, equal to the streamed one (batch = stream), not
// doubled by a replay of the absorbed favs; a fav sent after the build is still applied on top.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { buildApp, type SimrecFastify } from '../src/serve/app.ts';
import { openArtifactStore } from '../src/store/open.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-rebase-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function accepted(app: SimrecFastify, method: 'POST' | 'DELETE', url: string, payload: object) {
  const res = await app.inject({ method, url, payload });
  assert.equal(res.statusCode, 202, res.body);
}

async function caughtUp(app: SimrecFastify): Promise<void> {
  await app.simrec.applier?.waitFor(app.simrec.events?.log.end() ?? 0);
}

async function embedding(app: SimrecFastify, item: string): Promise<Map<number, number>> {
  const res = await app.inject({ method: 'GET', url: `/v1/items/${item}/embedding` });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { embedding: [number, number][] };
  return new Map(body.embedding);
}

function assertClose(a: Map<number, number>, b: Map<number, number>, what: string): void {
  assert.deepEqual(
    [...a.keys()].sort((x, y) => x - y),
    [...b.keys()].sort((x, y) => x - y),
    what,
  );
  for (const [c, v] of a)
    assert.ok(Math.abs(v - b.get(c)!) <= 1e-5 * Math.max(1, v), `${what}: cluster ${c} ${v} vs ${b.get(c)}`);
}

test('a rebuild absorbs the log; the rebased overlay applies only what came after it', async () => {
  const data = join(root, 'data');
  const dir = join(root, 'artifacts');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 4 });
  const config = resolveBuildConfig(undefined, { seed: 3 });
  const first = await runBuild({ data, out: dir, config });
  const t = first.manifest.dataTime!;
  // Favers: users whose InterestedIn clusters pass the rule's gate, so the new item gets their clusters.
  const store = openArtifactStore(dir);
  const reader = await store.openVersion();
  const model = await ServingModel.load(reader);
  const favers: string[] = [];
  for (const id of (await reader.idMap('ids/users')).idList()) {
    // The update rule adds a faver's clusters whose favScore passes its threshold (0.3 × the mean weight).
    if ((await model.userEmbedding(id, 'favScore')).values.some((v) => v >= 1)) favers.push(id);
    if (favers.length === 4) break;
  }
  await reader.close();
  await store.close();

  const app = await buildApp({ artifacts: dir, pollMs: 0, docs: false });
  try {
    await accepted(app, 'POST', '/v1/items', { itemId: 'fresh', createdTs: t });
    await accepted(app, 'POST', '/v1/events', {
      events: favers.slice(0, 3).map((userId) => ({ userId, action: 'fav', itemId: 'fresh', ts: t })),
    });
    await caughtUp(app);
    const streamed = await embedding(app, 'fresh');
    assert.ok(streamed.size > 0, 'the favs gave the new item an embedding');

    const second = await runBuild({ data, out: dir, config });
    assert.equal((second.manifest.extra.events as { toOffset: number }).toOffset, 4);
    assert.ok(await app.simrec.live.refresh());
    await caughtUp(app);
    assert.equal(app.simrec.live.current?.version, second.manifest.id);
    assertClose(await embedding(app, 'fresh'), streamed, 'after the rebase, as streamed (not applied twice)');

    // A fav after the build is applied on top of the version.
    await accepted(app, 'POST', '/v1/events', {
      events: [{ userId: favers[3], action: 'fav', itemId: 'fresh', ts: t }],
    });
    await caughtUp(app);
    const more = await embedding(app, 'fresh');
    let grew = false;
    for (const [c, v] of more) if (v > (streamed.get(c) ?? 0) + 1e-6) grew = true;
    assert.ok(grew, 'the fourth fav moved the embedding');
  } finally {
    await app.close();
  }
});
