/**
 * The thin layer between simrec and DuckDB: one in-memory instance per load, SQL literal quoting, and raw column
 * access. Results are materialised (DuckDB runs the query on all its threads) and then read chunk by chunk
 * straight from DuckDB's vectors: fixed-width columns are copied with one typed-array `set` per chunk, strings
 * are read as their 16-byte `string_t` headers, so no value is ever turned into a JS object on the way.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBMaterializedResult } from '@duckdb/node-api';
// node-api keeps the raw vector memory private; its own binding layer (the same pinned version) exposes it.
import duckdb from '@duckdb/node-bindings';

export type DataChunk = duckdb.DataChunk;

/** An open DuckDB connection and the instance that owns it; `close()` releases both. */
export interface Duck {
  conn: DuckDBConnection;
  /** Another connection to the same database (queries on different connections run concurrently). */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/** Opens a private in-memory DuckDB with UTC session time (so ISO timestamps without an offset mean UTC). */
export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:', {
    // File order must survive the scan: row ordinals are how bad rows are traced back to their lines.
    preserve_insertion_order: 'true',
  });
  const conns: DuckDBConnection[] = [];
  const connect = async () => {
    const c = await instance.connect();
    await c.run("SET TimeZone = 'UTC'");
    conns.push(c);
    return c;
  };
  const conn = await connect();
  return {
    conn,
    connect,
    close() {
      for (const c of conns) c.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A SQL identifier, quoted. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Runs a query and keeps the whole result in DuckDB's memory, to be read chunk by chunk. */
export async function materialize(conn: DuckDBConnection, sql: string): Promise<DuckDBMaterializedResult> {
  return conn.run(sql);
}

/** Calls `visit(chunk, rows, firstRow)` for every chunk of a materialised result, in order. */
export function forEachChunk(
  result: DuckDBMaterializedResult,
  visit: (chunk: DataChunk, rows: number, firstRow: number) => void,
): void {
  const n = result.chunkCount;
  let first = 0;
  for (let i = 0; i < n; i++) {
    const chunk = result.getChunk(i).chunk;
    const rows = duckdb.data_chunk_get_size(chunk);
    if (rows === 0) continue;
    visit(chunk, rows, first);
    first += rows;
  }
}

/** Rows in a chunk. */
export function chunkSize(chunk: DataChunk): number {
  return duckdb.data_chunk_get_size(chunk);
}

/** The child values of a LIST(UBIGINT) column as (lo, hi) uint32 word pairs. */
export function uint64ListChildWords(chunk: DataChunk, col: number, childRows: number): Uint32Array {
  const child = duckdb.list_vector_get_child(duckdb.data_chunk_get_vector(chunk, col));
  const b = duckdb.vector_get_data(child, childRows * 8);
  return new Uint32Array(b.buffer, b.byteOffset, childRows * 2);
}

function vectorBytes(chunk: DataChunk, col: number, bytes: number): Uint8Array {
  return duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, col), bytes);
}

/** The DOUBLE column `col` of a chunk, as a view valid while the chunk lives. */
export function float64Column(chunk: DataChunk, col: number, rows: number): Float64Array {
  const b = vectorBytes(chunk, col, rows * 8);
  return new Float64Array(b.buffer, b.byteOffset, rows);
}

/** The INTEGER column `col` of a chunk, as a view. */
export function int32Column(chunk: DataChunk, col: number, rows: number): Int32Array {
  const b = vectorBytes(chunk, col, rows * 4);
  return new Int32Array(b.buffer, b.byteOffset, rows);
}

/** The UTINYINT column `col` of a chunk, as a view. */
export function uint8Column(chunk: DataChunk, col: number, rows: number): Uint8Array {
  return vectorBytes(chunk, col, rows);
}

/** The UBIGINT column `col` as (lo, hi) uint32 word pairs, a view. */
export function uint64WordsColumn(chunk: DataChunk, col: number, rows: number): Uint32Array {
  const b = vectorBytes(chunk, col, rows * 8);
  return new Uint32Array(b.buffer, b.byteOffset, rows * 2);
}

/**
 * A VARCHAR column: its `string_t` headers (16 bytes per row: uint32 length, then either the bytes inline when
 * length ≤ 12, zero padded, or a 4-byte prefix and a pointer) as bytes and as uint32 words, and its validity
 * mask (null when every row is valid).
 */
export interface StringColumn {
  bytes: Uint8Array;
  words: Uint32Array;
  validity: Uint8Array | null;
  /** The vector itself, to read long strings through their pointers. */
  vector: duckdb.Vector;
}

export function stringColumn(chunk: DataChunk, col: number, rows: number): StringColumn {
  const vector = duckdb.data_chunk_get_vector(chunk, col);
  const bytes = duckdb.vector_get_data(vector, rows * 16);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, rows * 4);
  return { bytes, words, validity: validityOf(vector, rows), vector };
}

/** A LIST(VARCHAR) column: per row (offset, length) into the child strings, plus the child column. */
export interface StringListColumn {
  /** uint64 (offset, length) pairs read as uint32 words: row r spans child [words[4r], words[4r] + words[4r+2]). */
  entries: Uint32Array;
  validity: Uint8Array | null;
  child: StringColumn;
}

export function stringListColumn(chunk: DataChunk, col: number, rows: number): StringListColumn {
  const vector = duckdb.data_chunk_get_vector(chunk, col);
  const b = duckdb.vector_get_data(vector, rows * 16);
  const entries = new Uint32Array(b.buffer, b.byteOffset, rows * 4);
  const childRows = duckdb.list_vector_get_size(vector);
  const childVector = duckdb.list_vector_get_child(vector);
  const childBytes = duckdb.vector_get_data(childVector, childRows * 16);
  const child: StringColumn = {
    bytes: childBytes,
    words: new Uint32Array(childBytes.buffer, childBytes.byteOffset, childRows * 4),
    validity: validityOf(childVector, childRows),
    vector: childVector,
  };
  return { entries, validity: validityOf(vector, rows), child };
}

/** The validity mask of a column (bit r of the little-endian words = row r is not NULL), or null if all valid. */
export function validityOf(vector: duckdb.Vector, rows: number): Uint8Array | null {
  const bytes = duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
  return bytes && bytes.byteLength > 0 ? bytes : null;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes the string at row r of a VARCHAR column (the caller checks validity). */
export function readString(col: StringColumn, r: number): string {
  const len = col.words[r * 4];
  if (len <= 12) {
    const start = r * 16 + 4;
    const b = col.bytes;
    // Ids are mostly ASCII: build those directly instead of paying for a decoder call per id.
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if (b[start + i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(start, start + len) as unknown as number[]);
    return utf8.decode(b.subarray(start, start + len));
  }
  const data = duckdb.get_data_from_pointer(
    col.bytes.buffer as ArrayBuffer,
    col.bytes.byteOffset + r * 16 + 8,
    len,
  );
  return utf8.decode(data);
}
