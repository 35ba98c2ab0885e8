/**
 * Reads one input file into typed columns. DuckDB parses the file and runs the row checks (SQL from
 * validate.ts) on all its threads into a materialised result; this module then walks the result chunk by chunk,
 * interning id columns straight from DuckDB's string vectors and copying numeric columns, and spots bad rows by
 * the sentinels the checks leave. Nothing is allocated per row.
 */
import type { DuckDBConnection, DuckDBMaterializedResult } from '@duckdb/node-api';
import type { ProgressFn } from './dataset.ts';
import {
  chunkSize,
  type DataChunk,
  float64Column,
  materialize,
  readString,
  type StringColumn,
  sqlIdent,
  stringColumn,
  stringListColumn,
  uint8Column,
  uint64ListChildWords,
  uint64WordsColumn,
} from './duckdb.ts';
import { formatError, type InputFile } from './inputs.ts';
import { EMPTY_ID, type StringInterner } from './interner.ts';
import {
  ACTION_CODE_SIGNAL,
  actionSql,
  badValueReason,
  type ColumnRole,
  type InputProblem,
  locateRows,
  MAX_REPORTED_PROBLEMS,
  rejectReason,
  type TimeWindow,
  tagsSql,
  timeSql,
  weightSql,
} from './validate.ts';
import { isPlausibleWeight } from './values.ts';

export interface ReadColumn {
  /** The column's name in the source relation (and in messages). */
  name: string;
  /** The name the result uses for an id column (default: name). */
  key?: string;
  role: ColumnRole;
  /** SQL producing the value from the source; by default the role's check expression over `name`. */
  sql?: string;
  /** For ids and tags: the id space. */
  interner?: StringInterner;
}

/**
 * A check of a whole row that the value expressions cannot express (a JSONL line that is not an object, a
 * numeric id that is not a whole number). Checks run before the column checks, in order; the first that fails
 * names the row's problem.
 */
export interface RowCheck {
  /** SQL over the source, true when the row is bad. */
  sql: string;
  /** The column the problem is reported in (its raw text is passed to `reason`). */
  column?: string;
  reason: string | ((raw: string | null) => string);
}

/** Marks at and above this are row checks (below: 1 + the failing column's index). */
const CHECK_MARK = 128;
/** Mark of a signal row (an impression or a hide in an engagement file): left out and counted, not bad. */
const SIGNAL_MARK = 127;

export interface ReadRequest {
  file: InputFile;
  /** A FROM-clause relation exposing the columns by name as VARCHAR. */
  source: string;
  /** Builds the relation again for the error path (CSV needs a fresh rejects table). */
  sourceAgain?: () => string;
  columns: ReadColumn[];
  rowChecks?: RowCheck[];
  /** Plausible timestamps; outside it a time is a bad value. Absent: any parsed time is accepted. */
  window?: TimeWindow;
  /** CSV/TSV: the table DuckDB logs rejected rows in. */
  rejectsTable?: string;
  hasHeader: boolean;
  quote: string;
  /** Keep the time column per row (engagements); otherwise only its range is kept. */
  keepTime: boolean;
  skipBadRows: boolean;
  onProgress?: ProgressFn;
}

export interface ReadResult {
  /** Rows kept. */
  rows: number;
  /** Per id column (by key): index per kept row, EMPTY_ID for an empty optional id. */
  ids: Map<string, Int32Array>;
  time: Float64Array | null;
  weight: Float64Array | null;
  action: Uint8Array | null;
  /** Tags per kept row: row r's topics are topics[ptr[r] .. ptr[r+1]). */
  tags: { ptr: Int32Array; topics: Int32Array } | null;
  /** Earliest and latest time among the kept rows (NaN when none has one). */
  minTs: number;
  maxTs: number;
  /** Bad rows found (rows DuckDB could not split included). */
  badRows: number;
  /** Rows left out as live signals (validate.ts SIGNAL_ACTIONS), not engagements. */
  signalRows: number;
  /** Up to MAX_REPORTED_PROBLEMS of them, in file order. */
  problems: InputProblem[];
}

