import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CODE_VERSION } from '../core/version.ts';
import { buildManifest, describeInput, parseManifest, validateManifestFields } from './manifest.ts';
import type { EntryRecord } from './store.ts';

const ID = '20261124T153301.007Z-abcdef';
const entry = (key: string, bytes: number, rowKeys?: number): EntryRecord => ({
  key,
  kind: rowKeys === undefined ? 'json' : 'sparse-rows',
  bytes,
  sha256: '0'.repeat(64),
  shape: [1],
  ...(rowKeys === undefined ? {} : { rowKeys }),
});

test('buildManifest sorts entries, totals keys and bytes, and defaults what the build left out', () => {
  const m = buildManifest(ID, new Date(0), {}, [entry('b', 10), entry('a', 5, 3)], new Date(1000));
  assert.deepEqual(
    m.entries.map((e) => e.key),
    ['a', 'b'],
  );
  assert.deepEqual(m.totals, { entries: 2, keys: 5, bytes: 15 });
  assert.deepEqual(
    [m.seed, m.config, m.inputs, m.counts, m.stages, m.timings, m.extra],
    [null, null, [], {}, [], {}, {}],
  );
  assert.equal(m.codeVersion, CODE_VERSION);
  assert.equal(m.createdAt, '1970-01-01T00:00:00.000Z');
  assert.equal(m.committedAt, '1970-01-01T00:00:01.000Z');
  assert.deepEqual(parseManifest(JSON.stringify(m), ID), m);
});

test('validateManifestFields names the bad field', () => {
  const bad: [unknown, string][] = [
    [{ seed: 'x' }, 'seed'],
    [{ inputs: [{ kind: 'a', path: 'p', bytes: -1, sha256: 'f'.repeat(64), rows: null }] }, 'inputs'],
    [{ counts: { a: Number.NaN } }, 'counts'],
    [{ stages: [1] }, 'stages'],
    [{ timings: { a: -0.5 } }, 'timings'],
    [{ extra: [] }, 'extra'],
  ];
  for (const [fields, field] of bad)
    assert.throws(() => validateManifestFields(fields as never), {
      code: 'CONFIG_INVALID',
      detail: { field },
    });
  validateManifestFields({ seed: null, counts: { a: 1 }, timings: { a: 0 } });
});

test('parseManifest refuses anything that does not describe this version', () => {
  const good = buildManifest(ID, new Date(0), { seed: 1 }, [entry('a', 1)]);
  const variants: unknown[] = [
    '{',
    '[]',
    { ...good, format: 2 },
    { ...good, id: '20261124T153301.007Z-000000' },
    { ...good, seed: 0.5 },
    { ...good, entries: [{ ...good.entries[0], kind: 'weird' }] },
    { ...good, entries: [good.entries[0], good.entries[0]], totals: { ...good.totals, entries: 2 } },
    { ...good, totals: { ...good.totals, entries: 9 } },
  ];
  for (const v of variants)
    assert.throws(() => parseManifest(typeof v === 'string' ? v : JSON.stringify(v), ID, 'm.json'), {
      code: 'ARTIFACT_CORRUPT',
      detail: { file: 'm.json' },
    });
});

test('describeInput records size and SHA-256 of a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-manifest-'));
  try {
    const path = join(dir, 'in.csv');
    writeFileSync(path, 'abc');
    assert.deepEqual(await describeInput('edges', path, 1), {
      kind: 'edges',
      path,
      bytes: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      rows: 1,
    });
    await assert.rejects(describeInput('edges', join(dir, 'missing.csv')), { code: 'INPUT_MISSING' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
