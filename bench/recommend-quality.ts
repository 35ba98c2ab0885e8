/**
 * `npm run bench -- recommend-quality [--skip-social] [--social-users 4000] [--seed 1]`: the two-stage recommender
 * against every single candidate source, on held-out engagements, through the serving path (issue 16).
 *
 * - ml-latest-small-split (the shared fixed split): the train pairs' own MovieLens rows (ratings.csv filtered to
 *   them, with their times, so the build's ranker stage runs; movies.csv beside), built with `--format movielens
 *   --min-rating 4`; evaluated on its test.csv.
 * - the social preset (seed 1), split by time: engagements, follows and items before the 80th percentile of the
 *   engagement times are the data built; the later engagements' (user, item) pairs are the test. A seeded sample
 *   of test users is evaluated (--social-users) to bound the run.
 *
 * Each dataset is built once through the CLI with the default config (MF on, the ranker stage on) plus one
 * strategy per single source (`only-<source>`: that source's default budget, every other 0, no ranker, so the
 * list is the source's own order) and `no-ranker` (every source fused by reciprocal rank, no ranker). Then
 * `simrec eval --artifacts --strategies ... --k 10,50` measures, per test user, the two-stage answer (default
 * strategy, explore 0), each strategy, and the routes' own families (SimClusters ANN, MF dense, popularity).
 * Prints Markdown tables with ratios against the best single source of the same run; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/prng.ts';
import type { RankerReport } from '../src/pipeline/ranker-stage.ts';
import { DEFAULT_STRATEGY, SOURCES, type SourceName } from '../src/recommend/strategy.ts';
import { openArtifactStore } from '../src/store/open.ts';
import { fmt, machine, type Row, table } from './lib.ts';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const DATASETS = resolve(repo, '../shared/datasets');
const CLI = join(repo, 'bin', 'simrec.js');

interface Report {
  models: Record<string, Record<string, number | null>>;
  counts: { evaluatedUsers: number; testPositives: number; coldTestPositives: number };
  served: { version: string; counts: Record<string, number>; notes: string[] };
}

function simrec(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/**
 * The build config: the defaults (MF is on by default since the recommend merge; said here again so a run on an
 * older default measures the same thing), a strategy per single source and one without the ranker.
 */
function buildConfig(sources: readonly SourceName[]): object {
  const strategies: Record<string, object> = { 'no-ranker': { ranker: false } };
  for (const s of sources) {
    const budgets: Record<string, number> = {};
    for (const o of SOURCES) budgets[o] = o === s ? DEFAULT_STRATEGY.budgets[s] : 0;
    strategies[`only-${s}`] = { ranker: false, budgets };
  }
  return { mf: { enabled: true }, recommend: { strategies } };
}

/** The build's ranker report (held-out AUC beside the sources' fusion, calibration), or why there is none. */
async function rankerSummary(art: string): Promise<string> {
  const store = openArtifactStore(art);
  try {
    const r = await store.openVersion();
    try {
      const x = (r.manifest.extra as { ranker?: RankerReport | { skipped?: string } }).ranker;
      if (!x || !('eval' in x))
        return `no ranker (${(x as { skipped?: string })?.skipped ?? 'stage absent'})`;
      return (
        `ranker (${x.split.kind} split, L2 ${x.l2.chosen}, scoring ${x.scoring}${x.fallback ? `: ${x.fallback}` : ''}): ` +
        `${x.train.examples} training examples (${x.train.positives} positive), held-out NDCG@${x.eval.lists.k} ` +
        `${fmt(x.eval.lists.ranker.ndcg, 4)} vs fusion ${fmt(x.eval.lists.fusion.ndcg, 4)}, held-out AUC ` +
        `${fmt(x.eval.auc, 3)} vs the sources' fusion ${fmt(x.eval.fusionAuc, 3)}, ECE ${fmt(x.eval.ece, 3)}, ` +
        `candidate recall ${fmt(x.candidateRecall.train, 3)} (train window) / ${fmt(x.candidateRecall.eval, 3)} (held out)`
      );
    } finally {
      await r.close();
    }
  } finally {
    await store.close();
  }
}

