/**
 * Child process of bench/eventlog.ts: appends `events` fav events (each with an eventId, as a retrying client
 * sends them) in batches of `batch`, keeping `inFlight` appends pending, once the parent says go on stdin.
 * Reports the wall-clock span of its appends (epoch ms) and what it appended.
 */
import type { UserEvent } from '../src/core/event.ts';
import { LmdbEventLog } from '../src/store/lmdb/lmdb-event-log.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  root: string;
  prefix: string;
  events: number;
  batch: number;
  inFlight: number;
};
const log = new LmdbEventLog(spec.root);
const batches = Math.ceil(spec.events / spec.batch);
const make = (b: number): UserEvent[] =>
  Array.from({ length: Math.min(spec.batch, spec.events - b * spec.batch) }, (_, i) => ({
    eventId: `${spec.prefix}-${b}-${i}`,
    userId: `u${(b * 31 + i) % 5000}`,
    action: 'fav',
    itemId: `i${(b * 17 + i * 7) % 20000}`,
    ts: 1_700_000_000 + b,
    weight: 1,
  }));
process.stdout.write('ready\n');
await new Promise((go) => process.stdin.once('data', go));
const start = Date.now();
let next = 0;
let appended = 0;
const worker = async () => {
  while (next < batches) {
    const r = await log.append(make(next++));
    appended += r.appended;
  }
};
await Promise.all(Array.from({ length: spec.inFlight }, worker));
const end = Date.now();
await log.close();
process.stdout.write(`${JSON.stringify({ start, end, appended })}\n`);
process.exit(0);
