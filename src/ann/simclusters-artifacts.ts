/**
 * Opens the SimClusters ANN index of an artifact version: item embeddings, the cluster → top items index and
 * item creation times, as the build stored them under KEYS.
 */
import { SimrecError } from '../core/errors.ts';
import { KEYS } from '../pipeline/keys.ts';
import type { VersionReader } from '../store/store.ts';
import type { SimClustersIndex } from './simclusters.ts';

export async function loadSimClustersIndex(reader: VersionReader): Promise<SimClustersIndex> {
  for (const key of [KEYS.itemEmbeddings, KEYS.clusterItems]) {
    if (!reader.has(key)) {
      throw new SimrecError(
        'ARTIFACT_MISSING',
        `version ${reader.id} has no ${key}: build it with engagements`,
      );
    }
  }
  const itemEmbeddings = await reader.csr(KEYS.itemEmbeddings);
  const ranked = await reader.csr(KEYS.clusterItems);
  const itemCreatedTs = reader.has(KEYS.itemCreatedTs)
    ? await reader.typedArray(KEYS.itemCreatedTs, 'float64')
    : undefined;
  const meta = reader.has(KEYS.simclustersMeta)
    ? await reader.json<{ params?: { itemEmbeddings?: { shrinkage?: unknown } } }>(KEYS.simclustersMeta)
    : null;
  const shrinkage = meta?.params?.itemEmbeddings?.shrinkage;
  return {
    // Versions built before shrinkage existed were ranked by the plain cosine: they keep it.
    defaultShrinkage:
      typeof shrinkage === 'number' && shrinkage >= 0 && Number.isFinite(shrinkage) ? shrinkage : 0,
    itemEmbeddings,
    clusterItems: {
      nClusters: ranked.nRows,
      nEntities: ranked.nCols,
      indptr: ranked.indptr,
      ids: ranked.indices,
      scores: ranked.values ?? new Float32Array(ranked.nnz).fill(1),
    },
    itemCreatedTs,
  };
}
