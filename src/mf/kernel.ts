/**
 * The SGD kernel shared by the calling thread and the Hogwild workers: one training example at a time, over
 * flat typed arrays only. Parameters are rows of stride `dim + 1` (embedding, then bias) so one loop updates
 * both; the same layout holds the Adagrad/Adadelta accumulators.
 *
 * Each step computes every gradient before it writes any parameter, so with one thread a step is exactly the
 * gradient of the example's loss at the current parameters (tests check this against finite differences).
 * Scores are computed feature row by feature row, never building an item's representation, because WARP
 * scores up to maxSampled negatives per example and updates only on the first violation.
 */
import { Rng } from '../core/prng.ts';
import { bprCoef, logisticCoef, warpWeight } from './losses.ts';
import type { MfLoss } from './params.ts';

export const LOSS_CODES: Record<MfLoss, number> = { warp: 0, bpr: 1, logistic: 2, 'warp-kos': 3 };
const WARP = 0;
const BPR = 1;
const LOGISTIC = 2;
const WARP_KOS = 3;

/**
 * Training examples per chunk: the unit of work a thread claims, and the unit that owns one random stream,
 * so a run's draws do not depend on how chunks were spread over threads.
 */
export const CHUNK_SIZE = 1024;

export interface KernelConfig {
  loss: number;
  adadelta: boolean;
  learningRate: number;
  rho: number;
  epsilon: number;
  itemAlpha: number;
  userAlpha: number;
  maxSampled: number;
  maxLoss: number;
  kosK: number;
  kosN: number;
  negatives: number;
  /** Fold-in: item parameters are read, never written. */
  freezeItems: boolean;
}

/** Parameters and optimiser state; SharedArrayBuffer-backed when several threads train. */
export interface ParamArrays {
  dim: number;
  userParams: Float32Array;
  itemParams: Float32Array;
  /** Adagrad: Σg² (starts at 1); Adadelta: running mean of g² (starts at 0). */
  userAcc: Float32Array;
  itemAcc: Float32Array;
  /** Adadelta: running mean of Δθ²; empty under Adagrad. */
  userDelta: Float32Array;
  itemDelta: Float32Array;
}

/** One side's feature rows (see features.ts); all null for an identity-only side. */
export interface SideRows {
  indptr: Int32Array | null;
  indices: Int32Array | null;
  weights: Float32Array | null;
}

export interface TrainData {
  nUsers: number;
  nItems: number;
  /** Positives: user rows sorted by item, as in the interactions CSR. */
  indptr: Int32Array;
  indices: Int32Array;
  /** Sample weight per stored interaction; null = 1. */
  weights: Float32Array | null;
  /** User of each stored interaction. */
  entryUser: Int32Array;
  user: SideRows;
  item: SideRows;
  /** The current epoch's shuffled order of interaction positions. */
  order: Int32Array;
}

/**
 * One Adagrad / Adadelta step on one parameter row: θ ← θ − step(scale·grad + alpha·θ). `n` is dim (embedding
 * only) or dim + 1 (with the bias slot). The local rate uses the accumulator before this step's g², as LightFM
 * does, so a fresh Adagrad row (accumulators 1) moves by exactly lr·g on its first step.
 */
export function stepRow(
  params: Float32Array,
  acc: Float32Array,
  delta: Float32Array,
  base: number,
  n: number,
  grad: Float64Array,
  scale: number,
  alpha: number,
  lr: number,
  adadelta: boolean,
  rho: number,
  eps: number,
): void {
  if (!adadelta) {
    for (let j = 0; j < n; j++) {
      const o = base + j;
      const w = params[o];
      const g = scale * grad[j] + alpha * w;
      const a = acc[o];
      params[o] = w - (lr * g) / Math.sqrt(a);
      acc[o] = a + g * g;
    }
    return;
  }
  const rho1 = 1 - rho;
  for (let j = 0; j < n; j++) {
    const o = base + j;
    const w = params[o];
    const g = scale * grad[j] + alpha * w;
    const eg = rho * acc[o] + rho1 * g * g;
    const d = (Math.sqrt(delta[o] + eps) / Math.sqrt(eg + eps)) * g;
    acc[o] = eg;
    delta[o] = rho * delta[o] + rho1 * d * d;
    params[o] = w - d;
  }
}

