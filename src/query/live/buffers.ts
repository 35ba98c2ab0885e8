/**
 * Growable typed arrays for the live overlay: per-entity columns that grow with the id space, and small per-slot
 * lists that double when full. Growth copies (amortised O(1) per element); nothing is allocated per event
 * otherwise.
 */

export type NumericArray = Int32Array | Uint8Array | Float32Array | Float64Array | Uint32Array;

/** `a` with room for at least `need` elements (itself when it has room); new elements are `fill`. */
export function ensureLength<T extends NumericArray>(a: T, need: number, fill = 0): T {
  if (need <= a.length) return a;
  const cap = Math.max(need, Math.ceil(a.length * 1.5) + 8);
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Index of `x` in a[0..n), −1 when absent (lists here are short: a user's items, an item's clusters). */
export function indexIn(a: Int32Array, n: number, x: number): number {
  for (let j = 0; j < n; j++) if (a[j] === x) return j;
  return -1;
}

/** Index of `c` in the ascending a[0..n) by binary search, −1 when absent. */
export function sortedIndex(a: Int32Array, n: number, c: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid];
    if (v === c) return mid;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * One cluster's overlay items, best first by (key desc, item asc) — a strict total order, so an entry is found
 * again by binary search on the (key, item) it was inserted with. At most `capacity` entries: a newcomer that
 * ranks after a full list's last is refused, one that ranks before it evicts the last.
 */
export class RankedList {
  ids: Int32Array = new Int32Array(4);
  keys: Float64Array = new Float64Array(4);
  scores: Float32Array = new Float32Array(4);
  length = 0;

  /** Position of (key, item), or where it would go. */
  private position(key: number, item: number): number {
    let lo = 0;
    let hi = this.length;
    const keys = this.keys;
    const ids = this.ids;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid];
      if (k > key || (k === key && ids[mid] < item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Inserts (item, key, score); returns the item evicted to make room (−1 none), or −2 when the newcomer itself
   * was refused.
   */
  insert(item: number, key: number, score: number, capacity: number): number {
    const at = this.position(key, item);
    if (at >= capacity) return -2;
    let evicted = -1;
    if (this.length >= capacity) {
      evicted = this.ids[this.length - 1];
      this.length--;
    }
    if (this.length === this.ids.length) {
      const cap = Math.min(Math.max(8, this.length * 2), Math.max(capacity, 8));
      const ids = new Int32Array(cap);
      ids.set(this.ids);
      const keys = new Float64Array(cap);
      keys.set(this.keys);
      const scores = new Float32Array(cap);
      scores.set(this.scores);
      this.ids = ids;
      this.keys = keys;
      this.scores = scores;
    }
    const n = this.length;
    this.ids.copyWithin(at + 1, at, n);
    this.keys.copyWithin(at + 1, at, n);
    this.scores.copyWithin(at + 1, at, n);
    this.ids[at] = item;
    this.keys[at] = key;
    this.scores[at] = score;
    this.length = n + 1;
    return evicted;
  }

  /** Removes the entry inserted as (key, item); false when it is not there. */
  remove(item: number, key: number): boolean {
    const at = this.position(key, item);
    if (at >= this.length || this.ids[at] !== item || this.keys[at] !== key) return false;
    const n = this.length;
    this.ids.copyWithin(at, at + 1, n);
    this.keys.copyWithin(at, at + 1, n);
    this.scores.copyWithin(at, at + 1, n);
    this.length = n - 1;
    return true;
  }
}
