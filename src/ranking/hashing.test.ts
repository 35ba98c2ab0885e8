import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FeatureBuilder,
  FeatureSpec,
  FeatureVector,
  murmur3Bytes,
  murmur3Pair,
  murmur3String,
} from './hashing.ts';

const enc = new TextEncoder();

test('MurmurHash3 x86_32 gives the published test vectors', () => {
  // The reference vectors of SMHasher's MurmurHash3_x86_32 as collected in the widely used list (seed, input → hash).
  const cases: [number[] | string, number, number][] = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['hello', 0, 0x248bfa47],
  ];
  for (const [input, seed, want] of cases) {
    const got =
      typeof input === 'string' ? murmur3String(input, seed) : murmur3Bytes(Uint8Array.from(input), seed);
    assert.equal(got, want, `${JSON.stringify(input)} seed ${seed}`);
  }
});

test('strings hash as their UTF-8 bytes, as TextEncoder writes them (lone surrogates included)', () => {
  for (const s of [
    'é',
    'naïve=ü',
    '日本語',
    'emoji 🎬 x',
    'lone \ud800 high',
    'lone \udc00 low',
    'end \ud83c',
  ]) {
    assert.equal(murmur3String(s, 7), murmur3Bytes(enc.encode(s), 7), s);
  }
});

test('a cross hash is MurmurHash3 of the two token hashes as little-endian words', () => {
  const a = 0x01020304;
  const b = 0xa0b0c0d0;
  const bytes = Uint8Array.from([4, 3, 2, 1, 0xd0, 0xc0, 0xb0, 0xa0]);
  assert.equal(murmur3Pair(a, b, 3), murmur3Bytes(bytes, 3));
  assert.notEqual(murmur3Pair(a, b), murmur3Pair(b, a));
});

test('a token hash is the hash of `name=value`, for string and integer values alike', () => {
  const spec = new FeatureSpec({ bits: 10, numeric: ['age'], categorical: ['author', 'cluster'], seed: 11 });
  assert.equal(spec.tokenHash(0, 'alice'), murmur3String('author=alice', 11));
  for (const v of [0, 7, 10, 42, 1000, 123456789, -5, 2 ** 40 + 3])
    assert.equal(spec.tokenHash(1, v), murmur3String(`cluster=${v}`, 11), String(v));
  assert.equal(spec.tokenHash(1, 17), spec.tokenHash(1, '17'));
  assert.equal(spec.tokenHash(1, 2.5), murmur3String('cluster=2.5', 11));
});

test('the builder puts numerics in their dense slots and categoricals at hash & mask with the top-bit sign', () => {
  const spec = new FeatureSpec({
    bits: 8,
    numeric: ['age', 'ctr'],
    categorical: ['source', 'tag'],
    crosses: [['source', 'tag']],
  });
  assert.equal(spec.dimension, 2 + 256);
  const b = new FeatureBuilder(spec);
  const v = b.begin().numeric(1, 0.25).numeric(0, 0).categorical(0, 'ann').categorical(1, 'jazz', 0.5).end();
  // age = 0 is left out; ctr; source; tag; one cross.
  assert.equal(v.length, 4);
  assert.deepEqual([v.slots[0], v.values[0], v.fields[0]], [1, 0.25, 1]);
  const hs = murmur3String('source=ann');
  const ht = murmur3String('tag=jazz');
  const sign = (h: number) => (h >>> 31 ? -1 : 1);
  assert.deepEqual([v.slots[1], v.values[1], v.fields[1]], [2 + (hs & 255), sign(hs), 2]);
  assert.deepEqual([v.slots[2], v.values[2], v.fields[2]], [2 + (ht & 255), sign(ht) * 0.5, 3]);
  const hc = murmur3Pair(hs, ht);
  assert.deepEqual([v.slots[3], v.values[3], v.fields[3]], [2 + (hc & 255), sign(hc) * 0.5, 4]);
  assert.equal(spec.fieldName(4), 'source×tag');
  assert.equal(spec.fieldName(3), 'tag');
  assert.equal(spec.fieldName(0), 'age');
});

