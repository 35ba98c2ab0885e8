/**
 * String id → dense index, fed straight from DuckDB VARCHAR vectors without turning each value into a JS string.
 *
 * The key of a value is its 16-byte `string_t` header. For ids of at most 12 bytes (numbers, handles, most real
 * ids) the header holds the whole string, so lookups are exact. Canonical decimal ids below 2^24 (the usual
 * case: user and item numbers) skip hashing altogether and index a plain array. Longer ids are keyed by (length,
 * 4-byte prefix, DuckDB's 64-bit hash), which two different ids share with probability about n²/2⁶⁵ (3·10⁻⁶ for
 * 10⁷ distinct long ids). A value is decoded into a JS string only once, when first seen (long ids) or at the
 * end, all in one go (short ones).
 *
 * Indices are given out in first-seen order, rows in order and, within a row, columns left to right; so the
 * same rows give the same indices.
 */
import { IdMap } from '../core/id-map.ts';
import { readString, type StringColumn } from './duckdb.ts';

/** Marks values that are NULL, empty or only whitespace. */
export const EMPTY_ID = -1;

/** Decimal ids below this skip hashing (at most 64 MB of table). The rule never changes, so an id always
 * takes the same path. */
const DIRECT_LIMIT = 1 << 24;
const DIRECT_DIGITS = 8;

/** Words per hash-table slot: length + 1 (0 marks an empty slot), three key words, the entry's id. */
const STRIDE = 5;

/** Returned by the intern loops when a long value has no hash: row * columns + column. */
export interface NeedHash {
  row: number;
  column: number;
}

