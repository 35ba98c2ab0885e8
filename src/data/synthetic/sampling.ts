/**
 * Sampling laws of the generators over typed arrays: Zipf community sizes, prefix sums searched by bisection
 * (block-local, so one array serves every community), log-normal counts, Dirichlet weights in millionths.
 */
import type { Rng } from '../../core/prng.ts';

/**
 * 2^−32: `rng.nextUint32() * INV_2_32` is uniform in [0, 1) on 32 bits, half the cost of `rng.next()`'s 53;
 * plenty for the per-row draws (choices among at most millions of weighted entries, rates ≥ 10⁻⁶).
 */
export const INV_2_32 = 1 / 4294967296;

/**
 * Sizes of k groups summing to total, each at least min, with the rest split ∝ (c + 1)^−exponent by largest
 * remainder (ties to the lower index), so the sizes follow a Zipf law with a floor. Requires k·min ≤ total.
 */
export function zipfSizes(total: number, k: number, min: number, exponent: number): Int32Array {
  const sizes = new Int32Array(k);
  const rest = total - k * min;
  if (rest < 0) throw new RangeError(`zipfSizes: ${k} groups of at least ${min} exceed ${total}`);
  const share = new Float64Array(k);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    share[c] = (c + 1) ** -exponent;
    sum += share[c];
  }
  let given = 0;
  for (let c = 0; c < k; c++) {
    share[c] = (share[c] / sum) * rest;
    const whole = Math.floor(share[c]);
    sizes[c] = min + whole;
    share[c] -= whole;
    given += whole;
  }
  // Hand out what rounding down left over to the largest fractional parts.
  const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => share[b] - share[a] || a - b);
  for (let i = 0; i < rest - given; i++) sizes[order[i]]++;
  return sizes;
}

/** Start offsets of consecutive blocks of the given sizes: k + 1 entries, the last is the total. */
export function blockStarts(sizes: Int32Array): Int32Array {
  const starts = new Int32Array(sizes.length + 1);
  for (let c = 0; c < sizes.length; c++) starts[c + 1] = starts[c] + sizes[c];
  return starts;
}

/** Replaces weights by their running sums in place (the array becomes a cumulative distribution). */
export function prefixSums(w: Float64Array): Float64Array {
  let s = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i];
    w[i] = s;
  }
  return w;
}

/**
 * Draws an index in [lo, hi) with probability ∝ its weight, where cum holds running sums of the weights over
 * the whole array (so any block [lo, hi) can be drawn from without its own table). hi > lo, block mass > 0.
 */
export function drawFromBlock(cum: Float64Array, lo: number, hi: number, u: number): number {
  const base = lo > 0 ? cum[lo - 1] : 0;
  const x = base + u * (cum[hi - 1] - base);
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (cum[m] > x) b = m;
    else a = m + 1;
  }
  return a;
}

/** A log-normal draw with the given mean (not median) and log-space σ. */
export function logNormal(rng: Rng, mean: number, sigma: number): number {
  return Math.exp(Math.log(mean) - (sigma * sigma) / 2 + sigma * rng.normal());
}

/** An index in [0, cumWeights.length) drawn from a short cumulative array by linear scan. */
export function drawSmall(cum: Float64Array, u: number): number {
  const x = u * cum[cum.length - 1];
  const last = cum.length - 1;
  for (let i = 0; i < last; i++) if (x < cum[i]) return i;
  return last;
}

/**
 * Flat-Dirichlet weights for n entries written as integers in millionths into out[at .. at + n), summing to
 * exactly 10⁶, each ≥ 1 (the largest absorbs rounding), so the text form is exact and sums to 1.
 */
export function dirichletMillionths(rng: Rng, n: number, out: Int32Array, at: number): void {
  if (n === 1) {
    out[at] = 1_000_000;
    return;
  }
  let sum = 0;
  const g = scratch.length >= n ? scratch : (scratch = new Float64Array(n));
  for (let i = 0; i < n; i++) {
    g[i] = rng.exponential();
    sum += g[i];
  }
  let total = 0;
  let largest = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.max(1, Math.round((g[i] / sum) * 1_000_000));
    out[at + i] = v;
    total += v;
    if (v > out[at + largest]) largest = i;
  }
  out[at + largest] += 1_000_000 - total;
}

let scratch = new Float64Array(8);
