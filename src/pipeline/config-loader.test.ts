import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Type from 'typebox';
import { SimrecError } from '../core/errors.ts';
import { readConfigFile, validateConfig } from './config-loader.ts';

const Schema = Type.Object(
  {
    seed: Type.Integer({ default: 1 }),
    knownFor: Type.Object(
      {
        alpha: Type.Number({ default: 10, minimum: 0 }),
        maxEpochs: Type.Integer({ default: 5, minimum: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

function rejects(value: unknown, field: string, pattern: RegExp): void {
  assert.throws(
    () => validateConfig(Schema, value),
    (e: unknown) =>
      e instanceof SimrecError &&
      e.code === 'CONFIG_INVALID' &&
      e.detail.field === field &&
      pattern.test(e.message),
  );
}

test('defaults are filled in, nested too', () => {
  assert.deepEqual(validateConfig(Schema, {}), { seed: 1, knownFor: { alpha: 10, maxEpochs: 5 } });
  assert.deepEqual(validateConfig(Schema, { knownFor: { alpha: 3 } }), {
    seed: 1,
    knownFor: { alpha: 3, maxEpochs: 5 },
  });
});

test('an unknown key is an error naming it by its dotted path', () => {
  rejects({ knownFor: { alpah: 3 } }, 'knownFor.alpah', /unknown key 'knownFor\.alpah'/);
  rejects({ sed: 3 }, 'sed', /unknown key 'sed'/);
});

test('a wrong type or out-of-range value is an error naming the key', () => {
  rejects({ knownFor: { alpha: 'ten' } }, 'knownFor.alpha', /'knownFor\.alpha' must be number/);
  rejects({ knownFor: { maxEpochs: 0 } }, 'knownFor.maxEpochs', /'knownFor\.maxEpochs' must be >= 1/);
});

test('JSON and YAML files read alike; a broken file is CONFIG_INVALID', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-config-'));
  writeFileSync(join(dir, 'a.json'), '{"knownFor": {"alpha": 2}}');
  writeFileSync(join(dir, 'a.yaml'), 'knownFor:\n  alpha: 2\n');
  writeFileSync(join(dir, 'bad.json'), '{"knownFor": ');
  assert.deepEqual(readConfigFile(join(dir, 'a.json')), readConfigFile(join(dir, 'a.yaml')));
  assert.throws(
    () => readConfigFile(join(dir, 'bad.json')),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID',
  );
  assert.throws(
    () => readConfigFile(join(dir, 'none.json')),
    (e: unknown) => e instanceof SimrecError && e.code === 'INPUT_MISSING',
  );
});
