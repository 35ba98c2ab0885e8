import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KEYS } from '../src/artifacts/keys.ts';
import { SimrecError } from '../src/core/errors.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { openArtifactStore } from '../src/store/open.ts';

function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-build-'));
  writeFileSync(join(dir, 'follows.csv'), 'consumer_id,producer_id,ts\na,b,100\na,c,101\nb,c,102\nd,b,103\n');
  writeFileSync(
    join(dir, 'engagements.csv'),
    'user_id,item_id,action,weight,ts\na,i1,fav,1,200\nd,i1,fav,1,201\nd,i2,fav,2,202\nd,i1,unfav,1,203\n',
  );
  writeFileSync(join(dir, 'items.csv'), 'item_id,author_id,created_ts,tags\ni1,b,150,x|y\ni2,c,160,y\n');
  return dir;
}

test('build ingests, stores id maps and relations, and commits a current version with a manifest', async () => {
  const data = fixture();
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const config = resolveBuildConfig(undefined, { seed: 7 });
  const { manifest } = await runBuild({ data, out, config });
  assert.equal(manifest.seed, 7);
  assert.equal(manifest.counts.users, 4);
  assert.equal(manifest.counts.followEdges, 4);
  assert.equal(manifest.counts.engagements, 4);
  assert.equal(manifest.counts.items, 2);
  assert.deepEqual(manifest.inputs.map((i) => i.kind).sort(), ['engagements', 'follows', 'items']);
  for (const i of manifest.inputs) assert.match(i.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(manifest.stages.slice(0, 2), ['ingest', 'store-inputs']);
  // Four producers with at most two followers each: no producer reaches minFollowers, so SimClusters runs on an
  // empty similarity graph and defines an empty result rather than failing.
  assert.ok(manifest.stages.includes('known-for'));
  assert.equal(manifest.counts.producersWithKnownFor, 0);
  // Four timed engagements: the ranker gets the per-user holdout (too few for a time split), whose one held-out
  // item leaves no negative to learn from; the stage says so and the build goes on without a ranker.
  assert.match(
    (manifest.extra.ranker as { skipped: string }).skipped,
    /^too few examples to train and test a ranker \(training 1 positives, 0 negatives/,
  );

  const store = openArtifactStore(out);
  assert.equal(await store.currentVersionId(), manifest.id);
  const r = await store.openVersion();
  const users = await r.idMap(KEYS.users);
  assert.deepEqual(users.idList(), ['a', 'b', 'c', 'd']);
  const follows = await r.csr(KEYS.follows);
  assert.deepEqual([...follows.rowIndices(users.get('a'))], [users.get('b'), users.get('c')]);
  const author = await r.typedArray(KEYS.itemAuthor, 'int32');
  assert.deepEqual([...author], [users.get('b'), users.get('c')]);
  await r.close();
  await store.close();
});

test('a build that fails on bad input leaves the previous version current', async () => {
  const data = fixture();
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const config = resolveBuildConfig(undefined, {});
  const first = await runBuild({ data, out, config });
  writeFileSync(join(data, 'engagements.csv'), 'user_id,item_id,action,weight,ts\na,i1,fav,abc,200\n');
  await assert.rejects(
    runBuild({ data, out, config }),
    (e: unknown) => e instanceof SimrecError && e.code === 'INPUT_BAD_ROW',
  );
  const store = openArtifactStore(out);
  assert.equal(await store.currentVersionId(), first.manifest.id);
  await store.close();
});

test('a directory with neither follows nor engagements is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-build-'));
  writeFileSync(join(dir, 'items.csv'), 'item_id\ni1\n');
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await assert.rejects(
    runBuild({ data: dir, out, config: resolveBuildConfig(undefined, {}) }),
    (e: unknown) => e instanceof SimrecError && e.code === 'INPUT_MISSING',
  );
});