test('multi-valued fields cross every pair; a field crossed with itself skips the token with itself', () => {
  const spec = new FeatureSpec({
    bits: 12,
    numeric: [],
    categorical: ['u', 'i'],
    crosses: [
      ['u', 'i'],
      ['i', 'i'],
    ],
  });
  const b = new FeatureBuilder(spec);
  const v = b
    .begin()
    .categorical(0, 1)
    .categorical(0, 2)
    .categorical(1, 3)
    .categorical(1, 4)
    .categorical(1, 5)
    .end();
  const count = (field: number) =>
    Array.from(v.fields.subarray(0, v.length)).filter((f) => f === field).length;
  assert.equal(count(0), 2);
  assert.equal(count(1), 3);
  assert.equal(count(2), 2 * 3);
  assert.equal(count(3), 3 * 2);
});

test('the signs of many tokens are balanced and the slots spread (a hashing sanity check)', () => {
  const spec = new FeatureSpec({ bits: 4, numeric: [], categorical: ['item'] });
  let plus = 0;
  const perSlot = new Int32Array(16);
  const n = 16000;
  for (let i = 0; i < n; i++) {
    const h = spec.tokenHash(0, i);
    if (spec.signOf(h) === 1) plus++;
    perSlot[spec.slotOf(h)]++;
  }
  assert.ok(Math.abs(plus - n / 2) < 4 * Math.sqrt(n / 4), `plus ${plus}`);
  for (const c of perSlot) assert.ok(Math.abs(c - n / 16) < 5 * Math.sqrt(n / 16), `slot count ${c}`);
});

test('a vector grows past its capacity and keeps its entries', () => {
  const v = new FeatureVector(2);
  for (let e = 0; e < 10; e++) v.push(e, e / 2, e % 3);
  assert.equal(v.length, 10);
  assert.deepEqual(Array.from(v.slots.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(v.values[9], 4.5);
  assert.equal(v.fields[8], 2);
});

test('bad specs and NaN numerics are refused with CONFIG_INVALID / a coded error', () => {
  assert.throws(() => new FeatureSpec({ bits: 0, numeric: [], categorical: [] }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new FeatureSpec({ bits: 29, numeric: [], categorical: [] }), {
    code: 'CONFIG_INVALID',
  });
  assert.throws(() => new FeatureSpec({ bits: 4, numeric: ['a'], categorical: ['a'] }), {
    code: 'CONFIG_INVALID',
  });
  assert.throws(() => new FeatureSpec({ bits: 4, numeric: [], categorical: ['a'], crosses: [['a', 'b']] }), {
    code: 'CONFIG_INVALID',
  });
  const spec = new FeatureSpec({ bits: 4, numeric: ['x'], categorical: [] });
  assert.throws(() => new FeatureBuilder(spec).begin().numeric(0, Number.NaN), { code: 'INTERNAL' });
  assert.deepEqual(new FeatureSpec(spec.toJSON()).toJSON(), spec.toJSON());
});

test('a categorical given by its cached token hash builds the same vector, crosses included', () => {
  const spec = new FeatureSpec({
    bits: 10,
    numeric: ['x'],
    categorical: ['author', 'tag'],
    crosses: [['author', 'tag']],
  });
  const plain = new FeatureBuilder(spec);
  const cached = new FeatureBuilder(spec);
  const tags = ['drama', 'comedy', 'noir'];
  const tagHash = Int32Array.from(tags, (t) => spec.tokenHash(1, t));
  for (const author of ['u1', 'u2', '42']) {
    const a = plain.begin().numeric(0, 0.5).categorical(0, author);
    const b = cached.begin().numeric(0, 0.5).categoricalHash(0, spec.tokenHash(0, author));
    tags.forEach((t, j) => {
      a.categorical(1, t, 0.5);
      b.categoricalHash(1, tagHash[j], 0.5);
    });
    const va = a.end();
    const vb = b.end();
    assert.equal(vb.length, va.length);
    assert.equal(va.length, 1 + 1 + 3 + 3);
    assert.deepEqual(vb.slots.subarray(0, vb.length), va.slots.subarray(0, va.length));
    assert.deepEqual(vb.values.subarray(0, vb.length), va.values.subarray(0, va.length));
    assert.deepEqual(vb.fields.subarray(0, vb.length), va.fields.subarray(0, va.length));
  }
});
