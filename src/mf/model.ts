/**
 * Hybrid matrix factorization in the manner of LightFM (Kula 2015; DESIGN §5): a user is the sum of the
 * embeddings (and biases) of its features, an item likewise, and r̂(u, i) = q_u·p_i + b_u + b_i. Every entity
 * has an identity feature; side features (item tags/genres, user attributes) are shared between entities, so
 * an item seen in no interaction still gets a representation from its tags.
 *
 * Training is seeded Hogwild SGD (see train.ts); one thread is exactly reproducible, wherever it runs.
 */
import { availableParallelism } from 'node:os';
import { type CsrMatrix, rowOfEntry } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { sharedArray } from '../core/workers.ts';
import { buildFeatureSpace, type FeatureSpace, identitySpace } from './features.ts';
import { foldInRow } from './fold-in.ts';
import { type KernelConfig, LOSS_CODES, loadRep, type ParamArrays, type SideRows } from './kernel.ts';
import { type MfParams, resolveParams } from './params.ts';
import { train } from './train.ts';

export interface MfFitInput {
  nUsers: number;
  nItems: number;
  /** users × items, one stored entry per positive; values = sample weight (finite, ≥ 0) or null for all 1. */
  interactions: CsrMatrix;
  /** items × side features (identity is added by the model); values = feature weight or null for 1. */
  itemFeatures?: CsrMatrix;
  /** users × side features, as itemFeatures. */
  userFeatures?: CsrMatrix;
}

export interface MfProgress {
  /** Epochs of this call done so far. */
  epoch: number;
  epochs: number;
  seconds: number;
}

export interface MfFitOptions {
  /** Passes over the interactions (default 30). */
  epochs?: number;
  /** Training threads (default 1: exactly reproducible). More threads run Hogwild and are not bit-reproducible. */
  threads?: number;
  seed: number;
  /**
   * Whether the calling thread trains alongside the workers (default true). false leaves the event loop free
   * while training, at the cost of one thread's worth of work waiting on worker start-up.
   */
  inline?: boolean;
  onProgress?: (p: MfProgress) => void;
}

/** Representations with the biases folded in: user [q, b_u, 1], item [p, 1, b_i], so u·i = r̂(u, i). */
export interface FoldedVectors {
  dim: number;
  vectors: Float32Array;
}

/** Stored form: named byte blobs (little-endian typed arrays) plus a JSON header. */
export type MfBuffers = Record<string, Uint8Array>;

const FORMAT = 'simrec-mf/1';
const ARRAY_NAMES = [
  'userParams',
  'itemParams',
  'userAcc',
  'itemAcc',
  'userDelta',
  'itemDelta',
  'userIndptr',
  'userIndices',
  'userWeights',
  'itemIndptr',
  'itemIndices',
  'itemWeights',
] as const;

interface Meta {
  format: string;
  params: MfParams;
  nUsers: number;
  nItems: number;
  nUserSide: number;
  nItemSide: number;
  epochsTrained: number;
  seed: number;
}

export class HybridMF {
  readonly params: MfParams;
  private nU = 0;
  private nI = 0;
  private userSpace: FeatureSpace = identitySpace(0);
  private itemSpace: FeatureSpace = identitySpace(0);
  private arrays: ParamArrays | null = null;
  private epochs = 0;
  private seed = 0;
  /** Item representations (stride dim + 1) when items have side features; rebuilt lazily after training. */
  private itemRepCache: Float32Array | null = null;
  private readonly scratch: Float64Array;

  constructor(params: Partial<MfParams> = {}) {
    this.params = resolveParams(params);
    this.scratch = new Float64Array(this.params.components + 1);
  }

  get nUsers(): number {
    return this.nU;
  }

  get nItems(): number {
    return this.nI;
  }

  get components(): number {
    return this.params.components;
  }

  /** Epochs trained since initialisation (fit resets it, fitPartial adds to it). */
  get epochsTrained(): number {
    return this.epochs;
  }

  get isFitted(): boolean {
    return this.arrays !== null;
  }

