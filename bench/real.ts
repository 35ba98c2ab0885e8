/**
 * `npm run bench -- real [--skip-social] [--keep DIR]`: what is served, on real data, built as a user builds it.
 *
 * - ml-latest-small-split (the shared fixed split): the train pairs' own MovieLens rows (ratings.csv filtered to
 *   them, movies.csv beside) are built with `simrec build --format movielens --min-rating 4` and the defaults, then
 *   `simrec eval --artifacts` measures every family the version holds on test.csv (the two-stage recommender,
 *   SimClusters ANN, MF, popularity).
 * - FilmTrust and CiaoDVD: ratings as engagements (weight = rating, CiaoDVD's date as ts), the trust file as
 *   follows (trustor → trustee), split 80/20 per user with a fixed seed; the same build and evaluation.
 *
 * The default build includes MF; should a default version hold no MF, a second build with `mf.enabled: true` and
 * nothing else changed gives the MF column, and the table says so. Both are run through the CLI (child
 * processes), exactly as documented for users. Prints Markdown tables for BENCHMARKS.md; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYS } from '../src/artifacts/keys.ts';
import { Rng } from '../src/core/prng.ts';
import { openArtifactStore } from '../src/store/open.ts';
import { fmt, machine, type Row, table } from './lib.ts';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const DATASETS = resolve(repo, '../shared/datasets');
const CLI = join(repo, 'bin', 'simrec.js');
const SEED = 42;

interface Report {
  models: Record<string, Record<string, number | null>>;
  counts: { evaluatedUsers: number; testPositives: number; coldTestPositives: number };
  served: { version: string; counts: Record<string, number>; notes: string[] };
}

function simrec(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** KnownFor clusters with at least one member, and the largest one's size. */
async function clusterSizes(art: string): Promise<{ nonEmpty: number; largest: number }> {
  const store = openArtifactStore(art);
  const r = await store.openVersion();
  try {
    if (!r.has(KEYS.knownForCluster)) return { nonEmpty: 0, largest: 0 };
    const cluster = await r.typedArray(KEYS.knownForCluster, 'int32');
    const sizes = new Map<number, number>();
    for (const c of cluster) if (c >= 0) sizes.set(c, (sizes.get(c) ?? 0) + 1);
    return { nonEmpty: sizes.size, largest: Math.max(0, ...sizes.values()) };
  } finally {
    await r.close();
    await store.close();
  }
}

/** Builds `data` with the defaults (plus `extra` CLI options), evaluates on `test`, and, if needed, MF. */
async function buildAndEval(
  name: string,
  work: string,
  data: string,
  test: string,
  extra: string[],
): Promise<Row[]> {
  const art = join(work, `${name}-art`);
  const t0 = performance.now();
  simrec(['build', '--data', data, '--out', art, ...extra]);
  const buildSeconds = (performance.now() - t0) / 1000;
  const report = JSON.parse(simrec(['eval', '--artifacts', art, '--test', test, '--json', '-'])) as Report;
  const notes: string[] = [...report.served.notes];
  let mf = report.models.mf;
  if (!mf) {
    const cfg = join(work, 'mf.yaml');
    writeFileSync(cfg, 'mf:\n  enabled: true\n');
    const artMf = join(work, `${name}-art-mf`);
    simrec(['build', '--data', data, '--out', artMf, ...extra, '--config', cfg]);
    const r2 = JSON.parse(simrec(['eval', '--artifacts', artMf, '--test', test, '--json', '-'])) as Report;
    mf = r2.models.mf;
    notes.push(
      'MF absent from the default build: its column is a second build with mf.enabled: true, all else default',
    );
  }
  const sizes = await clusterSizes(art);
  const c = report.served.counts;
  const rows: Row[] = [];
  const pop = report.models.popularity;
  const families: [string, Record<string, number | null> | undefined][] = [
    ['two-stage (recommendations)', report.models['two-stage']],
    ['SimClusters ANN', report.models['simclusters-ann']],
    ['MF', mf],
    ['popularity', pop],
  ];
  const p10 = (m: Record<string, number | null> | undefined) =>
    m ? (m['precision@10'] ?? Number.NaN) : Number.NaN;
  for (const [family, m] of families) {
    if (!m) continue;
    rows.push({
      dataset: name,
      family,
      'precision@10': fmt(p10(m), 4),
      'recall@10': fmt(m['recall@10'] ?? Number.NaN, 4),
      'NDCG@10': fmt(m['ndcg@10'] ?? Number.NaN, 4),
      '× popularity': fmt(p10(m) / p10(pop), 2),
      '× MF': fmt(p10(m) / p10(mf), 2),
      'tied top-10': m['tied_top@10'] == null ? '' : fmt(m['tied_top@10'], 3),
      'empty lists': m.empty_lists == null ? '' : fmt(m.empty_lists, 3),
      users: m.users == null ? '' : String(m.users),
    });
  }
  console.log(
    `${name}: build ${fmt(buildSeconds, 1)} s; clusters k ${c.clusters ?? 0}, ${sizes.nonEmpty} non-empty ` +
      `(largest ${sizes.largest} producers), producers with KnownFor ${c.producersWithKnownFor ?? 0} of ` +
      `${c.simclustersProducers ?? 0}; users with InterestedIn ${c.usersWithInterestedIn ?? 0}, items with an ` +
      `embedding ${c.itemsWithEmbedding ?? 0}; test: ${report.counts.evaluatedUsers} users, ` +
      `${report.counts.testPositives} positives (${report.counts.coldTestPositives} cold)` +
      (notes.length ? `\n  notes: ${notes.join('; ')}` : ''),
  );
  return rows;
}

