#!/usr/bin/env node
// Node 20's test runner does not expand globs, so collect the test files here and hand them over.
// Usage: node scripts/run-tests.mjs [dir ...]   (default: src test)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules') collect(p, out);
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['src', 'test'];
const files = dirs
  .filter((d) => existsSync(d))
  .flatMap((d) => collect(d, []))
  .sort();
if (files.length === 0) {
  console.error('no test files found under', dirs.join(', '));
  process.exit(1);
}
const concurrency = process.env.SIMREC_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
