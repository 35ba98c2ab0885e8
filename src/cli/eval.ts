/**
 * `simrec eval`: offline evaluation (DESIGN §8). Several models are fitted on one split and measured side by side
 * over the full catalogue; the result is printed as a table and optionally written as JSON and as an HTML page.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SimrecError } from '../core/errors.ts';
import { findInputs } from '../data/inputs.ts';
import { detectMovieLens } from '../data/movielens.ts';
import { type EvalReport, evaluateModels } from '../eval/evaluate.ts';
import { type DatasetSplit, type LoadedEval, loadDatasetEval, loadFilesEval } from '../eval/load.ts';
import { createModels, MODEL_FACTORIES, modelNames } from '../eval/models.ts';
import { renderHtml, renderTable } from '../eval/report.ts';
import { evaluateServed, readTestPairs } from '../eval/served.ts';
import { SPLIT_KINDS } from '../eval/splits.ts';
import { ServingModel } from '../query/serving-model.ts';
import { openArtifactStore } from '../store/open.ts';
import { type Command, intOption, numberOption, parseOptions } from './command.ts';
import { createReporter } from './progress.ts';

const DATASET_SPLITS: readonly DatasetSplit[] = [...SPLIT_KINDS, 'ua', 'ub'];
/** The default line-up: every registered model of these, in this order. */
const DEFAULT_MODELS = ['popularity', 'simclusters', 'mf-warp'];

const HELP = `usage: simrec eval (--data DIR [--format F] [--split S] | --train FILE --test FILE [--item-features FILE])
                   [--models a,b,...] [--k 5,10] [--epochs 30] [--dim 64] [--threads 2] [--seed 42]
                   [--min-rating R] [--sampled N] [--json FILE] [--html FILE]
       simrec eval --artifacts LOC --test FILE [--version ID] [--strategies a,b] [--k 5,10] [--json FILE] [--html FILE]
       simrec eval --from-json REPORT.json --html FILE

Fits each model on the train positives and measures it on the test positives over the full catalogue
(every item with a positive in train or test), each user's train positives excluded from their ranking,
metrics averaged over users with at least one test positive (LightFM's protocol, so figures compare).

data:
  --data DIR            input directory (canonical files or MovieLens), split here
  --format F            canonical, movielens or auto (default auto)
  --split S             random (per interaction, default), user (per-user holdout), temporal, loo
                        (leave-one-out, latest per user), or ua / ub (ml-100k's own splits)
  --test-fraction F     share held out by random / user / temporal (default 0.2)
  --split-time T        temporal: the cut, Unix seconds or ISO-8601 (default: from --test-fraction)
  --min-rating R        ratings (MovieLens) or weights (canonical, --train/--test) below R are not
                        positives (default 4 for MovieLens, 0 otherwise)
  --train FILE          a caller-given split: train positives, user_id,item_id[,weight][,ts][,action]
  --test FILE           ... and test positives, same layout; evaluated exactly as given
  --item-features FILE  item features for --train/--test: MovieLens movies.csv or movies.dat (ml-1m,
                        ml-10m), ml-100k u.item, or a file with item_id and tags (separated by |)
  --drop-overlap        drop test pairs also present in train (default: refuse such a split)
  --skip-bad-rows       report bad input rows and skip them

models and protocol:
  --models LIST         comma-separated, from: ${modelNames().join(', ')}
                        (default: ${DEFAULT_MODELS.join(', ')}, those available)
  --k LIST              cut-offs, comma-separated (default 5,10)
  --epochs N            training epochs of iterative models (default 30)
  --dim N               embedding dimension of latent-factor models (default 64)
  --threads N           training threads (default 2)
  --seed N              seed of the split, the models and the sampled negatives (default 42)
  --sampled N           also rank each test positive against N sampled negatives (e.g. 100)
  --config FILE         build config (docs/config.md) of the simclusters model, which is built on the train
                        positives by simrec build's own stages and answered by the server's ANN query

a built version, through the serving path:
  --artifacts LOC       evaluate the current version of LOC (or --version ID) on --test FILE (user_id,item_id):
                        every family it holds side by side, each answering as simrec serve does: two-stage
                        (GET /v1/users/:userId/recommendations, default strategy, explore=0), SimClusters ANN
                        (POST /v1/candidates/simclusters, default parameters), MF (POST /v1/candidates/dense)
                        and popularity; the users' engaged items are their train positives. Test users the
                        version does not know, and test pairs already engaged with, are left out and counted
  --version ID          with --artifacts: a version other than the current one
  --strategies LIST     with --artifacts: strategies of the version's build config measured beside the
                        default, each as the family two-stage:NAME

output:
  --json FILE           write the report as JSON ('-' for stdout, which then gets no table)
  --html FILE           write a self-contained HTML page with the table and metric@k charts
  --from-json FILE      render a report written by --json (with --html) instead of evaluating
`;

