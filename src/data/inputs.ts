/**
 * Finding input files and turning one into a DuckDB relation of VARCHAR columns. Every format (CSV, TSV,
 * Parquet, JSONL, gzip'd or not) ends up as the same thing, `SELECT <canonical names> FROM <source>`, so the
 * checks and id mapping downstream are written once. DuckDB does all the parsing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import type { InputKind } from './dataset.ts';
import { type Duck, sqlIdent, sqlString } from './duckdb.ts';

export type FileFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl';

export interface InputFile {
  kind: string;
  path: string;
  /** The file name, used in messages (`follows.csv:12: ...`). */
  name: string;
  format: FileFormat;
  gzip: boolean;
}

/** Recognised extensions, longest first so `.csv.gz` wins over `.gz`. */
const EXTENSIONS: ReadonlyArray<[string, FileFormat, boolean]> = [
  ['.csv.gz', 'csv', true],
  ['.tsv.gz', 'tsv', true],
  ['.jsonl.gz', 'jsonl', true],
  ['.ndjson.gz', 'jsonl', true],
  ['.parquet', 'parquet', false],
  ['.ndjson', 'jsonl', false],
  ['.jsonl', 'jsonl', false],
  ['.csv', 'csv', false],
  ['.tsv', 'tsv', false],
];

/** Splits a file name into base name and format, or null when the extension is not one simrec reads. */
export function classifyFile(name: string): { base: string; format: FileFormat; gzip: boolean } | null {
  const lower = name.toLowerCase();
  for (const [ext, format, gzip] of EXTENSIONS) {
    if (lower.endsWith(ext)) return { base: name.slice(0, name.length - ext.length), format, gzip };
  }
  return null;
}

/** Throws INPUT_MISSING unless dir is an existing directory. */
export function assertDirectory(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SimrecError('INPUT_MISSING', `input directory ${dir} does not exist`, { file: dir });
  }
}

/**
 * Locates the files of the given base names in dir (any recognised extension). More than one file for a base
 * name is an INPUT_FORMAT error naming them all.
 */
export function findFiles(dir: string, bases: readonly string[]): Map<string, InputFile> {
  assertDirectory(dir);
  const found = new Map<string, InputFile[]>();
  for (const name of readdirSync(dir).sort()) {
    const c = classifyFile(name);
    if (!c || !bases.includes(c.base)) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const list = found.get(c.base) ?? [];
    list.push({ kind: c.base, path, name, format: c.format, gzip: c.gzip });
    found.set(c.base, list);
  }
  const out = new Map<string, InputFile>();
  for (const [base, list] of found) {
    if (list.length > 1) {
      throw new SimrecError(
        'INPUT_FORMAT',
        `more than one '${base}' file: ${list.map((f) => f.name).join(', ')}; keep exactly one`,
        { file: list[0].path },
      );
    }
    out.set(base, list[0]);
  }
  return out;
}

/** The canonical input files of a directory, by kind. */
export function findInputs(dir: string): Map<InputKind, InputFile> {
  return findFiles(dir, ['follows', 'engagements', 'items', 'topic_follows']) as Map<InputKind, InputFile>;
}

/** Dialect options for a delimited file. */
export interface CsvDialect {
  delim: string;
  /** '' disables quoting (MovieLens 100k's pipe files). */
  quote: string;
  header: boolean;
}

export function dialectOf(file: InputFile): CsvDialect {
  return { delim: file.format === 'tsv' ? '\t' : ',', quote: '"', header: true };
}

function csvOptions(file: InputFile, d: CsvDialect): string {
  const parts = [
    `delim=${sqlString(d.delim)}`,
    `quote=${sqlString(d.quote)}`,
    `escape=${sqlString(d.quote)}`,
    `compression=${file.gzip ? "'gzip'" : "'none'"}`,
  ];
  return parts.join(', ');
}

/**
 * The header of a file as written: CSV/TSV header cells (read by DuckDB with the header treated as data, so
 * duplicates and odd names survive), Parquet schema names, JSONL keys (from DuckDB's sample of the file).
 * Returns null for a file with no content at all.
 */
export async function readHeader(
  duck: Duck,
  file: InputFile,
  dialect = dialectOf(file),
): Promise<string[] | null> {
  try {
    if (file.format === 'csv' || file.format === 'tsv') {
      // null_padding keeps the sniffer from giving up on files whose rows have the wrong number of fields (those
      // are reported row by row later); it pads the header with NULLs up to the widest row, dropped here.
      const r = await duck.conn.runAndReadAll(
        `SELECT * FROM read_csv(${sqlString(file.path)}, header=false, all_varchar=true, null_padding=true, parallel=false, ${csvOptions(file, dialect)}) LIMIT 1`,
      );
      const rows = r.getRowsJS();
      if (rows.length === 0) return null;
      const cells = rows[0].map((v) => (v === null ? null : String(v)));
      while (cells.length > 0 && cells[cells.length - 1] === null) cells.pop();
      return cells.map((v) => v ?? '');
    }
    const src =
      file.format === 'parquet'
        ? `read_parquet(${sqlString(file.path)})`
        : `read_json(${sqlString(file.path)}, format='newline_delimited', ignore_errors=true, compression=${file.gzip ? "'gzip'" : "'uncompressed'"})`;
    const r = await duck.conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
    const names = r.getRowsJS().map((row) => String(row[0]));
    if (file.format === 'jsonl' && names.length === 1 && names[0] === 'json') return null;
    return names;
  } catch (e) {
    throw formatError(file, e);
  }
}

/** A DuckDB failure reading a file, as an INPUT_FORMAT error that names the file. */
export function formatError(file: InputFile, e: unknown): SimrecError {
  if (e instanceof SimrecError) return e;
  const msg = (e as Error).message ?? String(e);
  return new SimrecError(
    'INPUT_FORMAT',
    `cannot read ${file.format} file: ${msg.split('\n')[0]}`,
    { file: file.name },
    {
      cause: e,
    },
  );
}

/**
 * `SELECT` list source for a file whose header cells are `header` (in file order), exposing the columns under
 * `names` (same order; canonical names) as VARCHAR. For CSV/TSV the rows that do not parse (wrong number of
 * fields, bad quoting) are kept out and logged by DuckDB in `rejectsTable`; JSONL lines that are not JSON become
 * all-NULL rows, so they keep their place and fail the row checks.
 */
export function sourceSql(
  file: InputFile,
  header: readonly string[],
  names: readonly string[],
  rejectsTable: string,
  dialect = dialectOf(file),
): string {
  if (file.format === 'csv' || file.format === 'tsv') {
    const columns = names.map((n) => `${sqlString(n)}: 'VARCHAR'`).join(', ');
    return `read_csv(${sqlString(file.path)}, header=${dialect.header}, columns={${columns}}, ${csvOptions(file, dialect)}, store_rejects=true, rejects_table=${sqlString(rejectsTable)}, rejects_scan=${sqlString(`${rejectsTable}_scan`)})`;
  }
  const select = names.map((n, i) => `CAST(${sqlIdent(header[i])} AS VARCHAR) AS ${sqlIdent(n)}`).join(', ');
  if (file.format === 'parquet') return `(SELECT ${select} FROM read_parquet(${sqlString(file.path)}))`;
  const columns = header.map((h) => `${sqlString(h)}: 'VARCHAR'`).join(', ');
  return `(SELECT ${select} FROM read_json(${sqlString(file.path)}, format='newline_delimited', ignore_errors=true, columns={${columns}}, compression=${file.gzip ? "'gzip'" : "'uncompressed'"}))`;
}
