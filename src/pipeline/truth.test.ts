import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { generateSynthetic } from '../data/synthetic/generate.ts';
import { readProducerCommunities } from '../data/synthetic/truth.ts';
import { capThreads, runBuild } from './build.ts';
import { resolveBuildConfig } from './config.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-truth-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('producer communities: absent file is null, .csv and .csv.gz read, bad rows name file and line', () =>
  withDir(async (dir) => {
    assert.equal(await readProducerCommunities(dir), null);
    mkdirSync(join(dir, 'truth'));
    // Another truth file alone does not count, and is not required.
    writeFileSync(join(dir, 'truth', 'item_community.csv'), 'item_id,community\ni1,0\n');
    assert.equal(await readProducerCommunities(dir), null);
    const file = join(dir, 'truth', 'producer_community.csv');
    writeFileSync(`${file}.gz`, gzipSync('producer_id,community\np1,2\np2,0\n'));
    assert.deepEqual(
      [...(await readProducerCommunities(dir))!],
      [
        ['p1', 2],
        ['p2', 0],
      ],
    );
    rmSync(`${file}.gz`);
    writeFileSync(file, 'producer_id,community\np1,2\np2,x\n');
    await assert.rejects(() => readProducerCommunities(dir), {
      code: 'INPUT_BAD_ROW',
      detail: { file, line: 3, column: 'community' },
    });
    writeFileSync(file, 'producer,community\n');
    await assert.rejects(() => readProducerCommunities(dir), {
      code: 'INPUT_BAD_HEADER',
      detail: { file, line: 1 },
    });
  }));

test('a truth folder with only producer_community.csv is used; with none of it the build runs without', () =>
  withDir(async (dir) => {
    const data = join(dir, 'data');
    await generateSynthetic({ preset: 'tiny', outDir: data, seed: 2 });
    for (const f of ['item_community.csv', 'consumer_interests.csv']) {
      const p = join(data, 'truth', f);
      if (existsSync(p)) rmSync(p);
      if (existsSync(`${p}.gz`)) rmSync(`${p}.gz`);
    }
    const config = resolveBuildConfig(undefined, { threads: 1 });
    const withTruth = await runBuild({ data, out: join(dir, 'a'), config });
    assert.ok(withTruth.simclusters?.truth, 'the producer truth is compared');
    assert.ok(withTruth.simclusters.truth.compared > 0);
    rmSync(join(data, 'truth', 'producer_community.csv'), { force: true });
    rmSync(join(data, 'truth', 'producer_community.csv.gz'), { force: true });
    const without = await runBuild({ data, out: join(dir, 'b'), config });
    assert.equal(without.simclusters?.truth, null);
  }));

test('threads above the CPU count are capped, with a warning; within it the config is unchanged', () => {
  const config = resolveBuildConfig(undefined, { threads: 16 });
  const warnings: string[] = [];
  const capped = capThreads(config, 2, (m) => warnings.push(m));
  assert.equal(capped.threads, 2);
  assert.equal(config.threads, 16, 'the given config is not modified');
  assert.deepEqual(warnings, ['threads 16 capped to 2, the CPUs available to this process']);
  const same = capThreads(config, 32, (m) => warnings.push(m));
  assert.equal(same, config);
  assert.equal(warnings.length, 1);
});
