/**
 * Logistic regression over hashed features (DESIGN §7): weights over the spec's slots plus a bias, trained on
 * class-weighted logloss with an L2 penalty.
 *
 * Training is full-batch L-BFGS (Nocedal & Wright, Numerical Optimization, alg. 7.4/7.5) rather than SGD: the
 * objective is convex, so full batch reaches its unique optimum whatever the example order, which makes a build
 * reproducible without a seed, needs no learning-rate schedule, and is the very function whose gradient the
 * tests check by finite differences. Only the slots the examples use are optimised (compacted), so the
 * optimiser's memory is 2·m vectors of the used slots, not of 2^bits. A click log of 10^6 examples × 30
 * entries costs one pass per function evaluation, about 50–100 of them.
 *
 * Class weights: positives weigh negatives/positives by default (equal total weight per class for imbalanced
 * clicks). In a well-specified logistic model, weighting the positives by c moves the optimum's bias by exactly
 * ln c and leaves the other weights alone (the case-control result, King & Zeng 2001), so by default the trained
 * bias is corrected by −ln c and `predict` gives calibrated probabilities.
 */
import { SimrecError } from '../core/errors.ts';
import type { ExampleSet } from './examples.ts';
import { FeatureSpec, type FeatureSpecInit, type FeatureVector } from './hashing.ts';
import type { FeatureContribution, Ranker } from './ranker.ts';

export interface LogisticOptions {
  /** L2 penalty λ on the weights (not the bias), added as λ/2·‖w‖² to the mean weighted logloss. Default 1e-4. */
  l2?: number;
  /** Weight of a positive example relative to a negative: a number, or 'balanced' (negatives/positives, default). */
  positiveWeight?: number | 'balanced';
  /** Correct the bias by −ln(positiveWeight) after training so probabilities are calibrated (default true). */
  calibrate?: boolean;
  /** L-BFGS iterations at most (default 200). */
  maxIterations?: number;
  /** Stop when the gradient's largest component is below this (default 1e-6). */
  tolerance?: number;
  /** L-BFGS memory m (default 10). */
  history?: number;
  /**
   * Fit the numeric features divided by their (example-weighted) standard deviation, then fold the scale back
   * into their weights (default true). The model predicts the same either way; what changes is the penalty: L2
   * charges a weight by the size of its feature's unit, so unscaled, a feature measured in small numbers (a
   * cosine in [0, 0.3]) pays far more to matter than one in large numbers (a log count), whatever either says.
   */
  standardize?: boolean;
}

export interface LogisticTrainingReport {
  examples: number;
  positives: number;
  negatives: number;
  positiveWeight: number;
  l2: number;
  /** Slots the examples used (the optimised dimension). */
  usedSlots: number;
  iterations: number;
  evaluations: number;
  /** The objective (mean weighted logloss + penalty) at the end. */
  objective: number;
  /** Largest gradient component at the end. */
  gradientMax: number;
  converged: boolean;
}

