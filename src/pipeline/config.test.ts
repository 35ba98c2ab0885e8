import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TSchema } from 'typebox';
import { SimrecError } from '../core/errors.ts';
import { BuildConfigSchema, resolveBuildConfig } from './config.ts';

function keyPaths(schema: TSchema, prefix = ''): string[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props) return [prefix];
  return Object.entries(props).flatMap(([k, s]) => keyPaths(s, prefix ? `${prefix}.${k}` : k));
}

test('docs/config.md documents every configuration key', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([\w.]+)` \|/gm)].map((m) => m[1]));
  const keys = keyPaths(BuildConfigSchema);
  assert.ok(keys.length > 40);
  assert.deepEqual(
    keys.filter((k) => !documented.has(k)),
    [],
  );
  assert.deepEqual(
    [...documented].filter((k) => !keys.includes(k)),
    [],
  );
});

test('stage sections accept overrides of the right type and reject unknown keys and wrong types by name', () => {
  const c = resolveBuildConfig(undefined, {
    simclusters: { knownFor: { k: 12, initNeighbors: 'all' }, itemEmbeddings: { halfLifeHours: null } },
  });
  assert.equal(c.simclusters.knownFor?.k, 12);
  assert.equal(c.simclusters.itemEmbeddings?.halfLifeHours, null);
  const bad = (over: Record<string, unknown>, field: string) =>
    assert.throws(
      () => resolveBuildConfig(undefined, over),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field,
    );
  bad({ simclusters: { knownFor: { alpah: 3 } } }, 'simclusters.knownFor.alpah');
  bad({ simclusters: { similarity: { minFollowers: 'ten' } } }, 'simclusters.similarity.minFollowers');
  bad({ threads: 0 }, 'threads');
});
