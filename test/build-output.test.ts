/**
 * Issue 13 case 10 at the command line: an unusable --out is a coded error, printed without a stack trace,
 * raised before the inputs are read; the previous version stays current.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));

test('simrec build --out FILE: ARTIFACT_IO naming the path, no stack trace, before the ingest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-build-out-'));
  try {
    const data = join(dir, 'data');
    const out = join(dir, 'artifacts');
    writeFileSync(out, 'not a directory');
    // the data directory does not even exist: the output is checked first
    const r = spawnSync(process.execPath, ['bin/simrec.js', 'build', '--data', data, '--out', out], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /ARTIFACT_IO/);
    assert.match(r.stderr, new RegExp(`${out} exists but is not a directory`));
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(r.stderr, /INPUT_MISSING/);
    assert.deepEqual(readdirSync(dir).sort(), ['artifacts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
