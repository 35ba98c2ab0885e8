/**
 * The SGD kernel shared by the calling thread and the Hogwild workers: one training example at a time. The
 * control flow (negative sampling, merging feature rows) is here; the arithmetic over rows is the SIMD
 * operations of simd.ts on the shared parameter memory (memory.ts).
 *
 * Each step computes every gradient before it writes any parameter, so with one thread a step is exactly the
 * gradient of the example's loss at the current parameters (tests check this against finite differences).
 * Scores are computed feature row by feature row, never building an item's representation, because WARP
 * scores up to maxSampled negatives per example and updates only on the first violation.
 */
import { Rng } from '../core/prng.ts';
import { bprCoef, logisticCoef, warpWeight } from './losses.ts';
import { type ParamStore, SCRATCH_VECTORS } from './memory.ts';
import type { MfLoss } from './params.ts';
import type { SimdOps } from './simd.ts';

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
  /** Fold-in: item parameters are read, never written, and the user is the store's fold-in row. */
  foldIn: boolean;
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

export class MfKernel {
  private readonly ops: SimdOps;
  private readonly f32: Float32Array;
  private readonly dimPad: number;
  private readonly stride: number;
  /** Bytes of the embedding lanes and of a whole row. */
  private readonly embBytes: number;
  private readonly rowBytes: number;
  /** Byte offsets of the slabs (the user's are the fold-in row's in fold-in). */
  private readonly userParams: number;
  private readonly userAcc: number;
  private readonly userDelta: number;
  private readonly itemParams: number;
  private readonly itemAcc: number;
  private readonly itemDelta: number;
  /** Float offsets of this thread's scratch: user representation, user gradient, item gradient. */
  private readonly uRep: number;
  private readonly gUser: number;
  private readonly gItem: number;
  /** Item feature rows queued for the next step and their coefficients (see flushStep). */
  private readonly pendRow: Int32Array;
  private readonly pendW: Float64Array;
  private nPend = 0;
  /** Σ of the queued items' coefficients: the user bias's gradient under a pointwise loss. */
  private pendBias = 0;
  private readonly kosPos: Int32Array;
  private readonly kosScore: Float64Array;
  /** Side-feature terms u·θ_f + b_f for the current user representation (see itemScore). */
  private readonly memoStamp: Int32Array;
  private readonly memoValue: Float64Array;
  private userVersion = 0;

