/**
 * `loadDataset` and `validateDataset`: an input directory (canonical layout or MovieLens) → a {@link Dataset}.
 * Files are read in the order follows → items → engagements → topic_follows (the id order of dataset.ts);
 * checksums stream on the side while DuckDB parses.
 */
import { statSync } from 'node:fs';
import { SimrecError } from '../core/errors.ts';
import {
  buildDataset,
  type FilePlan,
  inputCode,
  type Parts,
  type ProblemSink,
  runPlans,
} from './assemble.ts';
import { sha256FilesInBackground } from './checksum.ts';
import type { Dataset, DatasetStats, InputFileInfo, LoadOptions } from './dataset.ts';
import { type Duck, openDuck, sqlIdent } from './duckdb.ts';
import {
  findInputs,
  type InputFile,
  JSONL_FIRST_CHAR,
  JSONL_TYPE_COLUMN,
  parquetTypes,
  readHeader,
  sourceSql,
  verifyGzip,
} from './inputs.ts';
import { StringInterner } from './interner.ts';
import { detectMovieLens, planMovieLens } from './movielens.ts';
import { type ReadColumn, type RowCheck, rejectsTableName } from './readers.ts';
import {
  type ColumnSpec,
  checkHeader,
  formatProblem,
  INPUT_COLUMNS,
  type InputProblem,
  integralIdSql,
  nonIntegralIdReason,
  problemsError,
  resolveTimeWindow,
  type ValidatedFile,
  type ValidationReport,
} from './validate.ts';

/**
 * Reads an input directory into a Dataset.
 *
 * Fails with a SimrecError on a missing directory or required file (INPUT_MISSING), an empty required file
 * (INPUT_EMPTY), a bad header (INPUT_BAD_HEADER), an unreadable file (INPUT_FORMAT) or bad rows (INPUT_BAD_ROW,
 * or INPUT_TOO_MANY_BAD_ROWS past 100; the message lists them as `FILE:LINE: column X: reason`) unless
 * `skipBadRows`, which drops bad rows and counts them in `inputs[].skippedRows`.
 */
export async function loadDataset(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const log = new ProblemLog(false, opts.onWarning);
  const { dataset } = await loadInto(dir, opts, log);
  return dataset!;
}

/**
 * Checks an input directory the way a job would read it, and reports what it found: rows per file, the
 * counts of the resulting dataset, and every problem (up to 100 per file, all counted) instead of stopping at
 * the first. `ok` is false when a job with the same options would fail.
 */
export async function validateDataset(dir: string, opts: LoadOptions = {}): Promise<ValidationReport> {
  const log = new ProblemLog(true);
  let result: Awaited<ReturnType<typeof loadInto>> | null = null;
  try {
    result = await loadInto(dir, { ...opts }, log);
  } catch (e) {
    if (!(e instanceof SimrecError)) throw e;
    log.addFatal({ code: inputCode(e.code), file: e.detail.file ?? dir, reason: e.message });
  }
  const skip = Boolean(opts.skipBadRows);
  return {
    ok: log.fatalCount === 0 && (skip || log.badRows === 0),
    dir,
    format: result?.format ?? null,
    files: result?.files ?? [],
    stats: result?.dataset?.stats ?? null,
    dataTime: result?.dataset?.dataTime ?? null,
    errors: log.problems.map(formatProblem),
    errorCount: log.fatalCount + log.badRows,
    badRows: log.badRows,
    skipBadRows: skip,
  };
}

/** Problems met while loading: thrown at once by a job, collected by validate. */
class ProblemLog implements ProblemSink {
  readonly problems: InputProblem[] = [];
  fatalCount = 0;
  badRows = 0;

  constructor(
    readonly collect: boolean,
    private readonly warn?: (message: string) => void,
  ) {}

  addFatal(...ps: InputProblem[]): void {
    if (!this.collect) throw problemsError(ps);
    this.problems.push(...ps);
    this.fatalCount += ps.length;
  }

  /** Bad rows that were skipped: kept for the report, and passed on as warnings. */
  addBadRows(problems: InputProblem[], total: number): void {
    this.problems.push(...problems);
    this.badRows += total;
    if (!this.warn || problems.length === 0) return;
    for (const p of problems) this.warn(formatProblem(p));
    this.warn(
      `${problems[0].file}: ${total} bad row(s) skipped${total > problems.length ? `, ${problems.length} listed` : ''}`,
    );
  }
}