const MAGIC = 0x524c5253; // 'SRLR' little-endian
const FORMAT = 'simrec-logistic';
const FORMAT_VERSION = 1;

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** ln(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export class LogisticModel implements Ranker {
  readonly kind = 'logistic';
  readonly spec: FeatureSpec;
  /** One weight per slot of the spec (numeric slots first). */
  readonly weights: Float32Array;
  bias: number;

  constructor(spec: FeatureSpec, weights: Float32Array = new Float32Array(spec.dimension), bias = 0) {
    if (weights.length !== spec.dimension)
      throw new SimrecError(
        'INTERNAL',
        `logistic weights have length ${weights.length}, the spec's dimension is ${spec.dimension}`,
      );
    this.spec = spec;
    this.weights = weights;
    this.bias = bias;
  }

  logit(v: FeatureVector): number {
    const w = this.weights;
    const slots = v.slots;
    const values = v.values;
    let z = this.bias;
    for (let e = 0; e < v.length; e++) z += w[slots[e]] * values[e];
    return z;
  }

  predict(v: FeatureVector): number {
    return sigmoid(this.logit(v));
  }

  contributions(v: FeatureVector, k: number): FeatureContribution[] {
    const out: FeatureContribution[] = [];
    for (let e = 0; e < v.length; e++) {
      const weight = this.weights[v.slots[e]];
      const contribution = weight * v.values[e];
      if (contribution === 0) continue;
      const entry: FeatureContribution = {
        field: v.fields[e],
        name: this.spec.fieldName(v.fields[e]),
        slot: v.slots[e],
        value: v.values[e],
        weight,
        contribution,
      };
      // Insertion into a list of at most k, largest |contribution| first (ties: the earlier entry first).
      let i = out.length;
      while (i > 0 && Math.abs(out[i - 1].contribution) < Math.abs(contribution)) i--;
      if (i < k) {
        out.splice(i, 0, entry);
        if (out.length > k) out.pop();
      }
    }
    return out;
  }

  /**
   * `SRLR` magic, u32 header length, the JSON header (format, version, spec, bias, dimension, extra), zero padding
   * to a multiple of 4, then the weights as little-endian Float32.
   */
  serialize(extra: Record<string, unknown> = {}): Uint8Array {
    const header = new TextEncoder().encode(
      JSON.stringify({
        format: FORMAT,
        version: FORMAT_VERSION,
        spec: this.spec.toJSON(),
        bias: this.bias,
        dimension: this.spec.dimension,
        extra,
      }),
    );
    const weightsAt = (8 + header.length + 3) & ~3;
    const bytes = new Uint8Array(weightsAt + 4 * this.weights.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, header.length, true);
    bytes.set(header, 8);
    for (let j = 0; j < this.weights.length; j++) view.setFloat32(weightsAt + 4 * j, this.weights[j], true);
    return bytes;
  }

  /**
   * The model written by {@link serialize}, and the header's `extra`.
   * @throws SimrecError ARTIFACT_CORRUPT naming what does not match
   */
  static deserialize(
    bytes: Uint8Array,
    file = 'ranker',
  ): { model: LogisticModel; extra: Record<string, unknown> } {
    const bad = (why: string, cause?: unknown): never => {
      throw new SimrecError('ARTIFACT_CORRUPT', `logistic model: ${why}`, { file }, { cause });
    };
    if (bytes.length < 8) bad(`${bytes.length} bytes is shorter than the 8-byte preamble`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== MAGIC) bad('not a simrec logistic model (bad magic)');
    const headerLength = view.getUint32(4, true);
    if (8 + headerLength > bytes.length) bad(`header of ${headerLength} bytes runs past the end`);
    let header: {
      format?: unknown;
      version?: unknown;
      spec?: FeatureSpecInit;
      bias?: unknown;
      dimension?: unknown;
      extra?: Record<string, unknown>;
    } = {};
    try {
      header = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
      );
    } catch (e) {
      bad('header is not JSON', e);
    }
    if (header.format !== FORMAT || header.version !== FORMAT_VERSION)
      bad(
        `format ${String(header.format)} version ${String(header.version)}, expected ${FORMAT} ${FORMAT_VERSION}`,
      );
    if (typeof header.bias !== 'number' || !Number.isFinite(header.bias)) bad('bias is not a finite number');
    let spec: FeatureSpec | undefined;
    try {
      spec = new FeatureSpec(header.spec as FeatureSpecInit);
    } catch (e) {
      bad(`feature spec is invalid (${(e as Error).message})`, e);
    }
    const s = spec as FeatureSpec;
    if (header.dimension !== s.dimension)
      bad(`dimension ${String(header.dimension)} ≠ the spec's ${s.dimension}`);
    const weightsAt = (8 + headerLength + 3) & ~3;
    if (bytes.length !== weightsAt + 4 * s.dimension)
      bad(`${bytes.length} bytes, expected ${weightsAt + 4 * s.dimension} for ${s.dimension} weights`);
    const weights = new Float32Array(s.dimension);
    for (let j = 0; j < s.dimension; j++) {
      const w = view.getFloat32(weightsAt + 4 * j, true);
      if (!Number.isFinite(w)) bad(`weight ${j} is ${w}`);
      weights[j] = w;
    }
    return { model: new LogisticModel(s, weights, header.bias as number), extra: header.extra ?? {} };
  }
}

/**
 * The examples with their slots renumbered over the slots they use: compact index j ↔ slot `used[j]`.
 * Class weights are folded into `c` (per-example weight × class weight) and `total` is their sum.
 */
export interface CompactExamples {
  n: number;
  offsets: Int32Array;
  cols: Int32Array;
  values: Float32Array;
  labels: Uint8Array;
  c: Float64Array;
  total: number;
  used: Int32Array;
}

