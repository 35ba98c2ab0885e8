/**
 * Reading a file of events for `simrec events import`: CSV/TSV with a header, or JSONL (one JSON object per
 * line), gzip'd or not. Every row goes through the same validation as `POST /v1/events` (events.ts), and a
 * bad row is reported as `FILE:LINE: field: reason`, the field named as the file names it.
 *
 * CSV columns are the event's fields, in the API's spelling or the input files' (`userId` or `user_id`,
 * `itemId` or `item_id`, ...); an empty cell is an absent field. `ts` is Unix seconds or ISO-8601 (UTC unless
 * it names an offset), as in input files. Line numbers are physical lines (the header is line 1); a quoted CSV
 * field may span lines, and its row is reported at the line it starts on.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { SimrecError } from '../core/errors.ts';
import type { UserEvent } from '../core/event.ts';
import { type EventValidationOptions, validateEvent } from './events.ts';

export type EventFileFormat = 'csv' | 'tsv' | 'jsonl';

/** One data row of an events file: the event, or why it is bad. */
export interface EventRow {
  line: number;
  event?: UserEvent;
  error?: SimrecError;
}

/** CSV header names → event fields. */
const COLUMN_FIELDS: Readonly<Record<string, string>> = {
  eventId: 'eventId',
  event_id: 'eventId',
  userId: 'userId',
  user_id: 'userId',
  action: 'action',
  itemId: 'itemId',
  item_id: 'itemId',
  producerId: 'producerId',
  producer_id: 'producerId',
  topic: 'topic',
  ts: 'ts',
  weight: 'weight',
};

/** The format an events file is read in, from its name (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, each `.gz` too). */
export function eventFileFormat(path: string): { format: EventFileFormat; gzip: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const base = gzip ? lower.slice(0, -3) : lower;
  if (base.endsWith('.csv')) return { format: 'csv', gzip };
  if (base.endsWith('.tsv')) return { format: 'tsv', gzip };
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) return { format: 'jsonl', gzip };
  throw new SimrecError('INPUT_FORMAT', 'an events file is .csv, .tsv, .jsonl or .ndjson (optionally .gz)', {
    file: path,
  });
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A time as written in a file: Unix seconds, or an ISO-8601 date or date-time (UTC unless it names an
 * offset). NaN when it is neither.
 */
export function parseFileTime(text: string): number {
  const s = text.trim();
  if (DECIMAL.test(s)) return Number(s);
  if (!ISO_DATE.test(s)) return Number.NaN;
  const offset = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s) || !/[T ]/.test(s) ? '' : 'Z';
  const ms = Date.parse(`${s.replace(' ', 'T')}${offset}`);
  return Number.isNaN(ms) ? Number.NaN : ms / 1000;
}

/** Splits one CSV record (already joined across lines when a quoted field spans them). */
function splitCsv(text: string, sep: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === sep) {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** Whether a record so far ends inside a quoted field (an odd number of quotes). */
function openQuote(text: string): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 34) n++;
  return (n & 1) === 1;
}

function rowError(file: string, line: number, field: string, reason: string): SimrecError {
  return new SimrecError('INPUT_BAD_ROW', `${field}: ${reason}`, { file, line, field });
}

/** A validation error re-addressed to the file: `field reason` → `FILE:LINE: column: reason`. */
function fromValidation(e: unknown, file: string, line: number, names: Map<string, string>): SimrecError {
  if (!(e instanceof SimrecError) || e.detail.field === undefined) throw e;
  const field = e.detail.field;
  const reason = e.message.startsWith(`${field} `) ? e.message.slice(field.length + 1) : e.message;
  return rowError(file, line, names.get(field) ?? field, reason);
}

/**
 * The data rows of an events file, in file order, each validated. Blank lines are skipped.
 * @throws SimrecError INPUT_MISSING (no such file), INPUT_BAD_HEADER (an unknown, duplicate or missing CSV
 *   column, named at line 1), INPUT_FORMAT (an unknown extension)
 */
