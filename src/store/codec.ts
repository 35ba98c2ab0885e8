/**
 * Binary encodings of artifact entries. Every value starts with a 4-byte magic whose last character is the
 * format version ("SRA1" = typed array, format 1), so a reader can tell an unknown format from garbage. All
 * integers and floats are little-endian; headers are multiples of 8 bytes so payloads stay aligned for
 * Float64Array/Int32Array views when the container hands out 8-aligned buffers (LMDB does). Decoding checks
 * every length against the byte count and throws ARTIFACT_CORRUPT on any mismatch; it returns views into the
 * given bytes when they are aligned and copies otherwise, so callers pass stable bytes or copy themselves.
 *
 * Layouts (offsets in bytes):
 *
 *   sparse row   "SRV1"  4 u32 nnz | 8 i32 ids[nnz] | 8+4·nnz f32 values[nnz]                   = 8 + 8·nnz
 *   typed array  "SRA1"  4 u8 dtype (1 int32, 2 float32, 3 float64) | 5 3×0 | 8 u64 length
 *                        | 16 elements                                                         = 16 + w·length
 *   csr          "SRC1"  4 u8 flags (bit 0: has values) | 5 3×0 | 8 u32 nRows | 12 u32 nCols | 16 u64 nnz
 *                        | 24 i32 indptr[nRows+1] | i32 indices[nnz] | f32 values[nnz] if flagged
 *   dense        "SRD1"  4 u8 dtype (2 float32) | 5 3×0 | 8 u32 rows | 12 u32 dim | 16 f32 data[rows·dim]
 *   id map       "SRI1"  4 u32 byte length n | 8 IdMap.toBuffer() bytes[n]
 *   json         "SRJ1"  4 u32 byte length n | 8 UTF-8 JSON text[n]
 *   blob         "SRB1"  4 u32 byte length n | 8 bytes[n]
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { IdMap } from '../core/id-map.ts';
import type { DenseMatrix, DType, EntryKind, SparseRow, StoredArray } from './store.ts';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function magicOf(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

export const MAGIC = {
  sparseRow: magicOf('SRV1'),
  typedArray: magicOf('SRA1'),
  csr: magicOf('SRC1'),
  dense: magicOf('SRD1'),
  idMap: magicOf('SRI1'),
  json: magicOf('SRJ1'),
  blob: magicOf('SRB1'),
} as const;

export const SPARSE_ROW_HEADER = 8;
const TYPED_HEADER = 16;
const CSR_HEADER = 24;
const DENSE_HEADER = 16;
const SIZED_HEADER = 8;

const DTYPE_CODE: Record<DType, number> = { int32: 1, float32: 2, float64: 3 };
const DTYPE_OF_CODE: (DType | undefined)[] = [undefined, 'int32', 'float32', 'float64'];

/** The dtype name of a typed array simrec stores, or undefined for any other value. */
export function dtypeOf(a: unknown): DType | undefined {
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return undefined;
}

/** @throws SimrecError INTERNAL on a big-endian host, where typed views would misread the stored words */
export function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST)
    throw new SimrecError('INTERNAL', "simrec's binary artifact formats need a little-endian host");
}

function corrupt(label: string, why: string): SimrecError {
  return new SimrecError('ARTIFACT_CORRUPT', `${label}: ${why}`, { field: label });
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Checks the magic; a known prefix with another version digit is reported as an unsupported format. */
function expectMagic(bytes: Uint8Array, magic: number, label: string, what: string): DataView {
  assertLittleEndianHost();
  if (bytes.byteLength < 8) throw corrupt(label, `${bytes.byteLength} bytes is too short for a ${what}`);
  const view = viewOf(bytes);
  const got = view.getUint32(0, true);
  if (got !== magic) {
    if ((got & 0xffffff) === (magic & 0xffffff))
      throw corrupt(label, `${what} format version ${String.fromCharCode(got >>> 24)} is not supported`);
    throw corrupt(label, `not a ${what} (magic 0x${got.toString(16).padStart(8, '0')})`);
  }
  return view;
}

function expectLength(bytes: Uint8Array, expected: number, label: string, what: string): void {
  if (bytes.byteLength !== expected)
    throw corrupt(label, `${what} header promises ${expected} bytes but ${bytes.byteLength} are stored`);
}

/** Raw bytes of part of a typed array, without copying. */
function bytesOf(a: ArrayBufferView, start = 0, count = -1): Uint8Array {
  const width = (a as StoredArray).BYTES_PER_ELEMENT ?? 1;
  const n = count < 0 ? a.byteLength / width - start : count;
  return new Uint8Array(a.buffer, a.byteOffset + start * width, n * width);
}

type ArrayCtor<T> = { new (n: number): T; new (buf: ArrayBufferLike, off: number, n: number): T };

/** A typed view of n elements at offset, or an aligned copy when the bytes are not aligned. */
function elements<T extends StoredArray>(
  ctor: ArrayCtor<T> & { BYTES_PER_ELEMENT: number },
  bytes: Uint8Array,
  offset: number,
  n: number,
): T {
  const abs = bytes.byteOffset + offset;
  if (abs % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, abs, n);
  const out = new ctor(n);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + n * ctor.BYTES_PER_ELEMENT));
  return out;
}

