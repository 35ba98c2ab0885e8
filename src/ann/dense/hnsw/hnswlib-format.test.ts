import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../../../core/errors.ts';
import { Rng } from '../../../core/prng.ts';
import { decodeEnvelope, encodeEnvelope } from '../envelope.ts';
import { HnswIndex } from './hnsw-index.ts';
import { parseHnswlibFile } from './hnswlib-format.ts';

const DIM = 5;
// An ip index stores its vectors lifted by one coordinate (the MIPS layout), so the graph's vectors are 6-dim.
const GDIM = DIM + 1;
const N = 300;
// Record layout for M = 6: [u32 head, 12 links, 6 floats, u64 label] = 4 + 48 + 24 + 8 = 84 bytes.
const M = 6;
const RECORD = 4 + 4 * 2 * M + 4 * GDIM + 8;
const HEADER = 96;

function saved(): { blob: Uint8Array; file: Uint8Array; vectors: Float32Array } {
  const rng = new Rng(3);
  const vectors = new Float32Array(N * DIM).map(() => rng.normal());
  const index = HnswIndex.create(DIM, 'ip', { m: M, efConstruction: 40 });
  // Ids in a shuffled order, so slot ≠ label.
  const ids = rng.permutation(N);
  const rows = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) rows.set(vectors.subarray(ids[i] * DIM, (ids[i] + 1) * DIM), i * DIM);
  index.add(ids, rows);
  index.remove(17);
  const blob = index.toBytes();
  return { blob, file: decodeEnvelope(blob).payload.slice(), vectors };
}

const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';

test('parses hnswlib 0.8 files: layout, labels, vectors and deletion marks', () => {
  const { file, vectors } = saved();
  const f = parseHnswlibFile(file, GDIM);
  assert.equal(f.count, N);
  assert.equal(f.m, M);
  assert.equal(f.maxM, M);
  assert.equal(f.maxM0, 2 * M);
  assert.equal(f.efConstruction, 40);
  assert.ok(f.maxLevel >= 1 && f.entryPoint < N);
  assert.deepEqual(
    [...f.labels].sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i),
  );
  for (let slot = 0; slot < N; slot++) {
    const id = f.labels[slot];
    // The first DIM coordinates are the vector itself; the last lifts it onto the sphere of radius Φ.
    assert.deepEqual(
      f.vectors.subarray(slot * GDIM, slot * GDIM + DIM),
      vectors.subarray(id * DIM, (id + 1) * DIM),
    );
    assert.equal(f.removed[slot], id === 17 ? 1 : 0);
  }
  assert.equal(new DataView(file.buffer).getUint32(24, true), RECORD);
});

test('damaged files are refused before the native loader sees them', () => {
  const { blob, file } = saved();
  const edit = (fn: (dv: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const copy = file.slice();
    fn(new DataView(copy.buffer), copy);
    return copy;
  };
  const cases: [string, Uint8Array][] = [
    ['truncated', file.subarray(0, file.length - 3)],
    ['trailing bytes', Uint8Array.from([...file, 0, 0, 0, 0])],
    ['header only', file.subarray(0, 50)],
    ['maxM0 changed', edit((dv) => dv.setUint32(64, 2 * M + 1, true))],
    ['count beyond maxElements', edit((dv) => dv.setUint32(8, N - 1, true))],
    ['entry point out of range', edit((dv) => dv.setUint32(52, N, true))],
    [
      'base link out of range',
      edit((dv) => {
        dv.setUint32(HEADER + 4, N + 5, true);
        dv.setUint16(HEADER, Math.max(1, dv.getUint16(HEADER, true)), true);
      }),
    ],
    ['too many base links', edit((dv) => dv.setUint16(HEADER + RECORD, 2 * M + 1, true))],
    [
      'duplicate label',
      edit((dv) => dv.setUint32(HEADER + RECORD + RECORD - 8, dv.getUint32(HEADER + RECORD - 8, true), true)),
    ],
    ['label beyond int32', edit((dv) => dv.setUint32(HEADER + RECORD - 4, 1, true))],
    ['NaN vector', edit((dv) => dv.setFloat32(HEADER + 4 + 8 * M, Number.NaN, true))],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(() => parseHnswlibFile(bytes, GDIM), corrupt, what);
    const { header } = decodeEnvelope(blob);
    assert.throws(() => HnswIndex.fromBytes(encodeEnvelope(header, [bytes])), corrupt, what);
  }
  assert.throws(() => parseHnswlibFile(file, GDIM + 1), corrupt, 'wrong dimension');
});
