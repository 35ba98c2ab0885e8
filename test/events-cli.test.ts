import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseBefore, runEvents } from '../src/cli/events.ts';
import { SimrecError } from '../src/core/errors.ts';
import type { UserEvent } from '../src/core/event.ts';
import { openEventLog } from '../src/store/open.ts';

/** Runs `simrec events ARGV` in this process: exit code, stdout, stderr, or the error main() would print. */
async function cli(
  ...argv: string[]
): Promise<{ code: number; out: string; err: string; error?: SimrecError }> {
  let out = '';
  let err = '';
  const io = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } };
  try {
    return { code: await runEvents(argv, io), out, err };
  } catch (e) {
    if (!(e instanceof SimrecError)) throw e;
    return {
      code: e.code === 'CONFIG_INVALID' ? 2 : 1,
      out,
      err: `${err}error ${e.code}: ${e.toString()}`,
      error: e,
    };
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-events-cli-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function held(root: string): Promise<UserEvent[]> {
  const log = openEventLog(root);
  try {
    return log.read(0, 1000) as UserEvent[];
  } finally {
    await log.close();
  }
}

const CSV = [
  'event_id,user_id,action,item_id,producer_id,ts,weight',
  'e1,u1,fav,i1,,1700000000,',
  'e2,u2,follow,,u1,2023-11-14T22:13:21Z,',
  '',
  'e3,"u,3",click,i2,,,2.5',
  'e4,u4,fav,i3,,1700000003,-1',
  'e5,u5,unfollow,i4,,,',
  'e6,u6,fav,"i',
  '5",,not-a-time,',
].join('\n');

test('events import: a bad row fails the import as FILE:LINE: field: reason, and nothing is written', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'ev.csv');
    writeFileSync(file, CSV);
    const r = await cli('import', '--artifacts', dir, file);
    assert.equal(r.code, 1);
    assert.equal(r.error?.code, 'INPUT_BAD_ROW');
    assert.match(r.err, new RegExp(`${file}:6: weight: must be a finite number ≥ 0`));
    assert.equal((await held(dir)).length, 0);
  });
});

test('events import --skip-bad-rows: bad rows reported and counted, the rest appended; a rerun appends nothing', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'ev.csv');
    writeFileSync(file, CSV);
    const r = await cli('import', '--artifacts', dir, file, '--skip-bad-rows');
    assert.equal(r.code, 0, r.err);
    const warnings = r.err.trim().split('\n');
    assert.deepEqual(
      warnings.map((w) => w.replace(`${file}:`, 'FILE:').replace(/^simrec events import: skipping /, '')),
      [
        'FILE:6: weight: must be a finite number ≥ 0 (a weight is a rating or a count), got number -1',
        "FILE:7: item_id: is not allowed for action 'unfollow' (it targets producerId)",
        "FILE:8: ts: unparseable timestamp 'not-a-time' (expected Unix seconds or ISO-8601)",
      ],
    );
    assert.match(
      r.out,
      /6 event\(s\) read, 3 appended, 0 already in the log \(same eventId\), 3 bad row\(s\) skipped/,
    );
    const events = await held(dir);
    assert.deepEqual(
      events.map((e) => [e.eventId, e.userId, e.action, e.itemId ?? e.producerId, e.weight]),
      [
        ['e1', 'u1', 'fav', 'i1', 1],
        ['e2', 'u2', 'follow', 'u1', 1],
        ['e3', 'u,3', 'click', 'i2', 2.5],
      ],
    );
    assert.equal(events[0].ts, 1_700_000_000);
    assert.equal(events[1].ts, 1_700_000_001);
    const again = await cli('import', '--artifacts', dir, file, '--skip-bad-rows');
    assert.match(again.out, /0 appended, 3 already in the log/);
    assert.equal((await held(dir)).length, 3);
  });
});

test('events import reads JSONL (gzip too), with numeric ids as ingestion reads them', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'ev.jsonl.gz');
    const lines = [
      '{"userId": 7, "action": "fav", "itemId": "a", "ts": 1700000000}',
      '{"userId": "u", "action": "retweet", "itemId": "b", "ts": 1700000001}',
    ];
    writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
    const bad = await cli('import', '--artifacts', dir, file);
    assert.match(bad.err, /ev\.jsonl\.gz:2: action: "retweet" is not an action/);
    const ok = await cli('import', '--artifacts', dir, file, '--engagement-actions', 'retweet');
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(
      (await held(dir)).map((e) => [e.userId, e.action, e.itemId]),
      [
        ['7', 'fav', 'a'],
        ['u', 'retweet', 'b'],
      ],
    );
    writeFileSync(
      join(dir, 'broken.jsonl'),
      '{"userId": "u", "action": "fav", "itemId": "a"}\n{"userId": \n',
    );
    const broken = await cli('import', '--artifacts', dir, join(dir, 'broken.jsonl'));
    assert.match(broken.err, /broken\.jsonl:2: line: not valid JSON/);
  });
});

