/**
 * The arithmetic of MF training as WebAssembly SIMD (f32x4): dot products, Adagrad and Adadelta row steps,
 * axpy and scaling over parameter rows that live in one shared WebAssembly.Memory. Control flow (sampling,
 * merging feature rows) stays in TypeScript; only these loops over 64-odd floats move here, because in plain
 * JavaScript each float is a scalar double op and Adagrad pays a scalar sqrt and divide per component —
 * measured 4–5× slower than four lanes at a time.
 *
 * The module is a few hundred bytes assembled below from named opcodes (WebAssembly core spec §5, SIMD
 * proposal opcodes), so there is no toolchain or binary blob to trust. Every pointer is a byte offset into the
 * memory and every length a multiple of 16 bytes (rows are padded to whole lanes, see memory.ts).
 */

export interface SimdOps {
  /** Σ x[k]·y[k] over nb bytes of f32 (four lanes summed at the end). */
  dot(x: number, y: number, nb: number): number;
  /** Adagrad on a row: g' = scale·g + alpha·w; w −= lr·g'/√acc; acc += g'². */
  adagrad(w: number, acc: number, g: number, nb: number, scale: number, alpha: number, lr: number): void;
  /**
   * Adadelta on a row: g' = scale·g + alpha·w; E[g²] ← ρE[g²] + (1−ρ)g'²; Δ = √(E[Δ²]+ε)/√(E[g²]+ε)·g';
   * E[Δ²] ← ρE[Δ²] + (1−ρ)Δ²; w −= Δ.
   */
  adadelta(
    w: number,
    acc: number,
    delta: number,
    g: number,
    nb: number,
    scale: number,
    alpha: number,
    rho: number,
    eps: number,
  ): void;
  /** y += c·x over nb bytes. */
  axpy(y: number, x: number, nb: number, c: number): void;
  /** y *= c over nb bytes. */
  scale(y: number, nb: number, c: number): void;
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions. SIMD ones are 0xFD followed by the LEB128 opcode; memargs are (align log2, offset).
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (n: number) => [0x41, ...sleb(n)];
const I32_ADD = [0x6a];
const I32_GE_U = [0x4f];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const BR = (d: number) => [0x0c, ...uleb(d)];
const BR_IF = (d: number) => [0x0d, ...uleb(d)];
const END = [0x0b];
const F32_ADD = [0x92];
const F32_SUB = [0x93];
const LOAD = [0xfd, ...uleb(0x00), 4, 0];
const STORE = [0xfd, ...uleb(0x0b), 4, 0];
const SPLAT = [0xfd, ...uleb(0x13)];
const LANE = (l: number) => [0xfd, ...uleb(0x1f), l];
const ADD = [0xfd, ...uleb(0xe4)];
const SUB = [0xfd, ...uleb(0xe5)];
const MUL = [0xfd, ...uleb(0xe6)];
const DIV = [0xfd, ...uleb(0xe7)];
const SQRT = [0xfd, ...uleb(0xe3)];

/** v128 at (base + k), k being local `k`. */
const at = (base: number, k: number) => [...get(base), ...get(k), ...I32_ADD];
const load = (base: number, k: number) => [...at(base, k), ...LOAD];

/** `for (k = 0; k < nb; k += 16) body` with k and nb locals. */
const lanes = (k: number, nb: number, body: number[]) => [
  ...BLOCK,
  ...LOOP,
  ...get(k),
  ...get(nb),
  ...I32_GE_U,
  ...BR_IF(1),
  ...body,
  ...get(k),
  ...i32c(16),
  ...I32_ADD,
  ...set(k),
  ...BR(0),
  ...END,
  ...END,
];

interface Fn {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals by type, after the parameters. */
  locals: [number, number][];
  body: number[];
}

function dotFn(): Fn {
  const [x, y, nb, k, s] = [0, 1, 2, 3, 4];
  return {
    name: 'dot',
    params: [I32, I32, I32],
    results: [F32],
    locals: [
      [1, I32],
      [1, V128],
    ],
    body: [
      ...lanes(k, nb, [...get(s), ...load(x, k), ...load(y, k), ...MUL, ...ADD, ...set(s)]),
      ...get(s),
      ...LANE(0),
      ...get(s),
      ...LANE(1),
      ...F32_ADD,
      ...get(s),
      ...LANE(2),
      ...get(s),
      ...LANE(3),
      ...F32_ADD,
      ...F32_ADD,
    ],
  };
}

/**
 * The step both optimisers start a lane with: wv ← w[k], gv ← g' = scale·g[k] + alpha·w[k] (the L2 term folded
 * into the gradient). Arguments are local indices.
 */
const regularisedGradient = (
  w: number,
  g: number,
  k: number,
  sv: number,
  av: number,
  wv: number,
  gv: number,
) => [
  ...load(w, k),
  ...set(wv),
  ...get(sv),
  ...load(g, k),
  ...MUL,
  ...get(av),
  ...get(wv),
  ...MUL,
  ...ADD,
  ...set(gv),
];

function adagradFn(): Fn {
  const [w, acc, g, nb, scale, alpha, lr] = [0, 1, 2, 3, 4, 5, 6];
  const [k, sv, av, lv, wv, gv, cv] = [7, 8, 9, 10, 11, 12, 13];
  return {
    name: 'adagrad',
    params: [I32, I32, I32, I32, F32, F32, F32],
    results: [],
    locals: [
      [1, I32],
      [6, V128],
    ],
    body: [
      ...get(scale),
      ...SPLAT,
      ...set(sv),
      ...get(alpha),
      ...SPLAT,
      ...set(av),
      ...get(lr),
      ...SPLAT,
      ...set(lv),
      ...lanes(k, nb, [
        ...regularisedGradient(w, g, k, sv, av, wv, gv),
        ...load(acc, k),
        ...set(cv),
        // w ← w − lr·g'/√acc, with the accumulator from before this step
        ...at(w, k),
        ...get(wv),
        ...get(lv),
        ...get(gv),
        ...MUL,
        ...get(cv),
        ...SQRT,
        ...DIV,
        ...SUB,
        ...STORE,
        // acc ← acc + g'²
        ...at(acc, k),
        ...get(cv),
        ...get(gv),
        ...get(gv),
        ...MUL,
        ...ADD,
        ...STORE,
      ]),
    ],
  };
}

function adadeltaFn(): Fn {
  const [w, acc, delta, g, nb, scale, alpha, rho, eps] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [k, sv, av, rv, r1v, ev, wv, gv, egv, dv, stv] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const f32 = (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)];
  return {
    name: 'adadelta',
    params: [I32, I32, I32, I32, I32, F32, F32, F32, F32],
    results: [],
    locals: [
      [1, I32],
      [10, V128],
    ],
    body: [
      ...get(scale),
      ...SPLAT,
      ...set(sv),
      ...get(alpha),
      ...SPLAT,
      ...set(av),
      ...get(rho),
      ...SPLAT,
      ...set(rv),
      ...f32(1),
      ...get(rho),
      ...F32_SUB,
      ...SPLAT,
      ...set(r1v),
      ...get(eps),
      ...SPLAT,
      ...set(ev),
      ...lanes(k, nb, [
        ...regularisedGradient(w, g, k, sv, av, wv, gv),
        // E[g²] ← ρ·E[g²] + (1−ρ)·g'²
        ...get(rv),
        ...load(acc, k),
        ...MUL,
        ...get(r1v),
        ...get(gv),
        ...get(gv),
        ...MUL,
        ...MUL,
        ...ADD,
        ...set(egv),
        ...load(delta, k),
        ...set(dv),
        // Δ = √(E[Δ²]+ε) / √(E[g²]+ε) · g'
        ...get(dv),
        ...get(ev),
        ...ADD,
        ...SQRT,
        ...get(egv),
        ...get(ev),
        ...ADD,
        ...SQRT,
        ...DIV,
        ...get(gv),
        ...MUL,
        ...set(stv),
        ...at(acc, k),
        ...get(egv),
        ...STORE,
        // E[Δ²] ← ρ·E[Δ²] + (1−ρ)·Δ²
        ...at(delta, k),
        ...get(rv),
        ...get(dv),
        ...MUL,
        ...get(r1v),
        ...get(stv),
        ...get(stv),
        ...MUL,
        ...MUL,
        ...ADD,
        ...STORE,
        ...at(w, k),
        ...get(wv),
        ...get(stv),
        ...SUB,
        ...STORE,
      ]),
    ],
  };
}

