/**
 * Issue 13 (part A): damaged inputs that used to build "successfully" with silently lost or distorted data.
 * Each case damages the `tiny` preset (or a small hand-written file) the way the issue describes, and checks
 * that the build fails with the coded error, names the file and line, publishes nothing, and that validate
 * fails on it too; where the damage is a bad row, that `skipBadRows` skips exactly that row.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { summarize } from '../src/cli/build.ts';
import { SimrecError } from '../src/core/errors.ts';
import { validateDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { openArtifactStore } from '../src/store/open.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-integrity-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tiny = join(root, 'tiny');
const tinyGz = join(root, 'tiny-gz');
let n = 0;

before(async () => {
  await generateSynthetic({ preset: 'tiny', outDir: tiny, seed: 1 });
  await generateSynthetic({ preset: 'tiny', outDir: tinyGz, seed: 1, gzip: true });
});

/** The tiny preset's CSV as lines (header first, no trailing empty line). */
function lines(name: string): string[] {
  return readFileSync(join(tiny, name), 'utf8').trimEnd().split('\n');
}

/** A fresh data directory: the given tiny files copied, then the given files written. */
function dataDir(copy: string[], files: Record<string, string | Buffer> = {}): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const name of copy) copyFileSync(join(tiny, name), join(dir, name));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** The build config; SimClusters only where a case is about the model (it is most of a build's time). */
function config(ingest: Record<string, unknown> = {}, simclusters = false) {
  return resolveBuildConfig(undefined, { seed: 1, ingest, simclusters: { enabled: simclusters } });
}

async function build(data: string, ingest: Record<string, unknown> = {}, simclusters = false) {
  const out = join(root, `out${++n}`);
  return { out, ...(await runBuild({ data, out, config: config(ingest, simclusters) })) };
}

/** Runs a build that must fail with `code`, checks that no version was published, and returns the error. */
async function buildFails(
  data: string,
  code: string,
  ingest: Record<string, unknown> = {},
): Promise<SimrecError> {
  const out = join(root, `out${++n}`);
  let error: unknown = null;
  try {
    await runBuild({ data, out, config: config(ingest) });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof SimrecError, `expected a SimrecError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  const store = openArtifactStore(out);
  try {
    assert.equal(await store.currentVersionId(), null);
    assert.deepEqual(
      (await store.listVersions()).filter((v) => v.committed),
      [],
    );
  } finally {
    await store.close();
  }
  return error;
}

/** validate, with the options `simrec validate` passes, must fail where the build fails. */
async function validateFails(data: string, expected: RegExp): Promise<void> {
  const report = await validateDataset(data, { requireRelations: true });
  assert.equal(report.ok, false);
  assert.ok(
    report.errors.some((e) => expected.test(e)),
    `no error matches ${expected}: ${report.errors.join(' | ')}`,
  );
}

/** CSV lines of the tiny follows as JSONL, ids as JSON numbers written by `id`. */
function followsJsonl(id: (s: string) => string = (s) => s): string[] {
  return lines('follows.csv')
    .slice(1)
    .map((l) => {
      const [c, p, ts] = l.split(',');
      return `{"consumer_id":${id(c)},"producer_id":${id(p)},"ts":${ts}}`;
    });
}

test('case 1: a truncated .csv.gz is INPUT_FORMAT naming the file; nothing is published', async () => {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const f of ['engagements.csv.gz', 'items.csv.gz', 'topic_follows.csv.gz'])
    copyFileSync(join(tinyGz, f), join(dir, f));
  const whole = readFileSync(join(tinyGz, 'follows.csv.gz'));
  writeFileSync(join(dir, 'follows.csv.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
  const e = await buildFails(dir, 'INPUT_FORMAT');
  assert.equal(e.detail.file, join(dir, 'follows.csv.gz'));
  assert.match(e.message, /^the gzip data is truncated or corrupt \(unexpected end of file\)$/);
  await validateFails(dir, /follows\.csv\.gz: the gzip data is truncated or corrupt/);

  // Garbage after a valid start is as loud.
  writeFileSync(join(dir, 'follows.csv.gz'), Buffer.concat([whole.subarray(0, 100), Buffer.alloc(500, 7)]));
  await buildFails(dir, 'INPUT_FORMAT');
});

test('case 2: a JSONL line that is an array or a string is FILE:LINE: not a JSON object, and skippable', async () => {
  const rows = followsJsonl();
  const bad = [rows[0], rows[1], '[1,2,3]', ...rows.slice(2, 10), '"a string"', ...rows.slice(10)];
  const dir = dataDir(['engagements.csv', 'items.csv'], { 'follows.jsonl': `${bad.join('\n')}\n` });
  const file = join(dir, 'follows.jsonl');
  const e = await buildFails(dir, 'INPUT_BAD_ROW');
  assert.deepEqual(e.toString().split('\n'), [
    `${file}:3: not a JSON object`,
    `${file}:12: not a JSON object`,
    '2 problems in total',
  ]);
  await validateFails(dir, /follows\.jsonl:3: not a JSON object/);

  const { manifest } = await build(dir, { skipBadRows: true });
  assert.equal(manifest.counts.followEdges, rows.length);
  assert.deepEqual(manifest.extra.skippedRows, { follows: 2, items: 0, engagements: 0 });
});

test("case 3: a far-future timestamp is a bad row; skipped, the model's clock and embeddings are unchanged", async () => {
  const eng = lines('engagements.csv');
  const latest = Math.max(...eng.slice(1).map((l) => Number(l.split(',')[4])));
  const [, user, item] = eng[1].split(',');
  const future = `${user},${item},fav,1,1000000000000000`;
  const year3000 = `${user},${item},fav,1,3000-01-01T00:00:00Z`;
  const dir = dataDir(['follows.csv', 'items.csv', 'topic_follows.csv'], {
    'engagements.csv': `${[...eng, future, year3000].join('\n')}\n`,
  });
  const e = await buildFails(dir, 'INPUT_BAD_ROW');
  const file = join(dir, 'engagements.csv');
  const msg = e.toString().split('\n');
  assert.match(
    msg[0],
    new RegExp(`^${file}:${eng.length + 1}: column ts: timestamp '1000000000000000' .* is after `),
  );
  assert.match(
    msg[1],
    new RegExp(
      `^${file}:${eng.length + 2}: column ts: timestamp '3000-01-01T00:00:00Z' \\(3000-01-01T00:00:00Z\\) is after `,
    ),
  );
  await validateFails(dir, /engagements\.csv:\d+: column ts: timestamp '1000000000000000'/);

  const clean = await build(
    dataDir(['follows.csv', 'engagements.csv', 'items.csv', 'topic_follows.csv']),
    {},
    true,
  );
  const skipped = await build(dir, { skipBadRows: true }, true);
  assert.equal(clean.manifest.dataTime, latest);
  assert.equal(skipped.manifest.dataTime, latest);
  // As serving reads it back from the store.
  const store = openArtifactStore(skipped.out);
  const reader = await store.openVersion();
  assert.equal(reader.manifest.dataTime, latest);
  await reader.close();
  await store.close();
  assert.equal(skipped.manifest.counts.itemsWithEmbedding, clean.manifest.counts.itemsWithEmbedding);
  assert.ok(clean.manifest.counts.itemsWithEmbedding > 300);
  assert.equal(
    skipped.simclusters?.output.topics?.stats.topicsWithEmbedding,
    clean.simclusters?.output.topics?.stats.topicsWithEmbedding,
  );
  assert.match(
    summarize(skipped, 'out'),
    new RegExp(`data time ${new Date(latest * 1000).toISOString().replace('.000Z', 'Z')} \\(${latest}\\)`),
  );

  // The window is configurable: a fixed notAfter before the data's end turns the latest rows into bad rows.
  const e2 = await buildFails(dataDir(['follows.csv', 'engagements.csv']), 'INPUT_TOO_MANY_BAD_ROWS', {
    notAfter: latest - 86400 * 30,
  });
  assert.match(e2.message, /is after .* \(ingest\.notAfter\)/);
});

test('case 5: a negative or overflowing weight is FILE:LINE: column weight, and skippable', async () => {
  const eng = lines('engagements.csv');
  const set = (i: number, w: string) => {
    const cells = eng[i].split(',');
    cells[3] = w;
    eng[i] = cells.join(',');
  };
  set(1, '-1');
  set(4, '1e400');
  const dir = dataDir(['follows.csv'], { 'engagements.csv': `${eng.join('\n')}\n` });
  const file = join(dir, 'engagements.csv');
  const e = await buildFails(dir, 'INPUT_BAD_ROW');
  assert.deepEqual(e.toString().split('\n'), [
    `${file}:2: column weight: negative weight '-1' (a weight is a rating or a count: a finite number ≥ 0)`,
    `${file}:5: column weight: weight '1e400' is not a finite number`,
    '2 problems in total',
  ]);
  await validateFails(dir, /engagements\.csv:2: column weight: negative weight/);
  const { manifest } = await build(dir, { skipBadRows: true });
  assert.equal(manifest.counts.engagements, eng.length - 3);
  assert.deepEqual(manifest.extra.skippedRows, { follows: 0, engagements: 2 });
});

test('case 6: a broken JSONL line reports itself only; skipping it keeps the next line', async () => {
  const rows = followsJsonl();
  const broken = [rows[0], '{"consumer_id": 5, "producer_id":', rows[1], ...rows.slice(2)];
  const dir = dataDir(['engagements.csv'], { 'follows.jsonl': `${broken.join('\n')}\n` });
  const e = await buildFails(dir, 'INPUT_BAD_ROW');
  assert.equal(e.toString(), `${join(dir, 'follows.jsonl')}:2: not valid JSON`);
  await validateFails(dir, /follows\.jsonl:2: not valid JSON/);
  const { manifest, dataset } = await build(dir, { skipBadRows: true });
  assert.equal(manifest.counts.followEdges, rows.length);
  assert.equal(dataset.inputs.find((i) => i.kind === 'follows')?.rows, rows.length);
});

test('case 7: invalid UTF-8 and an unterminated quote are FILE:LINE: column X: reason, and skippable', async () => {
  const fol = lines('follows.csv');
  const text = Buffer.concat([
    Buffer.from(`${fol.slice(0, 30).join('\n')}\n`),
    Buffer.from([0x61, 0xff, 0xfe]),
    Buffer.from(`${fol[30].slice(fol[30].indexOf(','))}\n${fol.slice(31).join('\n')}\n"9,1,1700000000\n`),
  ]);
  const dir = dataDir(['engagements.csv'], { 'follows.csv': text });
  const file = join(dir, 'follows.csv');
  const e = await buildFails(dir, 'INPUT_BAD_ROW');
  assert.deepEqual(e.toString().split('\n'), [
    `${file}:31: column consumer_id: invalid UTF-8`,
    `${file}:${fol.length + 1}: column consumer_id: unterminated quote (the field runs to the end of the file; every later line is part of this bad row)`,
    '2 problems in total',
  ]);
  await validateFails(dir, /follows\.csv:31: column consumer_id: invalid UTF-8/);
  const { dataset } = await build(dir, { skipBadRows: true });
  assert.deepEqual(
    dataset.inputs.filter((i) => i.kind === 'follows').map((i) => [i.rows, i.skippedRows]),
    [[fol.length - 2, 2]],
  );
});

