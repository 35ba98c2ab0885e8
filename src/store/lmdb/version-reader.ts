/**
 * Reads one committed version from its LMDB file, opened read-only so any number of processes share the
 * mapping. Values of 16 MiB and more come back from lmdb-js as views of the memory map and are decoded in
 * place (zero-copy); smaller ones arrive in lmdb-js's reused read buffer and are copied once into a fresh,
 * aligned buffer. Either way a decoded entry stays valid until close(), and big entries are decoded once and
 * cached. Every method has a synchronous twin (`…Sync`) for callers that know they hold an LMDB reader.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CsrMatrix } from '../../core/csr.ts';
import { SimrecError } from '../../core/errors.ts';
import type { IdMap } from '../../core/id-map.ts';
import {
  assertLittleEndianHost,
  decodeBlob,
  decodeCsr,
  decodeDense,
  decodeIdMap,
  decodeJson,
  decodeTypedArray,
  MAGIC,
  peekKind,
  SPARSE_ROW_HEADER,
  sparseRowBytes,
  sparseRowNnz,
} from '../codec.ts';
import { fileQuickSumSync, quickSumKind, quickSumMatches } from '../manifest.ts';
import type {
  DenseMatrix,
  DType,
  DTypeArrays,
  EntryKind,
  EntryRecord,
  Manifest,
  SparseRow,
  StoredArray,
  VersionReader,
} from '../store.ts';
import { RowHashStream } from '../writer-base.ts';
import {
  DATA_FILE,
  LAZY_FILE,
  openVersionEnv,
  rowKeyBuffer,
  rowKeyRange,
  setRow,
  type VersionEnv,
} from './layout.ts';

/**
 * An exact view of what lmdb-js returned: its reused read buffer reports the value's size in `length` but keeps
 * its full capacity in `byteLength`, which is what hashing and typed views go by.
 */
function exact<T extends Uint8Array | undefined>(bytes: T): T {
  if (bytes === undefined || bytes.byteLength === bytes.length) return bytes;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) as T;
}

/** What a row lookup needs of a sparse-rows entry, resolved once per entry. */
interface RowHandle {
  key: string;
  rowKey: Buffer;
  nRows: number;
  nCols: number;
}

function sharesMap(bytes: Uint8Array): boolean {
  // lmdb-js marks ArrayBuffers that wrap its memory map; anything else is a buffer it will overwrite.
  return (bytes.buffer as { isSharedMap?: boolean }).isSharedMap === true;
}

export class LmdbVersionReader implements VersionReader {
  readonly id: string;
  private readonly byKey = new Map<string, EntryRecord>();
  private readonly sortedKeys: string[];
  private readonly cache = new Map<string, unknown>();
  private readonly rowHandles = new Map<string, RowHandle>();
  private rowBuffer: ArrayBufferLike | undefined;
  private rowI32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private rowF32: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private rowAt = 0;
  private isClosed = false;
  /** The lazy part (LAZY_FILE), opened on the first read of one of its entries. */
  private lazyDb: VersionEnv | undefined;

  private constructor(
    readonly manifest: Manifest,
    private readonly path: string,
    private readonly db: VersionEnv,
    private lazyChecked: boolean,
  ) {
    this.id = manifest.id;
    for (const e of manifest.entries) this.byKey.set(e.key, e);
    this.sortedKeys = [...this.byKey.keys()].sort();
  }

