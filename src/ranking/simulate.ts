/**
 * A simulated feed with planted click-through rates, to measure what exploration costs and finds (issue 16,
 * exploration benchmark): a catalogue whose true CTRs are drawn from a Beta, part of it established (shown
 * `warmImpressions` times before the run) and part new (never shown); each request shows `slots` items and each
 * shown item is clicked with its true CTR, position-blind. Policies:
 *  - oracle: the true best `slots` items every time (the ceiling);
 *  - greedy: the best by posterior-mean CTR, what a ranker with a CTR feature and no exploration shows;
 *  - thompson: the same ranking with a share of the slots filled by Thompson sampling (share 1: every slot).
 * The posterior and the Thompson prior are Beta(m·s, (1 − m)·s) with m the catalogue's mean CTR and s the prior
 * strength, so new items start at the average rather than at an optimistic ½.
 */
import { Rng } from '../core/prng.ts';
import { ArrayCounters } from './counters.ts';
import { Explorer, sampleBeta } from './thompson.ts';

export interface ExplorationSimulation {
  /** Catalogue size. */
  items: number;
  /** Items without any impression at the start (the last ones of the catalogue). */
  newItems: number;
  /** Impressions of each established item before the run. */
  warmImpressions: number;
  /** Slots per request. */
  slots: number;
  /** Impressions in the run (requests = impressions / slots). */
  impressions: number;
  /** True CTRs ~ Beta(ctrMean·ctrStrength, (1 − ctrMean)·ctrStrength). */
  ctrMean: number;
  ctrStrength: number;
  /** Strength s of the ranker's and Thompson's prior around the catalogue mean. */
  priorStrength: number;
  seed: number;
}

export type ExplorationPolicy = { kind: 'oracle' } | { kind: 'greedy' } | { kind: 'thompson'; share: number };

export interface ExplorationOutcome {
  impressions: number;
  /** Clicks drawn. */
  clicks: number;
  /** Σ true CTR of the items shown: the clicks' expectation, free of the click noise (what regret counts). */
  expectedClicks: number;
  /** Impressions that went to new items. */
  newItemImpressions: number;
  /** Of the new items among the true best `slots`, how many the final posterior mean ranks in its best `slots`. */
  newBestFound: number;
  newBest: number;
}

export const DEFAULT_SIMULATION: ExplorationSimulation = {
  items: 200,
  newItems: 50,
  warmImpressions: 200,
  slots: 10,
  impressions: 10_000,
  ctrMean: 0.05,
  ctrStrength: 20,
  priorStrength: 20,
  seed: 1,
};

/** The planted CTRs of a simulation (the same for every policy of one seed). */
export function plantedCtrs(sim: ExplorationSimulation): Float64Array {
  const rng = new Rng(sim.seed).fork('truth');
  const a = sim.ctrMean * sim.ctrStrength;
  const b = (1 - sim.ctrMean) * sim.ctrStrength;
  return Float64Array.from({ length: sim.items }, () => sampleBeta(rng, a, b));
}

function bestBy(values: ArrayLike<number>, n: number, out: Int32Array): Int32Array {
  for (let i = 0; i < n; i++) out[i] = i;
  return out.sort((x, y) => values[y] - values[x] || x - y);
}

export function simulateExploration(
  sim: ExplorationSimulation,
  policy: ExplorationPolicy,
): ExplorationOutcome {
  const truth = plantedCtrs(sim);
  const n = sim.items;
  const firstNew = n - sim.newItems;
  const counters = new ArrayCounters(n);
  const history = new Rng(sim.seed).fork('history');
  for (let i = 0; i < firstNew; i++)
    for (let t = 0; t < sim.warmImpressions; t++) counters.record(i, history.next() < truth[i]);
  const alpha = sim.ctrMean * sim.priorStrength;
  const beta = (1 - sim.ctrMean) * sim.priorStrength;
  const mean = new Float64Array(n);
  const order = new Int32Array(n);
  const oracle = bestBy(truth, n, new Int32Array(n)).slice(0, sim.slots);
  const explorer = new Explorer(sim.slots);
  const clicksRng = new Rng(sim.seed).fork(`clicks/${policy.kind}`);
  const out: ExplorationOutcome = {
    impressions: 0,
    clicks: 0,
    expectedClicks: 0,
    newItemImpressions: 0,
    newBestFound: 0,
    newBest: 0,
  };
  const requests = Math.floor(sim.impressions / sim.slots);
  for (let r = 0; r < requests; r++) {
    let shown: Int32Array;
    if (policy.kind === 'oracle') shown = oracle;
    else {
      for (let i = 0; i < n; i++)
        mean[i] = (alpha + counters.clicked[i]) / (alpha + beta + counters.shown[i]);
      bestBy(mean, n, order);
      const share = policy.kind === 'thompson' ? policy.share : 0;
      const size = explorer.run(order, n, counters, {
        slots: sim.slots,
        share,
        seed: `${sim.seed}/${r}`,
        alpha,
        beta,
      });
      shown = explorer.items.subarray(0, size);
    }
    for (let s = 0; s < shown.length; s++) {
      const item = shown[s];
      const click = clicksRng.next() < truth[item];
      counters.record(item, click);
      out.impressions++;
      out.expectedClicks += truth[item];
      if (click) out.clicks++;
      if (item >= firstNew) out.newItemImpressions++;
    }
  }
  for (let i = 0; i < n; i++) mean[i] = (alpha + counters.clicked[i]) / (alpha + beta + counters.shown[i]);
  const finalBest = new Set(bestBy(mean, n, order).subarray(0, sim.slots));
  for (const item of oracle)
    if (item >= firstNew) {
      out.newBest++;
      if (finalBest.has(item)) out.newBestFound++;
    }
  return out;
}
