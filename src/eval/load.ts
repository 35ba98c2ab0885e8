/**
 * Where an evaluation's split comes from:
 *
 * - a dataset directory (canonical or MovieLens) split here (`random`, `user`, `temporal`, `loo`), or one of
 *   ml-100k's own splits (`ua`, `ub`);
 * - a caller-given split: a train file and a test file (`user_id,item_id[,weight][,ts][,action]`, any format the
 *   loader reads: CSV/TSV/Parquet/JSONL, optionally gzip'd), evaluated exactly as given, with optional item
 *   features from a MovieLens `movies.csv` or ml-1m `movies.dat` (genres), an ml-100k `u.item` (genre flags) or
 *   a canonical items file (`item_id,...,tags`).
 *
 * Files are read by the data layer (DuckDB, the same row checks and `FILE:LINE: column X: reason` reports as a
 * build), with one id space shared by train, test and features.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { buildEngagements, type FilePlan, type Parts, runPlans } from '../data/assemble.ts';
import { binaryCsr } from '../data/coo.ts';
import type { ProgressFn } from '../data/dataset.ts';
import { type Duck, openDuck } from '../data/duckdb.ts';
import { classifyFile, type InputFile, readHeader, sourceSql } from '../data/inputs.ts';
import { StringInterner } from '../data/interner.ts';
import { loadDataset } from '../data/load.ts';
import { GENRES_SQL, loadMovieLensSplit, plan100kItems, planDatMovies } from '../data/movielens.ts';
import { positivesFromEngagements } from '../data/positives.ts';
import { type ReadColumn, type ReadRequest, rejectsTableName } from '../data/readers.ts';
import {
  type ColumnSpec,
  checkHeader,
  INPUT_COLUMNS,
  type InputProblem,
  problemsError,
} from '../data/validate.ts';
import { dropOverlap, type EvalData, toCatalogue } from './interactions.ts';
import { type SplitKind, splitInteractions } from './splits.ts';

export type DatasetSplit = SplitKind | 'ua' | 'ub';

export interface DatasetSource {
  dir: string;
  format?: 'canonical' | 'movielens' | 'auto';
  split: DatasetSplit;
  /** Ratings (MovieLens) or event weights (canonical) below this are not positives. */
  minRating?: number;
  testFraction?: number;
  seed?: number;
  /** temporal: cut time in Unix seconds. */
  time?: number | null;
  skipBadRows?: boolean;
  onProgress?: ProgressFn;
  onWarning?: (message: string) => void;
}

export interface FilesSource {
  train: string;
  test: string;
  itemFeatures?: string | null;
  /** Drop test pairs that are also in train instead of failing. */
  dropOverlap?: boolean;
  /** Weights below this are not positives (default 0: every row is one). */
  minRating?: number;
  skipBadRows?: boolean;
  onProgress?: ProgressFn;
  onWarning?: (message: string) => void;
}

export interface LoadedEval {
  data: EvalData;
  /** Names for the report: the data directory's name and the split. */
  dataset: string;
  split: string;
  /** Things the caller should tell the user (pairs dropped, ...). */
  notes: string[];
}

/** A dataset directory, split as asked. */
export async function loadDatasetEval(src: DatasetSource): Promise<LoadedEval> {
  const dataset = basename(resolve(src.dir));
  const minRating = src.minRating ?? 0;
  if (src.split === 'ua' || src.split === 'ub') {
    if (src.format === 'canonical')
      throw new SimrecError(
        'CONFIG_INVALID',
        `split '${src.split}' is MovieLens 100k's own; use --format movielens`,
        {
          field: 'split',
        },
      );
    const ml = await loadMovieLensSplit(src.dir, src.split, {
      minRating,
      skipBadRows: src.skipBadRows,
      onProgress: src.onProgress,
    });
    const ds = ml.dataset;
    const data = toCatalogue({
      split: { train: positivesFromEngagements(ml.train), test: positivesFromEngagements(ml.test) },
      users: ds.users,
      items: ds.items,
      itemTags: ds.itemTags,
      topics: ds.topics,
    });
    return { data, dataset, split: src.split, notes: [] };
  }
  const ds = await loadDataset(src.dir, {
    format: src.format ?? 'auto',
    minRating,
    require: ['engagements'],
    skipBadRows: src.skipBadRows,
    onProgress: src.onProgress,
    onWarning: src.onWarning,
  });
  if (!ds.engagements)
    throw new SimrecError('INPUT_MISSING', `${src.dir} has no engagements to evaluate on`, { file: src.dir });
  // The MovieLens loader has already applied the rating threshold; canonical weights are filtered here.
  const positives = positivesFromEngagements(ds.engagements, {
    minWeight: ds.format === 'canonical' ? minRating : 0,
  });
  const split = splitInteractions(positives, src.split, {
    testFraction: src.testFraction,
    seed: src.seed,
    time: src.time,
  });
  const data = toCatalogue({
    split,
    users: ds.users,
    items: ds.items,
    itemTags: ds.itemTags,
    topics: ds.topics,
  });
  return { data, dataset, split: src.split, notes: [] };
}