export function compactExamples(
  examples: ExampleSet,
  dimension: number,
  positiveWeight: number,
): CompactExamples {
  const n = examples.length;
  const nnz = examples.nnz;
  const index = new Int32Array(dimension).fill(-1);
  const cols = new Int32Array(nnz);
  let d = 0;
  for (let e = 0; e < nnz; e++) {
    const s = examples.slots[e];
    if (s < 0 || s >= dimension)
      throw new SimrecError('INTERNAL', `example entry ${e} has slot ${s}, outside the spec's ${dimension}`);
    if (index[s] < 0) index[s] = d++;
    cols[e] = index[s];
  }
  const used = new Int32Array(d);
  for (let s = 0; s < dimension; s++) if (index[s] >= 0) used[index[s]] = s;
  const c = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    c[i] = examples.weights[i] * (examples.labels[i] ? positiveWeight : 1);
    total += c[i];
  }
  return {
    n,
    offsets: examples.offsets.subarray(0, n + 1),
    cols,
    values: examples.values.subarray(0, nnz),
    labels: examples.labels.subarray(0, n),
    c,
    total,
    used,
  };
}

/**
 * The training objective at θ = (w over the used slots, then the bias): mean weighted logloss plus λ/2·‖w‖²,
 * its gradient written to `grad` (same length as θ). Exposed so tests can check the gradient numerically.
 */
export function logisticObjective(
  ex: CompactExamples,
  theta: Float64Array,
  l2: number,
  grad: Float64Array,
): number {
  const d = ex.used.length;
  const bias = theta[d];
  grad.fill(0);
  let loss = 0;
  let gBias = 0;
  for (let i = 0; i < ex.n; i++) {
    const ci = ex.c[i];
    if (ci === 0) continue;
    const lo = ex.offsets[i];
    const hi = ex.offsets[i + 1];
    let z = bias;
    for (let e = lo; e < hi; e++) z += theta[ex.cols[e]] * ex.values[e];
    const y = ex.labels[i];
    loss += ci * (softplus(z) - y * z);
    const r = ci * (sigmoid(z) - y);
    gBias += r;
    for (let e = lo; e < hi; e++) grad[ex.cols[e]] += r * ex.values[e];
  }
  const inv = ex.total > 0 ? 1 / ex.total : 0;
  let penalty = 0;
  for (let j = 0; j < d; j++) {
    grad[j] = grad[j] * inv + l2 * theta[j];
    penalty += theta[j] * theta[j];
  }
  grad[d] = gBias * inv;
  return loss * inv + 0.5 * l2 * penalty;
}

/**
 * Divides the numeric columns of `ex` (slots below `numericSlots`) by their standard deviation over the
 * examples, weighted as the loss weighs them (absent entries are zeros); `ex.values` becomes a scaled copy.
 * Returns each compact column's divisor (1 for categorical columns and for columns with no spread). Centring is
 * not needed: the unpenalised bias absorbs any shift.
 */
export function standardizeNumeric(ex: CompactExamples, numericSlots: number): Float64Array {
  const d = ex.used.length;
  const scale = new Float64Array(d).fill(1);
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  for (let i = 0; i < ex.n; i++) {
    const ci = ex.c[i];
    for (let e = ex.offsets[i]; e < ex.offsets[i + 1]; e++) {
      const j = ex.cols[e];
      if (ex.used[j] >= numericSlots) continue;
      const v = ex.values[e];
      s1[j] += ci * v;
      s2[j] += ci * v * v;
    }
  }
  if (!(ex.total > 0)) return scale;
  for (let j = 0; j < d; j++) {
    if (ex.used[j] >= numericSlots) continue;
    const mean = s1[j] / ex.total;
    const sd = Math.sqrt(Math.max(0, s2[j] / ex.total - mean * mean));
    if (sd > 1e-12) scale[j] = sd;
  }
  const values = Float32Array.from(ex.values);
  for (let e = 0; e < values.length; e++) values[e] /= scale[ex.cols[e]];
  ex.values = values;
  return scale;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]));
  return m;
}

/**
 * Trains a logistic model on `examples` built with `spec`.
 * @throws SimrecError CONFIG_INVALID for bad options or examples of a single class
 */
