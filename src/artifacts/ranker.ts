/**
 * The ranker a build trains (pipeline/ranker-stage.ts) as a version stores it: the model's own bytes under
 * KEYS.rankerModel and its training report under KEYS.rankerMeta.
 */
import { SimrecError } from '../core/errors.ts';
import { LogisticModel } from '../ranking/logistic.ts';
import type { VersionReader, VersionWriter } from '../store/store.ts';
import { KEYS } from './keys.ts';

export async function writeRanker(w: VersionWriter, model: LogisticModel, meta: unknown): Promise<void> {
  await w.putBlob(KEYS.rankerModel, model.serialize({ kind: 'logistic' }));
  await w.putJson(KEYS.rankerMeta, meta);
}

export function hasRanker(r: VersionReader): boolean {
  return r.has(KEYS.rankerModel);
}

/**
 * The version's ranker, null when it has none.
 * @throws SimrecError ARTIFACT_CORRUPT when the stored bytes are not a ranker simrec can read
 */
export async function readRanker(r: VersionReader): Promise<LogisticModel | null> {
  if (!r.has(KEYS.rankerModel)) return null;
  const bytes = await r.blob(KEYS.rankerModel);
  try {
    return LogisticModel.deserialize(bytes, `${r.id}/${KEYS.rankerModel}`).model;
  } catch (e) {
    if (e instanceof SimrecError) throw e;
    throw new SimrecError('ARTIFACT_CORRUPT', `version ${r.id}: ${KEYS.rankerModel} is unreadable`, {
      field: KEYS.rankerModel,
    });
  }
}

/** The training report stored with the ranker, null without one. */
export async function readRankerMeta<T = Record<string, unknown>>(r: VersionReader): Promise<T | null> {
  return r.has(KEYS.rankerMeta) ? r.json<T>(KEYS.rankerMeta) : null;
}
