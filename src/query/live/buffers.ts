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

/**
 * Position of `x` in a[off..off+n), relative to off; −1 when absent (lists here are short: a user's items, an
 * item's clusters).
 */
export function indexIn(a: Int32Array, off: number, n: number, x: number): number {
  for (let j = 0; j < n; j++) if (a[off + j] === x) return j;
  return -1;
}

/** Position of `c` in the ascending a[off..off+n) by binary search, relative to off; −1 when absent. */
export function sortedIndex(a: Int32Array, off: number, n: number, c: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[off + mid];
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
  /** Where the last insert or move put its entry. */
  lastAt = -1;

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
    this.lastAt = at;
    return evicted;
  }

  /**
   * position(key, item), searched outward from `hint` (any number; a good one is where the entry was last seen):
   * O(log distance) instead of O(log length), the same answer whatever the hint.
   */
  positionNear(key: number, item: number, hint: number): number {
    const n = this.length;
    if (n === 0) return 0;
    const keys = this.keys;
    const ids = this.ids;
    const h = hint < 0 ? 0 : hint >= n ? n - 1 : hint;
    // The answer lies in [lo, hi]: entries before lo rank before (key, item), the entry at hi (if any) does not.
    let lo: number;
    let hi: number;
    let k = keys[h];
    let step = 1;
    if (k > key || (k === key && ids[h] < item)) {
      lo = h + 1;
      hi = h + 1;
      while (hi < n) {
        k = keys[hi];
        if (!(k > key || (k === key && ids[hi] < item))) break;
        lo = hi + 1;
        step *= 2;
        hi = h + step;
      }
      if (hi > n) hi = n;
    } else {
      hi = h;
      lo = h - 1;
      while (lo >= 0) {
        k = keys[lo];
        if (k > key || (k === key && ids[lo] < item)) break;
        hi = lo;
        step *= 2;
        lo = h - step;
      }
      lo = lo < 0 ? 0 : lo + 1;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      k = keys[mid];
      if (k > key || (k === key && ids[mid] < item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Re-keys the entry inserted as (oldKey, item) to (key, score): the list remove-then-insert would leave
   * (removing first frees a place, so nothing is evicted or refused), but only the entries between the old and
   * the new position move — a republished item's key usually changes by a little, and shifting the whole tail
   * of a long list twice per entry was what applying a fav cost. `hint` is where to start looking for the
   * entry (see positionNear). False when the entry is not there.
   */
  move(item: number, oldKey: number, key: number, score: number, hint = -1): boolean {
    let at = hint < 0 ? this.position(oldKey, item) : this.positionNear(oldKey, item, hint);
    const ids = this.ids;
    const keys = this.keys;
    const scores = this.scores;
    if (at >= this.length || ids[at] !== item || keys[at] !== oldKey) return false;
    // Towards the front while the previous entry ranks after (key, item); else towards the back while the next
    // ranks before it. The order is strict, so at most one of the two walks moves.
    while (at > 0) {
      const k = keys[at - 1];
      if (k > key || (k === key && ids[at - 1] < item)) break;
      ids[at] = ids[at - 1];
      keys[at] = k;
      scores[at] = scores[at - 1];
      at--;
    }
    const last = this.length - 1;
    while (at < last) {
      const k = keys[at + 1];
      if (!(k > key || (k === key && ids[at + 1] < item))) break;
      ids[at] = ids[at + 1];
      keys[at] = k;
      scores[at] = scores[at + 1];
      at++;
    }
    ids[at] = item;
    keys[at] = key;
    scores[at] = score;
    this.lastAt = at;
    return true;
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

/**
 * Variable-length rows of many slots in a few flat typed arrays (the columns; column q holds `strides[q]`
 * numbers per entry), so a million item rows or user lists are a handful of objects, not millions: per slot an
 * offset, a capacity and a length. A row that outgrows its capacity moves to the end (its old room becomes
 * garbage); the arena compacts itself when garbage passes a third of what is handed out. Offsets change on a move or a
 * compaction: read them again after any write.
 */
export class SlotArena {
  cols: NumericArray[];
  off: Int32Array = new Int32Array(16);
  cap: Int32Array = new Int32Array(16);
  len: Int32Array = new Int32Array(16);
  /** Entries handed out (live rows' capacities plus garbage). */
  used = 0;
  garbage = 0;
  /** Slots made room for. */
  slots = 0;

  constructor(
    ctors: readonly (new (n: number) => NumericArray)[],
    readonly strides: readonly number[],
  ) {
    this.cols = ctors.map((C, q) => new C(64 * strides[q]));
  }

  /** Makes room for slot s (new slots have an empty row). */
  ensureSlots(n: number): void {
    this.slots = Math.max(this.slots, n);
    this.off = ensureLength(this.off, n);
    this.cap = ensureLength(this.cap, n);
    this.len = ensureLength(this.len, n);
  }

  /** Ensures slot s can hold `need` entries, keeping its first len[s]; returns the (possibly new) offset. */
  reserve(s: number, need: number): number {
    if (need <= this.cap[s]) return this.off[s];
    const cap = Math.max(need, 2 * this.cap[s], 2);
    const at = this.take(cap);
    const from = this.off[s];
    const n = this.len[s];
    for (let q = 0; q < this.cols.length; q++) {
      const k = this.strides[q];
      this.cols[q].copyWithin(at * k, from * k, (from + n) * k);
    }
    this.garbage += this.cap[s];
    this.off[s] = at;
    this.cap[s] = cap;
    if (this.garbage > 1024 && this.garbage * 3 > this.used) this.compact();
    return this.off[s];
  }

  private take(n: number): number {
    const at = this.used;
    this.used += n;
    for (let q = 0; q < this.cols.length; q++)
      this.cols[q] = ensureLength(this.cols[q], this.used * this.strides[q]);
    return at;
  }

  /** Copies every live row into fresh columns, in slot order, each with its capacity. */
  compact(): void {
    const nSlots = this.slots;
    let total = 0;
    for (let s = 0; s < nSlots; s++) total += this.cap[s];
    const cols = this.cols.map(
      (c, q) => new (c.constructor as new (n: number) => NumericArray)(Math.max(64, total) * this.strides[q]),
    );
    let at = 0;
    for (let s = 0; s < nSlots; s++) {
      const from = this.off[s];
      for (let q = 0; q < cols.length; q++) {
        const k = this.strides[q];
        cols[q].set(this.cols[q].subarray(from * k, (from + this.len[s]) * k), at * k);
      }
      this.off[s] = at;
      at += this.cap[s];
    }
    this.cols = cols;
    this.used = at;
    this.garbage = 0;
  }
}