test('case 8: ids typed DOUBLE in Parquet or JSONL are the same users as integer ids; 1.5 is rejected', async () => {
  const dir = dataDir(['engagements.csv', 'items.csv', 'topic_follows.csv']);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(
    `COPY (SELECT CAST(consumer_id AS DOUBLE) AS consumer_id, CAST(producer_id AS DOUBLE) AS producer_id, ts FROM read_csv('${join(tiny, 'follows.csv')}', all_varchar=true)) TO '${join(dir, 'follows.parquet')}' (FORMAT parquet)`,
  );
  conn.closeSync();
  db.closeSync();
  const clean = await build(dataDir(['follows.csv', 'engagements.csv', 'items.csv', 'topic_follows.csv']));
  const typed = await build(dir);
  assert.equal(typed.manifest.counts.users, clean.manifest.counts.users);
  assert.equal(typed.manifest.counts.users, 400);
  assert.deepEqual(typed.dataset.users.idList().slice(0, 3), clean.dataset.users.idList().slice(0, 3));

  // JSONL: 0.0 and 0 are one user, as are 1e1 and 10; a fraction is a bad row.
  const rows = followsJsonl((s) => `${s}.0`);
  const jdir = dataDir(['engagements.csv'], { 'follows.jsonl': `${rows.join('\n')}\n` });
  const fromJsonl = await build(jdir);
  assert.equal(fromJsonl.manifest.counts.users, clean.manifest.counts.users);
  const bad = dataDir(['engagements.csv'], {
    'follows.jsonl': `${[...rows, '{"consumer_id":1.5,"producer_id":2}'].join('\n')}\n`,
  });
  const e = await buildFails(bad, 'INPUT_BAD_ROW');
  assert.equal(
    e.toString(),
    `${join(bad, 'follows.jsonl')}:${rows.length + 1}: column consumer_id: numeric id '1.5' is not a whole number (at most 2^53 in magnitude)`,
  );
  await validateFails(bad, /column consumer_id: numeric id '1\.5'/);
});