export class StringInterner {
  /** Open addressing, linear probing, load ≤ 1/2; keys live in the slot so a hit costs one cache miss. */
  private table: Int32Array;
  private mask: number;
  private nEntries = 0;
  private nIds = 0;
  /** Canonical decimal id v → id + 1 (0 = unseen), grown on demand up to DIRECT_LIMIT entries. */
  private direct: Int32Array = new Int32Array(0);
  /** Key words of each id, in id order, to decode the short ids in one go. */
  private idKeys = new Int32Array(4 * 1024);
  /** Ids longer than 12 bytes, decoded when first seen (their bytes live in DuckDB only while the chunk does). */
  private readonly longIds = new Map<number, string>();
  private strings: string[] | null = null;
  /** The previous key of each column being interned (len, w1, w2, w3, id): repeats skip the lookup. */
  private prev = new Int32Array(5);

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.table = new Int32Array(cap * STRIDE);
    this.mask = cap - 1;
  }

  /** Number of distinct (non-blank) ids. */
  get size(): number {
    return this.nIds;
  }

  /** All ids in index order (decoded once, cached until the next new id). */
  idList(): readonly string[] {
    if (this.strings === null || this.strings.length !== this.nIds) this.strings = this.decodeAll();
    return this.strings;
  }

  /** The external id of index i. */
  id(i: number): string {
    return this.idList()[i];
  }

  /** The ids as an IdMap whose string → index table is built on first lookup (see LazyIdMap). */
  toIdMap(): IdMap {
    return new LazyIdMap(this.idList());
  }

  /**
   * Interns rows [0, rows) of one or more VARCHAR columns of a chunk, row by row and left to right, into
   * outs[c][outOffset + r] (EMPTY_ID for NULL or blank values). `hashes[c]` holds, per row, DuckDB's 64-bit hash
   * of the value as two uint32 words, needed for values longer than 12 bytes only; when it is null and such a
   * value turns up, interning stops and the position is returned so the caller can rerun the query with the
   * hash (rows before it, and columns before it in that row, are done). Returns null when all rows are done.
   * Rows with skip[r] ≠ 0 (rows already known to be bad) get EMPTY_ID and add nothing to the id space; a row
   * whose value in column c comes out EMPTY_ID gets skip[r] = markEmpty[c] when that is non-zero.
   */
  internRows(
    cols: readonly StringColumn[],
    hashes: ReadonlyArray<Uint32Array | null>,
    rows: number,
    outs: readonly Int32Array[],
    outOffset: number,
    skip: Uint8Array | null = null,
    markEmpty: readonly number[] | null = null,
  ): NeedHash | null {
    const n = cols.length;
    if (this.prev.length < n * 5) this.prev = new Int32Array(n * 5);
    this.prev.fill(-1);
    if (n === 1) {
      const r = this.scan(cols[0], hashes[0], rows, outs[0], outOffset, skip, markEmpty?.[0] ?? 0, true, 0);
      return r < 0 ? null : { row: r, column: 0 };
    }
    // Several columns share this id space, and new ids must be numbered row by row. Known ids are looked up
    // column by column (tight loops); the rare misses are then added in row order.
    for (let c = 0; c < n; c++) {
      const r = this.scan(cols[c], hashes[c], rows, outs[c], outOffset, null, 0, false, c);
      if (r >= 0) return { row: r, column: c };
    }
    for (let r = 0; r < rows; r++) {
      if (skip !== null && skip[r] !== 0) {
        for (let c = 0; c < n; c++) outs[c][outOffset + r] = EMPTY_ID;
        continue;
      }
      for (let c = 0; c < n; c++) {
        const out = outs[c];
        let id = out[outOffset + r];
        if (id === MISSING) {
          id = this.value(cols[c], hashes[c], r, c);
          out[outOffset + r] = id;
        }
        if (id === EMPTY_ID && markEmpty !== null && markEmpty[c] !== 0 && skip !== null && skip[r] === 0) {
          skip[r] = markEmpty[c];
        }
      }
    }
    return null;
  }

  /**
   * The hot loop, written out in one function so nothing in it is a call: each row's key, a repeat of the
   * previous row, the direct table for decimal ids, else the hash table. With `insert` false, unknown values
   * come out MISSING instead of being added. Returns the row of a long value without hash, or -1.
   */
  private scan(
    col: StringColumn,
    hashWords: Uint32Array | null,
    rows: number,
    out: Int32Array,
    outOffset: number,
    skip: Uint8Array | null,
    mark: number,
    insert: boolean,
    slot: number,
  ): number {
    const words = col.words;
    const bytes = col.bytes;
    const validity = col.validity;
    let pLen = -1;
    let p1 = 0;
    let p2 = 0;
    let p3 = 0;
    let pId = EMPTY_ID;
    for (let r = 0; r < rows; r++) {
      if (skip !== null && skip[r] !== 0) {
        out[outOffset + r] = EMPTY_ID;
        continue;
      }
      if (validity !== null && (validity[r >>> 3] & (1 << (r & 7))) === 0) {
        out[outOffset + r] = EMPTY_ID;
        if (mark !== 0 && skip !== null) skip[r] = mark;
        continue;
      }
      const o = r * 4;
      const len = words[o];
      let w1 = words[o + 1] | 0;
      let w2: number;
      let w3: number;
      if (len <= 12) {
        w2 = words[o + 2] | 0;
        w3 = words[o + 3] | 0;
        // DuckDB zero-pads inlined strings, but the key must not depend on that.
        if (len < 12) {
          if (len < 4) {
            w1 = len === 0 ? 0 : w1 & (0xffffffff >>> (32 - 8 * len));
            w2 = 0;
            w3 = 0;
          } else if (len < 8) {
            w2 = len === 4 ? 0 : w2 & (0xffffffff >>> (64 - 8 * len));
            w3 = 0;
          } else {
            w3 = len === 8 ? 0 : w3 & (0xffffffff >>> (96 - 8 * len));
          }
        }
      } else {
        if (hashWords === null) return r;
        w2 = hashWords[r * 2] | 0;
        w3 = hashWords[r * 2 + 1] | 0;
      }
      let id: number;
      if (len === pLen && w1 === p1 && w2 === p2 && w3 === p3) {
        id = pId;
      } else {
        id = NEEDS_HASH;
        if (len > 0 && len <= DIRECT_DIGITS) {
          // Canonical decimal (no sign, no leading zero): index the direct table by its value.
          const base = r * 16 + 4;
          let v = 0;
          let j = 0;
          if (!(bytes[base] === 0x30 && len > 1)) {
            for (; j < len; j++) {
              const d = bytes[base + j] - 0x30;
              if (d < 0 || d > 9) break;
              v = v * 10 + d;
            }
          }
          if (j === len && v < DIRECT_LIMIT) {
            let direct: Int32Array = this.direct;
            if (v >= direct.length) direct = this.growDirect(v);
            id = direct[v] - 1;
            if (id < 0) {
              if (insert) {
                id = this.newId(len, w1, w2, w3, null);
                direct[v] = id + 1;
              } else id = MISSING;
            }
          }
        }
        if (id === NEEDS_HASH) {
          const table = this.table;
          const mask = this.mask;
          const lenKey = len + 1;
          let s = hash4(lenKey, w1, w2, w3) & mask;
          for (;;) {
            const t = s * STRIDE;
            const l = table[t];
            if (l === 0) {
              id = insert ? this.add(t, lenKey, w1, w2, w3, col, r) : MISSING;
              break;
            }
            if (l === lenKey && table[t + 1] === w1 && table[t + 2] === w2 && table[t + 3] === w3) {
              id = table[t + 4];
              break;
            }
            s = (s + 1) & mask;
          }
        }
        if (id !== MISSING) {
          pLen = len;
          p1 = w1;
          p2 = w2;
          p3 = w3;
          pId = id;
        }
      }
      out[outOffset + r] = id;
      if (id === EMPTY_ID && mark !== 0 && skip !== null) skip[r] = mark;
    }
    // value() (the row-order fix-up) starts from this column's last key.
    const p = slot * 5;
    this.prev[p] = pLen;
    this.prev[p + 1] = p1;
    this.prev[p + 2] = p2;
    this.prev[p + 3] = p3;
    this.prev[p + 4] = pId;
    return -1;
  }

  /** The id of row r of col, adding it when new; EMPTY_ID for NULL/blank; NEEDS_HASH for a long value and no hash. */
  private value(col: StringColumn, hashWords: Uint32Array | null, r: number, slot: number): number {
    const validity = col.validity;
    if (validity !== null && (validity[r >>> 3] & (1 << (r & 7))) === 0) return EMPTY_ID;
    const words = col.words;
    const o = r * 4;
    const len = words[o];
    let w1 = words[o + 1] | 0;
    let w2: number;
    let w3: number;
    if (len <= 12) {
      w2 = words[o + 2] | 0;
      w3 = words[o + 3] | 0;
      // DuckDB zero-pads inlined strings, but the key must not depend on that.
      if (len < 12) {
        if (len < 4) {
          w1 = len === 0 ? 0 : w1 & (0xffffffff >>> (32 - 8 * len));
          w2 = 0;
          w3 = 0;
        } else if (len < 8) {
          w2 = len === 4 ? 0 : w2 & (0xffffffff >>> (64 - 8 * len));
          w3 = 0;
        } else {
          w3 = len === 8 ? 0 : w3 & (0xffffffff >>> (96 - 8 * len));
        }
      }
    } else {
      if (hashWords === null) return NEEDS_HASH;
      w2 = hashWords[r * 2] | 0;
      w3 = hashWords[r * 2 + 1] | 0;
    }
    const prev = this.prev;
    const p = slot * 5;
    if (prev[p] === len && prev[p + 1] === w1 && prev[p + 2] === w2 && prev[p + 3] === w3) return prev[p + 4];
    let id = NEEDS_HASH;
    if (len > 0 && len <= DIRECT_DIGITS) {
      // Canonical decimal (no sign, no leading zero): index the direct table by its value.
      const bytes = col.bytes;
      const base = r * 16 + 4;
      let v = 0;
      let j = 0;
      if (!(bytes[base] === 0x30 && len > 1)) {
        for (; j < len; j++) {
          const d = bytes[base + j] - 0x30;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
        }
      }
      if (j === len && v < DIRECT_LIMIT) {
        let direct: Int32Array = this.direct;
        if (v >= direct.length) direct = this.growDirect(v);
        id = direct[v] - 1;
        if (id < 0) {
          id = this.newId(len, w1, w2, w3, null);
          direct[v] = id + 1;
        }
      }
    }
    if (id === NEEDS_HASH) id = this.lookup(len, w1, w2, w3, col, r);
    prev[p] = len;
    prev[p + 1] = w1;
    prev[p + 2] = w2;
    prev[p + 3] = w3;
    prev[p + 4] = id;
    return id;
  }

  private lookup(len: number, w1: number, w2: number, w3: number, col: StringColumn, r: number): number {
    const table = this.table;
    const mask = this.mask;
    const lenKey = len + 1;
    let s = hash4(lenKey, w1, w2, w3) & mask;
    for (;;) {
      const t = s * STRIDE;
      const l = table[t];
      if (l === 0) return this.add(t, lenKey, w1, w2, w3, col, r);
      if (l === lenKey && table[t + 1] === w1 && table[t + 2] === w2 && table[t + 3] === w3)
        return table[t + 4];
      s = (s + 1) & mask;
    }
  }

  private add(
    t: number,
    lenKey: number,
    w1: number,
    w2: number,
    w3: number,
    col: StringColumn,
    r: number,
  ): number {
    const table = this.table;
    table[t] = lenKey;
    table[t + 1] = w1;
    table[t + 2] = w2;
    table[t + 3] = w3;
    const len = lenKey - 1;
    let id = EMPTY_ID;
    if (len > 12) {
      const str = readString(col, r);
      if (str.trim() !== '') id = this.newId(len, w1, w2, w3, str);
    } else if (!isBlankInline(col.bytes, r * 16 + 4, len)) {
      id = this.newId(len, w1, w2, w3, null);
    }
    table[t + 4] = id;
    if (++this.nEntries * 2 > this.mask) this.grow();
    return id;
  }

  private newId(len: number, w1: number, w2: number, w3: number, long: string | null): number {
    const id = this.nIds++;
    if (this.idKeys.length < this.nIds * 4) {
      const grown = new Int32Array(this.idKeys.length * 2);
      grown.set(this.idKeys);
      this.idKeys = grown;
    }
    const k = id * 4;
    this.idKeys[k] = len;
    this.idKeys[k + 1] = w1;
    this.idKeys[k + 2] = w2;
    this.idKeys[k + 3] = w3;
    if (long !== null) this.longIds.set(id, long);
    return id;
  }

  private growDirect(v: number): Int32Array {
    let cap = Math.max(1024, this.direct.length);
    while (cap <= v) cap *= 2;
    const grown = new Int32Array(Math.min(cap, DIRECT_LIMIT));
    grown.set(this.direct);
    this.direct = grown;
    return grown;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    const table = new Int32Array(cap * STRIDE);
    const mask = cap - 1;
    for (let t = 0; t < old.length; t += STRIDE) {
      if (old[t] === 0) continue;
      let s = hash4(old[t], old[t + 1], old[t + 2], old[t + 3]) & mask;
      while (table[s * STRIDE] !== 0) s = (s + 1) & mask;
      table.set(old.subarray(t, t + STRIDE), s * STRIDE);
    }
    this.table = table;
    this.mask = mask;
  }

  /**
   * Decodes every id. The short ids are copied into one byte buffer and decoded once; when that is ASCII (the
   * usual case) each id is a slice of the result, far cheaper than a decoder call per id.
   */
  private decodeAll(): string[] {
    const n = this.nIds;
    const keys = this.idKeys;
    let total = 0;
    for (let i = 0; i < n; i++) if (keys[i * 4] <= 12) total += keys[i * 4];
    const buf = Buffer.allocUnsafe(total);
    const key = new Int32Array(3);
    const keyBytes = new Uint8Array(key.buffer);
    let ascii = true;
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const len = keys[i * 4];
      if (len > 12) continue;
      key[0] = keys[i * 4 + 1];
      key[1] = keys[i * 4 + 2];
      key[2] = keys[i * 4 + 3];
      for (let j = 0; j < len; j++) {
        const b = keyBytes[j];
        if (b >= 0x80) ascii = false;
        buf[pos++] = b;
      }
    }
    const out = new Array<string>(n);
    const all = ascii ? buf.toString('latin1', 0, total) : '';
    pos = 0;
    for (let i = 0; i < n; i++) {
      const len = keys[i * 4];
      if (len > 12) {
        out[i] = this.longIds.get(i)!;
        continue;
      }
      out[i] = ascii ? all.slice(pos, pos + len) : buf.toString('utf8', pos, pos + len);
      pos += len;
    }
    return out;
  }
}

