/**
 * A process appending to an event log, for the multi-process tests: run as
 * `node --import tsx event-log-child.ts '<spec json>'`. It appends `batches` batches of `batchSize` fav events
 * (eventIds `<prefix>-<batch>-<i>`, plus `shared-<batch>` that every child sends), keeping `inFlight` appends
 * pending at once, and prints one line `{"b": batch, "offsets": [...]}` per append as soon as it resolves. With
 * `batches` 0 it appends until it is killed. Before exiting it retries batch 0 and prints it as batch -1.
 */
import type { UserEvent } from '../../core/event.ts';
import { LmdbEventLog } from './lmdb-event-log.ts';

interface ChildSpec {
  root: string;
  prefix: string;
  batches: number;
  batchSize: number;
  inFlight: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const log = new LmdbEventLog(spec.root);

function batch(b: number): UserEvent[] {
  const out: UserEvent[] = [];
  for (let i = 0; i < spec.batchSize; i++)
    out.push({
      eventId: `${spec.prefix}-${b}-${i}`,
      userId: spec.prefix,
      action: 'fav',
      itemId: `item-${i}`,
      ts: 1_700_000_000 + b,
      weight: 1,
    });
  out.push({
    eventId: `shared-${b}`,
    userId: 'both',
    action: 'click',
    itemId: `s${b}`,
    ts: 1_700_000_000,
    weight: 1,
  });
  return out;
}

async function one(b: number): Promise<void> {
  const r = await log.append(batch(b));
  process.stdout.write(`${JSON.stringify({ b, offsets: r.offsets })}\n`);
}

let next = 0;
const forever = spec.batches === 0;
async function worker(): Promise<void> {
  while (forever || next < spec.batches) await one(next++);
}
await Promise.all(Array.from({ length: spec.inFlight }, worker));
const retry = await log.append(batch(0));
process.stdout.write(`${JSON.stringify({ b: -1, offsets: retry.offsets, appended: retry.appended })}\n`);
await log.close();