async function loadInto(
  dir: string,
  opts: LoadOptions,
  log: ProblemLog,
): Promise<{ dataset: Dataset | null; format: 'canonical' | 'movielens'; files: ValidatedFile[] }> {
  const format = resolveFormat(dir, opts.format ?? 'auto');
  // Fixed before anything is read, so every file is checked against the same window.
  const window = resolveTimeWindow(opts.timeWindow);
  const empty = new Map<string, InputFile>();
  const duck = await openDuck();
  try {
    const parts: Parts = {
      users: new StringInterner(1 << 16),
      items: new StringInterner(1 << 14),
      topics: new StringInterner(64),
      results: new Map(),
    };
    // Validate reads everything it can: bad rows are reported and skipped, never thrown.
    const skipBadRows = log.collect || Boolean(opts.skipBadRows);
    const plans =
      format === 'movielens'
        ? await planMovieLens(duck, dir, parts, { ...opts, skipBadRows }, (ps) => log.addFatal(...ps))
        : await planCanonical(duck, dir, parts, { ...opts, skipBadRows }, log, empty);
    for (const p of plans) p.req.window = window;
    // Hashing waits until DuckDB's first parse is done, so it does not compete with it for the cores.
    // Validation reports no checksums and skips them.
    let checksums: Promise<string[]> = Promise.resolve(plans.map(() => ''));
    const startChecksums = () => {
      if (log.collect) return;
      checksums = sha256FilesInBackground(plans.map((p) => p.file.path));
      checksums.catch(() => {});
    };
    await runPlans(duck, plans, parts, log, startChecksums);
    if (plans.length === 0) startChecksums();
    const files: ValidatedFile[] = [];
    const inputs: InputFileInfo[] = [];
    for (const { plan, result } of parts.results.values()) {
      const bytes = statSync(plan.file.path).size;
      files.push({
        kind: plan.kind,
        path: plan.file.path,
        format: plan.file.format,
        bytes,
        rows: result.rows,
        badRows: result.badRows,
        ...(result.signalRows > 0 ? { signalRows: result.signalRows } : {}),
      });
      inputs.push({
        kind: plan.kind,
        path: plan.file.path,
        bytes,
        sha256: (await checksums)[plans.indexOf(plan)],
        rows: result.rows,
        skippedRows: result.badRows,
        ...(result.signalRows > 0 ? { signalRows: result.signalRows } : {}),
      });
      if (plan.required && result.rows === 0) {
        log.addFatal({ code: 'INPUT_EMPTY', file: plan.file.path, reason: 'no data rows' });
      }
    }
    for (const file of empty.values()) {
      files.push({
        kind: file.kind,
        path: file.path,
        format: file.format,
        bytes: statSync(file.path).size,
        rows: 0,
        badRows: 0,
      });
    }
    const dataset = buildDataset(format, parts, inputs, opts);
    if (opts.requireRelations) {
      const problem = relationsProblem(dir, parts, empty, dataset.stats);
      if (problem && (problem.code === 'INPUT_EMPTY' || log.fatalCount === 0)) log.addFatal(problem);
    }
    return { dataset, format, files };
  } finally {
    duck.close();
  }
}

function resolveFormat(dir: string, format: 'canonical' | 'movielens' | 'auto'): 'canonical' | 'movielens' {
  if (format === 'movielens') return format;
  if (findInputs(dir).size > 0) return 'canonical';
  if (format === 'auto' && detectMovieLens(dir) !== null) return 'movielens';
  const expected =
    'follows / engagements / items / topic_follows (.csv, .tsv, .parquet, .jsonl, .ndjson, optionally .gz)';
  throw new SimrecError(
    'INPUT_MISSING',
    format === 'canonical'
      ? `no input files in ${dir}: expected ${expected}`
      : `no input files in ${dir}: expected ${expected} or a MovieLens directory (u.data, ratings.dat + movies.dat, or ratings.csv + movies.csv)`,
    { file: dir },
  );
}

/**
 * Why the data cannot feed a build (no follow edge and no engagement), or null when it can: INPUT_EMPTY naming
 * what each follows/engagements file gave, or INPUT_MISSING when there is neither file.
 */
function relationsProblem(
  dir: string,
  parts: Parts,
  empty: ReadonlyMap<string, InputFile>,
  stats: DatasetStats,
): InputProblem | null {
  if (stats.followEdges > 0 || stats.engagements > 0) return null;
  const why: string[] = [];
  let file: string | null = null;
  for (const kind of ['follows', 'engagements']) {
    const read = parts.results.get(kind);
    const path = read?.plan.file.path ?? empty.get(kind)?.path;
    if (path === undefined) continue;
    file ??= path;
    if (!read) why.push(`${path} is empty`);
    else if (read.result.rows === 0) {
      why.push(
        read.result.badRows > 0
          ? `${path} has no good rows (${read.result.badRows} bad)`
          : `${path} has a header but no data rows`,
      );
    } else if (kind === 'follows') why.push(`${path} has ${read.result.rows} rows, all self-follows`);
    else why.push(`${path} has ${read.result.rows} rows, none kept (below minRating)`);
  }
  if (file === null) {
    return {
      code: 'INPUT_MISSING',
      file: dir,
      reason: `${dir}: a build needs follows or engagements; neither was found`,
    };
  }
  return {
    code: 'INPUT_EMPTY',
    file,
    reason: `no follow edge and no engagement to build from: ${why.join('; ')}`,
  };
}

