import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Interactions } from '../data/positives.ts';
import { loadDatasetEval, loadFilesEval } from './load.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-eval-load-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dirWith(files: Record<string, string | Buffer>): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** Pairs as external ids, "user:item", sorted. */
function named(x: Interactions, users: readonly string[], items: readonly string[]): string[] {
  const out: string[] = [];
  const m = x.matrix;
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) out.push(`${users[u]}:${items[m.indices[k]]}`);
  return out.sort();
}

test('a given split: train and test read as is, features from movies.csv, one id space', async () => {
  const dir = dirWith({
    'train.csv': 'user_id,item_id\nu1,10\nu1,20\nu2,10\nu2,10\n',
    'test.csv': 'user_id,item_id,weight\nu1,30,1\nu3,20,2\n',
    'movies.csv':
      'movieId,title,genres\r\n10,"A, the (1990)",Drama|Comedy\r\n20,B (1991),(no genres listed)\r\n30,C,Drama\r\n99,Unrated,Horror\r\n',
  });
  const r = await loadFilesEval({
    train: join(dir, 'train.csv'),
    test: join(dir, 'test.csv'),
    itemFeatures: join(dir, 'movies.csv'),
  });
  const d = r.data;
  assert.equal(r.split, 'given');
  assert.equal(r.dataset, `d${n}`);
  // Catalogue: the items with a positive (99 has none), in first-seen order.
  assert.deepEqual(d.itemIds, ['10', '20', '30']);
  assert.deepEqual(named(d.train, d.userIds, d.itemIds), ['u1:10', 'u1:20', 'u2:10']);
  assert.deepEqual(named(d.test, d.userIds, d.itemIds), ['u1:30', 'u3:20']);
  // A repeated train row is one positive with the weights added.
  assert.equal(d.train.matrix.get(d.userIds.indexOf('u2'), 0), 2);
  const genres = (i: number) => Array.from(d.itemFeatures!.rowIndices(i), (t) => d.featureNames![t]).sort();
  assert.deepEqual(genres(0), ['Comedy', 'Drama']);
  assert.deepEqual(genres(1), []);
  assert.deepEqual(genres(2), ['Drama']);
  assert.deepEqual(r.notes, ['1 of 3 catalogue items have no feature']);
});

test('item features from u.item, movies.dat or an item_id,tags file', async () => {
  const flags = (on: number[]) =>
    Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');
  const dir = dirWith({
    'train.tsv': 'user_id\titem_id\n1\t1\n2\t2\n',
    'test.tsv': 'user_id\titem_id\n1\t2\n',
    'u.item': `1|Toy Story (1995)|01-Jan-1995||http://x|${flags([3, 4, 5])}\n2|GoldenEye (1995)|01-Jan-1995||http://y|${flags([0, 1])}\n`,
    'items.csv': 'item_id,tags\n1,a|b\n2,\n',
    'movies.dat': Buffer.from(
      '1::Toy Story (1995)::Animation|Comedy\n2::Misérables, Les (1995)::Drama\n',
      'latin1',
    ),
  });
  const base = { train: join(dir, 'train.tsv'), test: join(dir, 'test.tsv') };
  const ml = await loadFilesEval({ ...base, itemFeatures: join(dir, 'u.item') });
  const g = (d: typeof ml.data, i: number) =>
    Array.from(d.itemFeatures!.rowIndices(i), (t) => d.featureNames![t]).sort();
  assert.deepEqual(g(ml.data, 0), ['Animation', "Children's", 'Comedy']);
  // 'unknown' is no genre.
  assert.deepEqual(g(ml.data, 1), ['Action']);
  const dat = await loadFilesEval({ ...base, itemFeatures: join(dir, 'movies.dat') });
  assert.deepEqual(g(dat.data, 0), ['Animation', 'Comedy']);
  assert.deepEqual(g(dat.data, 1), ['Drama']);
  const canon = await loadFilesEval({ ...base, itemFeatures: join(dir, 'items.csv') });
  assert.deepEqual(g(canon.data, 0), ['a', 'b']);
  assert.deepEqual(g(canon.data, 1), []);
  await assert.rejects(loadFilesEval({ ...base, itemFeatures: join(dir, 'train.tsv') }), {
    code: 'INPUT_BAD_HEADER',
  });
});