function inputFile(path: string, kind: string): InputFile {
  if (!existsSync(path) || !statSync(path).isFile())
    throw new SimrecError('INPUT_MISSING', `${kind} file ${path} does not exist`, { file: path });
  const name = basename(path);
  const c = classifyFile(name);
  if (!c)
    throw new SimrecError(
      'INPUT_FORMAT',
      `${path}: unknown file type (expected .csv, .tsv, .parquet, .jsonl or .ndjson, optionally .gz)`,
      { file: path },
    );
  return { kind, path, name, format: c.format, gzip: c.gzip };
}

/** Plans a headed file read with the given columns (canonical names), ids interned into the shared spaces. */
async function planHeaded(
  duck: Duck,
  file: InputFile,
  specs: readonly ColumnSpec[],
  read: (names: readonly string[]) => ReadColumn[],
  keepTime: boolean,
  skipBadRows: boolean,
  onProgress: ProgressFn | undefined,
): Promise<FilePlan> {
  const header = await readHeader(duck, file);
  if (header === null)
    throw new SimrecError('INPUT_EMPTY', `${file.path}: the file is empty`, { file: file.path });
  const { names, problems } = checkHeader(file, header, specs);
  if (problems.length > 0) throw problemsError(problems);
  const rejects = rejectsTableName();
  const delimited = file.format === 'csv' || file.format === 'tsv';
  const req: ReadRequest = {
    file,
    source: sourceSql(file, header, names, rejects),
    sourceAgain: () => sourceSql(file, header, names, rejectsTableName()),
    columns: read(names),
    rejectsTable: delimited ? rejects : undefined,
    hasHeader: true,
    quote: '"',
    keepTime,
    skipBadRows,
    onProgress,
  };
  return { kind: file.kind, file, req, required: true };
}

const MOVIES_COLUMNS: readonly ColumnSpec[] = [
  { name: 'movieId', role: 'id', required: true },
  { name: 'title', role: 'ignored', required: false },
  { name: 'genres', role: 'tags', required: true },
];

/** Plans the item-features read: u.item, movies.dat, movies.csv, or a canonical items file, told apart by name and header. */
async function planFeatures(
  duck: Duck,
  path: string,
  parts: Parts,
  skipBadRows: boolean,
  onProgress: ProgressFn | undefined,
): Promise<FilePlan> {
  if (basename(path) === 'u.item') {
    if (!existsSync(path))
      throw new SimrecError('INPUT_MISSING', `item features file ${path} does not exist`, { file: path });
    const file: InputFile = { kind: 'items', path, name: 'u.item', format: 'csv', gzip: false };
    return plan100kItems(duck, dirname(path), file, parts, { skipBadRows, onProgress });
  }
  if (basename(path) === 'movies.dat') {
    if (!existsSync(path))
      throw new SimrecError('INPUT_MISSING', `item features file ${path} does not exist`, { file: path });
    const file: InputFile = { kind: 'items', path, name: 'movies.dat', format: 'csv', gzip: false };
    return planDatMovies(file, parts, { skipBadRows, onProgress });
  }
  const file = inputFile(path, 'items');
  const header = await readHeader(duck, file);
  const lower = (header ?? []).map((h) => h.trim().toLowerCase());
  if (lower.includes('movieid')) {
    return planHeaded(
      duck,
      file,
      MOVIES_COLUMNS,
      () => [
        { name: 'movieId', key: 'item_id', role: 'id', interner: parts.items },
        {
          name: 'genres',
          role: 'tags',
          interner: parts.topics,
          sql: GENRES_SQL,
        },
      ],
      false,
      skipBadRows,
      onProgress,
    );
  }
  if (!lower.includes('tags'))
    throw new SimrecError(
      'INPUT_BAD_HEADER',
      `${path}: item features need a 'tags' column (item_id,tags with tags separated by |), a MovieLens movies.csv, movies.dat or u.item`,
      { file: path, line: 1 },
    );
  return planHeaded(
    duck,
    file,
    INPUT_COLUMNS.items,
    () => [
      { name: 'item_id', role: 'id', interner: parts.items },
      { name: 'tags', role: 'tags', interner: parts.topics },
    ],
    false,
    skipBadRows,
    onProgress,
  );
}

