/**
 * Finding input files and turning one into a DuckDB relation of VARCHAR columns. Every format (CSV, TSV,
 * Parquet, JSONL, gzip'd or not) ends up as the same thing, `SELECT <canonical names> FROM <source>`, so the
 * checks and id mapping downstream are written once. DuckDB does all the parsing.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
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
    // No sniffing: the dialect is known, and the sniffer fails a whole file on one bad quote or byte (as
    // `CSV Error on Line: N`) where the reader itself logs that row as rejected and goes on.
    'auto_detect=false',
  ];
  return parts.join(', ');
}

/**
 * The header of a file as written: CSV/TSV header cells (its first record, split here so duplicates, odd names
 * and broken rows further down do not matter), Parquet schema names, JSONL keys (every key of every object
 * line). Returns null for a file with no content at all.
 */
export async function readHeader(
  duck: Duck,
  file: InputFile,
  dialect = dialectOf(file),
): Promise<string[] | null> {
  if (file.format === 'csv' || file.format === 'tsv') return readFirstRecord(file, dialect);
  try {
    if (file.format === 'jsonl') return await jsonlKeys(duck, file);
    const r = await duck.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file.path)})`);
    return r.getRowsJS().map((row) => String(row[0]));
  } catch (e) {
    throw formatError(file, e);
  }
}

/** Parquet column types by name (DuckDB's type names: DOUBLE, DECIMAL(10,2), VARCHAR, ...). */
export async function parquetTypes(duck: Duck, file: InputFile): Promise<Map<string, string>> {
  try {
    const r = await duck.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file.path)})`);
    return new Map(r.getRowsJS().map((row) => [String(row[0]), String(row[1])]));
  } catch (e) {
    throw formatError(file, e);
  }
}

/** Header lines longer than this are not a header. */
const MAX_HEADER_BYTES = 1 << 20;

/** The first record of a delimited file, split into cells (quotes honoured); null for an empty file. */
async function readFirstRecord(file: InputFile, dialect: CsvDialect): Promise<string[] | null> {
  const q = dialect.quote === '' ? -1 : dialect.quote.charCodeAt(0);
  const bytes: number[] = [];
  let inQuote = false;
  let ended = false;
  const input = createReadStream(file.path, { highWaterMark: 1 << 16 });
  const stream = file.gzip ? input.pipe(createGunzip()) : input;
  try {
    outer: for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === 0x0a && !inQuote) {
          ended = true;
          break outer;
        }
        if (b === q) inQuote = !inQuote;
        bytes.push(b);
        if (bytes.length > MAX_HEADER_BYTES) {
          throw new SimrecError('INPUT_FORMAT', `no header line in the first ${MAX_HEADER_BYTES} bytes`, {
            file: file.name,
          });
        }
      }
    }
  } catch (e) {
    if (e instanceof SimrecError) throw e;
    throw compressedError(file, e);
  } finally {
    input.destroy();
  }
  if (!ended && bytes.length === 0) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(bytes));
  } catch {
    throw new SimrecError('INPUT_FORMAT', `the header (line 1) is not valid UTF-8`, {
      file: file.name,
      line: 1,
    });
  }
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return splitRecord(text, dialect);
}

