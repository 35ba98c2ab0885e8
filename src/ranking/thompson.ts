/**
 * Exploration by Thompson sampling (DESIGN §7, issue 16 item 5): each candidate's click-through rate has the
 * posterior Beta(α + clicks, β + impressions − clicks); a request draws one sample per candidate and fills its
 * exploration slots with the candidates of highest sampled rate, so an item is explored about as often as it
 * may be the best (Thompson 1933; Chapelle & Li 2011, "An empirical evaluation of Thompson sampling"). Beta
 * draws are X/(X+Y) of two Gamma draws by Marsaglia & Tsang's method (ACM TOMS 2000), from the seeded Rng, so a
 * request seed reproduces the answer.
 */
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { TopK } from '../core/topk.ts';
import type { EngagementCounters } from './counters.ts';

/** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape))
    throw new SimrecError('CONFIG_INVALID', `gamma shape must be finite and > 0, got ${shape}`, {
      field: 'shape',
    });
  if (shape < 1) return sampleGamma(rng, shape + 1) * rng.nextOpen() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.nextOpen();
    const x2 = x * x;
    // The squeeze accepts ~98% without a logarithm.
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X/(X+Y), X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

/** Default share of slots given to exploration. */
export const DEFAULT_EXPLORE_SHARE = 0.1;

/**
 * ⌈share × slots⌉ exploration slots, 0 for share 0; the product is rounded to 1e-9 first so that a share such
 * as 0.1 of 30 slots gives 3, not the 4 its binary floating-point product would ceil to.
 */
export function explorationSlots(slots: number, share: number): number {
  if (!(share >= 0 && share <= 1))
    throw new SimrecError('CONFIG_INVALID', `exploration share must be in [0, 1], got ${share}`, {
      field: 'explore',
    });
  if (!Number.isInteger(slots) || slots < 0)
    throw new SimrecError('CONFIG_INVALID', `slots must be a non-negative integer, got ${slots}`, {
      field: 'limit',
    });
  if (share === 0) return 0;
  return Math.min(slots, Math.max(0, Math.ceil(share * slots - 1e-9)));
}

export interface ExploreOptions {
  /** Slots of the answer (the request's limit). */
  slots: number;
  /** Share of the slots filled by exploration (default 0.1; 0 turns exploration off). */
  share?: number;
  /** The request seed: the same seed, pool and counters give the same answer. */
  seed: number | string;
  /** Prior Beta(α, β) of an item without impressions (default 1, 1: uniform). */
  alpha?: number;
  beta?: number;
}

/**
 * Fills the answer's slots from a ranked pool, reusing its buffers across requests: the first slots − k pool
 * entries keep their order and positions, and k = ⌈share × slots⌉ positions, chosen at random by the seed, take
 * the rest of the pool's entries of highest sampled CTR (best sample first). Random positions keep the explored
 * items from all landing where users look least or most, which would bias the clicks they collect.
 */
export class Explorer {
  /** The answer: item indices in slot order, `length` of them. */
  items: Int32Array;
  /** 1 where the slot was filled by exploration. */
  explored: Uint8Array;
  /** The sampled CTR of an explored slot (NaN for the others): what an explanation can show. */
  sampled: Float64Array;
  length = 0;
  private readonly rng = new Rng(0);
  private topk = new TopK(0);
  private pickedPos = new Int32Array(0);
  private pickedScore = new Float64Array(0);
  private positions = new Int32Array(0);

  constructor(slots = 0) {
    this.items = new Int32Array(slots);
    this.explored = new Uint8Array(slots);
    this.sampled = new Float64Array(slots);
  }

  /**
   * @param pool item indices ranked best first (the first `n` are used)
   * @returns the number of slots filled: min(slots, n)
   */
  run(pool: Int32Array, n: number, counters: EngagementCounters, options: ExploreOptions): number {
    const alpha = options.alpha ?? 1;
    const beta = options.beta ?? 1;
    if (!(alpha > 0 && beta > 0) || !Number.isFinite(alpha + beta))
      throw new SimrecError(
        'CONFIG_INVALID',
        `Thompson prior must be finite and > 0, got α ${alpha}, β ${beta}`,
        {
          field: 'explore',
        },
      );
    const size = Math.min(options.slots, n);
    const k = Math.min(explorationSlots(options.slots, options.share ?? DEFAULT_EXPLORE_SHARE), size);
    this.ensure(size, k);
    this.length = size;
    const exploit = size - k;
    for (let s = 0; s < size; s++) {
      this.explored[s] = 0;
      this.sampled[s] = Number.NaN;
    }
    if (k === 0) {
      for (let s = 0; s < size; s++) this.items[s] = pool[s];
      return size;
    }
    const rng = this.rng;
    rng.reseed(options.seed);
    // Sample every candidate beyond the exploited ones; TopK breaks equal samples by pool position.
    const topk = this.topk;
    topk.reset();
    for (let p = exploit; p < n; p++) {
      const item = pool[p];
      const shown = counters.impressions(item);
      const clicks = Math.min(Math.max(counters.clicks(item), 0), Math.max(shown, 0));
      topk.push(p, sampleBeta(rng, alpha + clicks, beta + Math.max(shown, 0) - clicks));
    }
    topk.drainSorted(this.pickedPos, this.pickedScore);
    // k distinct positions out of `size`: a partial Fisher–Yates shuffle, then in increasing order.
    const positions = this.positions;
    for (let s = 0; s < size; s++) positions[s] = s;
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(size - j);
      const t = positions[j];
      positions[j] = positions[r];
      positions[r] = t;
    }
    positions.subarray(0, k).sort();
    for (let j = 0; j < k; j++) {
      const s = positions[j];
      this.explored[s] = 1;
      this.items[s] = pool[this.pickedPos[j]];
      this.sampled[s] = this.pickedScore[j];
    }
    let next = 0;
    for (let s = 0; s < size; s++) if (!this.explored[s]) this.items[s] = pool[next++];
    return size;
  }

  private ensure(size: number, k: number): void {
    if (this.items.length < size) {
      this.items = new Int32Array(size);
      this.explored = new Uint8Array(size);
      this.sampled = new Float64Array(size);
      this.positions = new Int32Array(size);
    }
    if (this.positions.length < size) this.positions = new Int32Array(size);
    if (this.topk.capacity < k) {
      this.topk = new TopK(k);
      this.pickedPos = new Int32Array(k);
      this.pickedScore = new Float64Array(k);
    }
  }
}

/**
 * One-shot form of {@link Explorer.run} over a whole ranked pool: the answer's items and which slots explored.
 * Allocates its result; a server keeps an Explorer per worker instead.
 */
export function explore(
  pool: Int32Array,
  counters: EngagementCounters,
  slots: number,
  share: number,
  seed: number | string,
  prior: { alpha?: number; beta?: number } = {},
): { items: Int32Array; explored: Uint8Array; sampled: Float64Array } {
  const e = new Explorer(slots);
  const n = e.run(pool, pool.length, counters, { slots, share, seed, ...prior });
  return { items: e.items.slice(0, n), explored: e.explored.slice(0, n), sampled: e.sampled.slice(0, n) };
}
