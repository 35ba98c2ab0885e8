import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CsvSink, encodeBytes } from './csv-sink.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-sink-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('integers are written exactly as String(n) does, up to 2^53', async () => {
  const values = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 99999, 100000, 1234567, 9999999, 10000000];
  values.push(99999999, 100000000, 999999999, 1000000000, 1700000000, 2147483647, 2147483648, 4294967296);
  values.push(1e15 + 7, 2 ** 53 - 1);
  for (let d = 1; d <= 1e15; d *= 10) values.push(d - 1, d, d + 1);
  const path = join(root, 'ints.csv');
  const sink = CsvSink.open(path, 'n', false);
  for (const v of values) {
    sink.int(v);
    sink.endRow();
  }
  await sink.close();
  assert.equal(sink.rows, values.length);
  assert.equal(readFileSync(path, 'utf8'), `n\n${values.map(String).join('\n')}\n`);
});

test('millionths: the shortest exact decimal of ppm / 10⁶', async () => {
  const path = join(root, 'ppm.csv');
  const sink = CsvSink.open(path, 'w', false);
  const ppm = [1_000_000, 0, 1, 10, 250_000, 500_000, 333_333, 666_667, 120_000, 999_999, 100_000];
  for (const v of ppm) {
    sink.millionths(v);
    sink.endRow();
  }
  await sink.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  assert.deepEqual(lines, [
    '1',
    '0',
    '0.000001',
    '0.00001',
    '0.25',
    '0.5',
    '0.333333',
    '0.666667',
    '0.12',
    '0.999999',
    '0.1',
  ]);
  for (let i = 0; i < ppm.length; i++) assert.equal(Number(lines[i]), ppm[i] / 1e6);
});

/** Writes rows of (i, i², tag) through many flushes. */
async function writeMany(path: string, gzip: boolean, n: number): Promise<string> {
  const tag = encodeBytes('tag|ü');
  const sink = CsvSink.open(path, 'a,b,c', gzip);
  let expected = 'a,b,c\n';
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    sink.int(i);
    sink.comma();
    sink.int(i * i);
    sink.comma();
    sink.bytes(tag);
    sink.endRow();
    if (sink.needsFlush) await sink.flush();
    parts.push(`${i},${i * i},tag|ü\n`);
  }
  await sink.close();
  expected += parts.join('');
  assert.equal(sink.rows, n);
  return expected;
}

test('files of many buffers come out whole and in order, plain and gzip', async () => {
  const n = 150_000; // ≈ 3 MB: several 1 MB chunks, so flushes and backpressure happen
  const plain = join(root, 'many.csv');
  const expected = await writeMany(plain, false, n);
  assert.equal(readFileSync(plain, 'utf8'), expected);
  const gz = join(root, 'many.csv.gz');
  assert.equal(await writeMany(gz, true, n), expected);
  const bytes = readFileSync(gz);
  assert.equal(gunzipSync(bytes).toString('utf8'), expected);
  // No timestamp in the gzip header (MTIME, bytes 4..7), so reruns are byte-identical.
  assert.equal(bytes.readUInt32LE(4), 0);
  const again = join(root, 'again.csv.gz');
  await writeMany(again, true, n);
  assert.ok(readFileSync(again).equals(bytes));
});

test('long byte strings grow the buffer instead of overrunning it', async () => {
  const path = join(root, 'long.csv');
  const long = 'x'.repeat(3 << 20);
  const sink = CsvSink.open(path, 'h', false);
  sink.int(7);
  sink.comma();
  sink.text(long);
  sink.endRow();
  await sink.close();
  assert.equal(readFileSync(path, 'utf8'), `h\n7,${long}\n`);
});

test('a file that cannot be created fails on close with the fs error', async () => {
  const sink = CsvSink.open(join(root, 'no-such-dir', 'x.csv'), 'h', false);
  sink.int(1);
  sink.endRow();
  await assert.rejects(sink.close(), /ENOENT/);
  const gz = CsvSink.open(join(root, 'no-such-dir', 'x.csv.gz'), 'h', true);
  await assert.rejects(gz.close(), /ENOENT/);
});
