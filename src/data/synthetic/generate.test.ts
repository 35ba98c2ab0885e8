import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { SimrecError } from '../../core/errors.ts';
import { generateSynthetic } from './generate.ts';
import type { SocialCounts } from './social.ts';
import { hashTree } from './test-support.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-generate-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run${++n}`);

test('same preset, seed and scale ⇒ byte-identical files; another seed differs', async () => {
  const a = fresh();
  const b = fresh();
  const c = fresh();
  await generateSynthetic({ preset: 'tiny', outDir: a, seed: 42 });
  await generateSynthetic({ preset: 'tiny', outDir: b, seed: 42 });
  await generateSynthetic({ preset: 'tiny', outDir: c, seed: 43 });
  const ha = hashTree(a);
  assert.deepEqual(Object.keys(ha), [
    'engagements.csv',
    'follows.csv',
    'generator.json',
    'items.csv',
    'topic_follows.csv',
    'truth/consumer_interests.csv',
    'truth/item_community.csv',
    'truth/producer_community.csv',
  ]);
  assert.deepEqual(hashTree(b), ha);
  const hc = hashTree(c);
  for (const f of ['follows.csv', 'engagements.csv', 'items.csv', 'truth/producer_community.csv']) {
    assert.notEqual(hc[f], ha[f], f);
  }
});

test('the catalogue and gzip output are deterministic too; gzip holds the same bytes as plain', async () => {
  const plain = fresh();
  const gz1 = fresh();
  const gz2 = fresh();
  await generateSynthetic({ preset: 'movies', outDir: plain, seed: 3, scale: 0.05 });
  await generateSynthetic({ preset: 'movies', outDir: gz1, seed: 3, scale: 0.05, gzip: true });
  await generateSynthetic({ preset: 'movies', outDir: gz2, seed: 3, scale: 0.05, gzip: true });
  assert.deepEqual(hashTree(gz1), hashTree(gz2));
  for (const f of ['engagements', 'items', 'truth/consumer_interests', 'truth/item_community']) {
    const a = readFileSync(join(plain, `${f}.csv`));
    const b = gunzipSync(readFileSync(join(gz1, `${f}.csv.gz`)));
    assert.ok(a.equals(b), f);
  }
});

test('--scale scales users, producers, items and the edges with them', async () => {
  // Thousands of users each, so the heavy-tailed per-user counts average out to within a few percent.
  const one = await generateSynthetic({ preset: 'small', outDir: fresh(), seed: 8, scale: 0.3 });
  const two = await generateSynthetic({ preset: 'small', outDir: fresh(), seed: 8, scale: 0.9 });
  const a = one.counts as SocialCounts;
  const b = two.counts as SocialCounts;
  assert.equal(b.users, 3 * a.users);
  assert.equal(b.producers, 3 * a.producers);
  assert.equal(b.items, 3 * a.items);
  // 16 communities × 0.3 and × 0.9, rounded.
  assert.deepEqual([a.communities, b.communities], [5, 14]);
  for (const k of ['follows', 'favs', 'topicFollows', 'consumerInterests'] as const) {
    const ratio = b[k] / a[k];
    assert.ok(ratio > 2.7 && ratio < 3.3, `${k}: ${a[k]} → ${b[k]}`);
  }
  assert.equal(two.rows['follows.csv'], b.follows);
});

test('generator.json describes the run: preset, seed, scale, every parameter, overrides, row counts', async () => {
  const dir = fresh();
  const s = await generateSynthetic({
    preset: 'tiny',
    outDir: dir,
    seed: 5,
    scale: 0.5,
    params: { mixing: 0.2 },
  });
  const json = JSON.parse(readFileSync(join(dir, 'generator.json'), 'utf8'));
  assert.equal(json.generator, 'simrec synthetic');
  assert.equal(json.preset, 'tiny');
  assert.equal(json.seed, 5);
  assert.equal(json.scale, 0.5);
  assert.equal(json.gzip, false);
  assert.deepEqual(json.overrides, { mixing: 0.2 });
  assert.equal(json.params.mixing, 0.2);
  assert.equal(json.params.users, 200);
  for (const key of Object.keys(s.params)) assert.ok(key in json.params, key);
  assert.deepEqual(json.rows, s.rows);
  assert.ok(!('elapsedMs' in json) && !JSON.stringify(json).includes(dir), 'nothing run-specific');
});

test('an earlier run’s files in the other form or of the other kind are removed', async () => {
  const dir = fresh();
  await generateSynthetic({ preset: 'tiny', outDir: dir, seed: 1, gzip: true });
  assert.ok(existsSync(join(dir, 'follows.csv.gz')));
  await generateSynthetic({ preset: 'movies', outDir: dir, seed: 1, scale: 0.05 });
  for (const f of ['follows.csv.gz', 'topic_follows.csv.gz', 'items.csv.gz', 'truth/item_community.csv.gz']) {
    assert.ok(!existsSync(join(dir, f)), f);
  }
  assert.ok(existsSync(join(dir, 'items.csv')));
});

test('progress is reported per stage, ending at its total', async () => {
  const last = new Map<string, [number, number | undefined]>();
  await generateSynthetic({
    preset: 'tiny',
    outDir: fresh(),
    seed: 1,
    onProgress: (stage, done, total) => last.set(stage, [done, total]),
  });
  assert.deepEqual(Object.fromEntries(last), {
    interests: [400, 400],
    follows: [400, 400],
    items: [400, 400],
    engagements: [400, 400],
    topic_follows: [400, 400],
  });
});

test('bad options are coded errors', async () => {
  await assert.rejects(
    generateSynthetic({ preset: 'tiny', outDir: fresh(), seed: -1 }),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'seed',
  );
  await assert.rejects(
    generateSynthetic({ preset: 'nope' as never, outDir: fresh(), seed: 1 }),
    (e: unknown) => e instanceof SimrecError && e.detail.field === 'preset',
  );
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(
    generateSynthetic({ preset: 'tiny', outDir: file, seed: 1 }),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'out',
  );
});
