/**
 * The event log as build input (issue 15 item 5): which log a build reads (`--events LOC`, or the output
 * location's own when `events.absorb` allows), read whole from its first held record to its end as of now, and
 * folded into the dataset (data/absorb-events.ts). The offsets absorbed go into the manifest (`extra.events`), so
 * a server switching to the version applies only the records from `toOffset` on.
 */
import { createHash } from 'node:crypto';
import { SimrecError } from '../core/errors.ts';
import type { LoggedRecord } from '../core/event.ts';
import { type AbsorbStats, absorbEvents } from '../data/absorb-events.ts';
import type { Dataset } from '../data/dataset.ts';
import { hasEventLog, openEventLog } from '../store/open.ts';
import type { BuildConfig } from './config.ts';

/** Records read per call: bounded memory per read, few enough calls to stay cheap. */
const READ_CHUNK = 100_000;

/** The location whose log this build absorbs, or null for none. @throws CONFIG_INVALID when required and absent */
export function logLocation(
  config: BuildConfig,
  out: string,
  events: string | false | undefined,
): string | null {
  if (events === false || config.events.absorb === false) return null;
  const location = events ?? out;
  if (hasEventLog(location, { field: events ? 'events' : 'out' })) return location;
  if (events !== undefined || config.events.absorb === true)
    throw new SimrecError(
      'CONFIG_INVALID',
      `${location} has no event log to absorb (${events !== undefined ? '--events' : 'events.absorb: true'})`,
      { field: events !== undefined ? 'events' : 'events.absorb' },
    );
  return null;
}

/** The dataset with the log's records folded in, and what was absorbed. */
export async function absorbLog(
  dataset: Dataset,
  location: string,
  config: BuildConfig,
): Promise<{ dataset: Dataset; stats: AbsorbStats }> {
  const log = openEventLog(location, { field: 'events' });
  try {
    // The end is fixed first: records appended while the build runs belong to the next version, and the
    // overlay applies them on top of this one.
    const end = log.end();
    const records: LoggedRecord[] = [];
    for (let from = log.start(); from < end; ) {
      const chunk = log.read(from, Math.min(READ_CHUNK, end - from));
      if (chunk.length === 0) break;
      for (const r of chunk) if (r.offset < end) records.push(r);
      from = chunk[chunk.length - 1].offset + 1;
    }
    const absorbed = absorbEvents(dataset, records, end, {
      engagementActions: config.events.engagementActions,
    });
    // The manifest lists the log beside the files: what was read, and a digest of it for audits.
    const hash = createHash('sha256');
    let bytes = 0;
    for (const r of records) {
      const line = `${JSON.stringify(r)}\n`;
      bytes += Buffer.byteLength(line);
      hash.update(line);
    }
    absorbed.dataset.inputs = [
      ...dataset.inputs,
      {
        kind: 'events',
        path: `${log.location} [${absorbed.stats.fromOffset}, ${end})`,
        bytes,
        sha256: hash.digest('hex'),
        rows: records.length,
        skippedRows: 0,
      },
    ];
    return absorbed;
  } finally {
    await log.close();
  }
}
