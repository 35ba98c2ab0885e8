/**
 * `simrec eval` end to end on small files: a given split and a dataset directory, the JSON and HTML outputs,
 * rendering a saved report, and the option errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evalCommand, runEval } from '../src/cli/eval.ts';
import { Rng } from '../src/core/prng.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-eval-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs the command with stdout and stderr captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runEval(args, {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
  });
  return { code, out, err };
}

// 40 users, 30 items; user u likes items near u mod 30 (a popularity skew plus some structure).
const dataDir = join(root, 'data');
mkdirSync(dataDir);
const rng = new Rng(3);
const rows = ['user_id,item_id,weight,ts'];
for (let u = 0; u < 40; u++) {
  for (let j = 0; j < 8; j++) {
    const item = rng.next() < 0.5 ? rng.int(6) : (u + rng.int(5)) % 30;
    rows.push(`user${u},item${item},1,${1000 + u * 10 + j}`);
  }
}
writeFileSync(join(dataDir, 'engagements.csv'), `${rows.join('\n')}\n`);
writeFileSync(join(dataDir, 'items.csv'), 'item_id,tags\nitem1,a\nitem2,a|b\n');

test('a dataset directory: table on stdout, JSON with one key per k, an HTML page', async () => {
  const json = join(root, 'r.json');
  const html = join(root, 'r.html');
  const { code, out } = await run([
    '--data',
    dataDir,
    '--split',
    'user',
    '--models',
    'popularity,random',
    '--k',
    '1,3,10',
    '--sampled',
    '20',
    '--seed',
    '5',
    '--json',
    json,
    '--html',
    html,
  ]);
  assert.equal(code, 0);
  assert.match(out, /^dataset: data {3}split: user/);
  assert.match(out, /precision@3 /);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(report.dataset, 'data');
  assert.equal(report.split, 'user');
  assert.deepEqual(Object.keys(report.models), ['popularity', 'random']);
  for (const key of [
    'precision@1',
    'recall@10',
    'ndcg@3',
    'map@10',
    'auc',
    'coverage@10',
    'train_seconds',
    'sampled_auc',
  ])
    assert.equal(typeof report.models.popularity[key], 'number', key);
  assert.ok(report.models.popularity.auc > report.models.random.auc);
  assert.equal(report.protocol.seed, 5);
  assert.deepEqual(report.protocol.ks, [1, 3, 10]);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<svg/);
  // The same report rendered again from its JSON gives the same page.
  const again = join(root, 'again.html');
  assert.equal((await run(['--from-json', json, '--html', again])).code, 0);
  assert.equal(readFileSync(again, 'utf8'), page);
});

test('a given split with --json - prints only the JSON', async () => {
  writeFileSync(join(root, 'train.csv'), 'user_id,item_id\na,1\na,2\nb,1\nc,3\n');
  writeFileSync(join(root, 'test.csv'), 'user_id,item_id\na,3\nb,2\n');
  const { code, out } = await run([
    '--train',
    join(root, 'train.csv'),
    '--test',
    join(root, 'test.csv'),
    '--models',
    'popularity',
    '--json',
    '-',
  ]);
  assert.equal(code, 0);
  const report = JSON.parse(out);
  assert.equal(report.split, 'given');
  // a ranks 3 (count 1) first; b ranks 2 (count 1) before 3 (count 1) by index: both hit at 1.
  assert.equal(report.models.popularity['precision@5'], 1 / 5);
  assert.equal(report.models.popularity['recall@5'], 1);
  assert.equal(report.counts.evaluatedUsers, 2);
});

test('the command is named eval and documents every option it parses', () => {
  assert.equal(evalCommand.name, 'eval');
  for (const opt of [
    '--data',
    '--split',
    '--train',
    '--test',
    '--item-features',
    '--models',
    '--k',
    '--epochs',
    '--dim',
    '--threads',
    '--seed',
    '--min-rating',
    '--sampled',
    '--json',
    '--html',
    '--from-json',
    '--drop-overlap',
    '--split-time',
    '--test-fraction',
    '--format',
    '--skip-bad-rows',
  ])
    assert.ok(evalCommand.help.includes(opt), opt);
});

test('option errors are CONFIG_INVALID and name the option', async () => {
  const cases: [string[], RegExp][] = [
    [['--models', 'popularity'], /--data DIR or --train/],
    [['--data', dataDir, '--train', 'x'], /either --data or --train/],
    [['--data', dataDir, '--models', 'nope'], /unknown model 'nope'/],
    [['--data', dataDir, '--split', 'weird'], /--split must be one of/],
    [['--data', dataDir, '--k', '0'], /positive integers/],
    [['--data', dataDir, '--item-features', 'x'], /goes with --train/],
    [['--train', 'a.csv'], /--train and --test go together/],
    [['--train', 'a.csv', '--test', 'b.csv', '--split', 'loo'], /does not apply/],
    [['--from-json', 'r.json'], /needs --html/],
    [['--data', dataDir, '--split-time', 'yesterday', '--split', 'temporal'], /Unix seconds or ISO/],
  ];
  for (const [args, message] of cases)
    await assert.rejects(run(args), { code: 'CONFIG_INVALID', message }, args.join(' '));
  const notJson = join(root, 'not.json');
  writeFileSync(notJson, '{"a": 1}');
  await assert.rejects(run(['--from-json', notJson, '--html', join(root, 'x.html')]), {
    code: 'INPUT_FORMAT',
  });
});

test('--artifacts evaluates a built version through the serving path; split-only options are refused', async () => {
  const { runBuild } = await import('../src/pipeline/build.ts');
  const { resolveBuildConfig } = await import('../src/pipeline/config.ts');
  const art = join(root, 'served-art');
  await runBuild({
    data: dataDir,
    out: art,
    config: resolveBuildConfig(undefined, { threads: 1, mf: { enabled: false } }),
  });
  const testFile = join(root, 'served-test.csv');
  writeFileSync(testFile, 'user_id,item_id\nuser1,item20\nuser2,item21\nuser3,item3\nstranger,item1\n');
  const r = await run(['--artifacts', art, '--test', testFile, '--k', '5', '--json', '-']);
  assert.equal(r.code, 0);
  const report = JSON.parse(r.out);
  // Built without MF: two-stage, SimClusters ANN and the popularity floor.
  assert.deepEqual(Object.keys(report.models), ['two-stage', 'simclusters-ann', 'popularity']);
  assert.equal(report.models['two-stage'].users, report.counts.evaluatedUsers);
  assert.equal(report.served.absent.mf, 'no MF item vectors (built with mf.enabled false)');
  assert.ok(
    report.served.notes.includes(
      `1 test user(s) unknown to version ${report.served.version} left out (1 test pair(s))`,
    ),
  );
  assert.equal(report.models.popularity.users, report.counts.evaluatedUsers);
  assert.equal(report.models['simclusters-ann'].auc, null);
  await assert.rejects(() => run(['--artifacts', art, '--test', testFile, '--models', 'mf-warp']), {
    code: 'CONFIG_INVALID',
    detail: { field: 'models' },
  });
  await assert.rejects(() => run(['--artifacts', art, '--test', testFile, '--strategies', 'nope']), {
    code: 'CONFIG_INVALID',
    detail: { field: 'strategies' },
  });
  await assert.rejects(() => run(['--data', dataDir, '--strategies', 'default']), {
    code: 'CONFIG_INVALID',
    detail: { field: 'strategies' },
  });
  await assert.rejects(() => run(['--artifacts', art]), {
    code: 'CONFIG_INVALID',
    detail: { field: 'test' },
  });
  await assert.rejects(() => run(['--artifacts', join(root, 'nothing-here'), '--test', testFile]), {
    code: 'ARTIFACT_MISSING',
  });
});
