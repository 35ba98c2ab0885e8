/**
 * MovieLens directories read as datasets (DESIGN §2): ratings become engagements (weight = rating, positive),
 * movies become items, genres become topics and item tags. Two layouts:
 *
 * - `ml-latest*`, `ml-25m`, `ml-20m`: `ratings.csv` (userId,movieId,rating,timestamp) and `movies.csv`
 *   (movieId,title,genres with `|`; titles with quoted commas; CRLF line ends), read as CSV with a header.
 * - `ml-1m`, `ml-10m`: `ratings.dat` (UserID::MovieID::Rating::Timestamp, no header) and `movies.dat`
 *   (MovieID::Title::Genres with `|`, no header; Latin-1 in ml-1m, UTF-8 in ml-10m — the encoding is told from
 *   the bytes). `users.dat` and `tags.dat` are not read.
 * - `ml-100k`: `u.data` (user item rating timestamp, tab-separated, no header), `u.item` (pipe-separated,
 *   Latin-1, no header: id, title, dates, URL and 19 genre flags named by `u.genre`), and the fixed splits
 *   `ua.base`/`ua.test`, `ub.base`/`ub.test` (same layout as u.data) through {@link loadMovieLensSplit}.
 *
 * "(no genres listed)" and the 100k genre "unknown" are no tag. Items come in the movie file's order, then
 * movies seen only in ratings.
 */

import { isUtf8 } from 'node:buffer';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import { buildDataset, buildEngagements, type FilePlan, type Parts, runPlans } from './assemble.ts';
import { sha256File } from './checksum.ts';
import type { Dataset, Engagements, InputKind, LoadOptions } from './dataset.ts';
import { type Duck, openDuck, sqlIdent, sqlString } from './duckdb.ts';
import { formatError, type InputFile, readHeader, sourceSql } from './inputs.ts';
import { StringInterner } from './interner.ts';
import type { ReadColumn, ReadRequest } from './readers.ts';
import { rejectsTableName } from './readers.ts';
import { type ColumnSpec, checkHeader, type InputProblem, problemsError, tagsSql } from './validate.ts';

export type MovieLensLayout = 'ml-100k' | 'ml-1m' | 'ml-latest';

/** The MovieLens layout of dir, or null when it is not one. */
export function detectMovieLens(dir: string): MovieLensLayout | null {
  if (existsSync(join(dir, 'ratings.csv'))) return 'ml-latest';
  if (existsSync(join(dir, 'ratings.dat'))) return 'ml-1m';
  if (existsSync(join(dir, 'u.data'))) return 'ml-100k';
  return null;
}

/** The 19 genres of ml-100k, in flag order (used when u.genre is absent). */
export const ML100K_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

/** A `genres` column (`a|b|c`) as item tags; "(no genres listed)" (ml-latest, ml-10m) is no tag. */
export const GENRES_SQL = `list_filter(${tagsSql('genres')}, t -> t <> '(no genres listed)')`;

const RATINGS_COLUMNS: readonly ColumnSpec[] = [
  { name: 'userId', role: 'id', required: true },
  { name: 'movieId', role: 'id', required: true },
  { name: 'rating', role: 'weight', required: true },
  { name: 'timestamp', role: 'time', required: false },
];

const MOVIES_COLUMNS: readonly ColumnSpec[] = [
  { name: 'movieId', role: 'id', required: true },
  { name: 'title', role: 'ignored', required: false },
  { name: 'genres', role: 'tags', required: false },
];

function file(dir: string, name: string, format: InputFile['format'], kind: string): InputFile {
  return { kind, path: join(dir, name), name, format, gzip: false };
}

type AddFatal = (ps: InputProblem[]) => void;

/**
 * Plans the reads of a MovieLens directory: movies (if present) as items, then ratings as engagements.
 * Ratings are always required; `require` may not ask for follows or topic follows, which MovieLens lacks.
 */