  /** `slot` picks this thread's scratch vectors in the store (0 ≤ slot < layout.slots). */
  constructor(
    readonly store: ParamStore,
    readonly d: TrainData,
    readonly cfg: KernelConfig,
    slot: number,
  ) {
    const l = store.layout;
    this.ops = store.ops;
    this.f32 = store.f32;
    this.dimPad = l.dimPad;
    this.stride = l.stride;
    this.embBytes = l.dimPad * 4;
    this.rowBytes = l.stride * 4;
    this.userParams = 4 * (cfg.foldIn ? l.foldParams : l.userParams);
    this.userAcc = 4 * (cfg.foldIn ? l.foldAcc : l.userAcc);
    this.userDelta = 4 * (cfg.foldIn ? l.foldDelta : l.userDelta);
    this.itemParams = 4 * l.itemParams;
    this.itemAcc = 4 * l.itemAcc;
    this.itemDelta = 4 * l.itemDelta;
    const scratch = l.scratch + slot * SCRATCH_VECTORS * l.stride;
    this.uRep = scratch;
    this.gUser = scratch + l.stride;
    this.gItem = scratch + 2 * l.stride;
    let maxRow = 1;
    const ip = d.item.indptr;
    if (ip) for (let i = 0; i < d.nItems; i++) maxRow = Math.max(maxRow, ip[i + 1] - ip[i]);
    const maxQueued = (1 + Math.max(1, cfg.negatives)) * maxRow;
    this.pendRow = new Int32Array(maxQueued);
    this.pendW = new Float64Array(maxQueued);
    this.kosPos = new Int32Array(cfg.kosN);
    this.kosScore = new Float64Array(cfg.kosN);
    const nSide = ip === null ? 0 : l.nItemRows - d.nItems;
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

  /** Loads user u's representation into this thread's uRep: every score and step until the next load uses it. */
  private loadUser(u: number): void {
    const f32 = this.f32;
    const stride = this.stride;
    const rows = this.d.user;
    const uRep = this.uRep;
    const base = this.userParams >> 2;
    if (rows.indptr === null) f32.copyWithin(uRep, base + u * stride, base + (u + 1) * stride);
    else {
      f32.fill(0, uRep, uRep + stride);
      const idx = rows.indices!;
      const wts = rows.weights!;
      for (let k = rows.indptr[u]; k < rows.indptr[u + 1]; k++)
        this.ops.axpy(uRep * 4, this.userParams + idx[k] * this.rowBytes, this.rowBytes, wts[k]);
    }
    // Whatever was remembered was against the previous representation.
    this.userVersion = (this.userVersion + 1) & 0x3fffffff;
    if (this.userVersion === 0) this.memoStamp.fill(-1);
  }

  /**
   * s(u, i) for the loaded user, as b_u + Σ_f w_f·(u·θ_f + b_f) over the item's feature rows, without
   * building the item's representation. A side feature's term is the same for every item that has it, so it
   * is computed once per user representation and remembered (memoStamp marks the valid entries).
   */
  private itemScore(i: number): number {
    const f32 = this.f32;
    const ops = this.ops;
    const uRepB = this.uRep * 4;
    const embBytes = this.embBytes;
    const rowBytes = this.rowBytes;
    const P = this.itemParams;
    const biasAt = this.dimPad;
    const rows = this.d.item;
    const s0 = f32[this.uRep + biasAt];
    if (rows.indptr === null) {
      const row = P + i * rowBytes;
      return s0 + ops.dot(uRepB, row, embBytes) + f32[(row >> 2) + biasAt];
    }
    const idx = rows.indices!;
    const wts = rows.weights!;
    const nItems = this.d.nItems;
    const stamp = this.memoStamp;
    const memo = this.memoValue;
    const version = this.userVersion;
    let s = s0;
    for (let k = rows.indptr[i]; k < rows.indptr[i + 1]; k++) {
      const f = idx[k];
      let v: number;
      if (f >= nItems && stamp[f - nItems] === version) v = memo[f - nItems];
      else {
        const row = P + f * rowBytes;
        v = ops.dot(uRepB, row, embBytes) + f32[(row >> 2) + biasAt];
        if (f >= nItems) {
          stamp[f - nItems] = version;
          memo[f - nItems] = v;
        }
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

  /**
   * Logistic loss on the positive (label 1) and `negatives` uniformly drawn unobserved items (label 0), all
   * with the interaction's weight, as one step on their summed loss.
   */
  private logisticExample(entry: number, rng: Rng): void {
    const w = this.d.weights === null ? 1 : this.d.weights[entry];
    if (w === 0) return;
    const u = this.d.entryUser[entry];
    const pos = this.d.indices[entry];
    this.loadUser(u);
    this.nPend = 0;
    this.pendBias = 0;
    this.addItem(pos, w * logisticCoef(this.itemScore(pos), 1));
    for (let k = 0; k < this.cfg.negatives; k++) {
      const neg = this.sampleNegative(u, rng);
      if (neg < 0) break;
      this.addItem(neg, w * logisticCoef(this.itemScore(neg), 0));
    }
    this.flushStep(u, true);
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

  /** A pair step: `coef · ∂(s_neg − s_pos)/∂θ`. The user bias cancels in s_neg − s_pos and is not stepped. */
  private pairStep(u: number, pos: number, neg: number, coef: number): void {
    this.nPend = 0;
    this.pendBias = 0;
    this.addItem(pos, -coef);
    this.addItem(neg, coef);
    this.flushStep(u, false);
  }

  /** Queues `c · ∂s(u, item)/∂θ` for the next {@link flushStep}. */
  private addItem(item: number, c: number): void {
    const rows = this.d.item;
    const pendRow = this.pendRow;
    const pendW = this.pendW;
    let n = this.nPend;
    this.pendBias += c;
    if (rows.indptr === null) {
      pendRow[n] = item;
      pendW[n] = c;
      n++;
    } else {
      const idx = rows.indices!;
      const wts = rows.weights!;
      for (let k = rows.indptr[item]; k < rows.indptr[item + 1]; k++) {
        pendRow[n] = idx[k];
        pendW[n] = c * wts[k];
        n++;
      }
    }
    this.nPend = n;
  }

  /**
   * One step on Σ c·s(u, item) over the queued items, at the parameters as they are now (the user loaded).
   * Queued rows are merged first, so a feature row shared by several items gets one step on its summed
   * gradient (for a positive and a negative sharing a tag, the two cancel) and is touched once.
   * `userBias` says whether the loss sees the user bias (pointwise losses) or not (pairwise).
   */
  private flushStep(u: number, userBias: boolean): void {
    const { f32, ops, cfg, pendRow, pendW, stride, rowBytes } = this;
    const biasAt = this.dimPad;
    // Insertion sort by row, then merge repeats: the queue holds a handful of entries.
    let n = this.nPend;
    for (let k = 1; k < n; k++) {
      const r = pendRow[k];
      const w = pendW[k];
      let m = k - 1;
      while (m >= 0 && pendRow[m] > r) {
        pendRow[m + 1] = pendRow[m];
        pendW[m + 1] = pendW[m];
        m--;
      }
      pendRow[m + 1] = r;
      pendW[m + 1] = w;
    }
    let out = 0;
    for (let k = 0; k < n; k++) {
      if (out > 0 && pendRow[out - 1] === pendRow[k]) pendW[out - 1] += pendW[k];
      else {
        pendRow[out] = pendRow[k];
        pendW[out] = pendW[k];
        out++;
      }
    }
    n = out;
    this.nPend = 0;
    // ∂s/∂θ_f = w_f·[u, 1] for an item feature row: the user's representation with 1 in the bias lane.
    const gItem = this.gItem;
    f32.copyWithin(gItem, this.uRep, this.uRep + stride);
    f32[gItem + biasAt] = 1;
    // ∂/∂q_u = Σ_f W_f·θ_f at the pre-step θ. The merged rows are distinct, so each row is read into the
    // user's gradient and then stepped in the same pass.
    const gUser = this.gUser;
    f32.fill(0, gUser, gUser + stride);
    const gUserB = gUser * 4;
    const gItemB = gItem * 4;
    const embBytes = this.embBytes;
    for (let k = 0; k < n; k++) {
      const wf = pendW[k];
      if (wf === 0) continue;
      const row = this.itemParams + pendRow[k] * rowBytes;
      ops.axpy(gUserB, row, embBytes, wf);
      if (cfg.foldIn) continue;
      const off = pendRow[k] * rowBytes;
      if (cfg.adadelta)
        ops.adadelta(
          row,
          this.itemAcc + off,
          this.itemDelta + off,
          gItemB,
          rowBytes,
          wf,
          cfg.itemAlpha,
          cfg.rho,
          cfg.epsilon,
        );
      else ops.adagrad(row, this.itemAcc + off, gItemB, rowBytes, wf, cfg.itemAlpha, cfg.learningRate);
    }
    if (userBias) f32[gUser + biasAt] = this.pendBias;
    this.stepUser(u, gUserB, userBias ? rowBytes : embBytes);
  }

  /** Steps every feature row of user u by its weight times the gradient at gB (over nb bytes of the row). */
  private stepUser(u: number, gB: number, nb: number): void {
    const rowBytes = this.rowBytes;
    const rows = this.d.user;
    if (rows.indptr === null) {
      this.stepUserRow(u * rowBytes, gB, nb, 1);
      return;
    }
    const fIdx = rows.indices!;
    const fW = rows.weights!;
    for (let k = rows.indptr[u]; k < rows.indptr[u + 1]; k++)
      this.stepUserRow(fIdx[k] * rowBytes, gB, nb, fW[k]);
  }

  private stepUserRow(off: number, gB: number, nb: number, scale: number): void {
    const cfg = this.cfg;
    if (cfg.adadelta)
      this.ops.adadelta(
        this.userParams + off,
        this.userAcc + off,
        this.userDelta + off,
        gB,
        nb,
        scale,
        cfg.userAlpha,
        cfg.rho,
        cfg.epsilon,
      );
    else
      this.ops.adagrad(
        this.userParams + off,
        this.userAcc + off,
        gB,
        nb,
        scale,
        cfg.userAlpha,
        cfg.learningRate,
      );
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
