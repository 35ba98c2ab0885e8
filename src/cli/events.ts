/**
 * `simrec events`: the event log of an artifact location as an operator manages it — bulk import through the
 * same validation as `POST /v1/events`, compaction of what is no longer needed, and its size.
 */
import { parseArgs } from 'node:util';
import { absorbedOffset } from '../artifacts/inputs.ts';
import { SimrecError } from '../core/errors.ts';
import type { UserEvent } from '../core/event.ts';
import { readEventFile } from '../data/event-files.ts';
import { EVENT_LIMITS } from '../data/events.ts';
import { MAX_REPORTED_PROBLEMS } from '../data/validate.ts';
import { isoTime } from '../data/values.ts';
import type { EventLog } from '../store/event-log.ts';
import { openArtifactStore, openEventLog } from '../store/open.ts';
import type { Command } from './command.ts';
import { formatBytes } from './versions.ts';

const HELP = `usage: simrec events import --artifacts LOC FILE [--skip-bad-rows] [--engagement-actions A,B]
       simrec events compact --artifacts LOC --before OFFSET|DATE
       simrec events stats --artifacts LOC [--json]

import   appends the events of FILE to the log, checked as POST /v1/events checks them. FILE is CSV/TSV
         with a header (columns eventId userId action itemId producerId topic ts weight, or event_id,
         user_id, item_id, producer_id; an empty cell is an absent field) or JSONL (one event object per
         line), optionally gzip'd. ts is Unix seconds or ISO-8601 (UTC); without it an event gets the import
         time. The whole file is checked before anything is appended: a bad row fails the import as
         FILE:LINE: field: reason and nothing is written, unless --skip-bad-rows, which reports and counts
         them. Events are appended in batches of ${EVENT_LIMITS.batchSize}; an event whose eventId the log holds is
         not appended again, so an import that stopped half-way can be rerun when its events carry eventIds.
compact  drops the records before an offset: --before OFFSET (an integer), or --before DATE, an ISO-8601
         date or date-time or @SECONDS (Unix seconds), which drops the records up to the first one whose ts
         is at or after it. Dropped eventIds no longer deduplicate retries. Records the current version
         has not absorbed (a build absorbs the log) are refused unless --force.
stats    first and next offset, records held, eventIds held, checkpoints, bytes on disk.

options:
  --artifacts LOC            artifact location: a directory or file:// URL (the log is LOC/events/)
  --skip-bad-rows            import: skip bad rows (each reported, up to ${MAX_REPORTED_PROBLEMS}, and counted)
  --engagement-actions LIST  import: engagement actions the build config declares, comma-separated
  --before OFFSET|DATE       compact: where the kept records start
  --force                    compact: also drop records the current version has not absorbed
  --json                     stats: machine-readable output
  -h, --help                 this help
`;

const SUBCOMMANDS = ['import', 'compact', 'stats'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const OPTIONS = {
  artifacts: { type: 'string' },
  'skip-bad-rows': { type: 'boolean', default: false },
  'engagement-actions': { type: 'string' },
  before: { type: 'string' },
  json: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
} as const;

/** Where the CLI writes: stdout for results, stderr for warnings. */
export interface EventsOutput {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

function invalid(message: string, field: string): SimrecError {
  return new SimrecError('CONFIG_INVALID', message, { field });
}

function parse(argv: string[]) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    throw new SimrecError('CONFIG_INVALID', (e as Error).message, {}, { cause: e });
  }
  const [sub, ...rest] = parsed.positionals;
  if (!SUBCOMMANDS.includes(sub as Subcommand))
    throw invalid(
      sub === undefined
        ? `events needs a subcommand (${SUBCOMMANDS.join(', ')})`
        : `unknown events subcommand '${sub}' (expected ${SUBCOMMANDS.join(', ')})`,
      'subcommand',
    );
  const v = parsed.values;
  const wanted = sub === 'import' ? 1 : 0;
  if (rest.length !== wanted)
    throw invalid(
      sub === 'import'
        ? 'events import takes exactly one FILE'
        : `events ${sub} takes no arguments besides options, got '${rest.join(' ')}'`,
      sub === 'import' ? 'file' : 'subcommand',
    );
  const only = (name: keyof typeof OPTIONS, where: Subcommand) => {
    const value = v[name];
    if (sub !== where && value !== undefined && value !== false)
      throw invalid(`--${name} is only for events ${where}`, name);
  };
  only('skip-bad-rows', 'import');
  only('engagement-actions', 'import');
  only('before', 'compact');
  only('force', 'compact');
  only('json', 'stats');
  if (typeof v.artifacts !== 'string' || v.artifacts === '')
    throw invalid('--artifacts is required', 'artifacts');
  return { sub: sub as Subcommand, file: rest[0], values: v, artifacts: v.artifacts };
}

/** The command, writing results to `io.out` and warnings to `io.err`. */
export async function runEvents(argv: string[], io: EventsOutput): Promise<number> {
  const { sub, file, values, artifacts } = parse(argv);
  let engagementActions: string[] = [];
  if (values['engagement-actions'] !== undefined)
    engagementActions = values['engagement-actions']
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
  let before: { offset: number } | { ts: number } | undefined;
  if (sub === 'compact') {
    if (values.before === undefined) throw invalid('--before is required', 'before');
    before = parseBefore(values.before);
  }
  const log = openEventLog(artifacts, { field: 'artifacts' });
  try {
    if (sub === 'stats') return stats(log, values.json, io);
    if (sub === 'compact')
      return await compact(log, before as { offset: number } | { ts: number }, io, artifacts, values.force);
    return await importFile(log, file as string, values['skip-bad-rows'], engagementActions, io);
  } finally {
    await log.close();
  }
}

