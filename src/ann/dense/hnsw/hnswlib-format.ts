/**
 * Reads and checks hnswlib's index file (`HierarchicalNSW::saveIndex`, format of hnswlib 0.5–0.8, x86-64
 * little-endian) before the native loader sees it, for two reasons:
 *  - the native loader trusts the file: an inconsistent header or an out-of-range link makes it read out of
 *    bounds instead of failing, so a damaged artifact must be caught here as ARTIFACT_CORRUPT;
 *  - the vectors, labels and deletion marks live in the file already, so the JS-side copy of the vectors
 *    (exact re-scoring, exact answers for short allow lists) is rebuilt from it rather than stored twice.
 *
 * Layout: a 96-byte header of size_t fields (plus one int and one uint32 and one double), then
 * `count` fixed-size base-layer records — [u16 link count, u8 flags (bit 0 = deleted), u8 unused,
 * maxM0 × u32 links, dim × f32 vector, u64 label] — then per element a u32 byte size and its upper-layer link
 * lists, `level` lists of [u32 count, maxM × u32 links].
 */
import { DENSE_MAX_ID } from '../dense-index.ts';
import { corrupt } from '../envelope.ts';

const HEADER_BYTES = 96;
const DELETE_MARK = 1;

export interface HnswlibFile {
  count: number;
  maxElements: number;
  m: number;
  maxM: number;
  maxM0: number;
  efConstruction: number;
  maxLevel: number;
  entryPoint: number;
  /** Label of each internal slot. */
  labels: Int32Array;
  /** 1 where the slot is marked deleted. */
  removed: Uint8Array;
  /** The slots' vectors, count × dim, in slot order. */
  vectors: Float32Array;
}

/**
 * Parses and validates an hnswlib index file holding float32 vectors of dimension dim, whose labels must be
 * distinct dense-index ids.
 * @throws SimrecError ARTIFACT_CORRUPT on any inconsistency
 */
export function parseHnswlibFile(bytes: Uint8Array, dim: number): HnswlibFile {
  if (bytes.length < HEADER_BYTES) corrupt(`hnswlib file of ${bytes.length} bytes has no header`);
  // One aligned copy at most, so the base layer can be read through typed views.
  const buf = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = (at: number, what: string): number => {
    const lo = dv.getUint32(at, true);
    const hi = dv.getUint32(at + 4, true);
    if (hi >= 0x200000) corrupt(`hnswlib header field ${what} is out of range`);
    return hi * 4294967296 + lo;
  };
  const offsetLevel0 = size(0, 'offsetLevel0');
  const maxElements = size(8, 'maxElements');
  const count = size(16, 'count');
  const sizePerElement = size(24, 'sizeDataPerElement');
  const labelOffset = size(32, 'labelOffset');
  const offsetData = size(40, 'offsetData');
  const maxLevel = dv.getInt32(48, true);
  const entryPoint = dv.getUint32(52, true);
  const maxM = size(56, 'maxM');
  const maxM0 = size(64, 'maxM0');
  const m = size(72, 'M');
  const efConstruction = size(88, 'efConstruction');

  const linksLevel0 = 4 + 4 * maxM0;
  if (offsetLevel0 !== 0 || maxM0 < 1 || maxM0 > 0xffff || maxM < 1 || maxM > maxM0 || m < 1)
    corrupt(`hnswlib header has inconsistent link sizes (M ${m}, maxM ${maxM}, maxM0 ${maxM0})`);
  if (
    offsetData !== linksLevel0 ||
    labelOffset !== linksLevel0 + 4 * dim ||
    sizePerElement !== labelOffset + 8
  )
    corrupt(`hnswlib record layout does not hold float32 vectors of dimension ${dim}`);
  if (count > maxElements) corrupt(`hnswlib file holds ${count} elements but room for ${maxElements}`);
  const level0End = HEADER_BYTES + count * sizePerElement;
  if (level0End > bytes.length) corrupt('hnswlib base layer runs past the end of the file');
  if (count === 0 ? maxLevel !== -1 : maxLevel < 0 || maxLevel > 64 || entryPoint >= count)
    corrupt(`hnswlib entry point ${entryPoint} / top level ${maxLevel} do not fit ${count} elements`);

  const words = new Uint32Array(buf.buffer, buf.byteOffset + HEADER_BYTES, (count * sizePerElement) / 4);
  const floats = new Float32Array(buf.buffer, buf.byteOffset + HEADER_BYTES, words.length);
  const stride = sizePerElement / 4;
  const labels = new Int32Array(count);
  const removed = new Uint8Array(count);
  const vectors = new Float32Array(count * dim);
  for (let i = 0, w = 0; i < count; i++, w += stride) {
    const head = words[w];
    const links = head & 0xffff;
    if (links > maxM0) corrupt(`element ${i} has ${links} base-layer links, more than ${maxM0}`);
    for (let j = 1; j <= links; j++)
      if (words[w + j] >= count) corrupt(`element ${i} links to ${words[w + j]}, beyond ${count} elements`);
    removed[i] = (head >>> 16) & DELETE_MARK;
    const v = w + offsetData / 4;
    for (let d = 0; d < dim; d++) {
      const x = floats[v + d];
      if (x - x !== 0) corrupt(`element ${i} has a non-finite vector value`);
      vectors[i * dim + d] = x;
    }
    const lw = w + labelOffset / 4;
    const label = words[lw];
    if (words[lw + 1] !== 0 || label > DENSE_MAX_ID)
      corrupt(`element ${i} has label ${label}, outside [0, ${DENSE_MAX_ID}]`);
    labels[i] = label;
  }
  const sorted = labels.slice().sort();
  for (let i = 1; i < count; i++)
    if (sorted[i] === sorted[i - 1]) corrupt(`label ${sorted[i]} appears twice`);

  // Upper layers: each element's lists must have the advertised shape and link only to existing elements.
  const perLevel = 4 + 4 * maxM;
  let at = level0End;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) corrupt('hnswlib upper layers run past the end of the file');
    const listBytes = dv.getUint32(at, true);
    at += 4;
    if (listBytes === 0) continue;
    const levels = listBytes / perLevel;
    if (!Number.isInteger(levels) || levels > maxLevel || at + listBytes > bytes.length)
      corrupt(`element ${i} has an upper-layer block of ${listBytes} bytes`);
    for (let l = 0; l < levels; l++, at += perLevel) {
      const links = dv.getUint32(at, true) & 0xffff;
      if (links > maxM) corrupt(`element ${i} has ${links} links on level ${l + 1}, more than ${maxM}`);
      for (let j = 1; j <= links; j++)
        if (dv.getUint32(at + 4 * j, true) >= count) corrupt(`element ${i} links beyond ${count} elements`);
    }
  }
  if (at !== bytes.length) corrupt(`hnswlib file has ${bytes.length - at} trailing bytes`);
  return {
    count,
    maxElements,
    m,
    maxM,
    maxM0,
    efConstruction,
    maxLevel,
    entryPoint,
    labels,
    removed,
    vectors,
  };
}
