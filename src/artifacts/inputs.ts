/**
 * The ingested inputs an artifact version keeps (id maps and relations as loaded), so serving, evaluation and
 * later builds need not re-read the input files: written by the build, read by the server.
 */
import type { Dataset } from '../data/dataset.ts';
import type { VersionReader, VersionWriter } from '../store/store.ts';
import { KEYS } from './keys.ts';

export async function writeInputs(w: VersionWriter, d: Dataset): Promise<void> {
  await w.putIdMap(KEYS.users, d.users);
  await w.putIdMap(KEYS.items, d.items);
  await w.putIdMap(KEYS.topics, d.topics);
  if (d.follows) await w.putCsr(KEYS.follows, d.follows);
  if (d.engagements) {
    await w.putSparseRows(KEYS.engagements, d.engagements.matrix);
    await w.putTypedArray(KEYS.engagementTs, d.engagements.ts);
    await w.putTypedArray(KEYS.engagementAction, Int32Array.from(d.engagements.action));
  }
  if (d.topicFollows) await w.putCsr(KEYS.topicFollows, d.topicFollows);
  await w.putTypedArray(KEYS.itemAuthor, d.itemAuthor);
  await w.putTypedArray(KEYS.itemCreatedTs, d.itemCreatedTs);
  if (d.itemTags) await w.putCsr(KEYS.itemTags, d.itemTags);
}

/** Items user u engaged with (dense indices, ascending); empty for a user past the log or without engagements. */
export async function readEngagedItems(reader: VersionReader, u: number): Promise<Int32Array> {
  const e = reader.entry(KEYS.engagements);
  if (!e || u >= e.shape[0]) return new Int32Array(0);
  return (await reader.sparseRow(KEYS.engagements, u)).ids;
}

/**
 * The data's "now" (Unix seconds): the manifest's dataTime, or for versions built before it was recorded, the
 * latest engagement or item creation time; null when the data has no timestamps.
 */
export async function readDataTime(reader: VersionReader): Promise<number | null> {
  // Read defensively: older builds do not write the field.
  const recorded = (reader.manifest as { dataTime?: unknown }).dataTime;
  if (typeof recorded === 'number' && Number.isFinite(recorded)) return recorded;
  let latest = Number.NEGATIVE_INFINITY;
  for (const key of [KEYS.engagementTs, KEYS.itemCreatedTs]) {
    if (!reader.has(key)) continue;
    const ts = await reader.typedArray(key, 'float64');
    for (let j = 0; j < ts.length; j++) if (ts[j] > latest) latest = ts[j];
  }
  return Number.isFinite(latest) ? latest : null;
}

/**
 * The version's popularity: distinct users per item in its engagement log (any action), zeros when the version
 * keeps no engagements. Rows are sorted by item, so a repeated pair is adjacent.
 */
export async function readItemPopularity(reader: VersionReader, nItems: number): Promise<Float64Array> {
  const out = new Float64Array(nItems);
  if (!reader.has(KEYS.engagements)) return out;
  const e = await reader.csr(KEYS.engagements);
  for (let u = 0; u < e.nRows; u++) {
    let prev = -1;
    for (let j = e.indptr[u]; j < e.indptr[u + 1]; j++) {
      const i = e.indices[j];
      if (i !== prev && i < nItems) out[i]++;
      prev = i;
    }
  }
  return out;
}

/**
 * The last event-log offset the version absorbed at build time (manifest `extra.events.toOffset` − 1), or −1 when
 * its build read no log: a server's overlay over the version applies the records after it.
 */
export function absorbedOffset(reader: VersionReader): number {
  const events = (reader.manifest.extra as { events?: { toOffset?: unknown } }).events;
  const to = events?.toOffset;
  return typeof to === 'number' && Number.isSafeInteger(to) && to > 0 ? to - 1 : -1;
}

/** The engagement actions beyond `fav` the version's build config declared (`events.engagementActions`). */
export function engagementActions(reader: VersionReader): string[] {
  const config = reader.manifest.config as { events?: { engagementActions?: unknown } } | null;
  const actions = config?.events?.engagementActions;
  return Array.isArray(actions) ? actions.filter((a): a is string => typeof a === 'string') : [];
}
