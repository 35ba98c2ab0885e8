import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, SimrecError } from './errors.ts';

test('docs/errors.md documents exactly the declared error codes', () => {
  // The first table: the HTTP section below it is checked by serve/errors.test.ts.
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').split(
    '\n## Over HTTP',
  )[0];
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.keys(ERROR_CODES).sort());
});

test('toString renders FILE:LINE: column X: reason', () => {
  const e = new SimrecError('INPUT_BAD_ROW', 'non-numeric weight "abc"', {
    file: 'engagements.csv',
    line: 7,
    column: 'weight',
  });
  assert.equal(e.toString(), 'engagements.csv:7: column weight: non-numeric weight "abc"');
  assert.equal(new SimrecError('CONFIG_INVALID', 'bad').toString(), 'bad');
});
