import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { ExampleSet } from './examples.ts';
import { FeatureBuilder, FeatureSpec } from './hashing.ts';
import { selectL2 } from './select-l2.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * `users` groups of 20 examples: a planted logit −2 + 1.5·x0 − x1, plus one of `noise` meaningless tokens per
 * example (an id-like hashed feature). Few users and many tokens: the tokens can only be memorised.
 */
function groups(users: number, noise: number, seed: number) {
  const spec = new FeatureSpec({ bits: 14, numeric: ['x0', 'x1'], categorical: ['token'] });
  const rng = new Rng(seed);
  const b = new FeatureBuilder(spec);
  const set = new ExampleSet();
  const offsets = [0];
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < 20; j++) {
      b.begin();
      const x0 = rng.normal();
      const x1 = rng.normal();
      b.numeric(0, x0).numeric(1, x1).categorical(0, rng.int(noise));
      set.add(b.end(), rng.next() < sigmoid(-2 + 1.5 * x0 - x1) ? 1 : 0);
    }
    offsets.push(set.length);
  }
  return { spec, set, offsets };
}

test('selectL2 shrinks harder when the hashed tokens outnumber what the examples can pin down', () => {
  const big = groups(500, 20, 1); // 10,000 examples, 20 tokens: each token seen ~500 times
  const small = groups(15, 400, 2); // 300 examples, 400 tokens: each seen about once
  const a = selectL2(big.spec, big.set, big.offsets);
  const b = selectL2(small.spec, small.set, small.offsets);
  assert.equal(a.folds, 3);
  assert.equal(b.folds, 3);
  assert.ok(a.l2 <= 1e-3, `large data chose ${a.l2}`);
  assert.ok(b.l2 >= 1e-2, `small data chose ${b.l2}`);
  // The chosen penalty is the grid's lowest held-out logloss, and each entry is a real logloss.
  for (const s of [a, b]) {
    const best = Math.min(...s.grid.map((g) => g.logloss));
    assert.equal(s.grid.find((g) => g.l2 === s.l2)?.logloss, best);
    assert.ok(s.grid.every((g) => g.logloss > 0 && g.logloss < Math.log(2) * 2));
  }
  // Deterministic: the same examples give the same choice and table.
  assert.deepEqual(selectL2(small.spec, small.set, small.offsets), b);
});

test('selectL2 falls back when no fold has both classes on both sides', () => {
  const spec = new FeatureSpec({ bits: 8, numeric: ['x'], categorical: [] });
  const b = new FeatureBuilder(spec);
  const set = new ExampleSet();
  // Three groups; only the first holds a positive, so every fold misses a class on one side.
  for (let g = 0; g < 3; g++)
    for (let j = 0; j < 4; j++)
      set.add(
        b
          .begin()
          .numeric(0, j + 1)
          .end(),
        g === 0 && j === 0 ? 1 : 0,
      );
  const s = selectL2(spec, set, [0, 4, 8, 12], { fallback: 0.5 });
  assert.equal(s.folds, 0);
  assert.equal(s.l2, 0.5);
  assert.ok(s.grid.every((g) => Number.isNaN(g.logloss)));
  assert.throws(() => selectL2(spec, set, [0, 4, 8, 12], { folds: 1 }), /folds/);
});