function listOption(values: Record<string, unknown>, name: string): string[] | null {
  const v = values[name];
  if (typeof v !== 'string') return null;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new SimrecError('CONFIG_INVALID', `--${name} is empty`, { field: name });
  return items;
}

function parseKs(values: Record<string, unknown>): number[] {
  const list = listOption(values, 'k') ?? ['5', '10'];
  return list.map((s) => {
    const k = Number(s);
    if (!Number.isInteger(k) || k < 1)
      throw new SimrecError('CONFIG_INVALID', `--k values must be positive integers, got '${s}'`, {
        field: 'k',
      });
    return k;
  });
}

function parseTime(s: string | undefined): number | null {
  if (s === undefined) return null;
  const n = Number(s);
  if (s.trim() !== '' && Number.isFinite(n)) return n;
  const ms = Date.parse(s);
  if (Number.isNaN(ms))
    throw new SimrecError('CONFIG_INVALID', `--split-time must be Unix seconds or ISO-8601, got '${s}'`, {
      field: 'split-time',
    });
  return ms / 1000;
}

function isMovieLens(dir: string, format: string): boolean {
  if (format === 'movielens') return true;
  if (format === 'canonical') return false;
  return findInputs(dir).size === 0 && detectMovieLens(dir) !== null;
}

/** Where the command prints: stdout for the table and `-` outputs, stderr for notices. */
export interface EvalIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

function writeOut(io: EvalIo, path: string, text: string): void {
  if (path === '-') io.stdout.write(text);
  else writeFileSync(path, text);
}

/** Reads a report written by --json, checking it is one. */
export function readReport(path: string): EvalReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SimrecError(
      'INPUT_FORMAT',
      `${path} is not a JSON eval report: ${(e as Error).message}`,
      { file: path },
      {
        cause: e,
      },
    );
  }
  const r = parsed as Partial<EvalReport>;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.models !== 'object' ||
    r.models === null ||
    !Array.isArray(r.protocol?.ks) ||
    typeof r.counts !== 'object'
  )
    throw new SimrecError('INPUT_FORMAT', `${path} is not an eval report written by simrec eval --json`, {
      file: path,
    });
  return r as EvalReport;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'fit models on a split and compare them offline (precision, recall, NDCG, MAP, AUC, coverage)',
  help: HELP,
  run: (argv: string[]) => runEval(argv, process),
};