/** A caller-given split: train and test files (and optional item features), evaluated exactly as given. */
export async function loadFilesEval(src: FilesSource): Promise<LoadedEval> {
  const trainFile = inputFile(src.train, 'train');
  const testFile = inputFile(src.test, 'test');
  const skip = Boolean(src.skipBadRows);
  const duck = await openDuck();
  const parts: Parts = {
    users: new StringInterner(1 << 12),
    items: new StringInterner(1 << 12),
    topics: new StringInterner(64),
    results: new Map(),
  };
  const notes: string[] = [];
  try {
    const engagementColumns = (names: readonly string[]): ReadColumn[] =>
      INPUT_COLUMNS.engagements
        .filter((s) => names.includes(s.name))
        .map((s) => ({
          name: s.name,
          role: s.role,
          interner: s.name === 'item_id' ? parts.items : s.name === 'user_id' ? parts.users : undefined,
        }));
    const plans: FilePlan[] = [];
    for (const f of [trainFile, testFile]) {
      plans.push(
        await planHeaded(duck, f, INPUT_COLUMNS.engagements, engagementColumns, true, skip, src.onProgress),
      );
    }
    if (src.itemFeatures) plans.push(await planFeatures(duck, src.itemFeatures, parts, skip, src.onProgress));
    await runPlans(duck, plans, parts, {
      addFatal: (...ps: InputProblem[]) => {
        throw problemsError(ps);
      },
      addBadRows: (ps: InputProblem[], total: number) => {
        for (const p of ps)
          src.onWarning?.(`${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.reason}`);
        if (ps.length > 0) src.onWarning?.(`${ps[0].file}: ${total} bad row(s) skipped`);
      },
    });
    const nUsers = parts.users.size;
    const nItems = parts.items.size;
    const minWeight = src.minRating ?? 0;
    const read = (kind: string) => {
      const r = parts.results.get(kind);
      if (!r || r.result.rows === 0)
        throw new SimrecError(
          'INPUT_EMPTY',
          `${kind} file ${kind === 'train' ? src.train : src.test} has no data rows`,
          {
            file: kind === 'train' ? src.train : src.test,
          },
        );
      return positivesFromEngagements(buildEngagements(r.result, nUsers, nItems).engagements, { minWeight });
    };
    const train = read('train');
    let test = read('test');
    if (src.dropOverlap) {
      const cleaned = dropOverlap(train, test);
      test = cleaned.test;
      if (cleaned.removed > 0) notes.push(`${cleaned.removed} test pair(s) also in train were dropped`);
    }
    let itemTags: CsrMatrix | null = null;
    const features = parts.results.get('items')?.result;
    if (features?.tags) {
      const item = features.ids.get('item_id')!;
      const { ptr, topics } = features.tags;
      const rows = new Int32Array(topics.length);
      for (let r = 0; r < features.rows; r++) rows.fill(item[r], ptr[r], ptr[r + 1]);
      itemTags = binaryCsr(rows, topics, nItems, parts.topics.size).matrix;
    }
    const data = toCatalogue({
      split: { train, test },
      users: parts.users.toIdMap(),
      items: parts.items.toIdMap(),
      itemTags,
      topics: itemTags ? parts.topics.toIdMap() : null,
    });
    if (src.itemFeatures && data.itemFeatures) {
      let without = 0;
      for (let i = 0; i < data.itemFeatures.nRows; i++) if (data.itemFeatures.rowNnz(i) === 0) without++;
      if (without > 0) notes.push(`${without} of ${data.itemIds.length} catalogue items have no feature`);
    }
    const dir = dirname(resolve(src.train));
    return { data, dataset: basename(dir), split: 'given', notes };
  } finally {
    duck.close();
  }
}
