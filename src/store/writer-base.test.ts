import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { RowHashStream } from './writer-base.ts';

/** The checksum stream as defined: per row, two updates — the u32 big-endian index, then the bytes. */
function perRowDigest(rows: { index: number; bytes: Uint8Array }[]): string {
  const h = createHash('sha256').update('head');
  const tag = new Uint8Array(4);
  for (const r of rows) {
    new DataView(tag.buffer).setUint32(0, r.index, false);
    h.update(tag);
    h.update(r.bytes);
  }
  return h.digest('hex');
}

function randomRows(rng: Rng, n: number, big: number[]): { index: number; bytes: Uint8Array }[] {
  const rows: { index: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    // Mostly short rows, plus the given long ones: longer than the gathering buffer (1 MiB) and ones that
    // straddle its end.
    const size = big.includes(i) ? (1 << 20) + 3 * i : rng.int(200);
    const bytes = new Uint8Array(size);
    for (let k = 0; k < size; k++) bytes[k] = rng.int(256);
    rows.push({ index: i === 7 ? 0x8000_0001 : i * 3 + 1, bytes });
  }
  return rows;
}

test('RowHashStream gives the per-row digest whatever the row sizes', () => {
  const rows = randomRows(new Rng(5), 12_000, [100, 101, 9_000]);
  const h = createHash('sha256').update('head');
  const s = new RowHashStream(h);
  for (const r of rows) s.row(r.index, r.bytes);
  s.flush();
  assert.equal(h.digest('hex'), perRowDigest(rows));
});

test('RowHashStream.rowOfKey takes the index from the key tail (big-endian, unsigned)', () => {
  const rows = randomRows(new Rng(6), 50, []);
  const h = createHash('sha256').update('head');
  const s = new RowHashStream(h);
  for (const r of rows) {
    const key = new Uint8Array(9);
    key.set([0x73, 0x63, 0x2f, 0x78, 0]);
    new DataView(key.buffer).setUint32(5, r.index, false);
    s.rowOfKey(key, r.bytes);
  }
  s.flush();
  assert.equal(h.digest('hex'), perRowDigest(rows));
});

test('an empty stream adds nothing to the digest', () => {
  const h = createHash('sha256').update('head');
  new RowHashStream(h).flush();
  assert.equal(h.digest('hex'), createHash('sha256').update('head').digest('hex'));
});