/** Builds `data` with `config` (plus extra CLI options), then evaluates every family on `test`. */
async function buildAndEval(
  name: string,
  work: string,
  data: string,
  test: string,
  extra: string[],
  sources: readonly SourceName[],
): Promise<{ rows: Row[]; summary: string }> {
  const art = join(work, `${name}-art`);
  const cfg = join(work, `${name}-config.json`);
  writeFileSync(cfg, JSON.stringify(buildConfig(sources)));
  const t0 = performance.now();
  simrec(['build', '--data', data, '--out', art, '--config', cfg, '--quiet', ...extra]);
  const buildSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const strategies = ['no-ranker', ...sources.map((s) => `only-${s}`)];
  const report = JSON.parse(
    simrec([
      'eval',
      '--artifacts',
      art,
      '--test',
      test,
      '--k',
      '10,50',
      '--strategies',
      strategies.join(','),
      '--json',
      '-',
    ]),
  ) as Report;
  const evalSeconds = (performance.now() - t1) / 1000;
  const ranker = await rankerSummary(art);
  const m = report.models;
  const label: Record<string, string> = {
    'two-stage': 'two-stage (default strategy: ranker)',
    'two-stage:no-ranker': 'two-stage, fusion only (no ranker)',
    'simclusters-ann': 'route: SimClusters ANN',
    mf: 'route: MF dense',
    popularity: 'route: popularity (version counts)',
  };
  for (const s of sources) label[`two-stage:only-${s}`] = `single source: ${s}`;
  const singles = Object.keys(m).filter((f) => f.startsWith('two-stage:only-') || !f.startsWith('two-stage'));
  const best = (metric: string) => {
    let b = { family: '', value: Number.NEGATIVE_INFINITY };
    for (const f of singles) {
      const v = m[f][metric] ?? Number.NaN;
      if (v > b.value) b = { family: f, value: v };
    }
    return b;
  };
  const bestP = best('precision@10');
  const bestN = best('ndcg@10');
  const rows: Row[] = [];
  for (const f of Object.keys(m)) {
    const x = m[f];
    rows.push({
      dataset: name,
      model: label[f] ?? f,
      'precision@10': fmt(x['precision@10'] ?? Number.NaN, 4),
      'recall@50': fmt(x['recall@50'] ?? Number.NaN, 4),
      'NDCG@10': fmt(x['ndcg@10'] ?? Number.NaN, 4),
      'P@10 × best single': fmt((x['precision@10'] ?? Number.NaN) / bestP.value, 2),
      'NDCG@10 × best single': fmt((x['ndcg@10'] ?? Number.NaN) / bestN.value, 2),
      'empty lists': x.empty_lists == null ? '' : fmt(x.empty_lists, 3),
    });
  }
  const two = m['two-stage'];
  const pr = (two['precision@10'] ?? Number.NaN) / bestP.value;
  const nr = (two['ndcg@10'] ?? Number.NaN) / bestN.value;
  const summary =
    `${name}: build ${fmt(buildSeconds, 1)} s, eval ${fmt(evalSeconds, 1)} s; ${report.counts.evaluatedUsers} test ` +
    `users, ${report.counts.testPositives} test positives (${report.counts.coldTestPositives} cold); ${ranker}; ` +
    `MF ${m.mf ? 'trained' : 'absent'}; best single source on P@10: ${label[bestP.family] ?? bestP.family}, ` +
    `on NDCG@10: ${label[bestN.family] ?? bestN.family}. Goal two-stage ≥ 1.05× best single: P@10 ` +
    `${fmt(pr, 3)}× (${pr >= 1.05 ? 'met' : 'not met'}), NDCG@10 ${fmt(nr, 3)}× (${nr >= 1.05 ? 'met' : 'not met'})` +
    (report.served.notes.length ? `\n  notes: ${report.served.notes.join('; ')}` : '');
  return { rows, summary };
}

/** ml-latest-small-split: the train pairs' MovieLens rows (as bench/real.ts builds them). */
function movieLensTrain(work: string): { data: string; test: string } | null {
  const split = join(DATASETS, 'ml-latest-small-split');
  const ml = join(DATASETS, 'ml-latest-small');
  if (!existsSync(join(split, 'train.csv')) || !existsSync(join(ml, 'ratings.csv'))) return null;
  const train = new Set(
    readFileSync(join(split, 'train.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim()),
  );
  const lines = readFileSync(join(ml, 'ratings.csv'), 'utf8').split(/\r?\n/);
  const out = [lines[0]];
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f.length >= 4 && train.has(`${f[0]},${f[1]}`)) out.push(l);
  }
  if (out.length - 1 !== train.size)
    throw new Error(`ratings.csv holds ${out.length - 1} of the ${train.size} train pairs`);
  const data = join(work, 'ml-train');
  mkdirSync(data);
  writeFileSync(join(data, 'ratings.csv'), `${out.join('\n')}\n`);
  copyFileSync(join(ml, 'movies.csv'), join(data, 'movies.csv'));
  return { data, test: join(split, 'test.csv') };
}

