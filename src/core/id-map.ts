/**
 * External string id ↔ dense Int32 index. Indices are given out in first-seen order, so the same input in
 * the same order yields the same map. Persisted as one binary blob: a little-endian header
 * (magic, count), Int32 byte offsets, then the UTF-8 bytes of all ids, so loading is one decode per id and
 * no parsing, and any string (commas, newlines) round-trips.
 */
import { SimrecError } from './errors.ts';

const MAGIC = 0x314d4449; // "IDM1"

export class IdMap {
  private readonly index = new Map<string, number>();
  private readonly ids: string[] = [];

  static from(ids: Iterable<string>): IdMap {
    const m = new IdMap();
    for (const id of ids) m.intern(id);
    return m;
  }

  get size(): number {
    return this.ids.length;
  }

  /** The index of id, adding it when new. */
  intern(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.index.set(id, i);
      this.ids.push(id);
    }
    return i;
  }

  /** The index of id, or −1 when unknown. */
  get(id: string): number {
    const i = this.index.get(id);
    return i === undefined ? -1 : i;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** The external id of index i. */
  id(i: number): string {
    const s = this.ids[i];
    if (s === undefined) throw new RangeError(`IdMap: index ${i} out of range [0, ${this.ids.length})`);
    return s;
  }

  idList(): readonly string[] {
    return this.ids;
  }

  toBuffer(): Buffer {
    const enc = new TextEncoder();
    const bytes = this.ids.map((s) => enc.encode(s));
    let total = 0;
    for (const b of bytes) total += b.length;
    const n = this.ids.length;
    const headerBytes = 8 + 4 * (n + 1);
    const buf = Buffer.alloc(headerBytes + total);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(n, 4);
    let off = 0;
    for (let i = 0; i < n; i++) {
      buf.writeUInt32LE(off, 8 + 4 * i);
      buf.set(bytes[i], headerBytes + off);
      off += bytes[i].length;
    }
    buf.writeUInt32LE(off, 8 + 4 * n);
    return buf;
  }

  /** Reads a blob written by {@link toBuffer}; a blob that is not one, or is truncated, is ARTIFACT_CORRUPT. */
  static fromBuffer(buf: Uint8Array): IdMap {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.byteLength < 8 || view.getUint32(0, true) !== MAGIC)
      throw new SimrecError('ARTIFACT_CORRUPT', 'IdMap.fromBuffer: not an id map (bad magic)');
    const n = view.getUint32(4, true);
    const headerBytes = 8 + 4 * (n + 1);
    if (headerBytes > buf.byteLength)
      throw new SimrecError('ARTIFACT_CORRUPT', `IdMap.fromBuffer: truncated offset table (${n} ids)`);
    // Fatal decoding: a corrupted byte must fail here, not turn into U+FFFD and a different id.
    const dec = new TextDecoder('utf-8', { fatal: true });
    const m = new IdMap();
    for (let i = 0; i < n; i++) {
      const a = view.getUint32(8 + 4 * i, true);
      const b = view.getUint32(12 + 4 * i, true);
      if (b < a || headerBytes + b > buf.byteLength)
        throw new SimrecError('ARTIFACT_CORRUPT', `IdMap.fromBuffer: offsets of id ${i} out of range`);
      let id: string;
      try {
        id = dec.decode(buf.subarray(headerBytes + a, headerBytes + b));
      } catch (e) {
        throw new SimrecError(
          'ARTIFACT_CORRUPT',
          `IdMap.fromBuffer: id ${i} is not valid UTF-8`,
          {},
          { cause: e },
        );
      }
      m.intern(id);
    }
    if (m.size !== n) throw new SimrecError('ARTIFACT_CORRUPT', 'IdMap.fromBuffer: duplicate ids in blob');
    return m;
  }
}
