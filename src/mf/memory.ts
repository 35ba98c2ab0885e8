/**
 * Where the parameters live: one shared WebAssembly memory per model, so the SIMD operations (simd.ts) and
 * every training thread address the same floats. A row holds the embedding padded to whole 4-float lanes,
 * then a lane block [bias, 0, 0, 0]; so a dot product over the embedding lanes never touches the bias, and a
 * step over the whole row updates embedding and bias in one call. Pad lanes stay 0 (their gradient is 0).
 *
 * Regions: user and item parameter rows, their optimiser state (Adagrad Σg²; Adadelta E[g²] and E[Δ²]),
 * a one-user region for fold-in, and per-thread scratch vectors.
 */
import { SimrecError } from '../core/errors.ts';
import { type SimdOps, sharedMemory, simdOps, WASM_MAX_BYTES, type WasmMemory } from './simd.ts';

export type Side = 'user' | 'item';
export type Slab = 'params' | 'acc' | 'delta';

/** Scratch vectors per thread slot: the user representation and the user and item gradients. */
export const SCRATCH_VECTORS = 3;

/** Float offsets of every region in the memory, plus the row geometry. Plain data: it goes to workers. */
export interface ParamLayout {
  dim: number;
  /** dim rounded up to a multiple of 4: the embedding lanes. The bias is at dimPad. */
  dimPad: number;
  /** Floats per row: dimPad + 4. */
  stride: number;
  adadelta: boolean;
  nUserRows: number;
  nItemRows: number;
  userParams: number;
  userAcc: number;
  userDelta: number;
  itemParams: number;
  itemAcc: number;
  itemDelta: number;
  foldParams: number;
  foldAcc: number;
  foldDelta: number;
  scratch: number;
  slots: number;
}

export class ParamStore {
  readonly f32: Float32Array;
  readonly ops: SimdOps;

  private constructor(
    readonly layout: ParamLayout,
    readonly memory: WasmMemory,
  ) {
    this.f32 = new Float32Array(memory.buffer);
    this.ops = simdOps(memory);
  }

  /**
   * A zeroed store for `dim` components, `nUserRows`/`nItemRows` feature rows and `slots` training threads;
   * Adagrad accumulators start at 1 (every lane, so pad lanes never divide 0 by 0).
   */
  static allocate(
    dim: number,
    nUserRows: number,
    nItemRows: number,
    adadelta: boolean,
    slots: number,
  ): ParamStore {
    const dimPad = Math.ceil(dim / 4) * 4;
    const stride = dimPad + 4;
    const slabs = adadelta ? 3 : 2;
    let next = 0;
    const take = (floats: number) => {
      const at = next;
      next += floats;
      return at;
    };
    const layout: ParamLayout = {
      dim,
      dimPad,
      stride,
      adadelta,
      nUserRows,
      nItemRows,
      userParams: take(nUserRows * stride),
      userAcc: take(nUserRows * stride),
      userDelta: take(adadelta ? nUserRows * stride : 0),
      itemParams: take(nItemRows * stride),
      itemAcc: take(nItemRows * stride),
      itemDelta: take(adadelta ? nItemRows * stride : 0),
      foldParams: take(stride),
      foldAcc: take(stride),
      foldDelta: take(stride),
      scratch: take(slots * SCRATCH_VECTORS * stride),
      slots,
    };
    const bytes = next * 4;
    if (bytes > WASM_MAX_BYTES)
      throw new SimrecError(
        'CONFIG_INVALID',
        `MF model needs ${(bytes / 2 ** 30).toFixed(1)} GiB of parameters and optimiser state, above the 4 GiB one WebAssembly memory holds (${nUserRows} user and ${nItemRows} item feature rows × ${dim} components, ${slabs} slabs); use fewer components`,
        { field: 'mf.components' },
      );
    const store = new ParamStore(layout, sharedMemory(bytes));
    if (!adadelta) {
      store.f32.fill(1, layout.userAcc, layout.userAcc + nUserRows * stride);
      store.f32.fill(1, layout.itemAcc, layout.itemAcc + nItemRows * stride);
    }
    return store;
  }

  /** The same store seen from another thread. */
  static attach(layout: ParamLayout, memory: WasmMemory): ParamStore {
    return new ParamStore(layout, memory);
  }

  /** Float offset of a slab's first row. */
  slab(side: Side, slab: Slab): number {
    const l = this.layout;
    if (side === 'user') return slab === 'params' ? l.userParams : slab === 'acc' ? l.userAcc : l.userDelta;
    return slab === 'params' ? l.itemParams : slab === 'acc' ? l.itemAcc : l.itemDelta;
  }

  rows(side: Side): number {
    return side === 'user' ? this.layout.nUserRows : this.layout.nItemRows;
  }

  /** Row r of a slab as [embedding (dim), bias] into out (length ≥ dim + 1). */
  readRow(side: Side, slab: Slab, r: number, out: Float32Array | Float64Array): void {
    const { dim, dimPad, stride } = this.layout;
    const base = this.slab(side, slab) + r * stride;
    for (let j = 0; j < dim; j++) out[j] = this.f32[base + j];
    out[dim] = this.f32[base + dimPad];
  }

  /** Sets row r of a slab from [embedding (dim), bias]. */
  writeRow(side: Side, slab: Slab, r: number, values: ArrayLike<number>): void {
    const { dim, dimPad, stride } = this.layout;
    const base = this.slab(side, slab) + r * stride;
    for (let j = 0; j < dim; j++) this.f32[base + j] = values[j];
    this.f32[base + dimPad] = values[dim];
  }

  /** A slab as plain rows of dim + 1 floats (no padding): the stored form. */
  exportSlab(side: Side, slab: Slab): Float32Array {
    const n = slab === 'delta' && !this.layout.adadelta ? 0 : this.rows(side);
    const width = this.layout.dim + 1;
    const out = new Float32Array(n * width);
    for (let r = 0; r < n; r++) this.readRow(side, slab, r, out.subarray(r * width, (r + 1) * width));
    return out;
  }

  /** Fills a slab from rows of dim + 1 floats (as {@link exportSlab} wrote them). */
  importSlab(side: Side, slab: Slab, data: Float32Array): void {
    const width = this.layout.dim + 1;
    for (let r = 0; r < data.length / width; r++)
      this.writeRow(side, slab, r, data.subarray(r * width, (r + 1) * width));
  }

  /** Copies rows [from, from + n) of every slab of `side` from another store (same dim and schedule) to row `to`. */
  copyRows(src: ParamStore, side: Side, from: number, to: number, n: number): void {
    const stride = this.layout.stride;
    for (const slab of ['params', 'acc', 'delta'] as const) {
      if (slab === 'delta' && !this.layout.adadelta) continue;
      const s = src.slab(side, slab) + from * stride;
      this.f32.set(src.f32.subarray(s, s + n * stride), this.slab(side, slab) + to * stride);
    }
  }
}
