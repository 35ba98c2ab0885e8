/**
 * Input validation: the columns each input kind may have, the header checks, the per-row checks (written as
 * SQL so DuckDB runs them while it parses), and the reporting of what failed as `FILE:LINE: column X: reason`.
 *
 * Line numbers are physical lines of the file (the header is line 1). DuckDB hands rows over in file order
 * but does not number them, so when something is wrong the file is scanned once more, byte by byte, to turn
 * row ordinals into lines: quotes are followed so a quoted field spanning lines stays one row, and blank lines
 * are skipped as DuckDB skips them. That scan runs only on the error path.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { SimrecError } from '../core/errors.ts';
import type { DatasetStats, InputKind } from './dataset.ts';
import { sqlIdent } from './duckdb.ts';
import type { InputFile } from './inputs.ts';
import { isoTime, type TimeWindow } from './values.ts';

export {
  DEFAULT_MAX_FUTURE_SECONDS,
  isoTime,
  resolveTimeWindow,
  type TimeWindow,
} from './values.ts';

/** How a column is read and checked. */
/** `ignored`: allowed in the header, not read. */
export type ColumnRole = 'id' | 'optional-id' | 'time' | 'weight' | 'action' | 'tags' | 'ignored';

export interface ColumnSpec {
  name: string;
  role: ColumnRole;
  required: boolean;
}

/** The columns of each canonical input file (DESIGN §2). */
export const INPUT_COLUMNS: Record<InputKind, readonly ColumnSpec[]> = {
  follows: [
    { name: 'consumer_id', role: 'id', required: true },
    { name: 'producer_id', role: 'id', required: true },
    { name: 'ts', role: 'time', required: false },
  ],
  engagements: [
    { name: 'user_id', role: 'id', required: true },
    { name: 'item_id', role: 'id', required: true },
    { name: 'action', role: 'action', required: false },
    { name: 'weight', role: 'weight', required: false },
    { name: 'ts', role: 'time', required: false },
  ],
  items: [
    { name: 'item_id', role: 'id', required: true },
    { name: 'author_id', role: 'optional-id', required: false },
    { name: 'created_ts', role: 'time', required: false },
    { name: 'tags', role: 'tags', required: false },
  ],
  topic_follows: [
    { name: 'user_id', role: 'id', required: true },
    { name: 'topic', role: 'id', required: true },
  ],
};

/** Bad rows reported one by one; past this only the count grows. */
export const MAX_REPORTED_PROBLEMS = 100;

export type ProblemCode =
  | 'INPUT_BAD_ROW'
  | 'INPUT_BAD_HEADER'
  | 'INPUT_MISSING'
  | 'INPUT_EMPTY'
  | 'INPUT_FORMAT';

/** One thing wrong with the input. */
export interface InputProblem {
  code: ProblemCode;
  /** The file's path as given (directory + name). */
  file: string;
  /** Physical line (CSV, TSV, JSONL). */
  line?: number;
  /** 1-based row (Parquet, which has no lines). */
  row?: number;
  column?: string;
  reason: string;
}

/** `FILE:LINE: column X: reason` (`FILE:row N: ...` for Parquet). */
export function formatProblem(p: InputProblem): string {
  const where = p.line !== undefined ? `:${p.line}` : p.row !== undefined ? `:row ${p.row}` : '';
  const col = p.column ? `column ${p.column}: ` : '';
  return `${p.file}${where}: ${col}${p.reason}`;
}

/** The error a job fails with for a list of problems (the first one in the detail, all listed in the message). */
export function problemsError(problems: readonly InputProblem[], total = problems.length): SimrecError {
  const first = problems[0];
  const code =
    first.code === 'INPUT_BAD_ROW' && total > MAX_REPORTED_PROBLEMS ? 'INPUT_TOO_MANY_BAD_ROWS' : first.code;
  const lines = problems.slice(1).map(formatProblem);
  if (total > problems.length) lines.push(`... ${total} bad rows in total, ${problems.length} listed`);
  else if (total > 1) lines.push(`${total} problems in total`);
  const message = [first.reason, ...lines].join('\n');
  return new SimrecError(code, message, {
    file: first.file,
    line: first.line ?? first.row,
    column: first.column,
  });
}