  /** Discards any previous state, initialises from opts.seed, and trains. */
  async fit(input: MfFitInput, opts: MfFitOptions): Promise<void> {
    this.arrays = null;
    this.epochs = 0;
    await this.fitPartial(input, opts);
  }

  /**
   * Continues training from the current state (initialising first if there is none). Users, items and side
   * features may have grown since the last call (new ones are appended with fresh parameters); they may not
   * shrink. Training k epochs then fitPartial for m more equals fitting k + m epochs, with one thread.
   */
  async fitPartial(input: MfFitInput, opts: MfFitOptions): Promise<void> {
    const epochs = opts.epochs ?? 30;
    const threads = opts.threads ?? 1;
    checkInt(epochs, 'epochs', 0, 1e6);
    checkInt(threads, 'threads', 1, Math.max(256, availableParallelism()));
    if (!Number.isFinite(opts.seed))
      throw new SimrecError('CONFIG_INVALID', `seed must be a finite number, got ${opts.seed}`, {
        field: 'seed',
      });
    validateInteractions(input);
    const p = this.params;
    const userSpace = buildFeatureSpace(input.nUsers, input.userFeatures, p.normalizeFeatures, 'user');
    const itemSpace = buildFeatureSpace(input.nItems, input.itemFeatures, p.normalizeFeatures, 'item');
    if (this.arrays === null) {
      this.seed = opts.seed;
      this.arrays = this.initArrays(userSpace, itemSpace, `mf:${opts.seed}:init`);
    } else {
      this.growTo(userSpace, itemSpace, `mf:${opts.seed}:grow:${this.epochs}`);
    }
    this.nU = input.nUsers;
    this.nI = input.nItems;
    this.userSpace = userSpace;
    this.itemSpace = itemSpace;
    this.itemRepCache = null;
    const m = input.interactions;
    const t0 = performance.now();
    const base = this.epochs;
    await train({
      params: this.arrays,
      data: {
        nUsers: input.nUsers,
        nItems: input.nItems,
        indptr: m.indptr,
        indices: m.indices,
        weights: m.values,
        entryUser: rowOfEntry(m),
        user: rowsOf(userSpace),
        item: rowsOf(itemSpace),
        order: new Int32Array(m.nnz),
      },
      cfg: this.kernelConfig(),
      seed: opts.seed,
      epochBase: base,
      epochs,
      threads,
      inline: opts.inline ?? true,
      decay: p.decay,
      onEpoch: (done) => {
        this.epochs = base + done;
        opts.onProgress?.({ epoch: done, epochs, seconds: (performance.now() - t0) / 1000 });
      },
    });
    this.epochs = base + epochs;
    this.itemRepCache = null;
  }

  /** Scores of every item for a known user, r̂(u, i) into out[i] (out.length ≥ nItems). */
  scoreUser(user: number, out: Float32Array): void {
    const a = this.fitted();
    this.checkUser(user);
    const u = this.scratch;
    loadRep(a.userParams, rowsOf(this.userSpace), user, a.dim + 1, u);
    this.scoreRaw(u, out, 1);
  }

  /**
   * Scores of every item for a folded user representation (from {@link userRepresentation} or
   * {@link foldInUser}); out.length ≥ nItems.
   */
  scoreRepresentation(rep: Float32Array, out: Float32Array): void {
    const a = this.fitted();
    const dim = a.dim;
    if (rep.length !== dim + 2)
      throw new SimrecError('CONFIG_INVALID', `representation length ${rep.length} != ${dim + 2}`, {
        field: 'representation',
      });
    const u = this.scratch;
    for (let j = 0; j < dim; j++) u[j] = rep[j];
    u[dim] = rep[dim];
    this.scoreRaw(u, out, rep[dim + 1]);
  }

  /** out[i] = u·p_i + u_bias + itemBiasCoef·b_i. */
  private scoreRaw(u: Float64Array, out: Float32Array, itemBiasCoef: number): void {
    const a = this.fitted();
    if (out.length < this.nI)
      throw new SimrecError('CONFIG_INVALID', `score buffer holds ${out.length} < ${this.nI} items`, {
        field: 'out',
      });
    const dim = a.dim;
    const stride = dim + 1;
    const reps = this.itemSpace.indptr === null ? a.itemParams : this.itemReps();
    const ub = u[dim];
    for (let i = 0, base = 0; i < this.nI; i++, base += stride) {
      let s = ub + itemBiasCoef * reps[base + dim];
      for (let j = 0; j < dim; j++) s += u[j] * reps[base + j];
      out[i] = s;
    }
  }

