import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashString, Rng } from './prng.ts';

test('same seed gives the same sequence; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 8 }, () => a.nextUint32());
  assert.deepEqual(
    xs,
    Array.from({ length: 8 }, () => b.nextUint32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 8 }, () => c.nextUint32()),
  );
});

test('golden values pin the generator across platforms and releases', () => {
  // Computed once by this implementation; a change here changes every seeded artifact.
  const r = new Rng(1);
  const got = Array.from({ length: 4 }, () => r.nextUint32());
  assert.deepEqual(got, GOLDEN_SEED_1);
  assert.equal(hashString('simrec'), GOLDEN_HASH_SIMREC);
});

test('int(n) is uniform enough and in range', () => {
  const r = new Rng(7);
  const counts = new Int32Array(10);
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[r.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < 5 * Math.sqrt(n / 10), `count ${c}`);
});

test('next() lies in [0,1) with mean 1/2; normal() has mean 0 and variance 1', () => {
  const r = new Rng(3);
  let s = 0;
  let s1 = 0;
  let s2 = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    s += u;
    const z = r.normal();
    s1 += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s1 / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
});

test('gumbel() has mean γ ≈ 0.5772', () => {
  const r = new Rng(11);
  let s = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) s += r.gumbel();
  assert.ok(Math.abs(s / n - 0.5772156649) < 0.01);
});

test('fork gives independent reproducible streams; permutation is a permutation', () => {
  const a = new Rng(5).fork('w1');
  const b = new Rng(5).fork('w1');
  const c = new Rng(5).fork('w2');
  const x = a.nextUint32();
  assert.equal(x, b.nextUint32());
  assert.notEqual(x, c.nextUint32());
  const p = new Rng(9).permutation(1000);
  const seen = new Uint8Array(1000);
  for (const v of p) seen[v]++;
  assert.ok(seen.every((v) => v === 1));
});

// Cross-checked against an independent Python transcription of xoshiro128** (Blackman & Vigna).
const GOLDEN_SEED_1 = [2442144158, 3238099751, 3819917871, 2104621829];
const GOLDEN_HASH_SIMREC = 3318259969;