const CTOR = { int32: Int32Array, float32: Float32Array, float64: Float64Array } as const;

function checkCount(n: number, label: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw corrupt(label, `impossible length ${n}`);
  return n;
}

function readU64(view: DataView, offset: number, label: string): number {
  return checkCount(Number(view.getBigUint64(offset, true)), label);
}

function header(magic: number, size: number): { out: Uint8Array; view: DataView } {
  assertLittleEndianHost();
  const out = new Uint8Array(size);
  const view = viewOf(out);
  view.setUint32(0, magic, true);
  return { out, view };
}

// ---- sparse rows -------------------------------------------------------------------------------------------

/** Bytes of an encoded sparse row of nnz entries. */
export function sparseRowBytes(nnz: number): number {
  return SPARSE_ROW_HEADER + 8 * nnz;
}

/**
 * Encodes ids[start..end) and values[start..end) into out (which must hold sparseRowBytes(end-start));
 * values null writes 1 for every entry. Returns the byte count. Lets a writer reuse one buffer for all rows.
 */
export function encodeSparseRowInto(
  ids: Int32Array,
  values: Float32Array | null,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  assertLittleEndianHost();
  const nnz = end - start;
  const size = sparseRowBytes(nnz);
  if (out.byteLength < size)
    throw new RangeError(`sparse row needs ${size} bytes, buffer has ${out.byteLength}`);
  const view = viewOf(out);
  view.setUint32(0, MAGIC.sparseRow, true);
  view.setUint32(4, nnz, true);
  out.set(bytesOf(ids, start, nnz), SPARSE_ROW_HEADER);
  const valuesAt = SPARSE_ROW_HEADER + 4 * nnz;
  if (values) out.set(bytesOf(values, start, nnz), valuesAt);
  else for (let k = 0; k < nnz; k++) view.setFloat32(valuesAt + 4 * k, 1, true);
  return size;
}

export function encodeSparseRow(row: SparseRow): Uint8Array {
  if (row.ids.length !== row.values.length)
    throw new SimrecError('CONFIG_INVALID', 'sparse row ids and values differ in length');
  const out = new Uint8Array(sparseRowBytes(row.ids.length));
  encodeSparseRowInto(row.ids, row.values, 0, row.ids.length, out);
  return out;
}

/** The entry count of an encoded sparse row, after checking magic and length. */
export function sparseRowNnz(bytes: Uint8Array, label: string): number {
  const view = expectMagic(bytes, MAGIC.sparseRow, label, 'sparse row');
  const nnz = view.getUint32(4, true);
  expectLength(bytes, sparseRowBytes(nnz), label, 'sparse row');
  return nnz;
}

/** Decodes a sparse row: views when aligned, copies otherwise; `copy` forces fresh arrays. */
export function decodeSparseRow(bytes: Uint8Array, label: string, copy = false): SparseRow {
  const nnz = sparseRowNnz(bytes, label);
  if (copy) {
    const ids = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    copySparseRow(bytes, nnz, ids, values, 0);
    return { ids, values };
  }
  return {
    ids: elements(Int32Array, bytes, SPARSE_ROW_HEADER, nnz),
    values: elements(Float32Array, bytes, SPARSE_ROW_HEADER + 4 * nnz, nnz),
  };
}

