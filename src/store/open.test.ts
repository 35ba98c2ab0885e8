import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SimrecError } from '../core/errors.ts';
import { localStoreDirectory, openArtifactStore } from './open.ts';

test('a directory path or file:// URL opens an LMDB store at that directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-open-'));
  try {
    const byPath = openArtifactStore(dir);
    const byUrl = openArtifactStore(pathToFileURL(join(dir, 'sub dir')).href);
    assert.equal(byPath.location, dir);
    assert.equal(byUrl.location, join(dir, 'sub dir'));
    assert.equal(await byPath.currentVersionId(), null);
    await byPath.close();
    await byUrl.close();
    assert.equal(localStoreDirectory('rel/art'), resolve('rel/art'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('redis:// is refused as not available yet, naming the location and the field, password hidden', () => {
  assert.throws(
    () => openArtifactStore('redis://:s3cret@cache:6379/0', { field: 'artifacts' }),
    (e: unknown) =>
      e instanceof SimrecError &&
      e.code === 'CONFIG_INVALID' &&
      e.message.includes('redis://:***@cache:6379/0') &&
      e.message.includes('not available yet') &&
      !e.message.includes('s3cret') &&
      e.detail.field === 'artifacts',
  );
});

test('an unknown scheme and an empty location are CONFIG_INVALID', () => {
  for (const [location, words] of [
    ['s3://bucket/art', "unknown scheme 's3://'"],
    ['  ', 'empty'],
  ] as const)
    assert.throws(
      () => openArtifactStore(location),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.message.includes(words),
    );
});