export class MfKernel {
  private readonly dim: number;
  private readonly stride: number;
  private readonly uRep: Float64Array;
  private readonly iRep: Float64Array;
  private readonly gUser: Float64Array;
  private readonly gItem: Float64Array;
  /** A pair step's item feature rows and their weight in s_neg − s_pos (shared features cancel). */
  private readonly diffRow: Int32Array;
  private readonly diffWeight: Float64Array;
  private readonly kosPos: Int32Array;
  private readonly kosScore: Float64Array;
  /** Side-feature terms u·θ_f + b_f for the current user representation (see itemScore). */
  private readonly memoStamp: Int32Array;
  private readonly memoValue: Float64Array;
  private userVersion = 0;

  constructor(
    readonly p: ParamArrays,
    readonly d: TrainData,
    readonly cfg: KernelConfig,
  ) {
    this.dim = p.dim;
    this.stride = p.dim + 1;
    this.uRep = new Float64Array(this.stride);
    this.iRep = new Float64Array(this.stride);
    this.gUser = new Float64Array(this.stride);
    this.gItem = new Float64Array(this.stride);
    let maxRow = 1;
    const ip = d.item.indptr;
    if (ip) for (let i = 0; i < d.nItems; i++) maxRow = Math.max(maxRow, ip[i + 1] - ip[i]);
    this.diffRow = new Int32Array(2 * maxRow);
    this.diffWeight = new Float64Array(2 * maxRow);
    this.kosPos = new Int32Array(cfg.kosN);
    this.kosScore = new Float64Array(cfg.kosN);
    const nSide = ip === null ? 0 : p.itemParams.length / this.stride - d.nItems;
    this.memoStamp = new Int32Array(nSide).fill(-1);
    this.memoValue = new Float64Array(nSide);
  }

  /** Trains on the examples order[from .. to) with the given random stream. */
  runRange(rng: Rng, from: number, to: number): void {
    const order = this.d.order;
    const loss = this.cfg.loss;
    for (let t = from; t < to; t++) {
      const entry = order[t];
      if (loss === WARP) this.warpExample(entry, rng);
      else if (loss === BPR) this.bprExample(entry, rng);
      else if (loss === LOGISTIC) this.logisticExample(entry, rng);
      else if (loss === WARP_KOS) this.kosExample(entry, rng);
    }
  }

  /** Loads user u's representation (embedding, then bias) as the one every score and step uses next. */
  private loadUser(u: number): void {
    loadRep(this.p.userParams, this.d.user, u, this.stride, this.uRep);
    // Whatever was remembered was against the previous representation.
    this.userVersion = (this.userVersion + 1) & 0x3fffffff;
    if (this.userVersion === 0) this.memoStamp.fill(-1);
  }

  /**
   * s(u, i) for the loaded user, as Σ_f w_f·(u·θ_f + b_f) + b_u over the item's feature rows, without building
   * the item's representation. A side feature's term is the same for every item that has it, so it is
   * computed once per user representation and remembered (memoStamp marks the valid entries).
   */
  private itemScore(i: number): number {
    const uRep = this.uRep;
    const dim = this.dim;
    const stride = this.stride;
    const P = this.p.itemParams;
    const rows = this.d.item;
    if (rows.indptr === null) return uRep[dim] + rowDot(uRep, P, i * stride, dim);
    const idx = rows.indices!;
    const wts = rows.weights!;
    const nItems = this.d.nItems;
    const stamp = this.memoStamp;
    const memo = this.memoValue;
    const version = this.userVersion;
    let s = uRep[dim];
    for (let k = rows.indptr[i]; k < rows.indptr[i + 1]; k++) {
      const f = idx[k];
      let v: number;
      if (f < nItems) v = rowDot(uRep, P, f * stride, dim);
      else if (stamp[f - nItems] === version) v = memo[f - nItems];
      else {
        v = rowDot(uRep, P, f * stride, dim);
        stamp[f - nItems] = version;
        memo[f - nItems] = v;
      }
      s += wts[k] * v;
    }
    return s;
  }

