/**
 * Validation of what clients send to the event log (DESIGN §9, §10; issue 15): a batch of user events
 * (`POST /v1/events`, `simrec events import`) and catalogue changes (`POST /v1/items`, `DELETE /v1/items/:id`).
 * Input is untrusted JSON (`unknown`); output is the record the log stores, defaults filled in.
 *
 * Every problem is a SimrecError CONFIG_INVALID (what the serve layer answers with 400) whose `field` names the
 * value as the client wrote it (`events[3].action`, `tags[0]`), and the first bad event rejects the batch: a
 * batch is appended whole or not at all. Fields the schema does not name are rejected, not ignored, so a typo
 * (`itemID`) is never silently dropped. The rules for a timestamp and a weight are ingestion's (values.ts).
 */

import { SimrecError } from '../core/errors.ts';
import { ACTION_TARGET, type ItemEvent, type UserEvent } from '../core/event.ts';
import type { TimeWindowOptions } from './dataset.ts';
import { isoTime, isPlausibleWeight, resolveTimeWindow, type TimeWindow } from './values.ts';

/** Caps of what one request or import row may hold. */
export const EVENT_LIMITS = {
  /** Length of an external id (user, item, producer, topic, eventId), as everywhere in the HTTP API. */
  idLength: 1024,
  /** Events of one `POST /v1/events` batch (the route answers 413 beyond; an import appends in chunks of it). */
  batchSize: 1000,
  /** Tags of one item. */
  tags: 100,
  /** Length of one tag. */
  tagLength: 256,
} as const;

/** The field a user event's target is written in. */
export type EventTarget = 'itemId' | 'producerId' | 'topic';

const TARGETS: readonly EventTarget[] = ['itemId', 'producerId', 'topic'];
const USER_EVENT_FIELDS = new Set(['eventId', 'userId', 'action', 'ts', 'weight', ...TARGETS]);
const ITEM_UPSERT_FIELDS = new Set(['eventId', 'itemId', 'authorId', 'createdTs', 'tags']);

export interface EventValidationOptions {
  /**
   * Engagement actions a build config declares beyond USER_ACTIONS (e.g. `retweet`, `rating`); each targets
   * an item (`itemId`). A name that is already a built-in user action is accepted and changes nothing.
   */
  engagementActions?: readonly string[];
  /** When the batch was received (Unix seconds): the default `ts` and the anchor of the plausible window. */
  receiveTime?: number;
  /** The plausible window as configured (`ingest.*`); by default from 1970 to the receive time + 1 day. */
  timeWindow?: TimeWindowOptions;
  /** Events one batch may hold (default EVENT_LIMITS.batchSize). */
  maxBatchSize?: number;
  /**
   * Accept a whole JSON number for an id and keep it as its decimal text (`42` → `'42'`), as ingestion reads
   * numeric ids. For files (`events import`); the HTTP API takes ids as strings only.
   */
  numericIds?: boolean;
}

/** What every check needs, resolved once per batch. */
interface Rules {
  targets: ReadonlyMap<string, EventTarget>;
  window: TimeWindow;
  receiveTime: number;
  numericIds: boolean;
}

/** The action → target table for a deployment (built-ins plus declared engagement actions). */
export function actionTargets(engagementActions: readonly string[] = []): Map<string, EventTarget> {
  const targets = new Map<string, EventTarget>(Object.entries(ACTION_TARGET));
  for (const a of engagementActions) {
    if (typeof a !== 'string' || !/^[a-z][a-z0-9_]*$/.test(a) || a.length > 64)
      throw new SimrecError(
        'CONFIG_INVALID',
        `engagementActions: ${JSON.stringify(a)} must be lower-case letters, digits and '_' (at most 64)`,
        { field: 'engagementActions' },
      );
    if (a === 'item_upsert' || a === 'item_delete')
      throw new SimrecError(
        'CONFIG_INVALID',
        `engagementActions: '${a}' is a catalogue change, not an engagement`,
        {
          field: 'engagementActions',
        },
      );
    if (!targets.has(a)) targets.set(a, 'itemId');
  }
  return targets;
}