/** A query started ahead of time, so DuckDB can parse the next file while this one is being copied out. */
export interface PendingRead {
  req: ReadRequest;
  conn: DuckDBConnection;
  hashed: Set<string>;
  result: Promise<DuckDBMaterializedResult>;
}

/** Starts the query of a read on conn. */
export function startRead(conn: DuckDBConnection, req: ReadRequest, hashed = new Set<string>()): PendingRead {
  const result = materialize(conn, selectSql(req, hashed, req.source));
  // A rejected query is awaited later; keep Node from reporting it as unhandled meanwhile.
  result.catch(() => {});
  return { req, conn, hashed, result };
}

function isIdRole(role: ColumnRole): boolean {
  return role === 'id' || role === 'optional-id';
}

function valueSql(c: ReadColumn): string {
  if (c.sql) return c.sql;
  switch (c.role) {
    case 'id':
    case 'optional-id':
      return sqlIdent(c.name);
    case 'time':
      return timeSql(c.name);
    case 'weight':
      return weightSql(c.name);
    case 'action':
      return actionSql(c.name);
    case 'tags':
      return tagsSql(c.name);
    case 'ignored':
      throw new Error(`column ${c.name} is not read`);
  }
}

/**
 * The select list: each column's value, then, for the id and tag columns that turned out to hold values longer
 * than 12 bytes, DuckDB's hash of them (the interner keys long values by it).
 */
function selectSql(req: ReadRequest, hashed: ReadonlySet<string>, source: string): string {
  const values = req.columns.map((c) => `${valueSql(c)} AS ${sqlIdent(`v_${c.name}`)}`);
  const checks = (req.rowChecks ?? []).map((c, j) => `COALESCE(${c.sql}, false)::UTINYINT AS "c_${j}"`);
  const hashes: string[] = [];
  for (const c of req.columns) {
    if (!hashed.has(c.name)) continue;
    const v = sqlIdent(`v_${c.name}`);
    hashes.push(
      c.role === 'tags'
        ? `list_transform(${v}, t -> CASE WHEN strlen(t) > 12 THEN hash(t) ELSE 0::UBIGINT END) AS ${sqlIdent(`h_${c.name}`)}`
        : `CASE WHEN strlen(${v}) > 12 THEN hash(${v}) ELSE 0::UBIGINT END AS ${sqlIdent(`h_${c.name}`)}`,
    );
  }
  // Result layout: values, then row checks, then hashes.
  if (hashes.length === 0) return `SELECT ${[...values, ...checks].join(', ')} FROM ${source}`;
  // The hash refers to the value by its alias, so compute values in an inner query.
  const passed = [
    ...req.columns.map((c) => sqlIdent(`v_${c.name}`)),
    ...checks.map((_, j) => `"c_${j}"`),
    ...hashes,
  ];
  return `SELECT ${passed.join(', ')} FROM (SELECT ${[...values, ...checks].join(', ')} FROM ${source})`;
}

class NeedsHash {
  constructor(readonly column: string) {}
}

/** Finishes a read: copies the result out, checks rows, reports and (with skipBadRows) drops bad ones. */
export async function finishRead(pending: PendingRead): Promise<ReadResult> {
  let p = pending;
  for (;;) {
    let result: DuckDBMaterializedResult;
    try {
      result = await p.result;
    } catch (e) {
      throw formatError(p.req.file, e);
    }
    try {
      return await copyOut(p, result);
    } catch (e) {
      if (!(e instanceof NeedsHash)) throw e;
      // A value longer than 12 bytes turned up: run again with hashes for that column. Indices already given
      // out stay valid, since rows come back in the same order.
      const hashed = new Set(p.hashed).add(e.column);
      p = startRead(p.conn, p.req, hashed);
    }
  }
}

