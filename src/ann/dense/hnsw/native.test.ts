import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../../core/prng.ts';
import { nativeHnsw } from './native.ts';

const DIM = 8;
const N = 60;

/** A graph small enough that ef ≥ N makes the walk exhaustive: its answers must be brute force's. */
function tiny() {
  const rng = new Rng(3);
  const x = new Float32Array(N * DIM).map(() => rng.normal());
  const g = new (nativeHnsw().Graph)(DIM, N, 8, 100, 100);
  for (let i = 0; i < N; i++) g.addPoints(x.subarray(i * DIM, (i + 1) * DIM), Int32Array.of(i), 1);
  g.setEf(N);
  const q = new Float32Array(DIM).map(() => rng.normal());
  return { g, x, q };
}

/** Labels by 1 − q·x ascending, ties by label, over the labels that pass. */
function bruteForce(x: Float32Array, q: Float32Array, k: number, passes: (id: number) => boolean) {
  const d: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    if (!passes(i)) continue;
    let s = 0;
    for (let j = 0; j < DIM; j++) s += Math.fround(q[j] * x[i * DIM + j]);
    d.push([Math.fround(1 - s), i]);
  }
  d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return d.slice(0, k);
}

test('search writes the brute-force top-k, nearest first, into the caller buffers', () => {
  const { g, x, q } = tiny();
  const labels = new Int32Array(12).fill(-1);
  const dist = new Float32Array(12);
  assert.equal(g.search(q, 10, labels, dist), 10);
  const want = bruteForce(x, q, 10, () => true);
  assert.deepEqual(
    [...labels.subarray(0, 10)],
    want.map((w) => w[1]),
  );
  for (let j = 0; j < 10; j++) assert.ok(Math.abs(dist[j] - want[j][0]) < 1e-5);
  assert.equal(labels[10], -1, 'nothing written past k');
  assert.equal(g.search(q, 0, labels, dist), 0);
  assert.equal(g.count(), N);
  assert.equal(g.capacity(), N);
});

test('the stamp filter applies FilterMarks rule: allow by epoch, deny by epoch, stale stamps ignored', () => {
  const { g, x, q } = tiny();
  const labels = new Int32Array(10);
  const dist = new Float32Array(10);
  const allow = new Uint32Array(N);
  const deny = new Uint32Array(N);
  for (let i = 0; i < N; i += 3) allow[i] = 7; // current epoch
  for (let i = 1; i < N; i += 3) allow[i] = 6; // stale: not allowed
  deny[0] = 7;
  deny[3] = 6; // stale: not denied
  const passes = (i: number) => allow[i] === 7 && deny[i] !== 7;
  const n = g.search(q, 10, labels, dist, allow, deny, 7);
  assert.deepEqual(
    [...labels.subarray(0, n)],
    bruteForce(x, q, 10, passes).map((w) => w[1]),
  );
  // Deny only; the allow array may be shorter than the labels (past its end nothing is allowed).
  const m = g.search(q, 10, labels, dist, null, deny, 7);
  assert.deepEqual(
    [...labels.subarray(0, m)],
    bruteForce(x, q, 10, (i) => deny[i] !== 7).map((w) => w[1]),
  );
  const short = new Uint32Array(5).fill(7);
  const s = g.search(q, 10, labels, dist, short, null, 7);
  assert.deepEqual(
    [...labels.subarray(0, s)],
    bruteForce(x, q, 10, (i) => i < 5).map((w) => w[1]),
  );
});

test('deleted labels are never returned; re-adding revives; save and load answer the same', () => {
  const { g, x, q } = tiny();
  const labels = new Int32Array(10);
  const dist = new Float32Array(10);
  g.search(q, 10, labels, dist);
  const top = labels[0];
  g.markDelete(top);
  g.search(q, 10, labels, dist);
  assert.ok(!labels.includes(top));
  g.addPoints(x.subarray(top * DIM, (top + 1) * DIM), Int32Array.of(top), 1);
  g.search(q, 10, labels, dist);
  assert.equal(labels[0], top);
  g.resize(2 * N);
  assert.equal(g.capacity(), 2 * N);
  const dir = mkdtempSync(join(tmpdir(), 'simrec-native-'));
  try {
    g.save(join(dir, 'g.bin'));
    const h = new (nativeHnsw().Graph)(DIM, join(dir, 'g.bin'));
    h.setEf(N);
    const again = new Int32Array(10);
    h.search(q, 10, again, dist);
    assert.deepEqual(again, labels);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments throw JS errors instead of reading out of bounds', () => {
  const { g, q } = tiny();
  const labels = new Int32Array(10);
  const dist = new Float32Array(10);
  const bad: [string, () => unknown][] = [
    ['query as Float64Array', () => g.search(new Float64Array(DIM) as never, 10, labels, dist)],
    ['query of the wrong length', () => g.search(new Float32Array(DIM - 1), 10, labels, dist)],
    ['outputs shorter than k', () => g.search(q, 11, labels, dist)],
    ['labels as Float32Array', () => g.search(q, 5, dist as never, dist)],
    ['allow stamps as Int32Array', () => g.search(q, 5, labels, dist, labels as never, null, 1)],
    ['negative label', () => g.addPoints(q, Int32Array.of(-1), 1)],
    ['vector of the wrong length', () => g.addPoints(new Float32Array(3), Int32Array.of(1), 1)],
    ['unknown label deleted', () => g.markDelete(N + 5)],
    ['ef 0', () => g.setEf(0)],
    ['missing file', () => new (nativeHnsw().Graph)(DIM, '/nonexistent/simrec.bin')],
    ['dim 0', () => new (nativeHnsw().Graph)(0, 10, 8, 100, 1)],
  ];
  for (const [what, call] of bad) assert.throws(call, Error, what);
  // Still usable after every refusal.
  assert.equal(g.search(q, 10, labels, dist), 10);
});

test('addPoints: one thread inserts as one call per row does; two threads insert every row; capacity is checked first', () => {
  const { g, x, q } = tiny();
  const labels = Int32Array.from({ length: N }, (_, i) => i);
  const one = new (nativeHnsw().Graph)(DIM, N, 8, 100, 100);
  one.addPoints(x, labels, 1);
  const two = new (nativeHnsw().Graph)(DIM, N, 8, 100, 100);
  two.addPoints(x, labels, 2);
  const dir = mkdtempSync(join(tmpdir(), 'simrec-native-'));
  try {
    g.save(join(dir, 'loop.bin'));
    one.save(join(dir, 'one.bin'));
    assert.deepEqual(readFileSync(join(dir, 'one.bin')), readFileSync(join(dir, 'loop.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  two.setEf(N);
  assert.equal(two.count(), N);
  const out = new Int32Array(10);
  two.search(q, 10, out, new Float32Array(10));
  assert.deepEqual(
    [...out],
    bruteForce(x, q, 10, () => true).map((w) => w[1]),
  );
  // Full: a batch of new labels is refused before any is inserted; known labels update in place.
  assert.throws(() => two.addPoints(x.subarray(0, DIM), Int32Array.of(N + 1), 2), /capacity/);
  assert.equal(two.count(), N);
  two.addPoints(x.subarray(0, 2 * DIM), Int32Array.of(5, 6), 2);
  assert.equal(two.count(), N);
  assert.throws(() => two.addPoints(x.subarray(0, DIM), Int32Array.of(-1), 1), /non-negative/);
  assert.throws(() => two.addPoints(x.subarray(0, DIM + 1), Int32Array.of(1), 1), /labels.length × dim/);
  assert.throws(() => two.addPoints(x.subarray(0, DIM), Int32Array.of(1), 0), /threads/);
});