/**
 * Copies the first `count` entries of an encoded row of nnz entries into ids/values at `at`. The bytes may be
 * volatile (a database's reused read buffer): nothing keeps a reference to them.
 */
export function copySparseRow(
  bytes: Uint8Array,
  nnz: number,
  ids: Int32Array,
  values: Float32Array,
  at: number,
  count = nnz,
): void {
  new Uint8Array(ids.buffer, ids.byteOffset + 4 * at, 4 * count).set(
    bytes.subarray(SPARSE_ROW_HEADER, SPARSE_ROW_HEADER + 4 * count),
  );
  const valuesAt = SPARSE_ROW_HEADER + 4 * nnz;
  new Uint8Array(values.buffer, values.byteOffset + 4 * at, 4 * count).set(
    bytes.subarray(valuesAt, valuesAt + 4 * count),
  );
}

// ---- typed arrays ------------------------------------------------------------------------------------------

export function encodeTypedArray(a: StoredArray): Uint8Array {
  const dtype = dtypeOf(a);
  if (!dtype)
    throw new SimrecError('CONFIG_INVALID', 'only Int32Array, Float32Array and Float64Array are stored');
  const { out, view } = header(MAGIC.typedArray, TYPED_HEADER + a.byteLength);
  view.setUint8(4, DTYPE_CODE[dtype]);
  view.setBigUint64(8, BigInt(a.length), true);
  out.set(bytesOf(a), TYPED_HEADER);
  return out;
}

export function decodeTypedArray(bytes: Uint8Array, label: string): StoredArray {
  const view = expectMagic(bytes, MAGIC.typedArray, label, 'typed array');
  if (bytes.byteLength < TYPED_HEADER) throw corrupt(label, 'typed array header is truncated');
  const dtype = DTYPE_OF_CODE[view.getUint8(4)];
  if (!dtype) throw corrupt(label, `unknown dtype code ${view.getUint8(4)}`);
  const n = readU64(view, 8, label);
  const ctor = CTOR[dtype];
  expectLength(bytes, TYPED_HEADER + n * ctor.BYTES_PER_ELEMENT, label, 'typed array');
  return elements<StoredArray>(
    ctor as ArrayCtor<StoredArray> & { BYTES_PER_ELEMENT: number },
    bytes,
    TYPED_HEADER,
    n,
  );
}

// ---- CSR ---------------------------------------------------------------------------------------------------

/**
 * What is wrong with a CSR structure, or null: indptr must start at 0, never decrease and end at the entry
 * count, and every column index must lie in [0, nCols). O(nRows + nnz), no allocation.
 */
export function csrProblem(
  nRows: number,
  nCols: number,
  indptr: Int32Array,
  indices: Int32Array,
): string | null {
  if (indptr.length !== nRows + 1) return `csr has ${indptr.length} row pointers for ${nRows} rows`;
  const nnz = indices.length;
  if (indptr[0] !== 0 || indptr[nRows] !== nnz) return 'csr row pointers do not span the entries';
  for (let r = 0; r < nRows; r++)
    if (indptr[r + 1] < indptr[r]) return `csr row pointer decreases at row ${r}`;
  for (let k = 0; k < nnz; k++) {
    const c = indices[k];
    if (c < 0 || c >= nCols) return `csr column ${c} outside [0, ${nCols})`;
  }
  return null;
}

/** The first NaN or infinite value as a problem, or null: no build stores one, so a reader that meets one has met damage. */
export function nonFinite(values: Float32Array): string | null {
  for (let k = 0; k < values.length; k++)
    if (!Number.isFinite(values[k])) return `value ${values[k]} at entry ${k} is not finite`;
  return null;
}