function rules(opts: EventValidationOptions): Rules {
  const receiveTime = opts.receiveTime ?? Date.now() / 1000;
  const window = resolveTimeWindow(opts.timeWindow, receiveTime);
  if (opts.timeWindow?.notAfter === undefined || opts.timeWindow.notAfter === null)
    window.notAfterSource = window.notAfterSource.replace('ingest time', 'receive time');
  return {
    targets: actionTargets(opts.engagementActions),
    window,
    receiveTime,
    numericIds: opts.numericIds === true,
  };
}

function fail(field: string, reason: string): never {
  throw new SimrecError('CONFIG_INVALID', `${field} ${reason}`, { field });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${shown(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

function checkId(v: unknown, field: string, numericIds: boolean): string {
  if (numericIds && typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) <= 2 ** 53) return String(v);
    fail(field, `must be a string or a whole number (at most 2^53 in magnitude), got ${v}`);
  }
  if (typeof v !== 'string') fail(field, `must be a string, got ${describe(v)}`);
  if (v.length === 0) fail(field, 'must not be empty');
  if (v.length > EVENT_LIMITS.idLength)
    fail(field, `is ${v.length} characters long; ids are at most ${EVENT_LIMITS.idLength}`);
  return v;
}

function checkTime(v: unknown, field: string, window: TimeWindow): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(field, `must be a finite number (Unix seconds), got ${describe(v)}`);
  if (v > window.notAfter)
    fail(field, `${v} (${isoTime(v)}) is after ${isoTime(window.notAfter)} (${window.notAfterSource})`);
  if (v < window.notBefore)
    fail(field, `${v} (${isoTime(v)}) is before ${isoTime(window.notBefore)} (the earliest accepted time)`);
  return v;
}

function checkUnknownFields(raw: Record<string, unknown>, known: ReadonlySet<string>, at: string): void {
  for (const key of Object.keys(raw)) if (!known.has(key)) fail(`${at}${key}`, 'is not a known field');
}

/** One user event; `at` is the path prefix of its fields (`events[3].`). */
function userEvent(raw: unknown, at: string, r: Rules): UserEvent {
  if (!isRecord(raw)) fail(at.slice(0, -1) || 'event', `must be an object, got ${describe(raw)}`);
  checkUnknownFields(raw, USER_EVENT_FIELDS, at);
  const userId = checkId(raw.userId, `${at}userId`, r.numericIds);
  const action = raw.action;
  if (typeof action !== 'string') fail(`${at}action`, `must be a string, got ${describe(action)}`);
  const target = r.targets.get(action);
  if (target === undefined)
    fail(
      `${at}action`,
      `${shown(action)} is not an action; expected one of ${[...r.targets.keys()].join(', ')}`,
    );
  const ev: UserEvent = { userId, action, ts: r.receiveTime, weight: 1 };
  for (const t of TARGETS) {
    const v = raw[t];
    if (t === target) {
      if (v === undefined) fail(`${at}${t}`, `is required for action '${action}'`);
      ev[t] = checkId(v, `${at}${t}`, r.numericIds);
    } else if (v !== undefined) {
      fail(`${at}${t}`, `is not allowed for action '${action}' (it targets ${target})`);
    }
  }
  if (raw.ts !== undefined) ev.ts = checkTime(raw.ts, `${at}ts`, r.window);
  if (raw.weight !== undefined) {
    const w = raw.weight;
    if (typeof w !== 'number' || !isPlausibleWeight(w))
      fail(
        `${at}weight`,
        `must be a finite number ≥ 0 (a weight is a rating or a count), got ${describe(w)}`,
      );
    ev.weight = w;
  }
  if (raw.eventId !== undefined) ev.eventId = checkId(raw.eventId, `${at}eventId`, r.numericIds);
  return ev;
}

/**
 * Validates a list of raw user events. `path` names the list in fields (`events` → `events[3].action`).
 * @throws SimrecError CONFIG_INVALID for the first bad event (field `events[i].field`), for a list longer than
 *   maxBatchSize (field `events`; the HTTP route answers 413 for that before calling this), or for a declared
 *   engagement action that is not a valid name (field `engagementActions`)
 */