async function lines(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) out.push(l);
  return out;
}

/**
 * The social preset split by time: everything timed before the cut (the 80th percentile of engagement times)
 * is the data; the later engagements' distinct pairs of a seeded sample of users are the test.
 */
async function socialTimeSplit(
  work: string,
  seed: number,
  sampleUsers: number,
): Promise<{ data: string; test: string; cut: number; testUsers: number; allTestUsers: number }> {
  const gen = join(work, 'social-gen');
  simrec(['generate', '--preset', 'social', '--out', gen, '--seed', String(seed)]);
  const data = join(work, 'social-train');
  mkdirSync(data);
  const eng = await lines(join(gen, 'engagements.csv'));
  const header = eng[0].split(',');
  const tsCol = header.indexOf('ts');
  const ts = Float64Array.from(eng.slice(1).filter(Boolean), (l) => Number(l.split(',')[tsCol]));
  const sorted = ts.slice().sort();
  const cut = sorted[Math.floor(sorted.length * 0.8)];
  const train = [eng[0]];
  const later = new Map<string, Set<string>>();
  for (const l of eng.slice(1)) {
    if (!l) continue;
    const f = l.split(',');
    if (Number(f[tsCol]) < cut) train.push(l);
    else {
      const set = later.get(f[0]) ?? new Set<string>();
      set.add(f[1]);
      later.set(f[0], set);
    }
  }
  writeFileSync(join(data, 'engagements.csv'), `${train.join('\n')}\n`);
  // Follows and items as known at the cut; topic follows carry no time and are kept.
  for (const [file, col] of [
    ['follows.csv', 'ts'],
    ['items.csv', 'created_ts'],
  ] as const) {
    const all = await lines(join(gen, file));
    const c = all[0].split(',').indexOf(col);
    const kept = [all[0], ...all.slice(1).filter((l) => l && !(Number(l.split(',')[c]) >= cut))];
    writeFileSync(join(data, file), `${kept.join('\n')}\n`);
  }
  copyFileSync(join(gen, 'topic_follows.csv'), join(data, 'topic_follows.csv'));
  const users = [...later.keys()].sort();
  const order = new Rng(seed).permutation(users.length);
  const pick = Array.from(order.subarray(0, Math.min(sampleUsers, users.length)), (j) => users[j]);
  const test = ['user_id,item_id'];
  for (const u of pick) for (const i of later.get(u)!) test.push(`${u},${i}`);
  const testFile = join(work, 'social-test.csv');
  writeFileSync(testFile, `${test.join('\n')}\n`);
  return { data, test: testFile, cut, testUsers: pick.length, allTestUsers: users.length };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'skip-social': { type: 'boolean', default: false },
      'skip-movielens': { type: 'boolean', default: false },
      'social-users': { type: 'string', default: '4000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const seed = Number(values.seed);
  const work = mkdtempSync(join(tmpdir(), 'simrec-bench-recq-'));
  const started = new Date().toISOString();
  try {
    console.log(`machine: ${machine()}; started ${started}, load ${loadavg()[0].toFixed(1)}`);
    const rows: Row[] = [];
    const summaries: string[] = [];
    if (!values['skip-movielens']) {
      const ml = movieLensTrain(work);
      if (ml) {
        // No follows, authors or topics in MovieLens: producers and topics have nothing to serve.
        const r = await buildAndEval(
          'ml-latest-small-split',
          work,
          ml.data,
          ml.test,
          ['--format', 'movielens', '--min-rating', '4'],
          ['simclusters', 'item2item', 'dense', 'popular'],
        );
        rows.push(...r.rows);
        summaries.push(r.summary);
      } else console.log('ml-latest-small-split: not present, skipped');
    }
    if (!values['skip-social']) {
      const s = await socialTimeSplit(work, seed, Number(values['social-users']));
      const r = await buildAndEval(
        'social (time split)',
        work,
        s.data,
        s.test,
        ['--format', 'canonical'],
        SOURCES,
      );
      rows.push(...r.rows);
      summaries.push(
        `${r.summary}\n  social preset seed ${seed}, cut at ts ${s.cut} (80th percentile of engagement times); ` +
          `${s.testUsers} of ${s.allTestUsers} users with later engagements sampled`,
      );
    }
    console.log(`\n${summaries.join('\n')}\n\nload at the end ${loadavg()[0].toFixed(1)}\n\n${table(rows)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