test('a given split that repeats pairs is refused unless asked to drop them; bad rows are located', async () => {
  const dir = dirWith({
    'train.csv': 'user_id,item_id\na,1\na,2\n',
    'test.csv': 'user_id,item_id\na,2\na,3\n',
    'bad.csv': 'user_id,item_id,weight\na,1,x\n',
    'empty.csv': 'user_id,item_id\n',
  });
  const train = join(dir, 'train.csv');
  const test_ = join(dir, 'test.csv');
  await assert.rejects(loadFilesEval({ train, test: test_ }), { code: 'INPUT_BAD_ROW', message: /share 1/ });
  const r = await loadFilesEval({ train, test: test_, dropOverlap: true });
  assert.deepEqual(named(r.data.test, r.data.userIds, r.data.itemIds), ['a:3']);
  assert.deepEqual(r.notes, ['1 test pair(s) also in train were dropped']);
  await assert.rejects(
    loadFilesEval({ train, test: join(dir, 'bad.csv') }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INPUT_BAD_ROW');
      assert.match(String(e), /bad\.csv:2: column weight: non-numeric weight 'x'/);
      return true;
    },
  );
  await assert.rejects(loadFilesEval({ train, test: join(dir, 'empty.csv') }), { code: 'INPUT_EMPTY' });
  await assert.rejects(loadFilesEval({ train, test: join(dir, 'missing.csv') }), { code: 'INPUT_MISSING' });
});

test('a canonical directory split here: weights below the threshold and undone favs are not positives', async () => {
  const rows = ['user_id,item_id,weight,ts,action'];
  for (let u = 0; u < 8; u++)
    for (let i = 0; i < 6; i++) rows.push(`u${u},i${(u + i) % 10},${1 + (i % 3)},${100 * u + i},fav`);
  rows.push('u0,i1,1,999,unfav');
  const dir = dirWith({ 'engagements.csv': `${rows.join('\n')}\n`, 'items.csv': 'item_id,tags\ni1,x|y\n' });
  const r = await loadDatasetEval({ dir, split: 'temporal', minRating: 2, testFraction: 0.25 });
  assert.equal(r.split, 'temporal');
  const d = r.data;
  const all = [...named(d.train, d.userIds, d.itemIds), ...named(d.test, d.userIds, d.itemIds)];
  // 8 users × 6 items; weight 1 (i = 0, 3) is below the threshold → 32; u0 unfav'd i1 → 31.
  assert.equal(all.length, 31);
  assert.ok(!all.includes('u0:i0'));
  assert.ok(!all.includes('u0:i1'));
  assert.ok(all.includes('u0:i2'));
  assert.ok(d.itemFeatures !== null && d.featureNames!.includes('x'));
  const loo = await loadDatasetEval({ dir, split: 'loo', seed: 1 });
  assert.equal(loo.data.test.matrix.nnz, 8);
});

test("ml-100k's own ua split", async () => {
  const data = ['1\t1\t5\t10', '1\t2\t4\t20', '1\t3\t2\t30', '2\t1\t4\t10', '2\t3\t5\t40'];
  const dir = dirWith({
    'u.data': `${data.join('\n')}\n`,
    'ua.base': `${[data[0], data[1], data[3]].join('\n')}\n`,
    'ua.test': `${[data[2], data[4]].join('\n')}\n`,
  });
  const r = await loadDatasetEval({ dir, split: 'ua', minRating: 4 });
  const d = r.data;
  assert.deepEqual(named(d.train, d.userIds, d.itemIds), ['1:1', '1:2', '2:1']);
  // 1:3 is rated 2, below the threshold.
  assert.deepEqual(named(d.test, d.userIds, d.itemIds), ['2:3']);
  await assert.rejects(loadDatasetEval({ dir, split: 'ub' }), { code: 'INPUT_MISSING' });
});