export async function planMovieLens(
  duck: Duck,
  dir: string,
  parts: Parts,
  opts: LoadOptions,
  addFatal: AddFatal,
): Promise<FilePlan[]> {
  const layout = detectMovieLens(dir);
  if (layout === null) {
    throw new SimrecError(
      'INPUT_MISSING',
      `${dir} is not a MovieLens directory (no ratings.csv, ratings.dat or u.data)`,
      {
        file: dir,
      },
    );
  }
  for (const kind of opts.require ?? []) {
    if (kind === 'follows' || kind === 'topic_follows') {
      addFatal([{ code: 'INPUT_MISSING', file: dir, reason: `MovieLens data has no '${kind}'` }]);
    }
  }
  const plans: FilePlan[] = [];
  if (layout === 'ml-latest') {
    const movies = file(dir, 'movies.csv', 'csv', 'items');
    if (existsSync(movies.path)) {
      const plan = await planCsvWithHeader(duck, movies, MOVIES_COLUMNS, 'items', parts, opts, addFatal);
      if (plan) plans.push(plan);
    }
    const ratings = file(dir, 'ratings.csv', 'csv', 'engagements');
    const plan = await planCsvWithHeader(
      duck,
      ratings,
      RATINGS_COLUMNS,
      'engagements',
      parts,
      opts,
      addFatal,
    );
    if (plan) plans.push({ ...plan, required: true });
    return plans;
  }
  if (layout === 'ml-1m') {
    const movies = file(dir, 'movies.dat', 'csv', 'items');
    if (existsSync(movies.path)) plans.push(planDatMovies(movies, parts, opts));
    plans.push(
      planRatings(file(dir, 'ratings.dat', 'csv', 'engagements'), DAT_DELIM, 'engagements', parts, opts),
    );
    return plans;
  }
  const items = file(dir, 'u.item', 'csv', 'items');
  if (existsSync(items.path)) plans.push(await plan100kItems(duck, dir, items, parts, opts));
  plans.push(planRatings(file(dir, 'u.data', 'tsv', 'engagements'), '\t', 'engagements', parts, opts));
  return plans;
}

/** A headed MovieLens CSV: header checked against its columns, then read like a canonical file. */
async function planCsvWithHeader(
  duck: Duck,
  f: InputFile,
  specs: readonly ColumnSpec[],
  kind: InputKind,
  parts: Parts,
  opts: LoadOptions,
  addFatal: AddFatal,
): Promise<FilePlan | null> {
  const header = await readHeader(duck, f);
  if (header === null) {
    addFatal([{ code: 'INPUT_EMPTY', file: f.path, reason: 'the file is empty' }]);
    return null;
  }
  const { names, problems } = checkHeader(f, header, specs);
  if (problems.length > 0) {
    addFatal(problems);
    return null;
  }
  const columns: ReadColumn[] = [];
  for (const s of specs) {
    if (!names.includes(s.name)) continue;
    if (s.name === 'userId')
      columns.push({ name: s.name, key: 'user_id', role: 'id', interner: parts.users });
    else if (s.name === 'movieId')
      columns.push({ name: s.name, key: 'item_id', role: 'id', interner: parts.items });
    else if (s.name === 'rating') columns.push({ name: s.name, role: 'weight' });
    else if (s.name === 'timestamp') columns.push({ name: s.name, role: 'time' });
    else if (s.name === 'genres') {
      columns.push({
        name: s.name,
        role: 'tags',
        interner: parts.topics,
        sql: GENRES_SQL,
      });
    }
  }
  const rejects = rejectsTableName();
  return {
    kind,
    file: f,
    required: false,
    req: {
      file: f,
      source: sourceSql(f, header, names, rejects),
      sourceAgain: () => sourceSql(f, header, names, rejectsTableName()),
      columns,
      rejectsTable: rejects,
      hasHeader: true,
      quote: '"',
      keepTime: true,
      skipBadRows: Boolean(opts.skipBadRows),
      onProgress: opts.onProgress,
    },
  };
}

