import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { sharedMemory, simdModuleBytes, simdOps, wasm } from './simd.ts';

const memory = sharedMemory(65536);
const ops = simdOps(memory);
const f32 = new Float32Array(memory.buffer);
const rng = new Rng('simd');

/** Three vectors of n floats at float offsets 0, 1024, 2048 (byte offsets ×4), filled from fill(). */
function vectors(n: number, fill: (k: number) => number) {
  for (const base of [0, 1024, 2048]) for (let k = 0; k < n; k++) f32[base + k] = fill(k);
  return { x: 0, y: 1024, z: 2048 };
}

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('the module is valid WebAssembly and exports the five operations', () => {
  assert.ok(wasm.validate(simdModuleBytes()));
  for (const name of ['dot', 'adagrad', 'adadelta', 'axpy', 'scale'])
    assert.equal(typeof (ops as unknown as Record<string, unknown>)[name], 'function');
});

test('dot, axpy and scale match scalar arithmetic over whole lanes', () => {
  for (const n of [4, 8, 68]) {
    vectors(n, () => rng.next() - 0.5);
    const x = Float64Array.from(f32.subarray(0, n));
    const y = Float64Array.from(f32.subarray(1024, 1024 + n));
    let dot = 0;
    for (let k = 0; k < n; k++) dot += x[k] * y[k];
    near(ops.dot(0, 4096, 4 * n), dot, `dot n=${n}`);
    ops.axpy(4096, 0, 4 * n, 0.75);
    for (let k = 0; k < n; k++) near(f32[1024 + k], y[k] + 0.75 * x[k], `axpy[${k}]`);
    ops.scale(0, 4 * n, -2);
    for (let k = 0; k < n; k++) near(f32[k], -2 * x[k], `scale[${k}]`);
    // Nothing past nb bytes moves.
    f32[1024 + n] = 9;
    ops.axpy(4096, 0, 4 * n, 1);
    assert.equal(f32[1024 + n], 9);
  }
  assert.equal(ops.dot(0, 4096, 0), 0);
});

test('adagrad: w −= lr·(s·g + αw)/√acc, then acc += (s·g + αw)², lane by lane', () => {
  const n = 12;
  vectors(n, (k) => (k % 3) - 1 + 0.25);
  const w = Float64Array.from(f32.subarray(0, n));
  for (let k = 0; k < n; k++) f32[1024 + k] = 1 + k; // accumulators
  for (let k = 0; k < n; k++) f32[2048 + k] = rng.next() - 0.5; // gradient
  const g = Float64Array.from(f32.subarray(2048, 2048 + n));
  ops.adagrad(0, 4096, 8192, 4 * n, 2, 0.1, 0.05);
  for (let k = 0; k < n; k++) {
    const gg = 2 * g[k] + 0.1 * w[k];
    near(f32[k], w[k] - (0.05 * gg) / Math.sqrt(1 + k), `w[${k}]`);
    near(f32[1024 + k], 1 + k + gg * gg, `acc[${k}]`);
  }
});

test('adadelta: running means of g² and Δ², step √(E[Δ²]+ε)/√(E[g²]+ε)·g', () => {
  const n = 8;
  for (let k = 0; k < n; k++) {
    f32[k] = rng.next() - 0.5; // w
    f32[1024 + k] = rng.next(); // E[g²]
    f32[2048 + k] = rng.next() * 0.01; // E[Δ²]
    f32[3072 + k] = rng.next() - 0.5; // g
  }
  const w = Float64Array.from(f32.subarray(0, n));
  const eg = Float64Array.from(f32.subarray(1024, 1024 + n));
  const ed = Float64Array.from(f32.subarray(2048, 2048 + n));
  const g = Float64Array.from(f32.subarray(3072, 3072 + n));
  ops.adadelta(0, 4096, 8192, 12288, 4 * n, 1.5, 0.2, 0.9, 1e-3);
  for (let k = 0; k < n; k++) {
    const gg = 1.5 * g[k] + 0.2 * w[k];
    const eg2 = 0.9 * eg[k] + 0.1 * gg * gg;
    const d = (Math.sqrt(ed[k] + 1e-3) / Math.sqrt(eg2 + 1e-3)) * gg;
    near(f32[1024 + k], eg2, `E[g²][${k}]`);
    near(f32[2048 + k], 0.9 * ed[k] + 0.1 * d * d, `E[Δ²][${k}]`);
    near(f32[k], w[k] - d, `w[${k}]`);
  }
});