const NEEDS_HASH = -2;
/** A value not in the table yet (lookup-only scans). */
const MISSING = -3;

/** Whether an inlined string is empty or only ASCII whitespace. */
function isBlankInline(bytes: Uint8Array, start: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const b = bytes[start + i];
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return true;
}

/** A 32-bit mix of the four key words (murmur3-style multiply/xor-shift rounds). */
function hash4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * An IdMap that starts from the index → id list alone and builds its string → index table (a JS Map, about
 * half a second per million ids) the first time something needs it: `get`, `has`, `intern` or `toBuffer`.
 * Batch jobs mostly go index → id, so a load does not pay for the table up front.
 */
export class LazyIdMap extends IdMap {
  #list: readonly string[] | null;

  constructor(ids: readonly string[]) {
    super();
    this.#list = ids;
  }

  /** Moves the ids into the base map (once). */
  #materialize(): void {
    const list = this.#list;
    if (list === null) return;
    this.#list = null;
    for (let i = 0; i < list.length; i++) {
      if (super.intern(list[i]) !== i) throw new Error(`LazyIdMap: duplicate id '${list[i]}'`);
    }
  }

  override get size(): number {
    return this.#list !== null ? this.#list.length : super.size;
  }

  override intern(id: string): number {
    this.#materialize();
    return super.intern(id);
  }

  override get(id: string): number {
    this.#materialize();
    return super.get(id);
  }

  override has(id: string): boolean {
    this.#materialize();
    return super.has(id);
  }

  override id(i: number): string {
    if (this.#list === null) return super.id(i);
    const s = this.#list[i];
    if (s === undefined) throw new RangeError(`IdMap: index ${i} out of range [0, ${this.#list.length})`);
    return s;
  }

  override idList(): readonly string[] {
    return this.#list ?? super.idList();
  }

  override toBuffer(): Buffer {
    this.#materialize();
    return super.toBuffer();
  }
}