test('events import: header and file problems are coded errors', async () => {
  await withDir(async (dir) => {
    writeFileSync(join(dir, 'h.csv'), 'user_id,action,item\nu,fav,i\n');
    const h = await cli('import', '--artifacts', dir, join(dir, 'h.csv'));
    assert.equal(h.error?.code, 'INPUT_BAD_HEADER');
    assert.match(h.err, /h\.csv:1: column item: .*is not an event field/);
    writeFileSync(join(dir, 'd.csv'), 'userId,user_id,action\n');
    assert.equal(
      (await cli('import', '--artifacts', dir, join(dir, 'd.csv'))).error?.code,
      'INPUT_BAD_HEADER',
    );
    assert.equal(
      (await cli('import', '--artifacts', dir, join(dir, 'none.csv'))).error?.code,
      'INPUT_MISSING',
    );
    assert.equal(
      (await cli('import', '--artifacts', dir, join(dir, 'x.parquet'))).error?.code,
      'INPUT_FORMAT',
    );
    writeFileSync(join(dir, 'e.csv'), 'user_id,action,item_id\n');
    assert.equal((await cli('import', '--artifacts', dir, join(dir, 'e.csv'))).error?.code, 'INPUT_EMPTY');
    assert.equal((await cli('import', '--artifacts', dir)).code, 2);
    assert.equal((await cli('stats', '--artifacts', dir, '--before', '3')).code, 2);
  });
});

test('events compact --before OFFSET|DATE and events stats', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'ev.csv');
    writeFileSync(
      file,
      [
        'eventId,userId,action,itemId,ts',
        ...[0, 1, 2, 3, 4].map((i) => `e${i},u,fav,i${i},${1_700_000_000 + 100 * i}`),
      ].join('\n'),
    );
    assert.equal((await cli('import', '--artifacts', dir, file)).code, 0);
    const s = await cli('stats', '--artifacts', dir, '--json');
    assert.deepEqual(
      (({ start, end, records, eventIds, checkpoints }) => ({ start, end, records, eventIds, checkpoints }))(
        JSON.parse(s.out),
      ),
      { start: 0, end: 5, records: 5, eventIds: 5, checkpoints: 0 },
    );
    // No artifact version has absorbed anything yet: compacting would lose events; --force does it anyway.
    const refused = await cli('compact', '--artifacts', dir, '--before', '1');
    assert.equal(refused.code, 2);
    assert.match(refused.err, /not in the current artifact version/);
    const c = await cli('compact', '--artifacts', dir, '--before', '1', '--force');
    assert.match(c.out, /dropped 1 record\(s\).*offsets 1\.\.4/);
    // 1700000250 is between offsets 2 (…200) and 3 (…300): records 1 and 2 go.
    const byTime = await cli('compact', '--artifacts', dir, '--before', '@1700000250', '--force');
    assert.match(byTime.out, /dropped 2 record\(s\) \(the first record at or after .* is offset 3\)/);
    const byDate = await cli('compact', '--artifacts', dir, '--before', '2023-11-14T22:20:00Z', '--force');
    assert.match(byDate.out, /dropped 1 record\(s\)/);
    const text = await cli('stats', '--artifacts', dir);
    assert.match(text.out, /^start +4 /m);
    assert.match(text.out, /^end +5 /m);
    assert.equal((await cli('compact', '--artifacts', dir)).code, 2);
    assert.equal((await cli('compact', '--artifacts', dir, '--before', 'yesterday')).code, 2);
  });
});

test('--before: integers are offsets, @ marks Unix seconds, dates are ISO-8601 (UTC unless zoned)', () => {
  assert.deepEqual(parseBefore('12'), { offset: 12 });
  assert.deepEqual(parseBefore('@1700000000'), { ts: 1_700_000_000 });
  assert.deepEqual(parseBefore('2023-11-14'), { ts: 1_699_920_000 });
  assert.deepEqual(parseBefore('2023-11-14T22:13:20'), { ts: 1_700_000_000 });
  assert.deepEqual(parseBefore('2023-11-14T23:13:20+01:00'), { ts: 1_700_000_000 });
  assert.throws(() => parseBefore('-3'), { code: 'CONFIG_INVALID' });
});
