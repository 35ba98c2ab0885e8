/**
 * What `simrec versions` shows of an LMDB store: every version directory with its manifest (when committed and
 * readable) and its size on disk. Read-only and lock-free, like any reader; a manifest that does not parse is
 * reported with the version rather than failing the whole listing, since listing is how a user finds it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { parseManifest } from '../manifest.ts';
import type { Manifest } from '../store.ts';
import { isVersionId } from '../version-id.ts';
import { errnoCode } from './fs-util.ts';
import { CURRENT_FILE, MANIFEST_FILE, VERSIONS_DIR } from './layout.ts';

export interface VersionListing {
  id: string;
  current: boolean;
  /** committed: has a valid manifest; uncommitted: no manifest (a build running or one that died); corrupt. */
  state: 'committed' | 'uncommitted' | 'corrupt';
  manifest: Manifest | null;
  /** Why the manifest could not be used (state corrupt). */
  problem: string | null;
  /** Bytes of every file in the version directory (data.mdb is sparse-free, so this is what pruning frees). */
  diskBytes: number;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

/**
 * The versions of the store at root, oldest first.
 * @throws SimrecError ARTIFACT_MISSING when root has no versions directory
 */
export function listVersionDirs(root: string): VersionListing[] {
  const abs = resolve(root);
  const versionsDir = join(abs, VERSIONS_DIR);
  let names: string[];
  try {
    names = readdirSync(versionsDir);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    throw new SimrecError('ARTIFACT_MISSING', `${abs} is not an artifact directory (no ${VERSIONS_DIR}/)`, {
      file: abs,
    });
  }
  let current: string | null = null;
  try {
    current = readFileSync(join(abs, CURRENT_FILE), 'utf8').trim();
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  return names
    .filter(isVersionId)
    .sort()
    .map((id) => {
      const dir = join(versionsDir, id);
      const path = join(dir, MANIFEST_FILE);
      const listing: VersionListing = {
        id,
        current: id === current,
        state: 'uncommitted',
        manifest: null,
        problem: null,
        diskBytes: dirBytes(dir),
      };
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return listing;
        throw e;
      }
      try {
        listing.manifest = parseManifest(text, id, path);
        listing.state = 'committed';
      } catch (e) {
        listing.state = 'corrupt';
        listing.problem = (e as Error).message;
      }
      return listing;
    });
}