async function copyOut(p: PendingRead, result: DuckDBMaterializedResult): Promise<ReadResult> {
  const { req } = p;
  const n = result.rowCount;
  const cols = req.columns;
  const nCols = cols.length;
  // Result column positions: values first, then hashes in column order.
  const checks = req.rowChecks ?? [];
  const hashPos = new Map<string, number>();
  let next = nCols + checks.length;
  for (const c of cols) if (p.hashed.has(c.name)) hashPos.set(c.name, next++);

  const ids = new Map<string, Int32Array>();
  // Id columns that share an interner are interned together, row by row, so first-seen order is row-major.
  const groups: { interner: StringInterner; idx: number[]; outs: Int32Array[]; markEmpty: number[] }[] = [];
  cols.forEach((c, i) => {
    if (!isIdRole(c.role)) return;
    const out = new Int32Array(n);
    ids.set(c.key ?? c.name, out);
    let g = groups.find((x) => x.interner === c.interner);
    if (!g) {
      g = { interner: c.interner!, idx: [], outs: [], markEmpty: [] };
      groups.push(g);
    }
    g.idx.push(i);
    g.outs.push(out);
    g.markEmpty.push(c.role === 'id' ? i + 1 : 0);
  });
  const timeIdx = cols.findIndex((c) => c.role === 'time');
  const weightIdx = cols.findIndex((c) => c.role === 'weight');
  const actionIdx = cols.findIndex((c) => c.role === 'action');
  const tagsIdx = cols.findIndex((c) => c.role === 'tags');
  const time = timeIdx >= 0 && req.keepTime ? new Float64Array(n) : null;
  const weight = weightIdx >= 0 ? new Float64Array(n) : null;
  const action = actionIdx >= 0 ? new Uint8Array(n) : null;
  let tagPtr: Int32Array | null = tagsIdx >= 0 ? new Int32Array(n + 1) : null;
  let tagTopics = new Int32Array(tagsIdx >= 0 ? Math.max(16, n) : 0);
  let childIds = new Int32Array(tagsIdx >= 0 ? 4096 : 0);
  let nTags = 0;
  const requiredIdx = cols.flatMap((c, i) => (c.role === 'id' ? [i] : []));

  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  const win = req.window;
  const notBefore = win ? win.notBefore : Number.NEGATIVE_INFINITY;
  const notAfter = win ? win.notAfter : Number.POSITIVE_INFINITY;
  // Bad rows: every ordinal (to drop them), and the mark and checked value of the first ones (to report them).
  let bad = new Int32Array(16);
  let nBad = 0;
  let signal = new Int32Array(16);
  let nSignal = 0;
  const firstBadMark: number[] = [];
  const firstBadValue: number[] = [];

  const chunks = result.chunkCount;
  // Per chunk row: 0 when good so far, else 1 + the index of the first column that failed, or CHECK_MARK + the
  // index of the row check that failed.
  let mark = new Uint8Array(2048);
  let childSkip = new Uint8Array(4096);
  let first = 0;
  for (let ci = 0; ci < chunks; ci++) {
    const chunk: DataChunk = result.getChunk(ci).chunk;
    const k = chunkSize(chunk);
    if (k === 0) continue;
    if (mark.length < k) mark = new Uint8Array(k);
    mark.fill(0, 0, k);
    // Checks that need no id lookup come first, so bad rows add nothing to the id spaces: a NULL required id,
    // a timestamp that did not parse (+Infinity), a weight that is not a finite number (NaN).
    const strCols = new Map<number, StringColumn>();
    const str = (i: number): StringColumn => {
      let c = strCols.get(i);
      if (!c) {
        c = stringColumn(chunk, i, k);
        strCols.set(i, c);
      }
      return c;
    };
    for (let j = 0; j < checks.length; j++) {
      const f = uint8Column(chunk, nCols + j, k);
      for (let r = 0; r < k; r++) if (mark[r] === 0 && f[r] !== 0) mark[r] = CHECK_MARK + j;
    }
    for (const i of requiredIdx) {
      const v = str(i).validity;
      if (v === null) continue;
      for (let r = 0; r < k; r++) if (mark[r] === 0 && (v[r >>> 3] & (1 << (r & 7))) === 0) mark[r] = i + 1;
    }
    let ts: Float64Array | null = null;
    if (timeIdx >= 0) {
      ts = float64Column(chunk, timeIdx, k);
      if (time) time.set(ts, first);
      // Unparseable (+Infinity) or outside the window; NaN (absent) fails both comparisons and passes.
      for (let r = 0; r < k; r++) {
        const t = ts[r];
        if (mark[r] === 0 && (t < notBefore || t > notAfter)) mark[r] = timeIdx + 1;
      }
    }
    let w: Float64Array | null = null;
    if (weight) {
      w = float64Column(chunk, weightIdx, k);
      weight.set(w, first);
      // A weight is a rating or a count: finite and ≥ 0 (NaN, the non-numeric sentinel, fails too).
      for (let r = 0; r < k; r++) {
        const x = w[r];
        if (mark[r] === 0 && !isPlausibleWeight(x)) mark[r] = weightIdx + 1;
      }
    }
    if (action) {
      const a = uint8Column(chunk, actionIdx, k);
      action.set(a, first);
      // Signal rows are marked before the ids are interned, so ids seen only in them are not added.
      for (let r = 0; r < k; r++) if (mark[r] === 0 && a[r] === ACTION_CODE_SIGNAL) mark[r] = SIGNAL_MARK;
    }
    for (const g of groups) {
      const hashes = g.idx.map((i) => {
        const pos = hashPos.get(cols[i].name);
        return pos === undefined ? null : uint64WordsColumn(chunk, pos, k);
      });
      // Required ids that are only whitespace come out EMPTY_ID: the interner marks those rows.
      const need = g.interner.internRows(g.idx.map(str), hashes, k, g.outs, first, mark, g.markEmpty);
      if (need) throw new NeedsHash(cols[g.idx[need.column]].name);
    }
    if (tagPtr) {
      const list = stringListColumn(chunk, tagsIdx, k);
      const childRows = list.child.words.length / 4;
      if (childIds.length < childRows) childIds = new Int32Array(Math.max(childRows, childIds.length * 2));
      if (childSkip.length < childRows) childSkip = new Uint8Array(childIds.length);
      const e = list.entries;
      const lv = list.validity;
      // Tags of bad rows are not interned either.
      childSkip.fill(1, 0, childRows);
      for (let r = 0; r < k; r++) {
        if (mark[r] !== 0 || (lv !== null && (lv[r >>> 3] & (1 << (r & 7))) === 0)) continue;
        childSkip.fill(0, e[r * 4], e[r * 4] + e[r * 4 + 2]);
      }
      const hashPosTags = hashPos.get(cols[tagsIdx].name);
      const childHash =
        hashPosTags === undefined ? null : uint64ListChildWords(chunk, hashPosTags, childRows);
      const need = cols[tagsIdx].interner!.internRows(
        [list.child],
        [childHash],
        childRows,
        [childIds],
        0,
        childSkip,
      );
      if (need) throw new NeedsHash(cols[tagsIdx].name);
      if (tagTopics.length < nTags + childRows) {
        const grown = new Int32Array(Math.max(tagTopics.length * 2, nTags + childRows));
        grown.set(tagTopics.subarray(0, nTags));
        tagTopics = grown;
      }
      for (let r = 0; r < k; r++) {
        tagPtr[first + r] = nTags;
        if (mark[r] !== 0 || (lv !== null && (lv[r >>> 3] & (1 << (r & 7))) === 0)) continue;
        const off = e[r * 4];
        const end = off + e[r * 4 + 2];
        for (let q = off; q < end; q++) {
          const t = childIds[q];
          if (t !== EMPTY_ID) tagTopics[nTags++] = t;
        }
      }
      tagPtr[first + k] = nTags;
    }
    for (let r = 0; r < k; r++) {
      if (mark[r] === SIGNAL_MARK) {
        if (nSignal === signal.length) {
          const grown = new Int32Array(signal.length * 2);
          grown.set(signal);
          signal = grown;
        }
        signal[nSignal++] = first + r;
        continue;
      }
      if (mark[r] === 0) {
        // The time range covers kept rows only: it is what the model's clock is read from.
        if (ts !== null) {
          const t = ts[r];
          if (t < minTs) minTs = t;
          if (t > maxTs) maxTs = t;
        }
        continue;
      }
      if (nBad === bad.length) {
        const grown = new Int32Array(bad.length * 2);
        grown.set(bad);
        bad = grown;
      }
      bad[nBad++] = first + r;
      if (firstBadMark.length < MAX_REPORTED_PROBLEMS) {
        const m = mark[r];
        firstBadMark.push(m);
        firstBadValue.push(m === timeIdx + 1 && ts ? ts[r] : m === weightIdx + 1 && w ? w[r] : Number.NaN);
      }
    }
    first += k;
    req.onProgress?.(`read ${req.file.name}`, first, n);
  }

  const rejects = req.rejectsTable ? await readRejects(p.conn, req.rejectsTable) : [];
  const badRows = nBad + rejects.length;
  let problems: InputProblem[] = [];
  if (badRows > 0) {
    problems = await describeBadRows(
      p,
      bad.subarray(0, Math.min(nBad, MAX_REPORTED_PROBLEMS)),
      firstBadMark,
      firstBadValue,
      rejects,
    );
    if (!req.skipBadRows) throw new BadRows(problems, badRows);
  }

  let kept = n;
  if (nBad + nSignal > 0) {
    // Squeeze the bad and the signal rows out of every column, in place.
    const keep = new Uint8Array(n).fill(1);
    for (let i = 0; i < nBad; i++) keep[bad[i]] = 0;
    for (let i = 0; i < nSignal; i++) keep[signal[i]] = 0;
    kept = n - nBad - nSignal;
    for (const a of ids.values()) compact(a, keep);
    if (time) compact(time, keep);
    if (weight) compact(weight, keep);
    if (action) compact(action, keep);
    if (tagPtr) {
      const ptr = new Int32Array(kept + 1);
      const topics = new Int32Array(nTags);
      let w = 0;
      let row = 0;
      for (let r = 0; r < n; r++) {
        if (!keep[r]) continue;
        ptr[row++] = w;
        for (let q = tagPtr[r]; q < tagPtr[r + 1]; q++) topics[w++] = tagTopics[q];
      }
      ptr[row] = w;
      tagPtr = ptr;
      tagTopics = topics.subarray(0, w);
      nTags = w;
    }
  }
  const trim = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T =>
    a.length > kept ? (a.subarray(0, kept) as T) : a;
  for (const [name, a] of ids) ids.set(name, trim(a));
  return {
    rows: kept,
    ids,
    time: time ? trim(time) : null,
    weight: weight ? trim(weight) : null,
    action: action ? trim(action) : null,
    tags: tagPtr ? { ptr: tagPtr, topics: tagTopics.subarray(0, nTags) } : null,
    minTs: minTs === Number.POSITIVE_INFINITY ? Number.NaN : minTs,
    maxTs: maxTs === Number.NEGATIVE_INFINITY ? Number.NaN : maxTs,
    badRows,
    signalRows: nSignal,
    problems,
  };
}

