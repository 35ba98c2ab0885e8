import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import type { SimrecError } from '../core/errors.ts';
import { IdMap } from '../core/id-map.ts';
import {
  decodeBlob,
  decodeCsr,
  decodeDense,
  decodeIdMap,
  decodeJson,
  decodeSparseRow,
  decodeTypedArray,
  encodeBlob,
  encodeCsr,
  encodeDense,
  encodeIdMap,
  encodeJson,
  encodeSparseRow,
  encodeSparseRowInto,
  encodeTypedArray,
  peekKind,
} from './codec.ts';

const corrupt = (pattern: RegExp) => (e: SimrecError) =>
  e.code === 'ARTIFACT_CORRUPT' && pattern.test(e.message);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

test('sparse row layout: magic, nnz, Int32 ids, Float32 values, little-endian', () => {
  const bytes = encodeSparseRow({ ids: new Int32Array([3, -1]), values: new Float32Array([0.5, 2]) });
  assert.deepEqual(
    [...bytes],
    [...ascii('SRV1'), 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x3f, 0, 0, 0, 0x40],
  );
  const row = decodeSparseRow(bytes, 'r');
  assert.deepEqual([...row.ids, ...row.values], [3, -1, 0.5, 2]);
  const empty = encodeSparseRow({ ids: new Int32Array(0), values: new Float32Array(0) });
  assert.deepEqual([...empty], [...ascii('SRV1'), 0, 0, 0, 0]);
  assert.equal(decodeSparseRow(empty, 'r').ids.length, 0);
});

test('encodeSparseRowInto writes a slice of a CSR row, 1s for a pattern matrix, and refuses a short buffer', () => {
  const out = new Uint8Array(64);
  const ids = new Int32Array([9, 4, 5, 9]);
  assert.equal(encodeSparseRowInto(ids, null, 1, 3, out), 24);
  const row = decodeSparseRow(out.subarray(0, 24), 'r', true);
  assert.deepEqual([...row.ids, ...row.values], [4, 5, 1, 1]);
  assert.throws(() => encodeSparseRowInto(ids, null, 0, 4, new Uint8Array(39)), RangeError);
});