/**
 * Checks a header against the kind's columns: every cell named, none unknown, none repeated, every required
 * column present. Matching ignores case and surrounding spaces. Returns the canonical name of each header
 * cell, in order, or the problems found.
 */
export function checkHeader(
  file: InputFile,
  header: readonly string[],
  columns: readonly ColumnSpec[],
): { names: string[]; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const bad = (column: string | undefined, reason: string) =>
    problems.push({ code: 'INPUT_BAD_HEADER', file: file.path, line: 1, column, reason });
  const byLower = new Map(columns.map((c) => [c.name.toLowerCase(), c.name]));
  const seen = new Set<string>();
  const names: string[] = [];
  header.forEach((cell, i) => {
    const name = byLower.get(cell.trim().toLowerCase());
    names.push(name ?? cell);
    if (cell.trim() === '') bad(undefined, `header cell ${i + 1} is empty`);
    else if (name === undefined) bad(cell, `unknown column '${cell}' (expected ${describeColumns(columns)})`);
    else if (seen.has(name)) bad(cell, `duplicate column '${cell}'`);
    if (name !== undefined) seen.add(name);
  });
  for (const c of columns) {
    if (c.required && !seen.has(c.name)) bad(c.name, `missing required column '${c.name}'`);
  }
  return { names, problems };
}

function describeColumns(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => (c.required ? c.name : `[${c.name}]`)).join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Row checks, in SQL. Each expression turns a VARCHAR column into a value the loader copies out in bulk, with
// a sentinel for "bad" that the loader tests in its copy loop, so checking costs no extra pass.

/** Unix seconds (number) or ISO-8601 → DOUBLE; NULL/empty → NaN (absent); anything else → +Infinity (bad). */
export function timeSql(col: string): string {
  const c = sqlIdent(col);
  return `CASE WHEN ${c} IS NULL OR ${c} = '' THEN 'NaN'::DOUBLE WHEN isfinite(TRY_CAST(${c} AS DOUBLE)) THEN TRY_CAST(${c} AS DOUBLE) ELSE COALESCE(epoch(TRY_CAST(${c} AS TIMESTAMPTZ)), 'Infinity'::DOUBLE) END`;
}

/** Weight → DOUBLE; NULL/empty → 1 (the default); non-numeric or non-finite → NaN (bad). */
export function weightSql(col: string): string {
  const c = sqlIdent(col);
  return `CASE WHEN ${c} IS NULL OR ${c} = '' THEN 1.0::DOUBLE ELSE COALESCE(TRY_CAST(${c} AS DOUBLE), 'NaN'::DOUBLE) END`;
}

/** Actions of an engagement file that are live signals, not engagements (the event log's meaning of them). */
export const SIGNAL_ACTIONS: readonly string[] = ['impression', 'hide'];

/** actionSql's code of a signal row (see SIGNAL_ACTIONS): counted and left out by the reader. */
export const ACTION_CODE_SIGNAL = 2;

/**
 * Action → 1 for `unfav`, ACTION_CODE_SIGNAL for a signal action (any case, surrounding spaces ignored), else 0
 * (a positive engagement).
 */
export function actionSql(col: string): string {
  const c = sqlIdent(col);
  const signals = SIGNAL_ACTIONS.map((a) => `'${a}'`).join(', ');
  return `(CASE WHEN lower(trim(${c})) = 'unfav' THEN 1 WHEN lower(trim(${c})) IN (${signals}) THEN ${ACTION_CODE_SIGNAL} ELSE 0 END)::UTINYINT`;
}