/** ml-latest-small-split: the train pairs' MovieLens rows, built as MovieLens with --min-rating 4. */
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

interface Rating {
  user: string;
  item: string;
  weight: string;
  ts: string | null;
}

/**
 * A trust network with ratings as canonical input, split 80/20 per user (distinct pairs, the last rating of a
 * repeated pair kept; each user's pairs shuffled with a fixed seed, round(20%) held out).
 */
function socialSplit(
  work: string,
  name: string,
  ratings: Rating[],
  trust: [string, string][],
): { data: string; test: string } {
  const byPair = new Map<string, Rating>();
  for (const r of ratings) byPair.set(`${r.user}\u0000${r.item}`, r);
  const byUser = new Map<string, Rating[]>();
  for (const r of byPair.values()) {
    const list = byUser.get(r.user) ?? [];
    list.push(r);
    byUser.set(r.user, list);
  }
  const rng = new Rng(SEED);
  const train: Rating[] = [];
  const test: Rating[] = [];
  for (const [, list] of [...byUser].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    for (let j = list.length - 1; j > 0; j--) {
      const k = rng.int(j + 1);
      [list[j], list[k]] = [list[k], list[j]];
    }
    const nTest = Math.round(list.length * 0.2);
    test.push(...list.slice(0, nTest));
    train.push(...list.slice(nTest));
  }
  const data = join(work, name);
  mkdirSync(data);
  const timed = train.every((r) => r.ts !== null);
  writeFileSync(
    join(data, 'engagements.csv'),
    `${[timed ? 'user_id,item_id,weight,ts' : 'user_id,item_id,weight', ...train.map((r) => (timed ? `${r.user},${r.item},${r.weight},${r.ts}` : `${r.user},${r.item},${r.weight}`))].join('\n')}\n`,
  );
  writeFileSync(
    join(data, 'follows.csv'),
    `${['consumer_id,producer_id', ...trust.map(([a, b]) => `${a},${b}`)].join('\n')}\n`,
  );
  const testFile = join(work, `${name}-test.csv`);
  writeFileSync(testFile, `${['user_id,item_id', ...test.map((r) => `${r.user},${r.item}`)].join('\n')}\n`);
  return { data, test: testFile };
}

function filmTrust(work: string): { data: string; test: string } | null {
  const dir = join(DATASETS, 'filmtrust');
  if (!existsSync(join(dir, 'ratings.txt'))) return null;
  const rows = (f: string) =>
    readFileSync(join(dir, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
  const ratings = rows('ratings.txt').map(([user, item, weight]) => ({ user, item, weight, ts: null }));
  const trust = rows('trust.txt').map(([a, b]) => [a, b] as [string, string]);
  return socialSplit(work, 'filmtrust', ratings, trust);
}

function ciaoDvd(work: string): { data: string; test: string } | null {
  const dir = join(DATASETS, 'ciaodvd');
  if (!existsSync(join(dir, 'movie-ratings.txt'))) return null;
  const rows = (f: string) =>
    readFileSync(join(dir, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(','));
  const ratings = rows('movie-ratings.txt').map(([user, item, , , weight, date]) => ({
    user,
    item,
    weight,
    ts: String(Date.parse(`${date}T00:00:00Z`) / 1000),
  }));
  const trust = rows('trusts.txt').map(([a, b]) => [a, b] as [string, string]);
  return socialSplit(work, 'ciaodvd', ratings, trust);
}

export async function run(argv: string[]): Promise<void> {
  // --keep DIR builds into DIR and leaves the versions and test files there, to evaluate them again.
  const keepAt = argv.indexOf('--keep');
  const keep = keepAt >= 0 ? resolve(argv[keepAt + 1] ?? '') : null;
  if (keep) mkdirSync(keep, { recursive: true });
  const work = keep ?? mkdtempSync(join(tmpdir(), 'simrec-bench-real-'));
  try {
    console.log(`machine: ${machine()}`);
    const rows: Row[] = [];
    const ml = movieLensTrain(work);
    if (ml)
      rows.push(
        ...(await buildAndEval('ml-latest-small-split', work, ml.data, ml.test, [
          '--format',
          'movielens',
          '--min-rating',
          '4',
        ])),
      );
    else console.log('ml-latest-small-split: not present, skipped');
    if (!argv.includes('--skip-social')) {
      for (const [name, prepare] of [
        ['filmtrust', filmTrust],
        ['ciaodvd', ciaoDvd],
      ] as const) {
        const d = prepare(work);
        if (d) rows.push(...(await buildAndEval(name, work, d.data, d.test, ['--format', 'canonical'])));
        else console.log(`${name}: not present, skipped`);
      }
    }
    console.log(`\n${table(rows)}`);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}