/** Thrown (and turned into a coded error by the loader) when bad rows are not to be skipped. */
export class BadRows extends Error {
  constructor(
    readonly problems: InputProblem[],
    readonly total: number,
  ) {
    super(`${total} bad rows`);
  }
}

function compact<T extends Int32Array | Float64Array | Uint8Array>(a: T, keep: Uint8Array): void {
  let w = 0;
  for (let r = 0; r < keep.length; r++) if (keep[r]) a[w++] = a[r];
}

interface Reject {
  line: number;
  /** The field the parser was in, for quoting and encoding errors (others are about the whole line). */
  column: string | null;
  reason: string;
}

const FIELD_REJECTS = new Set(['UNQUOTED VALUE', 'INVALID UNICODE', 'INVALID ENCODING']);

async function readRejects(conn: DuckDBConnection, table: string): Promise<Reject[]> {
  const r = await conn.runAndReadAll(
    `SELECT line, any_value(column_name), any_value(error_type), any_value(error_message) FROM ${sqlIdent(table)} GROUP BY line ORDER BY line`,
  );
  return r.getRowsJS().map((row) => ({
    line: Number(row[0]),
    column: FIELD_REJECTS.has(String(row[2])) ? ((row[1] as string | null) ?? null) : null,
    reason: rejectReason(String(row[2]), String(row[3] ?? '')),
  }));
}