/** `a|b|c` → list of trimmed, non-empty tags. */
export function tagsSql(col: string): string {
  const c = sqlIdent(col);
  return `list_filter(list_transform(string_split(COALESCE(${c}, ''), '|'), t -> trim(t)), t -> t <> '')`;
}

/**
 * SQL: the text of a numeric id (a DOUBLE/DECIMAL in Parquet, a JSON number) as the integer it denotes, so
 * `0.0`, `0` and `0e0` are one id; NULL when it is not a whole number a double represents exactly (|x| ≤ 2^53).
 * Integer literals are kept as written, whatever their size.
 */
export function integralIdSql(c: string): string {
  const d = `TRY_CAST(${c} AS DOUBLE)`;
  return `CASE WHEN regexp_full_match(${c}, '-?[0-9]+') THEN ${c} WHEN isfinite(${d}) AND ${d} = trunc(${d}) AND abs(${d}) <= 9007199254740992 THEN CAST(CAST(${d} AS BIGINT) AS VARCHAR) END`;
}

/** The reason for a numeric id that is not a whole number. */
export function nonIntegralIdReason(raw: string | null): string {
  if (raw !== null && (raw.startsWith('{') || raw.startsWith('[')))
    return `id ${shown(raw)} is not a string or a number`;
  return `numeric id ${shown(raw)} is not a whole number (at most 2^53 in magnitude)`;
}

function shown(raw: string | null): string {
  return raw === null ? "''" : `'${raw.length > 80 ? `${raw.slice(0, 77)}...` : raw}'`;
}

/**
 * What a bad value of a role means, for the message. `raw` is the text in the file when known; `value` what
 * the check saw (a parsed time or weight) and `window` the time window it was checked against.
 */
export function badValueReason(
  role: ColumnRole,
  raw: string | null,
  value = Number.NaN,
  window?: TimeWindow,
): string {
  const text = raw === null ? '' : ` ${shown(raw)}`;
  switch (role) {
    case 'id':
      return 'empty id';
    case 'time':
      if (Number.isFinite(value) && window) {
        if (value > window.notAfter) {
          // Exports in milliseconds (JavaScript's Date.now, many event logs) are the usual cause of a time past
          // the year 5000 (10^11 s): say so when the value read as milliseconds fits the window.
          const ms = value / 1000;
          const hint =
            value >= 1e11 && ms >= window.notBefore && ms <= window.notAfter
              ? `; read as milliseconds it would be ${isoTime(ms)} — ts is Unix seconds`
              : '';
          return `timestamp${text} (${isoTime(value)}) is after ${isoTime(window.notAfter)} (${window.notAfterSource})${hint}`;
        }
        return `timestamp${text} (${isoTime(value)}) is before ${isoTime(window.notBefore)} (ingest.notBefore)`;
      }
      return `unparseable timestamp${text} (expected Unix seconds or ISO-8601)`;
    case 'weight': {
      if (value < 0) return `negative weight${text} (a weight is a rating or a count: a finite number ≥ 0)`;
      const n = raw === null ? Number.NaN : Number(raw.trim());
      if (Number.isNaN(value) && !Number.isNaN(n) && raw !== null && raw.trim() !== '') {
        return `weight${text} is not a finite number`;
      }
      if (value === Number.POSITIVE_INFINITY) return `weight${text} is not a finite number`;
      return `non-numeric weight${text}`;
    }
    default:
      return `bad value${text}`;
  }
}