export function encodeCsr(m: CsrMatrix): Uint8Array {
  const nnz = m.nnz;
  if (m.nRows > 0xffffffff || m.nCols > 0xffffffff)
    throw new SimrecError('CONFIG_INVALID', `csr shape ${m.nRows}×${m.nCols} exceeds u32`);
  const problem = csrProblem(m.nRows, m.nCols, m.indptr, m.indices);
  if (problem) throw new SimrecError('CONFIG_INVALID', problem);
  if (m.values && m.values.length !== nnz)
    throw new SimrecError('CONFIG_INVALID', 'csr values and indices differ');
  const valuesBytes = m.values ? 4 * nnz : 0;
  const { out, view } = header(MAGIC.csr, CSR_HEADER + 4 * (m.nRows + 1) + 4 * nnz + valuesBytes);
  view.setUint8(4, m.values ? 1 : 0);
  view.setUint32(8, m.nRows, true);
  view.setUint32(12, m.nCols, true);
  view.setBigUint64(16, BigInt(nnz), true);
  let at = CSR_HEADER;
  out.set(bytesOf(m.indptr), at);
  at += 4 * (m.nRows + 1);
  out.set(bytesOf(m.indices), at);
  at += 4 * nnz;
  if (m.values) out.set(bytesOf(m.values), at);
  return out;
}

/**
 * Decodes a CSR matrix and checks its structure (indptr starts at 0, never decreases, ends at nnz; every column
 * index in range), so a damaged entry cannot send a hot loop out of bounds.
 */
export function decodeCsr(bytes: Uint8Array, label: string): CsrMatrix {
  const view = expectMagic(bytes, MAGIC.csr, label, 'csr matrix');
  if (bytes.byteLength < CSR_HEADER) throw corrupt(label, 'csr header is truncated');
  const flags = view.getUint8(4);
  if (flags > 1) throw corrupt(label, `unknown csr flags ${flags}`);
  const nRows = view.getUint32(8, true);
  const nCols = view.getUint32(12, true);
  const nnz = readU64(view, 16, label);
  const hasValues = flags === 1;
  expectLength(bytes, CSR_HEADER + 4 * (nRows + 1) + 4 * nnz * (hasValues ? 2 : 1), label, 'csr matrix');
  let at = CSR_HEADER;
  const indptr = elements(Int32Array, bytes, at, nRows + 1);
  at += 4 * (nRows + 1);
  const indices = elements(Int32Array, bytes, at, nnz);
  at += 4 * nnz;
  const values = hasValues ? elements(Float32Array, bytes, at, nnz) : null;
  const problem = csrProblem(nRows, nCols, indptr, indices) ?? (values && nonFinite(values));
  if (problem) throw corrupt(label, problem);
  return new CsrMatrix(nRows, nCols, indptr, indices, values);
}

/** nRows, nCols and nnz of an encoded CSR matrix, from its header alone. */
export function csrShape(bytes: Uint8Array, label: string): [number, number, number] {
  const view = expectMagic(bytes, MAGIC.csr, label, 'csr matrix');
  if (bytes.byteLength < CSR_HEADER) throw corrupt(label, 'csr header is truncated');
  return [view.getUint32(8, true), view.getUint32(12, true), readU64(view, 16, label)];
}

// ---- dense matrices ----------------------------------------------------------------------------------------

export function encodeDense(m: DenseMatrix): Uint8Array {
  const { rows, dim, data } = m;
  if (
    !Number.isInteger(rows) ||
    !Number.isInteger(dim) ||
    rows < 0 ||
    dim < 0 ||
    rows > 0xffffffff ||
    dim > 0xffffffff
  )
    throw new SimrecError(
      'CONFIG_INVALID',
      `dense matrix shape ${rows}×${dim} is not a pair of u32 integers`,
    );
  if (!(data instanceof Float32Array))
    throw new SimrecError('CONFIG_INVALID', 'dense matrix data must be a Float32Array');
  if (data.length !== rows * dim)
    throw new SimrecError(
      'CONFIG_INVALID',
      `dense matrix ${rows}×${dim} needs ${rows * dim} values, got ${data.length}`,
    );
  const { out, view } = header(MAGIC.dense, DENSE_HEADER + data.byteLength);
  view.setUint8(4, DTYPE_CODE.float32);
  view.setUint32(8, rows, true);
  view.setUint32(12, dim, true);
  out.set(bytesOf(data), DENSE_HEADER);
  return out;
}

