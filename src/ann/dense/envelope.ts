/**
 * The blob a dense index is saved as: `SRDX`, a format number, a JSON header (kind, metric, dim, parameters,
 * counts) and a binary payload starting at an 8-byte boundary. The JSON keeps the header readable and
 * extensible; the payload is whatever the backend stores (the exact index's ids and vectors, or hnswlib's
 * own index file, byte for byte).
 */
import { SimrecError } from '../../core/errors.ts';

const MAGIC = 0x58445253; // "SRDX" little-endian
export const DENSE_BLOB_FORMAT = 1;
const FIXED = 12;

export interface EnvelopeHeader {
  kind: string;
  [field: string]: unknown;
}

/** Header JSON and payload parts as one blob; the payload is padded to start on an 8-byte boundary. */
export function encodeEnvelope(header: EnvelopeHeader, parts: Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const payloadAt = align8(FIXED + json.length);
  let total = payloadAt;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, DENSE_BLOB_FORMAT, true);
  dv.setUint32(8, json.length, true);
  out.set(json, FIXED);
  let at = payloadAt;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** @throws SimrecError ARTIFACT_CORRUPT when the blob is not a dense index envelope */
export function decodeEnvelope(bytes: Uint8Array): { header: EnvelopeHeader; payload: Uint8Array } {
  if (bytes.length < FIXED) corrupt(`${bytes.length} bytes is too short for a header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) corrupt('bad magic');
  const format = dv.getUint32(4, true);
  if (format !== DENSE_BLOB_FORMAT)
    corrupt(`format ${format} is not supported (expected ${DENSE_BLOB_FORMAT})`);
  const jsonLen = dv.getUint32(8, true);
  const payloadAt = align8(FIXED + jsonLen);
  if (payloadAt > bytes.length) corrupt('header runs past the end');
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(FIXED, FIXED + jsonLen)),
    );
  } catch (e) {
    throw new SimrecError('ARTIFACT_CORRUPT', 'dense index blob: unreadable header', {}, { cause: e });
  }
  if (typeof header !== 'object' || header === null || typeof (header as EnvelopeHeader).kind !== 'string')
    corrupt('header has no kind');
  return { header: header as EnvelopeHeader, payload: bytes.subarray(payloadAt) };
}

/**
 * A typed view of bytes[offset, offset + count·size), copied when the bytes are not aligned for the element
 * type (blobs read from a store may start anywhere).
 */
export function typedView<T extends Int32Array | Float32Array>(
  Ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; new (length: number): T },
  bytes: Uint8Array,
  offset: number,
  count: number,
): T {
  const at = bytes.byteOffset + offset;
  if (at % 4 === 0) return new Ctor(bytes.buffer, at, count);
  const copy = new Ctor(count);
  new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + count * 4));
  return copy;
}

/** Reads a header field that must be an integer in [min, max]. */
export function headerInt(header: EnvelopeHeader, field: string, min: number, max: number): number {
  const v = header[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    corrupt(`header field ${field} = ${JSON.stringify(v)} is not an integer in [${min}, ${max}]`);
  return v as number;
}

export function corrupt(reason: string): never {
  throw new SimrecError('ARTIFACT_CORRUPT', `dense index blob: ${reason}`);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