function headerless(
  f: InputFile,
  delim: string,
  columns: readonly string[],
  rejects: string,
  latin1 = false,
): string {
  const cols = columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  return `read_csv(${sqlString(f.path)}, header=false, delim=${sqlString(delim)}, quote='', escape='', columns={${cols}}${latin1 ? ", encoding='latin-1'" : ''}, store_rejects=true, rejects_table=${sqlString(rejects)}, rejects_scan=${sqlString(`${rejects}_scan`)})`;
}

const U_DATA_COLUMNS = ['user_id', 'item_id', 'rating', 'timestamp'];

/** ml-1m / ml-10m's field separator. */
const DAT_DELIM = '::';

const DAT_MOVIE_COLUMNS = ['movie_id', 'title', 'genres'];

/**
 * movies.dat: MovieID::Title::Genres, no header. ml-1m writes titles in Latin-1 and ml-10m in UTF-8; a file
 * that is not valid UTF-8 is read as Latin-1 (every byte sequence is valid Latin-1, and a UTF-8 title's bytes
 * would be misread the other way round).
 */
export function planDatMovies(f: InputFile, parts: Parts, opts: LoadOptions): FilePlan {
  const columns: ReadColumn[] = [
    { name: 'movie_id', key: 'item_id', role: 'id', interner: parts.items },
    { name: 'genres', role: 'tags', interner: parts.topics, sql: GENRES_SQL },
  ];
  const latin1 = !isUtf8(readFileSync(f.path));
  const req = headerlessRequest(f, DAT_DELIM, DAT_MOVIE_COLUMNS, columns, { keepTime: false, latin1 }, opts);
  return { kind: 'items', file: f, required: false, req };
}

/**
 * A headerless ratings file, user item rating timestamp: u.data, ua.base, ... (tab-separated) and ratings.dat
 * (`::`).
 */
function planRatings(f: InputFile, delim: string, kind: string, parts: Parts, opts: LoadOptions): FilePlan {
  const columns: ReadColumn[] = [
    { name: 'user_id', role: 'id', interner: parts.users },
    { name: 'item_id', role: 'id', interner: parts.items },
    { name: 'rating', role: 'weight' },
    { name: 'timestamp', role: 'time' },
  ];
  const req = headerlessRequest(f, delim, U_DATA_COLUMNS, columns, { keepTime: true, latin1: false }, opts);
  return { kind, file: f, required: true, req };
}

/** The read of a headerless, unquoted file whose fields are `names`, of which `columns` are read. */
function headerlessRequest(
  f: InputFile,
  delim: string,
  names: readonly string[],
  columns: ReadColumn[],
  o: { keepTime: boolean; latin1: boolean },
  opts: LoadOptions,
): ReadRequest {
  const rejects = rejectsTableName();
  return {
    file: f,
    source: headerless(f, delim, names, rejects, o.latin1),
    sourceAgain: () => headerless(f, delim, names, rejectsTableName(), o.latin1),
    columns,
    rejectsTable: rejects,
    hasHeader: false,
    quote: '',
    keepTime: o.keepTime,
    skipBadRows: Boolean(opts.skipBadRows),
    onProgress: opts.onProgress,
  };
}

/**
 * u.item: id | title | release | video release | URL | 19 genre flags; genres named by u.genre beside it when
 * present. Shared by the MovieLens adapter and by evaluation's item-features reader.
 */