/** Splits one CSV record into cells: quoted cells lose their quotes, a doubled quote inside is one quote. */
export function splitRecord(text: string, dialect: CsvDialect): string[] {
  const cells: string[] = [];
  let cell = '';
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (dialect.quote !== '' && ch === dialect.quote) {
      if (inQuote && text[i + 1] === dialect.quote) {
        cell += ch;
        i++;
      } else inQuote = !inQuote;
    } else if (ch === dialect.delim && !inQuote) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/**
 * A JSONL file as one VARCHAR column `line`, one row per line with content (lines of only spaces, tabs or CR
 * are skipped, as the line locator skips them), with `jt`: the line's JSON type, NULL when it is not JSON.
 * Read as text so each line stands alone: a broken line is reported as itself and no other line is lost.
 * The delimiter is a control character, which JSON text cannot contain unescaped.
 */
function jsonlLines(file: InputFile, rejectsTable: string | null): string {
  const rejects =
    rejectsTable === null
      ? 'ignore_errors=true'
      : `store_rejects=true, rejects_table=${sqlString(rejectsTable)}, rejects_scan=${sqlString(`${rejectsTable}_scan`)}`;
  return `(SELECT line, try(json_type(line)) AS jt FROM read_csv(${sqlString(file.path)}, header=false, columns={'line': 'VARCHAR'}, delim='\x1f', quote='', escape='', auto_detect=false, compression=${file.gzip ? "'gzip'" : "'none'"}, ${rejects}) WHERE regexp_matches(line, '[^ \t\r]'))`;
}

/**
 * The keys of a JSONL file's object lines, sorted. A file whose lines are all something other than objects
 * yields the required columns, so each line is then reported as the bad row it is; null when no line has
 * content.
 */
async function jsonlKeys(duck: Duck, file: InputFile): Promise<string[] | null> {
  const r = await duck.conn.runAndReadAll(
    `SELECT k, count(*) FROM (SELECT unnest(CASE WHEN jt = 'OBJECT' THEN json_keys(line) ELSE [NULL] END) AS k FROM ${jsonlLines(file, null)}) GROUP BY k ORDER BY k NULLS LAST`,
  );
  const rows = r.getRowsJS();
  if (rows.length === 0) return null;
  // Lines that are not objects count under the NULL key; they are reported row by row later.
  return rows.filter((row) => row[0] !== null).map((row) => String(row[0]));
}

/**
 * Reads a gzip'd file through to its end, so a truncated or corrupt one fails here, with its name, instead of
 * being read by DuckDB up to the damage and taken for a shorter file.
 */
export async function verifyGzip(file: InputFile): Promise<void> {
  const input = createReadStream(file.path, { highWaterMark: 1 << 20 });
  try {
    for await (const _ of input.pipe(createGunzip())) {
      // Decompressing is the check.
    }
  } catch (e) {
    throw compressedError(file, e);
  } finally {
    input.destroy();
  }
}

function compressedError(file: InputFile, e: unknown): SimrecError {
  const msg = (e as Error).message ?? String(e);
  return new SimrecError(
    'INPUT_FORMAT',
    `the gzip data is truncated or corrupt (${msg})`,
    { file: file.name },
    { cause: e },
  );
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
 * fields, bad quoting, invalid UTF-8) are kept out and logged by DuckDB in `rejectsTable`. For JSONL every
 * line with content is a row (lines DuckDB cannot read as text are logged in `rejectsTable`): a line that is
 * not an object has NULL values and its JSON type (NULL: not JSON) in {@link JSONL_TYPE_COLUMN}; each column
 * `X` also has the first character of its JSON text in `X` + {@link JSONL_FIRST_CHAR}, so numeric ids can be
 * told from string ids.
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
  if (file.format === 'parquet') {
    const select = names
      .map((n, i) => `CAST(${sqlIdent(header[i])} AS VARCHAR) AS ${sqlIdent(n)}`)
      .join(', ');
    return `(SELECT ${select} FROM read_parquet(${sqlString(file.path)}))`;
  }
  // One parse of each line for the values as text, one for their JSON text, whose first character tells a
  // string from a number (cheaper than a json_extract per column, which parses the line each time).
  const shape = (type: string) => sqlString(JSON.stringify(Object.fromEntries(header.map((h) => [h, type]))));
  const select = names.flatMap((n, i) => {
    const key = sqlString(header[i]);
    return [
      `struct_extract(s, ${key}) AS ${sqlIdent(n)}`,
      `left(struct_extract(t, ${key}), 1) AS ${sqlIdent(`${n}${JSONL_FIRST_CHAR}`)}`,
    ];
  });
  return `(SELECT ${[...select, `jt AS ${sqlIdent(JSONL_TYPE_COLUMN)}`].join(', ')} FROM (SELECT jt, CASE WHEN jt = 'OBJECT' THEN from_json(line, ${shape('VARCHAR')}) END AS s, CASE WHEN jt = 'OBJECT' THEN from_json(line, ${shape('JSON')}) END AS t FROM ${jsonlLines(file, rejectsTable)}))`;
}

/** The JSONL source's column holding each line's JSON type (NULL when the line is not JSON). */
export const JSONL_TYPE_COLUMN = 'line:json_type';
/**
 * Suffix of the JSONL source's column holding the first character of a column's value as JSON: `"` for a
 * string, `{`/`[` for an object/array, `t`/`f` for a boolean, else a number; NULL for null or absent.
 */
export const JSONL_FIRST_CHAR = ':json_first_char';