/**
 * Numeric ids are read as the integer they denote (`0.0` and `0` are one user); a value that is not a whole
 * number is a bad row. Parquet: columns typed FLOAT/DOUBLE/DECIMAL; JSONL: values that are JSON numbers with
 * a fraction or exponent (and objects or arrays, which are no id at all).
 */
function typedIdColumn(
  file: InputFile,
  spec: ColumnSpec,
  parquetType: string | undefined,
): { sql: string; check: RowCheck } | null {
  if (spec.role !== 'id' && spec.role !== 'optional-id') return null;
  const c = sqlIdent(spec.name);
  let sql: string;
  if (file.format === 'jsonl') {
    const t = sqlIdent(`${spec.name}${JSONL_FIRST_CHAR}`);
    sql = `CASE WHEN ${t} IN ('{', '[') THEN NULL WHEN ${t} IN ('"', 't', 'f') THEN ${c} ELSE ${integralIdSql(c)} END`;
  } else if (file.format === 'parquet' && parquetType && /^(FLOAT|DOUBLE|REAL|DECIMAL)/.test(parquetType)) {
    sql = integralIdSql(c);
  } else return null;
  return {
    sql,
    check: { sql: `${c} IS NOT NULL AND (${sql}) IS NULL`, column: spec.name, reason: nonIntegralIdReason },
  };
}

/** A JSONL line must be a JSON object; these checks come before any column's. */
const JSONL_LINE_CHECKS: RowCheck[] = [
  { sql: `${sqlIdent(JSONL_TYPE_COLUMN)} IS NULL`, reason: 'not valid JSON' },
  { sql: `${sqlIdent(JSONL_TYPE_COLUMN)} <> 'OBJECT'`, reason: 'not a JSON object' },
];

/** Reads headers, checks them, and plans a read per canonical file present (empty ones go to `empty`). */
async function planCanonical(
  duck: Duck,
  dir: string,
  parts: Parts,
  opts: LoadOptions,
  log: ProblemLog,
  empty: Map<string, InputFile>,
): Promise<FilePlan[]> {
  const found = findInputs(dir);
  const required = new Set(opts.require ?? []);
  for (const kind of required) {
    if (!found.has(kind)) {
      log.addFatal({
        code: 'INPUT_MISSING',
        file: `${dir}/${kind}`,
        reason: `required input '${kind}' not found (looked for ${kind}.csv, .tsv, .parquet, .jsonl, .ndjson, optionally .gz)`,
      });
    }
  }
  const plans: FilePlan[] = [];
  for (const kind of ['follows', 'items', 'engagements', 'topic_follows'] as const) {
    const file = found.get(kind);
    if (!file) continue;
    let header: string[] | null;
    let types: Map<string, string> | undefined;
    try {
      if (file.gzip) await verifyGzip(file);
      header = await readHeader(duck, file);
      if (file.format === 'parquet') types = await parquetTypes(duck, file);
    } catch (e) {
      log.addFatal({ code: 'INPUT_FORMAT', file: file.path, reason: (e as Error).message });
      continue;
    }
    if (header === null) {
      if (required.has(kind))
        log.addFatal({ code: 'INPUT_EMPTY', file: file.path, reason: 'the file is empty' });
      empty.set(kind, file);
      continue;
    }
    // A JSONL file whose lines are none of them objects has no keys: read it as having the required columns,
    // so every line is reported for what it is.
    if (header.length === 0) header = INPUT_COLUMNS[kind].filter((s) => s.required).map((s) => s.name);
    const specs = INPUT_COLUMNS[kind];
    const { names, problems } = checkHeader(file, header, specs);
    if (problems.length > 0) {
      log.addFatal(...problems);
      continue;
    }
    const interner = (name: string): StringInterner => {
      if (name === 'item_id') return parts.items;
      if (name === 'topic' || name === 'tags') return parts.topics;
      return parts.users;
    };
    const rowChecks: RowCheck[] = file.format === 'jsonl' ? [...JSONL_LINE_CHECKS] : [];
    const columns: ReadColumn[] = specs
      .filter((s) => names.includes(s.name))
      .map((s) => {
        const column: ReadColumn = { name: s.name, role: s.role, interner: interner(s.name) };
        const typed = typedIdColumn(file, s, types?.get(header[names.indexOf(s.name)]));
        if (typed) {
          column.sql = typed.sql;
          rowChecks.push(typed.check);
        }
        return column;
      });
    const rejects = rejectsTableName();
    plans.push({
      kind,
      file,
      required: required.has(kind),
      req: {
        file,
        source: sourceSql(file, header, names, rejects),
        sourceAgain: () => sourceSql(file, header, names, rejectsTableName()),
        columns,
        rowChecks,
        rejectsTable: file.format === 'parquet' ? undefined : rejects,
        hasHeader: true,
        quote: '"',
        keepTime: kind !== 'follows',
        skipBadRows: Boolean(opts.skipBadRows),
        onProgress: opts.onProgress,
      },
    });
  }
  return plans;
}