export function decodeDense(bytes: Uint8Array, label: string): DenseMatrix {
  const view = expectMagic(bytes, MAGIC.dense, label, 'dense matrix');
  if (bytes.byteLength < DENSE_HEADER) throw corrupt(label, 'dense header is truncated');
  if (view.getUint8(4) !== DTYPE_CODE.float32)
    throw corrupt(label, `unknown dense dtype code ${view.getUint8(4)}`);
  const rows = view.getUint32(8, true);
  const dim = view.getUint32(12, true);
  expectLength(bytes, DENSE_HEADER + 4 * rows * dim, label, 'dense matrix');
  return { rows, dim, data: elements(Float32Array, bytes, DENSE_HEADER, rows * dim) };
}

// ---- sized payloads: id maps, JSON, blobs -------------------------------------------------------------------

function encodeSized(magic: number, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > 0xffffffff) throw new SimrecError('CONFIG_INVALID', 'entry larger than 4 GiB');
  const { out, view } = header(magic, SIZED_HEADER + payload.byteLength);
  view.setUint32(4, payload.byteLength, true);
  out.set(payload, SIZED_HEADER);
  return out;
}

function decodeSized(bytes: Uint8Array, magic: number, label: string, what: string): Uint8Array {
  const view = expectMagic(bytes, magic, label, what);
  expectLength(bytes, SIZED_HEADER + view.getUint32(4, true), label, what);
  return bytes.subarray(SIZED_HEADER);
}

export function encodeBlob(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array))
    throw new SimrecError('CONFIG_INVALID', 'a blob must be a Uint8Array');
  return encodeSized(MAGIC.blob, payload);
}

export function decodeBlob(bytes: Uint8Array, label: string): Uint8Array {
  return decodeSized(bytes, MAGIC.blob, label, 'blob');
}

export function encodeJson(value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `value is not JSON-serialisable: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  if (text === undefined) throw new SimrecError('CONFIG_INVALID', 'value is not JSON-serialisable');
  return encodeSized(MAGIC.json, new TextEncoder().encode(text));
}

export function decodeJson(bytes: Uint8Array, label: string): unknown {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return JSON.parse(text.decode(decodeSized(bytes, MAGIC.json, label, 'json')));
  } catch (e) {
    if (e instanceof SimrecError) throw e;
    throw corrupt(label, `stored JSON does not parse: ${(e as Error).message}`);
  }
}

export function encodeIdMap(map: IdMap): Uint8Array {
  return encodeSized(MAGIC.idMap, map.toBuffer());
}

/** Checks the id map's own offsets against its length before decoding, so damage cannot read past the end. */
export function decodeIdMap(bytes: Uint8Array, label: string): IdMap {
  const inner = decodeSized(bytes, MAGIC.idMap, label, 'id map');
  if (inner.byteLength < 8) throw corrupt(label, 'id map header is truncated');
  const view = viewOf(inner);
  const n = view.getUint32(4, true);
  const head = 8 + 4 * (n + 1);
  if (head > inner.byteLength)
    throw corrupt(label, `id map of ${n} ids does not fit in ${inner.byteLength} bytes`);
  let prev = 0;
  for (let i = 0; i <= n; i++) {
    const off = view.getUint32(8 + 4 * i, true);
    if ((i === 0 && off !== 0) || off < prev) throw corrupt(label, `id map offset ${i} is out of order`);
    prev = off;
  }
  if (head + prev !== inner.byteLength)
    throw corrupt(label, `id map offsets end at ${head + prev}, entry has ${inner.byteLength} bytes`);
  try {
    return IdMap.fromBuffer(inner);
  } catch (e) {
    throw corrupt(label, (e as Error).message);
  }
}

// ---- introspection -----------------------------------------------------------------------------------------

const KIND_OF_MAGIC = new Map<number, EntryKind | 'sparse-row'>([
  [MAGIC.blob, 'blob'],
  [MAGIC.typedArray, 'typed-array'],
  [MAGIC.idMap, 'id-map'],
  [MAGIC.csr, 'csr'],
  [MAGIC.dense, 'dense'],
  [MAGIC.json, 'json'],
  [MAGIC.sparseRow, 'sparse-row'],
]);

/** What an encoded value is, from its magic alone (a sparse-rows entry's whole-matrix blob reads as 'csr'). */
export function peekKind(bytes: Uint8Array): EntryKind | 'sparse-row' | undefined {
  if (bytes.byteLength < 4) return undefined;
  return KIND_OF_MAGIC.get(viewOf(bytes).getUint32(0, true));
}
