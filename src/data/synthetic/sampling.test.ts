import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../core/prng.ts';
import {
  blockStarts,
  dirichletMillionths,
  drawFromBlock,
  drawSmall,
  logNormal,
  prefixSums,
  zipfSizes,
} from './sampling.ts';

test('zipfSizes: floor plus a Zipf split of the rest by largest remainder', () => {
  // rest 20 ∝ 1, 2^-0.8, 3^-0.8, 4^-0.8 = 8.62, 4.95, 3.58, 2.85 → 8, 4, 3, 2 + remainders to c1, c3, c0.
  assert.deepEqual([...zipfSizes(60, 4, 10, 0.8)], [19, 15, 13, 13]);
  // Exponent 0: an even split, the leftover to the lowest indices.
  assert.deepEqual([...zipfSizes(10, 3, 1, 0)], [4, 3, 3]);
  assert.deepEqual([...zipfSizes(6, 3, 2, 1)], [2, 2, 2]);
  const big = zipfSizes(100_000, 800, 40, 0.8);
  assert.equal(
    big.reduce((a, b) => a + b, 0),
    100_000,
  );
  for (let c = 1; c < big.length; c++) assert.ok(big[c] <= big[c - 1] && big[c] >= 40);
  assert.throws(() => zipfSizes(10, 3, 4, 1), RangeError);
});

test('blockStarts and prefixSums', () => {
  assert.deepEqual([...blockStarts(Int32Array.from([3, 0, 2]))], [0, 3, 3, 5]);
  assert.deepEqual([...prefixSums(Float64Array.from([1, 2, 3.5]))], [1, 3, 6.5]);
});

test('drawFromBlock: inverse CDF inside a block of a global running sum', () => {
  const cum = prefixSums(Float64Array.from([5, 1, 3, 1, 4]));
  // Block [1, 4) has weights 1, 3, 1: u in [0, .2) → 1, [.2, .8) → 2, [.8, 1) → 3.
  assert.equal(drawFromBlock(cum, 1, 4, 0), 1);
  assert.equal(drawFromBlock(cum, 1, 4, 0.19), 1);
  assert.equal(drawFromBlock(cum, 1, 4, 0.2), 2);
  assert.equal(drawFromBlock(cum, 1, 4, 0.79), 2);
  assert.equal(drawFromBlock(cum, 1, 4, 0.8), 3);
  assert.equal(drawFromBlock(cum, 1, 4, 0.999999), 3);
  assert.equal(drawFromBlock(cum, 0, 1, 0.5), 0);
  assert.equal(drawFromBlock(cum, 4, 5, 0.5), 4);
  // Zero-weight entries are never drawn.
  const z = prefixSums(Float64Array.from([0, 2, 0, 2]));
  for (const u of [0, 0.25, 0.5, 0.75, 0.9999]) assert.ok([1, 3].includes(drawFromBlock(z, 0, 4, u)));
  // Frequencies follow the weights.
  const rng = new Rng(3);
  const hits = [0, 0, 0];
  for (let i = 0; i < 30_000; i++) hits[drawFromBlock(cum, 1, 4, rng.next()) - 1]++;
  assert.ok(Math.abs(hits[1] / 30_000 - 0.6) < 0.02, `${hits}`);
});

test('drawSmall: linear scan over a short cumulative array', () => {
  const cum = prefixSums(Float64Array.from([0.5, 0.35, 0.15]));
  assert.equal(drawSmall(cum, 0.49), 0);
  assert.equal(drawSmall(cum, 0.5), 1);
  assert.equal(drawSmall(cum, 0.84), 1);
  assert.equal(drawSmall(cum, 0.86), 2);
});

test('logNormal: the mean is the requested mean', () => {
  const rng = new Rng(9);
  let s = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) s += logNormal(rng, 10, 1);
  assert.ok(Math.abs(s / n - 10) < 0.2, `mean ${s / n}`);
});

test('dirichletMillionths: integers ≥ 1 summing to exactly 10⁶', () => {
  const rng = new Rng(4);
  const out = new Int32Array(10);
  for (let trial = 0; trial < 2000; trial++) {
    const n = 1 + (trial % 5);
    dirichletMillionths(rng, n, out, 3);
    let s = 0;
    for (let i = 3; i < 3 + n; i++) {
      assert.ok(Number.isInteger(out[i]) && out[i] >= 1);
      s += out[i];
    }
    assert.equal(s, 1_000_000);
  }
  dirichletMillionths(rng, 1, out, 0);
  assert.equal(out[0], 1_000_000);
});
