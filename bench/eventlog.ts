/**
 * Event log appends (issue 15): durable events/s into the embedded log (`<artifacts>/events/`), from 1 or 2
 * processes appending at once, batches of --batch events (each with an eventId), with 1 append pending per
 * process (every batch its own fsync: the baseline) or --in-flight appends pending (what concurrent requests
 * to one server process do: lmdb-js commits the pending batches together, one fsync for all).
 * Every append resolves only after its batch is fsync'd. A fresh log per row.
 *
 *   npm run bench -- eventlog [--events 40000] [--batch 100] [--in-flight 16]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LmdbEventLog } from '../src/store/lmdb/lmdb-event-log.ts';
import { machine, type Row, table } from './lib.ts';

const CHILD = fileURLToPath(new URL('./eventlog-child.ts', import.meta.url));

interface ChildResult {
  start: number;
  end: number;
  appended: number;
}

/** Starts `processes` children, lets them go together, and returns events/s over the span of all appends. */
async function measure(processes: number, events: number, batch: number, inFlight: number): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'simrec-bench-eventlog-'));
  try {
    const children = Array.from({ length: processes }, (_, p) =>
      spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, JSON.stringify({ root, prefix: `p${p}`, events, batch, inFlight })],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      ),
    );
    const lines = children.map((c) => {
      const out: string[] = [];
      let buf = '';
      const waiters: (() => void)[] = [];
      c.stdout.on('data', (d) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          out.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          for (const w of waiters.splice(0)) w();
        }
      });
      return async (n: number): Promise<string> => {
        while (out.length < n) await new Promise<void>((r) => waiters.push(r));
        return out[n - 1];
      };
    });
    await Promise.all(lines.map((l) => l(1)));
    for (const c of children) c.stdin.end('go\n');
    const results = (await Promise.all(lines.map((l) => l(2)))).map((s) => JSON.parse(s) as ChildResult);
    const span = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000;
    const total = results.reduce((s, r) => s + r.appended, 0);
    const log = new LmdbEventLog(root);
    const stats = log.stats();
    await log.close();
    if (stats.end !== total || total !== processes * events)
      throw new Error(`log holds ${stats.end} records, children appended ${total}`);
    return {
      processes: String(processes),
      'appends pending per process': String(inFlight),
      events: total,
      seconds: span,
      'events/s': total / span,
      'bytes/event on disk': String(Math.round(stats.diskBytes / total)),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '40000' },
      batch: { type: 'string', default: '100' },
      'in-flight': { type: 'string', default: '16' },
    },
  });
  const events = Number(values.events);
  const batch = Number(values.batch);
  const inFlight = Number(values['in-flight']);
  const rows: Row[] = [];
  const loads: number[] = [];
  for (const [processes, pending] of [
    [1, 1],
    [2, 1],
    [1, inFlight],
    [2, inFlight],
  ]) {
    rows.push(await measure(processes, events, batch, pending));
    loads.push(loadavg()[0]);
  }
  const base = rows[0]['events/s'] as number;
  for (const r of rows) r['ratio to 1 process, 1 pending'] = ((r['events/s'] as number) / base).toFixed(2);
  console.log(
    `\n## Event log appends — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${machine()}, ` +
      `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  console.log(
    `batches of ${batch} fav events with eventIds, ${events} events per process, each append fsync'd before it resolves; ` +
      `${tmpdir()}\n`,
  );
  console.log(table(rows));
  const goal = rows[3]['events/s'] as number;
  console.log(
    `goal: ≥ 20,000 durable events/s from 2 processes in batches of 100 — measured ${Math.round(goal)}`,
  );
}
