/**
 * Per-request sets and counters over dense indices (items, authors) that clear in O(1): each slot carries the
 * stamp of the request that last wrote it, and clearing moves to a new stamp. A server keeps one per worker and
 * reuses it for every request, so the hot path touches flat arrays only, never a Set or Map.
 */
import { SimrecError } from '../core/errors.ts';

function checkIndex(i: number, what: string): void {
  if (!(i >= 0) || !Number.isInteger(i))
    throw new SimrecError('INTERNAL', `${what}: index ${i} is not a non-negative integer`);
}

/** A set of dense indices with O(1) clear. */
export class StampSet {
  private stamps: Uint32Array;
  private stamp = 1;
  /** Members added since the last clear (each counted once). */
  size = 0;

  constructor(capacity = 0) {
    this.stamps = new Uint32Array(capacity);
  }

  clear(): void {
    this.size = 0;
    if (this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    } else this.stamp++;
  }

  add(i: number): void {
    checkIndex(i, 'StampSet.add');
    if (i >= this.stamps.length) this.stamps = grow(this.stamps, i + 1);
    if (this.stamps[i] !== this.stamp) {
      this.stamps[i] = this.stamp;
      this.size++;
    }
  }

  addAll(items: ArrayLike<number>, n = items.length): void {
    for (let k = 0; k < n; k++) this.add(items[k]);
  }

  has(i: number): boolean {
    return i >= 0 && i < this.stamps.length && this.stamps[i] === this.stamp;
  }
}

/** Counts per dense index with O(1) clear. */
export class StampCounts {
  private stamps: Uint32Array;
  private counts: Int32Array;
  private stamp = 1;

  constructor(capacity = 0) {
    this.stamps = new Uint32Array(capacity);
    this.counts = new Int32Array(capacity);
  }

  clear(): void {
    if (this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    } else this.stamp++;
  }

  get(i: number): number {
    return i >= 0 && i < this.stamps.length && this.stamps[i] === this.stamp ? this.counts[i] : 0;
  }

  /** Adds one to index i's count and returns the count before. */
  increment(i: number): number {
    checkIndex(i, 'StampCounts.increment');
    if (i >= this.stamps.length) {
      const c = Math.max(i + 1, this.stamps.length * 2, 16);
      this.stamps = grow(this.stamps, c);
      const counts = new Int32Array(c);
      counts.set(this.counts);
      this.counts = counts;
    }
    if (this.stamps[i] !== this.stamp) {
      this.stamps[i] = this.stamp;
      this.counts[i] = 0;
    }
    return this.counts[i]++;
  }
}

function grow(a: Uint32Array, need: number): Uint32Array {
  const b = new Uint32Array(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}