  /** User u's folded representation [q_u, b_u, 1] (length components + 2). */
  userRepresentation(user: number): Float32Array {
    const a = this.fitted();
    this.checkUser(user);
    const out = new Float32Array(a.dim + 2);
    loadRep(a.userParams, rowsOf(this.userSpace), user, a.dim + 1, this.scratch);
    foldUser(this.scratch, a.dim, out, 0);
    return out;
  }

  /** Every user's folded representation, row-major. */
  userRepresentations(): FoldedVectors {
    const a = this.fitted();
    const dim = a.dim;
    const vectors = new Float32Array(this.nU * (dim + 2));
    const rows = rowsOf(this.userSpace);
    for (let u = 0; u < this.nU; u++) {
      loadRep(a.userParams, rows, u, dim + 1, this.scratch);
      foldUser(this.scratch, dim, vectors, u * (dim + 2));
    }
    return { dim: dim + 2, vectors };
  }

  /** Every item's folded representation [p_i, 1, b_i], row-major: a user's folded vector · this = r̂. */
  itemRepresentations(): FoldedVectors {
    const a = this.fitted();
    const dim = a.dim;
    const reps = this.itemSpace.indptr === null ? a.itemParams : this.itemReps();
    const vectors = new Float32Array(this.nI * (dim + 2));
    for (let i = 0; i < this.nI; i++) {
      const src = i * (dim + 1);
      const dst = i * (dim + 2);
      vectors.set(reps.subarray(src, src + dim), dst);
      vectors[dst + dim] = 1;
      vectors[dst + dim + 1] = reps[src + dim];
    }
    return { dim: dim + 2, vectors };
  }

  /**
   * A folded representation for a user unknown to the model, from the items they engaged with (dense item
   * indices, any order, repeats add up) and optional per-entry weights: `steps` passes of the model's loss over
   * those items on a fresh user row, item parameters fixed. Deterministic for a given model and input.
   */
  foldInUser(items: Int32Array, weights?: Float32Array, steps = 30): Float32Array {
    const a = this.fitted();
    const row = foldInRow(
      {
        arrays: a,
        itemRows: rowsOf(this.itemSpace),
        nItems: this.nI,
        cfg: this.kernelConfig(),
        adagrad: this.params.learningSchedule === 'adagrad',
        seed: this.seed,
      },
      items,
      weights,
      steps,
    );
    const out = new Float32Array(a.dim + 2);
    const r = new Float64Array(row);
    foldUser(r, a.dim, out, 0);
    return out;
  }

