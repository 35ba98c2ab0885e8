/**
 * Feature hashing (Weinberger et al. 2009, "Feature hashing for large scale multitask learning"): categorical
 * features `name=value` and crosses of two of them land in 2^bits slots through a 32-bit hash, with a sign taken
 * from the hash's top bit so that collisions cancel in expectation instead of adding up; numeric features take
 * reserved dense slots in front of the hashed ones. The hash is MurmurHash3 x86_32 over the UTF-8 bytes of the
 * token, so a slot can be checked against any other implementation of that published function.
 *
 * The builder fills a reused {@link FeatureVector} (parallel typed arrays) per candidate: the `name=` prefix of
 * every field is hashed once when the spec is made and the hash state resumed for each value, and integer values
 * are hashed from their decimal digits without making a string, so filling a vector allocates nothing.
 */
import { SimrecError } from '../core/errors.ts';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// Streaming MurmurHash3 state, module-level so the hot path allocates nothing (JavaScript runs one call at a time).
let mh = 0; // h1
let mk = 0; // bytes of the current block so far
let mt = 0; // how many bytes mk holds
let ml = 0; // total length in bytes

function mStart(seed: number): void {
  mh = seed >>> 0;
  mk = 0;
  mt = 0;
  ml = 0;
}

function mByte(b: number): void {
  mk |= (b & 0xff) << (mt << 3);
  ml++;
  if (++mt === 4) {
    let k = Math.imul(mk, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    mh ^= k;
    mh = (mh << 13) | (mh >>> 19);
    mh = (Math.imul(mh, 5) + 0xe6546b64) | 0;
    mk = 0;
    mt = 0;
  }
}

/** UTF-8 bytes of a UTF-16 string, as TextEncoder writes them (a lone surrogate becomes U+FFFD). */
function mString(s: string): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      mByte(c);
      continue;
    }
    if (c < 0x800) {
      mByte(0xc0 | (c >> 6));
      mByte(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        mByte(0xf0 | (cp >> 18));
        mByte(0x80 | ((cp >> 12) & 0x3f));
        mByte(0x80 | ((cp >> 6) & 0x3f));
        mByte(0x80 | (cp & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    mByte(0xe0 | (c >> 12));
    mByte(0x80 | ((c >> 6) & 0x3f));
    mByte(0x80 | (c & 0x3f));
  }
}

/** The decimal digits of an integer, as String(v) writes them. */
function mInt(v: number): void {
  if (v < 0) {
    mByte(0x2d);
    v = -v;
  }
  let div = 1;
  while (div * 10 <= v) div *= 10;
  for (; div >= 1; div /= 10) {
    const d = Math.floor(v / div) % 10;
    mByte(0x30 + d);
  }
}

function mEnd(): number {
  let h = mh;
  if (mt > 0) {
    let k = Math.imul(mk, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= ml;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86_32 of bytes. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  mStart(seed);
  for (let i = 0; i < bytes.length; i++) mByte(bytes[i]);
  return mEnd();
}

/** MurmurHash3 x86_32 of a string's UTF-8 bytes (equal to murmur3Bytes(new TextEncoder().encode(s))). */
export function murmur3String(s: string, seed = 0): number {
  mStart(seed);
  mString(s);
  return mEnd();
}

/** MurmurHash3 x86_32 of two 32-bit words in little-endian order: the hash of a cross of two token hashes. */
export function murmur3Pair(a: number, b: number, seed = 0): number {
  mStart(seed);
  for (let s = 0; s < 32; s += 8) mByte(a >>> s);
  for (let s = 0; s < 32; s += 8) mByte(b >>> s);
  return mEnd();
}

/** Largest `bits` a spec accepts: the sign takes bit 31, and 2^28 Float32 weights are already 1 GiB. */
export const MAX_HASH_BITS = 28;

/** The shape of a spec as stored in a model's header. */
export interface FeatureSpecInit {
  /** Hashed slots: 2^bits. */
  bits: number;
  /** Numeric features, one dense slot each, in this order, before the hashed slots. */
  numeric: readonly string[];
  /** Categorical fields, each hashed as `name=value`. */
  categorical: readonly string[];
  /** Crosses of two categorical fields by name; every pair of their values in a vector is crossed. */
  crosses?: readonly (readonly [string, string])[];
  /** Hash seed (default 0). */
  seed?: number;
}

/**
 * Which features exist and where they go. Field indices are what the hot path uses: `numericIndex('age')` once,
 * then `builder.numeric(i, x)` per candidate. Field ids in a vector: numeric i is i, categorical j is
 * numeric.length + j, cross c is numeric.length + categorical.length + c (see {@link FeatureSpec.fieldName}).
 */
export class FeatureSpec {
  readonly bits: number;
  readonly seed: number;
  readonly numericNames: readonly string[];
  readonly categoricalNames: readonly string[];
  readonly crossPairs: readonly (readonly [string, string])[];
  /** Numeric slots + 2^bits. */
  readonly dimension: number;
  readonly mask: number;
  /** Categorical field indices of each cross's two sides. */
  readonly crossA: Int32Array;
  readonly crossB: Int32Array;
  /** MurmurHash3 state after `name=` of each categorical field: h1, block, bytes in block, length. */
  readonly prefixH: Int32Array;
  readonly prefixK: Int32Array;
  readonly prefixT: Int32Array;
  readonly prefixL: Int32Array;

  constructor(init: FeatureSpecInit) {
    const { bits, numeric, categorical } = init;
    const crosses = init.crosses ?? [];
    if (!Number.isInteger(bits) || bits < 1 || bits > MAX_HASH_BITS)
      throw new SimrecError(
        'CONFIG_INVALID',
        `hash bits must be an integer in [1, ${MAX_HASH_BITS}], got ${bits}`,
        {
          field: 'bits',
        },
      );
    const seed = init.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new SimrecError('CONFIG_INVALID', `hash seed must be a 32-bit unsigned integer, got ${seed}`, {
        field: 'seed',
      });
    const names = [...numeric, ...categorical];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined)
      throw new SimrecError('CONFIG_INVALID', `feature name ${JSON.stringify(dup)} is declared twice`, {
        field: 'features',
      });
    this.bits = bits;
    this.seed = seed;
    this.numericNames = [...numeric];
    this.categoricalNames = [...categorical];
    this.crossPairs = crosses.map(([a, b]) => [a, b] as const);
    this.dimension = numeric.length + 2 ** bits;
    this.mask = 2 ** bits - 1;
    this.crossA = new Int32Array(crosses.length);
    this.crossB = new Int32Array(crosses.length);
    crosses.forEach(([a, b], c) => {
      this.crossA[c] = this.categoricalIndex(a);
      this.crossB[c] = this.categoricalIndex(b);
    });
    const n = categorical.length;
    this.prefixH = new Int32Array(n);
    this.prefixK = new Int32Array(n);
    this.prefixT = new Int32Array(n);
    this.prefixL = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      mStart(seed);
      mString(categorical[j]);
      mByte(0x3d); // '='
      this.prefixH[j] = mh;
      this.prefixK[j] = mk;
      this.prefixT[j] = mt;
      this.prefixL[j] = ml;
    }
  }

  numericIndex(name: string): number {
    const i = this.numericNames.indexOf(name);
    if (i < 0)
      throw new SimrecError('CONFIG_INVALID', `unknown numeric feature ${JSON.stringify(name)}`, {
        field: name,
      });
    return i;
  }

  categoricalIndex(name: string): number {
    const i = this.categoricalNames.indexOf(name);
    if (i < 0)
      throw new SimrecError('CONFIG_INVALID', `unknown categorical feature ${JSON.stringify(name)}`, {
        field: name,
      });
    return i;
  }

  /** Number of field ids (numeric, categorical, crosses). */
  get fieldCount(): number {
    return this.numericNames.length + this.categoricalNames.length + this.crossPairs.length;
  }

  /** A field id's name: `age`, `source`, `user_cluster×item_cluster`. */
  fieldName(field: number): string {
    const nn = this.numericNames.length;
    const nc = this.categoricalNames.length;
    if (field < nn) return this.numericNames[field];
    if (field < nn + nc) return this.categoricalNames[field - nn];
    const [a, b] = this.crossPairs[field - nn - nc];
    return `${a}×${b}`;
  }

  /** The 32-bit hash of the token `name=value` of categorical field j (value a string or an integer). */
  tokenHash(j: number, value: string | number): number {
    mh = this.prefixH[j];
    mk = this.prefixK[j];
    mt = this.prefixT[j];
    ml = this.prefixL[j];
    if (typeof value === 'string') mString(value);
    else if (Number.isSafeInteger(value)) mInt(value);
    else mString(String(value));
    return mEnd();
  }

  /** The hash of the cross of two token hashes. */
  crossHash(ha: number, hb: number): number {
    return murmur3Pair(ha, hb, this.seed);
  }

  /** The slot of a hash: numeric slots first, then the low `bits` bits. */
  slotOf(hash: number): number {
    return this.numericNames.length + (hash & this.mask);
  }

  /** The sign of a hash: its top bit (independent of the slot bits, since bits ≤ 28). */
  signOf(hash: number): 1 | -1 {
    return hash >>> 31 === 1 ? -1 : 1;
  }

  toJSON(): FeatureSpecInit {
    return {
      bits: this.bits,
      numeric: this.numericNames,
      categorical: this.categoricalNames,
      crosses: this.crossPairs,
      seed: this.seed,
    };
  }
}

/**
 * One example's features as parallel typed arrays: `slots[e]` gets `values[e]` (the sign already applied), from
 * field id `fields[e]`. A slot may appear twice (a collision): models sum over entries. Reused across candidates;
 * the arrays grow by doubling when a vector needs more entries, so steady state allocates nothing.
 */
export class FeatureVector {
  length = 0;
  slots: Int32Array;
  values: Float32Array;
  fields: Int32Array;

  constructor(capacity = 64) {
    const c = Math.max(1, capacity);
    this.slots = new Int32Array(c);
    this.values = new Float32Array(c);
    this.fields = new Int32Array(c);
  }

  clear(): void {
    this.length = 0;
  }

  push(slot: number, value: number, field: number): void {
    if (this.length === this.slots.length) this.grow();
    const e = this.length++;
    this.slots[e] = slot;
    this.values[e] = value;
    this.fields[e] = field;
  }

  private grow(): void {
    const c = this.slots.length * 2;
    const s = new Int32Array(c);
    s.set(this.slots);
    const v = new Float32Array(c);
    v.set(this.values);
    const f = new Int32Array(c);
    f.set(this.fields);
    this.slots = s;
    this.values = v;
    this.fields = f;
  }
}

/**
 * Fills a {@link FeatureVector} per candidate: `begin()`, then `numeric`/`categorical` calls in any order, then
 * `end()`, which adds the crosses and returns the vector. Numeric zeros are left out (they contribute nothing).
 */
export class FeatureBuilder {
  readonly spec: FeatureSpec;
  readonly vector: FeatureVector;
  // The categorical tokens of the current vector, for the crosses: field, hash and weight of each.
  private tokField: Int32Array;
  private tokHash: Int32Array;
  private tokWeight: Float32Array;
  private nTok = 0;

  constructor(spec: FeatureSpec, vector: FeatureVector = new FeatureVector()) {
    this.spec = spec;
    this.vector = vector;
    this.tokField = new Int32Array(16);
    this.tokHash = new Int32Array(16);
    this.tokWeight = new Float32Array(16);
  }

  begin(): this {
    this.vector.clear();
    this.nTok = 0;
    return this;
  }

  /** Numeric feature i (from spec.numericIndex) with value x; NaN is refused so it cannot poison a score. */
  numeric(i: number, x: number): this {
    if (Number.isNaN(x))
      throw new SimrecError('INTERNAL', `numeric feature ${this.spec.numericNames[i]} is NaN`, {
        field: this.spec.numericNames[i],
      });
    if (x !== 0) this.vector.push(i, x, i);
    return this;
  }

  /** Categorical field j (from spec.categoricalIndex) with a string or integer value, weight 1 unless given. */
  categorical(j: number, value: string | number, weight = 1): this {
    return this.categoricalHash(j, this.spec.tokenHash(j, value), weight);
  }

  /**
   * Categorical field j by its token hash `h`, which must be `spec.tokenHash(j, value)`: for a caller that
   * caches the hashes of values it meets on every candidate (authors, tags, sources).
   */
  categoricalHash(j: number, h: number, weight = 1): this {
    const spec = this.spec;
    const field = spec.numericNames.length + j;
    this.vector.push(spec.slotOf(h), spec.signOf(h) * weight, field);
    if (this.nTok === this.tokHash.length) this.growTokens();
    const t = this.nTok++;
    this.tokField[t] = j;
    this.tokHash[t] = h;
    this.tokWeight[t] = weight;
    return this;
  }

  /** Adds every declared cross (each pair of values of its two fields, weights multiplied) and returns the vector. */
  end(): FeatureVector {
    const spec = this.spec;
    const base = spec.numericNames.length + spec.categoricalNames.length;
    const n = this.nTok;
    for (let c = 0; c < spec.crossA.length; c++) {
      const fa = spec.crossA[c];
      const fb = spec.crossB[c];
      for (let s = 0; s < n; s++) {
        if (this.tokField[s] !== fa) continue;
        for (let t = 0; t < n; t++) {
          if (this.tokField[t] !== fb || t === s) continue;
          const h = spec.crossHash(this.tokHash[s], this.tokHash[t]);
          this.vector.push(spec.slotOf(h), spec.signOf(h) * this.tokWeight[s] * this.tokWeight[t], base + c);
        }
      }
    }
    return this.vector;
  }

  private growTokens(): void {
    const c = this.tokHash.length * 2;
    const f = new Int32Array(c);
    f.set(this.tokField);
    const h = new Int32Array(c);
    h.set(this.tokHash);
    const w = new Float32Array(c);
    w.set(this.tokWeight);
    this.tokField = f;
    this.tokHash = h;
    this.tokWeight = w;
  }
}
