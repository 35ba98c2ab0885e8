/**
 * The scalar side of the four losses: each trainer step computes scores, asks one of these for the
 * coefficient of the score gradient, and hands it to the shared update. The loss values themselves are not
 * needed for training; they are here so tests can check every applied step against finite differences.
 *
 * Pairwise losses (warp, bpr, warp-kos) are functions of d = s_neg − s_pos and apply `coef · ∂d/∂θ`;
 * the pointwise logistic loss is a function of s and applies `coef · ∂s/∂θ`.
 */

/** σ(x) without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** ln(1 + eˣ) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * WARP's rank weight after `draws` uniform draws found the first violating negative: the rank of the positive
 * is estimated as ⌊(nItems − 1)/draws⌋ and weighted by its logarithm (Weston et al. 2011), capped at `maxLoss`
 * so that a positive buried deep early in training does not take a huge step.
 */
export function warpWeight(nItems: number, draws: number, maxLoss: number): number {
  const w = Math.log(Math.max(1, Math.floor((nItems - 1) / draws)));
  return Math.min(w, maxLoss);
}

/** WARP's per-pair loss for a violating pair: weight · max(0, 1 − s_pos + s_neg). */
export function warpLoss(sPos: number, sNeg: number, weight: number): number {
  return weight * Math.max(0, 1 - sPos + sNeg);
}

/** d/d(s_neg − s_pos) of the WARP hinge while the pair violates the margin. */
export function warpCoef(sPos: number, sNeg: number, weight: number): number {
  return sNeg > sPos - 1 ? weight : 0;
}

/** BPR: −ln σ(s_pos − s_neg). */
export function bprLoss(sPos: number, sNeg: number): number {
  return softplus(sNeg - sPos);
}

/** d/d(s_neg − s_pos) of the BPR loss: σ(s_neg − s_pos). */
export function bprCoef(sPos: number, sNeg: number): number {
  return sigmoid(sNeg - sPos);
}

/** Binary cross-entropy of σ(s) against label y ∈ {0, 1}. */
export function logisticLoss(s: number, y: number): number {
  return softplus(s) - y * s;
}

/** d/ds of the logistic loss: σ(s) − y. */
export function logisticCoef(s: number, y: number): number {
  return sigmoid(s) - y;
}
