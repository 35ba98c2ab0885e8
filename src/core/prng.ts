/**
 * Seeded pseudo-random numbers that give the same sequence on every platform: xoshiro128** over 32-bit
 * integer arithmetic (Math.imul, >>> 0), seeded through splitmix32. Floats are built from integer bits
 * only, and the transcendental functions used (Math.log) are V8's own fdlibm port, identical everywhere.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = Number.NaN;

  constructor(seed: number | string = 0) {
    this.reseed(seed);
  }

  reseed(seed: number | string): void {
    let x =
      typeof seed === 'string' ? hashString(seed) : (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = Number.NaN;
  }

  /** An independent stream derived from this seed and a label (per worker, per stage). */
  fork(label: number | string): Rng {
    const r = new Rng(0);
    r.s0 = (this.s0 ^ hashString(`a${label}`)) >>> 0;
    r.s1 = (this.s1 ^ hashString(`b${label}`)) >>> 0;
    r.s2 = (this.s2 ^ hashString(`c${label}`)) >>> 0;
    r.s3 = (this.s3 ^ hashString(`d${label}`)) >>> 0;
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    for (let i = 0; i < 8; i++) r.nextUint32();
    return r;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in (0, 1): safe under log. */
  nextOpen(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return u;
  }

  /** Uniform integer in [0, n), unbiased (rejection on the 32-bit range). n ≤ 2^32. */
  int(n: number): number {
    if (n <= 0) throw new RangeError(`Rng.int: n must be positive, got ${n}`);
    if (n > 4294967296) return Math.floor(this.next() * n);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal by the polar Box–Muller method. */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = Number.NaN;
      return s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  /** Gumbel(0, 1): −ln(−ln U). Used by the Gumbel-max proposal of KnownFor. */
  gumbel(): number {
    return -Math.log(-Math.log(this.nextOpen()));
  }

  /** Exponential with rate λ. */
  exponential(rate = 1): number {
    return -Math.log(this.nextOpen()) / rate;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number, out: Int32Array = new Int32Array(n)): Int32Array {
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over UTF-16 code units, then a murmur finaliser: a stable 32-bit hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
