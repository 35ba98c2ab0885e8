/**
 * The backend-neutral half of a VersionWriter: key and state checks, encoding (codec.ts), and the entry records
 * with sizes and SHA-256 that commit verifies against. A backend supplies only how encoded bytes are stored
 * and how a version is committed or aborted, so every backend stores byte-identical values and checksums.
 */
import { createHash, type Hash } from 'node:crypto';
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import {
  csrShape,
  dtypeOf,
  encodeBlob,
  encodeCsr,
  encodeDense,
  encodeIdMap,
  encodeJson,
  encodeSparseRowInto,
  encodeTypedArray,
  sparseRowBytes,
} from './codec.ts';
import type {
  CommitOptions,
  DenseMatrix,
  EntryKind,
  EntryRecord,
  Manifest,
  ManifestFields,
  StoredArray,
  VersionWriter,
} from './store.ts';

const MAX_KEY_BYTES = 256;

/** Entry keys: 1–256 UTF-8 bytes, no control characters (0x00 separates row keys). @throws CONFIG_INVALID */
export function assertEntryKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw new SimrecError('CONFIG_INVALID', 'an entry key must be a non-empty string', {
      field: String(key),
    });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key))
    throw new SimrecError('CONFIG_INVALID', `entry key ${JSON.stringify(key)} contains a control character`, {
      field: key,
    });
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new SimrecError('CONFIG_INVALID', `entry key '${key}' is longer than ${MAX_KEY_BYTES} bytes`, {
      field: key,
    });
}

/**
 * A batch of encoded rows of one sparse-rows entry: row rowIds[i] is bytes[offsets[i] .. offsets[i+1]), for
 * i < count. The arrays are reused for the next batch, so a backend must store (copy) them before returning.
 */
export interface RowBatch {
  count: number;
  rowIds: Int32Array;
  offsets: Int32Array;
  bytes: Uint8Array;
}

/** Rows per batch, and a byte budget per batch, so a backend's write transaction or pipeline stays bounded. */
const BATCH_ROWS = 4096;
const BATCH_BYTES = 8 << 20;

export type WriterState = 'open' | 'committing' | 'done';

export abstract class EncodingVersionWriter implements VersionWriter {
  protected state: WriterState = 'open';
  protected readonly entries = new Map<string, EntryRecord>();

  constructor(readonly id: string) {}

  /** Stores one encoded value under key. */
  protected abstract storeValue(key: string, bytes: Uint8Array): Promise<void>;
  /** Stores a batch of encoded rows of the sparse-rows entry key. */
  protected abstract storeRows(key: string, batch: RowBatch): Promise<void>;
  abstract commit(fields?: ManifestFields, options?: CommitOptions): Promise<Manifest>;
  abstract abort(): Promise<void>;

  /** The entry records written so far, in write order. */
  protected entryList(): EntryRecord[] {
    return [...this.entries.values()];
  }

  protected assertOpen(): void {
    if (this.state !== 'open')
      throw new SimrecError(
        'INTERNAL',
        `version ${this.id} is ${this.state === 'done' ? 'committed or aborted' : 'committing'}; nothing more can be written`,
      );
  }

  private begin(key: string): void {
    this.assertOpen();
    assertEntryKey(key);
    if (this.entries.has(key))
      throw new SimrecError('CONFIG_INVALID', `entry '${key}' was already written to version ${this.id}`, {
        field: key,
      });
  }