/** `simrec eval` with its output streams given (tests capture them). Returns the exit code. */
export async function runEval(argv: string[], io: EvalIo): Promise<number> {
  const values = parseOptions(argv, {
    data: { type: 'string' },
    format: { type: 'string' },
    split: { type: 'string' },
    'test-fraction': { type: 'string' },
    'split-time': { type: 'string' },
    'min-rating': { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    'item-features': { type: 'string' },
    'drop-overlap': { type: 'boolean' },
    'skip-bad-rows': { type: 'boolean' },
    models: { type: 'string' },
    k: { type: 'string' },
    epochs: { type: 'string' },
    dim: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string' },
    sampled: { type: 'string' },
    json: { type: 'string' },
    html: { type: 'string' },
    'from-json': { type: 'string' },
    artifacts: { type: 'string' },
    version: { type: 'string' },
    strategies: { type: 'string' },
    config: { type: 'string' },
  });

  if (values['from-json'] !== undefined) {
    if (values.html === undefined)
      throw new SimrecError('CONFIG_INVALID', '--from-json needs --html FILE to write', { field: 'html' });
    const report = readReport(values['from-json']);
    writeOut(io, values.html, renderHtml(report));
    return 0;
  }

  if (values.artifacts !== undefined) return runServedEval(values, io);
  if (values.version !== undefined)
    throw new SimrecError('CONFIG_INVALID', '--version goes with --artifacts', { field: 'version' });
  if (values.strategies !== undefined)
    throw new SimrecError('CONFIG_INVALID', '--strategies goes with --artifacts', { field: 'strategies' });

  const ks = parseKs(values);
  const epochs = intOption(values, 'epochs', 30, 1);
  const dim = intOption(values, 'dim', 64, 1);
  const threads = intOption(values, 'threads', 2, 1);
  const seed = intOption(values, 'seed', 42, 0);
  const sampledN = intOption(values, 'sampled', 0, 0);
  const testFraction = numberOption(values, 'test-fraction', 0.2, 0);
  const requested = listOption(values, 'models');
  const known = new Set(modelNames());
  const names = requested ?? DEFAULT_MODELS.filter((m) => known.has(m));
  // Unknown names fail before any data is read.
  for (const n of names) {
    if (!known.has(n))
      throw new SimrecError('CONFIG_INVALID', `unknown model '${n}' (expected ${[...known].join(', ')})`, {
        field: 'models',
      });
  }

  const hasFiles = values.train !== undefined || values.test !== undefined;
  if (hasFiles && values.data !== undefined)
    throw new SimrecError('CONFIG_INVALID', 'give either --data or --train/--test, not both', {
      field: 'data',
    });
  if (!hasFiles && values.data === undefined)
    throw new SimrecError('CONFIG_INVALID', '--data DIR or --train FILE --test FILE is required', {
      field: 'data',
    });

  const reporter = createReporter({ quiet: !process.stderr.isTTY });
  const onWarning = (m: string) => reporter.warn(m);
  let loaded: LoadedEval;
  let report: EvalReport;
  try {
    if (hasFiles) {
      if (values.train === undefined || values.test === undefined)
        throw new SimrecError('CONFIG_INVALID', '--train and --test go together', {
          field: values.train === undefined ? 'train' : 'test',
        });
      for (const opt of ['split', 'format', 'split-time', 'test-fraction'] as const) {
        if (values[opt] !== undefined)
          throw new SimrecError('CONFIG_INVALID', `--${opt} does not apply to a given --train/--test split`, {
            field: opt,
          });
      }
      loaded = await loadFilesEval({
        train: values.train,
        test: values.test,
        itemFeatures: values['item-features'] ?? null,
        dropOverlap: Boolean(values['drop-overlap']),
        minRating: numberOption(values, 'min-rating', 0),
        skipBadRows: Boolean(values['skip-bad-rows']),
        onProgress: reporter.progress,
        onWarning,
      });
    } else {
      const dir = values.data!;
      if (values['item-features'] !== undefined)
        throw new SimrecError(
          'CONFIG_INVALID',
          '--item-features goes with --train/--test; with --data the directory gives the item tags',
          { field: 'item-features' },
        );
      const format = values.format ?? 'auto';
      if (format !== 'canonical' && format !== 'movielens' && format !== 'auto')
        throw new SimrecError(
          'CONFIG_INVALID',
          `--format must be canonical, movielens or auto, got '${format}'`,
          {
            field: 'format',
          },
        );
      const split = (values.split ?? 'random') as DatasetSplit;
      if (!DATASET_SPLITS.includes(split))
        throw new SimrecError(
          'CONFIG_INVALID',
          `--split must be one of ${DATASET_SPLITS.join(', ')}, got '${values.split}'`,
          { field: 'split' },
        );
      const movielens = isMovieLens(dir, format);
      loaded = await loadDatasetEval({
        dir,
        format,
        split,
        minRating: numberOption(values, 'min-rating', movielens ? 4 : 0),
        testFraction,
        seed,
        time: parseTime(values['split-time']),
        skipBadRows: Boolean(values['skip-bad-rows']),
        onProgress: reporter.progress,
        onWarning,
      });
    }
    for (const note of loaded.notes) reporter.warn(note);
    const models = createModels(
      names,
      { hasItemFeatures: loaded.data.itemFeatures !== null, buildConfigFile: values.config },
      MODEL_FACTORIES,
    );
    report = await evaluateModels(
      loaded.data,
      models,
      { dataset: loaded.dataset, split: loaded.split },
      {
        ks,
        epochs,
        dim,
        threads,
        seed,
        sampledNegatives: sampledN > 0 ? sampledN : null,
        onProgress: reporter.progress,
      },
    );
  } finally {
    reporter.close();
  }
  const json = values.json;
  if (json !== '-') io.stdout.write(renderTable(report));
  if (json !== undefined) writeOut(io, json, `${JSON.stringify(report, jsonNumbers, 2)}\n`);
  if (values.html !== undefined) writeOut(io, values.html, renderHtml(report));
  for (const [name, m] of Object.entries(report.models)) {
    if (m.invalid_scores > 0)
      io.stderr.write(`eval: ${name} produced ${m.invalid_scores} NaN score(s), ranked last\n`);
  }
  return 0;
}

/** Options of the split evaluation that mean nothing for a built version. */
const SPLIT_ONLY = [
  'data',
  'format',
  'split',
  'test-fraction',
  'split-time',
  'min-rating',
  'train',
  'item-features',
  'drop-overlap',
  'skip-bad-rows',
  'models',
  'epochs',
  'dim',
  'threads',
  'seed',
  'sampled',
  'config',
] as const;

/** `simrec eval --artifacts LOC --test FILE`: the families of a built version, through the serving path. */
async function runServedEval(values: Record<string, unknown>, io: EvalIo): Promise<number> {
  for (const opt of SPLIT_ONLY)
    if (values[opt] !== undefined)
      throw new SimrecError(
        'CONFIG_INVALID',
        `--${opt} does not apply to --artifacts: the version was built with its own config`,
        { field: opt },
      );
  const testFile = values.test;
  if (typeof testFile !== 'string')
    throw new SimrecError('CONFIG_INVALID', '--artifacts needs --test FILE (user_id,item_id)', {
      field: 'test',
    });
  const ks = parseKs(values);
  const dir = values.artifacts as string;
  if (!existsSync(dir))
    throw new SimrecError('ARTIFACT_MISSING', `artifact directory ${dir} does not exist`, { file: dir });
  const test = await readTestPairs(testFile);
  const reporter = createReporter({ quiet: !process.stderr.isTTY });
  const store = openArtifactStore(dir, { field: 'artifacts' });
  let report: EvalReport;
  try {
    const reader = await store.openVersion(values.version as string | undefined);
    try {
      const model = await ServingModel.load(reader);
      const r = await evaluateServed(reader, model, test, {
        ks,
        strategies: listOption(values, 'strategies') ?? [],
        onProgress: reporter.progress,
      });
      for (const note of r.notes) reporter.warn(note);
      report = r.report;
    } finally {
      await reader.close();
    }
  } finally {
    reporter.close();
    await store.close();
  }
  const json = values.json as string | undefined;
  if (json !== '-') io.stdout.write(renderTable(report));
  if (json !== undefined) writeOut(io, json, `${JSON.stringify(report, jsonNumbers, 2)}\n`);
  if (values.html !== undefined) writeOut(io, values.html as string, renderHtml(report));
  return 0;
}

/** JSON has no NaN: write undefined metrics as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
