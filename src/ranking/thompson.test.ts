import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { ArrayCounters } from './counters.ts';
import { DEFAULT_SIMULATION, type ExplorationPolicy, plantedCtrs, simulateExploration } from './simulate.ts';
import { Explorer, explorationSlots, explore, sampleBeta, sampleGamma } from './thompson.ts';

/** Sample mean and variance of n draws. */
function moments(n: number, draw: () => number): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  return { mean, variance: (s2 - n * mean * mean) / (n - 1) };
}

/**
 * Checks sample moments against the closed form within 5 standard errors: the mean's is σ/√n, the variance's
 * σ²·√((κ + 2)/n) with κ the excess kurtosis.
 */
function assertMoments(
  got: { mean: number; variance: number },
  mean: number,
  variance: number,
  kurtosis: number,
  n: number,
  what: string,
) {
  const seMean = Math.sqrt(variance / n);
  const seVar = variance * Math.sqrt((kurtosis + 2) / n);
  assert.ok(Math.abs(got.mean - mean) < 5 * seMean, `${what} mean ${got.mean} vs ${mean}`);
  assert.ok(Math.abs(got.variance - variance) < 5 * seVar, `${what} variance ${got.variance} vs ${variance}`);
}

test('Gamma(k) draws have mean k and variance k (shapes below and above 1)', () => {
  const rng = new Rng(11);
  const n = 40000;
  for (const k of [0.3, 1, 2.5, 40])
    assertMoments(
      moments(n, () => sampleGamma(rng, k)),
      k,
      k,
      6 / k,
      n,
      `Gamma(${k})`,
    );
});

test('Beta(a, b) draws have mean a/(a+b) and variance ab/((a+b)²(a+b+1))', () => {
  const rng = new Rng(12);
  const n = 40000;
  for (const [a, b] of [
    [1, 1],
    [2, 5],
    [0.5, 0.5],
    [31, 971],
  ]) {
    const s = a + b;
    const variance = (a * b) / (s * s * (s + 1));
    const kurtosis = (6 * ((a - b) ** 2 * (s + 1) - a * b * (s + 2))) / (a * b * (s + 2) * (s + 3));
    const got = moments(n, () => sampleBeta(rng, a, b));
    assertMoments(got, a / s, variance, kurtosis, n, `Beta(${a}, ${b})`);
  }
  assert.throws(() => sampleGamma(rng, 0), { code: 'CONFIG_INVALID' });
});

test('exploration takes ⌈share × slots⌉ slots, none at share 0', () => {
  assert.equal(explorationSlots(10, 0), 0);
  assert.equal(explorationSlots(10, 0.1), 1);
  assert.equal(explorationSlots(30, 0.1), 3);
  assert.equal(explorationSlots(5, 0.1), 1);
  assert.equal(explorationSlots(10, 0.25), 3);
  assert.equal(explorationSlots(7, 1), 7);
  assert.equal(explorationSlots(0, 0.5), 0);
  assert.throws(() => explorationSlots(10, 1.5), { code: 'CONFIG_INVALID', detail: { field: 'explore' } });
  assert.throws(() => explorationSlots(10, -0.1), { code: 'CONFIG_INVALID' });
});

test('explore keeps the ranked head in order and fills the share from the rest of the pool, reproducibly', () => {
  const pool = Int32Array.from({ length: 50 }, (_, i) => 100 + i);
  const counters = new ArrayCounters();
  for (const slots of [10, 20, 30])
    for (const share of [0, 0.1, 0.25, 1]) {
      const k = explorationSlots(slots, share);
      const a = explore(pool, counters, slots, share, 'req-1');
      assert.equal(a.items.length, slots);
      assert.equal(
        a.explored.reduce((s, x) => s + x, 0),
        k,
        `slots ${slots} share ${share}`,
      );
      assert.equal(new Set(a.items).size, slots, 'no item twice');
      const kept = Array.from(a.items).filter((_, s) => !a.explored[s]);
      assert.deepEqual(kept, Array.from(pool.subarray(0, slots - k)), 'the exploited head keeps its order');
      for (let s = 0; s < slots; s++)
        if (a.explored[s]) {
          assert.ok(a.items[s] >= 100 + slots - k, 'explored items come from beyond the head');
          assert.ok(a.sampled[s] > 0 && a.sampled[s] < 1);
        } else assert.ok(Number.isNaN(a.sampled[s]));
      assert.deepEqual(explore(pool, counters, slots, share, 'req-1'), a, 'same seed, same answer');
    }
  const seeds = new Set(
    Array.from({ length: 20 }, (_, s) => explore(pool, counters, 10, 0.3, s).items.join(',')),
  );
  assert.ok(seeds.size > 10, 'different seeds explore differently');
  // A pool shorter than the slots fills what it can.
  assert.equal(explore(pool.subarray(0, 3), counters, 10, 0.1, 1).items.length, 3);
});