function axpyFn(): Fn {
  const [y, x, nb, c, k, cv] = [0, 1, 2, 3, 4, 5];
  return {
    name: 'axpy',
    params: [I32, I32, I32, F32],
    results: [],
    locals: [
      [1, I32],
      [1, V128],
    ],
    body: [
      ...get(c),
      ...SPLAT,
      ...set(cv),
      ...lanes(k, nb, [...at(y, k), ...load(y, k), ...get(cv), ...load(x, k), ...MUL, ...ADD, ...STORE]),
    ],
  };
}

function scaleFn(): Fn {
  const [y, nb, c, k, cv] = [0, 1, 2, 3, 4];
  return {
    name: 'scale',
    params: [I32, I32, F32],
    results: [],
    locals: [
      [1, I32],
      [1, V128],
    ],
    body: [
      ...get(c),
      ...SPLAT,
      ...set(cv),
      ...lanes(k, nb, [...at(y, k), ...load(y, k), ...get(cv), ...MUL, ...STORE]),
    ],
  };
}

/** The module's bytes: one imported shared memory ("m", "mem"), the functions above exported by name. */
export function simdModuleBytes(): Uint8Array {
  const fns = [dotFn(), adagradFn(), adadeltaFn(), axpyFn(), scaleFn()];
  const types = section(
    1,
    vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])),
  );
  // Memory limits flag 3 = shared with a maximum; any memory of at most 65536 pages (4 GiB) fits.
  const imports = section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x03, ...uleb(0), ...uleb(65536)]]));
  const funcs = section(3, vec(fns.map((_, i) => uleb(i))));
  const exports = section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])));
  const code = section(
    10,
    vec(
      fns.map((f) => {
        const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, ...END];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...funcs,
    ...exports,
    ...code,
  ]);
}

/**
 * The slice of the WebAssembly JS API used here. The project's TypeScript libs (ES2023 + Node 20 types) do not
 * declare WebAssembly, and a global declaration could clash with one added later, so it is typed locally.
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Largest memory a wasm32 module can address: 65536 pages of 64 KiB. */
export const WASM_MAX_BYTES = 65536 * 65536;

let compiled: WasmModule | null = null;

/** The compiled module (compiled once per thread; it is a few hundred bytes). */
function simdModule(): WasmModule {
  compiled ??= new wasm.Module(simdModuleBytes());
  return compiled;
}

/** A zeroed shared memory of at least `bytes` bytes (whole 64 KiB pages). */
export function sharedMemory(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/** The operations bound to `memory`. */
export function simdOps(memory: WasmMemory): SimdOps {
  return new wasm.Instance(simdModule(), { m: { mem: memory } }).exports as SimdOps;
}