/** DuckDB's reject kinds for rows it could not split into fields, in words. */
export function rejectReason(errorType: string, message: string): string {
  switch (errorType) {
    case 'MISSING COLUMNS':
    case 'TOO MANY COLUMNS':
      return message.replace('Expected Number of Columns:', 'expected').replace(' Found:', ' fields, found');
    case 'UNQUOTED VALUE':
      // DuckDB files both kinds under one type; an unterminated quote swallows the rest of the file.
      return /unterminated/i.test(message)
        ? 'unterminated quote (the field runs to the end of the file; every later line is part of this bad row)'
        : 'a quote inside an unquoted field';
    case 'LINE SIZE OVER MAXIMUM':
      return 'line too long';
    case 'INVALID UNICODE':
    case 'INVALID ENCODING':
      return 'invalid UTF-8';
    default:
      return message.split('\n')[0] || errorType.toLowerCase();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Row ordinal → physical line.

/**
 * For a CSV/TSV or JSONL file, the physical line where each wanted data row starts, and where each record
 * DuckDB rejected starts. `rejected` holds DuckDB's line numbers for rejects, which count each record (and each
 * blank line) as one line; those records are not data rows. Rows are 0-based ordinals of the rows DuckDB
 * returned.
 */
export async function locateRows(
  file: InputFile,
  wanted: readonly number[],
  rejected: ReadonlySet<number>,
  hasHeader = true,
  quote = '"',
): Promise<{ rowLine: Map<number, number>; rejectLine: Map<number, number> }> {
  const want = new Set(wanted);
  const rowLine = new Map<number, number>();
  const rejectLine = new Map<number, number>();
  const csv = file.format === 'csv' || file.format === 'tsv';
  const q = quote === '' ? -1 : quote.charCodeAt(0);
  let phys = 1;
  let duckLine = 0;
  let ordinal = -1;
  let inQuote = false;
  let atRecordStart = true;
  let recordStart = 1;
  let content = false;
  const lastOrdinal = wanted.length ? Math.max(...wanted) : -1;
  const lastReject = rejected.size ? Math.max(...rejected) : 0;
  const endRecord = () => {
    duckLine++;
    if (content) {
      if (csv && duckLine === 1 && hasHeader) {
        // the header
      } else if (rejected.has(duckLine)) {
        rejectLine.set(duckLine, recordStart);
      } else {
        ordinal++;
        if (want.has(ordinal)) rowLine.set(ordinal, recordStart);
      }
    }
    atRecordStart = true;
    content = false;
  };
  const done = () => ordinal >= lastOrdinal && duckLine >= lastReject;
  const input = createReadStream(file.path, { highWaterMark: 1 << 20 });
  const stream = file.gzip ? input.pipe(createGunzip()) : input;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (atRecordStart) {
          atRecordStart = false;
          recordStart = phys;
        }
        if (b === 0x0a) {
          if (!inQuote) endRecord();
          phys++;
          if (atRecordStart && done()) return { rowLine, rejectLine };
          continue;
        }
        if (b !== 0x0d && (csv || (b !== 0x20 && b !== 0x09))) content = true;
        if (csv && b === q) inQuote = !inQuote;
      }
    }
    if (!atRecordStart) endRecord();
  } finally {
    input.destroy();
  }
  return { rowLine, rejectLine };
}

// ---------------------------------------------------------------------------------------------------------

/** What `validateDataset` found. */
export interface ValidationReport {
  /** True when the data can be loaded as asked (bad rows are fine with skipBadRows). */
  ok: boolean;
  dir: string;
  format: 'canonical' | 'movielens' | null;
  files: ValidatedFile[];
  /** Counts over everything that loaded (null when nothing could be read). */
  stats: DatasetStats | null;
  /** The data's "now" (see Dataset.dataTime); null when unknown. */
  dataTime: number | null;
  /** Each problem as `FILE:LINE: column X: reason`, up to MAX_REPORTED_PROBLEMS per file. */
  errors: string[];
  /** Problems found, counted in full. */
  errorCount: number;
  badRows: number;
  skipBadRows: boolean;
}

export interface ValidatedFile {
  kind: string;
  path: string;
  format: string;
  bytes: number;
  /** Engagement rows left out as live signals (`impression`, `hide`); absent when none. */
  signalRows?: number;
  /** Good data rows. */
  rows: number;
  /** Bad rows (skipped when skipBadRows). */
  badRows: number;
}
