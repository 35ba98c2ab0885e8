import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { SimrecError } from '../core/errors.ts';
import { sha256File } from './checksum.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type Dataset } from './dataset.ts';
import { splitRecord } from './inputs.ts';
import { loadDataset, validateDataset } from './load.ts';
import { resolveTimeWindow } from './validate.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-load-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

/** A fresh directory holding the given files (string contents written as is, Buffers as bytes). */
function dirWith(files: Record<string, string | Buffer>): string {
  const dir = join(root, `d${++dirCount}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** The toy data set, as rows, so every format can be written from the same source. */
const TOY = {
  follows: {
    header: ['consumer_id', 'producer_id', 'ts'],
    rows: [
      ['alice', 'bob', '100'],
      ['alice', 'carol', '2020-01-01T00:00:00Z'],
      ['bob', 'carol', ''],
      ['alice', 'bob', '5'],
      ['carol', 'carol', '7'],
      ['dave', 'alice', '2020-01-01T02:00:00+02:00'],
    ],
  },
  engagements: {
    header: ['user_id', 'item_id', 'action', 'weight', 'ts'],
    rows: [
      ['alice', 'i1', 'fav', '2', '10'],
      ['bob', 'i2', '', '', ''],
      ['alice', 'i1', 'unfav', '1', '20.5'],
      ['erin', 'i3', 'FAV', '1.5', '15'],
      ['alice', 'i0', 'fav', '3', '12'],
    ],
  },
  items: {
    header: ['item_id', 'author_id', 'created_ts', 'tags'],
    rows: [
      ['i1', 'bob', '1', 'x|y'],
      ['i2', '', '2', ' y | '],
      ['i4', 'carol', '', ''],
    ],
  },
  topic_follows: {
    header: ['user_id', 'topic'],
    rows: [
      ['alice', 'x'],
      ['bob', 'z'],
      ['alice', 'x'],
    ],
  },
} as const;

type Table = { header: readonly string[]; rows: readonly (readonly string[])[] };

function delimited(t: Table, sep: string): string {
  return `${[t.header, ...t.rows].map((r) => r.join(sep)).join('\n')}\n`;
}

function jsonl(t: Table): string {
  return `${t.rows
    .map((r) =>
      JSON.stringify(Object.fromEntries(t.header.flatMap((h, i) => (r[i] === '' ? [] : [[h, r[i]]])))),
    )
    .join('\n')}\n`;
}

function toyFiles(
  ext: 'csv' | 'tsv' | 'csv.gz' | 'tsv.gz' | 'jsonl' | 'jsonl.gz' | 'ndjson',
): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const [kind, t] of Object.entries(TOY)) {
    let text: string;
    if (ext.startsWith('csv')) text = delimited(t, ',');
    else if (ext.startsWith('tsv')) text = delimited(t, '\t');
    else text = jsonl(t);
    out[`${kind}.${ext}`] = ext.endsWith('.gz') ? gzipSync(text) : text;
  }
  return out;
}

/** Everything of a dataset that must not depend on the file format, as plain values. */
function snapshot(ds: Dataset) {
  const csr = (m: { indptr: Int32Array; indices: Int32Array; values: Float32Array | null } | null) =>
    m && { indptr: [...m.indptr], indices: [...m.indices], values: m.values && [...m.values] };
  return {
    users: ds.users.idList(),
    items: ds.items.idList(),
    topics: ds.topics.idList(),
    follows: csr(ds.follows),
    engagements: ds.engagements && {
      ...csr(ds.engagements.matrix),
      ts: [...ds.engagements.ts],
      action: [...ds.engagements.action],
    },
    itemAuthor: [...ds.itemAuthor],
    itemCreatedTs: [...ds.itemCreatedTs],
    itemTags: csr(ds.itemTags),
    topicFollows: csr(ds.topicFollows),
    stats: ds.stats,
    rows: ds.inputs.map((i) => [i.kind, i.rows, i.skippedRows]),
  };
}

async function rejects(p: Promise<unknown>, code: string): Promise<SimrecError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SimrecError, `expected a SimrecError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('canonical CSV: ids in first-seen order, matrices, items, topics and counts as computed by hand', async () => {
  const dir = dirWith(toyFiles('csv'));
  const ds = await loadDataset(dir);
  assert.equal(ds.format, 'canonical');
  // follows first, then item authors, engagers, topic followers
  assert.deepEqual(ds.users.idList(), ['alice', 'bob', 'carol', 'dave', 'erin']);
  // items file order first, then items only seen in engagements
  assert.deepEqual(ds.items.idList(), ['i1', 'i2', 'i4', 'i3', 'i0']);
  assert.deepEqual(ds.topics.idList(), ['x', 'y', 'z']);
  const f = ds.follows!;
  assert.deepEqual([...f.indptr], [0, 2, 3, 3, 4, 4]);
  assert.deepEqual([...f.indices], [1, 2, 2, 0]);
  assert.equal(f.values, null);
  const e = ds.engagements!;
  // alice: i1 (fav 2 @10), i1 (unfav 1 @20.5), i0 (3 @12) → sorted by item index: i1, i1, i0(4)
  assert.deepEqual([...e.matrix.indptr], [0, 3, 4, 4, 4, 5]);
  assert.deepEqual([...e.matrix.indices], [0, 0, 4, 1, 3]);
  assert.deepEqual([...e.matrix.values!], [2, 1, 3, 1, 1.5]);
  assert.deepEqual([...e.ts], [10, 20.5, 12, Number.NaN, 15]);
  assert.deepEqual(
    [...e.action],
    [ACTION_POSITIVE, ACTION_UNFAV, ACTION_POSITIVE, ACTION_POSITIVE, ACTION_POSITIVE],
  );
  assert.deepEqual([...ds.itemAuthor], [1, -1, 2, -1, -1]);
  assert.deepEqual([...ds.itemCreatedTs], [1, 2, Number.NaN, Number.NaN, Number.NaN]);
  assert.deepEqual([...ds.itemTags!.indptr], [0, 2, 3, 3, 3, 3]);
  assert.deepEqual([...ds.itemTags!.indices], [0, 1, 1]);
  assert.deepEqual([...ds.topicFollows!.indptr], [0, 1, 2, 2, 2, 2]);
  assert.deepEqual([...ds.topicFollows!.indices], [0, 2]);
  assert.deepEqual(ds.stats, {
    users: 5,
    consumers: 3,
    producers: 3,
    followEdges: 4,
    duplicateFollowsMerged: 1,
    selfFollowsDropped: 1,
    items: 5,
    engagements: 5,
    positiveEngagements: 4,
    unfavEngagements: 1,
    engagingUsers: 3,
    engagedItems: 4,
    topics: 3,
    topicFollows: 2,
    itemTags: 3,
    minTs: 1,
    maxTs: 1577836800,
  });
  assert.deepEqual(
    ds.inputs.map((i) => [i.kind, i.rows, i.skippedRows]),
    [
      ['follows', 6, 0],
      ['items', 3, 0],
      ['engagements', 5, 0],
      ['topic_follows', 3, 0],
    ],
  );
  for (const i of ds.inputs) assert.equal(i.sha256, await sha256File(i.path));
  // Lookups by external id work (the lazy id map builds its index on demand).
  assert.equal(ds.users.get('dave'), 3);
  assert.equal(ds.items.get('nope'), -1);
});

test('the same data in TSV, gzip, JSONL, NDJSON and Parquet loads identically', async () => {
  const want = snapshot(await loadDataset(dirWith(toyFiles('csv'))));
  for (const ext of ['tsv', 'csv.gz', 'tsv.gz', 'jsonl', 'jsonl.gz', 'ndjson'] as const) {
    assert.deepEqual(snapshot(await loadDataset(dirWith(toyFiles(ext)))), want, ext);
  }
  // Parquet written by DuckDB from the CSVs, with typed columns where DuckDB infers them.
  const csvDir = dirWith(toyFiles('csv'));
  const pqDir = dirWith({});
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  for (const kind of Object.keys(TOY)) {
    await conn.run(
      `COPY (SELECT * FROM read_csv('${join(csvDir, `${kind}.csv`)}', all_varchar=true)) TO '${join(pqDir, `${kind}.parquet`)}' (FORMAT parquet)`,
    );
  }
  // A typed column (BIGINT user ids, TIMESTAMP) must read the same as its text.
  await conn.run(
    `COPY (SELECT user_id, item_id, action, weight::DOUBLE AS weight, TRY_CAST(ts AS DOUBLE) AS ts FROM read_csv('${join(csvDir, 'engagements.csv')}', all_varchar=true)) TO '${join(pqDir, 'engagements.parquet')}' (FORMAT parquet)`,
  );
  conn.closeSync();
  db.closeSync();
  const got = snapshot(await loadDataset(pqDir));
  assert.deepEqual(got, want);
});

test('timestamps: Unix seconds with fractions, ISO-8601 with Z, offsets or none (UTC), dates', async () => {
  const dir = dirWith({
    'engagements.csv':
      'user_id,item_id,ts\nu,a,1600000000.25\nu,b,2020-01-01T00:00:00Z\nu,c,2020-01-01 03:00:00+03:00\nu,d,2020-01-01T00:00:00\nu,e,2020-01-01\n',
  });
  const ds = await loadDataset(dir);
  assert.deepEqual([...ds.engagements!.ts], [1600000000.25, 1577836800, 1577836800, 1577836800, 1577836800]);
});

const BAD_ENGAGEMENTS = [
  'user_id,item_id,weight,ts', // 1
  'a,i1,2,10', // 2 good
  ',i2,1,5', // 3 empty user_id
  '', // 4 blank, skipped
  'b,i3,abc,1', // 5 non-numeric weight
  '"c', // 6 quoted user id spanning two lines...
  'x",i4,1,zz', // 7 ...with an unparseable timestamp
  'd,i5', // 8 too few fields
  'e,i6,1,2020-01-01', // 9 good
  '   ,i7,1,1', // 10 blank id
  'f,,1,1', // 11 empty item_id
].join('\n');

test('bad rows fail the load with FILE:LINE: column X: reason for each, physical lines', async () => {
  const dir = dirWith({ 'engagements.csv': `${BAD_ENGAGEMENTS}\n` });
  const file = join(dir, 'engagements.csv');
  const e = await rejects(loadDataset(dir), 'INPUT_BAD_ROW');
  assert.deepEqual(e.detail, { file, line: 3, column: 'user_id' });
  assert.deepEqual(e.toString().split('\n'), [
    `${file}:3: column user_id: empty id`,
    `${file}:5: column weight: non-numeric weight 'abc'`,
    `${file}:6: column ts: unparseable timestamp 'zz' (expected Unix seconds or ISO-8601)`,
    `${file}:8: expected 4 fields, found 2`,
    `${file}:10: column user_id: empty id`,
    `${file}:11: column item_id: empty id`,
    '6 problems in total',
  ]);
});

test('skipBadRows keeps every good row, counts the bad ones, and takes no ids from them', async () => {
  const dir = dirWith({ 'engagements.csv': `${BAD_ENGAGEMENTS}\n` });
  const warnings: string[] = [];
  const ds = await loadDataset(dir, { skipBadRows: true, onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 7);
  assert.equal(warnings[0], `${join(dir, 'engagements.csv')}:3: column user_id: empty id`);
  assert.equal(warnings[6], `${join(dir, 'engagements.csv')}: 6 bad row(s) skipped`);
  assert.deepEqual(ds.users.idList(), ['a', 'e']);
  assert.deepEqual(ds.items.idList(), ['i1', 'i6']);
  assert.deepEqual([...ds.engagements!.matrix.values!], [2, 1]);
  assert.deepEqual([...ds.engagements!.ts], [10, 1577836800]);
  assert.equal(ds.inputs[0].rows, 2);
  assert.equal(ds.inputs[0].skippedRows, 6);
});

test('validateDataset lists every problem and the counts of what is good', async () => {
  const dir = dirWith({
    'engagements.csv': `${BAD_ENGAGEMENTS}\n`,
    'follows.csv': 'consumer_id,producer_id\nx,y\n',
  });
  const report = await validateDataset(dir);
  assert.equal(report.ok, false);
  assert.equal(report.badRows, 6);
  assert.equal(report.errorCount, 6);
  assert.equal(report.errors.length, 6);
  assert.match(report.errors[0], /engagements\.csv:3: column user_id: empty id$/);
  assert.equal(report.stats?.followEdges, 1);
  assert.equal(report.stats?.engagements, 2);
  assert.deepEqual(
    report.files.map((f) => [f.kind, f.rows, f.badRows]),
    [
      ['follows', 1, 0],
      ['engagements', 2, 6],
    ],
  );
  const skipped = await validateDataset(dir, { skipBadRows: true });
  assert.equal(skipped.ok, true);
  assert.equal(skipped.badRows, 6);
});

test('more bad rows than are listed: INPUT_TOO_MANY_BAD_ROWS, 100 listed, all counted', async () => {
  const rows = ['consumer_id,producer_id'];
  for (let i = 0; i < 250; i++) rows.push(i % 2 === 0 ? `u${i},` : `u${i},p${i}`);
  const dir = dirWith({ 'follows.csv': `${rows.join('\n')}\n` });
  const e = await rejects(loadDataset(dir), 'INPUT_TOO_MANY_BAD_ROWS');
  const lines = e.toString().split('\n');
  assert.equal(lines.length, 101);
  assert.equal(lines[99], `${join(dir, 'follows.csv')}:200: column producer_id: empty id`);
  assert.equal(lines[100], '... 125 bad rows in total, 100 listed');
  const ds = await loadDataset(dir, { skipBadRows: true });
  assert.equal(ds.stats.followEdges, 125);
  assert.equal(ds.inputs[0].skippedRows, 125);
});

test('JSONL bad lines are reported by line (blank lines counted), Parquet bad rows by row', async () => {
  const dir = dirWith({
    // latin1 writes \xff as the lone byte 0xff: invalid UTF-8.
    'follows.jsonl': Buffer.from(
      '{"consumer_id":"a","producer_id":"b"}\n\n{"consumer_id":"a"}\n{not json\n{"consumer_id":"c","producer_id":"d","ts":"soon"}\n{"consumer_id":"\xff"}\n',
      'latin1',
    ),
  });
  const file = join(dir, 'follows.jsonl');
  const e = await rejects(loadDataset(dir), 'INPUT_BAD_ROW');
  assert.deepEqual(e.toString().split('\n'), [
    `${file}:3: column producer_id: empty id`,
    `${file}:4: not valid JSON`,
    `${file}:5: column ts: unparseable timestamp 'soon' (expected Unix seconds or ISO-8601)`,
    `${file}:6: invalid UTF-8`,
    '4 problems in total',
  ]);

  const pqDir = dirWith({});
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(
    `COPY (SELECT * FROM (VALUES ('a', 'b', 1.0), ('c', NULL, 2.0), ('e', 'f', 3.0)) t(consumer_id, producer_id, ts)) TO '${join(pqDir, 'follows.parquet')}' (FORMAT parquet)`,
  );
  conn.closeSync();
  db.closeSync();
  const report = await validateDataset(pqDir);
  assert.deepEqual(report.errors, [`${join(pqDir, 'follows.parquet')}:row 2: column producer_id: empty id`]);
});

test('header problems: unknown, missing required and duplicate columns, all on line 1', async () => {
  const cases: [string, string, string][] = [
    ['consumer_id,producer_id,weight\na,b,1\n', 'weight', "unknown column 'weight'"],
    ['consumer_id,ts\na,1\n', 'producer_id', "missing required column 'producer_id'"],
    ['consumer_id,producer_id,Consumer_ID\na,b,c\n', 'Consumer_ID', "duplicate column 'Consumer_ID'"],
  ];
  for (const [text, column, reason] of cases) {
    const dir = dirWith({ 'follows.csv': text });
    const e = await rejects(loadDataset(dir), 'INPUT_BAD_HEADER');
    assert.deepEqual(e.detail, { file: join(dir, 'follows.csv'), line: 1, column });
    assert.ok(e.message.startsWith(reason), e.message);
  }
  // Column names match regardless of case and surrounding spaces, in any order.
  const ok = await loadDataset(dirWith({ 'follows.csv': ' Producer_ID ,CONSUMER_ID\nb,a\n' }));
  assert.deepEqual(ok.users.idList(), ['a', 'b']);
});

test('missing and empty inputs are clear errors', async () => {
  await rejects(loadDataset(join(root, 'no-such-dir')), 'INPUT_MISSING');
  // Nothing recognisable in the directory.
  await rejects(loadDataset(dirWith({ 'notes.txt': 'hello' })), 'INPUT_MISSING');
  // A required file is absent.
  const onlyFollows = dirWith({ 'follows.csv': 'consumer_id,producer_id\na,b\n' });
  const e = await rejects(loadDataset(onlyFollows, { require: ['engagements'] }), 'INPUT_MISSING');
  assert.match(e.message, /required input 'engagements' not found/);
  // Empty (0 bytes) and header-only required files.
  await rejects(loadDataset(dirWith({ 'follows.csv': '' }), { require: ['follows'] }), 'INPUT_EMPTY');
  await rejects(
    loadDataset(dirWith({ 'follows.csv': 'consumer_id,producer_id\n' }), { require: ['follows'] }),
    'INPUT_EMPTY',
  );
  // An optional file may be empty.
  const ds = await loadDataset(
    dirWith({ 'follows.csv': 'consumer_id,producer_id\n', 'topic_follows.csv': 'user_id,topic\na,t\n' }),
  );
  assert.equal(ds.stats.followEdges, 0);
  assert.equal(ds.stats.topicFollows, 1);
  // Two files for one kind.
  const two = dirWith({
    'follows.csv': 'consumer_id,producer_id\na,b\n',
    'follows.tsv': 'consumer_id\tproducer_id\na\tb\n',
  });
  const dup = await rejects(loadDataset(two), 'INPUT_FORMAT');
  assert.match(dup.message, /more than one 'follows' file: follows\.csv, follows\.tsv/);
});

test('ids longer than 12 bytes (and long tags) are interned exactly', async () => {
  const long = (i: number) => `user-with-a-long-identifier-${i}`;
  const rows = ['consumer_id,producer_id'];
  for (let i = 0; i < 50; i++) rows.push(`${long(i % 7)},${i % 3 === 0 ? long((i + 1) % 7) : `p${i % 5}`}`);
  const dir = dirWith({
    'follows.csv': `${rows.join('\n')}\n`,
    'items.csv': 'item_id,tags\nitem,science_fiction|film-noir-classics|x\n',
  });
  const ds = await loadDataset(dir);
  const users: string[] = [];
  for (let i = 0; i < 50; i++) {
    for (const id of [long(i % 7), i % 3 === 0 ? long((i + 1) % 7) : `p${i % 5}`])
      if (!users.includes(id)) users.push(id);
  }
  assert.deepEqual(ds.users.idList(), users);
  assert.deepEqual(ds.topics.idList(), ['science_fiction', 'film-noir-classics', 'x']);
  assert.equal(ds.stats.itemTags, 3);
});

test('loading is deterministic: same input, same id maps and matrices', async () => {
  const rows = ['consumer_id,producer_id'];
  for (let i = 0; i < 30000; i++) rows.push(`${(i * 7919) % 3001},${(i * 104729) % 997}`);
  const dir = dirWith({ 'follows.csv': `${rows.join('\n')}\n` });
  const a = await loadDataset(dir);
  const b = await loadDataset(dir);
  assert.deepEqual(a.users.idList(), b.users.idList());
  assert.deepEqual(a.follows!.indices, b.follows!.indices);
  // Row 0 is (0, 0), row 1 is (7919 mod 3001, 104729 mod 997) = (1917, 44).
  assert.deepEqual(a.users.idList().slice(0, 3), ['0', '1917', '44']);
});

test('the window: default from 1970 to the ingest time + 1 day; notAfter fixes the upper bound', () => {
  const w = resolveTimeWindow({}, 1_700_000_000.7);
  assert.deepEqual([w.notBefore, w.notAfter], [0, 1_700_086_400]);
  assert.equal(w.notAfterSource, 'ingest time 2023-11-14T22:13:20Z + 86400 s');
  const fixed = resolveTimeWindow({ notBefore: 10, notAfter: 20, maxFutureSeconds: 5 }, 1_700_000_000);
  assert.deepEqual([fixed.notBefore, fixed.notAfter, fixed.notAfterSource], [10, 20, 'ingest.notAfter']);
});

test('CSV headers are split here: quoted cells (with the delimiter or a doubled quote) and a BOM', async () => {
  assert.deepEqual(splitRecord('a,"b,c","d""e",', { delim: ',', quote: '"', header: true }), [
    'a',
    'b,c',
    'd"e',
    '',
  ]);
  const dir = dirWith({ 'follows.csv': '\uFEFF"consumer_id", producer_id \r\na,b\r\n' });
  const ds = await loadDataset(dir);
  assert.deepEqual(ds.users.idList(), ['a', 'b']);
});

test('impression and hide rows of an engagement file are live signals: left out, counted, their ids not added', async () => {
  const dir = dirWith({
    'engagements.csv': [
      'user_id,item_id,action,weight,ts',
      'u1,i1,fav,1,100',
      'u1,i2,impression,1,101',
      'u2,i1, Impression ,1,102',
      'u3,i3,hide,1,103',
      'u2,i2,click,1,104',
      'u1,i1,unfav,1,105',
      'u1,i2,impression,1,999999999999',
    ].join('\n'),
  });
  const ds = await loadDataset(dir, { skipBadRows: true });
  // Kept: u1 i1 fav, u2 i2 click (a positive, as documented), u1 i1 unfav. u3 and i3 appear only in a hide.
  assert.deepEqual(ds.users.idList(), ['u1', 'u2']);
  assert.deepEqual(ds.items.idList(), ['i1', 'i2']);
  assert.equal(ds.stats.engagements, 3);
  assert.deepEqual([...ds.engagements!.action].sort(), [ACTION_POSITIVE, ACTION_POSITIVE, ACTION_UNFAV]);
  // The signal rows are counted apart from the bad one (a far-future impression is bad first).
  assert.equal(ds.inputs[0].signalRows, 3);
  assert.equal(ds.inputs[0].skippedRows, 1);
  // Their times do not move the data time either.
  assert.equal(ds.dataTime, 105);
  const report = await validateDataset(dir, { skipBadRows: true });
  assert.equal(report.files[0].signalRows, 3);
  assert.equal(report.files[0].rows, 3);
});