  /** The whole model (parameters, optimiser state, feature rows) as named blobs, for the artifact store. */
  toBuffers(): MfBuffers {
    const a = this.fitted();
    const meta: Meta = {
      format: FORMAT,
      params: this.params,
      nUsers: this.nU,
      nItems: this.nI,
      nUserSide: this.userSpace.nSide,
      nItemSide: this.itemSpace.nSide,
      epochsTrained: this.epochs,
      seed: this.seed,
    };
    const arrays = this.namedArrays(a);
    const out: MfBuffers = { meta: new TextEncoder().encode(JSON.stringify(meta)) };
    for (const name of ARRAY_NAMES) {
      const arr = arrays[name];
      if (arr) out[name] = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).slice();
    }
    return out;
  }

  /** Rebuilds a model written by {@link toBuffers}; anything inconsistent is ARTIFACT_CORRUPT. */
  static fromBuffers(bufs: MfBuffers): HybridMF {
    let meta: Meta;
    try {
      meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bufs.meta)) as Meta;
    } catch (e) {
      throw new SimrecError('ARTIFACT_CORRUPT', 'MF model header is missing or not JSON', {}, { cause: e });
    }
    if (meta?.format !== FORMAT)
      throw new SimrecError('ARTIFACT_CORRUPT', `MF model format '${meta?.format}' is not ${FORMAT}`);
    let model: HybridMF;
    try {
      model = new HybridMF(meta.params);
    } catch (e) {
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `MF model parameters are invalid: ${(e as Error).message}`,
        {},
        {
          cause: e,
        },
      );
    }
    const { nUsers, nItems, nUserSide, nItemSide } = meta;
    for (const v of [nUsers, nItems, nUserSide, nItemSide, meta.epochsTrained])
      if (!Number.isInteger(v) || v < 0)
        throw new SimrecError('ARTIFACT_CORRUPT', 'MF model header has bad counts');
    const stride = model.params.components + 1;
    const adadelta = model.params.learningSchedule === 'adadelta';
    const f32 = (name: string, len: number) => readArray(bufs, name, len, Float32Array);
    const nUF = nUsers + nUserSide;
    const nIF = nItems + nItemSide;
    const userSpace = readSpace(bufs, 'user', nUsers, nUserSide);
    const itemSpace = readSpace(bufs, 'item', nItems, nItemSide);
    model.arrays = {
      dim: model.params.components,
      userParams: f32('userParams', nUF * stride),
      itemParams: f32('itemParams', nIF * stride),
      userAcc: f32('userAcc', nUF * stride),
      itemAcc: f32('itemAcc', nIF * stride),
      userDelta: f32('userDelta', adadelta ? nUF * stride : 0),
      itemDelta: f32('itemDelta', adadelta ? nIF * stride : 0),
    };
    model.nU = nUsers;
    model.nI = nItems;
    model.userSpace = userSpace;
    model.itemSpace = itemSpace;
    model.epochs = meta.epochsTrained;
    model.seed = meta.seed;
    return model;
  }

  private namedArrays(
    a: ParamArrays,
  ): Record<(typeof ARRAY_NAMES)[number], Int32Array | Float32Array | null> {
    return {
      userParams: a.userParams,
      itemParams: a.itemParams,
      userAcc: a.userAcc,
      itemAcc: a.itemAcc,
      userDelta: a.userDelta,
      itemDelta: a.itemDelta,
      userIndptr: this.userSpace.indptr,
      userIndices: this.userSpace.indices,
      userWeights: this.userSpace.weights,
      itemIndptr: this.itemSpace.indptr,
      itemIndices: this.itemSpace.indices,
      itemWeights: this.itemSpace.weights,
    };
  }

  private itemReps(): Float32Array {
    if (this.itemRepCache) return this.itemRepCache;
    const a = this.fitted();
    const stride = a.dim + 1;
    const reps = new Float32Array(this.nI * stride);
    const rows = rowsOf(this.itemSpace);
    const tmp = this.scratch;
    for (let i = 0; i < this.nI; i++) {
      loadRep(a.itemParams, rows, i, stride, tmp);
      for (let j = 0; j < stride; j++) reps[i * stride + j] = tmp[j];
    }
    this.itemRepCache = reps;
    return reps;
  }

  private kernelConfig(): KernelConfig {
    const p = this.params;
    return {
      loss: LOSS_CODES[p.loss],
      adadelta: p.learningSchedule === 'adadelta',
      learningRate: p.learningRate,
      rho: p.rho,
      epsilon: p.epsilon,
      itemAlpha: p.itemAlpha,
      userAlpha: p.userAlpha,
      maxSampled: p.maxSampled,
      maxLoss: p.maxLoss,
      kosK: p.kosK,
      kosN: p.kosN,
      negatives: p.negatives,
      freezeItems: false,
    };
  }

  private fitted(): ParamArrays {
    if (!this.arrays) throw new SimrecError('NOT_FOUND', 'the MF model has not been fitted');
    return this.arrays;
  }

  private checkUser(user: number): void {
    if (!Number.isInteger(user) || user < 0 || user >= this.nU)
      throw new SimrecError('NOT_FOUND', `user ${user} is not in the model (${this.nU} users)`, {
        field: 'user',
      });
  }

  private initArrays(userSpace: FeatureSpace, itemSpace: FeatureSpace, seed: string): ParamArrays {
    const dim = this.params.components;
    const stride = dim + 1;
    const rng = new Rng(seed);
    const a: ParamArrays = {
      dim,
      userParams: sharedF32(userSpace.nFeatures * stride),
      itemParams: sharedF32(itemSpace.nFeatures * stride),
      userAcc: sharedF32(userSpace.nFeatures * stride),
      itemAcc: sharedF32(itemSpace.nFeatures * stride),
      userDelta: sharedF32(this.adadelta ? userSpace.nFeatures * stride : 0),
      itemDelta: sharedF32(this.adadelta ? itemSpace.nFeatures * stride : 0),
    };
    this.initRows(a.itemParams, a.itemAcc, 0, itemSpace.nFeatures, rng);
    this.initRows(a.userParams, a.userAcc, 0, userSpace.nFeatures, rng);
    return a;
  }

  private get adadelta(): boolean {
    return this.params.learningSchedule === 'adadelta';
  }

  /** Rows [from, to): embeddings uniform in ±initScale/(2·dim) (LightFM's scale), bias 0, fresh accumulators. */
  private initRows(params: Float32Array, acc: Float32Array, from: number, to: number, rng: Rng): void {
    const dim = this.params.components;
    const stride = dim + 1;
    const scale = this.params.initScale / dim;
    for (let r = from; r < to; r++) {
      const base = r * stride;
      for (let j = 0; j < dim; j++) params[base + j] = (rng.next() - 0.5) * scale;
      params[base + dim] = 0;
    }
    if (!this.adadelta) acc.fill(1, from * stride, to * stride);
  }

  /** Re-lays the parameters for grown spaces: identity rows first, side rows after, new rows initialised. */
  private growTo(userSpace: FeatureSpace, itemSpace: FeatureSpace, seed: string): void {
    const a = this.arrays!;
    const old = { user: this.userSpace, item: this.itemSpace };
    const check = (what: string, now: number, before: number) => {
      if (now < before)
        throw new SimrecError('CONFIG_INVALID', `fitPartial: ${what} shrank from ${before} to ${now}`, {
          field: what,
        });
    };
    check('nUsers', userSpace.nEntities, old.user.nEntities);
    check('nItems', itemSpace.nEntities, old.item.nEntities);
    check('userFeatures', userSpace.nSide, old.user.nSide);
    check('itemFeatures', itemSpace.nSide, old.item.nSide);
    const rng = new Rng(seed);
    const grow = (
      params: Float32Array,
      acc: Float32Array,
      delta: Float32Array,
      from: FeatureSpace,
      to: FeatureSpace,
    ) => {
      if (from.nEntities === to.nEntities && from.nSide === to.nSide) return null;
      const stride = this.params.components + 1;
      const out = {
        params: sharedF32(to.nFeatures * stride),
        acc: sharedF32(to.nFeatures * stride),
        delta: sharedF32(this.adadelta ? to.nFeatures * stride : 0),
      };
      this.initRows(out.params, out.acc, 0, to.nFeatures, rng);
      const copy = (src: Float32Array, dst: Float32Array) => {
        if (src.length === 0) return;
        dst.set(src.subarray(0, from.nEntities * stride), 0);
        dst.set(src.subarray(from.nEntities * stride), to.nEntities * stride);
      };
      copy(params, out.params);
      copy(acc, out.acc);
      copy(delta, out.delta);
      return out;
    };
    const it = grow(a.itemParams, a.itemAcc, a.itemDelta, old.item, itemSpace);
    if (it) {
      a.itemParams = it.params;
      a.itemAcc = it.acc;
      a.itemDelta = it.delta;
    }
    const us = grow(a.userParams, a.userAcc, a.userDelta, old.user, userSpace);
    if (us) {
      a.userParams = us.params;
      a.userAcc = us.acc;
      a.userDelta = us.delta;
    }
  }
}

