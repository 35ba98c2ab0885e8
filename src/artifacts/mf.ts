/**
 * The hybrid-MF part of an artifact version: user and item vectors with biases folded in (mf/users, mf/items)
 * and the trained model's buffers (one blob per buffer name under `mf/model/`), written by the build's MF stage
 * and read by the server. The dense indexes over the item vectors are blobs of ann/dense/persist.ts.
 */
import { SimrecError } from '../core/errors.ts';
import type { IdMap } from '../core/id-map.ts';
import type { MfBuffers } from '../mf/model.ts';
import type { DenseMatrix, VersionReader, VersionWriter } from '../store/store.ts';
import { KEYS } from './keys.ts';

export interface StoredMfVectors {
  users: IdMap;
  items: IdMap;
  /** items × dim, dim ≥ 3 (embedding, then the two bias columns). */
  itemVectors: DenseMatrix;
  /** users × dim, or null when the version stored no user vectors. */
  userVectors: DenseMatrix | null;
}

export async function writeMfVectors(
  w: VersionWriter,
  users: DenseMatrix,
  items: DenseMatrix,
): Promise<void> {
  await w.putDense(KEYS.mfUsers, users);
  await w.putDense(KEYS.mfItems, items);
}

/** Whether the version holds MF item vectors (a build with mf.enabled). */
export function hasMfVectors(reader: VersionReader): boolean {
  return reader.has(KEYS.mfItems);
}

/**
 * The MF vectors and the id maps they are indexed by, shapes checked against each other. Id maps already
 * loaded by the caller are reused.
 * @throws SimrecError ARTIFACT_MISSING without mf/items or an id map, ARTIFACT_CORRUPT when shapes disagree
 */
export async function readMfVectors(
  reader: VersionReader,
  maps: { users?: IdMap; items?: IdMap } = {},
): Promise<StoredMfVectors> {
  for (const key of [KEYS.mfItems, KEYS.users, KEYS.items])
    if (!reader.has(key))
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${reader.id} has no ${key}: it holds no MF vectors to serve`,
        { field: key },
      );
  const users = maps.users ?? (await reader.idMap(KEYS.users));
  const items = maps.items ?? (await reader.idMap(KEYS.items));
  const itemVectors = await reader.dense(KEYS.mfItems);
  const corrupt = (key: string, what: string) =>
    new SimrecError('ARTIFACT_CORRUPT', `version ${reader.id}: ${key} ${what}`, { field: key });
  if (itemVectors.rows !== items.size)
    throw corrupt(KEYS.mfItems, `has ${itemVectors.rows} rows for ${items.size} items`);
  if (itemVectors.dim < 3) throw corrupt(KEYS.mfItems, `has dimension ${itemVectors.dim} (< 3)`);
  const userVectors = reader.has(KEYS.mfUsers) ? await reader.dense(KEYS.mfUsers) : null;
  if (userVectors && (userVectors.rows !== users.size || userVectors.dim !== itemVectors.dim))
    throw corrupt(
      KEYS.mfUsers,
      `is ${userVectors.rows} × ${userVectors.dim}, expected ${users.size} × ${itemVectors.dim}`,
    );
  return { users, items, itemVectors, userVectors };
}

export async function writeMfModel(w: VersionWriter, buffers: MfBuffers): Promise<void> {
  for (const [name, bytes] of Object.entries(buffers)) await w.putBlob(`${KEYS.mfModelPrefix}${name}`, bytes);
}

/** The model's buffers by name, or null when the version stored no model. */
export async function readMfModel(reader: VersionReader): Promise<MfBuffers | null> {
  const keys = reader.keys(KEYS.mfModelPrefix);
  if (keys.length === 0) return null;
  const buffers: MfBuffers = {};
  for (const key of keys) buffers[key.slice(KEYS.mfModelPrefix.length)] = await reader.blob(key);
  return buffers;
}