export async function plan100kItems(
  duck: Duck,
  dir: string,
  f: InputFile,
  parts: Parts,
  opts: LoadOptions,
): Promise<FilePlan> {
  const genres: string[] = [...ML100K_GENRES];
  const genreFile = join(dir, 'u.genre');
  if (existsSync(genreFile)) {
    try {
      const r = await duck.conn.runAndReadAll(
        `SELECT * FROM read_csv(${sqlString(genreFile)}, header=false, delim='|', quote='', escape='', columns={'name': 'VARCHAR', 'idx': 'VARCHAR'}, encoding='latin-1')`,
      );
      for (const [name, idx] of r.getRowsJS()) {
        const i = Number(idx);
        if (Number.isInteger(i) && i >= 0 && i < genres.length && typeof name === 'string' && name !== '')
          genres[i] = name;
      }
    } catch (e) {
      throw formatError({ ...f, path: genreFile, name: 'u.genre' }, e);
    }
  }
  const names = [
    'movie_id',
    'title',
    'release_date',
    'video_release_date',
    'imdb_url',
    ...genres.map((_, i) => `g${i}`),
  ];
  const flags = genres
    .map((g, i) => `CASE WHEN trim(${sqlIdent(`g${i}`)}) = '1' THEN ${sqlString(g)} END`)
    .join(', ');
  const columns: ReadColumn[] = [
    { name: 'movie_id', key: 'item_id', role: 'id', interner: parts.items },
    {
      name: 'genres',
      role: 'tags',
      interner: parts.topics,
      sql: `list_filter([${flags}], t -> t IS NOT NULL AND t <> 'unknown')`,
    },
  ];
  const req = headerlessRequest(f, '|', names, columns, { keepTime: false, latin1: true }, opts);
  return { kind: 'items', file: f, required: false, req };
}

export interface MovieLensSplit {
  /** The whole of u.data (and u.item), with the id maps train and test use. */
  dataset: Dataset;
  train: Engagements;
  test: Engagements;
}

/**
 * One of ml-100k's fixed splits (`ua`: 10 test ratings per user; `ub`: the same, another draw): the full
 * dataset and the split's train (`<split>.base`) and test (`<split>.test`) engagements over the same id maps.
 * `minRating` applies to all three.
 */
export async function loadMovieLensSplit(
  dir: string,
  split: 'ua' | 'ub',
  opts: Pick<LoadOptions, 'minRating' | 'skipBadRows' | 'onProgress'> = {},
): Promise<MovieLensSplit> {
  if (detectMovieLens(dir) !== 'ml-100k') {
    throw new SimrecError('INPUT_MISSING', `${dir} is not an ml-100k directory (no u.data)`, { file: dir });
  }
  for (const part of ['base', 'test']) {
    const p = join(dir, `${split}.${part}`);
    if (!existsSync(p)) throw new SimrecError('INPUT_MISSING', `split file ${p} not found`, { file: p });
  }
  const duck = await openDuck();
  try {
    const parts: Parts = {
      users: new StringInterner(1024),
      items: new StringInterner(2048),
      topics: new StringInterner(32),
      results: new Map(),
    };
    const problems: InputProblem[] = [];
    const log = {
      addFatal: (...ps: InputProblem[]) => {
        throw problemsError(ps);
      },
      addBadRows: (ps: InputProblem[]) => {
        problems.push(...ps);
      },
    };
    const plans = await planMovieLens(duck, dir, parts, opts, (ps) => log.addFatal(...ps));
    plans.push(planRatings(file(dir, `${split}.base`, 'tsv', 'train'), '\t', 'train', parts, opts));
    plans.push(planRatings(file(dir, `${split}.test`, 'tsv', 'test'), '\t', 'test', parts, opts));
    await runPlans(duck, plans, parts, log);
    const minRating = opts.minRating ?? 0;
    const inputs = await Promise.all(
      plans.map(async (p) => {
        const r = parts.results.get(p.kind)!.result;
        const bytes = statSync(p.file.path).size;
        const sha256 = await sha256File(p.file.path);
        return { kind: p.kind, path: p.file.path, bytes, sha256, rows: r.rows, skippedRows: r.badRows };
      }),
    );
    const trainResult = parts.results.get('train')!;
    const testResult = parts.results.get('test')!;
    parts.results.delete('train');
    parts.results.delete('test');
    const dataset = buildDataset('movielens', parts, inputs, { minRating });
    const nUsers = parts.users.size;
    const nItems = parts.items.size;
    return {
      dataset,
      train: buildEngagements(trainResult.result, nUsers, nItems, minRating).engagements,
      test: buildEngagements(testResult.result, nUsers, nItems, minRating).engagements,
    };
  } finally {
    duck.close();
  }
}
