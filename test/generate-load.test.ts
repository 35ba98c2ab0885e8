/**
 * Generated data is valid input: the loader reads every file without a bad row, and what it counts matches
 * what the generator says it wrote.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadDataset } from '../src/data/load.ts';
import type { CatalogueCounts } from '../src/data/synthetic/catalogue.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import type { SocialCounts } from '../src/data/synthetic/social.ts';
import { readTruth } from '../src/data/synthetic/truth.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-generate-load-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('social (gzip): loads cleanly; counts, unfavs, topics and item authors agree with the generator', async () => {
  const dir = join(root, 'social');
  const s = await generateSynthetic({ preset: 'tiny', outDir: dir, seed: 4, gzip: true });
  const c = s.counts as SocialCounts;
  const ds = await loadDataset(dir, { format: 'canonical' });
  assert.equal(ds.format, 'canonical');
  assert.deepEqual(ds.inputs.map((i) => [i.kind, i.rows, i.skippedRows]).sort(), [
    ['engagements', c.favs + c.unfavs, 0],
    ['follows', c.follows, 0],
    ['items', c.items, 0],
    ['topic_follows', c.topicFollows, 0],
  ]);
  assert.equal(ds.stats.followEdges, c.follows);
  assert.equal(ds.stats.duplicateFollowsMerged, 0);
  assert.equal(ds.stats.selfFollowsDropped, 0);
  assert.equal(ds.stats.unfavEngagements, c.unfavs);
  assert.equal(ds.stats.positiveEngagements, c.favs);
  assert.equal(ds.stats.items, c.items);
  assert.equal(ds.stats.topics, c.topics);
  // Every user appears somewhere (each follows at least one producer).
  assert.equal(ds.stats.users, c.users);
  const truth = await readTruth(dir);
  for (let i = 0; i < ds.items.size; i++) {
    const author = ds.users.idList()[ds.itemAuthor[i]];
    assert.ok(truth.producerCommunity.has(author));
  }
});

test('catalogue: loads cleanly with ratings as weights', async () => {
  const dir = join(root, 'movies');
  const s = await generateSynthetic({ preset: 'movies', outDir: dir, seed: 4, scale: 0.1 });
  const c = s.counts as CatalogueCounts;
  const ds = await loadDataset(dir, { format: 'canonical' });
  assert.equal(ds.follows, null);
  assert.equal(ds.stats.engagements, c.ratings);
  assert.equal(ds.stats.unfavEngagements, 0);
  assert.equal(ds.stats.items, c.items);
  assert.equal(ds.stats.topics, 18);
  const values = ds.engagements!.matrix.values!;
  let sum = 0;
  for (const v of values) {
    assert.ok(Number.isInteger(v) && v >= 1 && v <= 5);
    sum += v;
  }
  assert.ok(sum / values.length > 3);
});