  /** Whether item is among user u's positives (binary search in the sorted row). */
  isPositive(u: number, item: number): boolean {
    const idx = this.d.indices;
    let lo = this.d.indptr[u];
    let hi = this.d.indptr[u + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = idx[mid];
      if (v === item) return true;
      if (v < item) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private warpExample(entry: number, rng: Rng): void {
    const w = this.d.weights === null ? 1 : this.d.weights[entry];
    if (w === 0) return;
    const u = this.d.entryUser[entry];
    const pos = this.d.indices[entry];
    this.loadUser(u);
    this.warpFrom(u, pos, this.itemScore(pos), w, rng);
  }

  /** WARP's search for a violating negative, then one step on the pair (the user loaded, sPos its score). */
  private warpFrom(u: number, pos: number, sPos: number, w: number, rng: Rng): void {
    const nItems = this.d.nItems;
    const maxSampled = this.cfg.maxSampled;
    const threshold = sPos - 1;
    for (let draws = 1; draws <= maxSampled; draws++) {
      const neg = randomIndex(rng, nItems);
      if (this.itemScore(neg) > threshold) {
        if (this.isPositive(u, neg)) continue;
        this.pairStep(u, pos, neg, w * warpWeight(nItems, draws, this.cfg.maxLoss));
        return;
      }
    }
  }

  private bprExample(entry: number, rng: Rng): void {
    const w = this.d.weights === null ? 1 : this.d.weights[entry];
    if (w === 0) return;
    const u = this.d.entryUser[entry];
    const pos = this.d.indices[entry];
    const neg = this.sampleNegative(u, rng);
    if (neg < 0) return;
    this.loadUser(u);
    this.pairStep(u, pos, neg, w * bprCoef(this.itemScore(pos), this.itemScore(neg)));
  }

  private logisticExample(entry: number, rng: Rng): void {
    const w = this.d.weights === null ? 1 : this.d.weights[entry];
    if (w === 0) return;
    const u = this.d.entryUser[entry];
    const pos = this.d.indices[entry];
    this.loadUser(u);
    this.pointStep(u, pos, w * logisticCoef(this.itemScore(pos), 1));
    for (let k = 0; k < this.cfg.negatives; k++) {
      const neg = this.sampleNegative(u, rng);
      if (neg < 0) return;
      // Sequential SGD: the negative's step sees the user as the positive's step left it.
      this.loadUser(u);
      this.pointStep(u, neg, w * logisticCoef(this.itemScore(neg), 0));
    }
  }

  /**
   * WARP-kos (Weston et al. 2013): draw kosN of the user's positives, train WARP on the kosK-th best scored of
   * them, which focuses the updates on positives the model ranks neither best nor worst.
   */
  private kosExample(entry: number, rng: Rng): void {
    const u = this.d.entryUser[entry];
    const start = this.d.indptr[u];
    const m = this.d.indptr[u + 1] - start;
    if (m === 0) return;
    const cnt = Math.min(this.cfg.kosN, m);
    const kk = Math.min(this.cfg.kosK, cnt);
    const ids = this.kosPos;
    const scores = this.kosScore;
    this.loadUser(u);
    for (let j = 0; j < cnt; j++) {
      const k = start + randomIndex(rng, m);
      ids[j] = k;
      scores[j] = this.itemScore(this.d.indices[k]);
    }
    // Partial selection sort: kk ≤ kosN passes over at most kosN entries, descending by score.
    for (let a = 0; a < kk; a++) {
      let best = a;
      for (let b = a + 1; b < cnt; b++) if (scores[b] > scores[best]) best = b;
      const ts = scores[a];
      scores[a] = scores[best];
      scores[best] = ts;
      const ti = ids[a];
      ids[a] = ids[best];
      ids[best] = ti;
    }
    const k = ids[kk - 1];
    const w = this.d.weights === null ? 1 : this.d.weights[k];
    if (w === 0) return;
    this.warpFrom(u, this.d.indices[k], scores[kk - 1], w, rng);
  }

  /** A uniformly drawn item that is not a positive of u, or −1 after maxSampled draws that all were. */
  private sampleNegative(u: number, rng: Rng): number {
    const nItems = this.d.nItems;
    for (let tries = 0; tries < this.cfg.maxSampled; tries++) {
      const neg = randomIndex(rng, nItems);
      if (!this.isPositive(u, neg)) return neg;
    }
    return -1;
  }

  /**
   * A step of `coef · ∂(s_neg − s_pos)/∂θ` at the parameters as they are now. The item side is the merged
   * feature rows of neg and pos with weights w_neg − w_pos: a feature both items share at equal weight has no
   * gradient and is not touched. The user bias cancels in s_neg − s_pos, so it gets no step either.
   */
  private pairStep(u: number, pos: number, neg: number, coef: number): void {
    const dim = this.dim;
    const stride = this.stride;
    const { uRep, gUser, gItem, diffRow, diffWeight, cfg } = this;
    const { itemParams: P, itemAcc, itemDelta } = this.p;
    const n = this.diffRows(pos, neg);
    for (let j = 0; j < dim; j++) gItem[j] = uRep[j];
    gItem[dim] = 1;
    // ∂(s_neg − s_pos)/∂q_u = Σ_f (w_neg,f − w_pos,f)·θ_f at the pre-step θ. The rows are distinct, so each
    // row can be read into the user's gradient and then stepped in the same pass.
    gUser.fill(0);
    for (let k = 0; k < n; k++) {
      const base = diffRow[k] * stride;
      const dw = diffWeight[k];
      for (let j = 0; j < dim; j++) gUser[j] += dw * P[base + j];
      if (!cfg.freezeItems)
        stepRow(
          P,
          itemAcc,
          itemDelta,
          base,
          stride,
          gItem,
          coef * dw,
          cfg.itemAlpha,
          cfg.learningRate,
          cfg.adadelta,
          cfg.rho,
          cfg.epsilon,
        );
    }
    this.stepUser(u, gUser, coef, dim);
  }

  /** Fills diffRow/diffWeight with the feature rows of neg (+w) and pos (−w), merged; returns the count. */
  private diffRows(pos: number, neg: number): number {
    const rows = this.d.item;
    const diffRow = this.diffRow;
    const diffWeight = this.diffWeight;
    if (rows.indptr === null) {
      diffRow[0] = neg;
      diffWeight[0] = 1;
      diffRow[1] = pos;
      diffWeight[1] = -1;
      return 2;
    }
    // Rows are sorted by feature (features.ts), so a merge finds the shared ones.
    const idx = rows.indices!;
    const wts = rows.weights!;
    let a = rows.indptr[neg];
    const aEnd = rows.indptr[neg + 1];
    let b = rows.indptr[pos];
    const bEnd = rows.indptr[pos + 1];
    let n = 0;
    while (a < aEnd || b < bEnd) {
      const fa = a < aEnd ? idx[a] : 0x7fffffff;
      const fb = b < bEnd ? idx[b] : 0x7fffffff;
      let f: number;
      let dw: number;
      if (fa === fb) {
        f = fa;
        dw = wts[a++] - wts[b++];
      } else if (fa < fb) {
        f = fa;
        dw = wts[a++];
      } else {
        f = fb;
        dw = -wts[b++];
      }
      if (dw !== 0) {
        diffRow[n] = f;
        diffWeight[n] = dw;
        n++;
      }
    }
    return n;
  }

  /** A step of `coef · ∂s(u, item)/∂θ` at the parameters as they are now (the user loaded). */
  private pointStep(u: number, item: number, coef: number): void {
    const dim = this.dim;
    const { uRep, iRep, gItem } = this;
    loadRep(this.p.itemParams, this.d.item, item, this.stride, iRep);
    for (let j = 0; j < dim; j++) gItem[j] = uRep[j];
    gItem[dim] = 1;
    iRep[dim] = 1;
    if (!this.cfg.freezeItems) this.stepItem(item, gItem, coef);
    this.stepUser(u, iRep, coef, dim + 1);
  }

  private stepItem(i: number, grad: Float64Array, scale: number): void {
    const { p, cfg } = this;
    const rows = this.d.item;
    const stride = this.stride;
    if (rows.indptr === null) {
      stepRow(
        p.itemParams,
        p.itemAcc,
        p.itemDelta,
        i * stride,
        stride,
        grad,
        scale,
        cfg.itemAlpha,
        cfg.learningRate,
        cfg.adadelta,
        cfg.rho,
        cfg.epsilon,
      );
      return;
    }
    const fIdx = rows.indices!;
    const fW = rows.weights!;
    for (let k = rows.indptr[i]; k < rows.indptr[i + 1]; k++) {
      stepRow(
        p.itemParams,
        p.itemAcc,
        p.itemDelta,
        fIdx[k] * stride,
        stride,
        grad,
        scale * fW[k],
        cfg.itemAlpha,
        cfg.learningRate,
        cfg.adadelta,
        cfg.rho,
        cfg.epsilon,
      );
    }
  }

  private stepUser(u: number, grad: Float64Array, scale: number, n: number): void {
    const { p, cfg } = this;
    const rows = this.d.user;
    const stride = this.stride;
    if (rows.indptr === null) {
      stepRow(
        p.userParams,
        p.userAcc,
        p.userDelta,
        u * stride,
        n,
        grad,
        scale,
        cfg.userAlpha,
        cfg.learningRate,
        cfg.adadelta,
        cfg.rho,
        cfg.epsilon,
      );
      return;
    }
    const fIdx = rows.indices!;
    const fW = rows.weights!;
    for (let k = rows.indptr[u]; k < rows.indptr[u + 1]; k++) {
      stepRow(
        p.userParams,
        p.userAcc,
        p.userDelta,
        fIdx[k] * stride,
        n,
        grad,
        scale * fW[k],
        cfg.userAlpha,
        cfg.learningRate,
        cfg.adadelta,
        cfg.rho,
        cfg.epsilon,
      );
    }
  }
}

/**
 * u·θ + b for the parameter row θ at base (embedding, then bias b). Four partial sums break the chain of
 * dependent additions, which otherwise bounds the loop by add latency rather than throughput.
 */
export function rowDot(u: Float64Array, P: Float32Array, base: number, dim: number): number {
  let s0 = P[base + dim];
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    const o = base + j;
    s0 += u[j] * P[o];
    s1 += u[j + 1] * P[o + 1];
    s2 += u[j + 2] * P[o + 2];
    s3 += u[j + 3] * P[o + 3];
  }
  for (; j < dim; j++) s0 += u[j] * P[base + j];
  return s0 + s1 + (s2 + s3);
}

/** Entity e's representation: its identity row, or the weighted sum of its feature rows. */
export function loadRep(
  params: Float32Array,
  rows: SideRows,
  e: number,
  stride: number,
  out: Float64Array,
): void {
  if (rows.indptr === null) {
    const base = e * stride;
    for (let j = 0; j < stride; j++) out[j] = params[base + j];
    return;
  }
  out.fill(0);
  const idx = rows.indices!;
  const wts = rows.weights!;
  for (let k = rows.indptr[e]; k < rows.indptr[e + 1]; k++) {
    const base = idx[k] * stride;
    const fw = wts[k];
    for (let j = 0; j < stride; j++) out[j] += fw * params[base + j];
  }
}

/**
 * A uniform index in [0, n) by multiply-and-shift of one 32-bit draw (Lemire 2019, without the rejection step:
 * the bias is below n / 2³², far under the noise of sampling). Rng.int's exact rejection needs a
 * floating-point modulo per call, a measurable share of WARP's many draws.
 */
export function randomIndex(rng: Rng, n: number): number {
  const i = Math.floor(rng.nextUint32() * n * 2.3283064365386963e-10);
  return i < n ? i : n - 1;
}

/** The random stream of one chunk: a function of the run's seed, the global epoch and the chunk only. */
export function chunkRng(seed: number, epoch: number, chunk: number): Rng {
  return new Rng(`mf:${seed}:${epoch}:${chunk}`);
}
