/**
 * Version ids: `20261124T153301.123Z-3fa9c2`, the UTC start time (ISO 8601 basic format, milliseconds) and six
 * random hex digits. Fixed width, so string order is time order; the random tail keeps ids unique across
 * machines; and ids are safe as directory names and key prefixes.
 */
import { randomBytes } from 'node:crypto';
import { SimrecError } from '../core/errors.ts';

const VERSION_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-[0-9a-f]{6}$/;

export function isVersionId(s: string): boolean {
  return VERSION_ID.test(s);
}

/** @throws SimrecError CONFIG_INVALID when s is not a version id (it may come from a user or a URL). */
export function assertVersionId(s: string): void {
  if (typeof s !== 'string' || !VERSION_ID.test(s))
    throw new SimrecError('CONFIG_INVALID', `'${s}' is not a version id (like 20261124T153301.123Z-3fa9c2)`);
}

/** The start time encoded in a version id. */
export function versionTime(id: string): Date {
  const m = VERSION_ID.exec(id);
  if (!m) throw new SimrecError('CONFIG_INVALID', `'${id}' is not a version id`);
  const [, y, mo, d, h, mi, s, ms] = m;
  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, +ms));
}

function stamp(t: Date): string {
  return t.toISOString().replace(/[-:]/g, '');
}

/**
 * A new id for a version started at `now`, sorting after every id in `existing` (a clock step backwards or two
 * builds within one millisecond would otherwise break time order): the time is moved just past the newest.
 */
export function newVersionId(existing: Iterable<string> = [], now: Date = new Date()): string {
  let t = now.getTime();
  for (const id of existing) if (isVersionId(id)) t = Math.max(t, versionTime(id).getTime() + 1);
  return `${stamp(new Date(t))}-${randomBytes(3).toString('hex')}`;
}
