/**
 * The one place an artifact store backend is constructed: a location names the store, and its form picks the
 * backend. A directory path (or a `file://` URL) is an embedded LMDB store; `redis://` is reserved for the Redis
 * backend (DESIGN: Redis for scale-out), which does not exist yet, so it is refused by name rather than
 * mistaken for a relative directory called `redis:`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimrecError } from '../core/errors.ts';
import type { EventLog } from './event-log.ts';
import { LmdbEventLog } from './lmdb/lmdb-event-log.ts';
import { LmdbArtifactStore, type LmdbStoreOptions } from './lmdb/lmdb-store.ts';
import type { ArtifactStore } from './store.ts';

export interface OpenArtifactStoreOptions extends LmdbStoreOptions {
  /** The option or request field the location came from, named in errors (e.g. 'artifacts', 'out'). */
  field?: string;
}

/**
 * Opens the artifact store at a location: a directory path or `file://` URL (LMDB).
 * @throws SimrecError CONFIG_INVALID for an empty location, a `redis://` location (not available yet) or any
 *   other URL scheme
 */
export function openArtifactStore(location: string, options: OpenArtifactStoreOptions = {}): ArtifactStore {
  const { field, ...lmdb } = options;
  return new LmdbArtifactStore(localStoreDirectory(location, field), lmdb);
}

/**
 * Opens (creating when absent) the event log of the artifact location: same locations as openArtifactStore;
 * for a directory, an LMDB environment in `<dir>/events/`, next to the versions.
 * @throws SimrecError CONFIG_INVALID for a location openArtifactStore refuses; ARTIFACT_IO when it cannot be
 *   opened
 */
export function openEventLog(location: string, options: { field?: string } = {}): EventLog {
  return new LmdbEventLog(localStoreDirectory(location, options.field));
}

/**
 * The directory of a store on this machine's file system, for what only a local store has (disk sizes of its
 * versions). Accepts the same locations as openArtifactStore and refuses the others with the same errors.
 */
export function localStoreDirectory(location: string, field?: string): string {
  const detail = field ? { field } : {};
  if (location.trim() === '')
    throw new SimrecError('CONFIG_INVALID', 'the artifact location is empty: give a directory', detail);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return resolve(location);
  if (scheme === 'file') {
    try {
      return fileURLToPath(location);
    } catch (e) {
      throw new SimrecError(
        'CONFIG_INVALID',
        `artifact location ${location} is not a valid file URL: ${(e as Error).message}`,
        detail,
        { cause: e },
      );
    }
  }
  const shown = withoutPassword(location);
  if (scheme === 'redis' || scheme === 'rediss')
    throw new SimrecError(
      'CONFIG_INVALID',
      `artifact location ${shown}: the Redis artifact store is not available yet; give a directory`,
      detail,
    );
  throw new SimrecError(
    'CONFIG_INVALID',
    `artifact location ${shown}: unknown scheme '${scheme}://' (give a directory or a file:// URL)`,
    detail,
  );
}

/** Error messages end up in logs: a URL's password must not. */
function withoutPassword(location: string): string {
  try {
    const url = new URL(location);
    if (!url.password) return location;
    url.password = '***';
    return url.toString();
  } catch {
    return location;
  }
}