/**
 * Turns the first bad rows into problems: their lines (one more scan of the file), and for values that did not
 * parse, the raw text (one more query, stopped after the last wanted row).
 */
async function describeBadRows(
  p: PendingRead,
  badOrdinals: Int32Array,
  badMark: readonly number[],
  badValue: readonly number[],
  rejects: readonly Reject[],
): Promise<InputProblem[]> {
  const { req } = p;
  const file = req.file;
  const checks = req.rowChecks ?? [];
  const ordinals = Array.from(badOrdinals);
  const rejected = rejects.slice(0, MAX_REPORTED_PROBLEMS);
  // The column whose raw text each bad row's message quotes (-1: none).
  const rawColumn = badMark.map((m) => {
    if (m >= CHECK_MARK) {
      const check = checks[m - CHECK_MARK];
      return typeof check.reason === 'function' && check.column !== undefined
        ? req.columns.findIndex((c) => c.name === check.column)
        : -1;
    }
    const role = req.columns[m - 1].role;
    return role === 'time' || role === 'weight' ? m - 1 : -1;
  });
  const raw = await rawValues(p, ordinals, rawColumn);
  const located =
    file.format === 'parquet'
      ? null
      : await locateRows(file, ordinals, new Set(rejected.map((x) => x.line)), req.hasHeader, req.quote);
  const out: { key: number; problem: InputProblem }[] = [];
  ordinals.forEach((ord, i) => {
    const m = badMark[i];
    const problem: InputProblem = { code: 'INPUT_BAD_ROW', file: file.path, reason: '' };
    if (m >= CHECK_MARK) {
      const check = checks[m - CHECK_MARK];
      if (check.column !== undefined) problem.column = check.column;
      problem.reason = typeof check.reason === 'function' ? check.reason(raw.get(ord) ?? null) : check.reason;
    } else {
      const c = req.columns[m - 1];
      problem.column = c.name;
      problem.reason = badValueReason(c.role, raw.get(ord) ?? null, badValue[i], req.window);
    }
    if (located) problem.line = located.rowLine.get(ord);
    else problem.row = ord + 1;
    out.push({ key: problem.line ?? ord + 1, problem });
  });
  for (const rj of rejected) {
    const line = located?.rejectLine.get(rj.line) ?? rj.line;
    const problem: InputProblem = { code: 'INPUT_BAD_ROW', file: file.path, line, reason: rj.reason };
    // A JSONL line is read as one text field; its name is no column of the file.
    if (rj.column !== null && file.format !== 'jsonl') problem.column = rj.column;
    out.push({ key: line, problem });
  }
  out.sort((a, b) => a.key - b.key);
  return out.slice(0, MAX_REPORTED_PROBLEMS).map((x) => x.problem);
}

