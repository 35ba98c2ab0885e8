/**
 * Feature spaces of the hybrid model: an entity (user or item) is the weighted sum of its features'
 * embeddings. Feature e (0 ≤ e < nEntities) is entity e's own identity; side feature f (tags, genres, user
 * attributes) is feature nEntities + f. An identity-only side stores no matrix at all, so the trainer can read
 * an entity's parameters in place instead of summing.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';

export interface FeatureSpace {
  nEntities: number;
  /** Side features (columns of the side matrix given by the caller). */
  nSide: number;
  /** nEntities + nSide: rows of the parameter matrix. */
  nFeatures: number;
  /**
   * Combined (identity + side) rows, entity e's features in indices[indptr[e] .. indptr[e+1]), sorted by
   * feature without repeats; null = identity only.
   */
  indptr: Int32Array | null;
  indices: Int32Array | null;
  weights: Float32Array | null;
}

/** A space where every entity is only its identity feature. */
export function identitySpace(nEntities: number): FeatureSpace {
  return { nEntities, nSide: 0, nFeatures: nEntities, indptr: null, indices: null, weights: null };
}

/**
 * How an entity's feature weights are scaled: 'side' keeps the identity at 1 and scales the side features to
 * sum to 1 (an item is its own vector plus the mean of its tags, whatever its tag count); 'row' scales the
 * whole row, identity included, to sum to 1 (LightFM's Dataset normalisation); 'none' keeps the given weights.
 */
export type FeatureNormalization = 'side' | 'row' | 'none';

/**
 * The combined feature rows for `nEntities` entities: identity (weight 1) first, then the side features of
 * `side` (values = weights, null = 1), scaled per `normalization`. A side matrix with no stored entries
 * yields the identity space.
 */
export function buildFeatureSpace(
  nEntities: number,
  side: CsrMatrix | undefined,
  normalization: FeatureNormalization,
  what: 'user' | 'item',
): FeatureSpace {
  const field = what === 'user' ? 'userFeatures' : 'itemFeatures';
  if (!side) return identitySpace(nEntities);
  if (side.nRows !== nEntities)
    throw new SimrecError(
      'CONFIG_INVALID',
      `${field} has ${side.nRows} rows but there are ${nEntities} ${what}s`,
      { field },
    );
  const nSide = side.nCols;
  const sideNnz = side.nnz;
  if (sideNnz === 0) return { ...identitySpace(nEntities), nSide, nFeatures: nEntities + nSide };
  const indptr = new Int32Array(nEntities + 1);
  const indices = new Int32Array(nEntities + sideNnz);
  const weights = new Float32Array(nEntities + sideNnz);
  const sIdx = side.indices;
  const sVal = side.values;
  let w = 0;
  for (let e = 0; e < nEntities; e++) {
    indptr[e] = w;
    indices[w] = e;
    weights[w] = 1;
    const rowStart = w;
    let sum = 1;
    w++;
    for (let k = side.indptr[e]; k < side.indptr[e + 1]; k++) {
      const f = sIdx[k];
      const v = sVal ? sVal[k] : 1;
      if (!(v >= 0) || !Number.isFinite(v))
        throw new SimrecError(
          'INPUT_BAD_ROW',
          `${field}: ${what} ${e} feature ${f} has weight ${v}; weights must be finite and ≥ 0`,
          { field },
        );
      if (f < 0 || f >= nSide)
        throw new SimrecError('INPUT_BAD_ROW', `${field}: feature ${f} out of range [0, ${nSide})`, {
          field,
        });
      if (v === 0) continue;
      // Insertion keeps the row sorted by feature (the trainer merges two items' rows) and merges repeats.
      let pos = w;
      while (pos > rowStart + 1 && indices[pos - 1] > nEntities + f) pos--;
      sum += v;
      if (pos > rowStart + 1 && indices[pos - 1] === nEntities + f) {
        weights[pos - 1] += v;
        continue;
      }
      indices.copyWithin(pos + 1, pos, w);
      weights.copyWithin(pos + 1, pos, w);
      indices[pos] = nEntities + f;
      weights[pos] = v;
      w++;
    }
    if (normalization === 'row' && sum !== 1) for (let k = rowStart; k < w; k++) weights[k] /= sum;
    else if (normalization === 'side' && sum > 1)
      for (let k = rowStart + 1; k < w; k++) weights[k] /= sum - 1;
  }
  indptr[nEntities] = w;
  return {
    nEntities,
    nSide,
    nFeatures: nEntities + nSide,
    indptr,
    indices: w < indices.length ? indices.slice(0, w) : indices,
    weights: w < weights.length ? weights.slice(0, w) : weights,
  };
}

/**
 * Item × tag matrix from per-item tag lists (e.g. MovieLens genres), tags numbered in first-seen order.
 * Returns the binary matrix and the tag names by column.
 */
export function tagMatrix(itemTags: readonly (readonly string[])[]): { matrix: CsrMatrix; tags: string[] } {
  const ids = new Map<string, number>();
  const tags: string[] = [];
  const indptr = new Int32Array(itemTags.length + 1);
  const cols: number[] = [];
  for (let i = 0; i < itemTags.length; i++) {
    const seen = new Set<number>();
    for (const t of itemTags[i]) {
      let id = ids.get(t);
      if (id === undefined) {
        id = tags.length;
        ids.set(t, id);
        tags.push(t);
      }
      seen.add(id);
    }
    const row = [...seen].sort((a, b) => a - b);
    for (const c of row) cols.push(c);
    indptr[i + 1] = cols.length;
  }
  return {
    matrix: new CsrMatrix(itemTags.length, tags.length, indptr, Int32Array.from(cols), null),
    tags,
  };
}