test('case 9: validate fails where build fails: header-only, empty, or only self-follows as the sole input', async () => {
  const headerOnly = dataDir([], { 'follows.csv': 'consumer_id,producer_id,ts\n' });
  let e = await buildFails(headerOnly, 'INPUT_EMPTY');
  assert.match(e.message, /follows\.csv has a header but no data rows/);
  await validateFails(headerOnly, /follows\.csv has a header but no data rows/);

  const empty = dataDir([], { 'engagements.csv': '' });
  e = await buildFails(empty, 'INPUT_EMPTY');
  assert.match(e.message, /engagements\.csv is empty/);
  await validateFails(empty, /engagements\.csv is empty/);

  const selfOnly = dataDir([], { 'follows.csv': 'consumer_id,producer_id\na,a\nb,b\n' });
  e = await buildFails(selfOnly, 'INPUT_EMPTY');
  assert.match(e.message, /follows\.csv has 2 rows, all self-follows/);
  await validateFails(selfOnly, /all self-follows/);
});

test('engagements without timestamps (a play-count dump) build, with no data time', async () => {
  const eng = lines('engagements.csv')
    .slice(1)
    .map((l) => {
      const [u, i] = l.split(',');
      return `${u},${i},${(Number(u) % 7) + 1}`;
    });
  const dir = dataDir([], { 'engagements.csv': `user_id,item_id,weight\n${eng.join('\n')}\n` });
  const { manifest, dataset } = await build(dir);
  assert.equal(manifest.dataTime, null);
  assert.equal(dataset.dataTime, null);
  assert.equal(manifest.counts.engagements, eng.length);
  assert.equal((await validateDataset(dir, { requireRelations: true })).ok, true);
});