test('typed array layout keeps the dtype and a u64 length', () => {
  assert.deepEqual(
    [...encodeTypedArray(new Float64Array([1]))],
    [...ascii('SRA1'), 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
  );
  assert.deepEqual(
    [...encodeTypedArray(new Int32Array(0))],
    [...ascii('SRA1'), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  const f32 = decodeTypedArray(encodeTypedArray(new Float32Array([0.25, -3])), 'a');
  assert.ok(f32 instanceof Float32Array);
  assert.deepEqual([...f32], [0.25, -3]);
  assert.throws(() => encodeTypedArray(new Uint8Array(2) as never), { code: 'CONFIG_INVALID' });
});

test('aligned bytes decode to views, misaligned bytes to aligned copies', () => {
  const enc = encodeTypedArray(new Float64Array([Math.E, -1]));
  const aligned = decodeTypedArray(enc, 'a');
  assert.equal(aligned.buffer, enc.buffer);
  const shifted = new Uint8Array(enc.byteLength + 1);
  shifted.set(enc, 1);
  const copy = decodeTypedArray(shifted.subarray(1), 'a');
  assert.notEqual(copy.buffer, shifted.buffer);
  assert.deepEqual([...copy], [Math.E, -1]);
  const rowBytes = encodeSparseRow({ ids: new Int32Array([7]), values: new Float32Array([1.5]) });
  const rowShifted = new Uint8Array(rowBytes.byteLength + 3);
  rowShifted.set(rowBytes, 3);
  const row = decodeSparseRow(rowShifted.subarray(3), 'r');
  assert.deepEqual([...row.ids, ...row.values], [7, 1.5]);
});

test('csr layout: shape and nnz, then indptr, indices and (flagged) values', () => {
  const m = new CsrMatrix(2, 3, new Int32Array([0, 1, 1]), new Int32Array([1]), new Float32Array([2]));
  assert.deepEqual(
    [...encodeCsr(m)],
    [
      ...ascii('SRC1'),
      ...[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
      ...[0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
      ...[1, 0, 0, 0],
      ...[0, 0, 0, 0x40],
    ],
  );
  const pattern = new CsrMatrix(2, 3, new Int32Array([0, 1, 1]), new Int32Array([1]), null);
  const enc = encodeCsr(pattern);
  assert.equal(enc[4], 0);
  assert.equal(enc.byteLength, 24 + 12 + 4);
  const back = decodeCsr(enc, 'c');
  assert.equal(back.values, null);
  assert.deepEqual([back.nRows, back.nCols, ...back.indptr, ...back.indices], [2, 3, 0, 1, 1, 1]);
});

test('dense, json, blob and id map layouts', () => {
  assert.deepEqual(
    [...encodeDense({ rows: 1, dim: 2, data: new Float32Array([1, -1]) })],
    [...ascii('SRD1'), 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf],
  );
  const d = decodeDense(encodeDense({ rows: 2, dim: 0, data: new Float32Array(0) }), 'd');
  assert.deepEqual([d.rows, d.dim, d.data.length], [2, 0, 0]);
  assert.deepEqual([...encodeJson('x')], [...ascii('SRJ1'), 3, 0, 0, 0, ...ascii('"x"')]);
  assert.deepEqual(decodeJson(encodeJson({ a: [1, null] }), 'j'), { a: [1, null] });
  assert.deepEqual([...encodeBlob(new Uint8Array([7]))], [...ascii('SRB1'), 1, 0, 0, 0, 7]);
  assert.deepEqual([...decodeBlob(encodeBlob(new Uint8Array([1, 2])), 'b')], [1, 2]);
  const ids = IdMap.from(['a', 'bé']);
  const inner = ids.toBuffer();
  const enc = encodeIdMap(ids);
  assert.deepEqual([...enc.subarray(0, 8)], [...ascii('SRI1'), inner.byteLength, 0, 0, 0]);
  assert.deepEqual([...enc.subarray(8)], [...inner]);
  assert.deepEqual(decodeIdMap(enc, 'i').idList(), ['a', 'bé']);
});

test('peekKind names a value by its magic', () => {
  assert.equal(peekKind(encodeJson(1)), 'json');
  assert.equal(peekKind(encodeTypedArray(new Int32Array(1))), 'typed-array');
  assert.equal(
    peekKind(encodeSparseRow({ ids: new Int32Array(0), values: new Float32Array(0) })),
    'sparse-row',
  );
  assert.equal(peekKind(new Uint8Array([1, 2, 3, 4])), undefined);
  assert.equal(peekKind(new Uint8Array(2)), undefined);
});

test('wrong magic, newer format, and any length mismatch are ARTIFACT_CORRUPT', () => {
  const a = encodeTypedArray(new Float32Array([1, 2]));
  assert.throws(() => decodeDense(a, 'k'), corrupt(/not a dense matrix/));
  const newer = new Uint8Array(a);
  newer[3] = '2'.charCodeAt(0);
  assert.throws(() => decodeTypedArray(newer, 'k'), corrupt(/format version 2 is not supported/));
  assert.throws(
    () => decodeTypedArray(a.subarray(0, a.byteLength - 1), 'k'),
    corrupt(/promises 24 bytes but 23/),
  );
  const longer = new Uint8Array(a.byteLength + 4);
  longer.set(a);
  assert.throws(() => decodeTypedArray(longer, 'k'), corrupt(/promises 24 bytes but 28/));
  assert.throws(() => decodeTypedArray(a.subarray(0, 5), 'k'), corrupt(/too short/));
  const badDtype = new Uint8Array(a);
  badDtype[4] = 9;
  assert.throws(() => decodeTypedArray(badDtype, 'k'), corrupt(/dtype code 9/));
  const huge = new Uint8Array(a);
  new DataView(huge.buffer).setBigUint64(8, 1n << 60n, true);
  assert.throws(() => decodeTypedArray(huge, 'k'), corrupt(/impossible length|promises/));
  const row = encodeSparseRow({ ids: new Int32Array([1]), values: new Float32Array([1]) });
  row[4] = 2;
  assert.throws(() => decodeSparseRow(row, 'k'), corrupt(/promises 24 bytes but 16/));
  assert.throws(() => decodeBlob(encodeBlob(new Uint8Array(4)).subarray(0, 10), 'k'), corrupt(/promises/));
});

test('a csr whose structure is broken does not decode', () => {
  const m = new CsrMatrix(2, 3, new Int32Array([0, 2, 3]), new Int32Array([0, 2, 1]), new Float32Array(3));
  const enc = encodeCsr(m);
  const decreasing = new Uint8Array(enc);
  new DataView(decreasing.buffer).setInt32(24 + 4, 4, true);
  assert.throws(() => decodeCsr(decreasing, 'c'), corrupt(/row pointer decreases|do not span/));
  const column = new Uint8Array(enc);
  new DataView(column.buffer).setInt32(24 + 12 + 4, 3, true);
  assert.throws(() => decodeCsr(column, 'c'), corrupt(/column 3 outside \[0, 3\)/));
  assert.throws(() => encodeCsr(new CsrMatrix(1, 2, new Int32Array([0, 1]), new Int32Array([2]), null)), {
    code: 'CONFIG_INVALID',
  });
});

test('damaged id maps and JSON are ARTIFACT_CORRUPT', () => {
  const enc = encodeIdMap(IdMap.from(['ab', 'c']));
  const offsets = new Uint8Array(enc);
  // offsets [0, 2, 3] → [0, 5, 3]: the first id would end past the start of the second
  new DataView(offsets.buffer).setUint32(8 + 8 + 4, 5, true);
  assert.throws(() => decodeIdMap(offsets, 'i'), corrupt(/out of order/));
  const dup = encodeIdMap(IdMap.from(['a', 'b']));
  dup[dup.byteLength - 1] = 'a'.charCodeAt(0);
  assert.throws(() => decodeIdMap(dup, 'i'), corrupt(/duplicate/));
  const json = encodeJson({ a: 1 });
  json[json.byteLength - 1] = '{'.charCodeAt(0);
  assert.throws(() => decodeJson(json, 'j'), corrupt(/does not parse/));
  const utf8 = encodeJson('é');
  utf8[9] = 0xff;
  assert.throws(() => decodeJson(utf8, 'j'), corrupt(/does not parse/));
});

test('bad values are refused on encode with CONFIG_INVALID', () => {
  assert.throws(() => encodeDense({ rows: 2, dim: 2, data: new Float32Array(3) }), {
    code: 'CONFIG_INVALID',
  });
  assert.throws(() => encodeDense({ rows: -1, dim: 2, data: new Float32Array(0) }), {
    code: 'CONFIG_INVALID',
  });
  assert.throws(() => encodeDense({ rows: 1, dim: 1, data: [1] as never }), { code: 'CONFIG_INVALID' });
  assert.throws(() => encodeJson(undefined), { code: 'CONFIG_INVALID' });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => encodeJson(circular), { code: 'CONFIG_INVALID' });
  assert.throws(() => encodeBlob('text' as never), { code: 'CONFIG_INVALID' });
  assert.throws(() => encodeSparseRow({ ids: new Int32Array(2), values: new Float32Array(1) }), {
    code: 'CONFIG_INVALID',
  });
});