/** The raw text of the given rows' columns (column index per row, -1 for none), as the source exposes it. */
async function rawValues(
  p: PendingRead,
  ordinals: number[],
  rawColumn: readonly number[],
): Promise<Map<number, string | null>> {
  const { req } = p;
  const out = new Map<number, string | null>();
  const wanted = new Map<number, number>();
  ordinals.forEach((ord, i) => {
    if (rawColumn[i] >= 0) wanted.set(ord, rawColumn[i]);
  });
  if (wanted.size === 0) return out;
  const needed = [...new Set(wanted.values())];
  const pos = new Map(needed.map((c, i) => [c, i]));
  const source = req.sourceAgain ? req.sourceAgain() : req.source;
  const select = needed.map((c) => `CAST(${sqlIdent(req.columns[c].name)} AS VARCHAR)`).join(', ');
  const last = Math.max(...wanted.keys());
  try {
    const res = await p.conn.stream(`SELECT ${select} FROM ${source}`);
    let first = 0;
    while (first <= last) {
      const chunk = await res.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const k = chunk.rowCount;
      for (const [ord, col] of wanted) {
        if (ord < first || ord >= first + k) continue;
        const sc = stringColumn(chunk.chunk, pos.get(col)!, k);
        const r = ord - first;
        out.set(ord, sc.validity && !(sc.validity[r >>> 3] & (1 << (r & 7))) ? null : readString(sc, r));
      }
      first += k;
    }
  } catch {
    // The values only decorate the message; the problem stands without them.
  }
  return out;
}

/** A fresh name for a rejects table. */
let rejectsCounter = 0;
export function rejectsTableName(): string {
  return `simrec_rejects_${++rejectsCounter}`;
}
