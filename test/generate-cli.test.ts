import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateCommand } from '../src/cli/generate.ts';
import { SimrecError } from '../src/core/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-generate-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * Runs the command with its stdout text captured. The test runner reports to its parent through stdout in
 * binary frames while a test awaits, so only strings are captured and everything else passes.
 */
async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: unknown, ...rest: unknown[]) => {
    if (typeof s !== 'string')
      return (write as (...a: unknown[]) => boolean).call(process.stdout, s, ...rest);
    out += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await generateCommand.run(argv), out };
  } finally {
    process.stdout.write = write;
  }
}

function configError(field: string, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof SimrecError, String(e));
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.detail.field, field);
    assert.match(e.message, message);
    return true;
  };
}

test('--help prints the usage with every preset and option', async () => {
  assert.equal(generateCommand.name, 'generate');
  const { code, out } = await run(['--help']);
  assert.equal(code, 0);
  assert.equal(out, generateCommand.help);
  assert.match(out, /^usage: simrec generate --preset tiny\|small\|social\|movies\|medium --out DIR/);
  for (const word of [
    'tiny',
    'small',
    'social',
    'movies',
    'medium',
    '--seed',
    '--scale',
    '--gzip',
    '--json',
  ]) {
    assert.ok(out.includes(word), word);
  }
});

test('unknown preset is CONFIG_INVALID naming --preset; other bad options name theirs', async () => {
  const out = join(root, 'never');
  await assert.rejects(run(['--preset', 'huge', '--out', out]), configError('preset', /--preset .*'huge'/));
  await assert.rejects(run(['--out', out]), configError('preset', /--preset is required/));
  await assert.rejects(run(['--preset', 'tiny']), configError('out', /--out is required/));
  await assert.rejects(run(['--preset', 'tiny', '--out', out, '--seed', 'x']), configError('seed', /--seed/));
  await assert.rejects(run(['--preset', 'tiny', '--out', out, '--seed=-3']), configError('seed', /--seed/));
  await assert.rejects(
    run(['--preset', 'tiny', '--out', out, '--scale', '0']),
    configError('scale', /--scale/),
  );
  await assert.rejects(
    run(['--preset', 'tiny', '--out', out, '--scale', 'big']),
    configError('scale', /--scale/),
  );
  await assert.rejects(
    run(['--preset', 'tiny', '--out', out, '--colour']),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && /colour/.test(e.message),
  );
  assert.ok(!existsSync(out), 'nothing written on bad options');
});

test('generate tiny: files written, summary printed; --json and --gzip', async () => {
  const dir = join(root, 'tiny');
  const { code, out } = await run(['--preset', 'tiny', '--out', dir, '--seed', '3']);
  assert.equal(code, 0);
  assert.match(out, /generated preset 'tiny' \(seed 3, scale 1\)/);
  assert.match(out, /follows\.csv\s+[\d,]+ rows/);
  assert.match(out, /rows\/s/);
  const json = JSON.parse(readFileSync(join(dir, 'generator.json'), 'utf8'));
  assert.equal(json.seed, 3);

  const gz = join(root, 'tiny-gz');
  const r = await run(['--preset', 'tiny', '--out', gz, '--scale', '0.5', '--gzip', '--json']);
  assert.equal(r.code, 0);
  const summary = JSON.parse(r.out);
  assert.equal(summary.seed, 1);
  assert.equal(summary.scale, 0.5);
  assert.equal(summary.params.users, 200);
  assert.equal(summary.rows['follows.csv.gz'], summary.counts.follows);
  assert.ok(existsSync(join(gz, 'truth/producer_community.csv.gz')));
});