  /**
   * Opens the version in dir described by manifest. Its lazy part, if any, is checked against the manifest on
   * the first read of one of its entries, unless the caller checked it already (`lazyChecked`).
   * @throws ARTIFACT_CORRUPT when its data file is unusable
   */
  static open(dir: string, manifest: Manifest, options: { lazyChecked?: boolean } = {}): LmdbVersionReader {
    const path = join(dir, DATA_FILE);
    if (!existsSync(path))
      throw new SimrecError('ARTIFACT_CORRUPT', `version ${manifest.id} has a manifest but no ${DATA_FILE}`, {
        file: path,
      });
    // Row lookups read the stored little-endian words through host-order typed views.
    assertLittleEndianHost();
    return new LmdbVersionReader(manifest, path, openVersionEnv(path, true), options.lazyChecked === true);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  has(key: string): boolean {
    this.assertOpen();
    return this.byKey.has(key);
  }

  entry(key: string): EntryRecord | undefined {
    this.assertOpen();
    return this.byKey.get(key);
  }

  keys(prefix = ''): string[] {
    this.assertOpen();
    return prefix ? this.sortedKeys.filter((k) => k.startsWith(prefix)) : [...this.sortedKeys];
  }

  // ---- synchronous access ----------------------------------------------------------------------------------

  blobSync(key: string): Uint8Array {
    return decodeBlob(this.stable(this.entryOf(key, 'blob')), key);
  }

  typedArraySync(key: string): StoredArray;
  typedArraySync<D extends DType>(key: string, dtype: D): DTypeArrays[D];
  typedArraySync(key: string, dtype?: DType): StoredArray {
    const e = this.entryOf(key, 'typed-array');
    if (dtype && e.dtype !== dtype)
      throw new SimrecError('INTERNAL', `entry '${key}' holds ${e.dtype} values, not ${dtype}`, {
        field: key,
      });
    return this.cached(key, () => {
      const a = decodeTypedArray(this.stable(e), key);
      if (a.length !== e.shape[0]) throw this.corrupt(key, 'length differs from the manifest');
      return a;
    });
  }

  idMapSync(key: string): IdMap {
    const e = this.entryOf(key, 'id-map');
    return this.cached(key, () => decodeIdMap(this.stable(e), key));
  }

  csrSync(key: string): CsrMatrix {
    const e = this.entryOf(key, 'csr', 'sparse-rows');
    return this.cached(key, () => {
      const m = decodeCsr(this.stable(e), key);
      if (m.nRows !== e.shape[0] || m.nCols !== e.shape[1])
        throw this.corrupt(key, 'shape differs from the manifest');
      return m;
    });
  }

  denseSync(key: string): DenseMatrix {
    const e = this.entryOf(key, 'dense');
    return this.cached(key, () => {
      const m = decodeDense(this.stable(e), key);
      if (m.rows !== e.shape[0] || m.dim !== e.shape[1])
        throw this.corrupt(key, 'shape differs from the manifest');
      return m;
    });
  }

  /** Row r of a dense entry, as a view of the (cached) matrix. */
  denseRowSync(key: string, row: number): Float32Array {
    const m = this.denseSync(key);
    if (!Number.isInteger(row) || row < 0 || row >= m.rows)
      throw new SimrecError('NOT_FOUND', `row ${row} outside [0, ${m.rows}) of '${key}'`, { field: key });
    return m.data.subarray(row * m.dim, (row + 1) * m.dim);
  }

  jsonSync<T = unknown>(key: string): T {
    // Parsed afresh each time, so callers may change what they get.
    return decodeJson(this.stable(this.entryOf(key, 'json')), key) as T;
  }

  /** Row r of a sparse-rows entry, in fresh arrays (empty when the row has no entries). */
  sparseRowSync(key: string, row: number): SparseRow {
    const h = this.rowHandle(key);
    const nnz = this.locateRow(h, row);
    const out: SparseRow = { ids: new Int32Array(nnz), values: new Float32Array(nnz) };
    this.copyRow(nnz, out.ids, out.values, 0, nnz);
    this.checkRow(h, row, out.ids, out.values, 0, nnz);
    return out;
  }

  /**
   * Copies row r of a sparse-rows entry into ids/values without allocating, for serving hot paths. Returns the
   * row's entry count; when that exceeds the buffers, only as many entries as fit are copied.
   */
  readSparseRowInto(key: string, row: number, ids: Int32Array, values: Float32Array): number {
    const h = this.rowHandle(key);
    const nnz = this.locateRow(h, row);
    const count = Math.min(nnz, ids.length, values.length);
    this.copyRow(nnz, ids, values, 0, count);
    this.checkRow(h, row, ids, values, 0, count);
    return nnz;
  }

  /** The given rows as one matrix: row i of the result is row rows[i] of the entry. */
  sparseRowsSync(key: string, rows: ArrayLike<number>): CsrMatrix {
    const h = this.rowHandle(key);
    const n = rows.length;
    const indptr = new Int32Array(n + 1);
    let ids = new Int32Array(64);
    let values = new Float32Array(64);
    let nnz = 0;
    for (let i = 0; i < n; i++) {
      const k = this.locateRow(h, rows[i]);
      if (nnz + k > ids.length) {
        const cap = Math.max(2 * ids.length, nnz + k);
        const grownIds = new Int32Array(cap);
        grownIds.set(ids.subarray(0, nnz));
        const grownValues = new Float32Array(cap);
        grownValues.set(values.subarray(0, nnz));
        ids = grownIds;
        values = grownValues;
      }
      this.copyRow(k, ids, values, nnz, k);
      this.checkRow(h, rows[i], ids, values, nnz, k);
      nnz += k;
      indptr[i + 1] = nnz;
    }
    return new CsrMatrix(n, h.nCols, indptr, ids.slice(0, nnz), values.slice(0, nnz));
  }

  /**
   * Re-reads every entry and row and checks kind, byte count and SHA-256 against the manifest, and that the
   * file holds nothing the manifest does not list. @throws ARTIFACT_CORRUPT naming the first bad entry
   */
  verifySync(): void {
    this.assertOpen();
    const { data, rows } = this.db;
    let rowKeysSeen = 0;
    let lazyEntries = 0;
    for (const e of this.manifest.entries) {
      if (e.file !== undefined) lazyEntries++;
      const head = exact(this.envOf(e, false).data.getBinaryFast(e.key));
      if (head === undefined) throw this.corrupt(e.key, 'is listed in the manifest but not stored');
      const kind = peekKind(head);
      if (kind !== (e.kind === 'sparse-rows' ? 'csr' : e.kind))
        throw this.corrupt(e.key, `holds ${kind ?? 'unknown data'}, the manifest says ${e.kind}`);
      // Hashed at once: head lives in a buffer the next read overwrites.
      const hash = createHash('sha256').update(head);
      let bytes = head.byteLength;
      if (e.kind === 'sparse-rows') {
        let n = 0;
        // Gathered, not hashed row by row: a Buffer subarray and two hash calls per row cost more than reading.
        const hashed = new RowHashStream(hash);
        for (const { key, value } of rows.getRange(rowKeyRange(e.key))) {
          const v = exact(value);
          hashed.rowOfKey(key, v);
          bytes += v.byteLength;
          n++;
        }
        hashed.flush();
        if (n !== e.rowKeys)
          throw this.corrupt(e.key, `has ${n} stored rows, the manifest says ${e.rowKeys}`);
        rowKeysSeen += n;
      }
      if (bytes !== e.bytes) throw this.corrupt(e.key, `has ${bytes} bytes, the manifest says ${e.bytes}`);
      if (hash.digest('hex') !== e.sha256) throw this.corrupt(e.key, 'does not match its checksum');
    }
    const dataKeys = data.getCount();
    if (dataKeys !== this.manifest.entries.length - lazyEntries)
      throw this.corrupt(
        '*',
        `file holds ${dataKeys} entries, the manifest lists ${this.manifest.entries.length - lazyEntries}`,
      );
    const lazyKeys = lazyEntries > 0 ? this.lazyEnv(false).data.getCount() : 0;
    if (lazyKeys !== lazyEntries)
      throw this.corrupt('*', `${LAZY_FILE} holds ${lazyKeys} entries, the manifest lists ${lazyEntries}`);
    const rowKeys = rows.getCount();
    if (rowKeys !== rowKeysSeen)
      throw this.corrupt('*', `file holds ${rowKeys - rowKeysSeen} rows of no entry`);
  }

  // ---- the asynchronous contract ---------------------------------------------------------------------------

  async blob(key: string): Promise<Uint8Array> {
    return this.blobSync(key);
  }

  typedArray(key: string): Promise<StoredArray>;
  typedArray<D extends DType>(key: string, dtype: D): Promise<DTypeArrays[D]>;
  async typedArray(key: string, dtype?: DType): Promise<StoredArray> {
    return dtype ? this.typedArraySync(key, dtype) : this.typedArraySync(key);
  }

  async idMap(key: string): Promise<IdMap> {
    return this.idMapSync(key);
  }

  async csr(key: string): Promise<CsrMatrix> {
    return this.csrSync(key);
  }

  async sparseRow(key: string, row: number): Promise<SparseRow> {
    return this.sparseRowSync(key, row);
  }

  async sparseRows(key: string, rows: ArrayLike<number>): Promise<CsrMatrix> {
    return this.sparseRowsSync(key, rows);
  }

  async dense(key: string): Promise<DenseMatrix> {
    return this.denseSync(key);
  }

  async denseRow(key: string, row: number): Promise<Float32Array> {
    return this.denseRowSync(key, row);
  }

  async json<T = unknown>(key: string): Promise<T> {
    return this.jsonSync<T>(key);
  }

  async verify(): Promise<void> {
    this.verifySync();
  }

  /** Unmaps the file: anything zero-copy this reader returned must no longer be touched. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.cache.clear();
    await this.db.env.close();
    await this.lazyDb?.env.close();
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.isClosed) throw new SimrecError('INTERNAL', `reader of version ${this.id} is closed`);
  }

  private corrupt(key: string, why: string): SimrecError {
    return new SimrecError('ARTIFACT_CORRUPT', `version ${this.id}: entry '${key}' ${why}`, {
      file: this.path,
      field: key,
    });
  }

  private entryOf(key: string, ...kinds: EntryKind[]): EntryRecord {
    this.assertOpen();
    const e = this.byKey.get(key);
    if (!e)
      throw new SimrecError('ARTIFACT_MISSING', `version ${this.id} has no entry '${key}'`, { field: key });
    if (!kinds.includes(e.kind))
      throw new SimrecError('INTERNAL', `entry '${key}' is a ${e.kind}, not a ${kinds.join(' or ')}`, {
        field: key,
      });
    return e;
  }

  private cached<T>(key: string, load: () => T): T {
    let v = this.cache.get(key) as T | undefined;
    if (v === undefined) {
      v = load();
      this.cache.set(key, v);
    }
    return v;
  }

  /** The environment holding e; a lazy entry's part is checked first unless `check` is false. */
  private envOf(e: EntryRecord, check = true): VersionEnv {
    if (e.file === undefined) return this.db;
    if (e.file !== LAZY_FILE) throw this.corrupt(e.key, `is in ${e.file}, which this version cannot hold`);
    return this.lazyEnv(check);
  }

  /**
   * The lazy part, opened on first use; with `check`, its size and fast checksum are compared with the manifest
   * the first time (one pass over the file, in this thread, since reads are synchronous).
   */
  private lazyEnv(check: boolean): VersionEnv {
    const path = join(dirname(this.path), LAZY_FILE);
    if (check && !this.lazyChecked) {
      const record = this.manifest.files?.find((f) => f.name === LAZY_FILE);
      if (record) {
        let got: ReturnType<typeof fileQuickSumSync>;
        try {
          got = fileQuickSumSync(path, quickSumKind(record));
        } catch (e) {
          throw new SimrecError(
            (e as { code?: string }).code === 'ENOENT' ? 'ARTIFACT_CORRUPT' : 'ARTIFACT_IO',
            `version ${this.id}: cannot read ${path}: ${(e as Error).message}`,
            { file: path },
            { cause: e },
          );
        }
        if (!quickSumMatches(record, got))
          throw new SimrecError(
            'ARTIFACT_CORRUPT',
            `version ${this.id}: ${path} does not match the checksum recorded at commit`,
            { file: path },
          );
      }
      this.lazyChecked = true;
    }
    if (this.lazyDb === undefined) {
      if (!existsSync(path))
        throw new SimrecError(
          'ARTIFACT_CORRUPT',
          `version ${this.id} lists entries in ${LAZY_FILE} but has none`,
          {
            file: path,
          },
        );
      this.lazyDb = openVersionEnv(path, true);
    }
    return this.lazyDb;
  }

  /** The entry's stored bytes, stable until close: the map itself when lmdb-js hands it out, else a copy. */
  private stable(e: EntryRecord): Uint8Array {
    const bytes = exact(this.envOf(e).data.getBinaryFast(e.key));
    if (bytes === undefined) throw this.corrupt(e.key, 'is listed in the manifest but not stored');
    if (e.kind !== 'sparse-rows' && bytes.byteLength !== e.bytes)
      throw this.corrupt(e.key, `has ${bytes.byteLength} bytes, the manifest says ${e.bytes}`);
    return sharesMap(bytes) ? bytes : new Uint8Array(bytes);
  }

  private rowHandle(key: string): RowHandle {
    let h = this.rowHandles.get(key);
    if (h === undefined) {
      const e = this.entryOf(key, 'sparse-rows');
      h = { key, rowKey: rowKeyBuffer(key), nRows: e.shape[0], nCols: e.shape[1] };
      this.rowHandles.set(key, h);
    } else this.assertOpen();
    return h;
  }

  /**
   * Finds a row and returns its entry count (0 when the row is not stored), leaving its ids at
   * rowI32[rowAt ..] and values at rowF32[rowAt + nnz ..]. The views cover lmdb-js's read buffer (reused by the
   * next read) and are rebuilt only when that buffer changes, so a lookup allocates nothing.
   */
  private locateRow(h: RowHandle, row: number): number {
    if (!(row >= 0 && row < h.nRows && Number.isInteger(row)))
      throw new SimrecError('NOT_FOUND', `row ${row} outside [0, ${h.nRows}) of '${h.key}'`, {
        field: h.key,
      });
    let bytes: Uint8Array | undefined = this.db.rows.getBinaryFast(setRow(h.rowKey, row));
    if (bytes === undefined) return 0;
    const len = bytes.length;
    if ((bytes.byteOffset & 3) !== 0) bytes = new Uint8Array(bytes.subarray(0, len));
    const buf = bytes.buffer;
    if (buf !== this.rowBuffer) {
      this.rowBuffer = buf;
      this.rowI32 = new Int32Array(buf, 0, buf.byteLength >> 2);
      this.rowF32 = new Float32Array(buf, 0, buf.byteLength >> 2);
    }
    const at = bytes.byteOffset >> 2;
    const nnz = len >= SPARSE_ROW_HEADER ? this.rowI32[at + 1] : -1;
    if (len < SPARSE_ROW_HEADER || this.rowI32[at] >>> 0 !== MAGIC.sparseRow || len !== sparseRowBytes(nnz)) {
      sparseRowNnz(exact(bytes), h.key); // throws the precise ARTIFACT_CORRUPT
      throw this.corrupt(h.key, `row ${row} is damaged`);
    }
    this.rowAt = at + 2;
    return nnz;
  }

  /**
   * Range-checks a copied row: ids inside [0, nCols), values finite. A row is read per request, not covered by
   * a checksum at that moment, and this costs two compares per entry, so a damaged row (a cluster id 16777215
   * in an embedding) fails the request instead of changing its answer.
   */
  private checkRow(
    h: RowHandle,
    row: number,
    ids: Int32Array,
    values: Float32Array,
    from: number,
    count: number,
  ): void {
    const end = from + count;
    for (let k = from; k < end; k++) {
      const c = ids[k];
      if (c < 0 || c >= h.nCols)
        throw this.corrupt(h.key, `row ${row} holds column ${c} outside [0, ${h.nCols})`);
      if (!Number.isFinite(values[k])) throw this.corrupt(h.key, `row ${row} holds the value ${values[k]}`);
    }
  }

  /** Copies count entries of the row locateRow found into ids/values at offset `into`. */
  private copyRow(nnz: number, ids: Int32Array, values: Float32Array, into: number, count: number): void {
    const src = this.rowAt;
    if (count > 64) {
      ids.set(this.rowI32.subarray(src, src + count), into);
      values.set(this.rowF32.subarray(src + nnz, src + nnz + count), into);
      return;
    }
    const i32 = this.rowI32;
    const f32 = this.rowF32;
    for (let k = 0; k < count; k++) {
      ids[into + k] = i32[src + k];
      values[into + k] = f32[src + nnz + k];
    }
  }
}