export function trainLogistic(
  spec: FeatureSpec,
  examples: ExampleSet,
  options: LogisticOptions = {},
): { model: LogisticModel; report: LogisticTrainingReport } {
  const l2 = options.l2 ?? 1e-4;
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-6;
  const m = options.history ?? 10;
  const calibrate = options.calibrate ?? true;
  const invalid = (field: string, why: string): never => {
    throw new SimrecError('CONFIG_INVALID', `ranker training: ${field} ${why}`, { field });
  };
  if (!(l2 >= 0) || !Number.isFinite(l2)) invalid('l2', `must be finite and ≥ 0, got ${l2}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0)
    invalid('maxIterations', `must be a non-negative integer, got ${maxIterations}`);
  if (!(tolerance > 0)) invalid('tolerance', `must be > 0, got ${tolerance}`);
  if (!Number.isInteger(m) || m < 1) invalid('history', `must be a positive integer, got ${m}`);
  const { positives, negatives } = examples.counts();
  if (positives === 0 || negatives === 0)
    invalid('examples', `need both classes, got ${positives} positives and ${negatives} negatives`);
  const pw = options.positiveWeight ?? 'balanced';
  const positiveWeight = pw === 'balanced' ? negatives / positives : pw;
  if (!(positiveWeight > 0) || !Number.isFinite(positiveWeight))
    invalid('positiveWeight', `must be finite and > 0, got ${pw}`);

  const ex = compactExamples(examples, spec.dimension, positiveWeight);
  const d = ex.used.length;
  const scale = (options.standardize ?? true) ? standardizeNumeric(ex, spec.numericNames.length) : null;
  const size = d + 1;
  let x = new Float64Array(size);
  let g = new Float64Array(size);
  let xNew = new Float64Array(size);
  let gNew = new Float64Array(size);
  const dir = new Float64Array(size);
  const S = Array.from({ length: m }, () => new Float64Array(size));
  const Y = Array.from({ length: m }, () => new Float64Array(size));
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  let stored = 0;
  let newest = -1;
  let f = logisticObjective(ex, x, l2, g);
  let evaluations = 1;
  let iterations = 0;
  let converged = maxAbs(g) <= tolerance;
  while (!converged && iterations < maxIterations) {
    // Two-loop recursion: dir = −H·g with H the L-BFGS inverse-Hessian estimate.
    for (let j = 0; j < size; j++) dir[j] = -g[j];
    for (let k = 0; k < stored; k++) {
      const p = (newest - k + m) % m;
      alpha[p] = rho[p] * dot(S[p], dir);
      const y = Y[p];
      for (let j = 0; j < size; j++) dir[j] -= alpha[p] * y[j];
    }
    if (stored > 0) {
      const gamma = dot(S[newest], Y[newest]) / dot(Y[newest], Y[newest]);
      for (let j = 0; j < size; j++) dir[j] *= gamma;
    }
    for (let k = stored - 1; k >= 0; k--) {
      const p = (newest - k + m) % m;
      const beta = rho[p] * dot(Y[p], dir);
      const s = S[p];
      for (let j = 0; j < size; j++) dir[j] += (alpha[p] - beta) * s[j];
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): forget the memory and step along −g.
      stored = 0;
      for (let j = 0; j < size; j++) dir[j] = -g[j];
      slope = dot(g, dir);
    }
    // Backtracking line search on the Armijo condition; the first step is scaled so it moves θ by at most 1.
    let step = stored === 0 ? Math.min(1, 1 / Math.sqrt(dot(dir, dir))) : 1;
    let fNew = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let tries = 0; tries < 50; tries++) {
      for (let j = 0; j < size; j++) xNew[j] = x[j] + step * dir[j];
      fNew = logisticObjective(ex, xNew, l2, gNew);
      evaluations++;
      if (fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    iterations++;
    if (!accepted) break;
    const next = (newest + 1) % m;
    const s = S[next];
    const y = Y[next];
    for (let j = 0; j < size; j++) {
      s[j] = xNew[j] - x[j];
      y[j] = gNew[j] - g[j];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      rho[next] = 1 / sy;
      newest = next;
      stored = Math.min(stored + 1, m);
    }
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    const decrease = f - fNew;
    f = fNew;
    converged = maxAbs(g) <= tolerance || decrease <= 1e-15 * Math.max(1, Math.abs(f));
  }
  const weights = new Float32Array(spec.dimension);
  for (let j = 0; j < d; j++) weights[ex.used[j]] = scale ? x[j] / scale[j] : x[j];
  const bias = x[d] - (calibrate ? Math.log(positiveWeight) : 0);
  return {
    model: new LogisticModel(spec, weights, bias),
    report: {
      examples: examples.length,
      positives,
      negatives,
      positiveWeight,
      l2,
      usedSlots: d,
      iterations,
      evaluations,
      objective: f,
      gradientMax: maxAbs(g),
      converged,
    },
  };
}