test('explore picks the candidate whose posterior is far ahead', () => {
  const pool = Int32Array.from({ length: 20 }, (_, i) => i);
  const counters = new ArrayCounters(20);
  for (let i = 0; i < 20; i++) counters.shown[i] = 1000;
  counters.clicked[17] = 500; // CTR ½ against 0 for every other item
  for (let seed = 0; seed < 20; seed++) {
    const a = explore(pool, counters, 10, 0.1, seed);
    const s = a.explored.indexOf(1);
    assert.equal(a.items[s], 17, `seed ${seed}`);
  }
});

test('Thompson sampling converges to the better arm of a two-arm bandit', () => {
  const truth = [0.04, 0.07];
  const pool = Int32Array.from([0, 1]);
  const explorer = new Explorer();
  for (const seed of [1, 2, 3]) {
    const counters = new ArrayCounters(2);
    const rng = new Rng(seed);
    let lateBetter = 0;
    const rounds = 4000;
    for (let t = 0; t < rounds; t++) {
      explorer.run(pool, 2, counters, { slots: 1, share: 1, seed: `${seed}/${t}` });
      const arm = explorer.items[0];
      counters.record(arm, rng.next() < truth[arm]);
      if (t >= rounds / 2 && arm === 1) lateBetter++;
    }
    assert.ok(
      lateBetter / (rounds / 2) > 0.85,
      `seed ${seed}: better arm ${lateBetter} of ${rounds / 2} late pulls`,
    );
  }
});

test('refuses a bad prior', () => {
  const e = new Explorer();
  assert.throws(() => e.run(new Int32Array(3), 3, new ArrayCounters(), { slots: 2, seed: 1, alpha: 0 }), {
    code: 'CONFIG_INVALID',
  });
});

test('simulated feed: Thompson beats greedy and finds the new best items; the oracle is the ceiling', () => {
  const base = { ...DEFAULT_SIMULATION, items: 40, newItems: 10, slots: 4, impressions: 8000 };
  const policies: ExplorationPolicy[] = [
    { kind: 'oracle' },
    { kind: 'greedy' },
    { kind: 'thompson', share: 0.25 },
    { kind: 'thompson', share: 1 },
  ];
  const expected = [0, 0, 0, 0];
  const found = [0, 0, 0, 0];
  let newBest = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const sim = { ...base, seed };
    policies.forEach((p, i) => {
      const o = simulateExploration(sim, p);
      assert.equal(o.impressions, 8000);
      expected[i] += o.expectedClicks;
      found[i] += o.newBestFound;
      if (i === 0) newBest += o.newBest;
    });
    // The oracle's expectation by hand: every request shows the true best `slots`.
    const truth = Array.from(plantedCtrs(sim)).sort((a, b) => b - a);
    const oracle = simulateExploration(sim, { kind: 'oracle' }).expectedClicks;
    const want = (8000 / 4) * truth.slice(0, 4).reduce((s, x) => s + x, 0);
    assert.ok(Math.abs(oracle - want) < 1e-6 * want);
  }
  const [oracle, greedy, thompson, thompsonAll] = expected;
  assert.ok(oracle > thompson && oracle > thompsonAll);
  assert.ok(thompson > greedy * 1.04, `Thompson ${thompson} vs greedy ${greedy}`);
  assert.ok(thompsonAll > greedy * 1.04, `Thompson (all slots) ${thompsonAll} vs greedy ${greedy}`);
  assert.ok(1 - thompson / oracle < 0.1, `Thompson loss ${1 - thompson / oracle}`);
  assert.ok(newBest > 0);
  assert.equal(found[1], 0, 'greedy never shows a new item, so never learns one is among the best');
  assert.ok(found[2] >= newBest - 1, `Thompson found ${found[2]} of ${newBest}`);
});