function rowsOf(s: FeatureSpace): SideRows {
  return { indptr: s.indptr, indices: s.indices, weights: s.weights };
}

function foldUser(raw: Float64Array, dim: number, out: Float32Array, off: number): void {
  for (let j = 0; j < dim; j++) out[off + j] = raw[j];
  out[off + dim] = raw[dim];
  out[off + dim + 1] = 1;
}

function sharedF32(n: number): Float32Array {
  return sharedArray(Float32Array, n);
}

function checkInt(v: number, field: string, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new SimrecError('CONFIG_INVALID', `${field} must be an integer in [${lo}, ${hi}], got ${v}`, {
      field,
    });
}

/** Shapes match, every row strictly increasing within range, every weight finite and ≥ 0. */
function validateInteractions(input: MfFitInput): void {
  const { nUsers, nItems, interactions: m } = input;
  checkInt(nUsers, 'nUsers', 0, 2 ** 31 - 1);
  checkInt(nItems, 'nItems', 0, 2 ** 31 - 1);
  if (m.nRows !== nUsers || m.nCols !== nItems)
    throw new SimrecError(
      'CONFIG_INVALID',
      `interactions is ${m.nRows} × ${m.nCols} but nUsers × nItems is ${nUsers} × ${nItems}`,
      { field: 'interactions' },
    );
  const idx = m.indices;
  for (let u = 0; u < nUsers; u++) {
    let prev = -1;
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
      const i = idx[k];
      if (i <= prev || i >= nItems)
        throw new SimrecError(
          'INPUT_BAD_ROW',
          i <= prev
            ? `interactions: user ${u} lists item ${i} out of order or twice; build with CsrMatrix.fromCoo (duplicates merged)`
            : `interactions: user ${u} item ${i} out of range [0, ${nItems})`,
          { field: 'interactions' },
        );
      prev = i;
    }
  }
  const v = m.values;
  if (v)
    for (let k = 0; k < v.length; k++)
      if (!(v[k] >= 0) || v[k] === Number.POSITIVE_INFINITY)
        throw new SimrecError('INPUT_BAD_ROW', `interactions: sample weight ${v[k]} must be finite and ≥ 0`, {
          field: 'interactions',
        });
}

