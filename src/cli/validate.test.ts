import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SimrecError } from '../core/errors.ts';
import { validateCommand } from './validate.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-validate-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dirWith(files: Record<string, string>): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/**
 * Runs the command with its stdout and stderr text captured. The test runner reports to its parent through
 * stdout in binary frames while a test awaits, so only strings are captured and everything else passes.
 */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((s: unknown, ...rest: unknown[]) => {
    if (typeof s !== 'string')
      return (writeOut as (...a: unknown[]) => boolean).call(process.stdout, s, ...rest);
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: unknown, ...rest: unknown[]) => {
    if (typeof s !== 'string')
      return (writeErr as (...a: unknown[]) => boolean).call(process.stderr, s, ...rest);
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await validateCommand.run(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

const GOOD = {
  'follows.csv': 'consumer_id,producer_id,ts\na,b,1600000000\nb,a,1600000100\na,b,1600000200\n',
  'engagements.tsv': 'user_id\titem_id\taction\nc\ti1\tfav\nc\ti1\tunfav\n',
};

test('valid data: prints files and counts, exits 0', async () => {
  const dir = dirWith(GOOD);
  const { code, out, err } = await run(['--data', dir]);
  assert.equal(code, 0, err);
  assert.match(out, /follows\s+\S*follows\.csv\s+3 rows/);
  assert.match(out, /users\s+3\n/);
  assert.match(out, /follow edges\s+2 \(1 repeats merged, 0 self-follows dropped\)/);
  assert.match(out, /engagements\s+2 \(1 positive, 1 unfav\)/);
  assert.match(out, /time range\s+2020-09-13T12:26:40Z \.\. 2020-09-13T12:30:00Z/);
  // Engagements carry no time here, so the data time is the latest follow's.
  assert.match(out, /data time\s+2020-09-13T12:30:00Z\n/);
  assert.match(out, /\nok\n$/);
  assert.equal(err, '');
});

test('bad rows: each printed as FILE:LINE: column X: reason, exit 1; --skip-bad-rows exits 0', async () => {
  const dir = dirWith({
    'engagements.csv': 'user_id,item_id,weight,ts\nu,i,1,1\nu,,1,1\nu,i,heavy,1\nu,i,1,yesterday\n',
  });
  const file = join(dir, 'engagements.csv');
  const bad = await run(['--data', dir]);
  assert.equal(bad.code, 1);
  assert.deepEqual(bad.err.trim().split('\n'), [
    `${file}:3: column item_id: empty id`,
    `${file}:4: column weight: non-numeric weight 'heavy'`,
    `${file}:5: column ts: unparseable timestamp 'yesterday' (expected Unix seconds or ISO-8601)`,
    `validate: 3 problem(s) in ${dir}`,
  ]);
  assert.match(bad.out, /1 rows, 3 bad/);
  const skipped = await run(['--data', dir, '--skip-bad-rows']);
  assert.equal(skipped.code, 0);
  assert.match(skipped.err, /validate: 3 bad row\(s\) would be skipped/);
});

test('header problems and missing data are reported the same way', async () => {
  const dir = dirWith({ 'follows.csv': 'consumer_id,followee\na,b\n' });
  const { code, err } = await run(['--data', dir]);
  assert.equal(code, 1);
  assert.match(err, new RegExp(`${join(dir, 'follows.csv')}:1: column followee: unknown column 'followee'`));
  assert.match(err, /:1: column producer_id: missing required column 'producer_id'/);
  const empty = await run(['--data', dirWith({})]);
  assert.equal(empty.code, 1);
  assert.match(empty.err, /no input files in/);
});

test('--json prints the report', async () => {
  const dir = dirWith(GOOD);
  const { code, out } = await run(['--data', dir, '--json']);
  assert.equal(code, 0);
  const report = JSON.parse(out);
  assert.equal(report.ok, true);
  assert.equal(report.format, 'canonical');
  assert.equal(report.stats.followEdges, 2);
  assert.equal(report.stats.unfavEngagements, 1);
  assert.deepEqual(report.errors, []);
});

test('option errors are CONFIG_INVALID naming the option', async () => {
  await assert.rejects(
    run([]),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'data',
  );
  await assert.rejects(
    run(['--data', root, '--format', 'xml']),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'format',
  );
  await assert.rejects(
    run(['--data', root, '--min-rating', 'high']),
    (e: unknown) => e instanceof SimrecError && e.detail.field === 'min-rating',
  );
  assert.match(validateCommand.help, /--skip-bad-rows/);
});

test('exits 1 where a build would fail: nothing to build from, or timestamps outside the configured window', async () => {
  const headerOnly = dirWith({ 'follows.csv': 'consumer_id,producer_id,ts\n' });
  const a = await run(['--data', headerOnly]);
  assert.equal(a.code, 1);
  assert.match(
    a.err,
    /no follow edge and no engagement to build from: \S*follows\.csv has a header but no data rows/,
  );

  const dir = dirWith(GOOD);
  const config = join(dir, 'build.yaml');
  writeFileSync(config, 'ingest:\n  notAfter: 1600000100\n');
  const b = await run(['--data', dir, '--config', config]);
  assert.equal(b.code, 1);
  assert.deepEqual(b.err.trim().split('\n'), [
    `${join(dir, 'follows.csv')}:4: column ts: timestamp '1600000200' (2020-09-13T12:30:00Z) is after 2020-09-13T12:28:20Z (ingest.notAfter)`,
    `validate: 1 problem(s) in ${dir}`,
  ]);

  // Milliseconds, the usual cause of a far-future time, are named as such.
  const ms = dirWith({ 'engagements.csv': 'user_id,item_id,ts\nu1,i1,1433221332117\nu2,i1,1433221332\n' });
  const c = await run(['--data', ms]);
  assert.equal(c.code, 1);
  assert.match(
    c.err,
    /engagements\.csv:2: column ts: timestamp '1433221332117' \(\+047386-12-22T20:41:57Z\) is after .*; read as milliseconds it would be 2015-06-02T05:02:12\.117Z — ts is Unix seconds\n/,
  );
  assert.doesNotMatch(c.err, /engagements\.csv:3/);
});