export async function* readEventFile(
  path: string,
  opts: EventValidationOptions = {},
): AsyncGenerator<EventRow> {
  const { format, gzip } = eventFileFormat(path);
  const options = {
    ...opts,
    numericIds: format === 'jsonl',
    receiveTime: opts.receiveTime ?? Date.now() / 1000,
  };
  const stream = createReadStream(path);
  const opened = new Promise<void>((ok, fail) => {
    stream.once('open', () => ok());
    stream.once('error', fail);
  });
  try {
    await opened;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SimrecError(
      code === 'ENOENT' ? 'INPUT_MISSING' : 'INPUT_FORMAT',
      code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
  const lines = createInterface({ input: gzip ? stream.pipe(createGunzip()) : stream, crlfDelay: Infinity });
  let lineNo = 0;
  if (format === 'jsonl') {
    const names = new Map<string, string>();
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        yield {
          line: lineNo,
          error: rowError(path, lineNo, 'line', `not valid JSON (${(e as Error).message})`),
        };
        continue;
      }
      try {
        yield { line: lineNo, event: validateEvent(raw, options) };
      } catch (e) {
        yield { line: lineNo, error: fromValidation(e, path, lineNo, names) };
      }
    }
    return;
  }

  const sep = format === 'tsv' ? '\t' : ',';
  let columns: string[] | undefined;
  /** event field → the header's name for it, for messages. */
  const names = new Map<string, string>();
  let pending = '';
  let startLine = 0;
  for await (const text of lines) {
    lineNo++;
    if (pending === '') {
      if (text.trim() === '') continue;
      startLine = lineNo;
      pending = text;
    } else pending += `\n${text}`;
    if (openQuote(pending)) continue;
    const record = pending;
    pending = '';
    const cells = splitCsv(record, sep);
    if (columns === undefined) {
      columns = cells.map((c) => c.trim());
      const seen = new Set<string>();
      for (const c of columns) {
        const field = COLUMN_FIELDS[c];
        const bad = (why: string) =>
          new SimrecError('INPUT_BAD_HEADER', why, {
            file: path,
            line: startLine,
            column: c,
          });
        if (field === undefined)
          throw bad(`is not an event field (expected ${Object.keys(COLUMN_FIELDS).join(', ')})`);
        if (seen.has(field)) throw bad(`names ${field} a second time`);
        seen.add(field);
        names.set(field, c);
      }
      for (const need of ['userId', 'action'])
        if (!seen.has(need))
          throw new SimrecError('INPUT_BAD_HEADER', `the header has no ${need} column`, {
            file: path,
            line: startLine,
          });
      continue;
    }
    if (cells.length !== columns.length) {
      yield {
        line: startLine,
        error: rowError(path, startLine, 'row', `expected ${columns.length} fields, found ${cells.length}`),
      };
      continue;
    }
    const raw: Record<string, unknown> = {};
    let error: SimrecError | undefined;
    for (let j = 0; j < columns.length; j++) {
      const cell = cells[j];
      if (cell === '') continue;
      const field = COLUMN_FIELDS[columns[j]];
      if (field === 'ts') {
        const t = parseFileTime(cell);
        if (Number.isNaN(t)) {
          error = rowError(
            path,
            startLine,
            columns[j],
            `unparseable timestamp '${cell}' (expected Unix seconds or ISO-8601)`,
          );
          break;
        }
        raw.ts = t;
      } else if (field === 'weight') {
        const w = cell.trim();
        raw.weight = DECIMAL.test(w) ? Number(w) : cell;
      } else raw[field] = cell;
    }
    if (error) {
      yield { line: startLine, error };
      continue;
    }
    try {
      yield { line: startLine, event: validateEvent(raw, options) };
    } catch (e) {
      yield { line: startLine, error: fromValidation(e, path, startLine, names) };
    }
  }
  if (pending !== '')
    yield {
      line: startLine,
      error: rowError(path, startLine, 'row', 'unterminated quote (the field runs to the end of the file)'),
    };
  if (columns === undefined)
    throw new SimrecError('INPUT_EMPTY', 'the file has no header line', { file: path, line: 1 });
}