  private async putEncoded(
    key: string,
    kind: EntryKind,
    bytes: Uint8Array,
    shape: number[],
    extra: Partial<EntryRecord> = {},
  ): Promise<void> {
    await this.storeValue(key, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.entries.set(key, { key, kind, bytes: bytes.byteLength, sha256, shape, ...extra });
  }

  async putBlob(key: string, bytes: Uint8Array): Promise<void> {
    this.begin(key);
    await this.putEncoded(key, 'blob', encodeBlob(bytes), [bytes.byteLength]);
  }

  async putTypedArray(key: string, array: StoredArray): Promise<void> {
    this.begin(key);
    const dtype = dtypeOf(array);
    await this.putEncoded(key, 'typed-array', encodeTypedArray(array), [array.length], { dtype });
  }

  async putIdMap(key: string, map: IdMap): Promise<void> {
    this.begin(key);
    await this.putEncoded(key, 'id-map', encodeIdMap(map), [map.size]);
  }

  async putCsr(key: string, matrix: CsrMatrix): Promise<void> {
    this.begin(key);
    const bytes = encodeCsr(matrix);
    await this.putEncoded(key, 'csr', bytes, csrShape(bytes, key));
  }

  async putDense(key: string, matrix: DenseMatrix): Promise<void> {
    this.begin(key);
    await this.putEncoded(key, 'dense', encodeDense(matrix), [matrix.rows, matrix.dim]);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    this.begin(key);
    const bytes = encodeJson(value);
    await this.putEncoded(key, 'json', bytes, [bytes.byteLength - 8]);
  }

  async putSparseRows(key: string, matrix: CsrMatrix): Promise<void> {
    this.begin(key);
    const whole = encodeCsr(matrix);
    const hash = createHash('sha256').update(whole);
    let total = whole.byteLength;
    let rowKeys = 0;
    const { indptr, indices, values, nRows } = matrix;
    const rowIds = new Int32Array(BATCH_ROWS);
    const offsets = new Int32Array(BATCH_ROWS + 1);
    let bytes = new Uint8Array(1 << 16);
    // The checksum covers, per row, its index (u32 big-endian) then its bytes. Two hash.update calls per row
    // cost more than the hashing itself on millions of short rows, so the stream is gathered here and hashed a
    // batch at a time; SHA-256 does not depend on how its input is split, so the digest is the same.
    const hashed = new RowHashStream(hash);
    let count = 0;
    const flush = async () => {
      if (count === 0) return;
      await this.storeRows(key, { count, rowIds, offsets, bytes });
      count = 0;
    };
    for (let r = 0; r < nRows; r++) {
      const lo = indptr[r];
      const hi = indptr[r + 1];
      if (hi === lo) continue;
      const size = sparseRowBytes(hi - lo);
      if (count === BATCH_ROWS || (count > 0 && offsets[count] + size > BATCH_BYTES)) await flush();
      const at = offsets[count];
      if (at + size > bytes.byteLength) {
        const grown = new Uint8Array(Math.max(2 * bytes.byteLength, at + size));
        grown.set(bytes.subarray(0, at));
        bytes = grown;
      }
      const row = bytes.subarray(at, at + size);
      encodeSparseRowInto(indices, values, lo, hi, row);
      // The row index goes into the checksum too, so a row stored under the wrong key does not verify.
      hashed.row(r, row);
      rowIds[count] = r;
      offsets[++count] = at + size;
      total += size;
      rowKeys++;
    }
    await flush();
    hashed.flush();
    await this.storeValue(key, whole);
    this.entries.set(key, {
      key,
      kind: 'sparse-rows',
      bytes: total,
      sha256: hash.digest('hex'),
      shape: csrShape(whole, key),
      rowKeys,
    });
  }
}

/**
 * The checksum stream of a sparse-rows entry after its whole-matrix head: for every stored row, the row index
 * as u32 big-endian, then the row's bytes. Gathers that stream in one buffer and hands it to the hash when the
 * buffer fills or on flush(), so the digest equals per-row updates at a fraction of the calls. Writers and
 * verifiers share it, so both hash the same stream.
 */
export class RowHashStream {
  private buf = new Uint8Array(1 << 20);
  private at = 0;

  constructor(private readonly hash: Hash) {}

  row(index: number, row: Uint8Array): void {
    const need = 4 + row.byteLength;
    if (this.at + need > this.buf.byteLength) {
      this.flush();
      if (need > this.buf.byteLength) this.buf = new Uint8Array(need);
    }
    const b = this.buf;
    const at = this.at;
    b[at] = index >>> 24;
    b[at + 1] = (index >>> 16) & 0xff;
    b[at + 2] = (index >>> 8) & 0xff;
    b[at + 3] = index & 0xff;
    b.set(row, at + 4);
    this.at = at + need;
  }

  /** Like row(), with the index taken from the last 4 bytes (big-endian) of a stored row key. */
  rowOfKey(key: Uint8Array, row: Uint8Array): void {
    const n = key.byteLength;
    this.row(((key[n - 4] << 24) | (key[n - 3] << 16) | (key[n - 2] << 8) | key[n - 1]) >>> 0, row);
  }

  /** Hands what was gathered to the hash; call before reading the digest. */
  flush(): void {
    if (this.at === 0) return;
    this.hash.update(this.buf.subarray(0, this.at));
    this.at = 0;
  }
}