export function validateEvents(
  raw: unknown,
  opts: EventValidationOptions = {},
  path = 'events',
): UserEvent[] {
  if (!Array.isArray(raw)) fail(path, `must be an array of events, got ${describe(raw)}`);
  const max = opts.maxBatchSize ?? EVENT_LIMITS.batchSize;
  if (raw.length > max) fail(path, `holds ${raw.length} events; a batch holds at most ${max}`);
  const r = rules(opts);
  const out = new Array<UserEvent>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = userEvent(raw[i], `${path}[${i}].`, r);
  return out;
}

/** Validates a `POST /v1/events` body, `{ events: [...] }`. Throws as validateEvents. */
export function validateEventsBatch(body: unknown, opts: EventValidationOptions = {}): UserEvent[] {
  if (!isRecord(body)) fail('body', `must be an object { events: [...] }, got ${describe(body)}`);
  checkUnknownFields(body, new Set(['events']), '');
  if (body.events === undefined) fail('events', 'is required');
  return validateEvents(body.events, opts);
}

/**
 * Validates one user event on its own (an import row); `field` prefixes its fields (default none: `action`).
 * Throws as validateEvents.
 */
export function validateEvent(raw: unknown, opts: EventValidationOptions = {}, field = ''): UserEvent {
  return userEvent(raw, field ? `${field}.` : '', rules(opts));
}

/**
 * Validates a `POST /v1/items` body: `{ itemId, authorId?, createdTs?, tags?, eventId? }`. `ts` is the
 * receive time. `at` prefixes the fields (default none: `tags[2]`).
 * @throws SimrecError CONFIG_INVALID naming the first bad field
 */
export function validateItemUpsert(raw: unknown, opts: EventValidationOptions = {}, at = ''): ItemEvent {
  const p = at ? `${at}.` : '';
  if (!isRecord(raw))
    fail(at || 'body', `must be an object { itemId, authorId?, createdTs?, tags? }, got ${describe(raw)}`);
  checkUnknownFields(raw, ITEM_UPSERT_FIELDS, p);
  const r = rules(opts);
  const ev: ItemEvent = {
    action: 'item_upsert',
    itemId: checkId(raw.itemId, `${p}itemId`, r.numericIds),
    ts: r.receiveTime,
  };
  if (raw.authorId !== undefined) ev.authorId = checkId(raw.authorId, `${p}authorId`, r.numericIds);
  if (raw.createdTs !== undefined) ev.createdTs = checkTime(raw.createdTs, `${p}createdTs`, r.window);
  if (raw.tags !== undefined) {
    const tags = raw.tags;
    if (!Array.isArray(tags)) fail(`${p}tags`, `must be an array of strings, got ${describe(tags)}`);
    if (tags.length > EVENT_LIMITS.tags)
      fail(`${p}tags`, `holds ${tags.length} tags; an item has at most ${EVENT_LIMITS.tags}`);
    const out: string[] = [];
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      const f = `${p}tags[${i}]`;
      if (typeof t !== 'string') fail(f, `must be a string, got ${describe(t)}`);
      if (t.length === 0) fail(f, 'must not be empty');
      if (t.length > EVENT_LIMITS.tagLength)
        fail(f, `is ${t.length} characters long; a tag is at most ${EVENT_LIMITS.tagLength}`);
      out.push(t);
    }
    ev.tags = out;
  }
  if (raw.eventId !== undefined) ev.eventId = checkId(raw.eventId, `${p}eventId`, r.numericIds);
  return ev;
}

/**
 * Validates an item deletion (`DELETE /v1/items/:id`); `field` names where the id came from.
 * @throws SimrecError CONFIG_INVALID for an empty or over-long id
 */
export function validateItemDelete(
  itemId: unknown,
  opts: EventValidationOptions = {},
  field = 'itemId',
): ItemEvent {
  return {
    action: 'item_delete',
    itemId: checkId(itemId, field, opts.numericIds === true),
    ts: opts.receiveTime ?? Date.now() / 1000,
  };
}
