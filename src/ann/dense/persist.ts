/**
 * Dense indexes in the artifact store: one blob per index (`putBlob`), so the index is part of the version
 * it was built with and is verified, switched and pruned with it. Serving opens it lazily: nothing is read or
 * parsed until the first search needs it.
 */
import type { VersionReader, VersionWriter } from '../../store/store.ts';
import { ExactIndex } from '../exact.ts';
import type { DenseIndex } from './dense-index.ts';
import { corrupt, decodeEnvelope } from './envelope.ts';
import { HnswIndex } from './hnsw/hnsw-index.ts';

/**
 * The index a blob from {@link DenseIndex.toBytes} holds, whatever its backend.
 * @throws SimrecError ARTIFACT_CORRUPT when the blob is not a consistent dense index
 */
export function denseIndexFromBytes(bytes: Uint8Array): DenseIndex {
  const { header } = decodeEnvelope(bytes);
  if (header.kind === 'exact') return ExactIndex.fromBytes(bytes);
  if (header.kind === 'hnsw') return HnswIndex.fromBytes(bytes);
  return corrupt(`unknown index kind '${header.kind}'`);
}

/** Writes index under key in a version being built. */
export async function saveDenseIndex(writer: VersionWriter, key: string, index: DenseIndex): Promise<void> {
  await writer.putBlob(key, index.toBytes());
}

/**
 * Reads the index stored under key. The returned index owns its memory (nothing views the store's map), so it
 * outlives `reader.close()`.
 * @throws SimrecError NOT_FOUND / ARTIFACT_CORRUPT as `reader.blob` and {@link denseIndexFromBytes} do
 */
export async function loadDenseIndex(reader: VersionReader, key: string): Promise<DenseIndex> {
  return denseIndexFromBytes(await reader.blob(key));
}

/**
 * A dense index loaded on first use. Concurrent first calls share one load; a failed load is not cached, so
 * a later call retries.
 */
export class LazyDenseIndex {
  private pending: Promise<DenseIndex> | undefined;
  private value: DenseIndex | undefined;

  constructor(private readonly read: () => Promise<Uint8Array>) {}

  /** Whether the index has been loaded already. */
  get loaded(): boolean {
    return this.value !== undefined;
  }

  /** The loaded index, or undefined before the first successful {@link get}. */
  get current(): DenseIndex | undefined {
    return this.value;
  }

  get(): Promise<DenseIndex> {
    if (this.value) return Promise.resolve(this.value);
    this.pending ??= this.read()
      .then((bytes) => {
        this.value = denseIndexFromBytes(bytes);
        return this.value;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

/** The index stored under key in reader's version, loaded on first {@link LazyDenseIndex.get}. */
export function lazyDenseIndex(reader: VersionReader, key: string): LazyDenseIndex {
  return new LazyDenseIndex(() => reader.blob(key));
}