/** `--before`: an offset (a plain integer), or a time (ISO-8601, or @ followed by Unix seconds). */
export function parseBefore(text: string): { offset: number } | { ts: number } {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const offset = Number(s);
    if (Number.isSafeInteger(offset)) return { offset };
  } else if (/^@-?\d+(\.\d+)?$/.test(s)) return { ts: Number(s.slice(1)) };
  else if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s);
    const ms = Date.parse(/[T ]/.test(s) && !hasZone ? `${s.replace(' ', 'T')}Z` : s);
    if (!Number.isNaN(ms)) return { ts: ms / 1000 };
  }
  throw invalid(
    `--before must be an offset (an integer ≥ 0), an ISO-8601 date or @SECONDS (Unix seconds), got '${text}'`,
    'before',
  );
}

function stats(log: EventLog, json: boolean, io: EventsOutput): number {
  const s = log.stats();
  if (json) {
    io.out.write(`${JSON.stringify({ location: log.location, ...s }, null, 2)}\n`);
    return 0;
  }
  const rows: [string, string][] = [
    ['log', log.location],
    ['start', `${s.start}  (first offset held)`],
    ['end', `${s.end}  (next offset)`],
    ['records', String(s.records)],
    ['eventIds', String(s.eventIds)],
    ['checkpoints', String(s.checkpoints)],
    ['disk', formatBytes(s.diskBytes)],
  ];
  io.out.write(rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n') + '\n');
  return 0;
}

/** The offset the current version's build absorbed up to (exclusive), 0 when none; null without a version. */
async function absorbedEnd(artifacts: string): Promise<number | null> {
  const store = openArtifactStore(artifacts, { field: 'artifacts' });
  try {
    const reader = await store.openVersion().catch(() => null);
    if (!reader) return null;
    try {
      return absorbedOffset(reader) + 1;
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
  }
}

async function compact(
  log: EventLog,
  before: { offset: number } | { ts: number },
  io: EventsOutput,
  artifacts: string,
  force: boolean,
): Promise<number> {
  const start = log.start();
  const offset = 'offset' in before ? before.offset : log.offsetAtTime(before.ts);
  // Records the current version has not absorbed are what a restarted server replays on top of it: dropping
  // them would lose acknowledged events. What the version absorbed is never needed again.
  const safe = (await absorbedEnd(artifacts)) ?? 0;
  if (offset > safe && !force)
    throw invalid(
      `records from offset ${safe} on are not in the current artifact version (it absorbed offsets below ${safe}); ` +
        `compacting before ${offset} would lose them for every server that restarts: build first (simrec build ` +
        '--out on this location absorbs the log), or pass --force',
      'before',
    );
  const dropped = await log.compact(offset);
  const by =
    'ts' in before ? ` (the first record at or after ${isoTime(before.ts)} is offset ${offset})` : '';
  io.out.write(
    `dropped ${dropped} record(s)${by}: the log now holds offsets ${log.start()}..${log.end() - 1} ` +
      `(was from ${start})\n`,
  );
  return 0;
}

async function importFile(
  log: EventLog,
  file: string,
  skipBadRows: boolean,
  engagementActions: string[],
  io: EventsOutput,
): Promise<number> {
  // One receive time for both passes, so an event without ts is the same event when it is appended.
  const opts = { receiveTime: Date.now() / 1000, engagementActions };
  let good = 0;
  let bad = 0;
  for await (const row of readEventFile(file, opts)) {
    if (row.event) {
      good++;
      continue;
    }
    const e = row.error as SimrecError;
    if (!skipBadRows)
      throw new SimrecError(
        e.code,
        `${e.message} (--skip-bad-rows skips such rows; nothing was imported)`,
        e.detail,
      );
    if (bad < MAX_REPORTED_PROBLEMS) io.err.write(`simrec events import: skipping ${e.toString()}\n`);
    bad++;
  }
  if (bad > MAX_REPORTED_PROBLEMS)
    io.err.write(`simrec events import: ... ${bad - MAX_REPORTED_PROBLEMS} more bad row(s) skipped\n`);
  if (good + bad === 0) throw new SimrecError('INPUT_EMPTY', 'the file has no events', { file });

  const first = log.end();
  let appended = 0;
  let duplicates = 0;
  let seen = 0;
  let chunk: UserEvent[] = [];
  const flush = async () => {
    const r = await log.append(chunk);
    appended += r.appended;
    duplicates += r.duplicates;
    chunk = [];
  };
  for await (const row of readEventFile(file, opts)) {
    if (!row.event) continue;
    chunk.push(row.event);
    seen++;
    if (chunk.length === EVENT_LIMITS.batchSize) await flush();
  }
  if (chunk.length > 0) await flush();
  if (seen !== good)
    throw new SimrecError(
      'INPUT_FORMAT',
      `the file changed during the import (${good} good rows when checked, ${seen} when appended)`,
      { file },
    );
  io.out.write(
    `${file}: ${good + bad} event(s) read, ${appended} appended, ${duplicates} already in the log (same eventId), ` +
      `${bad} bad row(s) skipped; log end ${first} → ${log.end()}\n`,
  );
  return 0;
}

export const eventsCommand: Command = {
  name: 'events',
  summary: 'import events into the event log, compact it, or show its size',
  help: HELP,
  run: (argv) => runEvents(argv, { out: process.stdout, err: process.stderr }),
};
