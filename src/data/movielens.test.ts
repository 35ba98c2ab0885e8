import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimrecError } from '../core/errors.ts';
import { loadDataset, validateDataset } from './load.ts';
import { detectMovieLens, loadMovieLensSplit } from './movielens.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-ml-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dirWith(files: Record<string, string | Buffer>): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const ML_SMALL = resolve(repo, '../shared/datasets/ml-latest-small');

test('ml-latest-small: 100,836 ratings by 610 users of 9,724 of the 9,742 movies', {
  skip: !existsSync(ML_SMALL),
}, async () => {
  const ds = await loadDataset(ML_SMALL);
  assert.equal(ds.format, 'movielens');
  assert.equal(ds.stats.engagements, 100836);
  assert.equal(ds.stats.users, 610);
  assert.equal(ds.stats.engagingUsers, 610);
  assert.equal(ds.stats.items, 9742);
  assert.equal(ds.stats.engagedItems, 9724);
  assert.equal(ds.stats.unfavEngagements, 0);
  // Genres are topics; "(no genres listed)" is none of them.
  assert.equal(ds.topics.has('(no genres listed)'), false);
  assert.equal(ds.topics.size, 19);
  const toyStory = ds.items.get('1');
  const genres = Array.from(ds.itemTags!.rowIndices(toyStory), (t) => ds.topics.id(t)).sort();
  assert.deepEqual(genres, ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy']);
  // Weights are the ratings: user 1 rated movie 1 with 4.0 at 964982703.
  const u1 = ds.users.get('1');
  const row = ds.engagements!.matrix.rowIndices(u1);
  const k = row.indexOf(toyStory);
  assert.equal(ds.engagements!.matrix.rowValues(u1)![k], 4);
  assert.equal(ds.engagements!.ts[ds.engagements!.matrix.indptr[u1] + k], 964982703);
  // minRating keeps the positives: the 48,580 pairs of the shared split (609 users, 6,298 items).
  const pos = await loadDataset(ML_SMALL, { minRating: 4 });
  assert.equal(pos.stats.engagements, 48580);
  assert.equal(pos.stats.engagingUsers, 609);
  assert.equal(pos.stats.engagedItems, 6298);
});

test('ml-latest layout: quoted commas, CRLF line ends, format detection', async () => {
  const dir = dirWith({
    'ratings.csv': 'userId,movieId,rating,timestamp\r\n1,10,4.5,100\r\n2,20,3.0,200\r\n1,30,0.5,300\r\n',
    'movies.csv':
      'movieId,title,genres\r\n10,"Good, the Bad (1966)",Western|Drama\r\n20,Plain (2000),(no genres listed)\r\n40,"""Quoted"" (1990)",Drama\r\n',
  });
  assert.equal(detectMovieLens(dir), 'ml-latest');
  const ds = await loadDataset(dir, { format: 'movielens' });
  assert.deepEqual(ds.items.idList(), ['10', '20', '40', '30']);
  assert.deepEqual(ds.users.idList(), ['1', '2']);
  assert.deepEqual(ds.topics.idList(), ['Western', 'Drama']);
  assert.deepEqual([...ds.itemTags!.indptr], [0, 2, 2, 3, 3]);
  assert.deepEqual([...ds.engagements!.matrix.values!], [4.5, 0.5, 3]);
  const high = await loadDataset(dir, { minRating: 3 });
  assert.deepEqual([...high.engagements!.matrix.values!], [4.5, 3]);
  // Forced canonical on a MovieLens directory finds nothing it knows.
  await assert.rejects(loadDataset(dir, { format: 'canonical' }), (e: unknown) => e instanceof SimrecError);
  // A bad rating is a bad row, named by the MovieLens column.
  const bad = dirWith({ 'ratings.csv': 'userId,movieId,rating,timestamp\n1,10,great,100\n1,11,4,100\n' });
  const report = await validateDataset(bad);
  assert.deepEqual(report.errors, [
    `${join(bad, 'ratings.csv')}:2: column rating: non-numeric weight 'great'`,
  ]);
});

const GENRES =
  "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\nDocumentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n";

function item(id: number, title: string, flags: number[]): Buffer {
  const bits = Array.from({ length: 19 }, (_, i) => (flags.includes(i) ? '1' : '0'));
  return Buffer.from(`${id}|${title}|01-Jan-1995||http://example.org/${id}|${bits.join('|')}\n`, 'latin1');
}

test('ml-1m layout: "::" fields, Latin-1 or UTF-8 movies.dat, a bad rating located', async () => {
  const ratings =
    '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978301968\n2::3408::4::978300275\n';
  const dir = dirWith({
    'ratings.dat': ratings,
    // ml-1m's movies.dat is Latin-1: é is the single byte 0xE9.
    'movies.dat': Buffer.from(
      "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n2::Misérables, Les (1995)::Drama|Musical\n",
      'latin1',
    ),
    'users.dat': '1::F::1::10::48067\n',
  });
  assert.equal(detectMovieLens(dir), 'ml-1m');
  const ds = await loadDataset(dir);
  assert.equal(ds.format, 'movielens');
  // Items in movies.dat order, then 3408, seen only in ratings.
  assert.deepEqual(ds.items.idList(), ['1193', '661', '2', '3408']);
  assert.deepEqual(ds.users.idList(), ['1', '2']);
  assert.deepEqual(ds.topics.idList(), ['Drama', 'Animation', "Children's", 'Musical']);
  assert.deepEqual([...ds.itemTags!.indptr], [0, 1, 4, 6, 6]);
  assert.deepEqual([...ds.engagements!.matrix.values!], [5, 3, 4, 4]);
  assert.deepEqual([...ds.engagements!.ts!].sort(), [978300275, 978300760, 978301968, 978302109]);
  const high = await loadDataset(dir, { minRating: 4 });
  assert.equal(high.stats.engagements, 3);

  // ml-10m's movies.dat is UTF-8 and lists "(no genres listed)"; ratings there are half stars.
  const ten = dirWith({
    'ratings.dat': '7::2::3.5::1199000000\n',
    'movies.dat': '2::Misérables, Les (1995)::Drama|Musical\n3::Nothing (2008)::(no genres listed)\n',
  });
  const ds10 = await loadDataset(ten, { format: 'movielens' });
  assert.deepEqual(ds10.items.idList(), ['2', '3']);
  assert.deepEqual(ds10.topics.idList(), ['Drama', 'Musical']);
  assert.deepEqual([...ds10.engagements!.matrix.values!], [3.5]);

  const bad = dirWith({ 'ratings.dat': '1::10::5::100\n1::11::great::100\n1::12::4::100\n' });
  const report = await validateDataset(bad);
  assert.deepEqual(report.errors, [
    `${join(bad, 'ratings.dat')}:2: column rating: non-numeric weight 'great'`,
  ]);
  const skipped = await loadDataset(bad, { skipBadRows: true });
  assert.equal(skipped.stats.engagements, 2);
});

test('ml-100k layout: u.data, Latin-1 u.item with genre flags, and the ua split', async () => {
  const data = [
    '1\t1\t5\t881250949',
    '1\t2\t3\t881250950',
    '2\t1\t4\t881250951',
    '3\t3\t1\t881250952',
    '2\t3\t2\t881250953',
  ];
  const dir = dirWith({
    'u.data': `${data.join('\n')}\n`,
    'u.item': Buffer.concat([
      item(1, 'Café (1995)', [3, 4, 5]),
      item(2, 'Heat (1995)', [1, 6]),
      item(3, 'Odd (1995)', [0]),
    ]),
    'u.genre': GENRES,
    'ua.base': `${[data[0], data[1], data[3]].join('\n')}\n`,
    'ua.test': `${[data[2], data[4]].join('\n')}\n`,
  });
  assert.equal(detectMovieLens(dir), 'ml-100k');
  const ds = await loadDataset(dir);
  assert.equal(ds.format, 'movielens');
  assert.equal(ds.stats.engagements, 5);
  assert.deepEqual(ds.items.idList(), ['1', '2', '3']);
  assert.deepEqual(ds.topics.idList(), ['Animation', "Children's", 'Comedy', 'Action', 'Crime']);
  // Movie 3 is only "unknown": no tag.
  assert.deepEqual([...ds.itemTags!.indptr], [0, 3, 5, 5]);

  const split = await loadMovieLensSplit(dir, 'ua');
  assert.equal(split.dataset.stats.engagements, 5);
  assert.equal(split.train.matrix.nnz, 3);
  assert.equal(split.test.matrix.nnz, 2);
  // Same id maps: user '2' rated movie '1' (4) in test.
  const u2 = split.dataset.users.get('2');
  assert.deepEqual(Array.from(split.test.matrix.rowIndices(u2)), [
    split.dataset.items.get('1'),
    split.dataset.items.get('3'),
  ]);
  assert.deepEqual(Array.from(split.test.matrix.rowValues(u2)!), [4, 2]);
  assert.deepEqual(Array.from(split.test.ts), [881250951, 881250953]);
  assert.equal(split.train.matrix.nRows, split.dataset.users.size);
  const positives = await loadMovieLensSplit(dir, 'ua', { minRating: 3 });
  assert.equal(positives.train.matrix.nnz, 2);
  assert.equal(positives.test.matrix.nnz, 1);
  await assert.rejects(
    loadMovieLensSplit(dir, 'ub'),
    (e: unknown) => e instanceof SimrecError && e.code === 'INPUT_MISSING',
  );
});
