/**
 * KnownFor for the producers the similarity stage left out (fewer than minFollowers followers, or no kept
 * neighbour): each takes the community its co-followed producers mostly belong to. For producer v, every
 * follower c of v votes for the community of each clustered producer u that c also follows, with weight
 * 1/√|F(u)| — the part of cos(v, u) = |F(v) ∩ F(u)| / √(|F(v)|·|F(u)|) that depends on u, so the votes rank
 * communities by v's summed cosine to their members. The assignment is made only when it is well defined: one
 * community holds at least `minShare` of v's summed cosine. Its score is that share times the community's
 * mean KnownFor score, so an extended member never outranks the members MH placed.
 */
import type { CsrMatrix } from '../core/csr.ts';

export interface KnownForExtension {
  /** Producers that had no KnownFor and were given one. */
  extended: number;
  /** Producers without a KnownFor that had followers but no well-defined majority community. */
  undecided: number;
}

/**
 * Extends `cluster`/`score` in place. A is consumers × producers (the matrix the similarity was computed from).
 * Followees of a consumer are scanned up to `maxScan` per consumer (evenly strided beyond that), which bounds
 * the cost of a heavy consumer.
 */
export function extendKnownFor(
  A: CsrMatrix,
  cluster: Int32Array,
  score: Float32Array,
  k: number,
  minShare = 0.5,
  maxScan = 1000,
): KnownForExtension {
  const P = A.nCols;
  const followers = A.colCounts();
  const At = A.transpose();
  const meanScore = new Float64Array(k);
  const size = new Int32Array(k);
  for (let v = 0; v < P; v++) {
    if (cluster[v] < 0) continue;
    meanScore[cluster[v]] += score[v];
    size[cluster[v]]++;
  }
  for (let c = 0; c < k; c++) if (size[c] > 0) meanScore[c] /= size[c];
  const invSqrt = new Float64Array(P);
  for (let u = 0; u < P; u++) invSqrt[u] = followers[u] > 0 ? 1 / Math.sqrt(followers[u]) : 0;
  const votes = new Float64Array(k);
  const touched = new Int32Array(k);
  const newCluster = new Int32Array(P).fill(-1);
  const newScore = new Float32Array(P);
  let extended = 0;
  let undecided = 0;
  for (let v = 0; v < P; v++) {
    if (cluster[v] >= 0 || followers[v] === 0) continue;
    let nt = 0;
    let total = 0;
    for (let f = At.indptr[v]; f < At.indptr[v + 1]; f++) {
      const c = At.indices[f];
      const start = A.indptr[c];
      const deg = A.indptr[c + 1] - start;
      const step = deg > maxScan ? deg / maxScan : 1;
      for (let x = 0; x < deg; x += step) {
        const u = A.indices[start + Math.floor(x)];
        const cu = cluster[u];
        if (u === v || cu < 0) continue;
        if (votes[cu] === 0) touched[nt++] = cu;
        votes[cu] += invSqrt[u];
        total += invSqrt[u];
      }
    }
    let best = -1;
    let bestVotes = 0;
    for (let t = 0; t < nt; t++) {
      const c = touched[t];
      // Ties go to the smaller id, so the result does not depend on the scan order.
      if (votes[c] > bestVotes || (votes[c] === bestVotes && c < best)) {
        best = c;
        bestVotes = votes[c];
      }
    }
    for (let t = 0; t < nt; t++) votes[touched[t]] = 0;
    if (best >= 0 && bestVotes >= minShare * total) {
      newCluster[v] = best;
      newScore[v] = (bestVotes / total) * meanScore[best];
      extended++;
    } else {
      undecided++;
    }
  }
  // Applied after the pass, so an extended producer never votes for another one.
  for (let v = 0; v < P; v++) {
    if (newCluster[v] < 0) continue;
    cluster[v] = newCluster[v];
    score[v] = newScore[v];
  }
  return { extended, undecided };
}