function readArray<T extends Float32Array | Int32Array>(
  bufs: MfBuffers,
  name: string,
  len: number,
  Ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
): T {
  const b = bufs[name] ?? new Uint8Array(0);
  if (b.byteLength !== len * Ctor.BYTES_PER_ELEMENT)
    throw new SimrecError(
      'ARTIFACT_CORRUPT',
      `MF model array '${name}' has ${b.byteLength} bytes, expected ${len * Ctor.BYTES_PER_ELEMENT}`,
    );
  const sab = new SharedArrayBuffer(b.byteLength);
  new Uint8Array(sab).set(b);
  return new Ctor(sab);
}

function readSpace(bufs: MfBuffers, side: 'user' | 'item', n: number, nSide: number): FeatureSpace {
  if (!bufs[`${side}Indptr`]) {
    if (bufs[`${side}Indices`] || bufs[`${side}Weights`])
      throw new SimrecError('ARTIFACT_CORRUPT', `MF model ${side} features are incomplete`);
    return { ...identitySpace(n), nSide, nFeatures: n + nSide };
  }
  const indptr = readArray(bufs, `${side}Indptr`, n + 1, Int32Array);
  const nnz = indptr[n];
  if (indptr[0] !== 0 || !(nnz >= 0))
    throw new SimrecError('ARTIFACT_CORRUPT', `MF model ${side} indptr is bad`);
  for (let e = 0; e < n; e++)
    if (indptr[e + 1] < indptr[e])
      throw new SimrecError('ARTIFACT_CORRUPT', `MF model ${side} indptr is bad`);
  const indices = readArray(bufs, `${side}Indices`, nnz, Int32Array);
  const weights = readArray(bufs, `${side}Weights`, nnz, Float32Array);
  for (let k = 0; k < nnz; k++)
    if (indices[k] < 0 || indices[k] >= n + nSide)
      throw new SimrecError('ARTIFACT_CORRUPT', `MF model ${side} feature index out of range`);
  return { nEntities: n, nSide, nFeatures: n + nSide, indptr, indices, weights };
}
