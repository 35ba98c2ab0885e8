/**
 * A new user's InterestedIn row (DESIGN §3.3, U = A·V) over the version's KnownFor, computed the way
 * simclusters/interested-in.ts computes every row of a build: followScore = Σ kf(p) over followed producers,
 * favScore = Σ fav(u,p)·kf(p), logFavScore = Σ log10(1 + fav(u,p))·kf(p); social proof (keep a cluster only
 * when ≥ minProducersPerCluster distinct producers of it back it, else keep the strongest unproven one); the top
 * maxClustersPerUser by favScore, logFavScore, followScore; and each kind divided by the version's column norm
 * (the norms over the build's users; a new user does not move them, so every stored row keeps its meaning).
 */
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../../simclusters/interested-in.ts';

/** Offsets of the six kinds in a packed row: values of kind q at [q·n, (q+1)·n). */
export const KIND_OFFSET: Readonly<Record<InterestedInScore, number>> = Object.fromEntries(
  INTERESTED_IN_SCORES.map((kind, q) => [kind, q]),
) as Record<InterestedInScore, number>;

export interface FoldInParams {
  minProducersPerCluster: number;
  maxClustersPerUser: number;
}

/** Reused per-cluster scratch, sized k once. */
export class FoldInScratch {
  readonly count: Int32Array;
  readonly follow: Float64Array;
  readonly fav: Float64Array;
  readonly logFav: Float64Array;
  readonly clist: Int32Array;
  /** Per producer, the user's fav mass while one row is computed (reset through the list). */
  readonly producerFav: Float64Array;
  readonly producerMark: Uint8Array;
  readonly plist: Int32Array;

  constructor(
    readonly k: number,
    nProducers: number,
  ) {
    this.count = new Int32Array(k);
    this.follow = new Float64Array(k);
    this.fav = new Float64Array(k);
    this.logFav = new Float64Array(k);
    this.clist = new Int32Array(k);
    this.producerFav = new Float64Array(nProducers);
    this.producerMark = new Uint8Array(nProducers);
    this.plist = new Int32Array(nProducers);
  }
}

const FOLLOWED = 1;
const FAVED = 2;

/**
 * The row of one user. `follows` are producer indices (each once); `favProducer[j]`/`favMass[j]` the producer of
 * each engaged pair and its net fav mass (pairs whose item has no producer are −1). Returns the packed row: the
 * clusters (ascending) and the six kinds, `values[q·n + j]` for kind q of INTERESTED_IN_SCORES.
 */
export function foldInRow(
  follows: Int32Array,
  nFollows: number,
  favProducer: Int32Array,
  favMass: Float64Array,
  nFavs: number,
  kfCluster: Int32Array,
  kfScore: Float32Array,
  columnNorms: Float64Array,
  params: FoldInParams,
  s: FoldInScratch,
): { ids: Int32Array; values: Float32Array } {
  const k = s.k;
  let np = 0;
  const { producerFav, producerMark, plist } = s;
  for (let j = 0; j < nFollows; j++) {
    const p = follows[j];
    if (producerMark[p] === 0) plist[np++] = p;
    producerMark[p] |= FOLLOWED;
  }
  for (let j = 0; j < nFavs; j++) {
    const p = favProducer[j];
    if (p < 0 || !(favMass[j] > 0)) continue;
    if (producerMark[p] === 0) plist[np++] = p;
    producerMark[p] |= FAVED;
    producerFav[p] += favMass[j];
  }
  const { count, follow, fav, logFav, clist } = s;
  let nc = 0;
  for (let j = 0; j < np; j++) {
    const p = plist[j];
    const c = kfCluster[p];
    if (c < 0) continue;
    const score = kfScore[p];
    if (count[c] === 0) clist[nc++] = c;
    count[c]++;
    if (producerMark[p] & FOLLOWED) follow[c] += score;
    const f = producerFav[p];
    if (f > 0) {
      fav[c] += f * score;
      logFav[c] += Math.log10(1 + f) * score;
    }
  }
  for (let j = 0; j < np; j++) {
    const p = plist[j];
    producerMark[p] = 0;
    producerFav[p] = 0;
  }
  // Social proof, with the strongest unproven cluster kept when none passes (interested-in.ts).
  let kept = 0;
  let best = -1;
  for (let j = 0; j < nc; j++) {
    const c = clist[j];
    const signal = follow[c] > 0 || fav[c] > 0 || logFav[c] > 0;
    if (count[c] >= params.minProducersPerCluster && signal) {
      clist[kept++] = c;
      continue;
    }
    if (
      signal &&
      (best < 0 ||
        fav[c] > fav[best] ||
        (fav[c] === fav[best] &&
          (logFav[c] > logFav[best] || (logFav[c] === logFav[best] && follow[c] > follow[best]))))
    ) {
      if (best >= 0) clear(best, s);
      best = c;
    } else clear(c, s);
  }
  if (kept === 0 && best >= 0) clist[kept++] = best;
  else if (best >= 0) clear(best, s);
  const order = clist.subarray(0, kept);
  // Top maxClustersPerUser by favScore, logFavScore, followScore, cluster id; the row sorted by cluster.
  const sorted = Array.from(order).sort(
    (a, b) => fav[b] - fav[a] || logFav[b] - logFav[a] || follow[b] - follow[a] || a - b,
  );
  const n = Math.min(sorted.length, params.maxClustersPerUser);
  const ids = Int32Array.from(sorted.slice(0, n)).sort();
  const values = new Float32Array(6 * n);
  const raw = [follow, fav, logFav];
  for (let j = 0; j < n; j++) {
    const c = ids[j];
    for (let q = 0; q < 3; q++) {
      const v = raw[q][c];
      values[q * n + j] = v;
      const norm = columnNorms[q * k + c];
      // A cluster no build user has (norm 0): the column would hold this user alone, whose normalised score is
      // v/|v| = 1; 0 would leave a user who follows only such clusters without any profile.
      values[(q + 3) * n + j] = norm > 0 ? v / norm : v > 0 ? 1 : 0;
    }
  }
  for (const c of sorted) clear(c, s);
  return { ids, values };
}

function clear(c: number, s: FoldInScratch): void {
  s.count[c] = 0;
  s.follow[c] = 0;
  s.fav[c] = 0;
  s.logFav[c] = 0;
}
