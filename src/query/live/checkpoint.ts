/**
 * The live overlay's checkpoint format: `SRLO`, a format number, a JSON header (the version id, the strings and
 * maps of the state, and the table of binary sections), then the sections — scalars as one Float64Array (NaN
 * survives, JSON would not keep it), typed arrays, lists of typed arrays, and ranked cluster lists — each
 * 8-byte aligned. The state is named field by field (overlay.ts CHECKPOINT_FIELDS), so a field added to the
 * overlay and not to the list fails the round-trip test instead of being lost silently.
 */
import { SimrecError } from '../../core/errors.ts';
import type { NumericArray, RankedList, SlotArena } from './buffers.ts';

const MAGIC = 0x4f4c5253; // 'SRLO' little-endian
const FORMAT = 1;

export interface CheckpointFields {
  readonly scalars: readonly string[];
  readonly json: readonly string[];
  readonly arrays: readonly string[];
  readonly arenas: readonly string[];
  readonly ranked: readonly string[];
}

const DTYPES = {
  Int32Array,
  Uint8Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;
type DType = keyof typeof DTYPES;

interface Section {
  name: string;
  dtype: DType;
  /** Element count of each part (one for an array, one per element for a list). */
  lengths: number[];
}

export function writeCheckpoint(
  state: Record<string, unknown>,
  fields: CheckpointFields,
  extra: Record<string, unknown>,
): Uint8Array {
  const sections: Section[] = [];
  const parts: NumericArray[] = [];
  const add = (name: string, arrays: NumericArray[]) => {
    const dtype = (arrays[0]?.constructor.name ?? 'Float64Array') as DType;
    sections.push({ name, dtype, lengths: arrays.map((a) => a.length) });
    for (const a of arrays) parts.push(a);
  };
  add('scalars', [Float64Array.from(fields.scalars, (f) => Number(state[f]))]);
  for (const f of fields.arrays) add(f, [state[f] as NumericArray]);
  const arenas: Record<string, number[]> = {};
  for (const f of fields.arenas) {
    const a = state[f] as SlotArena;
    arenas[f] = [a.used, a.garbage, a.slots];
    add(`${f}.off`, [a.off]);
    add(`${f}.cap`, [a.cap]);
    add(`${f}.len`, [a.len]);
    a.cols.forEach((c, q) => {
      add(`${f}.${q}`, [c.subarray(0, a.used * a.strides[q])]);
    });
  }
  for (const f of fields.ranked) {
    const lists = state[f] as RankedList[];
    add(
      `${f}.ids`,
      lists.map((l) => l.ids.subarray(0, l.length)),
    );
    add(
      `${f}.keys`,
      lists.map((l) => l.keys.subarray(0, l.length)),
    );
    add(
      `${f}.scores`,
      lists.map((l) => l.scores.subarray(0, l.length)),
    );
  }
  const json: Record<string, unknown> = {};
  for (const f of fields.json) {
    const v = state[f];
    json[f] = v instanceof Map ? { $map: [...v.entries()] } : v;
  }
  const header = new TextEncoder().encode(JSON.stringify({ ...extra, json, arenas, sections }));
  const headerEnd = align(12 + header.length);
  let total = headerEnd;
  for (const p of parts) total = align(total + p.byteLength);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT, true);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let at = headerEnd;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at = align(at + p.byteLength);
  }
  return out;
}

/**
 * Reads a checkpoint into `state`: `check` sees the header first (and throws to refuse it).
 * @throws SimrecError ARTIFACT_CORRUPT when the bytes are not a checkpoint of this format
 */
export function readCheckpoint(
  bytes: Uint8Array,
  state: Record<string, unknown>,
  fields: CheckpointFields,
  check: (header: Record<string, unknown>) => void,
): void {
  const corrupt = (why: string) =>
    new SimrecError('ARTIFACT_CORRUPT', `overlay checkpoint: ${why}`, { field: 'checkpoint' });
  if (bytes.length < 12) throw corrupt('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt('not a checkpoint');
  if (view.getUint32(4, true) !== FORMAT) throw corrupt(`format ${view.getUint32(4, true)} is not ${FORMAT}`);
  const headerLength = view.getUint32(8, true);
  let header: {
    json: Record<string, unknown>;
    arenas: Record<string, number[]>;
    sections: Section[];
  } & Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw corrupt('unreadable header');
  }
  check(header);
  let at = align(12 + headerLength);
  const read = new Map<string, NumericArray[]>();
  for (const s of header.sections) {
    const Ctor = DTYPES[s.dtype];
    if (!Ctor) throw corrupt(`unknown dtype ${s.dtype}`);
    const arrays: NumericArray[] = [];
    for (const n of s.lengths) {
      const byteLength = n * Ctor.BYTES_PER_ELEMENT;
      if (at + byteLength > bytes.length) throw corrupt(`section ${s.name} runs past the end`);
      // Copied: the state outlives the caller's buffer and must be writable.
      const copy = new Ctor(n);
      new Uint8Array(copy.buffer).set(bytes.subarray(at, at + byteLength));
      arrays.push(copy);
      at = align(at + byteLength);
    }
    read.set(s.name, arrays);
  }
  const need = (name: string) => {
    const v = read.get(name);
    if (!v) throw corrupt(`section ${name} is missing`);
    return v;
  };
  const scalars = need('scalars')[0];
  fields.scalars.forEach((f, j) => {
    state[f] = typeof state[f] === 'boolean' ? scalars[j] !== 0 : scalars[j];
  });
  for (const f of fields.arrays) state[f] = need(f)[0];
  for (const f of fields.arenas) {
    const a = state[f] as SlotArena;
    const sizes = header.arenas?.[f];
    if (!Array.isArray(sizes) || sizes.length !== 3) throw corrupt(`arena ${f} has no sizes`);
    [a.used, a.garbage, a.slots] = sizes;
    a.off = need(`${f}.off`)[0] as Int32Array;
    a.cap = need(`${f}.cap`)[0] as Int32Array;
    a.len = need(`${f}.len`)[0] as Int32Array;
    a.cols = a.cols.map((_, q) => need(`${f}.${q}`)[0]);
  }
  for (const f of fields.ranked) {
    const ids = need(`${f}.ids`);
    const keys = need(`${f}.keys`);
    const scores = need(`${f}.scores`);
    const lists = state[f] as RankedList[];
    if (ids.length !== lists.length) throw corrupt(`${f}: ${ids.length} lists for ${lists.length}`);
    lists.forEach((l, c) => {
      l.ids = ids[c] as Int32Array;
      l.keys = keys[c] as Float64Array;
      l.scores = scores[c] as Float32Array;
      l.length = ids[c].length;
    });
  }
  for (const f of fields.json) {
    const v = header.json[f];
    const target = state[f];
    if (target instanceof Map) {
      target.clear();
      for (const [key, value] of (v as { $map: [unknown, unknown][] }).$map) target.set(key, value);
    } else if (Array.isArray(target)) {
      target.length = 0;
      for (const x of v as unknown[]) target.push(x);
    } else if (target && typeof target === 'object') Object.assign(target, v);
    else state[f] = v;
  }
}

function align(n: number): number {
  return (n + 7) & ~7;
}
