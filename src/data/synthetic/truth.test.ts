import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import { generateSynthetic } from './generate.ts';
import { readTable } from './test-support.ts';
import { communityLabels, primaryInterests, readTruth } from './truth.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-truth-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('readTruth reads what the generator wrote, plain and gzip alike', async () => {
  const plain = join(root, 'plain');
  const gz = join(root, 'gz');
  await generateSynthetic({ preset: 'tiny', outDir: plain, seed: 2 });
  await generateSynthetic({ preset: 'tiny', outDir: gz, seed: 2, gzip: true });
  const t = await readTruth(plain);
  assert.deepEqual(await readTruth(gz), t);
  const producers = readTable(join(plain, 'truth/producer_community.csv')).rows;
  assert.equal(t.producerCommunity.size, producers.length);
  for (const [p, c] of producers) assert.equal(t.producerCommunity.get(p), Number(c));
  assert.equal(t.itemCommunity.size, 400);
  assert.equal(t.consumerInterests.size, 400);
  for (const list of t.consumerInterests.values()) {
    const sum = list.reduce((s, x) => s + x.weight, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9);
  }
  // The truth directory itself works as well.
  assert.deepEqual((await readTruth(join(plain, 'truth'))).producerCommunity, t.producerCommunity);
});

function truthDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'hand-'));
  mkdirSync(join(dir, 'truth'));
  const all = {
    'producer_community.csv': 'producer_id,community\n',
    'item_community.csv': 'item_id,community\n',
    'consumer_interests.csv': 'consumer_id,community,weight\n',
    ...files,
  };
  for (const [name, text] of Object.entries(all)) writeFileSync(join(dir, 'truth', name), text);
  return dir;
}

test('labels and primary interests for NMI', async () => {
  const dir = truthDir({
    'producer_community.csv': 'producer_id,community\n10,2\n11,0\n',
    'consumer_interests.csv': 'consumer_id,community,weight\na,1,0.25\na,3,0.75\nb,0,0.5\nb,2,0.5\nc,4,1\n',
  });
  const t = await readTruth(dir);
  assert.deepEqual([...communityLabels(t.producerCommunity, ['11', 'zz', '10'])], [0, -1, 2]);
  assert.deepEqual(t.consumerInterests.get('a'), [
    { community: 1, weight: 0.25 },
    { community: 3, weight: 0.75 },
  ]);
  assert.deepEqual(Object.fromEntries(primaryInterests(t.consumerInterests)), { a: 3, b: 0, c: 4 });
});

test('missing files, bad headers and bad rows are coded errors with file and line', async () => {
  const expectError = async (dir: string, code: string, line: number | undefined, file: string) => {
    await assert.rejects(readTruth(dir), (e: unknown) => {
      assert.ok(e instanceof SimrecError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.detail.line, line);
      assert.ok(e.detail.file?.endsWith(file), e.detail.file);
      return true;
    });
  };
  await expectError(join(root, 'nowhere'), 'INPUT_MISSING', undefined, 'producer_community.csv');
  await expectError(
    truthDir({ 'item_community.csv': 'item,community\n' }),
    'INPUT_BAD_HEADER',
    1,
    'item_community.csv',
  );
  await expectError(
    truthDir({ 'producer_community.csv': 'producer_id,community\n1,0\n2,x\n' }),
    'INPUT_BAD_ROW',
    3,
    'producer_community.csv',
  );
  await expectError(
    truthDir({ 'consumer_interests.csv': 'consumer_id,community,weight\na,0,1.5\n' }),
    'INPUT_BAD_ROW',
    2,
    'consumer_interests.csv',
  );
  await expectError(
    truthDir({ 'consumer_interests.csv': 'consumer_id,community,weight\na,0\n' }),
    'INPUT_BAD_ROW',
    2,
    'consumer_interests.csv',
  );
});
