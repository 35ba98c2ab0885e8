import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IdMap } from '../core/id-map.ts';
import {
  type Duck,
  forEachChunk,
  materialize,
  openDuck,
  type StringColumn,
  stringColumn,
  uint64WordsColumn,
} from './duckdb.ts';
import { EMPTY_ID, LazyIdMap, StringInterner } from './interner.ts';

let duck: Duck;
before(async () => {
  duck = await openDuck();
});
after(() => duck.close());

/** Interns the VARCHAR columns of a query (all sharing one interner) and returns the ids per column. */
async function intern(
  interner: StringInterner,
  sql: string,
  opts: { hashed?: boolean; skip?: (row: number) => boolean; markEmpty?: number[] } = {},
): Promise<{ ids: number[][]; need: { row: number; column: number } | null; skip: number[] }> {
  const res = await materialize(duck.conn, sql);
  const nCols = opts.hashed ? res.columnCount / 2 : res.columnCount;
  const ids: number[][] = Array.from({ length: nCols }, () => []);
  const skipOut: number[] = [];
  let need: { row: number; column: number } | null = null;
  forEachChunk(res, (chunk, rows, first) => {
    if (need) return;
    const cols: StringColumn[] = [];
    const hashes: (Uint32Array | null)[] = [];
    for (let c = 0; c < nCols; c++) {
      cols.push(stringColumn(chunk, c, rows));
      hashes.push(opts.hashed ? uint64WordsColumn(chunk, nCols + c, rows) : null);
    }
    const outs = cols.map(() => new Int32Array(rows));
    const skip = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) if (opts.skip?.(first + r)) skip[r] = 9;
    need = interner.internRows(cols, hashes, rows, outs, 0, skip, opts.markEmpty ?? null);
    outs.forEach((o, c) => {
      ids[c].push(...o);
    });
    skipOut.push(...skip);
  });
  return { ids, need, skip: skipOut };
}

const values = (rows: string[][]) =>
  `SELECT * FROM (VALUES ${rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`)).join(', ')})`).join(', ')})`;

test('ids are numbered in first-seen order, row by row, left to right', async () => {
  const it = new StringInterner();
  const { ids } = await intern(
    it,
    values([
      ['b', 'a'],
      ['a', 'c'],
      ['c', 'b'],
      ['d', 'd'],
    ]),
  );
  assert.deepEqual(ids, [
    [0, 1, 2, 3],
    [1, 2, 0, 3],
  ]);
  assert.deepEqual(it.idList(), ['b', 'a', 'c', 'd']);
});

test('short ids are exact: decimal look-alikes, case, unicode and 12-byte ids stay distinct', async () => {
  const it = new StringInterner();
  const list = [
    '7',
    '07',
    '+7',
    '7 ',
    '700',
    'A',
    'a',
    'é',
    'e',
    '123456789012',
    '123456789013',
    '16777216',
    '16777215',
    '0',
  ];
  const { ids } = await intern(
    it,
    `${values(list.map((v) => [v]))} UNION ALL ${values(list.map((v) => [v]))}`,
  );
  const n = list.length;
  assert.deepEqual(
    ids[0].slice(0, n),
    list.map((_, i) => i),
  );
  assert.deepEqual(
    ids[0].slice(n),
    list.map((_, i) => i),
  );
  assert.deepEqual(it.idList(), list);
});

test('NULL and blank values are EMPTY_ID and take no index; markEmpty flags their rows', async () => {
  const it = new StringInterner();
  const { ids, skip } = await intern(
    it,
    values([['x'], [null as unknown as string], ['   '], ['\t'], ['y']]),
    {
      markEmpty: [5],
    },
  );
  assert.deepEqual(ids[0], [0, EMPTY_ID, EMPTY_ID, EMPTY_ID, 1]);
  assert.deepEqual(skip, [0, 5, 5, 5, 0]);
  assert.equal(it.size, 2);
});

test('skipped rows get EMPTY_ID and add no ids', async () => {
  const it = new StringInterner();
  const { ids } = await intern(
    it,
    values([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'a'],
    ]),
    { skip: (r) => r === 1 },
  );
  assert.deepEqual(ids, [
    [0, EMPTY_ID, 2],
    [1, EMPTY_ID, 0],
  ]);
  assert.deepEqual(it.idList(), ['a', 'b', 'e']);
});

test('values longer than 12 bytes need the hash column; with it they are interned exactly', async () => {
  const long = [
    'a-rather-long-user-id-1',
    'a-rather-long-user-id-2',
    'short',
    'a-rather-long-user-id-1',
    'ünïcödé-long-identifier',
  ];
  const sql = values(long.map((v) => [v]));
  const it = new StringInterner();
  const first = await intern(it, sql);
  assert.deepEqual(first.need, { row: 0, column: 0 });
  const { ids, need } = await intern(it, `SELECT v, hash(v) FROM (${sql}) t(v)`, { hashed: true });
  assert.equal(need, null);
  assert.deepEqual(ids[0], [0, 1, 2, 0, 3]);
  assert.deepEqual(it.idList(), [long[0], long[1], 'short', long[4]]);
});

test('many ids: a chunked column round-trips through idList in order', async () => {
  const it = new StringInterner(4);
  const { ids } = await intern(
    it,
    `SELECT CASE WHEN i % 3 = 0 THEN 'u' || (i % 5000) ELSE ((i * 7) % 5000)::VARCHAR END FROM range(20000) t(i)`,
  );
  const want = new IdMap();
  const expected: number[] = [];
  for (let i = 0; i < 20000; i++)
    expected.push(want.intern(i % 3 === 0 ? `u${i % 5000}` : String((i * 7) % 5000)));
  assert.deepEqual(ids[0], expected);
  assert.deepEqual(it.idList(), want.idList());
});

test('LazyIdMap behaves like IdMap and serialises the same', () => {
  const list = ['a', 'b', 'c,d', 'é'];
  const lazy = new LazyIdMap(list);
  assert.equal(lazy.size, 4);
  assert.equal(lazy.id(2), 'c,d');
  assert.deepEqual(lazy.idList(), list);
  assert.throws(() => lazy.id(4), RangeError);
  assert.deepEqual(lazy.toBuffer(), IdMap.from(list).toBuffer());
  assert.equal(lazy.get('é'), 3);
  assert.equal(lazy.has('zz'), false);
  assert.equal(lazy.intern('zz'), 4);
  assert.equal(lazy.size, 5);
  assert.ok(lazy instanceof IdMap);
  assert.deepEqual(IdMap.fromBuffer(new LazyIdMap(list).toBuffer()).idList(), list);
});
