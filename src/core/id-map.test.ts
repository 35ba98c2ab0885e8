import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from './errors.ts';
import { IdMap } from './id-map.ts';

const corrupt = (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT';

test('indices are dense and given out in first-seen order; unknown ids are −1', () => {
  const m = new IdMap();
  assert.equal(m.intern('b'), 0);
  assert.equal(m.intern('a'), 1);
  assert.equal(m.intern('b'), 0, 'interning again returns the same index');
  assert.equal(m.size, 2);
  assert.equal(m.get('a'), 1);
  assert.equal(m.get('zzz'), -1);
  assert.equal(m.get(''), -1);
  assert.equal(m.has('a'), true);
  assert.equal(m.has('c'), false);
  assert.equal(m.id(0), 'b');
  assert.deepEqual(m.idList(), ['b', 'a']);
  assert.throws(() => m.id(2), RangeError);
  assert.throws(() => m.id(-1), RangeError);
  assert.deepEqual(IdMap.from(['x', 'y', 'x', 'z']).idList(), ['x', 'y', 'z']);
});

test('toBuffer/fromBuffer round-trips unicode, commas, newlines, quotes and the empty string', () => {
  const ids = [
    'plain',
    'a,b',
    'line1\nline2',
    'tab\there',
    '"quoted"',
    '',
    'ünïcödé',
    '日本語',
    '🎬 emoji',
    'x\r\ny',
  ];
  const m = IdMap.from(ids);
  const back = IdMap.fromBuffer(m.toBuffer());
  assert.deepEqual(back.idList(), ids);
  for (let i = 0; i < ids.length; i++) assert.equal(back.get(ids[i]), i);
});

test('the empty map round-trips', () => {
  const buf = new IdMap().toBuffer();
  assert.equal(buf.byteLength, 12, 'magic, count and the single end offset');
  const back = IdMap.fromBuffer(buf);
  assert.equal(back.size, 0);
  assert.equal(back.get('a'), -1);
});

test('fromBuffer reads a blob at a non-zero byte offset of a larger buffer', () => {
  const blob = IdMap.from(['u1', 'u2']).toBuffer();
  const big = new Uint8Array(blob.byteLength + 7);
  big.set(blob, 5);
  assert.deepEqual(IdMap.fromBuffer(big.subarray(5, 5 + blob.byteLength)).idList(), ['u1', 'u2']);
});

test('fromBuffer rejects blobs that are not id maps, truncated, or corrupted', () => {
  const good = IdMap.from(['alpha', 'beta', 'gamma']).toBuffer();
  assert.throws(() => IdMap.fromBuffer(new Uint8Array(4)), corrupt);
  assert.throws(() => IdMap.fromBuffer(Buffer.from('not an id map at all')), corrupt);
  assert.throws(() => IdMap.fromBuffer(good.subarray(0, 12)), corrupt, 'offset table cut short');
  assert.throws(() => IdMap.fromBuffer(good.subarray(0, good.byteLength - 2)), corrupt, 'id bytes cut short');
  const dup = IdMap.from(['same', 'diff']).toBuffer();
  dup.set(Buffer.from('same'), dup.byteLength - 4);
  assert.throws(() => IdMap.fromBuffer(dup), corrupt, 'duplicate ids');
  const badUtf8 = Buffer.from(good);
  badUtf8[badUtf8.byteLength - 1] = 0xff;
  assert.throws(() => IdMap.fromBuffer(badUtf8), corrupt, 'invalid UTF-8');
});
