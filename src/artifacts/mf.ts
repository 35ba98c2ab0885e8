/**
 * The hybrid-MF part of an artifact version: the trained model's buffers (one blob per buffer name under
 * `mf/model/`), written by the build's MF stage and read back for fold-in by the server.
 */
import type { MfBuffers } from '../mf/model.ts';
import type { VersionReader, VersionWriter } from '../store/store.ts';
import { KEYS } from './keys.ts';

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
