/**
 * Planted interests of users (interest communities in the social case, taste clusters in the catalogue), with
 * the truth file `consumer_interests` written as they are drawn.
 */
import type { Rng } from '../../core/prng.ts';
import { FILES, type GeneratorOutput, HEADERS, PROGRESS_MASK } from './output.ts';
import { dirichletMillionths, drawFromBlock, drawSmall, prefixSums } from './sampling.ts';

/** User u's interests are entries [u·stride, u·stride + count[u]) of comm (community) and ppm (weight·10⁶). */
export interface Interests {
  stride: number;
  count: Uint8Array;
  comm: Int32Array;
  ppm: Int32Array;
  /** Rows written to the truth file. */
  rows: number;
}

/**
 * Gives each of n users 1..m interest communities, m drawn from countWeights (capped at the number of
 * communities), communities drawn ∝ size without repeats — so the followers a producer can expect do not
 * depend on the size of its community — and flat-Dirichlet weights in millionths summing to exactly 10⁶.
 * own[u] ≥ 0 (a producer's community) is always among u's interests.
 */
export async function drawInterests(
  n: number,
  commStart: Int32Array,
  countWeights: readonly number[],
  own: Int32Array | null,
  rng: Rng,
  out: GeneratorOutput,
): Promise<Interests> {
  const k = commStart.length - 1;
  const stride = Math.min(countWeights.length, k);
  const countCum = prefixSums(Float64Array.from(countWeights.slice(0, stride)));
  const sizeCum = new Float64Array(k);
  for (let c = 0; c < k; c++) sizeCum[c] = commStart[c + 1] - commStart[c];
  prefixSums(sizeCum);
  const count = new Uint8Array(n);
  const comm = new Int32Array(n * stride);
  const ppm = new Int32Array(n * stride);

  const sink = out.open(FILES.consumerInterests, HEADERS.consumerInterests);
  for (let u = 0; u < n; u++) {
    const m = drawSmall(countCum, rng.next()) + 1;
    const base = u * stride;
    let have = 0;
    if (own && own[u] >= 0) comm[base + have++] = own[u];
    while (have < m) {
      const c = drawFromBlock(sizeCum, 0, k, rng.next());
      let dup = false;
      for (let i = 0; i < have; i++) dup ||= comm[base + i] === c;
      if (!dup) comm[base + have++] = c;
    }
    count[u] = m;
    dirichletMillionths(rng, m, ppm, base);
    for (let i = 0; i < m; i++) {
      sink.int(u);
      sink.comma();
      sink.int(comm[base + i]);
      sink.comma();
      sink.millionths(ppm[base + i]);
      sink.endRow();
    }
    if (sink.needsFlush) await sink.flush();
    if ((u & PROGRESS_MASK) === 0) out.progress('interests', u, n);
  }
  out.progress('interests', n, n);
  await out.close(FILES.consumerInterests, sink);
  return { stride, count, comm, ppm, rows: sink.rows };
}

/** One of u's interest communities, drawn by weight with r uniform in [0, 1). */
export function pickInterest(s: Interests, u: number, r: number): number {
  const base = u * s.stride;
  const last = base + s.count[u] - 1;
  let x = r * 1_000_000;
  for (let i = base; i < last; i++) {
    x -= s.ppm[i];
    if (x < 0) return s.comm[i];
  }
  return s.comm[last];
}

/** Whether community c is among u's interests. */
export function hasInterest(s: Interests, u: number, c: number): boolean {
  const base = u * s.stride;
  const end = base + s.count[u];
  for (let i = base; i < end; i++) if (s.comm[i] === c) return true;
  return false;
}
